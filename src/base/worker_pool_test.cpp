#include "base/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace callbridge::base {
namespace {

using namespace std::chrono_literals;

// A latch the test opens: jobs block on it so the queue can be filled deterministically.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void wait() {
    std::unique_lock l(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(l, [&] { return open; });
  }
  bool wait_for_waiting(int n) {
    std::unique_lock l(mu);
    return cv.wait_for(l, 10s, [&] { return waiting >= n; });
  }
  void release() {
    std::lock_guard l(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(WorkerPool, RunsJobsOnItsOwnThreads) {
  WorkerPool pool({.name = "t", .threads = 2, .max_queue = 16});
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 8; ++i) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    ASSERT_TRUE(pool.try_submit([&, p] {
      std::lock_guard l(mu);
      ids.insert(std::this_thread::get_id());
      p->set_value();
    }));
  }
  for (auto& f : done) ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(ids.contains(std::this_thread::get_id()));
  EXPECT_LE(ids.size(), 2u);
  pool.stop();
  EXPECT_EQ(pool.stats().completed, 8u);
}

TEST(WorkerPool, RefusesBeyondTheQueueBound) {
  WorkerPool pool({.name = "t", .threads = 1, .max_queue = 3});
  Gate gate;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_submit([&] { gate.wait(); ++ran; }));
  ASSERT_TRUE(gate.wait_for_waiting(1));  // the only thread is busy
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(pool.try_submit([&] { ++ran; })) << i;
  EXPECT_FALSE(pool.try_submit([&] { ++ran; }));  // 3 waiting: the fourth is refused
  auto s = pool.stats();
  EXPECT_EQ(s.queued, 3u);
  EXPECT_EQ(s.running, 1u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.max_queued, 3u);
  gate.release();
  pool.stop();  // waits for the running job; the queue may or may not have drained meanwhile
  EXPECT_GE(ran.load(), 1);
  EXPECT_EQ(pool.stats().rejected, 1u);
}

TEST(WorkerPool, StopDestroysQueuedJobsWithoutRunningThem) {
  // A queued job's captures are destroyed on stop(): that is how a dropped request still gets an
  // answer (api Reply answers from its destructor).
  WorkerPool pool({.name = "t", .threads = 1, .max_queue = 4});
  Gate gate;
  ASSERT_TRUE(pool.try_submit([&] { gate.wait(); }));
  ASSERT_TRUE(gate.wait_for_waiting(1));
  std::atomic<bool> ran{false};
  std::promise<void> destroyed;
  auto witness = std::shared_ptr<int>(new int(0), [&](int* p) {
    delete p;
    destroyed.set_value();
  });
  ASSERT_TRUE(pool.try_submit([&ran, w = std::move(witness)] { ran = true; }));
  std::thread stopper([&] { pool.stop(); });
  // stop() drops the queue before joining: the capture goes while the first job still waits.
  EXPECT_EQ(destroyed.get_future().wait_for(10s), std::future_status::ready);
  gate.release();
  stopper.join();
  EXPECT_FALSE(ran.load());
  EXPECT_FALSE(pool.try_submit([] {}));  // stopped
}

TEST(WorkerPool, AThrowingJobDoesNotKillTheWorker) {
  WorkerPool pool({.name = "t", .threads = 1, .max_queue = 4});
  ASSERT_TRUE(pool.try_submit([] { throw std::runtime_error("boom"); }));
  std::promise<void> p;
  ASSERT_TRUE(pool.try_submit([&] { p.set_value(); }));
  EXPECT_EQ(p.get_future().wait_for(10s), std::future_status::ready);
}

}  // namespace
}  // namespace callbridge::base
