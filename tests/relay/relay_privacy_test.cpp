// The relay's privacy proof (issue 16, label relay): a real callbridge-relay, callbridged as its edge
// (demo mode: the simulator PBX inside it, calls from the simulator's outside numbers) with the
// directory entries of this test (distinctive contact names for those numbers), and a client
// through the relay that pairs with `callbridge pair`'s link (relay/e2e, as the browser does) and
// subscribes to the tenant's event stream through the end-to-end tunnel. While the calls flow the
// test reads the relay process's memory (/proc/PID/maps + /proc/PID/mem, every readable region)
// and its log output (debug level) and searches them for every caller number the client received
// (E.164, digits only, national, the API's display forms; UTF-8 and UTF-16LE) and every contact
// name (UTF-8, UTF-16LE, JSON-escaped).
//
// - Strict (the default): none of them is found. A control string the relay does hold (its node
//   name) is found in the same scans, so the reader works.
// - Relaxed ([relay] privacy = "relaxed" on the edge): the same scans find them, so the check can
//   fail; the relay's GET /v1/diagnostics/acme shows the live calls with numbers and names.
// The client's plaintext exists only in this test process, never in the relay's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "relay/e2e/e2e.hpp"
#include "relay_harness.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace callbridge::relay::testing {
namespace {

namespace json = boost::json;
using callbridge::testing::ChildProcess;
using callbridge::testing::TempDir;

constexpr std::string_view kNodeName = "relay-qzx-privacy-node";  // the positive control
constexpr std::string_view kDiagToken = "diag-token-0123456789abcdef";

// The demo simulator's outside numbers (+4989 and 1000000 + i, docs/configuration.md "[demo]").
constexpr int kPool = 24;
std::string demo_number(int i) { return "+4989" + std::to_string(1'000'000 + i); }

// Distinctive directory names for the pool: nothing else in either process carries them.
std::string contact_name(int i) {
  static const char* given[] = {"Quirina", "Zebulon", "Xaveria", "Ottokar", "Wendelin", "Ysolde"};
  static const char* family[] = {"Zwetschkenbaum", "Krautwickel", "Gr\xc3\xb6\xc3\x9flwanger", "Quastenflosser"};
  return std::string(given[i % 6]) + " " + family[i / 6];
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string utf16le(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp = c;
    std::size_t n = 1;
    if (c >= 0xF0) cp = c & 0x07, n = 4;
    else if (c >= 0xE0) cp = c & 0x0F, n = 3;
    else if (c >= 0xC0) cp = c & 0x1F, n = 2;
    for (std::size_t k = 1; k < n && i + k < utf8.size(); ++k) cp = (cp << 6) | (utf8[i + k] & 0x3F);
    i += n;
    auto unit = [&](std::uint32_t u) {
      out += static_cast<char>(u & 0xFF);
      out += static_cast<char>(u >> 8);
    };
    if (cp >= 0x10000) {
      unit(0xD800 + ((cp - 0x10000) >> 10));
      unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

// "Gr\u00f6\u00dflwanger": how a JSON writer that escapes non-ASCII would hold it.
std::string json_escaped(std::string_view utf8) {
  const std::string u16 = utf16le(utf8);
  std::string out;
  for (std::size_t i = 0; i + 1 < u16.size(); i += 2) {
    const unsigned u = static_cast<unsigned char>(u16[i]) | (static_cast<unsigned char>(u16[i + 1]) << 8);
    if (u < 0x80) {
      out += static_cast<char>(u);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    }
  }
  return out;
}

struct Needle {
  std::string what;   // the value searched for (a number or a name)
  std::string form;   // e.g. "national, UTF-16LE"
  std::string bytes;
};

void add_forms(std::vector<Needle>& out, const std::string& what, const std::string& form, const std::string& text) {
  if (text.empty()) return;
  out.push_back({what, form + ", UTF-8", text});
  out.push_back({what, form + ", UTF-16LE", utf16le(text)});
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    out.push_back({what, form + ", JSON \\u-escaped", json_escaped(text)});
}

// A number in every form it could take: E.164, digits only, national (0 + national number), and
// whatever display forms the API gave it ("089 1000007", "+49 89 1000007").
std::vector<Needle> number_needles(const std::string& e164, const std::set<std::string>& shown) {
  std::vector<Needle> out;
  add_forms(out, e164, "E.164", e164);
  const std::string digits = e164.substr(1);
  add_forms(out, e164, "digits only", digits);
  if (e164.starts_with("+49")) add_forms(out, e164, "national", "0" + e164.substr(3));
  for (const auto& s : shown) add_forms(out, e164, "as displayed", s);
  return out;
}

struct Scan {
  std::size_t regions = 0;
  std::size_t bytes = 0;
  std::set<std::size_t> found;  // indexes into the needles
};

// Every readable mapping of `pid` (/proc/PID/maps) read through /proc/PID/mem and searched for
// every needle in one pass (candidates by their first two bytes). Regions the kernel refuses to
// hand out (e.g. [vvar]) are skipped.
Scan scan_memory(pid_t pid, const std::vector<Needle>& needles) {
  Scan scan;
  std::vector<std::vector<std::size_t>> by_prefix(65536);
  std::size_t longest = 2;
  for (std::size_t i = 0; i < needles.size(); ++i) {
    const std::string& b = needles[i].bytes;
    if (b.size() < 2) continue;
    by_prefix[static_cast<unsigned char>(b[0]) | (static_cast<unsigned char>(b[1]) << 8)].push_back(i);
    longest = std::max(longest, b.size());
  }
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY);
  if (fd < 0 || !maps) return scan;
  constexpr std::size_t kChunk = 8 << 20;
  std::string buf;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream ls(line);
    std::string range, perms;
    ls >> range >> perms;
    if (perms.empty() || perms[0] != 'r') continue;
    const auto dash = range.find('-');
    std::uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const std::uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    bool counted = false;
    while (start < end) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk + longest, end - start));
      buf.resize(want);
      const ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(start));
      if (got <= 0) break;
      if (!counted) ++scan.regions, counted = true;
      const auto n = static_cast<std::size_t>(got);
      scan.bytes += std::min(n, kChunk);
      const auto* d = reinterpret_cast<const unsigned char*>(buf.data());
      for (std::size_t p = 0; p + 1 < n; ++p) {
        const auto& cands = by_prefix[d[p] | (d[p + 1] << 8)];
        for (std::size_t i : cands) {
          const std::string& b = needles[i].bytes;
          if (p + b.size() <= n && std::memcmp(d + p, b.data(), b.size()) == 0) scan.found.insert(i);
        }
      }
      if (n < want) break;
      start += kChunk;  // chunks overlap by `longest` bytes: no needle is cut in two
    }
  }
  ::close(fd);
  return scan;
}

