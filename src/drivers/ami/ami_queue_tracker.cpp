#include "drivers/ami/ami_queue_tracker.hpp"

#include <algorithm>
#include <charconv>

namespace callbridge::drivers::ami {

namespace {

constexpr std::size_t kMaxQueues = 1000;
constexpr std::size_t kMaxMembers = 2000;  // per queue
constexpr std::size_t kMaxCallers = 2000;  // per queue
constexpr std::size_t kMaxField = 256;

bool is_resync(const AmiMessage& m) { return m.action_id() == "resync-QueueStatus"; }

std::string field(const AmiMessage& m, std::string_view key) {
  auto v = m.get(key);
  return std::string(v.substr(0, kMaxField));
}

long long number(std::string_view s, long long fallback = 0) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : fallback;
}

std::optional<base::Timestamp> epoch(std::string_view s) {
  const long long v = number(s);
  if (v <= 0) return std::nullopt;
  return base::Timestamp(std::chrono::seconds(v));
}

// Caller id fields: Asterisk writes "<unknown>" for none.
std::string caller_field(const AmiMessage& m, std::string_view key) {
  auto v = m.get(key);
  if (v == "<unknown>") return {};
  return std::string(v.substr(0, kMaxField));
}

// "PJSIP/101" -> "101"; "Local/101@from-queue/n" -> "101"; "SIP/101" -> "101".
std::string endpoint_of(std::string_view interface) {
  auto slash = interface.find('/');
  if (slash == std::string_view::npos) return {};
  auto rest = interface.substr(slash + 1);
  return std::string(rest.substr(0, rest.find_first_of("@/-")));
}

std::int64_t day_of(base::Timestamp t) {
  return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}

void roll_day(model::Queue& q, base::Timestamp at) {
  if (day_of(q.day_start) == day_of(at)) return;
  q.day_start = std::chrono::floor<std::chrono::days>(at);
  q.answered_today = 0;
  q.abandoned_today = 0;
}

void renumber(model::Queue& q) {
  for (std::size_t i = 0; i < q.callers.size(); ++i) q.callers[i].position = static_cast<int>(i + 1);
}

void remove_caller(model::Queue& q, std::string_view channel, std::string_view uniqueid) {
  std::erase_if(q.callers, [&](const model::QueueCaller& c) {
    return (!channel.empty() && c.channel == channel) || (!uniqueid.empty() && c.uniqueid == uniqueid);
  });
  renumber(q);
}

model::QueueMember* find_member(model::Queue& q, std::string_view interface) {
  for (auto& m : q.members)
    if (m.interface == interface) return &m;
  return nullptr;
}

bool bad_text(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

}  // namespace

AmiQueueTracker::AmiQueueTracker(std::string pbx, std::function<bool(std::string_view)> is_party)
    : state_(std::move(pbx)), is_party_(std::move(is_party)) {}

model::Queue& AmiQueueTracker::edit(std::string_view queue) {
  auto it = work_.find(queue);
  if (it != work_.end()) return it->second;
  model::Queue q;
  if (const auto* known = state_.find(queue)) {
    q = *known;
  } else {
    q.name = std::string(queue);
    if (have_config_) {
      auto it = config_wrapup_.find(queue);
      q.wrapup_seconds = it == config_wrapup_.end() ? 0 : it->second;
    }
  }
  return work_.emplace(std::string(queue), std::move(q)).first->second;
}

// The counts the previous run kept for `q`, once, as soon as the queue is seen on that day (live
// events may come before the resync's QueueStatus lists it).
void AmiQueueTracker::add_kept_counts(model::Queue& q) {
  auto k = kept_.find(q.name);
  if (k == kept_.end() || k->second.counted || day_of(q.day_start) != kept_day_) return;
  q.answered_today += k->second.answered;
  q.abandoned_today += k->second.abandoned;
  k->second.counted = true;
}

void AmiQueueTracker::commit() {
  for (auto& [name, q] : work_) {
    add_kept_counts(q);
    if (!state_.find(name) && state_.size() >= kMaxQueues) continue;
    state_.put(std::move(q));
  }
  work_.clear();
}

void AmiQueueTracker::on_session_start(base::Timestamp) {
  resync_.clear();
  resyncing_ = false;
  ringing_for_.clear();
  // Ringing and waiting callers are the old session's: the resync's QueueStatus says what is left.
}

void AmiQueueTracker::member_report(const AmiMessage& m, model::Queue& q, bool from_status) {
  std::string interface = field(m, from_status ? "Location" : "Interface");
  if (interface.empty()) return;
  model::QueueMember* mem = find_member(q, interface);
  if (!mem) {
    if (q.members.size() >= kMaxMembers) return;
    model::QueueMember fresh;
    fresh.interface = interface;
    auto pos = std::lower_bound(q.members.begin(), q.members.end(), interface,
                                [](const model::QueueMember& a, const std::string& b) { return a.interface < b; });
    mem = &*q.members.insert(pos, std::move(fresh));
  }
  mem->name = field(m, from_status ? "Name" : "MemberName");
  std::string state_interface = field(m, "StateInterface");
  std::string ep = endpoint_of(state_interface.empty() ? interface : state_interface);
  if (ep.empty() || (is_party_ && !is_party_(ep))) ep = endpoint_of(interface);
  mem->device = (!ep.empty() && (!is_party_ || is_party_(ep))) ? ep : std::string();
  mem->membership = field(m, "Membership");
  mem->penalty = static_cast<int>(number(m.get("Penalty")));
  mem->calls_taken = static_cast<std::uint32_t>(std::max(0LL, number(m.get("CallsTaken"))));
  mem->last_call = epoch(m.get("LastCall"));
  mem->last_pause = epoch(m.get("LastPause"));
  mem->login_time = epoch(m.get("LoginTime"));
  mem->in_call = m.get("InCall") == "1";
  mem->status = static_cast<int>(number(m.get("Status")));
  mem->paused = m.get("Paused") == "1";
  mem->paused_reason = mem->paused ? field(m, "PausedReason") : std::string();
  mem->wrapup_seconds = static_cast<int>(std::max(0LL, number(m.get("Wrapuptime"))));
  if (mem->in_call) mem->ringing = false;
}

void AmiQueueTracker::on_message(const AmiMessage& m, base::Timestamp at) {
  const auto ev = m.event();
  if (ev.empty()) return;
  const bool resync = is_resync(m);
  if (resync) {
    // The resync's QueueStatus: a fresh picture of each queue, today's counts kept.
    if (ev == "QueueParams" || ev == "QueueMember" || ev == "QueueEntry") {
      std::string name = field(m, "Queue");
      if (name.empty()) return;
      auto it = resync_.find(name);
      if (it == resync_.end()) {
        if (resync_.size() >= kMaxQueues) return;
        model::Queue q;
        q.name = name;
        if (have_config_) {
          auto w = config_wrapup_.find(name);
          q.wrapup_seconds = w == config_wrapup_.end() ? 0 : w->second;
        }
        if (const auto* known = state_.find(name)) {
          q.answered_today = known->answered_today;
          q.abandoned_today = known->abandoned_today;
          q.day_start = known->day_start;
          q.wrapup_seconds = known->wrapup_seconds;
        }
        roll_day(q, at);
        it = resync_.emplace(name, std::move(q)).first;
      }
      auto& q = it->second;
      if (ev == "QueueParams") {
        q.strategy = field(m, "Strategy");
        q.max = static_cast<int>(number(m.get("Max")));
        q.pbx_completed = static_cast<std::uint32_t>(std::max(0LL, number(m.get("Completed"))));
        q.pbx_abandoned = static_cast<std::uint32_t>(std::max(0LL, number(m.get("Abandoned"))));
        q.holdtime = static_cast<int>(number(m.get("Holdtime")));
        q.talktime = static_cast<int>(number(m.get("TalkTime")));
      } else if (ev == "QueueMember") {
        member_report(m, q, true);
      } else if (q.callers.size() < kMaxCallers) {
        model::QueueCaller c;
        c.channel = field(m, "Channel");
        c.uniqueid = field(m, "Uniqueid");
        c.linkedid = field(m, "Linkedid");
        c.number = caller_field(m, "CallerIDNum");
        c.name = caller_field(m, "CallerIDName");
        c.position = static_cast<int>(number(m.get("Position")));
        c.joined = at - std::chrono::seconds(std::max(0LL, number(m.get("Wait"))));
        q.callers.push_back(std::move(c));
      }
      resyncing_ = true;
      return;
    }
    if (ev == "QueueStatusComplete") {
      for (auto& [name, q] : resync_) {
        std::stable_sort(q.callers.begin(), q.callers.end(),
                         [](const auto& a, const auto& b) { return a.position < b.position; });
        renumber(q);
        pbx_now_[name] = PbxCounts{q.pbx_completed, q.pbx_abandoned};
        // The previous run's counts of today, and what the PBX counted while nobody listened.
        add_kept_counts(q);
        if (auto k = kept_.find(name); k != kept_.end() && day_of(q.day_start) == kept_day_) {
          const Kept& kept = k->second;
          if (q.pbx_completed >= kept.pbx.completed && q.pbx_abandoned >= kept.pbx.abandoned) {
            const std::uint32_t done = q.pbx_completed - kept.pbx.completed;
            q.answered_today += done > kept.in_call ? done - kept.in_call : 0;
            q.abandoned_today += q.pbx_abandoned - kept.pbx.abandoned;
          }  // else the PBX restarted meanwhile: its counters began again, nothing to learn from them
        }
        state_.put(std::move(q));
      }
      kept_.clear();
      std::vector<std::string> gone;
      for (const auto& [name, q] : state_.queues())
        if (!resync_.contains(name)) gone.push_back(name);
      for (const auto& n : gone) {
        state_.erase(n);
        pbx_now_.erase(n);
      }
      resync_.clear();
      resyncing_ = false;
      save_today();
      return;
    }
    return;
  }

  if (!ev.starts_with("Queue") && !ev.starts_with("Agent")) return;
  const std::string name = field(m, "Queue");
  if (name.empty()) return;
  if (ev == "QueueCallerJoin") {
    auto& q = edit(name);
    roll_day(q, at);
    model::QueueCaller c;
    c.channel = field(m, "Channel");
    c.uniqueid = field(m, "Uniqueid");
    c.linkedid = field(m, "Linkedid");
    c.number = caller_field(m, "CallerIDNum");
    c.name = caller_field(m, "CallerIDName");
    c.joined = at;
    remove_caller(q, c.channel, c.uniqueid);  // a repeated report replaces the caller
    if (q.callers.size() < kMaxCallers) {
      const auto pos = static_cast<std::size_t>(std::max(1LL, number(m.get("Position"), 1)));
      const auto idx = std::min(pos - 1, q.callers.size());
      q.callers.insert(q.callers.begin() + static_cast<std::ptrdiff_t>(idx), std::move(c));
    }
    renumber(q);
  } else if (ev == "QueueCallerLeave") {
    auto& q = edit(name);
    const auto uid = m.get("Uniqueid");
    remove_caller(q, m.get("Channel"), uid);
    // Agents still ringing for this caller stop ringing with it (not those ringing for another).
    for (auto& mem : q.members) {
      auto it = ringing_for_.find(name + '\n' + mem.interface);
      if (it == ringing_for_.end() || it->second != uid) continue;
      mem.ringing = false;
      ringing_for_.erase(it);
    }
  } else if (ev == "QueueCallerAbandon") {
    auto& q = edit(name);
    roll_day(q, at);
    ++q.abandoned_today;
    if (auto it = pbx_now_.find(name); it != pbx_now_.end()) ++it->second.abandoned;
    commit();
    return save_today();
  } else if (ev == "QueueMemberStatus" || ev == "QueueMemberAdded" || ev == "QueueMemberPause" ||
             ev == "QueueMemberPenalty" || ev == "QueueMemberRinginuse") {
    member_report(m, edit(name), false);
  } else if (ev == "QueueMemberRemoved") {
    auto& q = edit(name);
    const auto interface = m.get("Interface");
    std::erase_if(q.members, [&](const model::QueueMember& x) { return x.interface == interface; });
  } else if (ev == "AgentCalled" || ev == "AgentConnect" || ev == "AgentComplete" || ev == "AgentRingNoAnswer" ||
             ev == "AgentDump") {
    auto& q = edit(name);
    roll_day(q, at);
    auto* mem = find_member(q, m.get("Interface"));
    if (ev == "AgentConnect") ++q.answered_today;
    if (!mem && (ev == "AgentConnect" || ev == "AgentComplete")) {
      if (auto it = pbx_now_.find(name); it != pbx_now_.end() && ev == "AgentComplete") ++it->second.completed;
      commit();
      return save_today();
    }
    if (!mem && ev == "AgentCalled" && !m.get("Interface").empty() && q.members.size() < kMaxMembers) {
      // Called before any member report of this session (no QueueStatus yet): known from here on.
      model::QueueMember fresh;
      fresh.interface = field(m, "Interface");
      fresh.name = field(m, "MemberName");
      std::string ep = endpoint_of(fresh.interface);
      if (!is_party_ || is_party_(ep)) fresh.device = ep;
      auto pos = std::lower_bound(q.members.begin(), q.members.end(), fresh.interface,
                                  [](const model::QueueMember& a, const std::string& b) { return a.interface < b; });
      mem = &*q.members.insert(pos, std::move(fresh));
    }
    if (!mem) return commit();
    const std::string key = name + '\n' + mem->interface;
    if (ev == "AgentCalled") {
      mem->ringing = true;
      if (ringing_for_.size() < kMaxQueues * 16) ringing_for_[key] = field(m, "Uniqueid");
      return commit();
    }
    ringing_for_.erase(key);
    if (ev == "AgentConnect") {
      mem->ringing = false;
      mem->in_call = true;
      commit();
      return save_today();
    } else if (ev == "AgentComplete") {
      mem->in_call = false;
      mem->last_call = std::chrono::time_point_cast<std::chrono::seconds>(at);
      if (auto it = pbx_now_.find(name); it != pbx_now_.end()) ++it->second.completed;
      commit();
      return save_today();
    } else {
      mem->ringing = false;
    }
  } else {
    return;
  }
  commit();
}

// The row: "queues-today=<UTC day number>\n" then per queue of that day
// "<name>\t<answered>\t<abandoned>\t<pbx completed>\t<pbx abandoned>\t<agents in a call>\n".
void AmiQueueTracker::save_today() {
  // Nothing before the first resync applied what the previous run kept (it would overwrite it).
  if (!put_today_ || state_.size() == 0 || !kept_.empty()) return;
  std::int64_t day = 0;
  for (const auto& [name, q] : state_.queues()) day = std::max(day, day_of(q.day_start));
  std::string text(kTodayStatePrefix);
  text += std::to_string(day) + "\n";
  for (const auto& [name, q] : state_.queues()) {
    if (day_of(q.day_start) != day || name.find_first_of("\t\n") != std::string::npos) continue;
    auto pbx = pbx_now_.find(name);
    std::uint32_t in_call = 0;
    for (const auto& mem : q.members) in_call += mem.in_call ? 1 : 0;
    text += name + "\t" + std::to_string(q.answered_today) + "\t" + std::to_string(q.abandoned_today) + "\t" +
            std::to_string(pbx == pbx_now_.end() ? q.pbx_completed : pbx->second.completed) + "\t" +
            std::to_string(pbx == pbx_now_.end() ? q.pbx_abandoned : pbx->second.abandoned) + "\t" +
            std::to_string(in_call) + "\n";
  }
  if (text == last_saved_) return;
  last_saved_ = text;
  put_today_(std::move(text));
}

bool AmiQueueTracker::restore_today(std::string_view text) {
  if (!text.starts_with(kTodayStatePrefix)) return false;
  text.remove_prefix(kTodayStatePrefix.size());
  auto line_end = text.find('\n');
  if (line_end == std::string_view::npos) return false;
  const long long day = number(text.substr(0, line_end), -1);
  if (day < 0) return false;
  std::map<std::string, Kept, std::less<>> kept;
  text.remove_prefix(line_end + 1);
  while (!text.empty() && kept.size() < kMaxQueues) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    std::vector<std::string_view> f;
    for (std::size_t at = 0; f.size() < 7;) {
      auto tab = line.find('\t', at);
      f.push_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
      if (tab == std::string_view::npos) break;
      at = tab + 1;
    }
    if (f.size() != 6 || f[0].empty() || f[0].size() > kMaxField) continue;
    auto count = [](std::string_view v) { return static_cast<std::uint32_t>(std::clamp(number(v, 0), 0LL, 0xffffffffLL)); };
    kept[std::string(f[0])] = Kept{count(f[1]), count(f[2]), PbxCounts{count(f[3]), count(f[4])}, count(f[5]), false};
  }
  kept_day_ = day;
  kept_ = std::move(kept);
  last_saved_.clear();
  return true;
}

