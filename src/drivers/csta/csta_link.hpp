// CstaLink: the CSTA driver's connection to one switch (CSTA XML over TCP or TLS, ECMA-323 through
// protocols/csta): connects, starts the session (ECMA-354 StartApplicationSession, or the OpenScape
// Voice style SystemStatus / SystemStatusResponse / SystemRegister), keeps it alive
// (ResetApplicationSessionTimer or RequestSystemStatus every keepalive), matches answers to
// requests by invoke id (with a timeout), answers the switch's own requests (SystemStatus,
// SwitchingFunctionDevices), hands events to its sink, and reconnects with exponential backoff and
// jitter when the link breaks. Every member on the executor's thread (the model thread).
//
//   auto link = CstaLink::create(io.get_executor(), options, sink);
//   (*link)->start();                                  // sink.on_up() once the session started
//   (*link)->request(csta::MonitorStart{.device_object = "100"}, [](auto r) { ... });
//   (*link)->stop([] { /* all done */ });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "base/error.hpp"
#include "base/time.hpp"
#include "net/backoff.hpp"
#include "ports/link_fence.hpp"
#include "protocols/csta/csta_types.hpp"
#include "protocols/csta/framing.hpp"
#include "protocols/csta/messages.hpp"

namespace callbridge::drivers::csta {

namespace wire = protocols::csta;

enum class SessionStart : std::uint8_t { ecma354, osv };
enum class CstaLinkState : std::uint8_t { disconnected, connecting, logging_in, up };
std::string_view to_string(CstaLinkState s);

struct CstaLinkOptions {
  std::string host;
  std::uint16_t port = 1040;
  bool tls = false;
  std::string tls_ca_file;  // "" = the system's default CAs
  bool tls_verify = true;   // peer certificate and host name
  SessionStart start = SessionStart::ecma354;
  wire::Edition edition = wire::Edition::ed4;  // of the requests (answers come in any edition)
  wire::Framing framing = wire::Framing::header;
  std::string user;
  std::string password;
  std::string application_id = "callbridge";
  std::chrono::milliseconds connect_timeout{10'000};  // connect + TLS + session start
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds keepalive{30'000};        // 0 = none
  net::BackoffPolicy backoff;
  std::chrono::milliseconds stable_after{10'000};     // the backoff starts over after a session this long
  std::uint64_t backoff_seed = 0;                     // 0: random
  std::size_t max_frame_bytes = 1 << 20;              // one message from the switch
  // Cluster mode (docs/cluster.md "Fencing"): the link acts only while the fence is valid. It is
  // checked before connecting, before anything is written (requests, answers, keepalives, the
  // goodbye at stop) and after every read, before the bytes are looked at: once invalid, what
  // arrives is dropped unseen and the session ends ("this node no longer owns the link").
  // Null: no fence (one node). Must outlive the link.
  const ports::LinkFence* fence = nullptr;
};

struct CstaLinkStats {
  CstaLinkState state = CstaLinkState::disconnected;
  std::uint64_t messages_in = 0, messages_out = 0, events_in = 0, bytes_in = 0;
  std::uint64_t connect_attempts = 0, reconnects = 0, sessions = 0;
  std::uint64_t errors_in = 0;        // CSTAErrorCode answers
  std::uint64_t undecodable_in = 0;   // documents the codec refused (skipped)
  std::optional<base::Error> last_error;
  std::chrono::milliseconds last_backoff{0};
  wire::Edition peer_edition = wire::Edition::none;  // of the switch's last namespaced message
};

class CstaLinkSink {
 public:
  // The session started (login accepted): monitors can be started now.
  virtual void on_up(base::Timestamp at) = 0;
  // An unsolicited message (an event), decoded.
  virtual void on_event(const wire::Message& m, base::Timestamp at) = 0;
  // SwitchingFunctionDevices segments (answers to GetSwitchingFunctionDevices).
  virtual void on_switching_devices(const wire::SwitchingFunctionDevices& d) { (void)d; }
  // A session that was up ended (`why`); pending requests have failed with Errc::unavailable.
  virtual void on_down(base::Timestamp at, const base::Error& why) = 0;

 protected:
  ~CstaLinkSink() = default;
};

class CstaLink {
 public:
  // The answer to a request: the response message, or an error: Errc::conflict with the
  // CSTAErrorCode's category and value in the message ("operation/invalidCallID"),
  // Errc::unavailable (link down), Errc::timeout, Errc::protocol (an answer of the wrong type).
  using Reply = std::function<void(base::Result<wire::Message>)>;

  // Errc::invalid_argument: empty host, port 0, no user or password.
  static base::Result<std::unique_ptr<CstaLink>> create(boost::asio::any_io_executor ex, CstaLinkOptions options,
                                                        CstaLinkSink& sink, const base::Clock* clock = nullptr);
  ~CstaLink();
  CstaLink(const CstaLink&) = delete;
  CstaLink& operator=(const CstaLink&) = delete;

  void start();
  // Ends the session (StopApplicationSession when up), stops reconnecting; `done` runs on the
  // executor once the loop has ended. Destroy the link only after that.
  void stop(std::function<void()> done = {});

  // Sends a request; `reply` runs exactly once on the executor (possibly before this returns when
  // the link is not up).
  void request(const wire::Message& m, Reply reply);

  bool up() const { return state_ == CstaLinkState::up; }
  CstaLinkState state() const { return state_; }
  CstaLinkStats stats() const;
  std::string peer() const { return options_.host + ":" + std::to_string(options_.port); }
  const CstaLinkOptions& options() const { return options_; }

 private:
  struct Impl;
  CstaLink(boost::asio::any_io_executor ex, CstaLinkOptions options, CstaLinkSink& sink, const base::Clock& clock);
  std::unique_ptr<Impl> impl_;
  CstaLinkOptions options_;
  CstaLinkState state_ = CstaLinkState::disconnected;
};

// "operation/invalidCallID" for an error answer (the Errc::conflict message of Reply).
std::string describe(const wire::ErrorCode& e);

}  // namespace callbridge::drivers::csta
