// AmiFeatures (DND, forwarding, follow-me in AstDB; docs/dialplan.md) on the lab's real answers
// (tests/fixtures/asterisk-22/astdb: ShowDialPlan of a missing context, DBPut, DBGet found and not
// found, DBGetTree, DBDel of a present and an absent key): the include check, the read-back at
// login, the DBPut/DBDel a change needs, a refused write followed by DBGet of the line.
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <map>
#include <sstream>

#include "drivers/ami/ami_features.hpp"

namespace callbridge::drivers::ami {
namespace {

using ports::FollowMeMode;
using ports::LineFeatures;

const std::string kFixtures = CALLBRIDGE_FIXTURES_DIR;

// The capture's answers by ActionID, as AmiProtocol collects them (response, list items, complete).
std::map<std::string, AmiResponse> answers_from(const std::string& bytes) {
  FrameReader r({}, bytes.starts_with("Asterisk Call Manager"));
  r.feed(bytes);
  std::map<std::string, AmiResponse> out;
  AmiMessage m;
  while (r.next(m).value_or(false)) {
    std::string id(m.action_id());
    if (id.empty()) continue;
    auto& a = out[id];
    if (!m.has("Event")) a.response = OwnedAmiMessage(m);
    else if (m.get("EventList") == "Complete") a.complete = OwnedAmiMessage(m);
    else a.items.emplace_back(m);
  }
  return out;
}

const std::map<std::string, AmiResponse>& lab() {
  static const auto answers = [] {
    std::ifstream in(kFixtures + "/astdb/ami.log", std::ios::binary);
    EXPECT_TRUE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    return answers_from(ss.str());
  }();
  return answers;
}

// ShowDialPlan of the include's version context, shaped like the lab's answer for a context that
// exists (its ListDialplan events, e.g. Context: followme-103).
AmiResponse version_answer(int version) {
  return answers_from(
             "Response: Success\r\nActionID: v\r\nEventList: start\r\nMessage: DialPlan list will follow\r\n\r\n"
             "Event: ListDialplan\r\nActionID: v\r\nContext: callbridge-version\r\nExtension: 1\r\nPriority: 1\r\n"
             "Application: NoOp\r\nAppData: callbridge dialplan " +
             std::to_string(version) +
             "\r\nRegistrar: pbx_config\r\n\r\n"
             "Event: ShowDialPlanComplete\r\nActionID: v\r\nEventList: Complete\r\nListItems: 1\r\n\r\n")
      .at("v");
}

AmiResponse error_answer(const std::string& message) {
  return answers_from("Response: Error\r\nActionID: e\r\nMessage: " + message + "\r\n\r\n").at("e");
}

std::string header(const AmiAction& a, std::string_view k) {
  for (const auto& [key, v] : a.headers)
    if (key == k) return v;
  return {};
}

// A link that records what was sent and lets the test answer in order.
struct FakeLink {
  struct Sent {
    AmiAction action;
    ActionCallback done;
  };
  std::deque<Sent> sent;
  bool up = true;
  std::vector<std::vector<std::string>> changes;
  AmiFeatures features{"lab",
                       [this](AmiAction a, ActionCallback cb) -> base::Result<std::string> {
                         if (!up) return base::fail(base::Error::unavailable("AMI link is disconnected"));
                         sent.push_back({std::move(a), std::move(cb)});
                         return std::string("cb-1");
                       },
                       [this](std::vector<std::string> l) { changes.push_back(std::move(l)); }};

