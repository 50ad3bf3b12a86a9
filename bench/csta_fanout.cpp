// CSTA server benchmark (issue 15, docs/performance.md "CSTA"), in one process and one run, against
// callbridge's own API doing the same work:
//  1. fan-out: call events of one line to N clients that watch it — N CSTA device monitors
//     (csta_server::CstaServer sessions: each event mapped once per device, encoded once per
//     distinct monitorCrossRefID/edition/id style/framing, the frame shared into the clients'
//     outboxes; measured with one cross reference id for all and with --distinct-refs ids) vs N WebSocket event subscriptions (core::EventHub: each event encoded once,
//     the shared frame queued per client with its WebSocket header). Events delivered per second.
//  2. MakeCall round trip: a CSTA MakeCall frame into a session until its MakeCallResponse frame
//     is out vs POST /api/v1/calls through the REST API's router (api::HttpServer::dispatch, the
//     calls capability's command routes) until its 202; both through the same TenantRuntime and
//     core::CallControlService to a PBX driver that accepts at once.
// No sockets (the socket write is the same for both and measured by ws_fanout/ami_socket), a
// real TenantRuntime, EventHub, CstaServer, HttpServer router. Single thread.
//   csta_fanout [--clients 1000] [--calls 200] [--make-calls 2000] [--reps 3] [--distinct-refs 100] [--smoke]
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "capabilities/calls/command_routes.hpp"
#include "core/event_hub.hpp"
#include "core/journal_policy.hpp"
#include "core/tenant_runtime.hpp"
#include "csta_server/csta_server.hpp"
#include "csta_server/csta_session.hpp"
#include "protocols/csta/codec.hpp"
#include "protocols/csta/framing.hpp"

