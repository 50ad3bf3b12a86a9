#include "cluster/command_relay.hpp"

#include <nats/nats.h>

#include <boost/json.hpp>

#include <cstdio>
#include <utility>
#include <vector>

namespace callbridge::cluster {

namespace json = boost::json;
using base::Errc;
using base::Error;
using base::fail;

namespace {

constexpr std::size_t kMaxMessage = 64 * 1024;
constexpr std::size_t kMaxStrings = 256;  // extensions, scope lines

const std::string kReplyPrefix = "cb.cmdr.";

void put_opt(json::object& o, const char* k, const std::optional<std::string>& v) {
  if (v) o[k] = *v;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// Reads what a peer sent; every value is checked for its type.
struct Reader {
  const json::object& o;
  std::string error{};
  std::string str(const char* k) {
    const auto* v = o.if_contains(k);
    if (!v) return {};
    if (!v->is_string()) {
      error = std::string(k) + " is not a string";
      return {};
    }
    return std::string(v->get_string());
  }
  std::optional<std::string> opt(const char* k) {
    const auto* v = o.if_contains(k);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      error = std::string(k) + " is not a string";
      return std::nullopt;
    }
    return std::string(v->get_string());
  }
  std::vector<std::string> list(const json::object& from, const char* k) {
    std::vector<std::string> out;
    const auto* v = from.if_contains(k);
    if (!v) return out;
    if (!v->is_array() || v->get_array().size() > kMaxStrings) {
      error = std::string(k) + " is not a list of at most 256 strings";
      return out;
    }
    for (const auto& e : v->get_array()) {
      if (!e.is_string()) {
        error = std::string(k) + " holds a non-string";
        return {};
      }
      out.emplace_back(e.get_string());
    }
    return out;
  }
};

json::object outcome_json(const ports::RelayedOutcome& r) {
  json::object o;
  o["ok"] = r.ok;
  if (!r.ok) {
    o["failure"] = r.failure;
    o["detail"] = r.detail;
  }
  put_opt(o, "call_id", r.call_id);
  put_opt(o, "request_id", r.request_id);
  put_opt(o, "space", r.space);
  return o;
}

std::optional<ports::RelayedOutcome> outcome_of(const json::value* v) {
  if (!v || !v->is_object()) return std::nullopt;
  Reader r{v->get_object()};
  ports::RelayedOutcome out;
  const auto* ok = r.o.if_contains("ok");
  out.ok = ok && ok->is_bool() && ok->get_bool();
  out.failure = r.str("failure");
  out.detail = r.str("detail");
  out.call_id = r.opt("call_id");
  out.request_id = r.opt("request_id");
  out.space = r.opt("space");
  if (!r.error.empty()) return ports::RelayedOutcome{false, "internal", "the owner's answer was malformed: " + r.error};
  if (!out.ok && out.failure.empty()) out.failure = "internal";
  return out;
}

ports::RelayedOutcome failure(const char* kind, std::string detail) {
  return ports::RelayedOutcome{false, kind, std::move(detail)};
}

}  // namespace

std::string command_subject(const std::string& link) {
  std::string s = "cb.cmd.";
  for (unsigned char c : link) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      s += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "=%02X", c);
      s += buf;
    }
  }
  return s;
}

std::string encode_command(const ports::RelayedCommand& c) {
  json::object o;
  o["v"] = 1;
  o["tenant"] = c.tenant;
  o["user"] = c.user;
  o["role"] = c.role;
  o["extensions"] = strings(c.extensions);
  o["team"] = c.team;
  o["op"] = c.op;
  o["target"] = c.target;
  put_opt(o, "to", c.to);
  put_opt(o, "from", c.from);
  put_opt(o, "device", c.device);
  put_opt(o, "lot", c.lot);
  // move: the external device's number and whether it is private (absent: the desk phone).
  put_opt(o, "number", c.number);
  if (c.op == "move") o["private"] = c.private_device;
  o["scope"] = json::object{{"whole", c.scope_whole}, {"own", strings(c.scope_own)}, {"team", strings(c.scope_team)}};
  return json::serialize(o);
}

