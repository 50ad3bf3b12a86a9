#include "drivers/ami/ami_features.hpp"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

namespace callbridge::drivers::ami {

using ports::FollowMeMode;
using ports::LineFeatures;

namespace {

constexpr std::string_view kKeys[] = {"dnd", "cfu", "cfb", "cfnr", "cfnrtime", "followme", "fmmode", "fmdesk"};

std::optional<int> seconds_of(std::string_view v, int lo, int hi) {
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

std::optional<FollowMeMode> mode_of(std::string_view v) {
  for (auto m : {FollowMeMode::parallel, FollowMeMode::sequential, FollowMeMode::device})
    if (v == ports::to_string(m)) return m;
  return std::nullopt;
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

}  // namespace

std::vector<AstDbKey> astdb_keys(std::string_view line, const LineFeatures& f) {
  std::string l(line);
  auto key = [&](std::string_view k) { return std::string(k) + "/" + l; };
  const bool cfnr = f.no_answer.has_value();
  const bool fm = f.follow_me.has_value();
  return {
      {key("dnd"), f.dnd ? "1" : ""},
      {key("cfu"), f.unconditional.value_or("")},
      {key("cfb"), f.busy.value_or("")},
      {key("cfnr"), f.no_answer.value_or("")},
      {key("cfnrtime"), cfnr ? std::to_string(f.no_answer_seconds) : ""},
      {key("followme"), f.follow_me.value_or("")},
      {key("fmmode"), fm ? std::string(ports::to_string(f.follow_me_mode)) : ""},
      {key("fmdesk"), fm && f.follow_me_mode == FollowMeMode::sequential ? std::to_string(f.desk_seconds) : ""},
  };
}

std::vector<AmiAction> astdb_writes(std::string_view line, const LineFeatures& from, const LineFeatures& to) {
  auto before = astdb_keys(line, from);
  auto after = astdb_keys(line, to);
  std::vector<AmiAction> out;
  for (std::size_t i = 0; i < after.size(); ++i) {
    if (before[i] == after[i]) continue;
    if (after[i].value.empty()) {
      out.push_back(AmiAction("DBDel").set("Family", std::string(kAstDbFamily)).set("Key", after[i].key));
    } else {
      out.push_back(AmiAction("DBPut")
                        .set("Family", std::string(kAstDbFamily))
                        .set("Key", after[i].key)
                        .set("Val", after[i].value));
    }
  }
  return out;
}

bool apply_astdb_entry(std::map<std::string, LineFeatures, std::less<>>& lines, std::string_view key,
                       std::string_view value) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view what = key.substr(0, slash), line = key.substr(slash + 1);
  if (!ports::valid_feature_line(line) || std::find(std::begin(kKeys), std::end(kKeys), what) == std::end(kKeys))
    return false;
  // Check the value before creating the line: a bad value leaves no empty entry behind.
  const bool dest = what == "cfu" || what == "cfb" || what == "cfnr" || what == "followme";
  if (dest && !ports::dialable_destination(value)) return false;
  std::optional<int> secs;
  if (what == "cfnrtime") {
    secs = seconds_of(value, LineFeatures::kMinNoAnswerSeconds, LineFeatures::kMaxNoAnswerSeconds);
    if (!secs) return false;
  } else if (what == "fmdesk") {
    secs = seconds_of(value, LineFeatures::kMinNoAnswerSeconds, LineFeatures::kMaxNoAnswerSeconds);
    if (!secs) return false;
  }
  auto mode = what == "fmmode" ? mode_of(value) : std::nullopt;
  if (what == "fmmode" && !mode) return false;
  if (what == "dnd" && value != "1") return false;
  auto it = lines.find(line);
  if (it == lines.end()) it = lines.emplace(std::string(line), LineFeatures{}).first;
  LineFeatures& f = it->second;
  if (what == "dnd") f.dnd = true;
  else if (what == "cfu") f.unconditional = std::string(value);
  else if (what == "cfb") f.busy = std::string(value);
  else if (what == "cfnr") f.no_answer = std::string(value);
  else if (what == "cfnrtime") f.no_answer_seconds = *secs;
  else if (what == "followme") f.follow_me = std::string(value);
  else if (what == "fmmode") f.follow_me_mode = *mode;
  else if (what == "fmdesk") f.desk_seconds = *secs;
  return true;
}

base::Result<std::map<std::string, LineFeatures, std::less<>>> parse_astdb_tree(const AmiResponse& r) {
  if (!r.success())
    return base::fail(base::Error::conflict("DBGetTree refused: " + std::string(r.message().substr(0, 200))));
  std::map<std::string, LineFeatures, std::less<>> lines;
  const std::string prefix = "/" + std::string(kAstDbFamily) + "/";
  for (const auto& item : r.items) {
    auto m = item.view();
    if (m.event() != "DBGetTreeResponse") continue;
    std::string_view key = m.get("Key");
    if (!key.starts_with(prefix)) continue;
    key.remove_prefix(prefix.size());
    if (!apply_astdb_entry(lines, key, m.get("Val")))
      spdlog::debug("AstDB {}{}: not a callbridge key or value, ignored", prefix, key.substr(0, 80));
    if (lines.size() > kMaxFeatureLines)
      return base::fail(base::Error::protocol("AstDB family callbridge holds more than " +
                                              std::to_string(kMaxFeatureLines) + " lines"));
  }
  // Features that are only a leftover part (a no-answer time without a destination) read as off.
  for (auto it = lines.begin(); it != lines.end();) {
    if (!it->second.no_answer) it->second.no_answer_seconds = LineFeatures::kDefaultNoAnswerSeconds;
    if (!it->second.follow_me) {
      it->second.follow_me_mode = FollowMeMode::parallel;
      it->second.desk_seconds = LineFeatures::kDefaultDeskSeconds;
    }
    it = it->second.any() ? std::next(it) : lines.erase(it);
  }
  return lines;
}

base::Result<std::optional<std::string>> parse_astdb_get(const AmiResponse& r) {
  if (!r.success()) {
    // manager.c action_dbget: "Database entry not found" when the key is not there.
    if (contains(r.message(), "not found")) return std::optional<std::string>{};
    return base::fail(base::Error::conflict("DBGet refused: " + std::string(r.message().substr(0, 200))));
  }
  for (const auto& item : r.items) {
    auto m = item.view();
    if (m.event() == "DBGetResponse") return std::optional<std::string>(std::string(m.get("Val")));
  }
  return base::fail(base::Error::protocol("DBGet answered without a DBGetResponse"));
}

int parse_dialplan_version(const AmiResponse& r) {
  if (!r.success()) return 0;
  // [callbridge-version] exten => 1,1,NoOp(callbridge dialplan N)
  int best = 0;
  for (const auto& item : r.items) {
    auto m = item.view();
    if (m.event() != "ListDialplan") continue;
    std::string_view data = m.get("AppData");
    constexpr std::string_view kTag = "callbridge dialplan ";
    auto at = data.find(kTag);
    if (at == std::string_view::npos) continue;
    data.remove_prefix(at + kTag.size());
    int v = 0;
    auto [p, ec] = std::from_chars(data.data(), data.data() + data.size(), v);
    (void)p;
    if (ec == std::errc() && v > best) best = v;
  }
  return best;
}

// One set_line in progress: its actions, sent one after another.
struct AmiFeatures::Write {
  std::string line;
  LineFeatures target;
  std::vector<AmiAction> actions;
  std::vector<AstDbKey> keys;  // the key each action writes, same order
  std::size_t next = 0;
  std::uint64_t epoch = 0;
  ports::CommandDone done;
};

AmiFeatures::AmiFeatures(std::string pbx, Submit submit, std::function<void(std::vector<std::string>)> changed)
    : pbx_(std::move(pbx)), submit_(std::move(submit)), changed_(std::move(changed)) {}

AmiFeatures::~AmiFeatures() { *alive_ = false; }

void AmiFeatures::publish(std::vector<std::string> lines) {
  if (changed_) changed_(std::move(lines));
}

void AmiFeatures::on_session_end() {
  ++epoch_;
  if (phase_ == Phase::down) return;
  phase_ = Phase::down;
  publish({});
}

void AmiFeatures::on_session_ready() {
  const std::uint64_t epoch = ++epoch_;
  phase_ = Phase::checking;
  read_error_.clear();
  std::weak_ptr<bool> alive = alive_;
  AmiAction show("ShowDialPlan");
  show.set("Context", std::string(kDialplanVersionContext));
  auto id = submit_(std::move(show), [this, alive, epoch](base::Result<AmiResponse> r) {
    if (alive.expired() || epoch != epoch_) return;
    if (!r) {  // no answer: the session is going away, the next one checks again
      read_error_ = r.error().message();
      phase_ = Phase::down;
      return publish({});
    }
    version_ = parse_dialplan_version(*r);
    if (version_ < kDialplanVersion) {
      phase_ = Phase::missing;
      spdlog::warn(
          "pbx {}: {} (ShowDialPlan Context: {}: {}). DND, forwarding and follow-me are unavailable. Fix: copy "
          "contrib/asterisk/callbridge.conf to /etc/asterisk/, add '#include callbridge.conf' to extensions.conf, "
          "call Gosub(callbridge-dial,s,1(EXT,TIMEOUT)) in place of Dial(PJSIP/EXT,TIMEOUT) for the extensions, "
          "then 'dialplan reload'; callbridged checks again at the next AMI login",
          pbx_, kMissingDialplan, kDialplanVersionContext,
          r->success() ? "version " + std::to_string(version_) + ", needs " + std::to_string(kDialplanVersion)
                       : std::string(r->message().substr(0, 120)));
    } else {
      phase_ = Phase::reading;
      if (version_ < kHoldDialplanVersion)
        spdlog::warn("pbx {}: callbridge dialplan version {}: hold of calls on users' external devices (AnyDevice) "
                     "needs version {} ([callbridge-hold]). Fix: copy the current contrib/asterisk/callbridge.conf "
                     "to /etc/asterisk/ and 'dialplan reload'",
                     pbx_, version_, kHoldDialplanVersion);
    }
    // The keys are read either way: lines set before the include went missing still show.
    AmiAction tree("DBGetTree");
    tree.set("Family", std::string(kAstDbFamily));
    auto id2 = submit_(std::move(tree), [this, alive, epoch](base::Result<AmiResponse> t) {
      if (alive.expired() || epoch != epoch_) return;
      base::Result<std::map<std::string, LineFeatures, std::less<>>> lines =
          t ? parse_astdb_tree(*t) : base::fail(t.error());
      if (!lines) {
        read_error_ = lines.error().message();
        spdlog::warn("pbx {}: reading DND/forwarding state (DBGetTree Family: {}): {}", pbx_, kAstDbFamily,
                     read_error_);
        if (phase_ == Phase::reading) phase_ = Phase::down;
        return publish({});
      }
      std::vector<std::string> changed;
      for (const auto& [l, f] : lines_)
        if (auto it = lines->find(l); it == lines->end() || it->second != f) changed.push_back(l);
      for (const auto& [l, f] : *lines)
        if (!lines_.contains(l)) changed.push_back(l);
      std::sort(changed.begin(), changed.end());
      lines_ = std::move(*lines);
      if (phase_ == Phase::reading) phase_ = Phase::ready;
      spdlog::info("pbx {}: callbridge dialplan {}; DND/forwarding/follow-me set on {} line(s)", pbx_,
                   phase_ == Phase::ready ? "version " + std::to_string(version_) : "missing", lines_.size());
      publish(std::move(changed));  // also when empty: ready() changed
    });
    if (!id2) {
      read_error_ = id2.error().message();
      phase_ = Phase::down;
      publish({});
    }
  });
  if (!id) {
    read_error_ = id.error().message();
    phase_ = Phase::down;
  }
}

base::Status AmiFeatures::ready() const {
  switch (phase_) {
    case Phase::ready: return {};
    case Phase::missing: return base::fail(base::Error::unavailable(std::string(kMissingDialplan)));
    case Phase::checking:
    case Phase::reading:
      return base::fail(base::Error::unavailable("the PBX's DND and forwarding state is being read; try again"));
    case Phase::down: break;
  }
  return base::fail(base::Error::unavailable(
      read_error_.empty() ? "the PBX link is down" : "the PBX's DND and forwarding state is unknown: " + read_error_));
}

LineFeatures AmiFeatures::line(std::string_view line) const {
  auto it = lines_.find(line);
  return it == lines_.end() ? LineFeatures{} : it->second;
}

void AmiFeatures::set_line(const std::string& line, const LineFeatures& features, ports::CommandDone done) {
  if (auto st = ready(); !st) return done(st);
  if (!ports::valid_feature_line(line))
    return done(base::fail(base::Error::invalid_argument("'" + line.substr(0, 40) + "' is not a line")));
  for (const auto* d : {&features.unconditional, &features.busy, &features.no_answer, &features.follow_me})
    if (*d && !ports::dialable_destination(**d))
      return done(base::fail(base::Error::invalid_argument("'" + d->value().substr(0, 40) +
                                                           "' is not a dialable destination (digits, an optional "
                                                           "leading '+')")));
  if (features.no_answer_seconds < LineFeatures::kMinNoAnswerSeconds ||
      features.no_answer_seconds > LineFeatures::kMaxNoAnswerSeconds ||
      features.desk_seconds < LineFeatures::kMinNoAnswerSeconds ||
      features.desk_seconds > LineFeatures::kMaxNoAnswerSeconds)
    return done(base::fail(base::Error::invalid_argument(
        "ring times must be " + std::to_string(LineFeatures::kMinNoAnswerSeconds) + ".." +
        std::to_string(LineFeatures::kMaxNoAnswerSeconds) + " seconds")));
  if (!lines_.contains(line) && lines_.size() >= kMaxFeatureLines && features.any())
    return done(base::fail(base::Error::conflict("too many lines with features on this PBX")));
  auto w = std::make_shared<Write>();
  w->line = line;
  w->target = features;
  const LineFeatures from = this->line(line);
  w->actions = astdb_writes(line, from, features);
  auto before = astdb_keys(line, from), after = astdb_keys(line, features);
  for (std::size_t i = 0; i < after.size(); ++i)
    if (before[i] != after[i]) w->keys.push_back(after[i]);
  w->epoch = epoch_;
  w->done = std::move(done);
  run(std::move(w));
}

void AmiFeatures::run(std::shared_ptr<Write> w) {
  if (w->next == w->actions.size()) {
    if (w->target.any()) lines_[w->line] = w->target;
    else lines_.erase(w->line);
    publish({w->line});
    return w->done(base::Status{});
  }
  std::weak_ptr<bool> alive = alive_;
  auto fail = [this, w](base::Error e) {
    // What the PBX holds now is partly unknown: read that line's keys back, then report.
    reread(w->line, [w, e = std::move(e)] { w->done(base::fail(e)); });
  };
  auto id = submit_(w->actions[w->next], [this, alive, w, fail](base::Result<AmiResponse> r) {
    if (alive.expired()) return w->done(base::fail(base::Error::unavailable("the PBX driver stopped")));
    if (w->epoch != epoch_) return w->done(base::fail(base::Error::unavailable("the PBX link was lost meanwhile")));
    if (!r) return fail(r.error());
    const bool del = w->actions[w->next].name == "DBDel";
    // DBDel of a key that is not there: "Database entry could not be deleted" — absent is what we want.
    if (!r->success() && !(del && (contains(r->message(), "could not be deleted") || contains(r->message(), "not found"))))
      return fail(base::Error::conflict("the PBX refused " + w->actions[w->next].name + " " + w->keys[w->next].key +
                                        ": " + std::string(r->message().substr(0, 200))));
    ++w->next;
    run(w);
  });
  if (!id) fail(id.error());
}

void AmiFeatures::reread(const std::string& line, std::function<void()> then) {
  struct Read {
    std::string line;
    std::size_t next = 0;
    std::map<std::string, LineFeatures, std::less<>> got;
    std::function<void()> then;
  };
  auto rd = std::make_shared<Read>();
  rd->line = line;
  rd->then = std::move(then);
  std::weak_ptr<bool> alive = alive_;
  // Each DBGet's callback holds the chain (the step function holds itself only weakly): when the
  // last answer came, nothing holds it any more.
  auto step = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_step = step;
  *step = [this, alive, rd, weak_step] {
    if (rd->next == std::size(kKeys)) {
      auto it = rd->got.find(rd->line);
      if (it != rd->got.end() && it->second.any()) lines_[rd->line] = it->second;
      else lines_.erase(rd->line);
      publish({rd->line});
      return rd->then();
    }
    const std::string key = std::string(kKeys[rd->next]) + "/" + rd->line;
    AmiAction a("DBGet");
    a.set("Family", std::string(kAstDbFamily)).set("Key", key);
    auto id = submit_(std::move(a), [this, alive, rd, step = weak_step.lock(), key](base::Result<AmiResponse> r) {
      if (alive.expired()) return;
      auto v = r ? parse_astdb_get(*r) : base::fail(r.error());
      if (!v) return rd->then();  // unknown: keep what was believed, report the original error
      if (*v) apply_astdb_entry(rd->got, key, **v);
      ++rd->next;
      (*step)();
    });
    if (!id) rd->then();
  };
  (*step)();
}

}  // namespace callbridge::drivers::ami
