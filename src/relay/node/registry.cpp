#include "relay/node/registry.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/time.hpp"
#include "relay/auth/edge_auth.hpp"

namespace callbridge::relay::node {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxRegistryBytes = 16 * 1024 * 1024;

std::string now_rfc3339() {
  return base::format_rfc3339_ms(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

}  // namespace

std::string_view to_code(LoginRefusal r) {
  switch (r) {
    case LoginRefusal::unknown_edge: return "unknown-edge";
    case LoginRefusal::bad_signature: return "bad-signature";
    case LoginRefusal::join_required: return "join-required";
    case LoginRefusal::bad_join: return "bad-join-token";
    case LoginRefusal::join_used: return "join-used";
    case LoginRefusal::bad_key: return "bad-key";
    case LoginRefusal::malformed: return "malformed";
  }
  return "unknown";
}

base::Result<Registry> Registry::load(const fs::path& path) {
  Registry r;
  r.path_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) return r;
  if (auto st = r.reload_if_changed(); !st) return base::fail(st.error());
  return r;
}

base::Status Registry::reload_if_changed() {
  std::error_code ec;
  const auto mtime = fs::last_write_time(path_, ec);
  if (ec) return {};  // not there (yet): keep what we have
  const auto size = fs::file_size(path_, ec);
  if (ec) return {};
  if (mtime == mtime_ && size == size_) return {};
  return reload();
}

base::Status Registry::reload() {
  std::error_code ec;
  const auto mtime = fs::last_write_time(path_, ec);
  if (ec) return {};
  const auto size = fs::file_size(path_, ec);
  if (ec) return {};
  if (size > kMaxRegistryBytes) return base::fail(base::Error::invalid_argument(fmt::format("{} is larger than 16 MiB", path_.string())));
  std::ifstream in(path_, std::ios::binary);
  if (!in) return base::fail(base::Error::io(fmt::format("cannot read {}: {}", path_.string(), std::strerror(errno))));
  std::ostringstream text;
  text << in.rdbuf();
  if (auto st = parse(text.str()); !st) return st;
  mtime_ = mtime;
  size_ = size;
  return {};
}

base::Status Registry::parse(std::string_view text) {
  auto bad = [&](std::string what) {
    return base::fail(base::Error::invalid_argument(fmt::format("{}: not an edge registry: {}", path_.string(), what)));
  };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return bad(ec.message());
  const json::object* root = v.if_object();
  const json::value* list = root ? root->if_contains("edges") : nullptr;
  if (list == nullptr || !list->is_array()) return bad("no \"edges\" array");
  std::map<std::string, EdgeEntry, std::less<>> edges;
  for (const json::value& e : list->as_array()) {
    const json::object* o = e.if_object();
    if (o == nullptr) return bad("an edge is not an object");
    auto str = [&](std::string_view key) -> std::string {
      const json::value* f = o->if_contains(key);
      return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    EdgeEntry entry{str("id"), str("join_digest"), str("public_key"), str("added"), str("joined")};
    if (!wire::valid_edge_id(entry.id)) return bad(fmt::format("bad edge id \"{}\"", entry.id));
    edges[entry.id] = std::move(entry);
  }
  edges_ = std::move(edges);
  return {};
}

base::Status Registry::save() {
  json::array list;
  for (const auto& [id, e] : edges_) {
    json::object o;
    o["id"] = e.id;
    o["join_digest"] = e.join_digest;
    o["public_key"] = e.public_key;
    o["added"] = e.added;
    o["joined"] = e.joined;
    list.push_back(std::move(o));
  }
  json::object root;
  root["edges"] = std::move(list);
  const std::string text = json::serialize(root) + "\n";
  const fs::path tmp = path_.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return base::fail(base::Error::io(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno))));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    return base::fail(base::Error::io(fmt::format("cannot write {}: {}", path_.string(), std::strerror(errno))));
  }
  std::error_code ec;
  mtime_ = fs::last_write_time(path_, ec);
  size_ = text.size();
  return {};
}