base::Result<ports::RelayedCommand> decode_command(std::string_view text) {
  if (text.size() > kMaxMessage) return fail(Error::invalid_argument("command larger than 64 KiB"));
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail(Error::invalid_argument("command is not a JSON object"));
  const auto& o = v.get_object();
  const auto* ver = o.if_contains("v");
  if (!ver || !ver->is_int64() || ver->get_int64() != 1)
    return fail(Error::invalid_argument("command of an unknown format version (this node speaks 1)"));
  Reader r{o};
  ports::RelayedCommand c;
  c.tenant = r.str("tenant");
  c.user = r.str("user");
  c.role = r.str("role");
  c.extensions = r.list(o, "extensions");
  c.team = r.str("team");
  c.op = r.str("op");
  c.target = r.str("target");
  c.to = r.opt("to");
  c.from = r.opt("from");
  c.device = r.opt("device");
  c.lot = r.opt("lot");
  c.number = r.opt("number");
  if (const auto* p = o.if_contains("private"); p && !p->is_null()) {
    if (p->is_bool()) c.private_device = p->get_bool();
    else r.error = "private is not a boolean";
  }
  if (const auto* s = o.if_contains("scope"); s && s->is_object()) {
    const auto* w = s->get_object().if_contains("whole");
    c.scope_whole = w && w->is_bool() && w->get_bool();
    c.scope_own = r.list(s->get_object(), "own");
    c.scope_team = r.list(s->get_object(), "team");
  }
  if (!r.error.empty()) return fail(Error::invalid_argument("command: " + r.error));
  if (c.tenant.empty() || c.user.empty() || c.op.empty())
    return fail(Error::invalid_argument("command without tenant, user or op"));
  if (c.op == "move" && (!c.device || c.device->empty()))
    return fail(Error::invalid_argument("move without the device to move the call to"));
  if (c.number && (c.number->size() > 16 || c.number->find_first_not_of("+0123456789") != std::string::npos))
    return fail(Error::invalid_argument("number is not an E.164 number"));
  return c;
}

struct NatsCommandRelay::State {
  natsConnection* nc = nullptr;
  CommandRelayOptions options;
  Post post;
  PostAfter post_after;
  Owned owned;
  std::string reply_prefix;  // "cb.cmdr.<instance>."

  struct Pending {
    std::string link;
    Handlers handlers;
    bool two_step = false;
    bool answered = false;
  };
  std::uint64_t next = 1;
  std::map<std::uint64_t, Pending> pending;

  struct Served {
    natsSubscription* sub = nullptr;
    std::uint64_t term = 0;
    Handler handler;
  };
  std::uint64_t terms = 0;
  std::map<std::string, Served> served;
  natsSubscription* replies = nullptr;
  CommandRelayStats stats;

  // What a nats.c callback needs; deleted by the subscription's completion callback.
  struct Tap {
    std::weak_ptr<State> state;
    Post post;
    std::string link;  // "" = this process's reply subscription
    std::uint64_t term = 0;
  };

  void publish(const std::string& subject, const json::object& o) {
    auto text = json::serialize(o);
    natsConnection_Publish(nc, subject.c_str(), text.data(), static_cast<int>(text.size()));
  }

  // Ends pending command `seq` with an answer made here (no owner, timeout, forgotten).
  void answer_here(std::uint64_t seq, ports::RelayedOutcome why) {
    auto it = pending.find(seq);
    if (it == pending.end() || it->second.answered) return;
    auto h = std::move(it->second.handlers);
    pending.erase(it);
    ports::RelayedAnswer a;
    a.done = std::move(why);
    h.answered(std::move(a));
  }

