#include "base/service_notify.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace callbridge::base {

namespace {

// A positive decimal integer, the whole string; nullopt otherwise.
template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace

bool notify_service_manager(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return false;
  std::string_view path(env);
  // A path or "@abstract"; anything else (vsock addresses of newer systemd) is not ours to handle.
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof(sockaddr_un::sun_path)) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '/' ? 1 : 0));
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

std::optional<std::chrono::microseconds> service_watchdog_interval() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (!usec) return std::nullopt;
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid && *pid) {
    auto p = parse_number<long>(pid);
    if (!p || *p != static_cast<long>(::getpid())) return std::nullopt;  // meant for another process
  }
  auto v = parse_number<long long>(usec);
  if (!v) return std::nullopt;
  return std::chrono::microseconds(*v);
}

bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  std::string_view s(env);
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0, ino = 0;
  auto d = std::from_chars(s.data(), s.data() + colon, dev);
  auto i = std::from_chars(s.data() + colon + 1, s.data() + s.size(), ino);
  if (d.ec != std::errc() || i.ec != std::errc() || i.ptr != s.data() + s.size()) return false;
  struct stat st {};
  // systemd's check: the variable is inherited by children whose stderr may point elsewhere.
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

}  // namespace callbridge::base
