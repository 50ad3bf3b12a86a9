// WorkerPool: a few threads that run blocking work (SQLite queries, argon2 token checks, directory
// lookups) so the io thread that serves every socket never waits on it. The queue is bounded:
// try_submit() refuses a job instead of queueing without limit, and the caller answers "busy"
// (HTTP 503). Results go back to the io thread through whatever the job captures (see
// api/http_server.hpp Reply). try_submit() and stats() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace callbridge::base {

struct WorkerPoolOptions {
  std::string name = "workers";  // thread name prefix (top -H, perf) and log text
  std::size_t threads = 2;
  std::size_t max_queue = 64;  // jobs waiting (not running); try_submit() refuses beyond
  // Scheduling niceness of the threads (Linux, per thread; 0 = as the process). A positive value
  // lets the io thread win the CPU when the pool is saturated (argon2 under a flood of bad tokens).
  int nice = 0;
};

class WorkerPool {
 public:
  using Job = std::function<void()>;

  struct Stats {
    std::uint64_t submitted = 0;  // accepted by try_submit()
    std::uint64_t completed = 0;
    std::uint64_t rejected = 0;   // queue full or stopped
    std::size_t queued = 0;       // waiting now
    std::size_t running = 0;      // running now
    std::size_t max_queued = 0;   // high-water mark of `queued`
  };

  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job` for a worker thread. false (job destroyed, not run) when max_queue jobs are
  // already waiting or the pool is stopped. A job that throws is logged and counted as completed.
  [[nodiscard]] bool try_submit(Job job);

  // Refuses new jobs, destroys the queued ones without running them, waits for the running ones.
  // Idempotent. Not from a worker thread.
  void stop();

  Stats stats() const;
  const WorkerPoolOptions& options() const { return options_; }

 private:
  void run(std::size_t index);

  WorkerPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::vector<std::thread> threads_;
};

// A pool plus the way back to the thread that owns the state (the io thread: asio::post). Empty:
// the caller runs the work inline (tests, tools).
struct Offload {
  WorkerPool* pool = nullptr;
  std::function<void(std::function<void()>)> to_io;
  explicit operator bool() const { return pool != nullptr && static_cast<bool>(to_io); }
};

}  // namespace callbridge::base
