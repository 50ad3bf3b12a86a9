// libFuzzer target: the static file path resolver of the web client (api/static_files): a URL path
// from any client must map to a path below the web root or be refused. Checks on every accepted
// result: relative, no "." or ".." or empty segment, no backslash or NUL, no percent escape left
// that could decode to one of these later; and the MIME lookup on any name. serve_static() then
// answers the same path from a small web root in a temporary directory (made once at start-up),
// beside which lies a file that must never be served.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "api/static_files.hpp"
#include "fuzz_check.hpp"

using callbridge::fuzz::check;

namespace {

constexpr std::string_view kSecret = "outside-the-web-root";
callbridge::api::StaticFilesOptions g_options;

void write(const std::filesystem::path& p, std::string_view text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cb-fuzz-static-" + std::to_string(::getpid()));
  write(dir / "secret.txt", kSecret);
  write(dir / "web" / "index.html", "<!doctype html><title>callbridge</title>");
  write(dir / "web" / "assets" / "app.js", "console.log('app')");
  write(dir / "web" / "favicon.ico", "ico");
  std::error_code ec;
  fs::create_symlink(dir / "secret.txt", dir / "web" / "assets" / "link.txt", ec);
  g_options.root = (dir / "web").string();
  std::atexit([] {
    std::error_code e;
    std::filesystem::remove_all(std::filesystem::path(g_options.root).parent_path(), e);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view url(reinterpret_cast<const char*>(data), size);
  const std::string rel = callbridge::api::safe_relative_path(url);
  (void)callbridge::api::mime_type_for(url);
  for (bool spa : {false, true}) {
    const auto r = callbridge::api::serve_static(g_options, url, spa);
    check(!(r.status == 200 && r.body == kSecret), "served a file outside the web root:", std::string(url));
  }
  if (rel.empty()) return 0;
  check(rel.front() != '/', "absolute path accepted:", rel);
  check(rel.find('\\') == std::string::npos, "backslash accepted:", rel);
  check(rel.find('\0') == std::string::npos, "NUL accepted");
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = rel.find('/', start);
    const std::string_view seg = std::string_view(rel).substr(start, slash - start);
    check(!seg.empty() && seg != "." && seg != "..", "bad segment accepted:", rel);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  (void)callbridge::api::mime_type_for(rel);
  return 0;
}
