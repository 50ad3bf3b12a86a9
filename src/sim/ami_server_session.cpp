#include "sim/ami_server_session.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "sim/flows.hpp"

namespace callbridge::sim {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}


std::string hms(std::chrono::microseconds d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

// `"Name" <num>`, `Name <num>`, `<num>` or `num`.
std::pair<std::string, std::string> parse_callerid(std::string_view v) {
  auto lt = v.find('<'), gt = v.rfind('>');
  if (lt == std::string_view::npos || gt == std::string_view::npos || gt < lt) return {std::string(v), ""};
  std::string num(v.substr(lt + 1, gt - lt - 1));
  std::string_view name = v.substr(0, lt);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  return {num, std::string(name)};
}

// An Originate's Timeout header in ms (Asterisk's default 30000; at least 1 ms).
std::chrono::milliseconds originate_timeout(const ami::AmiMessage& m) {
  auto tv = m.get("Timeout");
  long long ms = 30000;
  if (!tv.empty()) std::from_chars(tv.data(), tv.data() + tv.size(), ms);
  return std::chrono::milliseconds(std::max(1LL, ms));
}

}  // namespace

std::string md5_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CB_CHECK(EVP_Digest(text.data(), text.size(), digest, &len, EVP_md5(), nullptr) == 1, "OpenSSL MD5 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

AmiServerSession::AmiServerSession(SimEngine& engine, const AmiServerConfig& config, std::string local_addr,
                                   std::string remote_addr, std::uint64_t seed)
    : engine_(engine),
      config_(config),
      local_addr_(std::move(local_addr)),
      remote_addr_(std::move(remote_addr)),
      rng_(seed | 1),
      reader_(ami::FrameLimits{.max_message_bytes = 64 * 1024, .max_headers = 256}, /*expect_banner=*/false) {
  output_ = config_.banner + "\r\n";
}

base::Status AmiServerSession::on_bytes(std::string_view bytes) {
  reader_.feed(bytes);
  ami::AmiMessage m;
  while (!closing_) {
    auto r = reader_.next(m);
    if (!r) return base::fail(r.error());
    if (!*r) break;
    handle(m);
  }
  return {};
}

void AmiServerSession::write(const SimMessage& m) {
  if (closing_) return;
  if (output_.size() > config_.max_output_bytes) {
    closing_ = true;
    close_reason_ = "client too slow: outbox over limit";
    return;
  }
  m.append_wire(output_);
}

void AmiServerSession::on_event(const SimMessage& event) {
  if (logged_in_ && events_) write(event);
}

std::string AmiServerSession::take_output() {
  std::string out;
  out.swap(output_);
  return out;
}

void AmiServerSession::respond(const ami::AmiMessage& req, std::string_view response, Fields extra) {
  SimMessage r;
  r.add("Response", std::string(response));
  if (req.has("ActionID")) r.add("ActionID", std::string(req.action_id()));
  r.append(extra);
  write(r);
}

void AmiServerSession::login(const ami::AmiMessage& m) {
  bool ok = false;
  if (m.get("Username") == config_.username) {
    if (iequals(m.get("AuthType"), "MD5")) {
      ok = !challenge_.empty() && iequals(m.get("Key"), md5_hex(challenge_ + config_.secret));
    } else {
      ok = m.get("Secret") == config_.secret;
    }
  }
  if (!ok) {
    error(m, "Authentication failed");
    closing_ = true;  // manager.c drops the session after a failed login
    close_reason_ = "authentication failed";
    return;
  }
  auto ev = m.get("Events");
  events_ = ev.empty() || !(iequals(ev, "off") || iequals(ev, "no") || ev == "0");
  logged_in_ = true;
  respond(m, "Success", {{"Message", "Authentication accepted"}});
  if (!events_) return;
  write(SimMessage({{"Event", "FullyBooted"}, {"Privilege", "system,all"}, {"Uptime", "6"}, {"LastReload", "6"},
                    {"Status", "Fully Booted"}}));
  std::string tv = base::format_rfc3339_ms(engine_.shown_now());  // "2026-11-22T21:25:53.093Z"
  tv = tv.substr(0, tv.size() - 1) + "+0000";
  SimMessage auth;
  auth.append({{"Event", "SuccessfulAuth"},
               {"Privilege", "security,all"},
               {"Timestamp", engine_.model().timestamp()},
               {"SystemName", engine_.model().config().system_name},
               {"EventTV", tv},
               {"Severity", "Informational"},
               {"Service", "AMI"},
               {"EventVersion", "1"},
               {"AccountID", config_.username},
               {"SessionID", "0x7f96580ab390"},
               {"LocalAddress", "IPV4/TCP/" + local_addr_},
               {"RemoteAddress", "IPV4/TCP/" + remote_addr_},
               {"UsingPassword", "0"},
               {"SessionTV", tv}});
  write(auth);
}

void AmiServerSession::list(const ami::AmiMessage& req, std::string_view start_message,
                            std::string_view complete_event, const std::vector<SimMessage>& items,
                            bool status_items) {
  respond(req, "Success", {{"EventList", "start"}, {"Message", std::string(start_message)}});
  for (const auto& it : items) write(it);
  SimMessage done;
  done.add("Event", std::string(complete_event));
  if (req.has("ActionID")) done.add("ActionID", std::string(req.action_id()));
  done.add("EventList", "Complete");
  done.add("ListItems", std::to_string(items.size()));
  if (status_items) done.add("Items", std::to_string(items.size()));
  write(done);
}

void AmiServerSession::handle(const ami::AmiMessage& m) {
  std::string_view action = m.get("Action");
  if (action.empty()) {
    error(m, "Missing action in request");
    return;
  }
  if (iequals(action, "Challenge")) {
    if (!iequals(m.get("AuthType"), "MD5")) {
      error(m, "Must specify AuthType");
      return;
    }
    rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL;
    challenge_ = std::to_string((rng_ >> 33) % 1000000000ULL);
    respond(m, "Success", {{"Challenge", challenge_}});
    return;
  }
  if (iequals(action, "Login")) {
    login(m);
    return;
  }
  if (iequals(action, "Logoff")) {
    respond(m, "Goodbye", {{"Message", "Thanks for all the fish."}});
    closing_ = true;
    close_reason_ = "logoff";
    return;
  }
  if (!logged_in_) {
    error(m, "Permission denied");
    return;
  }
  PbxModel& model = engine_.model();
  auto id_fields = [&m](SimMessage& s) {
    if (m.has("ActionID")) s.add("ActionID", std::string(m.action_id()));
  };
  if (iequals(action, "Events")) {  // manager.c action_events: EventMask on/off (class lists count as on)
    auto mask = m.get("EventMask");
    events_ = !(iequals(mask, "off") || iequals(mask, "no") || mask == "0" || mask.empty());
    respond(m, "Success", {{"Events", events_ ? "On" : "Off"}});
  } else if (iequals(action, "Ping")) {
    respond(m, "Success", {{"Ping", "Pong"}, {"Timestamp", model.timestamp()}});
  } else if (iequals(action, "Originate")) {
    action_originate(m);
  } else if (iequals(action, "Hangup")) {
    int cause = 16;
    auto cv = m.get("Cause");
    if (!cv.empty()) std::from_chars(cv.data(), cv.data() + cv.size(), cause);
    if (m.get("Channel").empty()) return error(m, "No channel specified");
    auto r = action_hangup(engine_, m.get("Channel"), cause);
    if (!r) return error(m, r.error().message());
    // Asterisk answers after the hang-up was requested; events follow from the engine.
    respond(m, "Success", {{"Message", "Channel Hungup"}});
  } else if (iequals(action, "PJSIPNotify")) {
    // res_pjsip_notify: each "Variable: Header=value" becomes a header of the NOTIFY; a phone
    // that accepts remote control acts on "Event" (action_phone_notify).
    auto endpoint = m.get("Endpoint");
    if (endpoint.empty()) return error(m, "PJSIPNotify requires either an endpoint name, a SIP URI, or a channel.");
    std::string_view event;
    for (auto v : m.get_all("Variable")) {
      auto eq = v.find('=');
      if (eq != std::string_view::npos && iequals(v.substr(0, eq), "Event")) event = v.substr(eq + 1);
    }
    if (event.empty()) return error(m, "PJSIPNotify requires variables");
    auto r = action_phone_notify(engine_, endpoint, event);
    if (!r) return error(m, r.error().message());
    respond(m, "Success", {{"Message", "NOTIFY sent"}});
  } else if (iequals(action, "Redirect") && model.config().callbridge_dialplan &&
             m.get("Context") == kHoldContext) {
    // callbridge.conf's [callbridge-hold] (flows.hpp): hold in the PBX, usually both channels.
    if (m.get("Channel").empty()) return error(m, "Channel not specified");
    auto extra = m.get("ExtraChannel");
    if (!extra.empty() && m.get("ExtraContext") != kHoldContext) return error(m, "Secondary redirect failed");
    auto ok = check_hold_redirect(engine_, m.get("Channel"), m.get("Exten"), extra, m.get("ExtraExten"));
    if (!ok) return error(m, ok.error().message());
    respond(m, "Success", {{"Message", extra.empty() ? "Redirect successful" : "Dual Redirect successful"}});
    action_hold_redirect(engine_, m.get("Channel"), m.get("Exten"), extra, m.get("ExtraExten"));
  } else if (iequals(action, "Setvar")) {
    // manager.c action_setvar: without Channel a global variable (kept, bounded), else the channel's.
    auto variable = m.get("Variable");
    if (variable.empty()) return error(m, "No variable specified");
    if (m.get("Channel").empty()) {
      if (variable.size() > kMaxVarText || m.get("Value").size() > kMaxVarText ||
          (model.global_vars.size() >= Channel::kMaxVars && !model.global_vars.contains(std::string(variable))))
        return error(m, "Variable not set");
      model.global_vars[std::string(variable)] = std::string(m.get("Value"));
      return respond(m, "Success", {{"Message", "Variable Set"}});
    }
    Channel* c = model.find_by_name(m.get("Channel"));
    if (!c) return error(m, "No such channel");
    if (variable.size() > kMaxVarText || m.get("Value").size() > kMaxVarText ||
        (c->vars.size() >= Channel::kMaxVars && !c->vars.contains(variable)))
      return error(m, "Variable not set");
    respond(m, "Success", {{"Message", "Variable Set"}});
    (void)action_setvar(engine_, m.get("Channel"), variable, m.get("Value"));
  } else if (iequals(action, "Bridge")) {
    // features.c action_bridge: answered once both channels are in the new bridge.
    if (m.get("Channel1").empty() || m.get("Channel2").empty()) return error(m, "Missing channel parameter in request");
    auto r = action_bridge(engine_, m.get("Channel1"), m.get("Channel2"));
    if (!r) return error(m, r.error().message());
    respond(m, "Success", {{"Message", "Channels have been bridged"}});
  } else if (iequals(action, "Redirect")) {
    if (m.get("Channel").empty()) return error(m, "Channel not specified");
    Channel* c = model.find_by_name(m.get("Channel"));
    if (!c) return error(m, "Channel not existent");
    if (!model.phone(m.get("Exten"))) return error(m, "Extension does not exist.");
    respond(m, "Success", {{"Message", "Redirect successful"}});
    (void)action_redirect(engine_, m.get("Channel"), m.get("Exten"));
  } else if (iequals(action, "BlindTransfer")) {
    Channel* c = model.find_by_name(m.get("Channel"));
    if (!c) return error(m, "No such channel");
    if (!model.phone(m.get("Exten")) || c->bridge.empty()) return error(m, "Transfer failed");
    respond(m, "Success", {{"Message", "Transfer succeeded"}});
    (void)action_blind_transfer(engine_, m.get("Channel"), m.get("Exten"));
  } else if (iequals(action, "Park")) {
    if (m.get("Channel").empty()) return error(m, "Channel not specified");
    if (!model.find_by_name(m.get("Channel")))
      return error(m, "Channel does not exist: " + std::string(m.get("Channel")));
    auto lot = m.get("Parkinglot");
    if (!lot.empty() && lot != "default") return error(m, "Parkinglot '" + std::string(lot) + "' does not exist");
    if (model.parked.size() >= 20) return error(m, "All parking spaces are in use");
    // The lab answers "Park successful" before the ParkedCall event.
    respond(m, "Success", {{"Message", "Park successful"}});
    (void)action_park(engine_, m.get("Channel"), m.get("TimeoutChannel"), lot);
  } else if (iequals(action, "ParkedCalls")) {
    // res_parking manager_parking_status: a ParkedCall item per parked channel, then the count.
    std::vector<SimMessage> items;
    for (const auto& [space, p] : model.parked) {
      const Channel* c = model.find(p.uniqueid);
      if (!c) continue;
      SimMessage item;
      item.add("Event", "ParkedCall");
      for (auto& [k, v] : model.snapshot(*c, "Parkee")) item.add(k, v);
      const auto dur = std::chrono::duration_cast<std::chrono::seconds>(model.clock().now() - p.since).count();
      item.add("ParkerDialString", p.parker_dial_string);
      item.add("Parkinglot", "default");
      item.add("ParkingSpace", space);
      item.add("ParkingTimeout", std::to_string(std::max<std::int64_t>(0, 45 - dur)));
      item.add("ParkingDuration", std::to_string(dur));
      id_fields(item);  // last, as res_parking writes it
      items.push_back(std::move(item));
    }
    list(m, "Parked calls will follow", "ParkedCallsComplete", items);
  } else if (iequals(action, "Atxfer")) {
    Channel* c = model.find_by_name(m.get("Channel"));
    if (!c) return error(m, "No such channel");
    if (!model.phone(m.get("Exten")) || c->bridge.empty()) return error(m, "Atxfer failed");
    respond(m, "Success", {{"Message", "Atxfer successfully queued"}});
    (void)action_atxfer(engine_, m.get("Channel"), m.get("Exten"));
  } else if (iequals(action, "CoreShowChannels")) {
    std::vector<SimMessage> items;
    for (const auto& c : model.channels()) {
      SimMessage s;
      s.add("Event", "CoreShowChannel");
      id_fields(s);
      s.append(model.snapshot(c));
      s.append({{"Application", c.app},
                {"ApplicationData", c.app_data},
                {"Duration", hms(engine_.shown_now() - c.created)},
                {"BridgeId", c.bridge}});
      items.push_back(std::move(s));
    }
    list(m, "Channels will follow", "CoreShowChannelsComplete", items);
  } else if (iequals(action, "Status")) {
    action_status(m);
  } else if (iequals(action, "BridgeList")) {
    std::vector<SimMessage> items;
    for (const auto& b : model.bridges()) {
      SimMessage s;
      s.add("Event", "BridgeListItem");
      id_fields(s);
      s.append(model.bridge_snapshot(b));
      items.push_back(std::move(s));
    }
    list(m, "Bridge listing will follow", "BridgeListComplete", items);
  } else if (iequals(action, "DeviceStateList")) {
    std::vector<SimMessage> items;
    for (const auto& [dev, st] : model.devices()) {
      SimMessage s;
      s.add("Event", "DeviceStateChange");
      id_fields(s);
      s.append({{"Device", dev}, {"State", std::string(to_string(st))}});
      items.push_back(std::move(s));
    }
    list(m, "Device State Changes will follow", "DeviceStateListComplete", items);
  } else if (iequals(action, "ExtensionStateList")) {
    std::vector<SimMessage> items;
    for (const auto& p : model.config().phones) {
      DeviceState st = DeviceState::not_inuse;
      for (const auto& [dev, s] : model.devices()) {
        if (dev == "PJSIP/" + p.ext) st = s;
      }
      int hs = PbxModel::hint_status(st);
      SimMessage s;
      s.add("Event", "ExtensionStatus");
      id_fields(s);
      s.append({{"Exten", p.ext},
                {"Context", model.config().hint_context},
                {"Hint", "PJSIP/" + p.ext},
                {"Status", std::to_string(hs)},
                {"StatusText", std::string(PbxModel::hint_status_text(hs))}});
      items.push_back(std::move(s));
    }
    list(m, "Extension Statuses will follow", "ExtensionStateListComplete", items);
  } else if (iequals(action, "QueueStatus")) {
    action_queue_status(m);
  } else if (iequals(action, "GetConfig")) {
    // queues.conf as the lab's (tests/fixtures/asterisk-22/queues_config): the queue and its
    // wrapuptime (LabConfig::queue_wrapup_seconds, the lab's 0).
    if (m.get("Filename") != "queues.conf") return error(m, "Config file not found");
    const auto& cfg = engine_.model().config();
    Fields f{{"Category-000000", "general"}, {"Line-000000-000000", "persistentmembers=no"},
             {"Category-000001", cfg.queue}, {"Line-000001-000000", "strategy=ringall"},
             {"Line-000001-000001", "wrapuptime=" + std::to_string(cfg.queue_wrapup_seconds)}};
    int n = 2;
    for (const auto& ext : cfg.queue_members) {
      char key[32];
      std::snprintf(key, sizeof key, "Line-000001-%06d", n++);
      f.emplace_back(key, "member=PJSIP/" + ext);
    }
    respond(m, "Success", std::move(f));
  } else if (iequals(action, "QueueAdd") || iequals(action, "QueueRemove") || iequals(action, "QueuePause")) {
    // app_queue answers first, then reports the member (QueueMemberAdded/Removed/Pause).
    auto yes = [](std::string_view v) { return iequals(v, "true") || iequals(v, "yes") || v == "1"; };
    auto& model = engine_.model();
    const std::string reason(m.get("Reason"));
    std::string why;
    std::string ok;
    if (iequals(action, "QueueAdd")) {
      const auto* known = model.queue_agent(m.get("Interface").starts_with("PJSIP/") ? m.get("Interface").substr(6) : "");
      why = m.get("Queue") != model.config().queue ? "Unable to add interface to queue: No such queue"
            : known                                ? "Unable to add interface: Already there"
                                                   : "";
      ok = "Added interface to queue";
    } else if (iequals(action, "QueueRemove")) {
      const auto* known = model.queue_agent(m.get("Interface").starts_with("PJSIP/") ? m.get("Interface").substr(6) : "");
      why = m.get("Queue") != model.config().queue ? "Unable to remove interface from queue: No such queue"
            : !known                               ? "Unable to remove interface: Not there"
            : !known->dynamic                      ? "Member not dynamic"
                                                   : "";
      ok = "Removed interface from queue";
    } else {
      const auto* known = model.queue_agent(m.get("Interface").starts_with("PJSIP/") ? m.get("Interface").substr(6) : "");
      why = (!known || (!m.get("Queue").empty() && m.get("Queue") != model.config().queue)) ? "Interface not found" : "";
      ok = yes(m.get("Paused")) ? "Interface paused successfully" : "Interface unpaused successfully";
    }
    if (!why.empty()) return error(m, why);
    respond(m, "Success", {{"Message", ok}});
    if (iequals(action, "QueueAdd"))
      model.queue_add(m.get("Queue"), m.get("Interface"), std::string(m.get("MemberName")), yes(m.get("Paused")), reason);
    else if (iequals(action, "QueueRemove"))
      model.queue_remove(m.get("Queue"), m.get("Interface"));
    else
      model.queue_pause(m.get("Queue"), m.get("Interface"), yes(m.get("Paused")), reason);
  } else if (iequals(action, "PJSIPShowEndpoints")) {
    std::vector<SimMessage> items;
    std::vector<std::string> endpoints;
    for (const auto& p : model.config().phones) endpoints.push_back(p.ext);
    endpoints.push_back(model.config().trunk);
    for (const auto& ep : endpoints) {
      bool trunk = ep == model.config().trunk;
      int active = 0;
      for (const auto& c : model.channels()) active += c.device == "PJSIP/" + ep;
      DeviceState st = DeviceState::not_inuse;
      for (const auto& [dev, ds] : model.devices()) {
        if (dev == "PJSIP/" + ep) st = ds;
      }
      std::string text = st == DeviceState::busy      ? "Busy"
                         : st == DeviceState::inuse   ? "In use"
                         : st == DeviceState::ringing ? "Ringing"
                         : st == DeviceState::onhold  ? "On Hold"
                         : st == DeviceState::unavailable ? "Unavailable"
                                                      : "Not in use";
      SimMessage s;
      s.add("Event", "EndpointList");
      id_fields(s);
      s.append({{"ObjectType", "endpoint"},
                {"ObjectName", ep},
                {"Transport", ""},
                {"Aor", ep},
                {"Auths", trunk ? "" : ep + "-auth"},
                {"OutboundAuths", ""},
                {"Contacts", trunk                      ? ep + "/sip:127.0.0.1:5070,"
                             : !model.registered(ep) ? std::string()
                                                     : ep + "/sip:" + ep + "@127.0.0.1:" + sim_phone_port(*model.phone(ep)) + ","},
                {"DeviceState", text},
                {"ActiveChannels", std::to_string(active)}});
      items.push_back(std::move(s));
    }
    list(m, "A listing of Endpoints follows, presented as EndpointList events", "EndpointListComplete", items);
  } else if (iequals(action, "PJSIPShowContacts")) {
    std::vector<SimMessage> items;
    for (const auto& p : model.config().phones) {
      if (!model.registered(p.ext)) continue;
      std::string port = sim_phone_port(p);
      SimMessage s;
      s.add("Event", "ContactList");
      id_fields(s);
      s.append({{"ObjectType", "contact"},
                {"ObjectName", p.ext + ";@" + md5_hex(p.ext + "@sim")},
                {"ViaAddr", "127.0.0.1"},
                {"QualifyTimeout", "3.000000"},
                {"Qualify2xxOnly", "false"},
                {"CallId", "1-" + p.ext + "@127.0.0.1"},
                {"RegServer", model.config().system_name},
                {"PruneOnBoot", "no"},
                {"Path", ""},
                {"Endpoint", p.ext},
                {"ViaPort", port},
                {"AuthenticateQualify", "no"},
                {"Uri", "sip:" + p.ext + "@127.0.0.1:" + port},
                {"QualifyFrequency", "0"},
                {"UserAgent", sim_user_agent(p)},
                {"ExpirationTime", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(engine_.shown_now().time_since_epoch()).count() + 3600)},
                {"OutboundProxy", ""},
                {"Status", "NonQualified"},
                {"RoundtripUsec", "N/A"}});
      items.push_back(std::move(s));
    }
    list(m, "A listing of Contacts follows, presented as ContactList events", "ContactListComplete", items);
  } else if (iequals(action, "PJSIPShowEndpoint")) {
    action_show_endpoint(m);
  } else if (iequals(action, "ShowDialPlan")) {
    action_show_dialplan(m);
  } else if (iequals(action, "DBGet") || iequals(action, "DBPut") || iequals(action, "DBDel") ||
             iequals(action, "DBDelTree") || iequals(action, "DBGetTree")) {
    action_astdb(m);
  } else if (iequals(action, "CoreStatus")) {
    std::string tv = base::format_rfc3339_ms(engine_.shown_now());
    respond(m, "Success",
            {{"CoreStartupDate", tv.substr(0, 10)},
             {"CoreStartupTime", tv.substr(11, 8)},
             {"CoreReloadDate", tv.substr(0, 10)},
             {"CoreReloadTime", tv.substr(11, 8)},
             {"CoreCurrentCalls", std::to_string(model.channels().size())},
             {"CoreProcessedCalls", std::to_string(model.channels().size())}});
  } else {
    error(m, "Invalid/unknown command: " + std::string(action) + ". Use Action: ListCommands to show available commands.");
  }
}

