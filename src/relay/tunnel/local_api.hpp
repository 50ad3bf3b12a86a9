// LocalApi: what the relay tunnel asks of callbridged's own HTTP API for its clients — a REST
// request, an event stream (WebSocket). LoopbackApi (loopback_api.hpp) speaks to the daemon's own
// listener; tests use a fake. Called and calling back on callbridged's io thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"

namespace callbridge::relay::tunnel {

using Headers = std::vector<std::pair<std::string, std::string>>;  // lower-case names

struct ApiRequest {
  std::string method;
  std::string target;  // path and query, "/api/v1/calls?x=1"
  Headers headers;
  std::string body;
};

struct ApiResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

class LocalApi {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Closes the WebSocket (no on_close afterwards).
    virtual void close() = 0;
  };

  virtual ~LocalApi() = default;
  // `done` is called exactly once (also when the API cannot be reached: an Error).
  virtual void request(ApiRequest req, std::function<void(base::Result<ApiResponse>)> done) = 0;
  // Opens a WebSocket at `target`: on_open once connected, on_message per text message, on_close
  // once when it ends (code 1006 and a reason when it never opened or broke).
  virtual std::unique_ptr<Stream> subscribe(std::string target, Headers headers, std::function<void()> on_open,
                                            std::function<void(std::string)> on_message,
                                            std::function<void(int, std::string)> on_close) = 0;
};

}  // namespace callbridge::relay::tunnel
