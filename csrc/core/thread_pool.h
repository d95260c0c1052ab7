// A small persistent thread pool for the CPU backend.
// Created on first use, grows to the largest thread count asked for, never shrinks, and is never
// destroyed (its threads are detached and parked on a condition variable, so process exit does
// not wait for them and no static destructor joins them).
#pragma once

#include <cstdint>
#include <functional>

namespace otca {
namespace pool {

// The most threads one call uses, the caller included (bounds per-slot scratch too).
constexpr int kMaxThreads = 256;

// Runs body(item, slot) for every item in [0, items) on up to P = min(threads, kMaxThreads, items)
// threads, the calling thread included. `slot` is in [0, P): the caller is slot 0 and no two
// threads of one call share a slot, so a body may use per-slot scratch. Which thread runs which item is
// unspecified; callers make results independent of it. Blocks until every item is done and
// rethrows the first exception a body threw (the remaining items are skipped).
// Safe to call from several threads at once (libuv workers, worker_threads): each call is its own
// job, and its caller always makes progress on it even when every pool thread is busy elsewhere.
void parallel_for(int64_t items, int threads,
                  const std::function<void(int64_t item, int slot)>& body);

}  // namespace pool
}  // namespace otca
