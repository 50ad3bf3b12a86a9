// Commands on any node of a cluster (docs/cluster.md "Commands on any node"): a real
// `nats-server -js`, a real PostgreSQL ([cluster] postgres), the PBX simulator (no traffic: the
// calls are the test's own) and two callbridged nodes with one [[pbx]] link. Users and tokens are
// in the shared database, so one token works on both nodes.
//   - on the node that does NOT own the link: make call (the PBX rings Anna's phone, its final word,
//     the call id, comes back to that node's command log), retrieve of a call that is not held (409
//     action-not-allowed, as the owner answers it itself), hang up (the call ends on the PBX), a
//     device that is not hers (403 forbidden) and an unknown call (404 not-found): the same status
//     and problem type as the owner gives for the same request;
//   - moving a call (POST /api/v1/calls/{id}/move) on the node that does NOT own the link: a device
//     that is not hers is 404 device-not-found there (its identity store lookup), a call that does
//     not exist gets the owner's 404 not-found, and her connected call moves to her mobile (the
//     simulator rings it behind the trunk and bridges it with the other party): the command record
//     on the issuing node reaches "done" with the same call id; the move back to the desk issued on
//     the owner answers and records the same way;
//   - AnyDevice (issue 19): the active device Anna chooses on the node that does NOT own the link
//     (her mobile, then her desk phone) is what the owner's next make call rings first (the
//     call's trunk channel, the journal entry's device);
//   - owner stopped (SIGSTOP, its lease not yet expired): the command times out, 504
//     pbx-unavailable after [cluster] command_timeout_ms; owner killed (kill -9) before anyone took
//     the link: 503 pbx-unavailable at once (nobody serves the link's subject), well before the
//     timeout.
// Waits are on the nodes' output and HTTP answers with deadlines; times are printed, not asserted.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/nats_server.hpp"
#include "support/temp_dir.hpp"

namespace cluster_e2e {
std::shared_ptr<void> start_postgres(std::string& conninfo, std::string& error);  // cluster_e2e_pg.cpp
}

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using callbridge::testing::ChildProcess;
using callbridge::testing::HttpAnswer;
using callbridge::testing::HttpClient;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::regex kListening(R"(HTTP API listening on 127\.0\.0\.1:(\d+))");
const std::regex kLinkUp(R"(AMI link to 127\.0\.0\.1:\d+ up)");
const std::regex kServes(R"(cluster: node (\S+) serves the commands of pbx lab)");
const std::regex kLost(R"(cluster: node (\S+) lost the lease of pbx lab)");

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

struct Node {
  std::string name;
  std::string config;
  std::unique_ptr<ChildProcess> proc;
  int http = 0;
  bool has(const std::regex& re) const { return std::regex_search(proc->output(), re); }
};

json::object body_of(const HttpAnswer& a) {
  boost::system::error_code ec;
  auto v = json::parse(a.body, ec);
  return ec || !v.is_object() ? json::object{} : v.as_object();
}