  void on_reply(const std::string& subject, const std::string& data, bool no_responders) {
    if (!subject.starts_with(reply_prefix)) return;
    std::uint64_t seq = 0;
    try {
      seq = std::stoull(subject.substr(reply_prefix.size()));
    } catch (...) {
      return;
    }
    auto it = pending.find(seq);
    if (it == pending.end()) return;  // timed out, forgotten, or over
    auto& p = it->second;
    if (no_responders) {
      ++stats.no_owner;
      return answer_here(seq, failure("pbx_unavailable", "The phone system cannot be reached right now: no node serves "
                                                         "PBX link " + p.link + " at this moment (it is changing nodes); "
                                                         "try again in a moment."));
    }
    boost::system::error_code ec;
    auto v = json::parse(data, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.get_object();
    const auto* kind = o.if_contains("kind");
    if (!kind || !kind->is_string()) return;
    if (kind->get_string() == "answer") {
      if (p.answered) return;
      p.answered = true;
      ++stats.answered;
      ports::RelayedAnswer a;
      if (const auto* r = o.if_contains("returned"); r && r->is_string()) a.returned = std::string(r->get_string());
      a.done = outcome_of(o.if_contains("done"));
      a.finished = outcome_of(o.if_contains("finished"));
      const bool over = (a.done && !a.done->ok) || a.finished || (!p.two_step && a.done);
      auto h = p.handlers;
      if (over) pending.erase(it);
      h.answered(std::move(a));
      return;
    }
    auto out = outcome_of(o.if_contains("outcome"));
    if (!out || !p.answered) return;
    if (kind->get_string() == "done") {
      const bool over = !out->ok || !p.two_step;
      auto h = p.handlers;
      if (over) pending.erase(it);
      if (h.done) h.done(std::move(*out));
    } else if (kind->get_string() == "finished") {
      auto h = std::move(p.handlers);
      pending.erase(it);
      if (h.finished) h.finished(std::move(*out));
    }
  }

  void on_command(const std::string& link, std::uint64_t term, const std::string& reply, const std::string& data) {
    if (reply.empty()) return;
    auto refuse = [&](const char* kind, std::string detail) {
      json::object o{{"kind", "answer"}, {"returned", ""}};
      o["done"] = outcome_json(failure(kind, std::move(detail)));
      publish(reply, o);
    };
    auto it = served.find(link);
    if (it == served.end() || it->second.term != term)  // the link left this node meanwhile
      return refuse("pbx_unavailable", "The phone system cannot be reached right now: PBX link " + link +
                                           " is changing nodes; try again in a moment.");
    auto c = decode_command(data);
    if (!c) return refuse("bad_request", c.error().message());
    ++stats.served;
    std::weak_ptr<State> weak = self;
    ports::RelayReplies r;
    r.answer = [weak, reply](ports::RelayedAnswer a) {
      auto s = weak.lock();
      if (!s) return;
      json::object o{{"kind", "answer"}, {"returned", a.returned}};
      if (a.done) o["done"] = outcome_json(*a.done);
      if (a.finished) o["finished"] = outcome_json(*a.finished);
      s->publish(reply, o);
    };
    r.done = [weak, reply](ports::RelayedOutcome out) {
      if (auto s = weak.lock()) s->publish(reply, json::object{{"kind", "done"}, {"outcome", outcome_json(out)}});
    };
    r.finished = [weak, reply](ports::RelayedOutcome out) {
      if (auto s = weak.lock()) s->publish(reply, json::object{{"kind", "finished"}, {"outcome", outcome_json(out)}});
    };
    auto handler = it->second.handler;  // may unserve while it runs
    handler(std::move(*c), std::move(r));
  }

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* tap = static_cast<Tap*>(closure);
    const int len = natsMsg_GetDataLength(msg);
    const bool too_big = len < 0 || static_cast<std::size_t>(len) > kMaxMessage;
    std::string subject = natsMsg_GetSubject(msg) ? natsMsg_GetSubject(msg) : "";
    std::string reply = natsMsg_GetReply(msg) ? natsMsg_GetReply(msg) : "";
    std::string data = too_big || len == 0 ? std::string() : std::string(natsMsg_GetData(msg), static_cast<std::size_t>(len));
    const bool no_responders = natsMsg_IsNoResponders(msg);
    natsMsg_Destroy(msg);
    tap->post([weak = tap->state, link = tap->link, term = tap->term, subject = std::move(subject),
               reply = std::move(reply), data = std::move(data), no_responders, too_big] {
      auto s = weak.lock();
      if (!s) return;
      if (too_big) {
        ++s->stats.dropped;
        return;
      }
      if (link.empty()) s->on_reply(subject, data, no_responders);
      else s->on_command(link, term, reply, data);
    });
  }
  static void on_complete(void* closure) { delete static_cast<Tap*>(closure); }

  base::Result<natsSubscription*> subscribe(const std::string& subject, std::string link, std::uint64_t term) {
    auto* tap = new Tap{self, post, std::move(link), term};
    natsSubscription* sub = nullptr;
    natsStatus st = natsConnection_Subscribe(&sub, nc, subject.c_str(), &State::on_msg, tap);
    if (st != NATS_OK) {
      delete tap;
      return fail(nats_error(Errc::unavailable, "subscribe " + subject, st));
    }
    natsSubscription_SetOnCompleteCB(sub, &State::on_complete, tap);
    natsConnection_FlushTimeout(nc, 1000);  // the server has the interest before the next request
    return sub;
  }
  // Unsubscribes; the server has dropped the interest when it returns (a request sent after it
  // gets "no responders", not a silence that ends in the timeout).
  void drop(natsSubscription* sub) {
    if (!sub) return;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED) natsConnection_FlushTimeout(nc, 1000);
  }

  std::weak_ptr<State> self;
};

NatsCommandRelay::NatsCommandRelay(NatsConnection& nats, std::shared_ptr<State> state)
    : nats_(nats), state_(std::move(state)) {}

