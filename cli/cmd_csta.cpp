// `callbridge csta`: a CSTA XML client for testing and diagnosing CSTA links (callbridged's [csta]
// server, or any CSTA switch): connect over TCP or TLS, with or without the 8-byte header, in an
// ECMA-323 edition, log in with an API token or a [[csta.client]] credential, ECMA-354 or
// OpenScape-style session start; then monitor devices and print their events, make, answer,
// clear, hold, retrieve and transfer calls, take snapshots, or send raw XML files. The codec is
// callbridge's own (src/protocols/csta); docs/csta.md "The client test tool" shows examples.
// Exit codes: 0 done, 1 the switch answered with an error, 2 connection or login failed.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "protocols/csta/codec.hpp"
#include "protocols/csta/framing.hpp"

namespace callbridge::cli {
namespace {

namespace asio = boost::asio;
namespace csta = protocols::csta;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string connect = "127.0.0.1:1040";
  bool tls = false;
  bool insecure = false;
  std::string ca_file;
  bool headerless = false;
  int edition = 5;
  std::string token;
  std::string user;
  std::string secret;
  std::string secret_file;
  std::string style = "ecma354";
  bool xml = false;
  int timeout_s = 10;
  // Subcommand arguments.
  std::vector<std::string> devices;
  int count = 0;       // monitor: stop after this many events (0 = never)
  int for_s = 0;       // monitor: stop after this many seconds (0 = never)
  std::string from, to, call, device, file;
};

csta::Edition edition_of(int e) { return e >= 3 && e <= 6 ? static_cast<csta::Edition>(e) : csta::Edition::ed5; }

std::string dev(const csta::EventDevice& d) { return d.status == csta::EventDevice::Status::known ? d.id : "-"; }
std::string conn(const csta::ConnectionId& c) { return "call=" + c.call_id + " device=" + c.device_id; }
std::string lci(const std::optional<csta::LocalConnectionState>& s) {
  return s ? std::string(csta::to_string(*s)) : std::string("-");
}

// One line per message: its root element and the fields people look at.
std::string describe(const csta::Message& m) {
  std::ostringstream o;
  o << csta::root_name(m);
  if (auto* e = std::get_if<csta::ServiceInitiatedEvent>(&m))
    o << " " << conn(e->initiated_connection) << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::OriginatedEvent>(&m))
    o << " " << conn(e->originated_connection) << " calling=" << dev(e->calling_device) << " called=" << dev(e->called_device)
      << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::DeliveredEvent>(&m))
    o << " " << conn(e->connection) << " alerting=" << dev(e->alerting_device) << " calling=" << dev(e->calling_device)
      << " called=" << dev(e->called_device) << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::EstablishedEvent>(&m))
    o << " " << conn(e->established_connection) << " answering=" << dev(e->answering_device)
      << " calling=" << dev(e->calling_device) << " called=" << dev(e->called_device)
      << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::HeldEvent>(&m))
    o << " " << conn(e->held_connection) << " holding=" << dev(e->holding_device) << " local=" << lci(e->local_connection_info)
      << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::RetrievedEvent>(&m))
    o << " " << conn(e->retrieved_connection) << " retrieving=" << dev(e->retrieving_device)
      << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::ConnectionClearedEvent>(&m))
    o << " " << conn(e->dropped_connection) << " releasing=" << dev(e->releasing_device)
      << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::CallClearedEvent>(&m))
    o << " call=" << e->cleared_call.call_id << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::TransferredEvent>(&m))
    o << " " << conn(e->primary_old_call) << " transferring=" << dev(e->transferring_device)
      << " transferredTo=" << dev(e->transferred_to_device) << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::ConferencedEvent>(&m))
    o << " " << conn(e->primary_old_call) << " conferencing=" << dev(e->conferencing_device)
      << " added=" << dev(e->added_party) << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::DivertedEvent>(&m))
    o << " " << conn(e->connection) << " diverting=" << dev(e->diverting_device) << " to=" << dev(e->new_destination)
      << " local=" << lci(e->local_connection_info) << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::FailedEvent>(&m))
    o << " " << conn(e->failed_connection) << " failing=" << dev(e->failing_device) << " local=" << lci(e->local_connection_info)
      << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::QueuedEvent>(&m))
    o << " " << conn(e->queued_connection) << " queue=" << dev(e->queue) << " local=" << lci(e->local_connection_info)
      << " cause=" << e->cause;
  else if (auto* e = std::get_if<csta::CstaErrorCode>(&m))
    o << " " << csta::to_string(e->error.category) << "=" << e->error.value;
  else if (auto* e = std::get_if<csta::StartApplicationSessionNegResponse>(&m))
    o << " error=" << e->error;
  else if (auto* e = std::get_if<csta::MonitorStartResponse>(&m))
    o << " monitorCrossRefID=" << e->monitor_cross_ref_id;
  else if (auto* e = std::get_if<csta::MakeCallResponse>(&m))
    o << " " << conn(e->calling_device);
  else if (auto* e = std::get_if<csta::ConsultationCallResponse>(&m))
    o << " " << conn(e->initiated_call);
  else if (auto* e = std::get_if<csta::SnapshotDeviceResponse>(&m)) {
    o << " calls=" << e->items.size();
    for (const auto& i : e->items) o << " [" << conn(i.connection) << " state=" << lci(i.state) << "]";
  } else if (auto* e = std::get_if<csta::SnapshotCallResponse>(&m)) {
    o << " parties=" << e->items.size();
    for (const auto& i : e->items) o << " [" << conn(i.connection) << " state=" << lci(i.state) << "]";
  } else if (auto* e = std::get_if<csta::SwitchingFunctionDevices>(&m)) {
    o << " devices=" << e->devices.size();
    for (const auto& d : e->devices) o << " " << d.device_id;
  } else if (auto* e = std::get_if<csta::GetCstaFeaturesResponse>(&m)) {
    for (const auto& g : e->services) {
      o << " " << g.group << "=";
      for (std::size_t i = 0; i < g.items.size(); ++i) o << (i ? "," : "") << g.items[i];
    }
    for (const auto& g : e->events) {
      o << " " << g.group << "=";
      for (std::size_t i = 0; i < g.items.size(); ++i) o << (i ? "," : "") << g.items[i];
    }
  } else if (auto* e = std::get_if<csta::RequestSystemStatusResponse>(&m))
    o << " systemStatus=" << csta::to_string(e->status);
  return o.str();
}

