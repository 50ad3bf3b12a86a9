// The command relay (cluster/command_relay) against a real `nats-server` (started per test on a
// free port, killed by PID): two relays on two connections, as an issuing node and the owner of
// link "lab". The io thread is the test's own loop (a queue and timers run by the test thread), so
// every handler runs where the daemon would run it. Shown: the owner's answer, its later words and
// the order they come in; a refusal with its kind and words; no owner (the lease says so) and no
// node serving the subject (NATS's no responders) answer pbx_unavailable without waiting for the
// timeout; an owner that does not answer in time gives timeout and its late words are dropped; the
// owner stops serving at unserve(); malformed commands are refused with bad_request; oversized
// messages are dropped; a move carries its device's number and privacy and waits for its final word.
#include <gtest/gtest.h>

#include <nats/nats.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "cluster/command_relay.hpp"
#include "cluster/nats_connection.hpp"
#include "support/nats_server.hpp"

namespace callbridge::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A single-threaded loop for the handlers: post() from any thread, run by the test thread.
class Loop {
 public:
  void post(std::function<void()> f) {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(f));
    cv_.notify_all();
  }
  void post_after(std::chrono::milliseconds d, std::function<void()> f) {
    std::lock_guard lk(mu_);
    timers_.emplace(Clock::now() + d, std::move(f));
    cv_.notify_all();
  }
  // Runs handlers until `pred` holds (true) or `limit` passed (false).
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = Clock::now() + limit;
    while (!pred()) {
      std::function<void()> f;
      {
        std::unique_lock lk(mu_);
        auto wake = end;
        if (!timers_.empty() && timers_.begin()->first < wake) wake = timers_.begin()->first;
        cv_.wait_until(lk, wake, [&] { return !queue_.empty() || Clock::now() >= wake; });
        if (!queue_.empty()) {
          f = std::move(queue_.front());
          queue_.pop_front();
        } else if (!timers_.empty() && timers_.begin()->first <= Clock::now()) {
          f = std::move(timers_.begin()->second);
          timers_.erase(timers_.begin());
        } else if (Clock::now() >= end) {
          return pred();
        }
      }
      if (f) f();
    }
    return true;
  }
  NatsCommandRelay::Post poster() {
    return [this](std::function<void()> f) { post(std::move(f)); };
  }
  NatsCommandRelay::PostAfter timer() {
    return [this](std::chrono::milliseconds d, std::function<void()> f) { post_after(d, std::move(f)); };
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::multimap<Clock::time_point, std::function<void()>> timers_;
};

// What the issuing side heard, in order.
struct Heard {
  std::vector<std::string> order;
  std::optional<ports::RelayedAnswer> answer;
  std::optional<ports::RelayedOutcome> done, finished;
  ports::CommandRelay::Handlers handlers() {
    return {[this](ports::RelayedAnswer a) {
              order.push_back("answered");
              answer = std::move(a);
            },
            [this](ports::RelayedOutcome o) {
              order.push_back("done");
              done = std::move(o);
            },
            [this](ports::RelayedOutcome o) {
              order.push_back("finished");
              finished = std::move(o);
            }};
  }
};

ports::RelayedCommand hangup_by_anna() {
  ports::RelayedCommand c;
  c.tenant = "default";
  c.user = "anna";
  c.role = "user";
  c.extensions = {"100"};
  c.op = "hangup";
  c.target = "call-7";
  c.device = "100";
  return c;
}

class CommandRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.log();
    issuer_nats_ = connect("issuer");
    owner_nats_ = connect("owner");
    ASSERT_TRUE(issuer_nats_ && owner_nats_);
    issuer_ = make(*issuer_nats_, "i1", 800ms);
    owner_ = make(*owner_nats_, "o1", 800ms);
    ASSERT_TRUE(issuer_ && owner_);
  }
  std::unique_ptr<NatsConnection> connect(std::string name) {
    NatsOptions o;
    o.url = server_.url();
    o.name = std::move(name);
    auto c = NatsConnection::connect(o);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }
  std::unique_ptr<NatsCommandRelay> make(NatsConnection& nats, std::string instance, std::chrono::milliseconds timeout) {
    CommandRelayOptions o;
    o.instance = std::move(instance);
    o.timeout = timeout;
    auto r = NatsCommandRelay::create(nats, o, loop_.poster(), loop_.timer(),
                                      [this](const std::string& link) { return link != "nobody"; });
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
  }

  testing::NatsServer server_;
  Loop loop_;
  std::unique_ptr<NatsConnection> issuer_nats_, owner_nats_;
  std::unique_ptr<NatsCommandRelay> issuer_, owner_;
};