  AmiAction answer(const AmiResponse& r) {
    EXPECT_FALSE(sent.empty());
    auto s = std::move(sent.front());
    sent.pop_front();
    s.done(r);
    return s.action;
  }
  // Logs in: the include is there (version) or not (the lab's answer), the tree is `tree`.
  void login(std::optional<int> version, const AmiResponse& tree) {
    features.on_session_ready();
    auto show = answer(version ? version_answer(*version) : lab().at("version-missing"));
    EXPECT_EQ(show.name, "ShowDialPlan");
    EXPECT_EQ(header(show, "Context"), "callbridge-version");
    auto get = answer(tree);
    EXPECT_EQ(get.name, "DBGetTree");
    EXPECT_EQ(header(get, "Family"), "callbridge");
  }
};

TEST(AmiFeatures, ParsesTheLabsAnswers) {
  EXPECT_EQ(parse_dialplan_version(lab().at("version-missing")), 0);
  EXPECT_EQ(parse_dialplan_version(version_answer(1)), 1);
  EXPECT_EQ(parse_dialplan_version(version_answer(3)), 3);

  auto tree = parse_astdb_tree(lab().at("tree"));
  ASSERT_TRUE(tree) << tree.error().message();
  ASSERT_EQ(tree->size(), 2u);  // unrelated/103 is not ours
  EXPECT_TRUE(tree->at("101").dnd);
  EXPECT_FALSE(tree->at("101").no_answer);
  EXPECT_EQ(tree->at("102").no_answer, "+491701234567");
  EXPECT_EQ(tree->at("102").no_answer_seconds, 10);
  EXPECT_FALSE(tree->at("102").dnd);
  auto empty = parse_astdb_tree(lab().at("tree-empty"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto refused = parse_astdb_tree(error_answer("Permission denied"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), base::Errc::conflict);

  auto got = parse_astdb_get(lab().at("get-dnd"));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "1");
  auto missing = parse_astdb_get(lab().at("get-missing"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  auto denied = parse_astdb_get(error_answer("Permission denied"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), base::Errc::conflict);
  // A success without its DBGetResponse event is no value.
  AmiResponse bare = lab().at("get-dnd");
  bare.items.clear();
  EXPECT_EQ(parse_astdb_get(bare).error().code(), base::Errc::protocol);
}

// Values the dialplan would not dial, or keys that are not ours, are not believed.
TEST(AmiFeatures, IgnoresKeysAndValuesTheDialplanWouldNotUse) {
  std::map<std::string, LineFeatures, std::less<>> l;
  EXPECT_FALSE(apply_astdb_entry(l, "cfu/101", "0170;Hangup"));
  EXPECT_FALSE(apply_astdb_entry(l, "cfu/101", "+"));
  EXPECT_FALSE(apply_astdb_entry(l, "cfu/1 01", "102"));
  EXPECT_FALSE(apply_astdb_entry(l, "cfnrtime/101", "9999"));
  EXPECT_FALSE(apply_astdb_entry(l, "fmmode/101", "random"));
  EXPECT_FALSE(apply_astdb_entry(l, "dnd/101", "yes"));
  EXPECT_FALSE(apply_astdb_entry(l, "version", "1"));
  EXPECT_TRUE(l.empty());
  EXPECT_TRUE(apply_astdb_entry(l, "followme/103", "+491701234567"));
  EXPECT_TRUE(apply_astdb_entry(l, "fmmode/103", "sequential"));
  EXPECT_TRUE(apply_astdb_entry(l, "fmdesk/103", "8"));
  EXPECT_EQ(l.at("103").follow_me_mode, FollowMeMode::sequential);
  EXPECT_EQ(l.at("103").desk_seconds, 8);
}

TEST(AmiFeatures, WritesOnlyTheKeysThatChange) {
  LineFeatures off, on;
  on.dnd = true;
  on.unconditional = "102";
  auto w = astdb_writes("101", off, on);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].serialize("x"), "Action: DBPut\r\nActionID: x\r\nFamily: callbridge\r\nKey: dnd/101\r\nVal: 1\r\n\r\n");
  EXPECT_EQ(w[1].serialize("y"), "Action: DBPut\r\nActionID: y\r\nFamily: callbridge\r\nKey: cfu/101\r\nVal: 102\r\n\r\n");
  EXPECT_TRUE(astdb_writes("101", on, on).empty());
  auto back = astdb_writes("101", on, off);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].serialize("z"), "Action: DBDel\r\nActionID: z\r\nFamily: callbridge\r\nKey: dnd/101\r\n\r\n");
  LineFeatures fm;
  fm.follow_me = "+491701234567";
  fm.follow_me_mode = FollowMeMode::sequential;
  fm.desk_seconds = 10;
  auto f = astdb_writes("103", off, fm);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(header(f[1], "Key"), "fmmode/103");
  EXPECT_EQ(header(f[1], "Val"), "sequential");
  EXPECT_EQ(header(f[2], "Key"), "fmdesk/103");
  LineFeatures nr;
  nr.no_answer = "+4989123456";
  nr.no_answer_seconds = 15;
  auto n = astdb_writes("104", off, nr);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(header(n[1], "Key"), "cfnrtime/104");
  EXPECT_EQ(header(n[1], "Val"), "15");
}

// Without the include: a clear "unavailable" naming the file, and nothing is written; the keys
// still read back (what was set before shows).
TEST(AmiFeatures, MissingIncludeIsUnavailable) {
  FakeLink f;
  EXPECT_EQ(f.features.ready().error().message(), "the PBX link is down");
  f.login(std::nullopt, lab().at("tree"));
  auto st = f.features.ready();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::unavailable);
  EXPECT_NE(st.error().message().find("contrib/asterisk/callbridge.conf"), std::string::npos);
  EXPECT_TRUE(f.features.line("101").dnd);
  LineFeatures dnd;
  dnd.dnd = true;
  std::optional<base::Status> got;
  f.features.set_line("105", dnd, [&](base::Status s) { got = s; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error().message(), st.error().message());
  EXPECT_TRUE(f.sent.empty());
}

TEST(AmiFeatures, ReadsBackAtLoginAndWrites) {
  FakeLink f;
  f.login(1, lab().at("tree"));
  ASSERT_TRUE(f.features.ready());
  ASSERT_FALSE(f.changes.empty());
  EXPECT_EQ(f.changes.back(), (std::vector<std::string>{"101", "102"}));
  EXPECT_EQ(f.features.lines(), 2u);

  // 101: DND off, forward everything to 102.
  LineFeatures want;
  want.unconditional = "102";
  std::optional<base::Status> done;
  f.features.set_line("101", want, [&](base::Status s) { done = s; });
  auto del = f.answer(lab().at("del-dnd"));
  EXPECT_EQ(del.name, "DBDel");
  EXPECT_EQ(header(del, "Key"), "dnd/101");
  EXPECT_FALSE(done);
  auto put = f.answer(lab().at("put-dnd"));  // "Updated database successfully"
  EXPECT_EQ(put.name, "DBPut");
  EXPECT_EQ(header(put, "Key"), "cfu/101");
  EXPECT_EQ(header(put, "Val"), "102");
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);
  EXPECT_EQ(f.features.line("101"), want);
  EXPECT_EQ(f.changes.back(), std::vector<std::string>{"101"});

