// End to end over TLS: the real callbridged binary (port 0, temp data dir, a self-signed certificate
// made with the openssl CLI) against a loopback AMI peer. Clients speak HTTPS and wss:// (OpenSSL).
// Checks: snapshot over wss; team presence (a team member's line events, never their calls or
// journal; other teams see nothing); journal events carry the stored id, which PATCH accepts;
// make call refused by Asterisk after the 202 (Response: Error, OriginateResponse Failure) shows
// at GET /api/v1/commands/{id} and as a "command" event to the issuing user only; tenant UI
// settings over HTTPS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <algorithm>
#include <cctype>
#include <regex>
#include <string_view>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "identity/sqlite/identity_store.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace json = boost::json;
using callbridge::testing::ChildProcess;
using callbridge::testing::TempDir;
using namespace std::chrono_literals;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A loopback AMI peer: banner, answers every action (Login, resync lists, Ping: Success;
// Originate: the first one "Response: Error", later ones queued and then refused with
// OriginateResponse Failure Reason 0, as Asterisk does for an Async originate to a device it
// cannot reach). play() sends bytes to the connected client (from the test thread).
class AmiPeer {
 public:
  AmiPeer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 4) != 0) std::abort();
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (pipe(wake_) != 0) std::abort();
    thread_ = std::thread([this] { loop(); });
  }
  ~AmiPeer() {
    stop_ = true;
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    if (client_ >= 0) close(client_);
    close(fd_);
    close(wake_[0]);
    close(wake_[1]);
  }
  int port() const { return port_; }
  int originates() const { return originates_; }
  void play(std::string bytes) {
    {
      std::lock_guard lk(mu_);
      outbox_ += bytes;
    }
    (void)!write(wake_[1], "x", 1);
  }

 private:
  void send_all(std::string_view b) {
    while (client_ >= 0 && !b.empty()) {
      auto n = ::send(client_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      b.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // The value of `key:` in an AMI block (key case-insensitive). Not std::regex: compiling one on
  // this thread while the test thread compiles another is reported by TSan inside libstdc++ 12.
  static std::string header(const std::string& block, const std::string& key) {
    std::size_t line = 0;
    while (line < block.size()) {
      std::size_t end = block.find("\r\n", line);
      if (end == std::string::npos) end = block.size();
      const std::string_view l(block.data() + line, end - line);
      if (l.size() > key.size() + 1 && l[key.size()] == ':' &&
          std::equal(key.begin(), key.end(), l.begin(),
                     [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); })) {
        std::string_view v = l.substr(key.size() + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return std::string(v);
      }
      line = end + 2;
    }
    return "";
  }
  void answer(const std::string& block) {
    const std::string action = header(block, "Action"), id = header(block, "ActionID");
    if (action == "Originate") {
      if (originates_++ == 0) {
        send_all("Response: Error\r\nActionID: " + id + "\r\nMessage: Originate failed\r\n\r\n");
      } else {
        send_all("Response: Success\r\nActionID: " + id + "\r\nMessage: Originate successfully queued\r\n\r\n");
        send_all("Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: " + id +
                 "\r\nResponse: Failure\r\nChannel: " + header(block, "Channel") +
                 "\r\nContext: from-internal\r\nExten: " + header(block, "Exten") +
                 "\r\nReason: 0\r\nUniqueid: <null>\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n");
      }
      return;
    }
    std::string msg = action == "Login" ? "Authentication accepted" : action == "Ping" ? "Pong" : "ok";
    send_all("Response: Success\r\nActionID: " + id + "\r\nMessage: " + msg + "\r\n\r\n");
  }
  void loop() {
    std::string in;
    while (!stop_) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {client_ >= 0 ? client_ : fd_, POLLIN, 0}};
      if (poll(fds.data(), fds.size(), 5000) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        char b[64];
        (void)!read(wake_[0], b, sizeof b);
        std::string out;
        {
          std::lock_guard lk(mu_);
          out.swap(outbox_);
        }
        send_all(out);
      }
      if (!(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (client_ < 0) {
        client_ = accept(fd_, nullptr, nullptr);
        in.clear();
        send_all("Asterisk Call Manager/11.0.0\r\n");
        continue;
      }
      char buf[8192];
      auto n = ::recv(client_, buf, sizeof buf, 0);
      if (n <= 0) {
        close(client_);
        client_ = -1;
        continue;
      }
      in.append(buf, static_cast<std::size_t>(n));
      for (auto end = in.find("\r\n\r\n"); end != std::string::npos; end = in.find("\r\n\r\n")) {
        answer(in.substr(0, end + 2));
        in.erase(0, end + 4);
      }
    }
  }

  int fd_ = -1, client_ = -1, port_ = 0;
  int wake_[2] = {-1, -1};
  std::mutex mu_;
  std::string outbox_;
  std::atomic<int> originates_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One TLS connection (no certificate check: the test's self-signed one).
class Tls {
 public:
  explicit Tls(int port) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~Tls() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool ok() const { return ok_; }
  bool write(std::string_view s) { return ok_ && SSL_write(ssl_, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size()); }
  // Appends what arrives within `timeout` (false: closed or timed out).
  bool read_some(std::string& out, std::chrono::milliseconds timeout = 10s) {
    if (!ok_) return false;
    if (SSL_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    }
    char buf[16384];
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<std::size_t>(n));
    return true;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
};

HttpReply https(int port, const std::string& method, const std::string& path, const std::string& token,
                const std::string& body = {}) {
  Tls t(port);
  HttpReply r;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method != "GET") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (!t.write(req)) return r;
  std::string raw;
  while (t.read_some(raw)) {
  }
  auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.headers = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

// A wss:// event stream client.
class Events {
 public:
  Events(int port, const std::string& token, const std::string& query) : tls_(port) {
    tls_.write("GET /api/v1/events" + query + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Authorization: Bearer " + token + "\r\n\r\n");
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!tls_.read_some(buf_)) return;
    status_ = buf_.substr(0, buf_.find("\r\n"));
    buf_.erase(0, buf_.find("\r\n\r\n") + 4);
  }
  const std::string& status() const { return status_; }
  // The next text message (server frames are unmasked); "" on timeout/close.
  std::string next(std::chrono::milliseconds timeout = 10s) {
    for (;;) {
      if (buf_.size() >= 2) {
        std::size_t len = static_cast<unsigned char>(buf_[1]) & 0x7f, off = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (static_cast<unsigned char>(buf_[2]) << 8) | static_cast<unsigned char>(buf_[3]);
          off = 4;
        } else if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[i]);
          off = 10;
        }
        if (len < 126 || off > 2) {
          if (buf_.size() >= off + len) {
            int opcode = buf_[0] & 0x0f;
            std::string payload = buf_.substr(off, len);
            buf_.erase(0, off + len);
            if (opcode == 1) return payload;
            continue;
          }
        }
      }
      if (!tls_.read_some(buf_, timeout)) return {};
    }
  }
  // Messages until one whose "type" is `type` and that satisfies `pred`; all seen are kept in `seen`.
  json::object until(const std::string& type, const std::function<bool(const json::object&)>& pred,
                     std::vector<json::object>* seen = nullptr) {
    for (;;) {
      std::string m = next();
      if (m.empty()) return {};
      auto o = json::parse(m).as_object();
      if (seen) seen->push_back(o);
      if (o.at("type").as_string() == type && pred(o)) return o;
    }
  }

 private:
  Tls tls_;
  std::string buf_;
  std::string status_;
};

std::string capture_events(const std::string& scenario) {
  std::string bytes = slurp(std::string(CALLBRIDGE_FIXTURES_DIR) + "/" + scenario + "/ami.log");
  bytes = bytes.substr(bytes.find("\r\n") + 2);      // banner
  return bytes.substr(bytes.find("\r\n\r\n") + 4);   // the capture's login response
}

TEST(DaemonApi, TlsTeamPresenceJournalIdsCommandOutcomesAndUiSettings) {
  TempDir dir("cbapi");
  const std::string data = dir / "data";
  std::filesystem::create_directories(data);
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout " + key +
                          " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI failed";

  // Users and tokens in identity.db before the daemon starts.
  std::map<std::string, std::string> tok;
  {
    auto ids = callbridge::identity::SqliteIdentityStore::open(data + "/identity.db");
    ASSERT_TRUE(ids);
    using callbridge::identity::User;
    for (const User& u : {User{"default", "anna", "user", "Anna", {"100"}, "sales"},
                          User{"default", "ben", "user", "Ben", {"101"}, "sales"},
                          User{"default", "carl", "user", "Carl", {"102"}, "support"},
                          User{"default", "root", "admin", "Root", {}, ""}}) {
      ASSERT_TRUE((*ids)->put_user(u));
      auto t = callbridge::identity::issue_token(**ids, "default", u.name, callbridge::base::SystemClock().now());
      ASSERT_TRUE(t);
      tok[u.name] = t->token;
    }
  }

  AmiPeer peer;
  std::ofstream(dir / "cb.toml") << "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncert_file = \"" << cert
                                 << "\"\nkey_file = \"" << key
                                 << "\"\n\n[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << peer.port()
                                 << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n"
                                    "connect_timeout_s = 5\nreconnect_min_ms = 20\nreconnect_max_ms = 200\n";
  ChildProcess d(CALLBRIDGED_PATH, {"--config", dir / "cb.toml", "--data-dir", data});
  auto m = d.wait_for(std::regex(R"(HTTP API listening on 127\.0\.0\.1:(\d+))"));
  ASSERT_FALSE(m.empty()) << d.output();
  const int port = std::stoi(m[1]);
  ASSERT_FALSE(d.wait_for(std::regex(R"(AMI link to 127\.0\.0\.1:\d+ up)")).empty()) << d.output();

  // HTTPS REST.
  auto me = https(port, "GET", "/api/v1/me", tok["anna"]);
  ASSERT_EQ(me.status, 200) << me.headers << me.body;
  EXPECT_EQ(json::parse(me.body).at("team").as_string(), "sales");

  // wss: snapshot first.
  Events anna(port, tok["anna"], "?scope=own");
  ASSERT_EQ(anna.status(), "HTTP/1.1 101 Switching Protocols") << d.output();
  auto snap = json::parse(anna.next()).as_object();
  EXPECT_EQ(snap.at("type").as_string(), "snapshot");
  Events ben(port, tok["ben"], "?scope=team");
  ASSERT_EQ(json::parse(ben.next()).at("type").as_string(), "snapshot");
  Events carl(port, tok["carl"], "?scope=team");
  ASSERT_EQ(json::parse(carl.next()).at("type").as_string(), "snapshot");

  // Anna's phone takes an outside call (the inbound_answered capture), then 102 gets busy as a
  // marker for carl.
  peer.play(capture_events("inbound_answered") +
            "Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: PJSIP/102\r\nState: INUSE\r\n\r\n");

  // Anna: her call and her journal entry, with the stored id.
  auto entry = anna.until("journal", [](const json::object&) { return true; });
  ASSERT_FALSE(entry.empty()) << d.output();
  const auto id = entry.at("entry").at("id").as_int64();
  EXPECT_GE(id, 1);
  EXPECT_EQ(entry.at("entry").at("party").as_string(), "100");
  auto patch = https(port, "PATCH", "/api/v1/journal/" + std::to_string(id), tok["anna"], R"({"note": "called back"})");
  EXPECT_EQ(patch.status, 200) << patch.body;
  auto listed = https(port, "GET", "/api/v1/journal", tok["anna"]);
  EXPECT_NE(listed.body.find("\"id\":" + std::to_string(id)), std::string::npos) << listed.body;
  EXPECT_NE(listed.body.find("called back"), std::string::npos) << listed.body;

  // Ben (same team): anna's line states, never her calls or journal.
  std::vector<json::object> ben_seen;
  bool ringing = false;
  auto idle = ben.until("line", [&](const json::object& o) {
    if (o.at("device").as_string() != "100") return false;
    if (o.at("state").as_string() == "ringing") ringing = true;
    return ringing && o.at("state").as_string() == "idle";  // the call's end
  }, &ben_seen);
  ASSERT_FALSE(idle.empty()) << d.output();
  for (const auto& o : ben_seen) EXPECT_EQ(o.at("type").as_string(), "line") << json::serialize(o);
  // Carl (other team): nothing of anna's before his own line's change.
  std::vector<json::object> carl_seen;
  auto own = carl.until("line", [](const json::object& o) { return o.at("device").as_string() == "102"; }, &carl_seen);
  ASSERT_FALSE(own.empty());
  EXPECT_EQ(carl_seen.size(), 1u) << json::serialize(carl_seen.front());

  // Make call refused by Asterisk after the 202: first "Response: Error", then OriginateResponse Failure.
  std::vector<std::string> cmds;
  for (int i = 0; i < 2; ++i) {
    auto r = https(port, "POST", "/api/v1/calls", tok["anna"], R"({"to": "089123456"})");
    ASSERT_EQ(r.status, 202) << r.body;
    auto o = json::parse(r.body).as_object();
    std::string cid(o.at("command_id").as_string());
    EXPECT_NE(r.headers.find("Location: /api/v1/commands/" + cid), std::string::npos) << r.headers;
    auto ev = anna.until("command", [&](const json::object& e) {
      return e.at("command").at("id").as_string() == cid && e.at("command").at("state").as_string() == "failed";
    });
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.at("command").at("action").as_string(), "make_call");
    auto g = https(port, "GET", "/api/v1/commands/" + cid, tok["anna"]);
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(json::parse(g.body).at("state").as_string(), "failed");
    cmds.push_back(std::string(json::parse(g.body).at("reason").as_string()));
    EXPECT_EQ(https(port, "GET", "/api/v1/commands/" + cid, tok["ben"]).status, 404);
  }
  EXPECT_EQ(peer.originates(), 2);
  EXPECT_EQ(cmds[0], "Originate: Originate failed");
  EXPECT_NE(cmds[1].find("OriginateResponse Reason 0"), std::string::npos) << cmds[1];
  // Ben saw no command event: his next message is the line change that follows.
  peer.play("Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: PJSIP/101\r\nState: INUSE\r\n\r\n");
  auto next = json::parse(ben.next()).as_object();
  EXPECT_EQ(next.at("type").as_string(), "line") << json::serialize(next);

  // Tenant UI settings over HTTPS: admin PUT, user GET, 400 on bad input.
  const std::string settings =
      R"({"action_links":[{"label":"Open in CRM","url":"https://crm.example/contacts/{contact.id}"}],)"
      R"("card_template":"<div>{contact.name}</div>"})";
  EXPECT_EQ(https(port, "PUT", "/api/v1/ui-settings", tok["anna"], settings).status, 403);
  auto put = https(port, "PUT", "/api/v1/ui-settings", tok["root"], settings);
  EXPECT_EQ(put.status, 200) << put.body;
  auto bad = https(port, "PUT", "/api/v1/ui-settings", tok["root"],
                   R"J({"action_links":[{"label":"x","url":"javascript:alert(1)"}]})J");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.headers.find("application/problem+json"), std::string::npos);
  auto got = https(port, "GET", "/api/v1/ui-settings", tok["ben"]);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body).at("action_links").at(0).at("label").as_string(), "Open in CRM");
  EXPECT_EQ(json::parse(got.body).at("source").as_string(), "tenant");

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

}  // namespace
