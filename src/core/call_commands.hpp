// CallCommands: what the REST command routes (capabilities/calls) issue, wherever the PBX link's
// driver runs. Two implementations:
//   - local_call_commands(): this node's CallControlService (the driver runs here);
//   - RemoteCallCommands: cluster mode, a node without the driver: each command goes through
//     ports::CommandRelay to the node that owns the link, whose CallControlService runs every
//     check as for a local caller (serve_relayed() below) and whose answers come back here.
// Each method ends the command's first step by calling `submitted` exactly once with what the
// CallControlService method returns (a make call's request id, ...): at once for a local command,
// when the owner answered for a relayed one. `done` and `finished` mean what they mean for
// CallControlService; a refusal comes through `done` before `submitted`. Io (model) thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/call_control.hpp"
#include "core/visibility.hpp"
#include "ports/command_relay.hpp"

namespace callbridge::core {

using Submitted = std::function<void(std::string returned)>;

class CallCommands {
 public:
  virtual ~CallCommands() = default;
  virtual void make_call(const CommandCaller& caller, const std::string& to, std::optional<std::string> from,
                         CommandCallback done, CommandCallback finished, Submitted submitted) = 0;
  // Not pickup (pickup() below).
  virtual void execute(const CommandCaller& caller, CallCommand command, const std::string& call_id,
                       std::optional<std::string> device, std::optional<std::string> to, CommandCallback done,
                       CommandCallback finished, Submitted submitted) = 0;
  virtual void pickup(const CommandCaller& caller, const std::string& call_id, std::optional<std::string> device,
                      const LineScope& scope, CommandCallback done, CommandCallback finished,
                      Submitted submitted) = 0;
  virtual void pickup_line(const CommandCaller& caller, const std::string& line, std::optional<std::string> device,
                           const LineScope& scope, CommandCallback done, CommandCallback finished,
                           Submitted submitted) = 0;
  virtual void unpark(const CommandCaller& caller, const std::string& space, std::optional<std::string> lot,
                      std::optional<std::string> device, CommandCallback done, CommandCallback finished,
                      Submitted submitted) = 0;
  // CallControlService::move_call (the route found `target` among the user's devices); `submitted`
  // gets "".
  virtual void move_call(const CommandCaller& caller, const std::string& call_id, const MoveTarget& target,
                         CommandCallback done, CommandCallback finished, Submitted submitted) = 0;
};

// Over this node's service (which must outlive the commands' first step).
std::shared_ptr<CallCommands> local_call_commands(CallControlService& service);

// Over the relay to the owner of the PBX link `link` ([[pbx]] name). The relay must outlive it.
class RemoteCallCommands final : public CallCommands {
 public:
  RemoteCallCommands(ports::CommandRelay& relay, std::string link) : relay_(relay), link_(std::move(link)) {}
  void make_call(const CommandCaller& caller, const std::string& to, std::optional<std::string> from,
                 CommandCallback done, CommandCallback finished, Submitted submitted) override;
  void execute(const CommandCaller& caller, CallCommand command, const std::string& call_id,
               std::optional<std::string> device, std::optional<std::string> to, CommandCallback done,
               CommandCallback finished, Submitted submitted) override;
  void pickup(const CommandCaller& caller, const std::string& call_id, std::optional<std::string> device,
              const LineScope& scope, CommandCallback done, CommandCallback finished, Submitted submitted) override;
  void pickup_line(const CommandCaller& caller, const std::string& line, std::optional<std::string> device,
                   const LineScope& scope, CommandCallback done, CommandCallback finished,
                   Submitted submitted) override;
  void unpark(const CommandCaller& caller, const std::string& space, std::optional<std::string> lot,
              std::optional<std::string> device, CommandCallback done, CommandCallback finished,
              Submitted submitted) override;
  void move_call(const CommandCaller& caller, const std::string& call_id, const MoveTarget& target,
                 CommandCallback done, CommandCallback finished, Submitted submitted) override;
  const std::string& link() const { return link_; }

 private:
  void send(ports::RelayedCommand c, CommandCallback done, CommandCallback finished, Submitted submitted);
  ports::CommandRelay& relay_;
  std::string link_;
};

// The owner's side: runs a relayed command through `service` (null: the link's driver is gone, the
// command is refused with pbx_unavailable) as if its caller were local, and reports through
// `replies` in order: `answer` exactly once (after the service returned, with what was known by
// then), then `done` and `finished` as the service calls them. `tenant`: the link's tenant; a
// command of another tenant is refused (forbidden).
using ports::RelayReplies;
void serve_relayed(CallControlService* service, const base::TenantId& tenant, const ports::RelayedCommand& command,
                   RelayReplies replies);

// Whether a relayed command's `finished` is its last word (two-step commands) or `done` is.
bool relayed_two_step(std::string_view op);

// CommandFailure::Kind as the relay carries it ("not_found", ...) and back (unknown: internal).
std::string_view to_string(CommandFailure::Kind k);
CommandFailure::Kind parse_failure_kind(std::string_view s);
ports::RelayedOutcome to_relayed(const CommandOutcome& o);
CommandOutcome from_relayed(const ports::RelayedOutcome& o);

}  // namespace callbridge::core