std::string str(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

class ClusterCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.ok()) << nats_.log();
    std::string error;
    pg_ = cluster_e2e::start_postgres(pg_conninfo_, error);
    ASSERT_TRUE(pg_) << error;
    sim_ = std::make_unique<ChildProcess>(CALLBRIDGE_PBXSIM_PATH,
                                          std::vector<std::string>{"--listen", "127.0.0.1:0", "--user", "cti",
                                                                   "--secret", "cti-secret", "--speed", sim_speed_});
    auto m = sim_->wait_for(std::regex(R"(AMI on 127\.0\.0\.1:(\d+))"));
    ASSERT_FALSE(m.empty()) << sim_->output();
    sim_port_ = std::stoi(m[1].str());
  }

  void start_nodes(int n) {
    for (int i = 1; i <= n; ++i) {
      Node node;
      node.name = "n" + std::to_string(i);
      fs::create_directories(dir_ / node.name);
      node.config = dir_ / (node.name + ".toml");
      std::ofstream(node.config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << (dir_ / node.name)
                                 << "/data\"\n\n[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << sim_port_
                                 << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\n"
                                    "connect_timeout_s = 5\nreconnect_min_ms = 20\nreconnect_max_ms = 200\n\n"
                                    "[cluster]\nnode = \""
                                 << node.name << "\"\nnats_url = \"" << nats_.url() << "\"\npostgres = \""
                                 << pg_conninfo_ << "\"\ncommand_timeout_ms = " << kTimeoutMs << "\n"
                                 << extra_config_;
      node.proc = std::make_unique<ChildProcess>(CALLBRIDGED_PATH, std::vector<std::string>{"--config", node.config});
      nodes_.push_back(std::move(node));
    }
    for (auto& node : nodes_) {
      auto m = node.proc->wait_for(kListening);
      ASSERT_FALSE(m.empty()) << node.proc->output();
      node.http = std::stoi(m[1].str());
    }
    // Users live in the shared database: a token made with either node's configuration works on both.
    anna_ = token(nodes_[0].config, "anna", "100");
    ASSERT_FALSE(anna_.empty());
  }

  static std::string token(const std::string& config, const std::string& user, const std::string& ext) {
    ChildProcess p(CALLBRIDGE_CLI_PATH, {"token", "create", "--config", config, "--tenant", "default", "--user", user,
                                         "--role", "user", "--extension", ext});
    p.wait_exit();
    std::smatch m;
    std::string out = p.output();
    if (!std::regex_search(out, m, std::regex("cbt_[A-Za-z0-9_]+"))) return {};
    return m[0].str();
  }

  bool until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
    auto end = Clock::now() + limit;
    while (!pred()) {
      if (Clock::now() > end) return false;
      for (auto& n : nodes_)
        if (n.proc->running()) n.proc->pump(10);
    }
    return true;
  }

  // The node whose driver runs and serves the link's commands.
  Node* owner() {
    for (auto& n : nodes_)
      if (n.proc->running() && n.has(kLinkUp) && n.has(kServes)) return &n;
    return nullptr;
  }

  HttpAnswer post(const Node& n, const std::string& path, const std::string& body) {
    HttpClient c(static_cast<std::uint16_t>(n.http));
    return c.request("POST", path, {"Authorization: Bearer " + anna_}, body);
  }
  HttpAnswer get(const Node& n, const std::string& path, const std::string& token = {}) {
    HttpClient c(static_cast<std::uint16_t>(n.http));
    return c.request("GET", path, {"Authorization: Bearer " + (token.empty() ? anna_ : token)});
  }

  // The command `id` in node n's log once `pred` holds for it (empty object: not in time).
  json::object command_when(const Node& n, const std::string& id, const std::function<bool(const json::object&)>& pred,
                            std::chrono::milliseconds limit = 20s) {
    json::object last;
    until([&] {
      auto a = get(n, "/api/v1/commands/" + id);
      if (a.status != 200) return false;
      last = body_of(a);
      return pred(last);
    }, limit);
    return pred(last) ? last : json::object{};
  }

  // Until node n knows which node owns the link: its lease watch reads the key every 250 ms, so
  // right after the owner's start n may still answer "no node owns it" (503), as CI saw under load.
  // A hangup of an unknown call is harmless: it is routed to the owner, which answers for itself.
  bool routes_to_owner(const Node& n) {
    return until([&] { return post(n, "/api/v1/calls/c-1/hangup", "{}").status != 503; });
  }

  // Every node's output, for a failure's message.
  std::string logs() {
    std::string out;
    for (auto& n : nodes_) out += "--- node " + n.name + ":\n" + n.proc->output();
    return out;
  }

  bool call_listed(const Node& n, const std::string& call_id) {
    auto a = get(n, "/api/v1/calls");
    return a.status == 200 && a.body.find("\"" + call_id + "\"") != std::string::npos;
  }

  static constexpr int kTimeoutMs = 1500;
  // Set by a derived fixture's constructor (before SetUp): the simulator's speed (simulated seconds
  // per real second) and what follows the nodes' [cluster] keys (more of them, then other tables).
  std::string sim_speed_ = "1";
  std::string extra_config_;
  callbridge::testing::NatsServer nats_;
  callbridge::testing::TempDir dir_{"cb-cluster-cmd"};
  std::shared_ptr<void> pg_;
  std::string pg_conninfo_;
  std::unique_ptr<ChildProcess> sim_;
  int sim_port_ = 0;
  std::string anna_;
  std::vector<Node> nodes_;  // last: the nodes go first
};