// ShowDialPlan: the simulator's only listed dialplan context is callbridge.conf's [callbridge-version] (version 2)
// while LabConfig::callbridge_dialplan is on (the ListDialplan fields of pbx.c
// manager_show_dialplan_helper); any other context, or the include off: "Did not find context",
// as the lab's stock dialplan answers (tests/fixtures/asterisk-22/astdb).
void AmiServerSession::action_show_dialplan(const ami::AmiMessage& m) {
  std::string context(m.get("Context"));
  const bool ours = engine_.model().config().callbridge_dialplan && (context.empty() || context == "callbridge-version");
  if (!ours) return error(m, "Did not find context " + context);
  respond(m, "Success", {{"EventList", "start"}, {"Message", "DialPlan list will follow"}});
  SimMessage item;
  item.add("Event", "ListDialplan");
  if (m.has("ActionID")) item.add("ActionID", std::string(m.action_id()));
  item.append({{"Context", "callbridge-version"},
               {"Extension", "1"},
               {"Priority", "1"},
               {"Application", "NoOp"},
               {"AppData", "callbridge dialplan 2"},
               {"Registrar", "pbx_config"}});
  write(item);
  SimMessage done;
  done.add("Event", "ShowDialPlanComplete");
  if (m.has("ActionID")) done.add("ActionID", std::string(m.action_id()));
  done.append({{"EventList", "Complete"},
               {"ListItems", "1"},
               {"ListExtensions", "1"},
               {"ListPriorities", "1"},
               {"ListContexts", "1"}});
  write(done);
}

