// The fake Asterisk (support/fake_asterisk.hpp) on a thread of its own, for end-to-end tests where
// callbridged runs as another process, plus the helper that cuts a fixture capture into the bytes
// sent after login and the rest. Test helper; construct, send() and destroy from the test thread.
#pragma once

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "support/fake_asterisk.hpp"

namespace callbridge::testing {

class FakeAsteriskThread {
 public:
  // `after_login`: raw AMI bytes sent to each connection right after a successful login.
  // `accept_originate`: FakeAsteriskOptions::accept_originate.
  explicit FakeAsteriskThread(std::string after_login, bool accept_originate = false)
      : ami(io_, [&] {
          FakeAsteriskOptions o;
          o.list_items = 0;
          o.after_login = std::move(after_login);
          o.accept_originate = accept_originate;
          return o;
        }()) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeAsteriskThread() {
    work_.reset();
    boost::asio::post(io_, [this] { io_.stop(); });
    thread_.join();
  }
  FakeAsteriskThread(const FakeAsteriskThread&) = delete;
  FakeAsteriskThread& operator=(const FakeAsteriskThread&) = delete;

  // Every action received so far, copied on the fake's thread.
  std::vector<FakeAction> actions() {
    std::promise<std::vector<FakeAction>> got;
    boost::asio::post(io_, [&] { got.set_value(ami.actions()); });
    return got.get_future().get();
  }

  // Raw bytes to every open connection; returns once they are handed to the sockets.
  void send(std::string bytes) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      ami.send_all(std::move(bytes));
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};

 public:
  FakeAsterisk ami;  // use from the test thread only for port() (fixed after construction)

 private:
  std::thread thread_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A fixture's ami.log after the login response, split after the first message that contains
// `split_after` (e.g. "Event: DialBegin"): {up to and including that message, the rest}.
inline std::pair<std::string, std::string> capture_split(const std::filesystem::path& ami_log,
                                                         std::string_view split_after) {
  std::string log = read_file(ami_log);
  auto p = log.find("\r\n\r\n", log.find("Authentication accepted"));
  log = log.substr(p + 4);
  auto cut = log.find("\r\n\r\n", log.find(split_after)) + 4;
  return {log.substr(0, cut), log.substr(cut)};
}

}  // namespace callbridge::testing