// One connection to a CSTA server: blocking calls with deadlines over Asio.
class Link {
 public:
  explicit Link(const Flags& f)
      : f_(f), ssl_(asio::ssl::context::tls_client), sock_(io_), reader_(csta::FrameLimits{.max_frame_bytes = 1 << 20}) {}

  // Connects and starts the session; false with a message on stderr.
  bool open() {
    auto colon = f_.connect.rfind(':');
    if (colon == std::string::npos) return fail("--connect: expected HOST:PORT, got " + f_.connect);
    std::string host = f_.connect.substr(0, colon), port = f_.connect.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    tcp::resolver res(io_);
    auto eps = res.resolve(host, port, ec);
    if (ec) return fail("cannot resolve " + f_.connect + ": " + ec.message());
    asio::connect(sock_, eps, ec);
    if (ec) return fail("cannot connect to " + f_.connect + ": " + ec.message());
    if (f_.tls) {
      if (f_.insecure) ssl_.set_verify_mode(asio::ssl::verify_none);
      else {
        ssl_.set_verify_mode(asio::ssl::verify_peer);
        if (!f_.ca_file.empty()) ssl_.load_verify_file(f_.ca_file, ec);
        else ssl_.set_default_verify_paths(ec);
        if (ec) return fail("TLS trust store: " + ec.message());
      }
      tls_.emplace(sock_, ssl_);
      if (!f_.insecure) tls_->set_verify_callback(asio::ssl::host_name_verification(host));
      SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());
      tls_->handshake(asio::ssl::stream_base::client, ec);
      if (ec) return fail("TLS handshake with " + f_.connect + ": " + ec.message());
    }
    return start();
  }

  // Sends `m` with a fresh invoke id (returned).
  int send(const csta::Message& m, std::optional<int> invoke = std::nullopt) {
    int id = invoke.value_or(next_invoke());
    std::string xml = csta::encode(m, edition_);
    send_xml(xml, id);
    return id;
  }
  void send_xml(const std::string& xml, int id) {
    std::string frame;
    auto st = csta::append_frame(frame, f_.headerless ? csta::Framing::headerless : csta::Framing::header, id, xml);
    if (!st) {
      std::fprintf(stderr, "callbridge csta: %s\n", st.error().message().c_str());
      return;
    }
    if (f_.xml) std::printf(">> %s\n", xml.c_str());
    boost::system::error_code ec;
    if (tls_) asio::write(*tls_, asio::buffer(frame), ec);
    else asio::write(sock_, asio::buffer(frame), ec);
    if (ec) std::fprintf(stderr, "callbridge csta: send failed: %s\n", ec.message().c_str());
  }

  struct Got {
    int invoke = 0;
    bool has_invoke = false;  // headerless: no invoke ids, answers come in order
    csta::Message message;
    std::string xml;
  };
  // The next message, or nullopt at the deadline / when the connection ended (closed() says which).
  std::optional<Got> read(Clock::time_point deadline) {
    for (;;) {
      csta::Frame fr;
      auto r = reader_.next(fr);
      if (!r) {
        std::fprintf(stderr, "callbridge csta: %s\n", r.error().message().c_str());
        closed_ = true;
        return std::nullopt;
      }
      if (*r) {
        Got g;
        g.invoke = fr.invoke_id.value_or(0);
        g.has_invoke = fr.invoke_id.has_value();
        g.xml.assign(fr.xml);
        auto d = csta::decode(fr.xml);
        if (!d) {
          std::fprintf(stderr, "callbridge csta: undecodable message: %s\n", d.error().message.c_str());
          g.message = csta::UnknownService{"?"};
        } else {
          g.message = std::move(d->message);
        }
        if (f_.xml) std::printf("<< %s\n", g.xml.c_str());
        return g;
      }
      if (closed_ || Clock::now() >= deadline) return std::nullopt;
      bool done = false;
      boost::system::error_code ec;
      std::size_t n = 0;
      auto handler = [&](const boost::system::error_code& e, std::size_t k) {
        done = true;
        ec = e;
        n = k;
      };
      if (tls_) tls_->async_read_some(asio::buffer(buf_), handler);
      else sock_.async_read_some(asio::buffer(buf_), handler);
      io_.restart();
      io_.run_until(deadline);
      if (!done) {
        sock_.cancel();
        io_.restart();
        io_.run();
        if (!n) return std::nullopt;
      }
      if (ec && !n) {
        closed_ = true;
        return std::nullopt;
      }
      reader_.feed(std::string_view(buf_.data(), n));
    }
  }

  // Waits for the answer to `invoke`; events meanwhile are printed. Returns it or nullopt.
  std::optional<Got> answer(int invoke) {
    auto deadline = Clock::now() + std::chrono::seconds(f_.timeout_s);
    while (auto g = read(deadline)) {
      auto cls = csta::message_class(g->message);
      // The answer has the request's invoke id; bare documents carry none: the next answer is it.
      const bool switch_request = cls == csta::MessageClass::request;  // SystemStatus, SwitchingFunctionDevices
      if (cls == csta::MessageClass::event || switch_request || (g->has_invoke && g->invoke != invoke)) {
        print(*g);
        continue;
      }
      return g;
    }
    std::fprintf(stderr, "callbridge csta: no answer to request %d within %d s%s\n", invoke, f_.timeout_s,
                 closed_ ? " (the connection closed)" : "");
    return std::nullopt;
  }

  void print(const Got& g) const {
    if (!f_.xml) std::printf("%s\n", describe(g.message).c_str());
    std::fflush(stdout);
  }
  bool closed() const { return closed_; }
  csta::Edition edition() const { return edition_; }

 private:
  bool fail(const std::string& why) {
    std::fprintf(stderr, "callbridge csta: %s\n", why.c_str());
    return false;
  }
  int next_invoke() {
    invoke_ = invoke_ % 9000 + 1;
    return invoke_;
  }
  std::string password() const {
    if (!f_.token.empty()) return f_.token;
    if (!f_.secret_file.empty()) {
      std::ifstream in(f_.secret_file);
      std::string s;
      std::getline(in, s);
      return s;
    }
    return f_.secret;
  }

  bool start() {
    if (f_.style == "osv") {
      // The switch speaks first (SystemStatus); answer it, then register with the login.
      auto g = read(Clock::now() + std::chrono::seconds(f_.timeout_s));
      if (!g || !std::holds_alternative<csta::SystemStatus>(g->message))
        return fail("no SystemStatus from the switch (is it an OpenScape-style server?)");
      print(*g);
      send(csta::SystemStatusResponse{}, g->invoke);
      csta::SystemRegister reg;
      reg.user_id = f_.user;
      reg.password = password();
      int id = send(reg);
      auto a = answer(id);
      if (!a) return false;
      print(*a);
      if (!std::holds_alternative<csta::SystemRegisterResponse>(a->message)) return fail("login refused");
      return true;
    }
    csta::StartApplicationSession s;
    s.application_id = "callbridge-csta";
    s.user_id = f_.user;
    s.password = password();
    s.protocol_versions = {std::string(csta::namespace_uri(edition_))};
    int id = send(s);
    auto a = answer(id);
    if (!a) return false;
    print(*a);
    if (!std::holds_alternative<csta::StartApplicationSessionPosResponse>(a->message)) return fail("login refused");
    return true;
  }

  const Flags& f_;
  asio::io_context io_;
  asio::ssl::context ssl_;
  tcp::socket sock_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  csta::FrameReader reader_;
  csta::Edition edition_ = csta::Edition::ed5;
  std::array<char, 16384> buf_{};
  int invoke_ = 0;
  bool closed_ = false;

 public:
  void set_edition(csta::Edition e) { edition_ = e; }
};

