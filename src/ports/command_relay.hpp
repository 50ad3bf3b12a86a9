// CommandRelay: call control commands carried to the node that owns a PBX link (cluster mode,
// docs/cluster.md "Commands on any node"). A node without the link's driver sends the command,
// with who issued it, to the owner; the owner runs it through its own call control (every check:
// the caller's devices, the call and its allowed actions, the dialing plan, AnyDevice, trunk
// channels) and sends back, in order, its first answer and then the PBX's later words.
// Plain data only: core::RemoteCallCommands builds and reads these (core/call_commands.hpp),
// cluster::NatsCommandRelay carries them over NATS request/reply. Called and answered on the io
// (model) thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace callbridge::ports {

struct RelayedCommand {
  // Who issued it (core::Viewer): authenticated by the issuing node against the shared identity
  // store.
  std::string tenant;
  std::string user;
  std::string role;                     // "user", "supervisor", "admin"
  std::vector<std::string> extensions;  // the devices the user owns
  std::string team;
  // What: "make_call", a call command ("answer", "hangup", ..., "park", "pickup"), "pickup_line",
  // "unpark", "move".
  std::string op;
  // The call id (commands, pickup, move), the line (pickup_line), the space (unpark).
  std::string target;
  // move: `device` is the device the call moves to (core::MoveTarget::name: the extension that has
  // the call, or the name of one of the user's external devices).
  std::optional<std::string> to{}, from{}, device{}, lot{};
  // move to an external device: its E.164 number ("+491701234567", core::MoveTarget::number, found
  // by the issuing node in the shared identity store) and whether it is the user's own phone
  // (MoveTarget::private_device: the journal shows it). No number: back to the extension's own
  // phone.
  std::optional<std::string> number{};
  bool private_device = true;
  // pickup, pickup_line: the lines the issuer may see (core::LineScope; its team is read from the
  // identity store by the issuing node).
  bool scope_whole = false;
  std::vector<std::string> scope_own, scope_team;
};

// One outcome (core::CommandOutcome): ok with what is known, or a failure of a kind
// (core::to_string(CommandFailure::Kind): "forbidden", "not_found", "pbx_unavailable", ...).
struct RelayedOutcome {
  bool ok = true;
  std::string failure;
  std::string detail;
  std::optional<std::string> call_id{}, request_id{}, space{};
};

// The owner's first answer: what its call control returned (a make call's request id, the call a
// line pickup found, an unpark's parked call) and the outcomes that were known by then (a refusal,
// or a PBX that answered at once).
struct RelayedAnswer {
  std::string returned;
  std::optional<RelayedOutcome> done{}, finished{};
};

// How the owner's side reports back (core::serve_relayed): `answer` exactly once, first; then
// `done` and `finished`, each at most once.
struct RelayReplies {
  std::function<void(RelayedAnswer)> answer;
  std::function<void(RelayedOutcome)> done;
  std::function<void(RelayedOutcome)> finished;
};

class CommandRelay {
 public:
  virtual ~CommandRelay() = default;

  struct Handlers {
    // Exactly once: the owner's first answer; or, when no owner answers, one made here whose
    // `done` is a failure (pbx_unavailable: no node owns the link or serves it now; timeout: the
    // owner did not answer in time; the command may still have been carried out).
    std::function<void(RelayedAnswer)> answered;
    // After `answered`, each at most once, as the owner's call control reports them: the PBX's
    // answer to the request, then (two-step commands: make call, pickup, park, unpark) its final
    // word. May never run (the owner died meanwhile).
    std::function<void(RelayedOutcome)> done;
    std::function<void(RelayedOutcome)> finished;
  };
  // Sends `command` to the owner of the PBX link `link` (the [[pbx]] name).
  virtual void send(const std::string& link, RelayedCommand command, Handlers handlers) = 0;
};

}  // namespace callbridge::ports
