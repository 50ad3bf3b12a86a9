// Conformance of the simulator with the real Asterisk 22 captures: for each flow the simulator's
// AMI is compared with tests/fixtures/asterisk-22/<scenario>/ami.log, structurally:
// - the call-relevant events (VarSet/Newexten/CEL/Cdr/RTCP*, security and registration events
//   are not simulated and are skipped on both sides) in the same order, grouped into bursts
//   (events less than 100 ms apart). Inside a burst Asterisk's own order varies between runs
//   (its taskprocessors race: compare inbound_answered with inbound_missed), so a burst is
//   compared as a multiset;
// - per event the field NAMES in order, and every value except times, with Uniqueid/Linkedid,
//   channel names and BridgeUniqueid renamed by order of first appearance.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "protocols/ami/frame_reader.hpp"
#include "sim/flows.hpp"
#include "sim/scenarios.hpp"
#include "sim/sim_engine.hpp"

namespace callbridge::sim {
namespace {

namespace ami = protocols::ami;
using Event = std::vector<std::pair<std::string, std::string>>;

const std::set<std::string> kSkipped = {"VarSet",       "Newexten",      "CEL",          "Cdr",
                                        "RTCPSent",     "RTCPReceived",  "FullyBooted",  "SuccessfulAuth",
                                        "ChallengeSent", "ContactStatus", "PeerStatus",  "DTMFEnd"};
const std::set<std::string> kTimeFields = {"Timestamp", "LoginTime", "LastCall", "HoldTime", "TalkTime", "RingTime"};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Event> fixture_events(const std::string& scenario) {
  std::string bytes = read_file(std::string(CALLBRIDGE_FIXTURES_DIR) + "/" + scenario + "/ami.log");
  EXPECT_FALSE(bytes.empty()) << scenario;
  ami::FrameReader reader({.max_message_bytes = 1 << 20, .max_headers = 4096});
  reader.feed(bytes);
  std::vector<Event> out;
  ami::AmiMessage m;
  while (true) {
    auto r = reader.next(m);
    EXPECT_TRUE(r.has_value());
    if (!r || !*r) break;
    if (m.event().empty() || kSkipped.contains(std::string(m.event()))) continue;
    Event e;
    for (const auto& h : m.headers()) e.emplace_back(std::string(h.key), std::string(h.value));
    out.push_back(std::move(e));
  }
  return out;
}

double ts(const Event& e) {
  for (const auto& [k, v] : e) {
    if (k == "Timestamp") return std::stod(v);
  }
  return 0;
}

// Renames ids by order of first appearance.
class Normalizer {
 public:
  std::string value(const std::string& key, const std::string& v) {
    static const std::regex uid(R"(^[a-z0-9]+-\d+\.\d+$)");
    static const std::regex chan(R"(^([A-Za-z]+/[^-]+)-([0-9a-f]{8})$)");
    static const std::regex uuid(R"(^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)");
    if (kTimeFields.contains(key)) return "<time>";
    std::smatch mm;
    if (std::regex_match(v, uid)) return "U" + id(uids_, v);
    if (std::regex_match(v, mm, chan)) return mm[1].str() + "-C" + id(chans_, v);
    if (std::regex_match(v, uuid)) return "B" + id(bridges_, v);
    return v;
  }
  std::string event(const Event& e) {
    std::string s;
    for (const auto& [k, v] : e) s += k + "=" + value(k, v) + "\n";
    return s;
  }

 private:
  static std::string id(std::map<std::string, std::string>& m, const std::string& v) {
    auto it = m.find(v);
    if (it == m.end()) it = m.emplace(v, std::to_string(m.size())).first;
    return it->second;
  }
  std::map<std::string, std::string> uids_, chans_, bridges_;
};

std::vector<std::vector<std::string>> bursts(const std::vector<Event>& events) {
  std::vector<std::vector<std::string>> out;
  Normalizer n;
  double last = -1e18;
  for (const auto& e : events) {
    double t = ts(e);
    if (out.empty() || t - last >= 0.1) out.emplace_back();
    last = t;
    out.back().push_back(n.event(e));
  }
  return out;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string summary(const std::string& e) {
  // "Event=X" plus the channel/device, for failure messages.
  std::string out = first_line(e);
  for (const char* key : {"\nChannel=", "\nDestChannel=", "\nDevice=", "\nExten="}) {
    auto p = e.find(key);
    if (p != std::string::npos) out += " " + e.substr(p + 1, e.find('\n', p + 1) - p - 1);
  }
  return out;
}

// Compares burst by burst; on the first difference reports exactly which events differ.
void expect_conforms(const std::string& scenario, const std::vector<Event>& sim) {
  auto want = bursts(fixture_events(scenario));
  auto got = bursts(sim);
  for (std::size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    if (i >= want.size() || i >= got.size()) {
      ADD_FAILURE() << scenario << ": burst count differs: fixture " << want.size() << ", simulator " << got.size();
      return;
    }
    auto a = want[i], b = got[i];
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a == b) continue;
    std::vector<std::string> missing, extra;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(missing));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(extra));
    std::string msg;
    for (const auto& e : missing) msg += "  fixture only:   " + summary(e) + "\n" + e;
    for (const auto& e : extra) msg += "  simulator only: " + summary(e) + "\n" + e;
    ADD_FAILURE() << scenario << ": burst " << i << " (" << want[i].size() << " vs " << got[i].size()
                  << " events) differs:\n" << msg;
    return;
  }
}

struct SimRun {
  std::vector<Event> events;
  SimEngine engine;
  SimRun() : engine(LabConfig{}, base::from_micros(1'795'382'753'000'000), [this](const SimMessage& m) {
            if (!kSkipped.contains(std::string(m.event()))) events.push_back(m.fields());
          }) {}
};

// Every registered scenario (the ones `callbridge-pbxsim --scenario` plays) against its capture.
class ScenarioConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioConformance, MatchesTheCapture) {
  SimRun r;
  ASSERT_TRUE(start_scenario(r.engine, GetParam()).has_value());
  r.engine.run_all();
  ASSERT_TRUE(r.engine.model().channels().empty()) << "calls left over";
  ASSERT_FALSE(r.events.empty());
  expect_conforms(GetParam(), r.events);
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> out;
  for (const auto& s : scenarios()) out.push_back(s.name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ScenarioConformance, ::testing::ValuesIn(scenario_names()),
                         [](const auto& info) { return info.param; });

TEST(Conformance, DetectsADifferentFlow) {
  // The comparison is not vacuous: a missed call does not pass as an answered one, and a
  // ringing-order variant differs in the DialBegin snapshot.
  SimRun r;
  start_inbound(r.engine, {.outcome = Outcome::missed, .ring = 5s});
  r.engine.run_all();
  EXPECT_NONFATAL_FAILURE(expect_conforms("inbound_answered", r.events), "differs");
  SimRun r2;
  start_inbound(r2.engine, {.ring = 2s, .talk = 3s, .ringing_first = false});
  r2.engine.run_all();
  EXPECT_NONFATAL_FAILURE(expect_conforms("inbound_answered", r2.events), "DialBegin");
}

TEST(Conformance, UnknownScenarioIsNotFound) {
  SimRun r;
  auto st = start_scenario(r.engine, "nope");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), base::Errc::not_found);
}

}  // namespace
}  // namespace callbridge::sim