// Sends one request and prints its answer: 0 for a positive answer, 1 for an error.
int request(Link& l, const csta::Message& m) {
  auto a = l.answer(l.send(m));
  if (!a) return 2;
  l.print(*a);
  auto cls = csta::message_class(a->message);
  return cls == csta::MessageClass::error || std::holds_alternative<csta::StartApplicationSessionNegResponse>(a->message) ? 1 : 0;
}

int with_link(const Flags& f, const std::function<int(Link&)>& body) {
  Link l(f);
  l.set_edition(edition_of(f.edition));
  if (!l.open()) return 2;
  return body(l);
}

csta::ConnectionId connection(const Flags& f) { return csta::ConnectionId{f.call, f.device}; }

}  // namespace

Command register_csta(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "csta",
      "CSTA XML client: test and diagnose a CSTA link (callbridged's [csta] server or any CSTA switch).\n"
      "Log in with --token (a user's API token: that user's lines) or --user/--secret (a [[csta.client]]).\n"
      "Examples:\n"
      "  callbridge csta --connect 127.0.0.1:1040 --token cbt_... monitor 100\n"
      "  callbridge csta --user tapi --secret-file s.txt make-call 100 +4989123456\n"
      "  callbridge csta --token cbt_... answer 00000001 100\n"
      "  callbridge csta --style osv --headerless --edition 3 --user tapi --secret S features");
  cmd->require_subcommand(1);
  auto f = std::make_shared<Flags>();
  cmd->add_option("--connect", f->connect, "server address HOST:PORT")->capture_default_str();
  cmd->add_flag("--tls", f->tls, "TLS (the server's certificate is verified unless --insecure)");
  cmd->add_flag("--insecure", f->insecure, "TLS without certificate verification (test servers)");
  cmd->add_option("--ca", f->ca_file, "PEM file of the CA that signed the server's certificate");
  cmd->add_flag("--headerless", f->headerless, "send bare XML documents (no 8-byte header)");
  cmd->add_option("--edition", f->edition, "ECMA-323 edition to speak: 3, 4, 5 or 6")->check(CLI::Range(3, 6))->capture_default_str();
  cmd->add_option("--token", f->token, "a user's API token (cbt_...); or set CALLBRIDGE_TOKEN")->envname("CALLBRIDGE_TOKEN");
  cmd->add_option("--user", f->user, "login name of a [[csta.client]]");
  cmd->add_option("--secret", f->secret, "its secret");
  cmd->add_option("--secret-file", f->secret_file, "a file whose first line is the secret");
  cmd->add_option("--style", f->style, "session start: ecma354 (StartApplicationSession) or osv (SystemStatus, SystemRegister)")
      ->check(CLI::IsMember({"ecma354", "osv"}))
      ->capture_default_str();
  cmd->add_flag("--xml", f->xml, "print every message as XML (>> sent, << received) instead of one line each");
  cmd->add_option("--timeout", f->timeout_s, "seconds to wait for an answer")->capture_default_str();

  auto sub = [&](const char* name, const char* help) { return cmd->add_subcommand(name, help); };
  auto* monitor = sub("monitor", "monitor devices and print their events, one line each");
  monitor->add_option("devices", f->devices, "device ids (101, +4930555101, N<+4930555101>)")->required();
  monitor->add_option("--count", f->count, "exit after this many events");
  monitor->add_option("--for", f->for_s, "exit after this many seconds");
  auto* make = sub("make-call", "MakeCall: FROM (your line) calls TO");
  make->add_option("from", f->from)->required();
  make->add_option("to", f->to)->required();
  for (const char* verb : {"answer", "clear", "hold", "retrieve"}) {
    auto* s = sub(verb, verb == std::string("clear") ? "ClearConnection of CALL at DEVICE"
                        : verb == std::string("answer") ? "AnswerCall of CALL at DEVICE"
                        : verb == std::string("hold") ? "HoldCall of CALL at DEVICE"
                                                      : "RetrieveCall of CALL at DEVICE");
    s->add_option("call", f->call, "the CSTA call id (from an event)")->required();
    s->add_option("device", f->device, "the device in that call")->required();
  }
  auto* transfer = sub("transfer", "SingleStepTransferCall: CALL at DEVICE goes to TO");
  transfer->add_option("call", f->call)->required();
  transfer->add_option("device", f->device)->required();
  transfer->add_option("to", f->to)->required();
  auto* snap = sub("snapshot", "SnapshotDevice: the calls at DEVICE");
  snap->add_option("device", f->device)->required();
  auto* snapcall = sub("snapshot-call", "SnapshotCall: the parties of CALL");
  snapcall->add_option("call", f->call)->required();
  sub("features", "GetCSTAFeatures: the services and events the switch offers");
  sub("devices", "GetSwitchingFunctionDevices: the devices you may use");
  sub("status", "RequestSystemStatus");
  auto* raw = sub("raw", "send the XML document in FILE and print what comes back (until --timeout)");
  raw->add_option("file", f->file)->required()->check(CLI::ExistingFile);

  return {cmd, [cmd, f]() -> int {
            const Flags& fl = *f;
            auto* chosen = cmd->get_subcommands().front();
            const std::string name = chosen->get_name();
            if (fl.token.empty() && fl.user.empty()) {
              std::fprintf(stderr, "callbridge csta: give --token (or CALLBRIDGE_TOKEN) or --user and --secret\n");
              return 2;
            }
            return with_link(fl, [&](Link& l) -> int {
              if (name == "monitor") {
                std::vector<std::string> refs;
                for (const auto& d : fl.devices) {
                  csta::MonitorStart ms;
                  ms.device_object = d;
                  int rc = request(l, ms);
                  if (rc) return rc;
                }
                std::printf("monitoring %zu device(s)\n", fl.devices.size());
                std::fflush(stdout);
                auto until = fl.for_s > 0 ? Clock::now() + std::chrono::seconds(fl.for_s) : Clock::time_point::max();
                int seen = 0;
                while (fl.count == 0 || seen < fl.count) {
                  auto g = l.read(until);
                  if (!g) return l.closed() ? 2 : 0;
                  l.print(*g);
                  if (csta::message_class(g->message) == csta::MessageClass::event) ++seen;
                }
                return 0;
              }
              if (name == "make-call") {
                csta::MakeCall m;
                m.calling_device = fl.from;
                m.called_directory_number = fl.to;
                return request(l, m);
              }
              if (name == "answer") return request(l, csta::AnswerCall{connection(fl)});
              if (name == "clear") return request(l, csta::ClearConnection{connection(fl)});
              if (name == "hold") return request(l, csta::HoldCall{connection(fl)});
              if (name == "retrieve") return request(l, csta::RetrieveCall{connection(fl)});
              if (name == "transfer") {
                csta::SingleStepTransferCall t;
                t.active_call = connection(fl);
                t.transferred_to = fl.to;
                return request(l, t);
              }
              if (name == "snapshot") return request(l, csta::SnapshotDevice{fl.device});
              if (name == "snapshot-call") return request(l, csta::SnapshotCall{csta::ConnectionId{fl.call, ""}});
              if (name == "features") return request(l, csta::GetCstaFeatures{});
              if (name == "status") return request(l, csta::RequestSystemStatus{});
              if (name == "devices") {
                int rc = request(l, csta::GetSwitchingFunctionDevices{});
                if (rc) return rc;
                // The list follows as the switch's own request; print it and acknowledge it.
                auto g = l.read(Clock::now() + std::chrono::seconds(fl.timeout_s));
                if (!g) return 2;
                l.print(*g);
                if (std::holds_alternative<csta::SwitchingFunctionDevices>(g->message))
                  l.send(csta::SwitchingFunctionDevicesResponse{}, g->invoke);
                return 0;
              }
              if (name == "raw") {
                std::ifstream in(fl.file, std::ios::binary);
                std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                l.send_xml(xml, 1);
                int rc = 0;
                auto deadline = Clock::now() + std::chrono::seconds(fl.timeout_s);
                while (auto g = l.read(deadline)) {
                  l.print(*g);
                  if (csta::message_class(g->message) == csta::MessageClass::error) rc = 1;
                  if (g->invoke == 1) break;
                }
                return rc;
              }
              return 2;
            });
          }};
}

}  // namespace callbridge::cli