  // Deleting a key the PBX no longer has ("could not be deleted") is what was wanted.
  done.reset();
  f.features.set_line("101", LineFeatures{}, [&](base::Status s) { done = s; });
  f.answer(lab().at("del-missing"));
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);
  EXPECT_EQ(f.features.line("101"), LineFeatures{});
  EXPECT_EQ(f.features.lines(), 1u);

  // The link goes: unavailable, and the last known state stays.
  f.features.on_session_end();
  EXPECT_EQ(f.features.ready().error().message(), "the PBX link is down");
  EXPECT_EQ(f.features.line("102").no_answer, "+491701234567");
}

// A write the PBX refuses: the line's keys are read back with DBGet, then the error is reported.
TEST(AmiFeatures, RefusedWriteRereadsTheLine) {
  FakeLink f;
  f.login(1, lab().at("tree-empty"));
  LineFeatures want;
  want.dnd = true;
  want.busy = "104";
  std::optional<base::Status> done;
  f.features.set_line("101", want, [&](base::Status s) { done = s; });
  f.answer(lab().at("put-dnd"));                          // dnd/101 stored
  f.answer(error_answer("Failed to update entry"));      // cfb/101 refused
  EXPECT_FALSE(done);
  // DBGet of each key of 101: dnd is there, the rest not.
  auto first = f.answer(lab().at("get-dnd"));
  EXPECT_EQ(first.name, "DBGet");
  EXPECT_EQ(header(first, "Key"), "dnd/101");
  while (!f.sent.empty()) f.answer(lab().at("get-missing"));
  ASSERT_TRUE(done);
  ASSERT_FALSE(*done);
  EXPECT_EQ(done->error().code(), base::Errc::conflict);
  EXPECT_NE(done->error().message().find("Failed to update entry"), std::string::npos);
  LineFeatures held;
  held.dnd = true;
  EXPECT_EQ(f.features.line("101"), held);
}

TEST(AmiFeatures, RefusesWhatCannotBeDialled) {
  FakeLink f;
  f.login(1, lab().at("tree-empty"));
  auto refused = [&](const std::string& line, LineFeatures want) {
    std::optional<base::Status> done;
    f.features.set_line(line, want, [&](base::Status s) { done = s; });
    return done && !*done && done->error().code() == base::Errc::invalid_argument;
  };
  LineFeatures bad;
  bad.unconditional = "102,tT";
  EXPECT_TRUE(refused("101", bad));
  bad.unconditional = "+49 89 123";
  EXPECT_TRUE(refused("101", bad));
  LineFeatures dnd;
  dnd.dnd = true;
  EXPECT_TRUE(refused("PJSIP/101", dnd));
  LineFeatures slow;
  slow.no_answer = "102";
  slow.no_answer_seconds = 600;
  EXPECT_TRUE(refused("101", slow));
  EXPECT_TRUE(f.sent.empty());
}

}  // namespace
}  // namespace callbridge::drivers::ami