TEST_F(CommandRelayTest, TheOwnerAnswersAndItsLaterWordsFollowInOrder) {
  std::optional<ports::RelayedCommand> got;
  ports::RelayReplies later;
  ASSERT_TRUE(owner_->serve("lab", [&](ports::RelayedCommand c, ports::RelayReplies r) {
    got = c;
    ports::RelayedAnswer a;
    a.returned = "c2d-0007";  // accepted; the PBX's answers follow
    r.answer(a);
    later = std::move(r);
  }));
  EXPECT_TRUE(owner_->serving("lab"));
  Heard h;
  auto cmd = hangup_by_anna();
  cmd.op = "make_call";
  cmd.to = "+49 30 1234567";
  cmd.scope_whole = true;
  cmd.scope_team = {"101", "102"};
  issuer_->send("lab", cmd, h.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h.answer.has_value(); }));
  ASSERT_TRUE(got);
  // The command arrived whole: who, what, the scope.
  EXPECT_EQ(got->tenant, "default");
  EXPECT_EQ(got->user, "anna");
  EXPECT_EQ(got->role, "user");
  EXPECT_EQ(got->extensions, std::vector<std::string>{"100"});
  EXPECT_EQ(got->op, "make_call");
  EXPECT_EQ(got->to, "+49 30 1234567");
  EXPECT_EQ(got->device, "100");
  EXPECT_FALSE(got->from);
  EXPECT_TRUE(got->scope_whole);
  EXPECT_EQ(got->scope_team, (std::vector<std::string>{"101", "102"}));
  EXPECT_EQ(h.answer->returned, "c2d-0007");
  EXPECT_FALSE(h.answer->done);

  ports::RelayedOutcome ok;
  ok.request_id = "c2d-0007";
  later.done(ok);
  ASSERT_TRUE(loop_.run_until([&] { return h.done.has_value(); }));
  EXPECT_TRUE(h.done->ok);
  ports::RelayedOutcome talking;
  talking.call_id = "1733580000.42";
  later.finished(talking);
  ASSERT_TRUE(loop_.run_until([&] { return h.finished.has_value(); }));
  EXPECT_EQ(h.finished->call_id, "1733580000.42");
  EXPECT_EQ(h.order, (std::vector<std::string>{"answered", "done", "finished"}));
  EXPECT_EQ(issuer_->stats().pending, 0u) << "the last word of a two-step command ends it";
  EXPECT_EQ(owner_->stats().served, 1u);
}

TEST_F(CommandRelayTest, ARefusalComesBackWithItsKindAndWords) {
  ASSERT_TRUE(owner_->serve("lab", [&](ports::RelayedCommand, ports::RelayReplies r) {
    ports::RelayedAnswer a;
    a.done = ports::RelayedOutcome{false, "action_not_allowed", "The call is not on hold."};
    r.answer(a);
  }));
  Heard h;
  auto cmd = hangup_by_anna();
  cmd.op = "retrieve";
  issuer_->send("lab", cmd, h.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h.answer.has_value(); }));
  ASSERT_TRUE(h.answer->done);
  EXPECT_FALSE(h.answer->done->ok);
  EXPECT_EQ(h.answer->done->failure, "action_not_allowed");
  EXPECT_EQ(h.answer->done->detail, "The call is not on hold.");
  EXPECT_EQ(issuer_->stats().pending, 0u);
}

TEST_F(CommandRelayTest, NoOwnerAndNoResponderAnswerUnavailableWithoutTheTimeout) {
  // The lease says nobody owns the link: answered inside send().
  Heard h;
  issuer_->send("nobody", hangup_by_anna(), h.handlers());
  ASSERT_TRUE(h.answer);
  ASSERT_TRUE(h.answer->done);
  EXPECT_EQ(h.answer->done->failure, "pbx_unavailable");
  EXPECT_NE(h.answer->done->detail.find("no node owns PBX link nobody"), std::string::npos) << h.answer->done->detail;

  // An owner per the lease, but no node serves the subject (starting, or just died): NATS says
  // "no responders" and the answer comes before the 800 ms timeout could have fired.
  Heard h2;
  const auto sent = Clock::now();
  issuer_->send("lab", hangup_by_anna(), h2.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h2.answer.has_value(); }, 5000ms));
  const auto took = Clock::now() - sent;
  ASSERT_TRUE(h2.answer->done);
  EXPECT_EQ(h2.answer->done->failure, "pbx_unavailable") << h2.answer->done->detail;
  EXPECT_NE(h2.answer->done->detail.find("no node serves PBX link lab"), std::string::npos);
  EXPECT_EQ(issuer_->stats().timeouts, 0u) << "answered by NATS's no responders, not by the timeout";
  std::printf("no responders answered after %lld ms (timeout 800 ms)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));

  // Served, then no more: unserve() stops at once.
  ASSERT_TRUE(owner_->serve("lab", [&](ports::RelayedCommand, ports::RelayReplies r) { r.answer({}); }));
  Heard h3;
  issuer_->send("lab", hangup_by_anna(), h3.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h3.answer.has_value(); }));
  EXPECT_FALSE(h3.answer->done) << "accepted";
  owner_->unserve("lab");
  EXPECT_FALSE(owner_->serving("lab"));
  Heard h4;
  issuer_->send("lab", hangup_by_anna(), h4.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h4.answer.has_value(); }));
  ASSERT_TRUE(h4.answer->done);
  EXPECT_EQ(h4.answer->done->failure, "pbx_unavailable");
}

