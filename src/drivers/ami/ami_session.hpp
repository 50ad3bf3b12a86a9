// One AMI connection over TCP (Boost.Asio C++20 coroutines): connect with deadline, then pump
// bytes between the socket and an AmiProtocol (which does banner, login, keepalive and timeouts),
// a bounded send queue drained by one writer, optional recording of every received chunk.
// Created by AmiLink for each connection attempt; everything runs on the link's executor (the
// model thread); not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "drivers/ami/ami_record.hpp"
#include "ports/link_fence.hpp"

namespace callbridge::drivers::ami {

struct AmiSessionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5038;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds write_timeout{5'000};  // one write stalled this long ends the session
  // How often the protocol's clock-driven work runs (login/ping/action timeouts, Ping).
  std::chrono::milliseconds tick_interval{250};
  // stop() while logged in sends `Action: Logoff` and waits this long for the answer/close.
  std::chrono::milliseconds logoff_timeout{1'000};
  std::size_t read_buffer_bytes = 64 * 1024;
  // Cluster mode (docs/cluster.md): this node acts on the link only while the fence is valid.
  // Checked before connecting, before each write and before anything read reaches the protocol;
  // once invalid the session ends at once ("lease lost"), without Logoff, and what was read last
  // is dropped unseen. Null: always.
  const ports::LinkFence* fence = nullptr;
};

enum class AmiSessionPhase { connecting, logging_in };

class AmiSession {
 public:
  AmiSession(boost::asio::any_io_executor ex, AmiSessionOptions options, AmiProtocol& protocol,
             const base::Clock& clock, AmiRecorder* recorder);
  ~AmiSession();
  AmiSession(const AmiSession&) = delete;
  AmiSession& operator=(const AmiSession&) = delete;

  // Connects, logs in (through the protocol) and pumps until the connection ends; returns why
  // (never "success"). The protocol's begin()/end() bracket the connection, so the sink sees
  // on_session_end for a session that had logged in. Run at most once per AmiSession.
  boost::asio::awaitable<base::Error> async_run(std::function<void(AmiSessionPhase)> on_phase = {});

  // Sends an action and completes with its (complete, for lists) response; see AmiProtocol::submit.
  boost::asio::awaitable<base::Result<AmiResponse>> async_action(
      AmiAction action, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Callback form; `done` runs later on the executor, never inside this call.
  base::Result<std::string> submit(AmiAction action, ActionCallback done,
                                   std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                                   bool collect_items = true);

  // Ends async_run soon with Errc::unavailable "... stopped": aborts a connect; when logged in,
  // sends Logoff first and waits up to logoff_timeout for Asterisk's Goodbye.
  void stop();
  const std::string& peer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace callbridge::drivers::ami
