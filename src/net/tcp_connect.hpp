// Resolve + connect a TCP socket with an overall deadline, as one awaitable returning
// base::Result (no exceptions). Used by long-lived client links (AMI). Runs on the caller's
// executor; the returned socket belongs to the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/error.hpp"

namespace callbridge::net {

using Executor = boost::asio::any_io_executor;

// Errc::timeout when resolve+connect take longer than `timeout`; Errc::unavailable when refused
// or unresolvable. Honors cancellation of the awaiting coroutine (e.g. `||` with a stop signal).
boost::asio::awaitable<base::Result<boost::asio::ip::tcp::socket>> async_tcp_connect(
    std::string host, std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace callbridge::net
