#include "base/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace callbridge::base {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::protocol: return "protocol";
    case Errc::io: return "io";
    case Errc::timeout: return "timeout";
    case Errc::not_found: return "not found";
    case Errc::conflict: return "conflict";
    case Errc::unavailable: return "unavailable";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string s(callbridge::base::to_string(code_));
  s += ": ";
  s += message_;
  return s;
}

void check_failed(const char* file, int line, const char* cond, std::string_view msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s: %.*s\n", file, line, cond,
               static_cast<int>(msg.size()), msg.data());
  std::abort();
}

}  // namespace callbridge::base