// res_astdb over AMI (manager.c action_dbput/dbget/dbdel/dbdeltree/dbgettree), with Asterisk 22's
// answers as tests/fixtures/asterisk-22/astdb recorded them. The flows read what is written here
// (callbridge.conf's keys: PbxModel::callbridge_setting).
void AmiServerSession::action_astdb(const ami::AmiMessage& m) {
  PbxModel& model = engine_.model();
  std::string_view action = m.get("Action");
  std::string_view family = m.get("Family"), key = m.get("Key");
  if (family.empty()) return error(m, "No family specified.");
  auto id_fields = [&](SimMessage& s) {
    if (m.has("ActionID")) s.add("ActionID", std::string(m.action_id()));
  };
  if (iequals(action, "DBGetTree")) {
    std::vector<SimMessage> items;
    std::string prefix = "/" + std::string(family) + "/" + (key.empty() ? std::string() : std::string(key) + "/");
    std::string exact = key.empty() ? std::string() : "/" + std::string(family) + "/" + std::string(key);
    for (auto it = model.astdb().lower_bound(exact.empty() ? prefix : exact); it != model.astdb().end(); ++it) {
      if (!it->first.starts_with(prefix) && it->first != exact) break;
      SimMessage s;
      s.add("Event", "DBGetTreeResponse");
      s.append({{"Key", it->first}, {"Val", it->second}});
      id_fields(s);
      items.push_back(std::move(s));
    }
    return list(m, "Result will follow", "DBGetTreeComplete", items);
  }
  if (iequals(action, "DBDelTree")) {
    if (model.db_del_tree(family, key) == 0) return error(m, "Database entry could not be deleted");
    return respond(m, "Success", {{"Message", "Key tree deleted successfully"}});
  }
  if (key.empty()) return error(m, "No key specified.");
  if (iequals(action, "DBGet")) {
    auto v = model.db_get(family, key);
    if (!v) return error(m, "Database entry not found");
    SimMessage s;
    s.add("Event", "DBGetResponse");
    s.append({{"Family", std::string(family)}, {"Key", std::string(key)}, {"Val", *v}});
    id_fields(s);
    return list(m, "Result will follow", "DBGetComplete", {s});
  }
  if (iequals(action, "DBPut")) {
    if (!model.db_put(family, key, m.get("Val"))) return error(m, "Failed to update entry");
    return respond(m, "Success", {{"Message", "Updated database successfully"}});
  }
  if (!model.db_del(family, key)) return error(m, "Database entry could not be deleted");
  respond(m, "Success", {{"Message", "Key deleted successfully"}});
}