base::Result<std::unique_ptr<NatsCommandRelay>> NatsCommandRelay::create(NatsConnection& nats,
                                                                        CommandRelayOptions options, Post post,
                                                                        PostAfter post_after, Owned owned) {
  auto s = std::make_shared<State>();
  s->self = s;
  s->nc = nats.handle();
  s->options = std::move(options);
  s->post = std::move(post);
  s->post_after = std::move(post_after);
  s->owned = std::move(owned);
  s->reply_prefix = kReplyPrefix + s->options.instance + ".";
  auto sub = s->subscribe(s->reply_prefix + "*", "", 0);
  if (!sub) return fail(sub.error());
  s->replies = *sub;
  return std::unique_ptr<NatsCommandRelay>(new NatsCommandRelay(nats, std::move(s)));
}

NatsCommandRelay::~NatsCommandRelay() {
  for (auto& [link, served] : state_->served) state_->drop(served.sub);
  state_->served.clear();
  state_->drop(state_->replies);
  state_->replies = nullptr;
}

void NatsCommandRelay::send(const std::string& link, ports::RelayedCommand command, Handlers handlers) {
  auto& s = *state_;
  ++s.stats.sent;
  auto refuse = [&](std::string detail) {
    ++s.stats.no_owner;
    ports::RelayedAnswer a;
    a.done = failure("pbx_unavailable", std::move(detail));
    handlers.answered(std::move(a));
  };
  if (s.owned && !s.owned(link))
    return refuse("The phone system cannot be reached right now: no node owns PBX link " + link +
                  " at this moment (it is changing nodes, or no node can reach it); try again in a moment.");
  if (!nats_.connected())
    return refuse("The phone system cannot be reached right now: this node has lost the cluster's message bus; try "
                  "again in a moment.");
  if (s.pending.size() >= s.options.max_pending) {
    auto oldest = s.pending.begin()->first;
    if (s.pending.begin()->second.answered) s.pending.erase(s.pending.begin());
    else s.answer_here(oldest, failure("timeout", "too many commands waiting for the owner node"));
  }
  const std::uint64_t seq = s.next++;
  // As core::relayed_two_step: the PBX's final word follows its answer to the request.
  const bool two_step = command.op == "make_call" || command.op == "pickup" || command.op == "pickup_line" ||
                        command.op == "park" || command.op == "unpark" || command.op == "move";
  s.pending.emplace(seq, State::Pending{link, std::move(handlers), two_step, false});
  const std::string reply = s.reply_prefix + std::to_string(seq);
  const std::string text = encode_command(command);
  natsStatus st = natsConnection_PublishRequest(s.nc, command_subject(link).c_str(), reply.c_str(), text.data(),
                                                static_cast<int>(text.size()));
  if (st != NATS_OK)
    return s.answer_here(seq, failure("pbx_unavailable", "The phone system cannot be reached right now: " +
                                                             nats_error(Errc::unavailable, "publish", st).message()));
  std::weak_ptr<State> weak = state_;
  s.post_after(s.options.timeout, [weak, seq, link] {
    auto s = weak.lock();
    if (!s) return;
    auto it = s->pending.find(seq);
    if (it == s->pending.end() || it->second.answered) return;
    ++s->stats.timeouts;
    s->answer_here(seq, failure("timeout", "the node that owns PBX link " + link + " did not answer within " +
                                               std::to_string(s->options.timeout.count()) +
                                               " ms; the command may still have been carried out"));
  });
  s.post_after(s.options.keep, [weak, seq] {
    if (auto s = weak.lock()) s->pending.erase(seq);
  });
}

base::Status NatsCommandRelay::serve(const std::string& link, Handler handler) {
  auto& s = *state_;
  unserve(link);
  const std::uint64_t term = ++s.terms;
  auto sub = s.subscribe(command_subject(link), link, term);
  if (!sub) return fail(sub.error());
  s.served[link] = State::Served{*sub, term, std::move(handler)};
  return {};
}

void NatsCommandRelay::unserve(const std::string& link) {
  auto it = state_->served.find(link);
  if (it == state_->served.end()) return;
  state_->drop(it->second.sub);
  state_->served.erase(it);
}

bool NatsCommandRelay::serving(const std::string& link) const { return state_->served.contains(link); }

CommandRelayStats NatsCommandRelay::stats() const {
  auto st = state_->stats;
  st.pending = state_->pending.size();
  st.serving = state_->served.size();
  return st;
}

}  // namespace callbridge::cluster