TEST_F(ClusterCommands, CommandsIssuedOnTheOtherNodeAreCarriedOutByTheOwner) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner() != nullptr; })) << nodes_[0].proc->output() << nodes_[1].proc->output();
  Node* own = owner();
  Node* other = own == &nodes_[0] ? &nodes_[1] : &nodes_[0];
  EXPECT_FALSE(other->has(kLinkUp)) << "only the owner connects to the PBX";
  ASSERT_TRUE(routes_to_owner(*other));

  // Make call on the other node: Anna's phone (100) rings and answers, the PBX dials 101.
  const auto sent = Clock::now();
  auto a = post(*other, "/api/v1/calls", R"({"to":"101"})");
  ASSERT_EQ(a.status, 202) << a.body;
  const auto answered_ms = ms_since(sent);
  auto made = body_of(a);
  const std::string cmd = str(made, "command_id");
  ASSERT_FALSE(cmd.empty()) << a.body;
  EXPECT_EQ(str(made, "request_id").rfind("c2d-", 0), 0u) << a.body;  // the owner's correlation id
  // Its final word (OriginateResponse on the owner: the first leg answered) reaches this node.
  auto done = command_when(*other, cmd, [](const json::object& c) {
    return str(c, "state") == "done" && !str(c, "call_id").empty();
  });
  ASSERT_FALSE(done.empty()) << "make call did not finish on the issuing node\n" << own->proc->output();
  const std::string call_id = str(done, "call_id");
  std::printf("make call on the non-owner: 202 after %lld ms, done with call %s after %lld ms\n", answered_ms,
              call_id.c_str(), ms_since(sent));
  // The PBX did it: the owner follows the call.
  ASSERT_TRUE(until([&] { return call_listed(*own, call_id); }, 10s)) << get(*own, "/api/v1/calls").body;

  // Refusals come back with the owner's status and problem type.
  auto same = [&](const std::string& path, const std::string& body, int status, const std::string& type) {
    auto remote = post(*other, path, body);
    auto local = post(*own, path, body);
    EXPECT_EQ(remote.status, status) << path << " " << remote.body;
    EXPECT_EQ(str(body_of(remote), "type"), str(body_of(local), "type")) << remote.body << " vs " << local.body;
    EXPECT_EQ(local.status, status) << path << " " << local.body;
    EXPECT_NE(str(body_of(remote), "type").find(type), std::string::npos) << remote.body;
    EXPECT_EQ(str(body_of(remote), "detail"), str(body_of(local), "detail"));
  };
  same("/api/v1/calls/" + call_id + "/retrieve", "{}", 409, "action-not-allowed");
  same("/api/v1/calls", R"({"to":"102","from":"103"})", 403, "forbidden");
  same("/api/v1/calls/no-such-call/hangup", "{}", 404, "not-found");

  // Hang up on the other node: the PBX ends the call.
  auto h = post(*other, "/api/v1/calls/" + call_id + "/hangup", "{}");
  ASSERT_EQ(h.status, 202) << h.body;
  const std::string hang = str(body_of(h), "command_id");
  auto hung = command_when(*other, hang, [](const json::object& c) { return str(c, "state") != "accepted"; });
  EXPECT_EQ(str(hung, "state"), "done") << json::serialize(hung);
  EXPECT_TRUE(until([&] { return !call_listed(*own, call_id); }, 10s)) << get(*own, "/api/v1/calls").body;

  // The commands are the issuing node's: its log has them, the owner's does not.
  EXPECT_EQ(str(body_of(get(*other, "/api/v1/commands/" + cmd)), "action"), "make_call");
  EXPECT_EQ(get(*own, "/api/v1/commands/" + hang).status, 404);
}