TEST_F(CommandRelayTest, AnOwnerThatDoesNotAnswerInTimeGivesTimeoutAndItsLateWordsAreDropped) {
  ports::RelayReplies held;
  bool asked = false;
  ASSERT_TRUE(owner_->serve("lab", [&](ports::RelayedCommand, ports::RelayReplies r) {
    asked = true;
    held = std::move(r);  // stuck: answers only later
  }));
  Heard h;
  issuer_->send("lab", hangup_by_anna(), h.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h.answer.has_value(); }, 5000ms));
  EXPECT_TRUE(asked);
  ASSERT_TRUE(h.answer->done);
  EXPECT_EQ(h.answer->done->failure, "timeout");
  EXPECT_NE(h.answer->done->detail.find("did not answer within 800 ms"), std::string::npos) << h.answer->done->detail;
  EXPECT_EQ(issuer_->stats().timeouts, 1u);
  // The owner answers late: nothing more reaches the issuer.
  held.answer({});
  held.done({});
  loop_.run_until([] { return false; }, 300ms);
  EXPECT_EQ(h.order, std::vector<std::string>{"answered"});
}

TEST_F(CommandRelayTest, MalformedAndOversizedCommandsAreRefusedOrDropped) {
  int handled = 0;
  ASSERT_TRUE(owner_->serve("lab", [&](ports::RelayedCommand, ports::RelayReplies r) {
    ++handled;
    r.answer({});
  }));
  // A peer that sends garbage on the subject gets bad_request; the handler never sees it.
  natsSubscription* inbox = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&inbox, issuer_nats_->handle(), "test.reply"), NATS_OK);
  const std::string bad = "{\"v\":1,\"tenant\":\"default\",\"user\":7,\"op\":\"hangup\"}";
  ASSERT_EQ(natsConnection_PublishRequest(issuer_nats_->handle(), command_subject("lab").c_str(), "test.reply",
                                          bad.data(), static_cast<int>(bad.size())),
            NATS_OK);
  std::string answer;
  ASSERT_TRUE(loop_.run_until([&] {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, inbox, 10) != NATS_OK) return false;
    answer.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    return true;
  }));
  EXPECT_NE(answer.find("\"failure\":\"bad_request\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("user is not a string"), std::string::npos) << answer;
  EXPECT_EQ(handled, 0);

  // More than 64 KiB: dropped unread (counted), no answer.
  const std::string big(70 * 1024, 'x');
  ASSERT_EQ(natsConnection_PublishRequest(issuer_nats_->handle(), command_subject("lab").c_str(), "test.reply",
                                          big.data(), static_cast<int>(big.size())),
            NATS_OK);
  ASSERT_TRUE(loop_.run_until([&] { return owner_->stats().dropped == 1; }));
  natsMsg* m = nullptr;
  EXPECT_NE(natsSubscription_NextMsg(&m, inbox, 200), NATS_OK) << "no answer to a dropped message";
  if (m) natsMsg_Destroy(m);
  EXPECT_EQ(handled, 0);
  natsSubscription_Destroy(inbox);
}

// A move (POST /api/v1/calls/{id}/move on a node without the link) arrives with the device the
// issuing node found, and is a two-step command: the PBX's answer comes with the owner's first
// answer, the final word (the new device talks) later, and both reach the issuer.
TEST_F(CommandRelayTest, AMoveArrivesWholeAndItsFinalWordFollowsTheAnswer) {
  std::optional<ports::RelayedCommand> got;
  ports::RelayReplies later;
  ASSERT_TRUE(owner_->serve("lab", [&](ports::RelayedCommand c, ports::RelayReplies r) {
    got = c;
    ports::RelayedAnswer a;
    a.done = ports::RelayedOutcome{};  // the PBX queued the Originate at once
    a.done->call_id = c.target;
    r.answer(a);
    later = std::move(r);
  }));
  Heard h;
  auto cmd = hangup_by_anna();
  cmd.op = "move";
  cmd.device = "handy";
  cmd.number = "+491701234567";
  cmd.private_device = false;
  issuer_->send("lab", cmd, h.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h.answer.has_value(); }));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->op, "move");
  EXPECT_EQ(got->target, "call-7");
  EXPECT_EQ(got->device, "handy");
  EXPECT_EQ(got->number, "+491701234567");
  EXPECT_FALSE(got->private_device);
  ASSERT_TRUE(h.answer->done);
  EXPECT_TRUE(h.answer->done->ok);
  EXPECT_EQ(issuer_->stats().pending, 1u) << "a move waits for its final word";
  ports::RelayedOutcome talking;
  talking.call_id = "call-7";
  later.finished(talking);
  ASSERT_TRUE(loop_.run_until([&] { return h.finished.has_value(); }));
  EXPECT_TRUE(h.finished->ok);
  EXPECT_EQ(h.finished->call_id, "call-7");
  EXPECT_EQ(h.order, (std::vector<std::string>{"answered", "finished"}));
  EXPECT_EQ(issuer_->stats().pending, 0u);

  // Back to the desk: no number, private as it was not said.
  got.reset();
  Heard h2;
  auto desk = hangup_by_anna();
  desk.op = "move";
  desk.device = "100";
  issuer_->send("lab", desk, h2.handlers());
  ASSERT_TRUE(loop_.run_until([&] { return h2.answer.has_value(); }));
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->number);
  EXPECT_TRUE(got->private_device);
}

