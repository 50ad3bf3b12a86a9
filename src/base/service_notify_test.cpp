#include "base/service_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace callbridge::base {
namespace {

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A datagram socket standing in for systemd's notification socket.
class Receiver {
 public:
  explicit Receiver(const std::string& address) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, address.data(), address.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + address.size();
    if (address[0] == '@') a.sun_path[0] = '\0';
    else len += 1;
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0;
    timeval tv{5, 0};  // a deadline, not a wait: the datagram is queued before recv is called
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Receiver() { ::close(fd_); }
  bool bound() const { return bound_; }
  std::string receive() {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(ServiceNotify, SendsStateToAPathSocket) {
  auto path = (std::filesystem::temp_directory_path() / ("cb-notify-" + std::to_string(::getpid()))).string();
  std::filesystem::remove(path);
  Receiver r(path);
  ASSERT_TRUE(r.bound());
  ScopedEnv env("NOTIFY_SOCKET", path);
  EXPECT_TRUE(notify_service_manager("READY=1\nSTATUS=listening on 127.0.0.1:8080"));
  EXPECT_EQ(r.receive(), "READY=1\nSTATUS=listening on 127.0.0.1:8080");
  EXPECT_TRUE(notify_service_manager("WATCHDOG=1"));
  EXPECT_EQ(r.receive(), "WATCHDOG=1");
  std::filesystem::remove(path);
}

TEST(ServiceNotify, SendsStateToAnAbstractSocket) {
  std::string name = "@cb-notify-test-" + std::to_string(::getpid());
  Receiver r(name);
  ASSERT_TRUE(r.bound());
  ScopedEnv env("NOTIFY_SOCKET", name);
  EXPECT_TRUE(notify_service_manager("STOPPING=1"));
  EXPECT_EQ(r.receive(), "STOPPING=1");
}

TEST(ServiceNotify, OutsideSystemdNothingIsSent) {
  {
    ScopedEnv env("NOTIFY_SOCKET", std::nullopt);
    EXPECT_FALSE(notify_service_manager("READY=1"));
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "relative/path");
    EXPECT_FALSE(notify_service_manager("READY=1"));
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "/nonexistent/dir/notify");
    EXPECT_FALSE(notify_service_manager("READY=1"));
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "/" + std::string(200, 'x'));  // longer than sun_path
    EXPECT_FALSE(notify_service_manager("READY=1"));
  }
}

TEST(ServiceNotify, WatchdogIntervalFromWatchdogUsec) {
  ScopedEnv pid("WATCHDOG_PID", std::nullopt);
  {
    ScopedEnv usec("WATCHDOG_USEC", std::nullopt);
    EXPECT_FALSE(service_watchdog_interval());
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "30000000");
    ASSERT_TRUE(service_watchdog_interval());
    EXPECT_EQ(*service_watchdog_interval(), std::chrono::seconds(30));
    ScopedEnv mine("WATCHDOG_PID", std::to_string(::getpid()));
    EXPECT_TRUE(service_watchdog_interval());
    ScopedEnv other("WATCHDOG_PID", std::to_string(::getpid() + 1));  // meant for another process
    EXPECT_FALSE(service_watchdog_interval());
  }
  for (const char* bad : {"", "0", "-5", "12x", "x"}) {
    ScopedEnv usec("WATCHDOG_USEC", bad);
    EXPECT_FALSE(service_watchdog_interval()) << bad;
  }
}

TEST(ServiceNotify, StderrIsTheJournalOnlyWhenDeviceAndInodeMatch) {
  struct stat st {};
  ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
  const auto mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  {
    ScopedEnv env("JOURNAL_STREAM", mine);
    EXPECT_TRUE(stderr_is_journal());
  }
  {
    ScopedEnv env("JOURNAL_STREAM", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1));
    EXPECT_FALSE(stderr_is_journal());  // inherited by a process whose stderr goes elsewhere
  }
  for (const char* bad : {"", "12", "a:b", "1:2:3"}) {
    ScopedEnv env("JOURNAL_STREAM", bad);
    EXPECT_FALSE(stderr_is_journal()) << bad;
  }
  ScopedEnv unset("JOURNAL_STREAM", std::nullopt);
  EXPECT_FALSE(stderr_is_journal());
}

}  // namespace
}  // namespace callbridge::base