// Moves need Anna's mobile (AnyDevice: a dialing plan to make its number E.164 and a policy that
// allows it) and time: the simulator's make call talks 5 s after the destination answered and a
// mobile answers 3 s after it rang; at a quarter of real speed those are 20 s and 12 s, so the
// move is done well before the call would end, also on a loaded machine (the 2 s left at full
// speed are not enough where a node may stall for seconds). This test is not about
// failover: a 15 s lease keeps a loaded machine's stalls (CI saw 3 s without a renewal) from
// moving the link to the other node in the middle of it.
class ClusterMove : public ClusterCommands {
 protected:
  ClusterMove() {
    sim_speed_ = "0.25";
    extra_config_ =
        "lease_ttl_ms = 15000\n"
        "\n[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\nbase_number = \"555\"\n"
        "extension_length = 3\noutside_prefix = \"0\"\n\n[tenant.default.call_control]\n"
        "office_number = \"+4930555100\"\n\n[tenant.default.any_device]\nallow = [\"+4917*\"]\n";
  }

  HttpAnswer put(const Node& n, const std::string& path, const std::string& body) {
    HttpClient c(static_cast<std::uint16_t>(n.http));
    return c.request("PUT", path, {"Authorization: Bearer " + anna_}, body);
  }

  // What a move's 202 says apart from its ids and times: the fields, status, the record's action,
  // state and call.
  static std::string shape(const json::object& o) {
    std::string s;
    for (const auto& kv : o) s += std::string(kv.key()) + ",";
    s += " status=" + str(o, "status");
    if (const auto* c = o.if_contains("command"); c && c->is_object()) {
      s += " command:";
      for (const auto& kv : c->get_object()) s += std::string(kv.key()) + ",";
      s += " action=" + str(c->get_object(), "action") + " state=" + str(c->get_object(), "state");
      s += std::string(" call_id=") + (str(c->get_object(), "call_id") == str(o, "call_id") ? "same" : "other");
    }
    return s;
  }
};

