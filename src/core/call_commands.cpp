#include "core/call_commands.hpp"

#include <memory>
#include <utility>

namespace callbridge::core {

namespace {

using K = CommandFailure::Kind;

class LocalCallCommands final : public CallCommands {
 public:
  explicit LocalCallCommands(CallControlService& s) : s_(s) {}
  void make_call(const CommandCaller& caller, const std::string& to, std::optional<std::string> from,
                 CommandCallback done, CommandCallback finished, Submitted submitted) override {
    submitted(s_.make_call(caller, to, std::move(from), std::move(done), std::move(finished)));
  }
  void execute(const CommandCaller& caller, CallCommand command, const std::string& call_id,
               std::optional<std::string> device, std::optional<std::string> to, CommandCallback done,
               CommandCallback finished, Submitted submitted) override {
    s_.execute(caller, command, call_id, std::move(device), std::move(to), std::move(done), std::move(finished));
    submitted({});
  }
  void pickup(const CommandCaller& caller, const std::string& call_id, std::optional<std::string> device,
              const LineScope& scope, CommandCallback done, CommandCallback finished, Submitted submitted) override {
    s_.pickup(caller, call_id, std::move(device), scope, std::move(done), std::move(finished));
    submitted({});
  }
  void pickup_line(const CommandCaller& caller, const std::string& line, std::optional<std::string> device,
                   const LineScope& scope, CommandCallback done, CommandCallback finished,
                   Submitted submitted) override {
    submitted(s_.pickup_line(caller, line, std::move(device), scope, std::move(done), std::move(finished)));
  }
  void unpark(const CommandCaller& caller, const std::string& space, std::optional<std::string> lot,
              std::optional<std::string> device, CommandCallback done, CommandCallback finished,
              Submitted submitted) override {
    submitted(s_.unpark(caller, space, std::move(lot), std::move(device), std::move(done), std::move(finished)));
  }
  void move_call(const CommandCaller& caller, const std::string& call_id, const MoveTarget& target,
                 CommandCallback done, CommandCallback finished, Submitted submitted) override {
    s_.move_call(caller, call_id, target, std::move(done), std::move(finished));
    submitted({});
  }

