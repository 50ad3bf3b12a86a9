#include "net/tcp_connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/asio_error.hpp"

namespace callbridge::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<base::Result<tcp::socket>> connect_no_deadline(std::string host, std::uint16_t port) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), kTuple);
  std::string where = host + ":" + std::to_string(port);
  if (rec) co_return base::fail(to_error(rec, "resolve " + where));
  tcp::socket socket(ex);
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kTuple);
  if (cec) co_return base::fail(to_error(cec, "connect to " + where));
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  co_return std::move(socket);
}

asio::awaitable<void> wait_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(kTuple);
}

}  // namespace

asio::awaitable<base::Result<tcp::socket>> async_tcp_connect(std::string host, std::uint16_t port,
                                                              std::chrono::milliseconds timeout) {
  std::string where = host + ":" + std::to_string(port);
  auto r = co_await (connect_no_deadline(std::move(host), port) || wait_for(timeout));
  if (r.index() == 1) {
    co_return base::fail(base::Error::timeout("connect to " + where + ": no answer within " +
                                              std::to_string(timeout.count()) + " ms"));
  }
  co_return std::move(std::get<0>(r));
}

}  // namespace callbridge::net