TEST_F(ClusterMove, AMoveIssuedOnTheOtherNodeIsCarriedOutByTheOwner) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner() != nullptr; })) << logs();
  Node* own = owner();
  Node* other = own == &nodes_[0] ? &nodes_[1] : &nodes_[0];
  ASSERT_TRUE(routes_to_owner(*other));
  const std::string ben = token(nodes_[0].config, "ben", "101");
  ASSERT_FALSE(ben.empty());

  // Anna adds her mobile on the other node (the shared identity store keeps it).
  auto d = put(*other, "/api/v1/me/devices/mobile", R"({"number":"0170 1234567"})");
  ASSERT_EQ(d.status, 201) << d.body;

  // Not one of her devices: the issuing node's lookup answers, nothing is sent.
  auto unknown = post(*other, "/api/v1/calls/no-such-call/move", R"({"device":"tablet"})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(str(body_of(unknown), "type").find("device-not-found"), std::string::npos) << unknown.body;
  EXPECT_NE(str(body_of(unknown), "detail").find("mobile"), std::string::npos) << unknown.body;
  // A call that does not exist: the owner's refusal, as the owner gives it to its own users.
  auto remote = post(*other, "/api/v1/calls/no-such-call/move", R"({"device":"mobile"})");
  auto local = post(*own, "/api/v1/calls/no-such-call/move", R"({"device":"mobile"})");
  EXPECT_EQ(remote.status, 404) << remote.body;
  EXPECT_NE(str(body_of(remote), "type").find("not-found"), std::string::npos) << remote.body;
  EXPECT_EQ(str(body_of(remote), "type"), str(body_of(local), "type")) << remote.body << " vs " << local.body;
  EXPECT_EQ(str(body_of(remote), "detail"), str(body_of(local), "detail"));
  EXPECT_NE(str(body_of(remote), "detail").find("This call is over or not yours"), std::string::npos) << remote.body;

  // Anna calls Ben from her desk phone (issued on the other node); the move waits until Ben talks.
  auto a = post(*other, "/api/v1/calls", R"({"to":"101"})");
  ASSERT_EQ(a.status, 202) << a.body;
  auto made = command_when(
      *other, str(body_of(a), "command_id"),
      [](const json::object& c) { return str(c, "state") == "done" && !str(c, "call_id").empty(); }, 40s);
  ASSERT_FALSE(made.empty()) << logs();
  const std::string call_id = str(made, "call_id");
  auto bens_connected = [&] {
    auto c = get(*own, "/api/v1/calls/" + call_id, ben);
    return c.status == 200 && c.body.find(R"("device":"101","state":"connected")") != std::string::npos;
  };
  ASSERT_TRUE(until(bens_connected, 40s)) << get(*own, "/api/v1/calls/" + call_id, ben).body << logs();

  // To her mobile, issued on the other node: the owner's simulator rings it and bridges it with Ben.
  const auto sent = Clock::now();
  auto m = post(*other, "/api/v1/calls/" + call_id + "/move", R"({"device":"mobile"})");
  ASSERT_EQ(m.status, 202) << m.body << logs();
  const auto answered_ms = ms_since(sent);
  const auto moved = body_of(m);
  EXPECT_EQ(str(moved, "call_id"), call_id) << m.body;
  const std::string move_cmd = str(moved, "command_id");
  ASSERT_FALSE(move_cmd.empty()) << m.body;
  auto move_done =
      command_when(*other, move_cmd, [](const json::object& c) { return str(c, "state") != "accepted"; }, 40s);
  ASSERT_EQ(str(move_done, "state"), "done") << json::serialize(move_done) << logs();
  EXPECT_EQ(str(move_done, "action"), "move");
  EXPECT_EQ(str(move_done, "call_id"), call_id);
  std::printf("move on the non-owner: 202 after %lld ms, done after %lld ms (the simulated mobile answers after 3 s, "
              "12 s at a quarter of real speed)\n", answered_ms, ms_since(sent));
  // The PBX did it: Anna's call keeps its id and talks, now through a trunk channel (the mobile;
  // before, both channels were internal).
  auto on_mobile = [&] {
    auto c = get(*own, "/api/v1/calls/" + call_id);
    auto o = body_of(c);
    const auto* ch = o.if_contains("channels");
    const auto* trunk = ch && ch->is_object() ? ch->get_object().if_contains("trunk") : nullptr;
    return c.status == 200 && c.body.find(R"("device":"100","state":"connected")") != std::string::npos && trunk &&
           trunk->is_int64() && trunk->get_int64() == 1;
  };
  EXPECT_TRUE(until(on_mobile, 10s)) << get(*own, "/api/v1/calls/" + call_id).body << logs();

  // Back to the desk, issued on the owner: its 202 and record look like the other node's.
  auto back = post(*own, "/api/v1/calls/" + call_id + "/move", R"({"device":"100"})");
  ASSERT_EQ(back.status, 202) << back.body;
  EXPECT_EQ(shape(body_of(back)), shape(moved)) << back.body << " vs " << m.body;
  auto back_done = command_when(
      *own, str(body_of(back), "command_id"), [](const json::object& c) { return str(c, "state") != "accepted"; },
      40s);
  EXPECT_EQ(str(back_done, "state"), "done") << json::serialize(back_done);
  auto rec_other = move_done, rec_own = back_done;
  for (auto* r : {&rec_other, &rec_own})
    for (const char* k : {"id", "created_at", "updated_at"}) r->erase(k);
  EXPECT_EQ(json::serialize(rec_other), json::serialize(rec_own));
  // The issuing node's log has its command, the owner's does not.
  EXPECT_EQ(get(*own, "/api/v1/commands/" + move_cmd).status, 404);

  auto h = post(*other, "/api/v1/calls/" + call_id + "/hangup", "{}");
  EXPECT_EQ(h.status, 202) << h.body;
}