// What the client learned through the tunnel: the remote numbers of calls, their display forms,
// and the contact names the edge's directory gave them.
struct Seen {
  std::map<std::string, std::set<std::string>> numbers;  // E.164 -> display forms
  std::set<std::string> names;
  std::size_t events = 0;
};

void collect(const json::value& v, Seen& seen) {
  if (v.is_array()) {
    for (const auto& x : v.as_array()) collect(x, seen);
    return;
  }
  if (!v.is_object()) return;
  const json::object& o = v.as_object();
  if (const json::value* ri = o.if_contains("remote_info"); ri && ri->is_object()) {
    const json::object& r = ri->as_object();
    const json::value* kind = r.if_contains("kind");
    const json::value* e164 = r.if_contains("e164");
    if (kind && kind->is_string() && kind->as_string() == "external" && e164 && e164->is_string()) {
      auto& forms = seen.numbers[std::string(e164->as_string())];
      for (const char* k : {"display", "international"}) {
        if (const json::value* f = r.if_contains(k); f && f->is_string()) forms.insert(std::string(f->as_string()));
      }
      if (const json::value* cs = r.if_contains("contacts"); cs && cs->is_array()) {
        for (const auto& c : cs->as_array()) {
          const json::value* n = c.is_object() ? c.as_object().if_contains("name") : nullptr;
          if (n && n->is_string()) seen.names.insert(std::string(n->as_string()));
        }
      }
    }
  }
  for (const auto& [k, x] : o) collect(x, seen);
}