// PJSIPShowEndpoint as Asterisk 22 answers it (tests/fixtures/asterisk-22/pjsip_show_endpoint): the
// endpoint, its AOR, its auth (with the password, as Asterisk sends it), one ContactStatusDetail
// per contact (the registration with its User-Agent, or the trunk's configured contact).
void AmiServerSession::action_show_endpoint(const ami::AmiMessage& m) {
  PbxModel& model = engine_.model();
  std::string ep(m.get("Endpoint"));
  if (ep.empty()) return error(m, "Endpoint parameter missing.");
  const bool trunk = ep == model.config().trunk;
  const Phone* p = model.phone(ep);
  if (!trunk && !p) return error(m, "Unable to retrieve endpoint " + ep);
  auto id_fields = [&](SimMessage& s) {
    if (m.has("ActionID")) s.add("ActionID", std::string(m.action_id()));
  };
  std::vector<SimMessage> items;
  SimMessage e;
  e.add("Event", "EndpointDetail");
  id_fields(e);
  e.append({{"ObjectType", "endpoint"},
            {"ObjectName", ep},
            {"Aors", ep},
            {"Auth", trunk ? "" : ep + "-auth"},
            {"Context", trunk ? "from-trunk" : "from-internal"},
            {"Callerid", p ? "\"" + p->name + "\" <" + ep + ">" : ""},
            {"DeviceState", "Not in use"},
            {"ActiveChannels", "0"}});
  items.push_back(std::move(e));
  const bool reg = p && model.registered(ep);
  const std::string uri = trunk ? "sip:127.0.0.1:5070" : "sip:" + ep + "@127.0.0.1:" + sim_phone_port(*p);
  SimMessage aor;
  aor.add("Event", "AorDetail");
  id_fields(aor);
  aor.append({{"ObjectType", "aor"},
              {"ObjectName", ep},
              {"MaxContacts", trunk ? "0" : "1"},
              {"Contacts", trunk || reg ? ep + "/" + uri : ""},
              {"TotalContacts", trunk || reg ? "1" : "0"},
              {"ContactsRegistered", reg ? "1" : "0"},
              {"EndpointName", ep}});
  items.push_back(std::move(aor));
  if (!trunk) {
    SimMessage a;
    a.add("Event", "AuthDetail");
    id_fields(a);
    a.append({{"ObjectType", "auth"},
              {"ObjectName", ep + "-auth"},
              {"Username", ep},
              {"AuthType", "userpass"},
              {"Password", "pw" + ep},
              {"EndpointName", ep}});
    items.push_back(std::move(a));
  }
  if (trunk || reg) {
    auto expire = std::chrono::duration_cast<std::chrono::seconds>(engine_.shown_now().time_since_epoch()).count() + 3600;
    SimMessage c;
    c.add("Event", "ContactStatusDetail");
    id_fields(c);
    c.append({{"AOR", ep},
              {"URI", uri},
              {"UserAgent", trunk ? "" : sim_user_agent(*p)},
              {"RegExpire", trunk ? "0" : std::to_string(expire)},
              {"ViaAddress", trunk ? "" : "127.0.0.1:" + sim_phone_port(*p)},
              {"CallID", trunk ? "" : "1-" + ep + "@127.0.0.1"},
              {"Status", "NonQualified"},
              {"RoundtripUsec", "N/A"},
              {"EndpointName", ep},
              {"ID", trunk ? ep + "@@" + md5_hex(uri) : ep + ";@" + md5_hex(ep + "@sim")}});
    items.push_back(std::move(c));
  }
  list(m, "Following are Events for each object associated with the Endpoint", "EndpointDetailComplete", items);
}

