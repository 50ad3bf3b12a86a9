// The one error type of callbridge: a category code plus a human message.
// Used with std::expected<T, Error> for anything input or the environment can cause.
// Value type; thread-compatible.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace callbridge::base {

enum class Errc {
  invalid_argument,  // bad user input (config, CLI, API request)
  protocol,          // a peer broke its protocol (malformed AMI, oversized frame)
  io,                // file or socket failure
  timeout,
  not_found,
  conflict,
  unavailable,       // a dependency (PBX link, database) is down
  internal,
};

std::string_view to_string(Errc code);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Error invalid_argument(std::string m) { return {Errc::invalid_argument, std::move(m)}; }
  static Error protocol(std::string m) { return {Errc::protocol, std::move(m)}; }
  static Error io(std::string m) { return {Errc::io, std::move(m)}; }
  static Error timeout(std::string m) { return {Errc::timeout, std::move(m)}; }
  static Error not_found(std::string m) { return {Errc::not_found, std::move(m)}; }
  static Error conflict(std::string m) { return {Errc::conflict, std::move(m)}; }
  static Error unavailable(std::string m) { return {Errc::unavailable, std::move(m)}; }
  static Error internal(std::string m) { return {Errc::internal, std::move(m)}; }

  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  // "protocol: AMI message exceeds 65536 bytes"
  std::string to_string() const;

 private:
  Errc code_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace callbridge::base

// Always-on invariant check: aborts with file:line and the message. For programming errors only.
#define CB_CHECK(cond, msg)                                                          \
  do {                                                                               \
    if (!(cond)) ::callbridge::base::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

namespace callbridge::base {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, std::string_view msg);
}
