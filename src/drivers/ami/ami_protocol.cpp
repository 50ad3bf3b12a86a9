#include "drivers/ami/ami_protocol.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace callbridge::drivers::ami {
namespace {

constexpr std::size_t kMaxActionBytes = 64 * 1024;
constexpr std::string_view kLoginId = "login";
constexpr std::string_view kChallengeId = "login-challenge";

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// Untrusted bytes quoted in an error/log line: printable ASCII only, bounded.
std::string excerpt(std::string_view raw, std::size_t max = 80) {
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : raw.substr(0, max)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (raw.size() > max) out += "...";
  return out;
}

}  // namespace

std::vector<std::string> default_resync_actions() {
  return {"CoreShowChannels",   "Status",            "BridgeList",
          "DeviceStateList",    "ExtensionStateList", "PJSIPShowEndpoints",
          "PJSIPShowContacts",  "QueueStatus",        "ParkedCalls",
          "CoreStatus"};
}

std::string_view to_string(AmiProtocolState s) {
  switch (s) {
    case AmiProtocolState::idle: return "idle";
    case AmiProtocolState::awaiting_banner: return "awaiting_banner";
    case AmiProtocolState::challenging: return "challenging";
    case AmiProtocolState::logging_in: return "logging_in";
    case AmiProtocolState::up: return "up";
    case AmiProtocolState::closed: return "closed";
  }
  return "?";
}

