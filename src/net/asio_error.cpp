#include "net/asio_error.hpp"

#include <boost/asio/error.hpp>

namespace callbridge::net {

base::Error to_error(const boost::system::error_code& ec, std::string_view what) {
  namespace ae = boost::asio::error;
  std::string msg = std::string(what) + ": " + ec.message();
  if (ec == ae::eof) return base::Error::unavailable(std::string(what) + ": peer closed the connection");
  if (ec == ae::connection_reset || ec == ae::connection_refused || ec == ae::connection_aborted ||
      ec == ae::host_unreachable || ec == ae::network_unreachable || ec == ae::broken_pipe ||
      ec == ae::host_not_found || ec == ae::host_not_found_try_again)
    return base::Error::unavailable(std::move(msg));
  if (ec == ae::timed_out) return base::Error::timeout(std::move(msg));
  return base::Error::io(std::move(msg));
}

}  // namespace callbridge::net