base::Status Registry::update(const std::function<base::Status(Registry&)>& change) {
  const std::string lock_path = path_.string() + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return base::fail(base::Error::io(fmt::format("cannot open {}: {}", lock_path, std::strerror(errno))));
  ::flock(fd, LOCK_EX);
  base::Status st = reload();
  if (st) st = change(*this);
  if (st) st = save();
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return st;
}

base::Result<std::string> Registry::add(std::string_view id) {
  if (!wire::valid_edge_id(id)) {
    return base::fail(base::Error::invalid_argument(
        fmt::format("\"{}\" is not an edge name: lower-case letters, digits and '-', 1 to 63, not starting with '-'", id)));
  }
  if (edges_.contains(id)) return base::fail(base::Error::conflict(fmt::format("edge \"{}\" exists already", id)));
  std::string token = auth::new_join_token();
  edges_[std::string(id)] = EdgeEntry{std::string(id), auth::token_digest(token), "", now_rfc3339(), ""};
  return token;
}

base::Result<std::string> Registry::reset(std::string_view id) {
  auto it = edges_.find(id);
  if (it == edges_.end()) return base::fail(base::Error::not_found(fmt::format("no edge \"{}\"", id)));
  std::string token = auth::new_join_token();
  it->second.join_digest = auth::token_digest(token);
  it->second.public_key.clear();
  it->second.joined.clear();
  return token;
}

base::Status Registry::remove(std::string_view id) {
  auto it = edges_.find(id);
  if (it == edges_.end()) return base::fail(base::Error::not_found(fmt::format("no edge \"{}\"", id)));
  edges_.erase(it);
  return {};
}

const EdgeEntry* Registry::find(std::string_view id) const {
  auto it = edges_.find(id);
  return it == edges_.end() ? nullptr : &it->second;
}

std::optional<LoginRefusal> Registry::login(const wire::Hello& hello, std::string_view nonce) {
  auto it = edges_.find(hello.edge);
  if (it == edges_.end()) return LoginRefusal::unknown_edge;
  EdgeEntry& e = it->second;
  auto pk = auth::from_b64url(hello.pk);
  auto sig = auth::from_b64url(hello.sig);
  if (!pk || !sig || pk->size() != auth::kPublicKeyBytes) return LoginRefusal::malformed;
  if (!auth::verify(*pk, auth::challenge_message(nonce, hello.edge), *sig)) return LoginRefusal::bad_signature;
  const std::string presented = auth::b64url(*pk);
  if (!e.public_key.empty()) {
    if (presented == e.public_key) return std::nullopt;  // a token still in the edge's config is harmless
    return hello.join ? LoginRefusal::join_used : LoginRefusal::bad_key;
  }
  if (!hello.join) return LoginRefusal::join_required;
  if (!auth::digests_equal(auth::token_digest(*hello.join), e.join_digest)) return LoginRefusal::bad_join;
  // Record the key under the file lock, against the file as it is now (another node may have
  // recorded this edge's key a moment ago, with the same token: then it is that key or nothing).
  std::optional<LoginRefusal> refusal;
  auto st = update([&](Registry& r) -> base::Status {
    auto now = r.edges_.find(hello.edge);
    if (now == r.edges_.end()) {
      refusal = LoginRefusal::unknown_edge;
    } else if (!now->second.public_key.empty()) {
      if (now->second.public_key != presented) refusal = LoginRefusal::join_used;
    } else if (!auth::digests_equal(auth::token_digest(*hello.join), now->second.join_digest)) {
      refusal = LoginRefusal::bad_join;
    } else {
      now->second.public_key = presented;
      now->second.joined = now_rfc3339();
    }
    return {};
  });
  if (!st) return LoginRefusal::unknown_edge;  // cannot record the key: refuse rather than forget it
  return refusal;
}

}  // namespace callbridge::relay::node