std::string ami_md5_key(std::string_view challenge, std::string_view secret) {
  std::string input;
  input.reserve(challenge.size() + secret.size());
  input.append(challenge).append(secret);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CB_CHECK(EVP_Digest(input.data(), input.size(), digest, &len, EVP_md5(), nullptr) == 1,
           "OpenSSL MD5 digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

base::Status AmiAction::validate() const {
  if (name.empty()) return base::fail(base::Error::invalid_argument("AMI action without a name"));
  if (has_line_break(name) || has_line_break(action_id))
    return base::fail(base::Error::invalid_argument("AMI action name/ActionID contains CR, LF or NUL"));
  std::size_t bytes = name.size() + action_id.size() + 32;
  for (const auto& [k, v] : headers) {
    if (k.empty() || has_line_break(k) || k.find(':') != std::string::npos ||
        k.front() == ' ' || k.back() == ' ')
      return base::fail(base::Error::invalid_argument("AMI action '" + name + "': bad header key '" +
                                                      k.substr(0, 40) + "'"));
    if (iequals(k, "Action") || iequals(k, "ActionID"))
      return base::fail(base::Error::invalid_argument(
          "AMI action '" + name + "': set Action/ActionID through name/action_id, not headers"));
    if (has_line_break(v))
      return base::fail(base::Error::invalid_argument("AMI action '" + name + "': value of '" + k +
                                                      "' contains CR, LF or NUL"));
    bytes += k.size() + v.size() + 4;
  }
  if (bytes > kMaxActionBytes)
    return base::fail(base::Error::invalid_argument("AMI action '" + name + "' exceeds 64 KiB"));
  return {};
}

std::string AmiAction::serialize(std::string_view id) const {
  std::string out;
  out.reserve(64 + name.size());
  out.append("Action: ").append(name).append("\r\n");
  out.append("ActionID: ").append(id).append("\r\n");
  for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
  out.append("\r\n");
  return out;
}

bool AmiResponse::success() const {
  auto r = response.view().response();
  return iequals(r, "Success") || iequals(r, "Follows") || iequals(r, "Goodbye");
}

AmiProtocol::AmiProtocol(AmiProtocolConfig config, AmiSink& sink)
    : config_(std::move(config)), sink_(sink), reader_(config_.limits, true) {
  CB_CHECK(!has_line_break(config_.username) && !has_line_break(config_.secret) &&
               !has_line_break(config_.events),
           "AMI username/secret/events must not contain CR/LF (validate the config first)");
}

void AmiProtocol::begin(base::Timestamp now) {
  if (state_ != AmiProtocolState::idle && state_ != AmiProtocolState::closed)
    end(now, base::Error::unavailable("a new AMI connection replaced this one"));
  reader_.reset(true);
  output_.clear();
  now_ = std::max(now_, now);
  state_ = AmiProtocolState::awaiting_banner;
  began_at_ = now;
}

base::Status AmiProtocol::on_bytes(std::string_view bytes, base::Timestamp now) {
  if (state_ == AmiProtocolState::idle || state_ == AmiProtocolState::closed)
    return base::fail(base::Error::internal("AMI bytes received outside a session"));
  now_ = std::max(now_, now);
  counters_.bytes_received += bytes.size();
  reader_.feed(bytes);
  for (;;) {
    auto got = reader_.next(msg_);
    if (state_ == AmiProtocolState::awaiting_banner && reader_.banner()) on_banner(now);
    if (!got) return base::fail(got.error());
    if (!*got) return {};
    if (auto st = handle(msg_, now); !st) return st;
    // A callback may have ended the session (it must not, but stay safe).
    if (state_ == AmiProtocolState::closed) return {};
  }
}

void AmiProtocol::on_banner(base::Timestamp now) {
  if (config_.auth == AmiAuth::md5) {
    output_ += "Action: Challenge\r\nAuthType: MD5\r\nActionID: " + std::string(kChallengeId) + "\r\n\r\n";
    state_ = AmiProtocolState::challenging;
  } else {
    output_ += "Action: Login\r\nUsername: " + config_.username + "\r\nSecret: " + config_.secret +
               "\r\nEvents: " + config_.events + "\r\nActionID: " + std::string(kLoginId) + "\r\n\r\n";
    state_ = AmiProtocolState::logging_in;
  }
  ++counters_.actions_sent;
}

base::Status AmiProtocol::handle(const AmiMessage& m, base::Timestamp now) {
  if (state_ != AmiProtocolState::up) return handle_login_phase(m, now);
  const bool is_event = m.has("Event");
  if (!is_event && !m.has("Response")) {
    return base::fail(base::Error::protocol("AMI message with neither Event nor Response header: '" +
                                            excerpt(m.raw()) + "'"));
  }
  ++counters_.messages_received;
  if (is_event) ++counters_.events_received;
  sink_.on_message(m, now);
  if (state_ == AmiProtocolState::up) correlate(m);
  return {};
}

base::Status AmiProtocol::handle_login_phase(const AmiMessage& m, base::Timestamp now) {
  if (m.has("Event")) return {};  // Asterisk sends no events before login; nothing to do with them
  const auto id = m.action_id();
  if (state_ == AmiProtocolState::challenging && id == kChallengeId) {
    auto challenge = m.get("Challenge");
    if (!iequals(m.response(), "Success") || challenge.empty() || has_line_break(challenge)) {
      return base::fail(base::Error::invalid_argument(
          "AMI MD5 challenge refused for user '" + config_.username + "': " + excerpt(m.get("Message"), 200)));
    }
    output_ += "Action: Login\r\nAuthType: MD5\r\nUsername: " + config_.username +
               "\r\nKey: " + ami_md5_key(challenge, config_.secret) + "\r\nEvents: " + config_.events +
               "\r\nActionID: " + std::string(kLoginId) + "\r\n\r\n";
    ++counters_.actions_sent;
    state_ = AmiProtocolState::logging_in;
    return {};
  }
  if (state_ == AmiProtocolState::logging_in && id == kLoginId) {
    if (!iequals(m.response(), "Success")) {
      return base::fail(base::Error::invalid_argument(
          "AMI login rejected for user '" + config_.username + "': " +
          excerpt(m.get("Message").empty() ? m.response() : m.get("Message"), 200)));
    }
    state_ = AmiProtocolState::up;
    ++counters_.sessions_started;
    ++session_epoch_;
    last_ping_at_ = now;
    ping_id_.reset();
    sink_.on_session_start(now);
    if (state_ == AmiProtocolState::up) start_resync(0, now);
  }
  return {};
}

void AmiProtocol::start_resync(std::size_t index, base::Timestamp now) {
  while (index < config_.resync_actions.size()) {
    AmiAction a(config_.resync_actions[index]);
    std::string id = "resync-" + a.name;
    if (a.validate() && !pending_.contains(id)) {
      const std::uint64_t epoch = session_epoch_;
      send_internal(Kind::resync, a, id, now, [this, index, epoch, name = a.name](base::Result<AmiResponse> r) {
        if (epoch != session_epoch_ || state_ != AmiProtocolState::up) return;
        if (!r) {
          spdlog::warn("AMI resync {}: {}", name, r.error().to_string());
        } else if (!r->success()) {
          // E.g. QueueStatus without app_queue: not fatal, the rest of the resync still helps.
          spdlog::info("AMI resync {} refused: {}", name, r->message());
        }
        start_resync(index + 1, now_);
      });
      return;
    }
    ++index;
  }
}

void AmiProtocol::send_internal(Kind kind, const AmiAction& a, const std::string& id,
                                base::Timestamp now, ActionCallback done) {
  output_ += a.serialize(id);
  ++counters_.actions_sent;
  Pending p{kind, a.name, now + (kind == Kind::ping ? config_.ping_timeout : config_.action_timeout),
            std::move(done), /*collect=*/false, false, {}};
  pending_.insert_or_assign(id, std::move(p));
}

base::Result<std::string> AmiProtocol::submit(AmiAction action, ActionCallback done, base::Timestamp now,
                                              std::optional<std::chrono::milliseconds> timeout,
                                              bool collect_items) {
  now_ = std::max(now_, now);
  if (state_ != AmiProtocolState::up) {
    return base::fail(base::Error::unavailable("AMI session is not up (state " +
                                               std::string(to_string(state_)) + ")"));
  }
  if (auto st = action.validate(); !st) return base::fail(st.error());
  if (pending_.size() >= config_.max_pending_actions) {
    return base::fail(base::Error::unavailable("AMI: " + std::to_string(pending_.size()) +
                                               " actions already wait for a response"));
  }
  if (!action.action_id.empty() &&
      (action.action_id.starts_with("login") || action.action_id.starts_with("resync-") ||
       action.action_id.starts_with("cb-"))) {
    return base::fail(base::Error::invalid_argument("AMI ActionID '" + action.action_id +
                                                    "' uses a reserved prefix (login, resync-, cb-)"));
  }
  std::string id = action.action_id.empty() ? next_id() : action.action_id;
  if (pending_.contains(id)) {
    return base::fail(base::Error::conflict("AMI ActionID '" + id + "' is already in use"));
  }
  std::string bytes = action.serialize(id);
  if (output_.size() + bytes.size() > config_.max_output_bytes) {
    return base::fail(base::Error::unavailable("AMI send queue full (" +
                                               std::to_string(output_.size()) + " bytes unsent)"));
  }
  output_ += bytes;
  ++counters_.actions_sent;
  Pending p{Kind::user, std::move(action.name), now + timeout.value_or(config_.action_timeout),
            std::move(done), collect_items, false, {}};
  pending_.emplace(id, std::move(p));
  return id;
}

void AmiProtocol::correlate(const AmiMessage& m) {
  const auto id_view = m.action_id();
  if (id_view.empty()) return;
  std::string id(id_view);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (!m.has("Event")) {
    if (p.list_open) return;  // a second response for one ActionID: keep the first
    p.response.response = OwnedAmiMessage(m);
    if (iequals(m.get("EventList"), "start") && p.response.success()) {
      p.list_open = true;
      return;
    }
    finish(id, std::move(p.response));
    return;
  }
  if (!p.list_open) return;  // e.g. OriginateResponse racing the response: the sink has it
  if (iequals(m.get("EventList"), "Complete")) {
    p.response.complete = OwnedAmiMessage(m);
    finish(id, std::move(p.response));
    return;
  }
  if (!p.collect) return;
  if (p.response.items.size() >= config_.max_list_items) {
    finish(id, base::fail(base::Error::protocol("AMI list action " + p.name + " returned more than " +
                                                std::to_string(config_.max_list_items) + " items")));
    return;
  }
  p.response.items.emplace_back(m);
}

void AmiProtocol::finish(const std::string& id, base::Result<AmiResponse> r) {
  auto node = pending_.extract(id);
  if (node.empty()) return;
  if (ping_id_ && *ping_id_ == id) ping_id_.reset();
  if (node.mapped().done) node.mapped().done(std::move(r));
}

base::Status AmiProtocol::tick(base::Timestamp now) {
  now_ = std::max(now_, now);
  switch (state_) {
    case AmiProtocolState::awaiting_banner:
    case AmiProtocolState::challenging:
    case AmiProtocolState::logging_in:
      if (now - began_at_ >= config_.login_timeout) {
        return base::fail(base::Error::timeout("AMI login not completed within " +
                                               ms_text(config_.login_timeout) + " (state " +
                                               std::string(to_string(state_)) + ")"));
      }
      return {};
    case AmiProtocolState::up:
      break;
    default:
      return {};
  }
  if (ping_id_) {
    auto it = pending_.find(*ping_id_);
    if (it != pending_.end() && now >= it->second.deadline) {
      return base::fail(base::Error::timeout("AMI keepalive: no answer to Ping within " +
                                             ms_text(config_.ping_timeout)));
    }
  } else if (config_.ping_interval.count() > 0 && now - last_ping_at_ >= config_.ping_interval) {
    std::string id = next_id();
    ping_id_ = id;
    last_ping_at_ = now;
    send_internal(Kind::ping, AmiAction("Ping"), id, now, nullptr);
  }
  std::vector<std::string> expired;
  for (const auto& [id, p] : pending_) {
    if (p.kind != Kind::ping && now >= p.deadline) expired.push_back(id);
  }
  std::sort(expired.begin(), expired.end());
  for (const auto& id : expired) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    std::string name = it->second.name;
    finish(id, base::fail(base::Error::timeout("AMI action " + name + " (ActionID " + id +
                                               ") got no complete response in time")));
    if (state_ != AmiProtocolState::up) break;
  }
  return {};
}

void AmiProtocol::end(base::Timestamp now, const base::Error& why) {
  if (state_ == AmiProtocolState::idle || state_ == AmiProtocolState::closed) return;
  const bool was_up = state_ == AmiProtocolState::up;
  state_ = AmiProtocolState::closed;
  ++session_epoch_;
  ping_id_.reset();
  output_.clear();
  auto pending = std::move(pending_);
  pending_.clear();
  std::vector<std::string> ids;
  for (const auto& [id, p] : pending) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    auto& p = pending[id];
    if (p.done) {
      p.done(base::fail(base::Error::unavailable("AMI session ended before the response to " + p.name +
                                                 ": " + why.message())));
    }
  }
  if (was_up) sink_.on_session_end(now, why);
}

}  // namespace callbridge::drivers::ami
