#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace otca {
namespace pool {
namespace {

struct Job {
  const std::function<void(int64_t, int)>* body = nullptr;
  int64_t items = 0;
  int maxHelpers = 0;
  std::atomic<int64_t> next{0};
  int joined = 0;  // helpers that took a slot (guarded by Pool::mutex)
  int active = 0;  // helpers still inside run_items (guarded by Pool::mutex)
  std::mutex errorMutex;
  std::exception_ptr error;
  std::condition_variable helpersDone;  // waits on Pool::mutex
};

void run_items(Job& job, int slot) {
  for (;;) {
    const int64_t item = job.next.fetch_add(1, std::memory_order_relaxed);
    if (item >= job.items) return;
    try {
      (*job.body)(item, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.errorMutex);
      if (!job.error) job.error = std::current_exception();
      job.next.store(job.items, std::memory_order_relaxed);  // skip what is left
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
      queue_.push_back(&job);
    }
    wake_.notify_all();
  }

  // After the caller ran out of items: no new helper may join, then wait for those inside.
  void retire(Job& job) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto it = std::find(queue_.begin(), queue_.end(), &job);
    if (it != queue_.end()) queue_.erase(it);
    job.helpersDone.wait(lock, [&] { return job.active == 0; });
  }

 private:
  void worker_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return !queue_.empty(); });
      Job* job = queue_.front();
      if (job->next.load(std::memory_order_relaxed) >= job->items) {
        queue_.pop_front();  // nothing left to take; its caller retires it
        continue;
      }
      const int slot = ++job->joined;
      if (job->joined >= job->maxHelpers) queue_.pop_front();
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
  std::deque<Job*> queue_;
  int threads_ = 0;
};

}  // namespace

void parallel_for(int64_t items, int threads, const std::function<void(int64_t, int)>& body) {
  if (items <= 0) return;
  const int64_t participants = std::min<int64_t>(std::min(std::max(threads, 1), kMaxThreads), items);
  if (participants <= 1) {
    for (int64_t item = 0; item < items; ++item) body(item, 0);
    return;
  }
  Job job;
  job.body = &body;
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