TEST(CommandRelayWire, AMovesDeviceNumberAndPrivacyAreChecked) {
  auto c = hangup_by_anna();
  c.op = "move";
  c.device = "mobile";
  c.number = "+491701234567";
  c.private_device = false;
  const std::string text = encode_command(c);
  EXPECT_NE(text.find("\"number\":\"+491701234567\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"private\":false"), std::string::npos) << text;
  auto back = decode_command(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->op, "move");
  EXPECT_EQ(back->device, "mobile");
  EXPECT_EQ(back->number, "+491701234567");
  EXPECT_FALSE(back->private_device);
  // Other commands carry neither.
  const std::string hangup = encode_command(hangup_by_anna());
  EXPECT_EQ(hangup.find("number"), std::string::npos) << hangup;
  EXPECT_EQ(hangup.find("private"), std::string::npos) << hangup;
  EXPECT_TRUE(decode_command(hangup)->private_device);

  const std::string head = R"({"v":1,"tenant":"t","user":"u","op":"move","target":"c1")";
  EXPECT_TRUE(decode_command(head + R"(,"device":"100"})"));
  auto no_device = decode_command(head + "}");
  ASSERT_FALSE(no_device);
  EXPECT_NE(no_device.error().message().find("move without the device"), std::string::npos);
  EXPECT_FALSE(decode_command(head + R"(,"device":""})"));
  auto typed = decode_command(head + R"(,"device":"mobile","number":"+49170","private":"yes"})");
  ASSERT_FALSE(typed);
  EXPECT_NE(typed.error().message().find("private is not a boolean"), std::string::npos) << typed.error().message();
  auto num = decode_command(head + R"(,"device":"mobile","number":491701234567})");
  ASSERT_FALSE(num);
  EXPECT_NE(num.error().message().find("number is not a string"), std::string::npos) << num.error().message();
  auto shape = decode_command(head + R"(,"device":"mobile","number":"0170; drop"})");
  ASSERT_FALSE(shape);
  EXPECT_NE(shape.error().message().find("not an E.164 number"), std::string::npos) << shape.error().message();
  EXPECT_FALSE(decode_command(head + R"(,"device":"mobile","number":"+4917012345678901234"})"));
}

TEST(CommandRelayWire, DecodeChecksEveryField) {
  auto c = hangup_by_anna();
  c.to = "101";
  c.scope_own = {"100"};
  auto back = decode_command(encode_command(c));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->user, "anna");
  EXPECT_EQ(back->to, "101");
  EXPECT_EQ(back->scope_own, std::vector<std::string>{"100"});
  EXPECT_FALSE(decode_command("not json"));
  EXPECT_FALSE(decode_command("[]"));
  EXPECT_FALSE(decode_command("{\"v\":2,\"tenant\":\"t\",\"user\":\"u\",\"op\":\"hangup\"}"));
  auto typed = decode_command("{\"v\":1,\"tenant\":\"t\",\"user\":7,\"op\":\"hangup\"}");
  ASSERT_FALSE(typed);
  EXPECT_NE(typed.error().message().find("user is not a string"), std::string::npos);
  EXPECT_FALSE(decode_command("{\"v\":1,\"tenant\":\"t\",\"user\":\"u\",\"op\":\"\"}"));
  EXPECT_FALSE(decode_command("{\"v\":1,\"tenant\":\"t\",\"user\":\"u\",\"op\":\"x\",\"extensions\":[1]}"));
  EXPECT_FALSE(decode_command(std::string(70 * 1024, ' ')));
  EXPECT_EQ(command_subject("lab"), "cb.cmd.lab");
  EXPECT_EQ(command_subject("a.b c*"), "cb.cmd.a=2Eb=20c=2A");
}

}  // namespace
}  // namespace callbridge::cluster
