#include "bench/synth_ami.hpp"

#include <charconv>
#include <fstream>
#include <queue>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "base/time.hpp"
#include "protocols/ami/frame_reader.hpp"

namespace callbridge::bench {
namespace {

using protocols::ami::AmiMessage;
using protocols::ami::FrameReader;

// What a template piece stands for. Identifiers are numbered per flow ("the k-th distinct Uniqueid
// seen in this capture") and get fresh values for every call instance.
enum class PieceKind : std::uint8_t { literal, uniqueid, channel_seq, bridge_id, timestamp, caller };

struct Piece {
  PieceKind kind;
  std::uint32_t a;  // literal: offset into the pool; others: identifier index
  std::uint32_t b;  // literal: length
};

struct EventTemplate {
  std::int64_t offset_us;  // from the first event of the flow
  std::uint32_t name_id;   // index into the generator's event-name table
  std::vector<Piece> pieces;
};

struct CallFlow {
  std::string name;
  unsigned weight = 1;
  std::string pool;  // literal bytes the pieces point into
  std::vector<EventTemplate> events;
  std::uint32_t uniqueids = 0, channels = 0, bridges = 0;
  std::int64_t duration_us = 0;
};

// The external caller number of the captures; replaced per call so numbers vary.
constexpr std::string_view kCaptureCaller = "+4989123456";
constexpr std::string_view kUniqueidPrefix = "ctilab-";
constexpr std::int64_t kEpochStartUs = 1'795'000'000'000'000;  // 2026-11-18, like the captures

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool hex_run(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  for (std::size_t i = at; i < at + n; ++i)
    if (!is_hex(s[i])) return false;
  return true;
}

// 8-4-4-4-12 lowercase hex, as Asterisk prints bridge ids.
bool is_uuid_at(std::string_view s, std::size_t at) {
  if (!hex_run(s, at, 8) || at + 36 > s.size()) return false;
  return s[at + 8] == '-' && hex_run(s, at + 9, 4) && s[at + 13] == '-' && hex_run(s, at + 14, 4) &&
         s[at + 18] == '-' && hex_run(s, at + 19, 4) && s[at + 23] == '-' && hex_run(s, at + 24, 12) &&
         (at + 36 == s.size() || !is_hex(s[at + 36]));
}

// "ctilab-1795382753.12": returns the length of the match, 0 if none.
std::size_t uniqueid_len_at(std::string_view s, std::size_t at) {
  if (s.substr(at, kUniqueidPrefix.size()) != kUniqueidPrefix) return 0;
  std::size_t i = at + kUniqueidPrefix.size(), d0 = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == d0 || i >= s.size() || s[i] != '.') return 0;
  std::size_t d1 = ++i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i == d1 ? 0 : i - at;
}

class FlowBuilder {
 public:
  FlowBuilder(CallFlow& flow, std::vector<std::string>& names) : flow_(flow), names_(names) {}

  void add_message(const AmiMessage& m, std::int64_t offset_us) {
    EventTemplate t{offset_us, name_id(m.event()), {}};
    pieces_ = &t.pieces;
    for (const auto& h : m.headers()) {
      if (!h.key.empty()) {
        literal(h.key);
        literal(": ");
      }
      if (h.key == "Timestamp") {
        pieces_->push_back({PieceKind::timestamp, 0, 0});
      } else {
        value(h.value);
      }
      literal("\r\n");
    }
    literal("\r\n");
    flow_.events.push_back(std::move(t));
  }

 private:
  void literal(std::string_view s) {
    if (s.empty()) return;
    if (!pieces_->empty() && pieces_->back().kind == PieceKind::literal &&
        pieces_->back().a + pieces_->back().b == flow_.pool.size()) {
      pieces_->back().b += static_cast<std::uint32_t>(s.size());
    } else {
      pieces_->push_back({PieceKind::literal, static_cast<std::uint32_t>(flow_.pool.size()),
                          static_cast<std::uint32_t>(s.size())});
    }
    flow_.pool.append(s);
  }

  std::uint32_t id(std::unordered_map<std::string, std::uint32_t>& ids, std::string_view key,
                   std::uint32_t& count) {
    auto [it, fresh] = ids.try_emplace(std::string(key), count);
    if (fresh) ++count;
    return it->second;
  }