// Issue 19: the active device Anna chooses on the node that does NOT own the link is what the
// owner's make call rings first. The owner keeps every user's active device in memory (its make
// calls' Originate and its journal read it); the choice reaches it through the event log (the
// user_devices record), and it re-reads Anna's devices from the shared database. Real speed: the
// simulated mobile answers after 3 s.
class ClusterAnyDevice : public ClusterMove {
 protected:
  // ClusterMove's tenant without its outside prefix: the simulated PBX, as the lab, dials a
  // national number as it is ("0170..."; with a prefix "00170..." would be international there).
  ClusterAnyDevice() {
    sim_speed_ = "1";
    extra_config_ =
        "lease_ttl_ms = 15000\n"
        "\n[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\nbase_number = \"555\"\n"
        "extension_length = 3\n\n[tenant.default.call_control]\noffice_number = \"+4930555100\"\n\n"
        "[tenant.default.any_device]\nallow = [\"+4917*\"]\n";
  }

  // The call once Anna's side (100) and Ben (101) talk: its "channels" (the mobile is the trunk's).
  json::object talking(const Node& n, const std::string& call_id) {
    json::object out;
    until([&] {
      auto c = get(n, "/api/v1/calls/" + call_id);
      if (c.status != 200 || c.body.find(R"("device":"100","state":"connected")") == std::string::npos ||
          c.body.find(R"("device":"101","state":"connected")") == std::string::npos)
        return false;
      out = body_of(c);
      return true;
    }, 30s);
    return out;
  }
  static std::int64_t trunk_channels(const json::object& call) {
    const auto* ch = call.if_contains("channels");
    const auto* t = ch && ch->is_object() ? ch->get_object().if_contains("trunk") : nullptr;
    return t && t->is_int64() ? t->get_int64() : -1;
  }
  // A make call to Ben issued on `n`, until both talk on the owner: the call.
  json::object call_ben(Node& n, Node& own) {
    auto a = post(n, "/api/v1/calls", R"({"to":"101"})");
    EXPECT_EQ(a.status, 202) << a.body;
    const std::string id = str(body_of(a), "command_id");
    auto made = command_when(
        n, id, [](const json::object& c) { return str(c, "state") == "done" && !str(c, "call_id").empty(); }, 30s);
    if (made.empty()) {
      ADD_FAILURE() << "make call not done: " << get(n, "/api/v1/commands/" + id).body;
      return {};
    }
    auto call = talking(own, str(made, "call_id"));
    if (call.empty()) ADD_FAILURE() << "not talking: " << get(own, "/api/v1/calls").body;
    return call;
  }
  bool hang_up(Node& n, Node& own, const std::string& call_id) {
    auto h = post(n, "/api/v1/calls/" + call_id + "/hangup", "{}");
    return h.status == 202 && until([&] { return !call_listed(own, call_id); });
  }
};