// A paired client through the relay: relay/e2e's client side over a TLS WebSocket, the tunnel's
// messages inside (docs/relay.md "Tunnel").
class TunnelClient {
 public:
  TunnelClient(IoThread& io, const std::string& ca, std::uint16_t port, std::string_view fragment)
      : keys_(e2e::generate_key_pair()), id_(e2e::client_id(keys_.pk)) {
    auto link = e2e::parse_pairing_fragment(fragment);
    EXPECT_TRUE(link) << fragment;
    if (link) link_ = *link;
    ws_.emplace(io, ca, port, "/v1/client?edge=" + link_.edge_id + "&client=" + wire::client_id_hex(id_));
    seq_ = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  }

  // Waits for the relay's welcome with the edge online, pairs, and checks the edge's welcome.
  ::testing::AssertionResult pair() {
    if (!ws_->wait_open()) return ::testing::AssertionFailure() << "no connection: " << ws_->closed_why();
    if (!ws_->inbox.wait([](const auto& items) {
          for (const auto& w : controls<wire::Welcome>(items)) {
            if (w.edge_online.value_or(false)) return true;
          }
          return !controls<wire::EdgeState>(items).empty() && controls<wire::EdgeState>(items).back().online;
        }, 20s))
      return ::testing::AssertionFailure() << "the edge is not online at the relay";
    auto start = e2e::client_start_pair(link_.edge_id, keys_, link_.secret, link_.edge_fingerprint);
    const std::uint64_t hello_seq = ++seq_;
    wire::FrameHeader h;
    h.kind = wire::Kind::client_to_edge;
    h.flags = wire::kFlagHandshake;
    h.client = id_;
    h.seq = hello_seq;
    ws_->send(wire::encode_frame(h, e2e::encode(start.msg)));
    std::optional<e2e::Session> session;
    std::string why = "no welcome from the edge";
    ws_->inbox.wait([&](const auto& items) {
      for (; read_ < items.size(); ++read_) {
        if (items[read_].kind != Inbox::Item::binary) continue;
        auto f = wire::parse_frame(wire::as_bytes(items[read_].data), 1 << 20);
        if (!f || !f->header.handshake()) continue;
        auto msg = e2e::decode_handshake(f->payload);
        if (!msg) continue;
        if (auto* rj = std::get_if<e2e::RejectMsg>(&*msg)) {
          why = "rejected: " + std::string(e2e::to_string(rj->code));
          return true;
        }
        if (auto* w = std::get_if<e2e::WelcomeMsg>(&*msg)) {
          auto s = e2e::client_finish(link_.edge_id, keys_, start.state, *w, hello_seq, f->header.seq);
          if (!s) {
            why = s.error().message();
            return true;
          }
          session.emplace(std::move(*s));
          ++read_;
          return true;
        }
      }
      return false;
    }, 20s);
    if (!session) return ::testing::AssertionFailure() << why;
    session_.emplace(std::move(*session));
    return ::testing::AssertionSuccess();
  }

  void send_message(const std::string& text) {
    std::string plain(1, '\0');
    plain += text;
    wire::FrameHeader h;
    h.kind = wire::Kind::client_to_edge;
    h.client = id_;
    h.seq = ++seq_;
    h.payload_len = static_cast<std::uint32_t>(plain.size() + e2e::kSealOverhead);
    const auto hb = wire::encode_header(h);
    auto sealed = session_->seal(hb, h.seq, plain);
    ASSERT_TRUE(sealed);
    std::string frame(reinterpret_cast<const char*>(hb.data()), hb.size());
    frame += *sealed;
    ws_->send(std::move(frame));
  }

  // Opens what arrived since the last call; whole tunnel messages go to `on_message`.
  void drain(const std::function<void(const json::object&)>& on_message) {
    auto items = ws_->inbox.items();
    for (; read_ < items.size(); ++read_) {
      if (items[read_].kind != Inbox::Item::binary) continue;
      auto f = wire::parse_frame(wire::as_bytes(items[read_].data), 1 << 20);
      ASSERT_TRUE(f);
      if (f->header.handshake()) continue;
      auto plain = session_->open(f->header_bytes, f->header.seq,
                                  std::string_view(reinterpret_cast<const char*>(f->payload.data()), f->payload.size()));
      ASSERT_TRUE(plain) << plain.error().message();
      ASSERT_FALSE(plain->empty());
      const auto kind = static_cast<std::uint8_t>((*plain)[0]);
      parts_.append(*plain, 1);
      if (kind == 1) continue;  // more parts follow
      boost::system::error_code ec;
      json::value v = json::parse(parts_, ec);
      parts_.clear();
      ASSERT_FALSE(ec) << "a tunnel message that is not JSON";
      if (v.is_object()) on_message(v.as_object());
    }
  }