  void value(std::string_view v) {
    std::size_t lit = 0, i = 0;
    auto flush = [&](std::size_t upto) {
      literal(v.substr(lit, upto - lit));
    };
    while (i < v.size()) {
      if (std::size_t n = uniqueid_len_at(v, i); n > 0) {
        flush(i);
        pieces_->push_back({PieceKind::uniqueid, id(uniqueids_, v.substr(i, n), flow_.uniqueids), 0});
        lit = i += n;
      } else if ((i == 0 || !is_hex(v[i - 1])) && is_uuid_at(v, i)) {
        flush(i);
        pieces_->push_back({PieceKind::bridge_id, id(bridges_, v.substr(i, 36), flow_.bridges), 0});
        lit = i += 36;
      } else if (v[i] == '-' && i > 0 && hex_run(v, i + 1, 8) &&
                 (i + 9 == v.size() || (!is_hex(v[i + 9]) && v[i + 9] != '-'))) {
        // Channel name sequence: "PJSIP/100-0000001a", "Local/102@from-internal-00000000;1".
        flush(i + 1);
        pieces_->push_back({PieceKind::channel_seq, id(channels_, v.substr(i + 1, 8), flow_.channels), 0});
        lit = i += 9;
      } else if (v.substr(i, kCaptureCaller.size()) == kCaptureCaller) {
        flush(i);
        pieces_->push_back({PieceKind::caller, 0, 0});
        lit = i += kCaptureCaller.size();
      } else {
        ++i;
      }
    }
    flush(v.size());
  }

  std::uint32_t name_id(std::string_view name) {
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return static_cast<std::uint32_t>(i);
    names_.emplace_back(name);
    return static_cast<std::uint32_t>(names_.size() - 1);
  }

  CallFlow& flow_;
  std::vector<std::string>& names_;
  std::vector<Piece>* pieces_ = nullptr;
  std::unordered_map<std::string, std::uint32_t> uniqueids_, channels_, bridges_;
};

base::Result<std::string> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return base::fail(base::Error::io("cannot open " + path));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

base::Result<CallFlow> load_flow(const std::string& dir, const SynthScenario& sc,
                                 std::vector<std::string>& names) {
  auto bytes = read_all(dir + "/" + sc.name + "/ami.log");
  if (!bytes) return base::fail(bytes.error());
  CallFlow flow;
  flow.name = sc.name;
  flow.weight = sc.weight;
  FlowBuilder builder(flow, names);
  FrameReader reader;
  reader.feed(*bytes);
  AmiMessage m;
  std::optional<base::Timestamp> first;
  std::int64_t offset = 0;
  for (;;) {
    auto got = reader.next(m);
    if (!got) return base::fail(base::Error::protocol(sc.name + (": " + got.error().to_string())));
    if (!*got) break;
    std::string_view ev = m.event();
    // Session-level messages (login, boot, auth audit) belong to the connection, not the call.
    if (ev.empty() || ev == "FullyBooted" || ev == "SuccessfulAuth") continue;
    if (auto ts = base::parse_epoch_seconds(m.get("Timestamp"))) {
      if (!first) first = *ts;
      offset = std::max(offset, base::to_micros(*ts) - base::to_micros(*first));
    }
    builder.add_message(m, offset);
  }
  if (flow.events.empty())
    return base::fail(base::Error::protocol(std::string(sc.name) + ": capture holds no call events"));
  flow.duration_us = flow.events.back().offset_us;
  return flow;
}

// splitmix64: small, fast, deterministic across platforms (std distributions are not).
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

struct Instance {
  const CallFlow* flow = nullptr;
  std::size_t next_event = 0;
  std::int64_t start_us = 0;
  std::uint64_t uniqueid_base = 0, channel_base = 0, bridge_seed = 0;
  char caller[16] = {};
  std::size_t caller_len = 0;
};

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void event(const Instance& in, const EventTemplate& t) {
    for (const Piece& p : t.pieces) {
      switch (p.kind) {
        case PieceKind::literal:
          out_.append(in.flow->pool, p.a, p.b);
          break;
        case PieceKind::timestamp: {
          std::int64_t us = in.start_us + t.offset_us;
          num(us / 1'000'000);
          out_ += '.';
          char frac[7];
          std::int64_t f = us % 1'000'000;
          for (int i = 5; i >= 0; --i, f /= 10) frac[i] = static_cast<char>('0' + f % 10);
          out_.append(frac, 6);
          break;
        }
        case PieceKind::uniqueid:
          out_.append(kUniqueidPrefix);
          num(in.start_us / 1'000'000);
          out_ += '.';
          num(static_cast<std::int64_t>(in.uniqueid_base + p.a));
          break;
        case PieceKind::channel_seq: {
          std::uint32_t seq = static_cast<std::uint32_t>(in.channel_base + p.a);
          char hex[8];
          for (int i = 7; i >= 0; --i, seq >>= 4) hex[i] = "0123456789abcdef"[seq & 15];
          out_.append(hex, 8);
          break;
        }
        case PieceKind::bridge_id: {
          Rng r{in.bridge_seed + p.a * 0x100000001b3ULL};
          std::uint64_t hi = r.next(), lo = r.next();
          char u[36];
          int n = 0;
          for (int i = 0; i < 32; ++i) {
            if (i == 8 || i == 12 || i == 16 || i == 20) u[n++] = '-';
            std::uint64_t w = i < 16 ? hi : lo;
            u[n++] = "0123456789abcdef"[(w >> ((15 - i % 16) * 4)) & 15];
          }
          out_.append(u, 36);
          break;
        }
        case PieceKind::caller:
          out_.append(in.caller, in.caller_len);
          break;
      }
    }
  }

