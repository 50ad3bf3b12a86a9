// StaticFiles: serves the built web client (web/dist, produced by `npm run build`) from a directory
// on disk: "/" and "/index.html", "/assets/*", other top-level files of the directory, and the
// single-page-app fallback "/app/*" -> index.html. Registered by app.cpp; handlers run on the
// HTTP server's io thread and read small files synchronously (size-limited).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "api/http_server.hpp"

namespace callbridge::api {

struct StaticFilesOptions {
  std::string root;                            // directory holding index.html
  std::size_t max_file_bytes = 16 * 1024 * 1024;  // bigger files answer 500 (never partially)
};

// The MIME type for a file name by its extension ("application/octet-stream" if unknown).
std::string_view mime_type_for(std::string_view file_name);

// Maps a URL path below the root to a relative file path: percent-decoded, no "..", ".", empty
// segments, backslashes or NULs. "" when the path is not acceptable.
std::string safe_relative_path(std::string_view url_path);

// Answers one GET for `url_path` from `options.root` (exposed for tests; add_static_routes uses it).
// `spa_fallback`: a missing file answers index.html instead of 404.
HttpResponse serve_static(const StaticFilesOptions& options, std::string_view url_path, bool spa_fallback);

// Registers the routes. When root has no index.html the routes still exist and answer 404 with a
// hint to build the web client (the server starts either way).
void add_static_routes(HttpServer& server, StaticFilesOptions options);

// The directory to serve, first that applies: $CALLBRIDGE_WEB_DIR if set; the installed client
// beside the executable (<prefix>/share/callbridge/web for <prefix>/sbin/callbridged, as the
// Debian package and `cmake --install` lay it out) when it holds index.html; else the build
// tree's (CALLBRIDGE_WEB_DIST, <build>/web/dist).
std::string default_web_root();
// The same choice over given values (tests): `env` null or empty = unset, `exe` the executable's path.
std::string choose_web_root(const char* env, const std::filesystem::path& exe, std::string_view build_dist);

}  // namespace callbridge::api
