// A small persistent thread pool for the CPU backend.
// Created on first use, grows to the largest thread count asked for, never shrinks, and is never
// destroyed (its threads are detached and parked on a condition variable, so process exit does
// not wait for them and no static destructor joins them).
#pragma once

#include <cstdint>
#include <type_traits>

namespace otca {
namespace pool {

// The most threads one call uses, the caller included (bounds per-slot scratch too).
constexpr int kMaxThreads = 256;

// A reference to a callable body(item, slot): no allocation (a std::function would make one for a
// lambda with several captures), valid while the callable lives.
class ItemFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same<std::decay_t<F>, ItemFn>::value>>
  ItemFn(const F& f)  // NOLINT: implicit from the lambda at the call
      : object_(&f), call_([](const void* o, int64_t item, int slot) { (*static_cast<const F*>(o))(item, slot); }) {}
  void operator()(int64_t item, int slot) const { call_(object_, item, slot); }

 private:
  const void* object_;
  void (*call_)(const void*, int64_t, int);
};

// Runs body(item, slot) for every item in [0, items) on up to P = min(threads, kMaxThreads, items)
// threads, the calling thread included. `slot` is in [0, P): the caller is slot 0 and no two
// threads of one call share a slot, so a body may use per-slot scratch. Which thread runs which item is
// unspecified; callers make results independent of it. Blocks until every item is done and
// rethrows the first exception a body threw (the remaining items are skipped).
// Safe to call from several threads at once (libuv workers, worker_threads): each call is its own
// job, and its caller always makes progress on it even when every pool thread is busy elsewhere.
// Allocates nothing once the pool has its threads.
void parallel_for(int64_t items, int threads, ItemFn body);

}  // namespace pool
}  // namespace otca
