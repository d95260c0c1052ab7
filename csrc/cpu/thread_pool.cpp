#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace otca {
namespace pool {
namespace {

struct Job {
  explicit Job(ItemFn fn) : body(fn) {}
  ItemFn body;
  Job* next = nullptr;  // the pool's queue (guarded by Pool::mutex)
  int64_t items = 0;
  int maxHelpers = 0;
  std::atomic<int64_t> cursor{0};  // the next item to take
  int joined = 0;  // helpers that took a slot (guarded by Pool::mutex)
  int active = 0;  // helpers still inside run_items (guarded by Pool::mutex)
  std::mutex errorMutex;
  std::exception_ptr error;
  std::condition_variable helpersDone;  // waits on Pool::mutex
};

void run_items(Job& job, int slot) {
  for (;;) {
    const int64_t item = job.cursor.fetch_add(1, std::memory_order_relaxed);
    if (item >= job.items) return;
    try {
      job.body(item, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.errorMutex);
      if (!job.error) job.error = std::current_exception();
      job.cursor.store(job.items, std::memory_order_relaxed);  // skip what is left
    }
  }
}

class Pool {
 public:
  // Leaked on purpose: destroying it at exit would have to join threads that may be mid-job.
  static Pool& instance() {
    static Pool* pool = new Pool();
    return *pool;
  }

  void grow_to(int helpers) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (threads_ < helpers) {
      try {
        std::thread(&Pool::worker_loop, this).detach();
      } catch (...) {
        return;  // fewer helpers: the callers still run every item themselves
      }
      ++threads_;
    }
  }

  void submit(Job& job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Job** tail = &head_;
      while (*tail != nullptr) tail = &(*tail)->next;
      *tail = &job;
    }
    wake_.notify_all();
  }

  // After the caller ran out of items: no new helper may join, then wait for those inside.
  void retire(Job& job) {
    std::unique_lock<std::mutex> lock(mutex_);
    remove(&job);
    job.helpersDone.wait(lock, [&] { return job.active == 0; });
  }

 private:
  // Unlinks `job` from the queue where it is still there (guarded by mutex_).
  void remove(Job* job) {
    for (Job** p = &head_; *p != nullptr; p = &(*p)->next) {
      if (*p == job) {
        *p = job->next;
        job->next = nullptr;
        return;
      }
    }
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return head_ != nullptr; });
      Job* job = head_;
      if (job->cursor.load(std::memory_order_relaxed) >= job->items) {
        remove(job);  // nothing left to take; its caller retires it
        continue;
      }
      const int slot = ++job->joined;
      if (job->joined >= job->maxHelpers) remove(job);
      ++job->active;
      lock.unlock();
      run_items(*job, slot);
      lock.lock();
      // notified under the lock: the caller cannot see active == 0 and free the job before this
      if (--job->active == 0) job->helpersDone.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  Job* head_ = nullptr;  // jobs that helpers may still join, oldest first
  int threads_ = 0;
};

}  // namespace

void parallel_for(int64_t items, int threads, ItemFn body) {
  if (items <= 0) return;
  const int64_t participants = std::min<int64_t>(std::min(std::max(threads, 1), kMaxThreads), items);
  if (participants <= 1) {
    for (int64_t item = 0; item < items; ++item) body(item, 0);
    return;
  }
  Job job(body);
  job.items = items;
  job.maxHelpers = static_cast<int>(participants - 1);
  Pool& pool = Pool::instance();
  pool.grow_to(job.maxHelpers);
  pool.submit(job);
  run_items(job, 0);
  pool.retire(job);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace pool
}  // namespace otca