 private:
  void num(std::int64_t v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    out_.append(b, r.ptr);
  }
  std::string& out_;
};

}  // namespace

const std::vector<SynthScenario>& synth_scenarios() {
  // Roughly a contact-centre day: mostly plain inbound/outbound, some queue, a few transfers.
  static const std::vector<SynthScenario> k = {
      {"inbound_answered", 5},  {"inbound_missed", 2},         {"inbound_busy_or_rejected", 1},
      {"internal_call", 3},     {"outbound_dial", 4},          {"click_to_dial_originate", 1},
      {"hold_retrieve", 1},     {"blind_transfer", 1},         {"blind_transfer_ami", 1},
      {"attended_transfer", 1}, {"attended_transfer_refer", 1}, {"queue", 3},
      {"conference", 1},
  };
  return k;
}

base::Result<SynthAmiStream> generate_synth_ami(const SynthAmiOptions& opt) {
  if (opt.concurrent_calls == 0)
    return base::fail(base::Error::invalid_argument("concurrent_calls must be at least 1"));
  std::vector<CallFlow> flows;
  std::vector<std::string> names;
  unsigned total_weight = 0;
  for (const auto& sc : synth_scenarios()) {
    auto f = load_flow(opt.fixtures_dir, sc, names);
    if (!f) return base::fail(f.error());
    total_weight += f->weight;
    flows.push_back(std::move(*f));
  }

  SynthAmiStream s;
  std::size_t avg_event = 0;
  for (const auto& f : flows) avg_event += f.pool.size() / f.events.size();
  avg_event /= flows.size();
  s.bytes.reserve(static_cast<std::size_t>(opt.target_events * avg_event * 11 / 10) + 4096);
  if (opt.with_banner) {
    s.bytes += "Asterisk Call Manager/11.0.0\r\n"
               "Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n";
    s.events = 1;
  }

  Rng rng{opt.seed};
  std::uint64_t next_uniqueid = 0, next_channel = 0;
  auto start_call = [&](Instance& in, std::int64_t at) {
    std::uint64_t pick = rng.below(total_weight);
    for (const auto& f : flows) {
      if (pick < f.weight) {
        in.flow = &f;
        break;
      }
      pick -= f.weight;
    }
    in.next_event = 0;
    in.start_us = at;
    in.uniqueid_base = next_uniqueid;
    in.channel_base = next_channel;
    next_uniqueid += in.flow->uniqueids;
    next_channel += in.flow->channels;
    in.bridge_seed = rng.next();
    static constexpr const char* kAreas[] = {"30", "89", "40", "221", "711", "6221", "151", "171"};
    std::string num = std::string("+49") + kAreas[rng.below(8)] + std::to_string(1'000'000 + rng.below(90'000'000));
    in.caller_len = std::min(num.size(), sizeof in.caller);
    num.copy(in.caller, in.caller_len);
    ++s.calls;
    ++s.calls_by_scenario[in.flow->name];
  };

  // Each slot runs calls back to back; the heap merges the slots by event time, so Timestamp
  // never goes backwards across the stream.
  std::vector<Instance> slots(opt.concurrent_calls);
  using Item = std::pair<std::int64_t, std::size_t>;  // (event time, slot)
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    start_call(slots[i], kEpochStartUs + static_cast<std::int64_t>(rng.below(10'000'000)));
    heap.push({slots[i].start_us, i});
  }
  Writer w(s.bytes);
  std::vector<std::uint64_t> name_counts(names.size());
  bool starting = true;
  while (!heap.empty()) {
    auto [at, slot] = heap.top();
    heap.pop();
    Instance& in = slots[slot];
    const EventTemplate& t = in.flow->events[in.next_event++];
    w.event(in, t);
    ++name_counts[t.name_id];
    ++s.events;
    if (starting && s.events >= opt.target_events) starting = false;
    if (in.next_event < in.flow->events.size()) {
      heap.push({in.start_us + in.flow->events[in.next_event].offset_us, slot});
    } else if (starting) {
      // Next call on this slot after a short idle gap (50 ms .. 3 s).
      start_call(in, at + 50'000 + static_cast<std::int64_t>(rng.below(2'950'000)));
      heap.push({in.start_us, slot});
    }
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (name_counts[i] > 0) s.events_by_name[names[i]] = name_counts[i];
  return s;
}

}  // namespace callbridge::bench
