// Turns Boost.Asio/Boost.System error codes into callbridge's base::Error at the net/ boundary
// (STYLE.md: "Asio error_code becomes Error at the net/ boundary"). Pure; thread-safe.
#pragma once

#include <string_view>

#include <boost/system/error_code.hpp>

#include "base/error.hpp"

namespace callbridge::net {

// `what` names the operation, e.g. "AMI read from 127.0.0.1:5038". EOF and resets become
// Errc::unavailable (the peer went away), timeouts Errc::timeout, the rest Errc::io.
base::Error to_error(const boost::system::error_code& ec, std::string_view what);

}  // namespace callbridge::net