  bool wait_more(std::chrono::milliseconds timeout) {
    const std::size_t have = read_;
    return ws_->inbox.wait([have](const auto& items) { return items.size() > have; }, timeout);
  }

 private:
  e2e::KeyPair keys_;
  e2e::ClientId id_;
  e2e::PairingLink link_;
  std::optional<TestClient> ws_;
  std::optional<e2e::Session> session_;
  std::uint64_t seq_ = 0;
  std::size_t read_ = 0;
  std::string parts_;
};

struct Outcome {
  Seen seen;
  std::vector<Needle> needles;
  std::set<std::size_t> in_memory;  // needles found in the relay's memory, any scan
  std::set<std::size_t> in_log;
  bool control_found = false;
  std::size_t scans = 0, bytes_scanned = 0, regions = 0;
  std::string diagnostics;  // GET /v1/diagnostics/acme, body and status
  std::string relay_log;
};

void run_calls(bool relaxed, Outcome& out) {
  TempDir dir(relaxed ? "relay-privacy-relaxed" : "relay-privacy-strict");
  make_certificate(dir.path());
  std::ofstream(dir / "diag.token") << kDiagToken << "\n";
  std::ofstream(dir / "relay.toml") << "name = \"" << kNodeName << "\"\nregistry = \"" << (dir / "edges.json")
                                    << "\"\nlog_level = \"debug\"\n[tls]\ncert_file = \"" << (dir / "cert.pem")
                                    << "\"\nkey_file = \"" << (dir / "key.pem") << "\"\n[diagnostics]\ntoken_file = \""
                                    << (dir / "diag.token") << "\"\n";
  ChildProcess add(CALLBRIDGE_RELAY_PATH, {"-c", dir / "relay.toml", "edge", "add", "acme"});
  ASSERT_EQ(add.wait_exit(), 0) << add.output();
  const std::string join = add.output().substr(0, add.output().find('\n'));
  ChildProcess relay(CALLBRIDGE_RELAY_PATH, {"-c", dir / "relay.toml", "serve", "--listen", "127.0.0.1:0"});
  auto m = relay.wait_for(std::regex(R"(listening on 127\.0\.0\.1:(\d+))"));
  ASSERT_FALSE(m.empty()) << relay.output();
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1].str()));

  // The directory: a distinctive name for every outside number the simulator calls from.
  std::filesystem::create_directories(dir / "data");
  std::filesystem::permissions(dir / "data", std::filesystem::perms::owner_all);
  {
    std::ofstream csv(dir / "contacts.csv");
    csv << "Name,Business Phone\n";
    for (int i = 0; i < kPool; ++i) csv << contact_name(i) << "," << demo_number(i) << "\n";
  }
  ChildProcess import(CALLBRIDGE_CLI_PATH, {"contacts", "import", dir / "contacts.csv", "--data-dir", dir / "data",
                                             "--country", "49", "--area", "30"});
  ASSERT_EQ(import.wait_exit(), 0) << import.output();

  std::ofstream(dir / "callbridge.toml") << "[demo]\nenabled = true\nspeed = 5\ncalls_per_minute = 30\nseed = 16\n"
                                         << "[relay]\nurl = \"wss://127.0.0.1:" << port << "\"\nedge_id = \"acme\"\n"
                                         << "join_token = \"" << join << "\"\nca_file = \"" << (dir / "cert.pem")
                                         << "\"\nprivacy = \"" << (relaxed ? "relaxed" : "strict") << "\"\n";
  ChildProcess edge(CALLBRIDGED_PATH, {"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir",
                                       dir / "data"});
  // Printed once the daemon is built, before it runs (and logs in at the relay).
  ASSERT_FALSE(edge.wait_for(std::regex("Open as the admin"), 30s).empty()) << edge.output();
  ASSERT_FALSE(edge.wait_for(std::regex("relay: logged in at 127.0.0.1"), 30s).empty()) << edge.output();
  std::string token = read_file(dir / "data/demo-token");
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  ASSERT_FALSE(token.empty());

  ChildProcess pair(CALLBRIDGE_CLI_PATH, {"pair", "--data-dir", dir / "data", "--tenant", "default", "--edge", "acme",
                                          "--relay-url", "wss://127.0.0.1:" + std::to_string(port), "--no-qr"});
  ASSERT_EQ(pair.wait_exit(), 0) << pair.output();
  std::smatch lm;
  const std::string pair_out = pair.output();
  ASSERT_TRUE(std::regex_search(pair_out, lm, std::regex(R"(https://127\.0\.0\.1:\d+/#(pair=\S+))"))) << pair_out;
  const std::string fragment = lm[1].str();

  IoThread io;
  TunnelClient client(io, dir / "cert.pem", port, fragment);
  ASSERT_TRUE(client.pair());
  std::string sub = R"({"t":"sub","id":1,"path":"/api/v1/events?scope=tenant","headers":{"authorization":"Bearer )";
  sub += token + "\"}}";
  client.send_message(sub);

  // Calls flow: read events through the tunnel; scan the relay's memory every second or so.
  std::set<std::string> searched;  // numbers and names whose needles are built
  auto refresh_needles = [&] {
    for (const auto& [e164, shown] : out.seen.numbers) {
      const std::string key = "n:" + e164 + ":" + std::to_string(shown.size());
      if (!searched.insert(key).second) continue;
      for (auto& n : number_needles(e164, shown)) {
        const bool dup = std::any_of(out.needles.begin(), out.needles.end(), [&](const Needle& x) { return x.bytes == n.bytes; });
        if (!dup) out.needles.push_back(std::move(n));
      }
    }
    for (const auto& name : out.seen.names) {
      if (!searched.insert("c:" + name).second) continue;
      add_forms(out.needles, name, "contact name", name);
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  auto last_scan = std::chrono::steady_clock::now();
  auto named = [&] { return out.seen.names.size(); };
  while (std::chrono::steady_clock::now() < deadline) {
    client.wait_more(300ms);
    client.drain([&](const json::object& msg) {
      const json::value* t = msg.if_contains("t");
      if (!t || !t->is_string()) return;
      if (t->as_string() == "end") ADD_FAILURE() << "the event stream ended: " << json::serialize(msg);
      if (t->as_string() != "ev") return;
      const json::value* data = msg.if_contains("data");
      if (!data || !data->is_string()) return;
      boost::system::error_code ec;
      json::value ev = json::parse(data->as_string(), ec);
      if (ec) return;
      ++out.seen.events;
      collect(ev, out.seen);
    });
    for (int k = 0; k < 16; ++k) relay.pump(0), edge.pump(0);  // keep their pipes from filling up
    if (std::chrono::steady_clock::now() - last_scan < 1s || out.seen.numbers.empty()) continue;
    refresh_needles();
    std::vector<Needle> all = out.needles;
    all.push_back({"control", "node name", std::string(kNodeName)});
    Scan s = scan_memory(relay.pid(), all);
    ++out.scans;
    out.bytes_scanned = std::max(out.bytes_scanned, s.bytes);
    out.regions = std::max(out.regions, s.regions);
    for (std::size_t i : s.found) {
      if (i == out.needles.size()) {
        out.control_found = true;
      } else {
        out.in_memory.insert(i);
      }
    }
    last_scan = std::chrono::steady_clock::now();
    if (out.scans >= 6 && out.seen.numbers.size() >= 3 && named() >= 3) break;
  }
  refresh_needles();

  // The relay's per-edge diagnostics: without the token, and with it.
  auto get = [&](const std::string& token) {
    return curl(port, "/v1/diagnostics/acme", token.empty() ? "" : "Authorization: Bearer " + token);
  };
  EXPECT_TRUE(get("").ends_with("\n401"));
  EXPECT_TRUE(get("wrong-token-0123456789").ends_with("\n401"));
  out.diagnostics = get(std::string(kDiagToken));

  edge.signal(SIGTERM);
  EXPECT_EQ(edge.wait_exit(), 0) << edge.output().substr(edge.output().size() > 4000 ? edge.output().size() - 4000 : 0);
  relay.signal(SIGTERM);
  EXPECT_EQ(relay.wait_exit(), 0);
  out.relay_log = relay.output();
  for (std::size_t i = 0; i < out.needles.size(); ++i) {
    if (out.relay_log.find(out.needles[i].bytes) != std::string::npos) out.in_log.insert(i);
  }
  std::printf("# %zu events through the tunnel, %zu outside numbers, %zu contact names, %zu needles; %zu scans of "
              "the relay's memory (%zu regions, %.1f MiB each); relay log %zu bytes\n",
              out.seen.events, out.seen.numbers.size(), out.seen.names.size(), out.needles.size(), out.scans,
              out.regions, static_cast<double>(out.bytes_scanned) / (1 << 20), out.relay_log.size());
}

std::string describe(const Outcome& out, const std::set<std::size_t>& which) {
  std::string s;
  for (std::size_t i : which) s += "\n  " + out.needles[i].what + " (" + out.needles[i].form + ")";
  return s;
}

bool any_of_kind(const Outcome& out, const std::set<std::size_t>& which, bool names) {
  return std::any_of(which.begin(), which.end(), [&](std::size_t i) {
    return out.needles[i].form.starts_with("contact name") == names;
  });
}

void expect_calls_flowed(const Outcome& out) {
  EXPECT_GE(out.seen.numbers.size(), 3u) << "outside numbers through the tunnel";
  EXPECT_GE(out.seen.names.size(), 3u) << "contact names through the tunnel";
  for (const auto& name : out.seen.names) {
    bool ours = false;
    for (int i = 0; i < kPool; ++i) ours |= name == contact_name(i);
    EXPECT_TRUE(ours) << name << " is not one of this test's directory entries";
  }
  EXPECT_GE(out.scans, 3u);
  EXPECT_GT(out.bytes_scanned, 1u << 20) << "the relay's memory was read";
  EXPECT_TRUE(out.control_found) << "the scan finds what the relay does hold (its node name)";
}

TEST(RelayPrivacy, StrictRelayHoldsNoCallerNumberOrContactName) {
  Outcome out;
  ASSERT_NO_FATAL_FAILURE(run_calls(false, out));
  expect_calls_flowed(out);
  EXPECT_TRUE(out.in_memory.empty()) << "found in the relay's memory:" << describe(out, out.in_memory);
  EXPECT_TRUE(out.in_log.empty()) << "found in the relay's log:" << describe(out, out.in_log);
  EXPECT_TRUE(out.diagnostics.ends_with("\n403")) << out.diagnostics;
  EXPECT_NE(out.diagnostics.find("/problems/privacy-strict"), std::string::npos) << out.diagnostics;
}

// The twin: the same calls with the edge's privacy relaxed. The same scans now find the numbers
// and names, so the strict test's "nothing found" is a result, not a blind check.
TEST(RelayPrivacy, RelaxedRelayHoldsThemSoTheCheckCanFail) {
  Outcome out;
  ASSERT_NO_FATAL_FAILURE(run_calls(true, out));
  expect_calls_flowed(out);
  EXPECT_TRUE(any_of_kind(out, out.in_memory, false)) << "no caller number in the relaxed relay's memory";
  EXPECT_TRUE(any_of_kind(out, out.in_memory, true)) << "no contact name in the relaxed relay's memory";
  std::printf("# relaxed: found in the relay's memory:%s\n", describe(out, out.in_memory).c_str());
  EXPECT_TRUE(out.in_log.empty()) << "the relay logs no summaries either:" << describe(out, out.in_log);
  ASSERT_TRUE(out.diagnostics.ends_with("\n200")) << out.diagnostics;
  EXPECT_NE(out.diagnostics.find(R"("privacy":"relaxed")"), std::string::npos) << out.diagnostics;
  EXPECT_NE(out.diagnostics.find(R"("calls":[{)"), std::string::npos) << out.diagnostics;
  bool number_shown = false;
  for (const auto& [e164, shown] : out.seen.numbers) number_shown |= out.diagnostics.find(e164) != std::string::npos;
  EXPECT_TRUE(number_shown) << out.diagnostics;
}

}  // namespace
}  // namespace callbridge::relay::testing