namespace {

// An Originate's Variable headers: "A=1" or "A=1,B=2" (manager.c splits on commas).
std::vector<std::pair<std::string, std::string>> originate_variables(const ami::AmiMessage& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto v : m.get_all("Variable")) {
    while (!v.empty()) {
      auto comma = v.find(',');
      auto one = v.substr(0, comma);
      if (auto eq = one.find('='); eq != std::string_view::npos && eq > 0 && out.size() < 64)
        out.emplace_back(std::string(one.substr(0, eq)), std::string(one.substr(eq + 1)));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

}  // namespace

void AmiServerSession::action_originate(const ami::AmiMessage& m) {
  std::string_view channel = m.get("Channel");
  if (channel.empty()) return error(m, "Channel not specified");
  if (!m.get("Application").empty()) {
    // ParkedCall (callbridge's unpark): the space is looked at once the phone answered, as
    // res_parking does.
    if (iequals(m.get("Application"), "ParkedCall")) {
      if (!channel.starts_with("PJSIP/") || !engine_.model().phone(channel.substr(6))) return error(m, "Originate failed");
      UnparkCall c;
      c.action_id = std::string(m.action_id());
      c.ext = std::string(channel.substr(6));
      c.data = std::string(m.get("Data"));
      auto comma = c.data.find(',');
      c.lot = comma == std::string::npos ? std::string("default") : c.data.substr(0, comma);
      c.space = comma == std::string::npos ? c.data : c.data.substr(comma + 1);
      auto [num, name] = parse_callerid(m.get("CallerID"));
      c.cid_num = num;
      c.cid_name = name;
      c.timeout = originate_timeout(m);
      respond(m, "Success", {{"Message", "Originate successfully queued"}});
      start_unpark(engine_, c);
      return;
    }
    // Bridge (callbridge moving a call to another device): the Data is looked at once the new
    // device answered, as app_bridge does.
    if (iequals(m.get("Application"), "Bridge")) {
      MoveCall c;
      c.action_id = std::string(m.action_id());
      if (channel.starts_with("Local/") && channel.find('@') != std::string_view::npos) {
        std::string_view rest = channel.substr(6);
        c.number = std::string(rest.substr(0, rest.find('@')));
        c.local_context = std::string(rest.substr(rest.find('@') + 1));
        if (auto slash = c.local_context.find('/'); slash != std::string::npos) c.local_context.resize(slash);
        c.ring = engine_.model().config().mobile_answer;
      } else if (channel.starts_with("PJSIP/") && engine_.model().phone(channel.substr(6))) {
        c.ext = std::string(channel.substr(6));
      } else {
        return error(m, "Originate failed");
      }
      c.target = std::string(m.get("Data"));
      auto [num, name] = parse_callerid(m.get("CallerID"));
      c.cid_num = num;
      c.cid_name = name;
      c.timeout = originate_timeout(m);
      c.variables = originate_variables(m);
      respond(m, "Success", {{"Message", "Originate successfully queued"}});
      start_move(engine_, c);
      return;
    }
    // Otherwise only PickupChan (callbridge's directed pickup); like Asterisk the Data is checked
    // once the picker's phone answered.
    if (!iequals(m.get("Application"), "PickupChan")) return error(m, "Originate with Application " +
                                                                      std::string(m.get("Application")) + " is not simulated");
    if (!channel.starts_with("PJSIP/") || !engine_.model().phone(channel.substr(6))) return error(m, "Originate failed");
    PickupCall c;
    c.action_id = std::string(m.action_id());
    c.ext = std::string(channel.substr(6));
    c.target = std::string(m.get("Data"));
    auto [num, name] = parse_callerid(m.get("CallerID"));
    c.cid_num = num;
    c.cid_name = name;
    c.timeout = originate_timeout(m);
    respond(m, "Success", {{"Message", "Originate successfully queued"}});
    start_pickup(engine_, c);
    return;
  }
  if (channel.starts_with("Local/") && channel.find('@') != std::string_view::npos) {
    // callbridge's AnyDevice make call: Local/<the device's number>@<context> rings the number
    // through the trunk first (a mobile: the lab's "mobiles" answer after mobile_answer).
    LocalOriginateCall c;
    c.action_id = std::string(m.action_id());
    std::string_view rest = channel.substr(6);
    c.number = std::string(rest.substr(0, rest.find('@')));
    c.local_context = std::string(rest.substr(rest.find('@') + 1));
    if (auto slash = c.local_context.find('/'); slash != std::string::npos) c.local_context.resize(slash);
    c.context = m.get("Context").empty() ? "default" : std::string(m.get("Context"));
    c.exten = m.get("Exten").empty() ? "s" : std::string(m.get("Exten"));
    auto [num, name] = parse_callerid(m.get("CallerID"));
    c.cid_num = num;
    c.cid_name = name;
    c.timeout = originate_timeout(m);
    c.ring = engine_.model().config().mobile_answer;
    c.variables = originate_variables(m);
    respond(m, "Success", {{"Message", "Originate successfully queued"}});
    start_local_originate(engine_, c);
    return;
  }
  if (!channel.starts_with("PJSIP/") || !engine_.model().phone(channel.substr(6))) {
    // No such endpoint. Like Asterisk: a synchronous Originate fails at once; an Async one is
    // queued and then reported as OriginateResponse Failure, Reason 0 (no channel).
    std::string_view async = m.get("Async");
    if (!(async == "true" || async == "yes" || async == "1")) return error(m, "Originate failed");
    respond(m, "Success", {{"Message", "Originate successfully queued"}});
    auto [num, name] = parse_callerid(m.get("CallerID"));
    engine_.model().emit("OriginateResponse", "call,all",
                         {{"ActionID", std::string(m.action_id())},
                          {"Response", "Failure"},
                          {"Channel", std::string(channel)},
                          {"Context", std::string(m.get("Context"))},
                          {"Exten", std::string(m.get("Exten"))},
                          {"Reason", "0"},
                          {"Uniqueid", "<null>"},
                          {"CallerIDNum", num.empty() ? "<unknown>" : num},
                          {"CallerIDName", name.empty() ? "<unknown>" : name}});
    return;
  }
  OriginateCall c;
  c.action_id = std::string(m.action_id());
  c.ext = std::string(channel.substr(6));
  c.context = m.get("Context").empty() ? "default" : std::string(m.get("Context"));
  c.exten = m.get("Exten").empty() ? "s" : std::string(m.get("Exten"));
  auto [num, name] = parse_callerid(m.get("CallerID"));
  c.cid_num = num;
  c.cid_name = name;
  c.timeout = originate_timeout(m);
  // Async or not, the simulator answers at once; with Async the result also arrives as
  // OriginateResponse, which is emitted either way.
  respond(m, "Success", {{"Message", "Originate successfully queued"}});
  start_originate(engine_, c);
}

void AmiServerSession::action_status(const ami::AmiMessage& m) {
  PbxModel& model = engine_.model();
  std::string_view only = m.get("Channel");
  std::vector<SimMessage> items;
  for (const auto& c : model.channels()) {
    if (!only.empty() && c.name != only) continue;
    SimMessage s;
    s.add("Event", "Status");
    s.add("Privilege", "Call");
    s.append(model.snapshot(c));
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(engine_.shown_now() - c.created).count();
    s.append({{"Type", "PJSIP"},
              {"DNID", c.dnid},
              {"EffectiveConnectedLineNum", c.conn_num.empty() ? "<unknown>" : c.conn_num},
              {"EffectiveConnectedLineName", c.conn_name.empty() ? "<unknown>" : c.conn_name},
              {"TimeToHangup", "0"},
              {"BridgeID", c.bridge},
              {"Application", c.app},
              {"Data", c.app_data},
              {"Nativeformats", "(ulaw)"},
              {"Readformat", "ulaw"},
              {"Readtrans", ""},
              {"Writeformat", "ulaw"},
              {"Writetrans", ""},
              {"Callgroup", "0"},
              {"Pickupgroup", "0"},
              {"Seconds", std::to_string(secs)}});
    if (m.has("ActionID")) s.add("ActionID", std::string(m.action_id()));
    items.push_back(std::move(s));
  }
  if (!only.empty() && items.empty()) return error(m, "No such channel");
  list(m, "Channel status will follow", "StatusComplete", items, /*status_items=*/true);
}

void AmiServerSession::action_queue_status(const ami::AmiMessage& m) {
  PbxModel& model = engine_.model();
  const auto& cfg = model.config();
  std::string_view only = m.get("Queue");
  std::vector<SimMessage> items;
  if (only.empty() || only == cfg.queue) {
    SimMessage p;
    p.append({{"Event", "QueueParams"},
              {"Queue", cfg.queue},
              {"Max", "0"},
              {"Strategy", "ringall"},
              {"Calls", std::to_string(model.queue_callers)},
              {"Holdtime", "0"},
              {"TalkTime", "0"},
              {"Completed", std::to_string(model.queue_completed)},
              {"Abandoned", std::to_string(model.queue_abandoned)},
              {"ServiceLevel", "0"},
              {"ServicelevelPerf", "0.0"},
              {"ServicelevelPerf2", "0.0"},
              {"Weight", "0"}});
    if (m.has("ActionID")) p.add("ActionID", std::string(m.action_id()));
    items.push_back(std::move(p));
    const auto& agents = model.queue_agents();
    for (auto it = agents.rbegin(); it != agents.rend(); ++it) {
      DeviceState st = DeviceState::not_inuse;
      for (const auto& [dev, s] : model.devices()) {
        if (dev == "PJSIP/" + it->ext) st = s;
      }
      auto stats = model.member_stats[it->ext];
      SimMessage q;
      q.append({{"Event", "QueueMember"},
                {"Queue", cfg.queue},
                {"Name", it->name},
                {"Location", "PJSIP/" + it->ext},
                {"StateInterface", "PJSIP/" + it->ext},
                {"Membership", it->dynamic ? "dynamic" : "static"},
                {"Penalty", "0"},
                {"CallsTaken", std::to_string(stats.calls_taken)},
                {"LastCall", std::to_string(stats.last_call)},
                {"LastPause", std::to_string(it->last_pause)},
                {"LoginTime", std::to_string(it->login_time)},
                {"InCall", "0"},
                {"Status", std::to_string(static_cast<int>(st))},
                {"Paused", it->paused ? "1" : "0"},
                {"PausedReason", it->paused ? it->reason : ""},
                {"Wrapuptime", "0"}});
      if (m.has("ActionID")) q.add("ActionID", std::string(m.action_id()));
      items.push_back(std::move(q));
    }
    int pos = 0;
    for (const auto& c : model.channels()) {
      if (c.app != "Queue" || c.state == ChanState::up) continue;
      SimMessage q;
      q.append({{"Event", "QueueEntry"},
                {"Queue", cfg.queue},
                {"Position", std::to_string(++pos)},
                {"Channel", c.name},
                {"Uniqueid", c.uniqueid},
                {"CallerIDNum", c.cid_num.empty() ? "unknown" : c.cid_num},
                {"CallerIDName", c.cid_name.empty() ? "unknown" : c.cid_name},
                {"ConnectedLineNum", c.conn_num.empty() ? "unknown" : c.conn_num},
                {"ConnectedLineName", c.conn_name.empty() ? "unknown" : c.conn_name},
                {"Wait", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(engine_.shown_now() - c.created).count())},
                {"Priority", "0"}});
      if (m.has("ActionID")) q.add("ActionID", std::string(m.action_id()));
      items.push_back(std::move(q));
    }
  }
  list(m, "Queue status will follow", "QueueStatusComplete", items);
}

}  // namespace callbridge::sim
