#include "sim/scenarios.hpp"

#include "sim/flows.hpp"

namespace callbridge::sim {

const std::vector<ScenarioInfo>& scenarios() {
  static const std::vector<ScenarioInfo> all = {
      {"inbound_answered", "+4989123456 -> DID 100, 100 answers after 2 s, caller hangs up after 3 s"},
      {"inbound_missed", "+4989123456 -> DID 100, rings 5 s, caller gives up"},
      {"inbound_busy_or_rejected", "+4989123456 -> DID 100, 100 rejects with 486 after 2 s"},
      {"outbound_dial", "101 dials 089123456, answered after 2 s, 101 hangs up after 3 s"},
      {"internal_call", "100 calls 102, answered after 2 s, 100 hangs up after 3 s"},
      {"hold_retrieve", "inbound to 100; 100 holds after 2 s for 4 s, hangs up 2 s later"},
      {"blind_transfer", "inbound to 100; after 3 s 100 blind-transfers (##) to 101"},
      {"blind_transfer_ami", "inbound to 100; after 2 s AMI BlindTransfer of 100's channel to 101"},
      {"attended_transfer", "inbound to 100; after 2 s AMI Atxfer of 100's channel to 102 (Local channels)"},
      {"attended_transfer_refer", "inbound to 100; 100 holds, consults 102, transfers (REFER/Replaces)"},
      {"queue", "+4989123456 -> main number -> Queue support (101+102 ring), 102 answers after 3 s"},
      {"conference", "100, 101 and +4989123456 in ConfBridge 800"},
      {"click_to_dial_originate", "AMI Originate PJSIP/100 -> 089123456 (ActionID c2d-0001)"},
  };
  return all;
}

base::Status start_scenario(SimEngine& e, std::string_view name) {
  if (name == "inbound_answered") {
    start_inbound(e, {.ring = 2s, .talk = 3s, .ringing_first = true});
  } else if (name == "inbound_missed") {
    start_inbound(e, {.outcome = Outcome::missed, .ring = 5s});
  } else if (name == "inbound_busy_or_rejected") {
    start_inbound(e, {.outcome = Outcome::busy, .ring = 2s});
  } else if (name == "outbound_dial") {
    start_outbound(e, {.ext = "101", .dialed = "089123456", .ring = 2s, .talk = 3s});
  } else if (name == "internal_call") {
    start_internal(e, {.from = "100", .to = "102", .ring = 2s, .talk = 3s});
  } else if (name == "hold_retrieve") {
    start_inbound(e, {.ring = 2s, .talk = 8s, .hangup_by = HangupBy::callee, .hold_after = 2s, .hold_for = 4s});
  } else if (name == "blind_transfer") {
    start_inbound(e, {.ring = 2s, .talk = 7s, .transfer_to = "101", .transfer_after = 3s});
  } else if (name == "blind_transfer_ami") {
    start_inbound(e, {.ring = 2s, .talk = 60s});
    e.after(4s, [&e] {
      for (const auto& c : e.model().channels()) {
        if (c.device == "PJSIP/100" && !c.bridge.empty()) {
          (void)action_blind_transfer(e, c.name, "101", 2s, 6s);
          return;
        }
      }
    });
  } else if (name == "attended_transfer") {
    start_inbound(e, {.ring = 2s, .talk = 60s});
    e.after(4s, [&e] {
      for (const auto& c : e.model().channels()) {
        if (c.device == "PJSIP/100" && !c.bridge.empty()) {
          (void)action_atxfer(e, c.name, "102", 2'006'000us, 0us, 7'003'000us);
          return;
        }
      }
    });
  } else if (name == "attended_transfer_refer") {
    start_inbound(e, {.ring = 2s, .talk = 60s, .transfer_after = 2'003'000us, .atxfer_to = "102",
                      .consult = 2'004'000us, .talk_after_transfer = 7'488'000us});
  } else if (name == "queue") {
    start_queue(e, {.answered_by = "102", .ring = 3s, .talk = 10s});
  } else if (name == "conference") {
    start_conference(e, {.parties = {{"100", 0us, 8'836'000us},
                                     {"101", 1'496'000us, 9'006'000us},
                                     {"+4989123456", 2'998'000us, 5'008'000us}}});
  } else if (name == "click_to_dial_originate") {
    start_originate(e, {.action_id = "c2d-0001", .ext = "100", .context = "from-internal", .exten = "089123456",
                        .cid_num = "089123456", .cid_name = "089123456", .ring = 2s, .far_ring = 2s, .talk = 5s});
  } else {
    std::string names;
    for (const auto& s : scenarios()) names += (names.empty() ? "" : ", ") + s.name;
    return base::fail(base::Error::not_found("unknown scenario '" + std::string(name) + "' (known: " + names + ")"));
  }
  return {};
}

}  // namespace callbridge::sim
