// NatsCommandRelay: ports::CommandRelay over NATS core request/reply (docs/cluster.md "Commands on
// any node").
//   - Issuing side: send() publishes the command as JSON on `cb.cmd.<link>` with the reply subject
//     `cb.cmdr.<instance>.<n>` (this process's one subscription `cb.cmdr.<instance>.*`). No node
//     holding the link's lease (`owned`), no NATS connection, or NATS's "no responders" (nobody
//     serves the subject: the owner is starting its driver, or just died) answer pbx_unavailable at
//     once; no answer within `timeout` answers timeout. Later words (done, finished) are awaited for
//     `keep` at most (a two-step command's last word ends it; so does a refusal).
//   - Owner's side: serve(link) subscribes to `cb.cmd.<link>` while this node owns the link (App:
//     from the lease gain once the driver is in, to the loss); each command goes to `handler` on the
//     io thread, whose replies are published to the command's reply subject.
// Every message is at most 64 KiB (larger ones are dropped and counted). nats.c delivers on its
// threads; everything else runs on the io thread through `post` / `post_after`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "cluster/nats_connection.hpp"
#include "ports/command_relay.hpp"

namespace callbridge::cluster {

struct CommandRelayOptions {
  std::string instance;  // this process (LeaseManager::instance()): its reply subjects
  std::chrono::milliseconds timeout{3000};
  std::chrono::milliseconds keep{std::chrono::minutes(10)};
  std::size_t max_pending = 10000;  // commands awaiting words; the oldest is forgotten beyond
};

struct CommandRelayStats {
  std::uint64_t sent = 0, answered = 0, no_owner = 0, timeouts = 0, served = 0, dropped = 0;
  std::size_t pending = 0, serving = 0;
};

// `cb.cmd.<link>`: the link's name with characters other than [A-Za-z0-9_-] as =XX.
std::string command_subject(const std::string& link);

class NatsCommandRelay final : public ports::CommandRelay {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using PostAfter = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  using Owned = std::function<bool(const std::string& link)>;  // some node holds the link's lease
  using Handler = std::function<void(ports::RelayedCommand, ports::RelayReplies)>;

  // Subscribes to this process's reply subjects. `nats` must outlive the relay.
  static base::Result<std::unique_ptr<NatsCommandRelay>> create(NatsConnection& nats, CommandRelayOptions options,
                                                                Post post, PostAfter post_after, Owned owned);
  ~NatsCommandRelay() override;  // unsubscribes; pending commands hear nothing more
  NatsCommandRelay(const NatsCommandRelay&) = delete;
  NatsCommandRelay& operator=(const NatsCommandRelay&) = delete;

  void send(const std::string& link, ports::RelayedCommand command, Handlers handlers) override;

  // Serves `link`'s commands with `handler` (replaces an earlier one); unserve() stops at once.
  base::Status serve(const std::string& link, Handler handler);
  void unserve(const std::string& link);
  bool serving(const std::string& link) const;

  CommandRelayStats stats() const;

  struct State;  // shared with nats.c's callbacks (weakly)

 private:
  NatsCommandRelay(NatsConnection& nats, std::shared_ptr<State> state);
  NatsConnection& nats_;
  std::shared_ptr<State> state_;
};

// The wire format (JSON), for tests and the serving side.
std::string encode_command(const ports::RelayedCommand& c);
base::Result<ports::RelayedCommand> decode_command(std::string_view json);

}  // namespace callbridge::cluster