TEST_F(ClusterAnyDevice, TheActiveDeviceChosenOnTheOtherNodeIsWhatTheOwnersMakeCallRings) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner() != nullptr; })) << logs();
  Node* own = owner();
  Node* other = own == &nodes_[0] ? &nodes_[1] : &nodes_[0];
  ASSERT_TRUE(routes_to_owner(*other));

  // On the other node: Anna adds her mobile and makes it her active device. The owner learns it
  // from the event log and says so once it has re-read her devices.
  auto d = put(*other, "/api/v1/me/devices/mobile", R"({"number":"0170 1234567"})");
  ASSERT_EQ(d.status, 201) << d.body;
  auto chose = put(*other, "/api/v1/me/devices/active", R"({"device":"mobile"})");
  ASSERT_EQ(chose.status, 200) << chose.body;
  const std::regex now_mobile("anna's devices changed on another node; active device: mobile");
  ASSERT_TRUE(until([&] { return own->has(now_mobile); })) << logs();
  EXPECT_FALSE(other->has(now_mobile)) << "the node that stored the change does not hear it back";

  // A make call issued on the owner rings the mobile first: behind the trunk (a desk call has no
  // trunk channel), and the journal names the mobile as the device that carried it.
  auto mobile_call = call_ben(*own, *own);
  ASSERT_FALSE(mobile_call.empty()) << logs();
  const std::string first = str(mobile_call, "id");
  EXPECT_EQ(trunk_channels(mobile_call), 1) << json::serialize(mobile_call);
  ASSERT_TRUE(hang_up(*own, *own, first)) << logs();
  // Anna's journal (newest first) once `pred` holds for it: the owner wrote the entries.
  auto journal_when = [&](const std::function<bool(const json::array&)>& pred) {
    json::array last;
    until([&] {
      auto j = body_of(get(*own, "/api/v1/journal"));
      const auto* es = j.if_contains("entries");
      if (!es || !es->is_array()) return false;
      last = es->get_array();
      return pred(last);
    });
    return pred(last);
  };
  auto device_name = [](const json::value& e) {
    const auto* dev = e.is_object() ? e.get_object().if_contains("device") : nullptr;
    return dev && dev->is_object() ? "device " + str(dev->get_object(), "name") + " " + str(dev->get_object(), "number")
                                   : std::string("desk");
  };
  EXPECT_TRUE(journal_when([&](const json::array& es) {
    return es.size() == 1 && device_name(es[0]) == "device mobile +491701234567";
  })) << get(*own, "/api/v1/journal").body;

  // Back to the desk phone, chosen on the other node: the next make call (issued there too) rings
  // the desk phone, no trunk channel.
  auto desk = put(*other, "/api/v1/me/devices/active", R"({"device":"100"})");
  ASSERT_EQ(desk.status, 200) << desk.body;
  ASSERT_TRUE(until([&] { return own->has(std::regex("anna's devices changed on another node; active device: 100")); }))
      << logs();
  auto desk_call = call_ben(*other, *own);
  ASSERT_FALSE(desk_call.empty()) << logs();
  EXPECT_EQ(trunk_channels(desk_call), 0) << json::serialize(desk_call);
  const std::string second = str(desk_call, "id");
  ASSERT_TRUE(hang_up(*other, *own, second)) << logs();
  EXPECT_TRUE(journal_when([&](const json::array& es) {
    return es.size() == 2 && device_name(es[0]) == "desk" && device_name(es[1]) == "device mobile +491701234567";
  })) << get(*own, "/api/v1/journal").body;
}

TEST_F(ClusterCommands, AStoppedOwnerTimesOutAndNoOwnerAnswersUnavailableAtOnce) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner() != nullptr; }));
  Node* a = owner();
  Node* b = a == &nodes_[0] ? &nodes_[1] : &nodes_[0];

  ASSERT_TRUE(routes_to_owner(*b));  // b must know that a owns the link before a stops
  // The owner is stopped with its lease still valid: nobody answers, the command times out.
  a->proc->signal(SIGSTOP);
  auto sent = Clock::now();
  auto t = post(*b, "/api/v1/calls/c-1/hangup", "{}");
  const auto timeout_ms = ms_since(sent);
  EXPECT_EQ(t.status, 504) << t.body;
  EXPECT_EQ(str(body_of(t), "type").find("pbx-unavailable") != std::string::npos, true) << t.body;
  EXPECT_NE(str(body_of(t), "detail").find("did not answer within 1500 ms"), std::string::npos) << t.body;
  std::printf("stopped owner: 504 after %lld ms (command_timeout_ms %d)\n", timeout_ms, kTimeoutMs);

  // b takes the link over; a, resumed, lost it and stays out.
  ASSERT_TRUE(until([&] { return b->has(kLinkUp) && b->has(kServes); })) << b->proc->output();
  a->proc->signal(SIGCONT);
  ASSERT_TRUE(until([&] { return a->has(kLost); })) << a->proc->output();

  // Now b owns the link; kill it: until a takes over (lease ttl later), nobody serves the link.
  b->proc->signal(SIGKILL);
  b->proc->wait_exit();
  sent = Clock::now();
  auto u = post(*a, "/api/v1/calls/c-1/hangup", "{}");
  const auto unavailable_ms = ms_since(sent);
  EXPECT_EQ(u.status, 503) << u.body;
  EXPECT_NE(str(body_of(u), "type").find("pbx-unavailable"), std::string::npos) << u.body;
  std::printf("owner killed: 503 pbx-unavailable after %lld ms (not the %d ms timeout)\n", unavailable_ms, kTimeoutMs);
  // And a make call likewise: nothing is dialed, nothing waits.
  auto m = post(*a, "/api/v1/calls", R"({"to":"101"})");
  EXPECT_EQ(m.status, 503) << m.body;
}

}  // namespace