void AmiQueueTracker::on_config(const AmiResponse& r) {
  if (!r.success()) return;
  // "Category-000001: support", then "Line-000001-000003: wrapuptime=30" for its lines.
  std::map<std::string, std::string, std::less<>> category;  // number -> name
  std::map<std::string, int, std::less<>> wrapup;             // queue -> seconds
  const AmiMessage m = r.response.view();
  for (const auto& h : m.headers()) {
    if (h.key.starts_with("Category-")) {
      if (category.size() < kMaxQueues) category[std::string(h.key.substr(9))] = std::string(h.value.substr(0, kMaxField));
      continue;
    }
    if (!h.key.starts_with("Line-")) continue;
    auto rest = h.key.substr(5);
    auto dash = rest.find('-');
    if (dash == std::string_view::npos) continue;
    auto cat = category.find(rest.substr(0, dash));
    if (cat == category.end() || cat->second == "general") continue;
    auto eq = h.value.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = h.value.substr(0, eq);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key != "wrapuptime") continue;
    auto v = h.value.substr(eq + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '>')) v.remove_prefix(1);
    const long long secs = number(v, -1);
    if (secs >= 0 && secs <= 86400) wrapup[cat->second] = static_cast<int>(secs);
  }
  // A queue without the setting has app_queue's default, 0.
  for (const auto& [name, q] : state_.queues()) {
    auto it = wrapup.find(name);
    const int secs = it == wrapup.end() ? 0 : it->second;
    if (q.wrapup_seconds == secs) continue;
    model::Queue copy = q;
    copy.wrapup_seconds = secs;
    state_.put(std::move(copy));
  }
  config_wrapup_ = std::move(wrapup);
  have_config_ = true;
}