 private:
  CallControlService& s_;
};

ports::RelayedCommand relayed(const CommandCaller& c, std::string op, std::string target) {
  ports::RelayedCommand r;
  r.tenant = c.tenant.str();
  r.user = c.user;
  r.role = std::string(to_string(c.role));
  r.extensions = c.extensions;
  r.team = c.team;
  r.op = std::move(op);
  r.target = std::move(target);
  return r;
}

// "+" and 2 to 15 digits: how the identity store keeps an external device's number.
bool is_e164(std::string_view n) {
  if (n.size() < 3 || n.size() > 16 || n[0] != '+') return false;
  for (char ch : n.substr(1))
    if (ch < '0' || ch > '9') return false;
  return true;
}

void with_scope(ports::RelayedCommand& r, const LineScope& scope) {
  r.scope_whole = scope.whole_tenant();
  r.scope_own = scope.own();
  r.scope_team = scope.team();
}

}  // namespace

std::shared_ptr<CallCommands> local_call_commands(CallControlService& service) {
  return std::make_shared<LocalCallCommands>(service);
}

std::string_view to_string(CommandFailure::Kind k) {
  switch (k) {
    case K::bad_request: return "bad_request";
    case K::invalid_number: return "invalid_number";
    case K::forbidden: return "forbidden";
    case K::not_found: return "not_found";
    case K::action_not_allowed: return "action_not_allowed";
    case K::conflict: return "conflict";
    case K::pbx_unavailable: return "pbx_unavailable";
    case K::timeout: return "timeout";
    case K::no_trunk_capacity: return "no_trunk_capacity";
    case K::internal: return "internal";
  }
  return "internal";
}

CommandFailure::Kind parse_failure_kind(std::string_view s) {
  for (auto k : {K::bad_request, K::invalid_number, K::forbidden, K::not_found, K::action_not_allowed, K::conflict,
                 K::pbx_unavailable, K::timeout, K::no_trunk_capacity, K::internal})
    if (to_string(k) == s) return k;
  return K::internal;
}

ports::RelayedOutcome to_relayed(const CommandOutcome& o) {
  ports::RelayedOutcome r;
  if (!o) {
    r.ok = false;
    r.failure = std::string(to_string(o.error().kind));
    r.detail = o.error().detail;
    return r;
  }
  r.call_id = o->call_id;
  r.request_id = o->request_id;
  r.space = o->space;
  return r;
}

CommandOutcome from_relayed(const ports::RelayedOutcome& o) {
  if (!o.ok) return std::unexpected(CommandFailure{parse_failure_kind(o.failure), o.detail});
  return CommandAccepted{o.call_id, o.request_id, o.space};
}

bool relayed_two_step(std::string_view op) {
  return op == "make_call" || op == "pickup" || op == "pickup_line" || op == "park" || op == "unpark" ||
         op == "move";
}

void RemoteCallCommands::send(ports::RelayedCommand c, CommandCallback done, CommandCallback finished,
                              Submitted submitted) {
  ports::CommandRelay::Handlers h;
  h.answered = [done, finished, submitted](ports::RelayedAnswer a) {
    if (a.done) done(from_relayed(*a.done));
    if (a.finished && finished) finished(from_relayed(*a.finished));
    submitted(std::move(a.returned));
  };
  h.done = [done](ports::RelayedOutcome o) { done(from_relayed(o)); };
  h.finished = [finished](ports::RelayedOutcome o) {
    if (finished) finished(from_relayed(o));
  };
  relay_.send(link_, std::move(c), std::move(h));
}

void RemoteCallCommands::make_call(const CommandCaller& caller, const std::string& to, std::optional<std::string> from,
                                   CommandCallback done, CommandCallback finished, Submitted submitted) {
  auto c = relayed(caller, "make_call", "");
  c.to = to;
  c.from = std::move(from);
  send(std::move(c), std::move(done), std::move(finished), std::move(submitted));
}

void RemoteCallCommands::execute(const CommandCaller& caller, CallCommand command, const std::string& call_id,
                                 std::optional<std::string> device, std::optional<std::string> to,
                                 CommandCallback done, CommandCallback finished, Submitted submitted) {
  auto c = relayed(caller, std::string(to_string(command)), call_id);
  c.device = std::move(device);
  c.to = std::move(to);
  send(std::move(c), std::move(done), std::move(finished), std::move(submitted));
}

void RemoteCallCommands::pickup(const CommandCaller& caller, const std::string& call_id,
                                std::optional<std::string> device, const LineScope& scope, CommandCallback done,
                                CommandCallback finished, Submitted submitted) {
  auto c = relayed(caller, "pickup", call_id);
  c.device = std::move(device);
  with_scope(c, scope);
  send(std::move(c), std::move(done), std::move(finished), std::move(submitted));
}

void RemoteCallCommands::pickup_line(const CommandCaller& caller, const std::string& line,
                                     std::optional<std::string> device, const LineScope& scope, CommandCallback done,
                                     CommandCallback finished, Submitted submitted) {
  auto c = relayed(caller, "pickup_line", line);
  c.device = std::move(device);
  with_scope(c, scope);
  send(std::move(c), std::move(done), std::move(finished), std::move(submitted));
}

void RemoteCallCommands::unpark(const CommandCaller& caller, const std::string& space, std::optional<std::string> lot,
                                std::optional<std::string> device, CommandCallback done, CommandCallback finished,
                                Submitted submitted) {
  auto c = relayed(caller, "unpark", space);
  c.lot = std::move(lot);
  c.device = std::move(device);
  send(std::move(c), std::move(done), std::move(finished), std::move(submitted));
}

void RemoteCallCommands::move_call(const CommandCaller& caller, const std::string& call_id, const MoveTarget& target,
                                   CommandCallback done, CommandCallback finished, Submitted submitted) {
  auto c = relayed(caller, "move", call_id);
  c.device = target.name;
  if (!target.number.empty()) c.number = target.number;
  c.private_device = target.private_device;
  send(std::move(c), std::move(done), std::move(finished), std::move(submitted));
}

void serve_relayed(CallControlService* service, const base::TenantId& tenant, const ports::RelayedCommand& c,
                   RelayReplies replies) {
  // What the service reports before it returns goes into the answer; afterwards, on its own.
  struct State {
    bool answered = false;
    ports::RelayedAnswer answer;
    RelayReplies replies;
  };
  auto st = std::make_shared<State>();
  st->replies = std::move(replies);
  auto refuse = [&](K kind, std::string detail) {
    ports::RelayedAnswer a;
    a.done = to_relayed(std::unexpected(CommandFailure{kind, std::move(detail)}));
    st->replies.answer(std::move(a));
  };
  if (!service)
    return refuse(K::pbx_unavailable,
                  "The phone system cannot be reached right now (the PBX link is changing nodes); try again in a moment.");
  if (c.tenant != tenant.str()) return refuse(K::forbidden, "tenant " + c.tenant + " is not served by this PBX link");
  auto role = parse_role(c.role);
  if (!role || *role == Role::operator_) return refuse(K::forbidden, "role \"" + c.role + "\" may not control calls");
  CommandCaller caller{.tenant = tenant, .user = c.user, .role = *role, .extensions = c.extensions, .team = c.team};

  CommandCallback done = [st](CommandOutcome o) {
    if (!st->answered) {
      st->answer.done = to_relayed(o);
      return;
    }
    st->replies.done(to_relayed(o));
  };
  CommandCallback finished = [st](CommandOutcome o) {
    if (!st->answered) {
      st->answer.finished = to_relayed(o);
      return;
    }
    st->replies.finished(to_relayed(o));
  };
  std::string returned;
  const auto scope = LineScope::of(c.scope_whole, c.scope_own, c.scope_team);
  if (c.op == "make_call") {
    if (!c.to) return refuse(K::bad_request, "\"to\" is required");
    returned = service->make_call(caller, *c.to, c.from, done, finished);
  } else if (c.op == "pickup") {
    service->pickup(caller, c.target, c.device, scope, done, finished);
  } else if (c.op == "pickup_line") {
    returned = service->pickup_line(caller, c.target, c.device, scope, done, finished);
  } else if (c.op == "unpark") {
    returned = service->unpark(caller, c.target, c.lot, c.device, done, finished);
  } else if (c.op == "move") {
    // The issuing node found the device among the user's; what it names is checked here as for a
    // local caller (the call is theirs, the extension that has it, the AnyDevice policy, ...).
    if (!c.device || c.device->empty()) return refuse(K::bad_request, "move: \"device\" is required");
    if (c.number && !is_e164(*c.number))
      return refuse(K::bad_request, "move: the number of device " + c.device->substr(0, 64) +
                                        " is not an E.164 number (+ and 2 to 15 digits)");
    service->move_call(caller, c.target, MoveTarget{*c.device, c.number.value_or(""), c.private_device}, done,
                       finished);
  } else if (auto cmd = parse_call_command(c.op)) {
    service->execute(caller, *cmd, c.target, c.device, c.to, done, cmd == CallCommand::park ? finished : CommandCallback{});
  } else {
    return refuse(K::bad_request, "unknown command \"" + c.op.substr(0, 32) + "\"");
  }
  st->answered = true;
  st->answer.returned = std::move(returned);
  st->replies.answer(std::move(st->answer));
}

}  // namespace callbridge::core
