#include "api/static_files.hpp"
#include "base/percent_encoding.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#ifndef CALLBRIDGE_WEB_DIST
#define CALLBRIDGE_WEB_DIST "web/dist"
#endif

namespace callbridge::api {

namespace fs = std::filesystem;

namespace {

HttpResponse not_found(std::string_view path) {
  return HttpResponse::problem(404, "Not Found", "no resource at " + std::string(path));
}

}  // namespace

std::string_view mime_type_for(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".jpg", "image/jpeg"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  }};
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto ext = name.substr(dot);
  for (const auto& [e, t] : kTypes)
    if (e == ext) return t;
  return "application/octet-stream";
}

std::string safe_relative_path(std::string_view url_path) {
  std::string decoded;
  decoded.reserve(url_path.size());
  for (std::size_t i = 0; i < url_path.size(); ++i) {
    char c = url_path[i];
    if (c == '%') {
      if (i + 2 >= url_path.size()) return "";
      int h = base::hex_digit_value(url_path[i + 1]), l = base::hex_digit_value(url_path[i + 2]);
      if (h < 0 || l < 0) return "";
      c = static_cast<char>(h * 16 + l);
      i += 2;
    }
    if (c == '\0' || c == '\\') return "";
    decoded.push_back(c);
  }
  // Split into segments; reject anything that could climb or alias.
  std::string out;
  std::size_t pos = 0;
  while (pos < decoded.size() && decoded[pos] == '/') ++pos;  // leading slashes
  if (pos > 1) return "";  // "//x" is not a path we produce
  while (pos <= decoded.size()) {
    auto next = decoded.find('/', pos);
    if (next == std::string::npos) next = decoded.size();
    std::string_view seg(decoded.data() + pos, next - pos);
    if (seg.empty() || seg == "." || seg == "..") return "";
    if (!out.empty()) out.push_back('/');
    out.append(seg);
    pos = next + 1;
  }
  return out;
}

HttpResponse serve_static(const StaticFilesOptions& o, std::string_view url_path, bool spa_fallback) {
  std::string rel = (url_path == "/" || url_path.empty()) ? "index.html" : safe_relative_path(url_path);
  if (rel.empty()) return not_found(url_path);
  std::error_code ec;
  fs::path root(o.root);
  fs::path file = root / rel;
  if (!fs::is_regular_file(file, ec)) {
    if (!spa_fallback) return not_found(url_path);
    rel = "index.html";
    file = root / rel;
    if (!fs::is_regular_file(file, ec))
      return HttpResponse::problem(404, "Not Found",
                                   "the web client is not built (no index.html in " + o.root +
                                       "); run the web build (cmake --build ... --target web) or set "
                                       "CALLBRIDGE_WEB_DIR");
  }
  // Symlinks must not lead out of the root.
  auto canon_root = fs::weakly_canonical(root, ec);
  auto canon_file = fs::weakly_canonical(file, ec);
  if (ec) return not_found(url_path);
  auto r = canon_root.native(), f = canon_file.native();
  if (f.size() <= r.size() || f.compare(0, r.size(), r) != 0 || f[r.size()] != '/')
    return not_found(url_path);
  auto size = fs::file_size(canon_file, ec);
  if (ec) return not_found(url_path);
  if (size > o.max_file_bytes) {
    spdlog::error("static: {} is {} bytes, over the limit of {}", f, size, o.max_file_bytes);
    return HttpResponse::problem(500, "Internal Server Error", "file too large to serve");
  }
  std::ifstream in(canon_file, std::ios::binary);
  std::string body(size, '\0');
  if (!in.read(body.data(), static_cast<std::streamsize>(size)))
    return HttpResponse::problem(500, "Internal Server Error", "cannot read " + rel);
  HttpResponse resp;
  resp.status = 200;
  resp.content_type = std::string(mime_type_for(rel));
  resp.body = std::move(body);
  // Vite puts content hashes into asset names: cache those for long, never index.html.
  if (rel.starts_with("assets/"))
    resp.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  else
    resp.headers.emplace_back("Cache-Control", "no-cache");
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (rel == "index.html") {
    // The client may be embedded by a CRM (iframe), so no frame-ancestors restriction here.
    resp.headers.emplace_back("Content-Security-Policy",
                              "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                              "img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; "
                              "base-uri 'none'");
  }
  return resp;
}

void add_static_routes(HttpServer& server, StaticFilesOptions options) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(options.root) / "index.html", ec))
    spdlog::warn("web client: no index.html in {} (build it with the `web` target or set "
                 "CALLBRIDGE_WEB_DIR); / answers 404", options.root);
  else
    spdlog::info("web client: serving {}", options.root);
  auto o = std::make_shared<StaticFilesOptions>(std::move(options));
  auto index = [o](const HttpRequest&) { return serve_static(*o, "/", false); };
  server.route("GET", "/", index);
  server.route("GET", "/index.html", index);
  server.route("GET", "/assets/*", [o](const HttpRequest& r) { return serve_static(*o, r.path, false); });
  // Client-side routes (deep links, tel: handler target): always the app.
  server.route("GET", "/app", index);
  server.route("GET", "/app/*", index);
  // Top-level files Vite copies from public/ (favicon, manifest, the tenants' card/action config).
  for (const auto* name : {"/favicon.svg", "/manifest.webmanifest", "/robots.txt", "/ui-config.json"})
    server.route("GET", name, [o](const HttpRequest& r) { return serve_static(*o, r.path, false); });
}

std::string choose_web_root(const char* env, const fs::path& exe, std::string_view build_dist) {
  if (env && *env) return env;
  if (!exe.empty()) {
    std::error_code ec;
    auto installed = (exe.parent_path().parent_path() / "share" / "callbridge" / "web").lexically_normal();
    if (fs::is_regular_file(installed / "index.html", ec)) return installed.string();
  }
  return std::string(build_dist);
}

std::string default_web_root() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);  // Linux; empty when /proc is not there
  return choose_web_root(std::getenv("CALLBRIDGE_WEB_DIR"), ec ? fs::path() : exe, CALLBRIDGE_WEB_DIST);
}

}  // namespace callbridge::api