base::Result<AmiAction> AmiQueueTracker::action_for(const ports::QueueMemberRequest& r) const {
  using Op = ports::QueueMemberRequest::Op;
  const auto* q = state_.find(r.queue);
  if (!q) return base::fail(base::Error::not_found("no queue '" + r.queue + "' on this PBX"));
  if (r.device.empty() || r.device.size() > 64 || bad_text(r.device) ||
      r.device.find_first_of("/@,;") != std::string::npos)
    return base::fail(base::Error::invalid_argument("bad device '" + r.device + "'"));
  if (r.reason.size() > 128 || bad_text(r.reason) || bad_text(r.member_name) || r.member_name.size() > 128)
    return base::fail(base::Error::invalid_argument("reason or member name with control characters or too long"));
  const auto* mem = q->member_by_device(r.device);
  if (r.op == Op::add) {
    if (mem) return base::fail(base::Error::conflict(r.device + " is already logged in to " + r.queue));
    const std::string interface = "PJSIP/" + r.device;
    AmiAction a("QueueAdd");
    a.set("Queue", r.queue).set("Interface", interface).set("StateInterface", interface);
    a.set("Paused", r.paused ? "true" : "false");
    if (!r.member_name.empty()) a.set("MemberName", r.member_name);
    if (r.paused && !r.reason.empty()) a.set("Reason", r.reason);
    return a;
  }
  if (!mem) return base::fail(base::Error::not_found(r.device + " is not a member of " + r.queue));
  if (r.op == Op::remove) {
    AmiAction a("QueueRemove");
    a.set("Queue", r.queue).set("Interface", mem->interface);
    return a;
  }
  AmiAction a("QueuePause");
  a.set("Queue", r.queue).set("Interface", mem->interface).set("Paused", r.op == Op::pause ? "true" : "false");
  if (r.op == Op::pause && !r.reason.empty()) a.set("Reason", r.reason);
  return a;
}

}  // namespace callbridge::drivers::ami
