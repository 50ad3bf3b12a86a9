#include "base/worker_pool.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace callbridge::base {

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(std::move(options)) {
  options_.threads = std::max<std::size_t>(options_.threads, 1);
  threads_.reserve(options_.threads);
  for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::try_submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) {
      ++stats_.rejected;
      // `job` is destroyed after the lock is released (its captures may do work when destroyed).
    } else {
      queue_.push_back(std::move(job));
      ++stats_.submitted;
      stats_.max_queued = std::max(stats_.max_queued, queue_.size());
      cv_.notify_one();
      return true;
    }
  }
  job = nullptr;
  return false;
}

void WorkerPool::stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  dropped.clear();  // outside the lock: a job's captures may answer its request when destroyed
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

WorkerPool::Stats WorkerPool::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

void WorkerPool::run(std::size_t index) {
  // Thread names are at most 15 characters.
  const std::string name = (options_.name.substr(0, 11) + "/" + std::to_string(index)).substr(0, 15);
  ::pthread_setname_np(::pthread_self(), name.c_str());
  if (options_.nice != 0) {
    // Linux: setpriority(PRIO_PROCESS, tid) changes only this thread's niceness.
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    if (::setpriority(PRIO_PROCESS, tid, options_.nice) != 0)
      spdlog::debug("{}: setpriority({}) failed", options_.name, options_.nice);
  }
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // queued jobs were taken by stop()
      job = std::move(queue_.front());
      queue_.pop_front();
      ++stats_.running;
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("{}: a job failed: {}", options_.name, e.what());
    } catch (...) {
      spdlog::error("{}: a job failed", options_.name);
    }
    job = nullptr;  // captures released before the job counts as done
    std::lock_guard lock(mu_);
    --stats_.running;
    ++stats_.completed;
  }
}

}  // namespace callbridge::base
