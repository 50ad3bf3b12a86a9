#include "sim/traffic.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "sim/flows.hpp"

namespace callbridge::sim {

base::Status TrafficProfile::validate() const {
  auto bad = [](std::string key, std::string why) {
    return base::fail(base::Error::invalid_argument("traffic profile: " + key + " " + why));
  };
  if (seats < 2 || seats > 9000) return bad("seats", "must be 2..9000");
  if (!(cps > 0) || cps > 10000) return bad("cps", "must be > 0 and <= 10000");
  for (auto [k, v] : {std::pair{"answer_ratio", answer_ratio}, {"miss_ratio", miss_ratio}, {"busy_ratio", busy_ratio},
                      {"hold_ratio", hold_ratio}, {"transfer_ratio", transfer_ratio},
                      {"attended_ratio", attended_ratio}}) {
    if (v < 0 || v > 1) return bad(k, "must be within 0..1");
  }
  if (hold_ratio + transfer_ratio + attended_ratio > 1) return bad("hold_ratio", "hold+transfer+attended must be <= 1");
  if (answer_ratio + miss_ratio + busy_ratio <= 0) return bad("answer_ratio", "answer+miss+busy must be > 0");
  if (inbound < 0 || outbound < 0 || internal < 0 || queue < 0 || inbound + outbound + internal + queue <= 0)
    return bad("inbound/outbound/internal/queue", "weights must be >= 0 with a positive sum");
  if (ring_min_s < 0 || ring_max_s < ring_min_s) return bad("ring_max_s", "must be >= ring_min_s >= 0");
  if (talk_min_s < 0 || talk_max_s < talk_min_s || talk_mean_s <= 0) return bad("talk_mean_s", "needs 0 <= min <= max, mean > 0");
  if (external_pool < 1 || external_pool > 10'000'000) return bad("external_pool", "must be 1..10000000");
  if (external_prefix.empty() || external_prefix[0] != '+') return bad("external_prefix", "must start with '+'");
  if (!focus_ext.empty()) {
    auto seat = lab_with_seats(seats);
    if (std::none_of(seat.phones.begin(), seat.phones.end(), [&](const Phone& p) { return p.ext == focus_ext; }))
      return bad("focus_ext", "must be one of the seats' extensions (100..)");
    if (focus_first_s < 0) return bad("focus_first_s", "must be >= 0");
    if (!(focus_every_min_s > 0) || focus_every_max_s < focus_every_min_s)
      return bad("focus_every_max_s", "must be >= focus_every_min_s > 0");
    if (focus_ring_min_s < 0 || focus_ring_max_s < focus_ring_min_s)
      return bad("focus_ring_max_s", "must be >= focus_ring_min_s >= 0");
  }
  return {};
}

LabConfig lab_with_seats(int seats) {
  LabConfig cfg;
  cfg.phones.resize(std::min<std::size_t>(cfg.phones.size(), static_cast<std::size_t>(seats)));
  for (int i = static_cast<int>(cfg.phones.size()); i < seats; ++i) {
    std::string ext = std::to_string(100 + i);
    if (ext == cfg.conference) continue;  // 800 is the conference room
    cfg.phones.push_back({ext, "Seat " + ext});
  }
  return cfg;
}

microseconds TrafficGenerator::ring() {
  std::uniform_real_distribution<double> d(profile_.ring_min_s, profile_.ring_max_s);
  return microseconds(static_cast<long long>(d(rng_) * 1e6));
}

microseconds TrafficGenerator::talk() {
  std::exponential_distribution<double> d(1.0 / profile_.talk_mean_s);
  double s = std::clamp(d(rng_), profile_.talk_min_s, profile_.talk_max_s);
  return microseconds(static_cast<long long>(s * 1e6));
}

Outcome TrafficGenerator::outcome() {
  std::discrete_distribution<int> d({profile_.answer_ratio, profile_.miss_ratio, profile_.busy_ratio});
  switch (d(rng_)) {
    case 1: return Outcome::missed;
    case 2: return Outcome::busy;
    default: return Outcome::answered;
  }
}

std::string TrafficGenerator::external_number() {
  std::uniform_int_distribution<int> d(0, profile_.external_pool - 1);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%07d", 1'000'000 + d(rng_) % 9'000'000);
  return profile_.external_prefix + buf;
}

std::string TrafficGenerator::free_seat(SimEngine& e, std::string_view except) {
  const auto& phones = e.model().config().phones;
  const auto& members = e.model().config().queue_members;
  // Queue members are agents taking queue calls only (else a ringall queue starves), unless
  // there are too few seats to spare them.
  bool spare = phones.size() > members.size() + 2;
  auto is_member = [&](const std::string& ext) {
    return spare && std::find(members.begin(), members.end(), ext) != members.end();
  };
  std::unordered_set<std::string_view> busy;
  for (const auto& c : e.model().channels()) busy.insert(c.device);
  std::uniform_int_distribution<std::size_t> d(0, phones.size() - 1);
  std::size_t start = d(rng_);
  std::string dev;
  for (std::size_t i = 0; i < phones.size(); ++i) {
    const auto& p = phones[(start + i) % phones.size()];
    if (p.ext == except || is_member(p.ext) || p.ext == profile_.focus_ext) continue;
    dev.assign("PJSIP/").append(p.ext);
    if (!busy.contains(dev)) return p.ext;
  }
  return {};
}

void TrafficGenerator::start(SimEngine& e) {
  std::exponential_distribution<double> gap(profile_.cps);
  e.after(microseconds(static_cast<long long>(gap(rng_) * 1e6)), [this, &e] { arrival(e); });
  running_ = true;
  if (!profile_.focus_ext.empty()) schedule_focus(e, microseconds(static_cast<long long>(profile_.focus_first_s * 1e6)));
}

void TrafficGenerator::schedule_focus(SimEngine& e, microseconds after) {
  focus_due_ = e.now() + after;
  const std::uint64_t gen = ++focus_gen_;
  e.after(after, [this, &e, gen] {
    if (gen == focus_gen_) focus_arrival(e);
  });
}

void TrafficGenerator::focus_soon(SimEngine& e, microseconds within) {
  if (!running_ || stopped_ || profile_.focus_ext.empty()) return;
  if (focus_due_ <= e.now() + within) return;
  for (const auto& c : e.model().channels())
    if (c.device == "PJSIP/" + profile_.focus_ext) return;  // ringing or talking: visible already
  schedule_focus(e, within);
}

microseconds TrafficGenerator::uniform(double min_s, double max_s) {
  std::uniform_real_distribution<double> d(min_s, max_s);
  return microseconds(static_cast<long long>(d(rng_) * 1e6));
}

void TrafficGenerator::focus_arrival(SimEngine& e) {
  if (stopped_ || (profile_.max_calls != 0 && started_ >= profile_.max_calls)) return;
  const std::string& ext = profile_.focus_ext;
  bool busy = false;
  for (const auto& c : e.model().channels()) busy = busy || c.device == "PJSIP/" + ext;
  if (busy) {  // on the phone (e.g. a call taken in the browser): the next one once it is free
    schedule_focus(e, 5s);
    return;
  }
  std::uniform_real_distribution<double> u(0, 1);
  Outcome outcome = u(rng_) < 0.75 ? Outcome::answered : Outcome::missed;
  microseconds ring = uniform(profile_.focus_ring_min_s, profile_.focus_ring_max_s);
  std::string colleague = u(rng_) < 0.25 ? free_seat(e, ext) : std::string();
  // Short enough that the seat is free again about when the next call is due.
  microseconds talk_for = std::min(talk(), microseconds(static_cast<long long>(profile_.focus_every_max_s * 1e6)));
  ++started_;
  ++focus_calls_;
  if (!colleague.empty()) {
    start_internal(e, {.from = colleague, .to = ext, .outcome = outcome, .ring = ring, .talk = talk_for,
                       .hangup_by = u(rng_) < 0.5 ? HangupBy::caller : HangupBy::callee});
  } else {
    InboundCall c{.caller = external_number(), .ext = ext, .outcome = outcome, .ring = ring, .talk = talk_for};
    c.hangup_by = u(rng_) < 0.5 ? HangupBy::caller : HangupBy::callee;
    c.ringing_first = u(rng_) < 0.5;
    if (outcome == Outcome::answered && u(rng_) < profile_.hold_ratio) {
      c.hold_after = std::min(c.talk / 3, microseconds(5'000'000));
      c.hold_for = std::min(c.talk / 3, microseconds(30'000'000));
    }
    start_inbound(e, c);
  }
  schedule_focus(e, uniform(profile_.focus_every_min_s, profile_.focus_every_max_s));
}

void TrafficGenerator::arrival(SimEngine& e) {
  if (stopped_ || (profile_.max_calls != 0 && started_ >= profile_.max_calls)) return;
  std::discrete_distribution<int> kind({profile_.inbound, profile_.outbound, profile_.internal, profile_.queue});
  std::uniform_real_distribution<double> u(0, 1);
  int k = kind(rng_);
  std::string seat = free_seat(e);
  if (seat.empty()) {
    ++blocked_;
  } else {
    ++started_;
    switch (k) {
      case 0: {
        InboundCall c{.caller = external_number(), .ext = seat, .outcome = outcome(), .ring = ring(), .talk = talk()};
        c.hangup_by = u(rng_) < 0.5 ? HangupBy::caller : HangupBy::callee;
        c.ringing_first = u(rng_) < 0.5;  // both orders occur on a real Asterisk
        if (c.outcome == Outcome::answered) {
          double r = u(rng_);
          if (r < profile_.hold_ratio) {
            c.hold_after = std::min(c.talk / 3, microseconds(5'000'000));
            c.hold_for = std::min(c.talk / 3, microseconds(30'000'000));
          } else if (r < profile_.hold_ratio + profile_.transfer_ratio) {
            std::string target = free_seat(e, seat);
            if (!target.empty()) {
              c.transfer_to = target;
              c.transfer_after = std::min(c.talk / 2, microseconds(10'000'000));
            }
          } else if (r < profile_.hold_ratio + profile_.transfer_ratio + profile_.attended_ratio) {
            std::string target = free_seat(e, seat);
            if (!target.empty()) {
              c.atxfer_to = target;
              c.transfer_after = std::min(c.talk / 2, microseconds(10'000'000));
              c.consult = std::min(c.talk / 2, microseconds(15'000'000));
              c.talk_after_transfer = c.talk;
              c.talk = c.transfer_after + c.ring + c.consult + 3600s;  // ended by the transfer
            }
          }
        }
        start_inbound(e, c);
        break;
      }
      case 1: {
        std::string num = external_number();
        // Dial in national format ("0" + area + number) as the lab's phones do.
        std::string dialed = num.starts_with("+49") ? "0" + num.substr(3) : "00" + num.substr(1);
        start_outbound(e, {.ext = seat, .dialed = dialed, .ring = ring(), .talk = talk(),
                           .hangup_by = u(rng_) < 0.5 ? HangupBy::caller : HangupBy::callee, .outcome = outcome()});
        break;
      }
      case 2: {
        std::string to = free_seat(e, seat);
        if (to.empty()) {
          --started_;
          ++blocked_;
          break;
        }
        start_internal(e, {.from = seat, .to = to, .outcome = outcome(), .ring = ring(), .talk = talk(),
                           .hangup_by = u(rng_) < 0.5 ? HangupBy::caller : HangupBy::callee});
        break;
      }
      default: {
        // ringall: this model only queues a caller while every member is free.
        const auto& members = e.model().config().queue_members;
        bool all_free = !members.empty();
        for (const auto& m : members) {
          for (const auto& c : e.model().channels()) all_free = all_free && c.device != "PJSIP/" + m;
        }
        if (!all_free) {
          --started_;
          ++blocked_;
          break;
        }
        std::uniform_int_distribution<std::size_t> pick(0, members.size() - 1);
        std::string agent = members[pick(rng_)];
        if (outcome() != Outcome::answered) agent.clear();  // nobody answers; the caller gives up
        start_queue(e, {.caller = external_number(), .answered_by = agent, .ring = ring(), .talk = talk()});
        break;
      }
    }
  }
  std::exponential_distribution<double> gap(profile_.cps);
  e.after(microseconds(static_cast<long long>(gap(rng_) * 1e6)), [this, &e] { arrival(e); });
}

}  // namespace callbridge::sim