namespace {

using namespace callbridge;
namespace csta = protocols::csta;
using Clock = std::chrono::steady_clock;
const base::TenantId kTenant("default");

struct NullStore final : ports::JournalStore {
  void append(model::JournalEntry) override {}
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery&) override {
    return std::vector<ports::StoredEntry>{};
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
};

// A PBX that accepts every command at once; its call model plays the calls.
struct Pbx final : ports::PbxDriver, ports::PbxCommands {
  base::TenantId tenant_ = kTenant;
  std::string name_ = "pbx";
  ports::PbxEventSink& sink;
  model::CallModel model;
  std::uint64_t make_calls = 0;
  explicit Pbx(ports::PbxEventSink& s) : sink(s), model(kTenant, [this](const model::CallEvent& e) { sink.on_call_event(e, model); }) {}
  bool available() const override { return true; }
  void make_call(const ports::MakeCallRequest&, ports::CommandDone d) override {
    ++make_calls;
    d({});
  }
  void answer(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hangup(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hold(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  const std::string& name() const override { return name_; }
  const base::TenantId& tenant() const override { return tenant_; }
  void start() override {}
  void stop(std::function<void()> done) override { done(); }
  ports::PbxDriverStatus status() const override { return {.state = "up", .connected = true, .peer = "", .last_error = "", .counters = {}}; }
  const model::CallModel& call_model() const override { return model; }
  ports::PbxCommands* commands() override { return this; }
};

struct AllowAll final : api::PrincipalResolver {
  api::PrincipalResult resolve(const api::HttpRequest&, bool) override {
    return api::Principal{.tenant = kTenant, .user = "anna", .role = api::Role::user, .devices = {"100"}};
  }
};

// A client's outbox: what would go to its socket.
struct Outbox {
  std::deque<std::string> own;                                // bytes of this client only
  std::deque<std::shared_ptr<const std::string>> shared;      // CSTA's and the hub's frames (shared)
  std::deque<std::string> headers;                            // WebSocket: the per-client frame header
  std::uint64_t frames = 0, bytes = 0;
  void drain() {
    own.clear();
    shared.clear();
    headers.clear();
  }
};

// A WebSocket event subscription as api::EventStream keeps one: the hub's frame is shared, the
// client gets a 2-4 byte header (text frame, payload length) in front of it.
struct WsClient final : core::EventSubscriber {
  Outbox out;
  void on_message(const core::HubMessage& m) override {
    const std::size_t n = m.frame->size();
    std::string h;
    h.push_back(static_cast<char>(0x81));
    if (n < 126) {
      h.push_back(static_cast<char>(n));
    } else {
      h.push_back(static_cast<char>(126));
      h.push_back(static_cast<char>(n >> 8));
      h.push_back(static_cast<char>(n & 0xff));
    }
    out.headers.push_back(std::move(h));
    out.shared.push_back(m.frame);
    ++out.frames;
    out.bytes += n;
  }
};

struct Bench {
  base::SystemClock clock;
  core::EventHub hub;
  NullStore store;
  core::JournalPolicy policy{core::JournalPolicyConfig{}};
  std::unique_ptr<core::TenantRuntime> rt;
  Pbx* pbx = nullptr;
  std::unique_ptr<csta_server::CstaServer> server;
  boost::asio::io_context io;
  std::unique_ptr<api::HttpServer> http;
  AllowAll allow;

  Bench() {
    core::TenantServices s;
    s.hub = &hub;
    s.journal = &store;
    s.policy = &policy;
    s.clock = &clock;
    s.post = [](std::function<void()> f) { f(); };
    s.post_after = [](std::chrono::milliseconds, std::function<void()>) {};
    core::DialingPlanOptions o;
    o.country_code = "49";
    o.area_code = "30";
    o.base_number = "555";
    o.extension_ranges = {{"100", "199"}};
    o.outside_prefix = "0";
    auto plan = core::DialingPlan::create(std::move(o));
    core::TenantSpec spec{.id = kTenant, .plan = std::make_shared<const core::DialingPlan>(std::move(*plan))};
    rt = std::make_unique<core::TenantRuntime>(std::move(spec), s);
    auto d = std::make_unique<Pbx>(rt->sink());
    pbx = d.get();
    (void)rt->add_driver(std::move(d));
    rt->start();
    csta_server::CstaServerOptions so;
    so.requests_per_second = 1'000'000'000;
    so.clients = {{"bench", csta_server::sha256_hex("s3cret"), kTenant}};
    csta_server::CstaServerDeps deps;
    deps.hub = &hub;
    deps.runtime = [this](const base::TenantId& t) { return t == kTenant ? rt.get() : nullptr; };
    deps.users = [](const base::TenantId&) {
      return std::vector<ports::User>{ports::User{.tenant = kTenant, .name = "anna", .extensions = {"100"}}};
    };
    deps.clock = &clock;
    server = std::make_unique<csta_server::CstaServer>(std::move(so), std::move(deps));
    http = std::make_unique<api::HttpServer>(io, api::HttpServerOptions{});
    capabilities::calls::CommandRouteDeps cd;
    cd.auth = &allow;
    cd.service_for = [this](const base::TenantId& t) { return t == kTenant ? rt->call_control() : nullptr; };
    cd.log_for = [this](const base::TenantId& t) { return t == kTenant ? rt->shared_commands() : nullptr; };
    capabilities::calls::add_command_routes(*http, std::move(cd));
  }
};

struct CstaClient {
  std::shared_ptr<csta_server::CstaSession> session;
  Outbox out;
  bool closed = false;
  void send(const csta::Message& m, int invoke) {
    std::string frame;
    (void)csta::append_frame(frame, invoke, csta::encode(m, csta::Edition::ed5));
    session->on_bytes(frame);
  }
};

// One call of the watched line: delivered, established, cleared (3 model events).
void play_calls(Pbx& p, int calls, int round) {
  const auto now = base::from_micros(1'795'000'000'000'000LL);
  for (int i = 0; i < calls; ++i) {
    const std::string id = "r" + std::to_string(round) + "c" + std::to_string(i);
    p.model.update(id, "100", model::ConnectionState::alerting, model::CallEventType::delivered, now, "+498912345678");
    p.model.update(id, "100", model::ConnectionState::connected, model::CallEventType::established, now, "+498912345678");
    p.model.clear(id, "100", now, 16);
  }
}

std::string rate(double r) {
  char b[32];
  if (r >= 1e6) std::snprintf(b, sizeof b, "%.2fM", r / 1e6);
  else std::snprintf(b, sizeof b, "%.1fk", r / 1e3);
  return b;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CSTA server vs the WebSocket/REST API: event fan-out to N clients and the MakeCall round trip"};
  int clients = 1000, calls = 200, make_calls = 2000, reps = 3, distinct = 100;
  bool smoke = false;
  app.add_option("--clients", clients, "clients watching the line (CSTA monitors / WebSocket subscriptions)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--calls", calls, "calls of the watched line per repetition (3 events each)")->check(CLI::Range(1, 1000000));
  app.add_option("--make-calls", make_calls, "MakeCall / POST /api/v1/calls requests per repetition")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--reps", reps, "repetitions; the best is reported")->check(CLI::Range(1, 100));
  app.add_option("--distinct-refs", distinct, "different monitorCrossRefIDs among the monitors in the second CSTA case")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--smoke", smoke, "tiny run, correctness checks only");
  CLI11_PARSE(app, argc, argv);
  if (smoke) clients = 20, calls = 10, make_calls = 20, reps = 1, distinct = 5;
  spdlog::set_level(spdlog::level::warn);  // not a line per login

  Bench b;
  const std::uint64_t events = static_cast<std::uint64_t>(calls) * 3;

  // ---- 1. fan-out -------------------------------------------------------------------------------
  // N CSTA clients monitoring line 100; client i first starts and stops a monitor of line 101
  // (i % distinct) times, so the monitors of 100 have `distinct` different monitorCrossRefIDs
  // (1: all "1", the best case for sharing encoded frames; more: an encoding per id and event).
  auto connect_csta = [&](int distinct) -> std::vector<std::unique_ptr<CstaClient>> {
    std::vector<std::unique_ptr<CstaClient>> cc;
    for (int i = 0; i < clients; ++i) {
      auto c = std::make_unique<CstaClient>();
      CstaClient* raw = c.get();
      c->session = b.server->open(
          csta_server::CstaServer::Transport{.send = [raw](std::shared_ptr<const std::string> s) {
                                               raw->out.bytes += s->size();
                                               ++raw->out.frames;
                                               raw->out.shared.push_back(std::move(s));
                                             },
                                             .close = [raw] { raw->closed = true; }},
          "127.0.0.1");
      csta::StartApplicationSession s;
      s.application_id = "bench";
      s.user_id = "bench";
      s.password = "s3cret";
      s.protocol_versions = {std::string(csta::namespace_uri(csta::Edition::ed5))};
      c->send(s, 1);
      const int before = i % distinct;
      for (int k = 0; k < before; ++k) {
        c->send(csta::MonitorStart{.device_object = "101", .call_object = {}, .filter = {}, .monitor_type = {}}, 2);
        c->send(csta::MonitorStop{std::to_string(k + 1)}, 3);
      }
      c->send(csta::MonitorStart{.device_object = "100", .call_object = {}, .filter = {}, .monitor_type = {}}, 4);
      if (c->out.frames != static_cast<std::uint64_t>(2 + 2 * before) || c->closed ||
          c->out.shared.back()->find(">" + std::to_string(before + 1) + "</monitorCrossRefID>") == std::string::npos) {
        std::fprintf(stderr, "csta_fanout: CSTA client %d did not start its session and monitors\n", i);
        std::exit(1);
      }
      c->out = Outbox{};
      cc.push_back(std::move(c));
    }
    return cc;
  };
  // Plays the calls to N CSTA monitors; seconds, and the bytes they got.
  auto run_csta = [&](int distinct, int round, std::uint64_t& bytes) {
    auto cc = connect_csta(distinct);
    auto t0 = Clock::now();
    play_calls(*b.pbx, calls, round);
    const double t = seconds(Clock::now() - t0);
    std::uint64_t frames = 0;
    bytes = 0;
    for (auto& c : cc) frames += c->out.frames, bytes += c->out.bytes;
    // ServiceInitiated is not sent for a call the line did not dial; CallCleared is: 4 per call.
    if (frames != static_cast<std::uint64_t>(clients) * calls * 4) {
      std::fprintf(stderr, "csta_fanout: CSTA clients got %llu events, expected %llu\n",
                   static_cast<unsigned long long>(frames), static_cast<unsigned long long>(clients) * calls * 4);
      std::exit(1);
    }
    // Every client got the same event stream apart from its monitorCrossRefID.
    for (auto& c : cc) {
      const std::string& first = *c->out.shared.front();
      if (first.find("DeliveredEvent") == std::string::npos || first.find(">100<") == std::string::npos) {
        std::fprintf(stderr, "csta_fanout: unexpected first event: %s\n", first.c_str());
        std::exit(1);
      }
    }
    for (auto& c : cc) b.server->closed(c->session);
    return t;
  };
  std::vector<std::unique_ptr<WsClient>> ws;

  double best_csta = 1e99, best_csta_distinct = 1e99, best_ws = 1e99;
  std::uint64_t csta_bytes = 0, ws_bytes = 0;
  for (int r = 0; r < reps; ++r) {
    // CSTA monitors only: one cross reference id, then every monitor its own.
    best_csta = std::min(best_csta, run_csta(1, 3 * r, csta_bytes));
    std::uint64_t distinct_bytes = 0;
    best_csta_distinct = std::min(best_csta_distinct, run_csta(distinct, 3 * r + 1, distinct_bytes));

    // WebSocket subscriptions only (the CSTA sessions stopped watching).
    ws.clear();
    std::vector<std::uint64_t> ids;
    core::EventFilter f;
    f.scope = core::EventScope::own;
    f.own = {"100"};
    f.user = "anna";
    for (int i = 0; i < clients; ++i) {
      ws.push_back(std::make_unique<WsClient>());
      ids.push_back(b.hub.subscribe(kTenant, f, std::nullopt, ws.back().get()).id);
      ws.back()->out = Outbox{};
    }
    auto t0 = Clock::now();
    play_calls(*b.pbx, calls, 3 * r + 2);
    const double tw = seconds(Clock::now() - t0);
    best_ws = std::min(best_ws, tw);
    std::uint64_t frames = 0;
    ws_bytes = 0;
    for (auto& w : ws) frames += w->out.frames, ws_bytes += w->out.bytes;
    // Call events and the line's state changes (ringing, busy, idle): every subscriber gets them.
    if (frames < static_cast<std::uint64_t>(clients) * events) {
      std::fprintf(stderr, "csta_fanout: WebSocket clients got %llu messages, expected at least %llu\n",
                   static_cast<unsigned long long>(frames), static_cast<unsigned long long>(clients) * events);
      return 1;
    }
    for (auto id : ids) b.hub.unsubscribe(kTenant, id);
    ws.clear();
  }
  const double csta_rate = static_cast<double>(events) * clients / best_csta;
  const double csta_distinct_rate = static_cast<double>(events) * clients / best_csta_distinct;
  const double ws_rate = static_cast<double>(events) * clients / best_ws;

  // ---- 2. MakeCall round trip ---------------------------------------------------------------------
  CstaClient mc;
  mc.session = b.server->open(csta_server::CstaServer::Transport{.send = [&mc](std::shared_ptr<const std::string> s) {
                                                                   ++mc.out.frames;
                                                                   mc.out.own.push_back(*s);
                                                                 },
                                                                 .close = [&mc] { mc.closed = true; }},
                              "127.0.0.1");
  {
    csta::StartApplicationSession s;
    s.application_id = "bench";
    s.user_id = "bench";
    s.password = "s3cret";
    s.protocol_versions = {std::string(csta::namespace_uri(csta::Edition::ed5))};
    mc.send(s, 1);
    mc.out.drain();
  }
  std::string make_frame;
  (void)csta::append_frame(make_frame, 7,
                           csta::encode(csta::MakeCall{.calling_device = "100", .called_directory_number = "101",
                                                       .auto_originate = {}},
                                        csta::Edition::ed5));
  api::HttpRequest req;
  req.method = "POST";
  req.target = req.path = "/api/v1/calls";
  req.headers.emplace_back("authorization", "Bearer bench");
  req.headers.emplace_back("content-type", "application/json");
  req.body = R"({"from":"100","to":"101"})";
  req.remote = "127.0.0.1";

  double best_mc = 1e99, best_rest = 1e99;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < make_calls; ++i) {
      mc.out.frames = 0;
      mc.session->on_bytes(make_frame);
      if (mc.out.frames != 1 || mc.out.own.back().find("MakeCallResponse") == std::string::npos) {
        std::fprintf(stderr, "csta_fanout: MakeCall was not answered with MakeCallResponse: %s\n",
                     mc.out.own.empty() ? "(nothing)" : mc.out.own.back().c_str());
        return 1;
      }
      mc.out.drain();
    }
    best_mc = std::min(best_mc, seconds(Clock::now() - t0));
    t0 = Clock::now();
    for (int i = 0; i < make_calls; ++i) {
      auto resp = b.http->dispatch(req);
      if (resp.status != 202) {
        std::fprintf(stderr, "csta_fanout: POST /api/v1/calls answered %d: %s\n", resp.status, resp.body.c_str());
        return 1;
      }
    }
    best_rest = std::min(best_rest, seconds(Clock::now() - t0));
  }
  const double mc_us = best_mc / make_calls * 1e6, rest_us = best_rest / make_calls * 1e6;

  std::printf("csta_fanout: %d clients watching one line, %llu call events (%d calls), best of %d; "
              "%d MakeCall round trips\n\n",
              clients, static_cast<unsigned long long>(events), calls, reps, make_calls);
  std::printf("| work | CSTA server | WebSocket / REST API | CSTA vs API |\n|---|---:|---:|---:|\n");
  std::printf("| call events delivered to %d clients (events x clients / s), one monitorCrossRefID | %s | %s | %.2fx |\n",
              clients, rate(csta_rate).c_str(), rate(ws_rate).c_str(), csta_rate / ws_rate);
  std::printf("| the same, %d different monitorCrossRefIDs (%d encodings per event) | %s | %s | %.2fx |\n",
              std::min(distinct, clients), std::min(distinct, clients), rate(csta_distinct_rate).c_str(),
              rate(ws_rate).c_str(), csta_distinct_rate / ws_rate);
  std::printf("| bytes per event per client | %.0f | %.0f | %.2fx |\n",
              static_cast<double>(csta_bytes) / (static_cast<double>(clients) * calls * 4),
              static_cast<double>(ws_bytes) / (static_cast<double>(clients) * events),
              (static_cast<double>(csta_bytes) / (clients * calls * 4.0)) /
                  (static_cast<double>(ws_bytes) / (clients * static_cast<double>(events))));
  std::printf("| MakeCall round trip (us, in process) | %.1f | %.1f | %.2fx |\n", mc_us, rest_us, mc_us / rest_us);
  std::printf("\nCSTA: events mapped once per device, encoded once per distinct monitorCrossRefID, "
              "the frame shared; "
              "WebSocket: encoded once, the frame shared. MakeCall: frame decode, session checks, "
              "CallControlService, response encode; REST: routing, JSON, the same CallControlService.\n");
  if (b.pbx->make_calls != static_cast<std::uint64_t>(2 * make_calls * reps)) {
    std::fprintf(stderr, "csta_fanout: the PBX got %llu make calls, expected %llu\n",
                 static_cast<unsigned long long>(b.pbx->make_calls),
                 static_cast<unsigned long long>(2 * make_calls * reps));
    return 1;
  }
  return 0;
}
