// EventStream: `GET /api/v1/events` (docs/api.md "Event stream") — RFC 6455 WebSocket sessions fed
// by core::EventHub. Framing is done here on raw sockets (no Beast websocket::stream, whose
// per-connection read buffer alone is ~1.5 KB): messages are framed once by the hub and shared;
// each client keeps only a bounded outbox of shared frames, sent with one gathered sendmsg();
// idle clients hold no buffers, no pending Asio operation and no Asio socket state (one private
// epoll set, watched by Asio as one descriptor, holds every client socket). A client whose outbox
// overflows is closed with 1008 "client too slow". Heartbeats after 20 s of silence. A stream whose
// credential (token, session, user) is revoked is closed with 1008 "credentials revoked"; one whose
// user's role, extensions or team changed with 4001 "user changed: reconnect".
// Everything runs on the io thread (the hub's thread), except the handshake's authentication, which
// the PrincipalResolver may run on a worker (resolve_async), and the look for revocations
// (EventStreamOptions::offload). Wire format: api/ws_frames; handshake
// checks and the subscription it asks for: api/ws_upgrade.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "api/ws_upgrade.hpp"
#include "base/time.hpp"
#include "base/worker_pool.hpp"
#include "core/event_hub.hpp"

namespace boost::asio {
class io_context;
}

namespace callbridge::api {

// Close code of a stream whose user's role, extensions or team changed: reconnect without `since`
// (a new snapshot; the stream's filter is made anew).
inline constexpr int kCloseUserChanged = 4001;

struct EventStreamOptions {
  std::size_t max_outbox = 4096;                // queued messages per client before "too slow"
  // The kernel send buffer of each WebSocket (SO_SNDBUF; the kernel doubles it). Fixed, because
  // Linux otherwise grows it up to net.ipv4.tcp_wmem's maximum (4 MiB) for a client that stops
  // reading: its backlog sat in kernel memory, never reached max_outbox and the client was never
  // closed (found by the slow-client campaign, docs/reliability.md). 0 = leave it to the kernel.
  std::size_t send_buffer_bytes = 128 * 1024;
  std::chrono::milliseconds heartbeat{20'000};  // {"type":"heartbeat"} after this much silence
  std::chrono::milliseconds close_grace{5'000}; // a closing client not taking the close frame is cut
  std::size_t max_clients = 100'000;            // further upgrades get 503
  std::size_t max_frame_bytes = 64 * 1024;      // client frames beyond: close 1009
  std::size_t max_batch = 256;                  // frames per gathered sendmsg (<= IOV_MAX)
  // Clients written per io turn. Writing to every client in one handler would stall the io thread
  // (AMI input, HTTP) for milliseconds at 10k clients; instead the writer takes this many clients
  // from the queue of clients with pending frames, then yields to other ready work. Frames published
  // meanwhile join the outboxes, so under load one sendmsg carries several frames ("natural"
  // coalescing, no timer). With nothing else to do, the writer runs again at once.
  std::size_t clients_per_turn = 64;
  // The users of `tenant`, read when a client asks for scope=team (its team mates' lines, as
  // core::team_extensions() picks them); unset or failing: no team presence, the stream still works.
  ws::TenantUsers tenant_users;
  // Revocation (issue 12): this often, while clients are connected, the stream asks the resolver's
  // credential_generation(); when it moved (a token revoked through the API or by `callbridge token
  // revoke` in another process, a user changed or removed, a logout), the credentials of the open
  // streams are checked once each (PrincipalResolver::standing()): those whose credential no longer
  // holds are closed with 1008 "credentials revoked", those whose user's role, extensions or team
  // changed (what they may see) with kCloseUserChanged. A stream opened since the last look is checked at
  // the next one. Both calls block (identity.db): they run on `offload` (the REST workers), inline
  // on the io thread when it is unset (tests).
  std::chrono::milliseconds revocation_check{250};
  base::Offload offload;
};

class EventStream {
 public:
  struct Stats {
    std::size_t clients = 0;
    std::uint64_t accepted = 0;
    std::uint64_t closed_slow = 0;
    std::uint64_t frames_out = 0;
    std::uint64_t writes = 0;  // sendmsg() calls (frames_out / writes = frames per syscall)
    std::size_t queued = 0;           // frames waiting in outboxes now
    std::size_t holding_buffers = 0;  // clients holding an outbox array or partial input now
    std::uint64_t frames_in = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t closed_revoked = 0;     // closed because their credential was revoked
    std::uint64_t closed_user_changed = 0;  // closed because their user changed (they reconnect)
    std::uint64_t credential_checks = 0;  // standing() calls
  };

  // `auth` and `hub` must outlive this object.
  EventStream(boost::asio::io_context& io, core::EventHub& hub, PrincipalResolver& auth,
              EventStreamOptions options = {});
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Registers the upgrade route (default /api/v1/events; authentication through
  // PrincipalResolver::resolve_async). Before http.start().
  void install(HttpServer& http, std::string path = "/api/v1/events");
  // The upgrade handler with a blocking resolve() (tests).
  HttpUpgrade handle(const HttpRequest& req);
  // Closes every client with 1001 "server shutting down" and stops the heartbeat timer.
  void stop();
  Stats stats() const;

  // One connected client as GET /api/v1/diagnostics lists it ("clients", docs/api.md).
  struct ClientInfo {
    base::TenantId tenant;
    std::string user;
    std::string address;       // the peer's ("127.0.0.1"), "" when unknown
    base::Timestamp since{};   // when the stream was opened (wall clock)
    std::uint64_t messages_in = 0;   // WebSocket frames from the client (ping, close, ...)
    std::uint64_t messages_out = 0;  // frames sent to it in full (events, heartbeats, pongs)
  };
  // The open (not closing) clients of `tenant`, or of every tenant when nullopt; oldest first.
  // io thread.
  std::vector<ClientInfo> clients(const std::optional<base::TenantId>& tenant) const;

  // The hub encoder: one JSON text as an unmasked, final WebSocket text frame.
  static std::string frame_text(std::string_view json);
  // Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2).
  static std::string accept_key(std::string_view key);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace callbridge::api
