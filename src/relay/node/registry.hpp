// The relay's edge registry (docs/relay.md "Edge registry"): one JSON file listing the edges that
// may connect, each with the BLAKE2b digest of its one-time join token and, once joined, its Ed25519
// public key. Nothing else is written to disk. `callbridge-relay edge add` edits it offline; a
// running node reloads it when the file changes and writes it when an edge joins. Writes replace
// the file atomically (temp file + rename, mode 0600).
// Not thread-safe; one owner (the node's io thread or the CLI).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "relay/wire/control.hpp"

namespace callbridge::relay::node {

struct EdgeEntry {
  std::string id;
  std::string join_digest;  // hex BLAKE2b-256 of the join token
  std::string public_key;   // base64url Ed25519 public key; empty until the edge joined
  std::string added;        // RFC 3339 UTC
  std::string joined;       // RFC 3339 UTC or empty
};

// Why a login was refused: the `code` of the error message the edge gets (stable).
enum class LoginRefusal {
  unknown_edge,   // no such edge in the registry
  bad_signature,  // the signature does not verify with the presented key
  join_required,  // never joined and no join token presented
  bad_join,       // the join token is not this edge's
  join_used,      // a join token presented with a key other than the one that joined
  bad_key,        // the presented key is not the registered one
  malformed,      // pk or sig not base64url of the right size
};
std::string_view to_code(LoginRefusal r);

class Registry {
 public:
  // A missing file is an empty registry; a file that is not a registry is an error.
  static base::Result<Registry> load(const std::filesystem::path& path);
  // Reloads when the file's modification time or size changed since the last load/save.
  base::Status reload_if_changed();
  base::Status save();
  // Read-modify-write under an exclusive lock (flock on FILE.lock): the file is read again, `change`
  // edits the edges, the result is saved. Nodes and the CLI sharing one file never lose each
  // other's changes (two edges joining at two nodes at once).
  base::Status update(const std::function<base::Status(Registry&)>& change);

  // Adds an edge and returns its join token (shown once). Errc::conflict when it exists,
  // Errc::invalid_argument for a bad id.
  base::Result<std::string> add(std::string_view id);
  // A new join token for an existing edge; forgets its key (the edge must join again).
  base::Result<std::string> reset(std::string_view id);
  base::Status remove(std::string_view id);

  const EdgeEntry* find(std::string_view id) const;
  const std::map<std::string, EdgeEntry, std::less<>>& edges() const { return edges_; }

  // Checks a hello against the registry and the challenge's nonce. On a first join records the key
  // and saves the file. Returns the refusal, or nullopt when the edge is in.
  std::optional<LoginRefusal> login(const wire::Hello& hello, std::string_view nonce);

  const std::filesystem::path& path() const { return path_; }

 private:
  base::Status parse(std::string_view text);
  base::Status reload();

  std::filesystem::path path_;
  std::map<std::string, EdgeEntry, std::less<>> edges_;
  std::filesystem::file_time_type mtime_{};
  std::uintmax_t size_ = 0;
};

}  // namespace callbridge::relay::node
