#include "api/static_files.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

namespace callbridge::api {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("cb-static-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "dist";
    fs::create_directories(root_ / "assets");
    write(root_ / "index.html", "<!doctype html><title>cb</title>");
    write(root_ / "assets" / "app-1234.js", "console.log(1)");
    write(root_ / "assets" / "app-1234.css", "body{}");
    write(base_ / "secret.txt", "secret");
    o_.root = root_.string();
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

  fs::path base_, root_;
  StaticFilesOptions o_;
};

TEST(StaticFilesPure, MimeTypes) {
  EXPECT_EQ(mime_type_for("a/b.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type_for("x.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type_for("x.png"), "image/png");
  EXPECT_EQ(mime_type_for("noext"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("x.exe"), "application/octet-stream");
}

TEST(StaticFilesPure, SafeRelativePathRejectsTraversal) {
  EXPECT_EQ(safe_relative_path("/assets/a.js"), "assets/a.js");
  EXPECT_EQ(safe_relative_path("/assets/a%20b.js"), "assets/a b.js");
  EXPECT_EQ(safe_relative_path("/assets/../secret.txt"), "");
  EXPECT_EQ(safe_relative_path("/assets/%2e%2e/secret.txt"), "");
  EXPECT_EQ(safe_relative_path("/assets/%2E%2E%2Fsecret.txt"), "");
  EXPECT_EQ(safe_relative_path("/assets/..%5csecret.txt"), "");
  EXPECT_EQ(safe_relative_path("/assets/./a.js"), "");
  EXPECT_EQ(safe_relative_path("/assets//a.js"), "");
  EXPECT_EQ(safe_relative_path("//etc/passwd"), "");
  EXPECT_EQ(safe_relative_path("/a%00.js"), "");
  EXPECT_EQ(safe_relative_path("/a%zz"), "");
  EXPECT_EQ(safe_relative_path("/a%2"), "");
  EXPECT_EQ(safe_relative_path("/assets/"), "");
}

TEST_F(StaticFilesTest, ServesFilesWithTypes) {
  auto r = serve_static(o_, "/assets/app-1234.js", false);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  auto i = serve_static(o_, "/", false);
  EXPECT_EQ(i.status, 200);
  EXPECT_EQ(i.content_type, "text/html; charset=utf-8");
  EXPECT_NE(i.body.find("<title>cb</title>"), std::string::npos);
}

TEST_F(StaticFilesTest, TraversalIsNotFound) {
  EXPECT_EQ(serve_static(o_, "/assets/../../secret.txt", false).status, 404);
  EXPECT_EQ(serve_static(o_, "/../secret.txt", true).status, 404);
  EXPECT_EQ(serve_static(o_, "/assets/%2e%2e/%2e%2e/secret.txt", false).status, 404);
}

TEST_F(StaticFilesTest, SymlinkOutOfRootIsNotFound) {
  fs::create_symlink(base_ / "secret.txt", root_ / "assets" / "link.txt");
  EXPECT_EQ(serve_static(o_, "/assets/link.txt", false).status, 404);
}

TEST_F(StaticFilesTest, MissingFileWithAndWithoutFallback) {
  EXPECT_EQ(serve_static(o_, "/assets/nope.js", false).status, 404);
  auto r = serve_static(o_, "/app/journal", true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
}

TEST_F(StaticFilesTest, UnbuiltClientSaysSo) {
  fs::remove(root_ / "index.html");
  auto r = serve_static(o_, "/app/x", true);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("not built"), std::string::npos);
}

TEST_F(StaticFilesTest, OversizedFileIsRefused) {
  o_.max_file_bytes = 4;
  EXPECT_EQ(serve_static(o_, "/assets/app-1234.js", false).status, 500);
}

TEST_F(StaticFilesTest, RoutesThroughServer) {
  boost::asio::io_context io;
  HttpServer s(io, {});
  s.route("GET", "/api/v1/me", [](const HttpRequest&) { return HttpResponse::json(200, "{}"); });
  add_static_routes(s, o_);
  auto get = [&](std::string path) {
    HttpRequest r;
    r.method = "GET";
    r.path = r.target = path;
    return s.dispatch(r);
  };
  EXPECT_EQ(get("/").status, 200);
  EXPECT_EQ(get("/app/dial").content_type, "text/html; charset=utf-8");
  EXPECT_EQ(get("/assets/app-1234.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get("/api/v1/me").body, "{}");
  EXPECT_EQ(get("/api/v1/unknown").status, 404);  // no SPA fallback outside /app
  EXPECT_EQ(get("/secret.txt").status, 404);
}

// The Debian package installs /usr/sbin/callbridged and the client in /usr/share/callbridge/web:
// the installed client is found beside the executable, the build tree's is the fallback, and
// $CALLBRIDGE_WEB_DIR wins over both.
TEST_F(StaticFilesTest, WebRootIsTheEnvThenTheInstalledClientThenTheBuildTree) {
  const auto prefix = base_ / "usr";
  fs::create_directories(prefix / "sbin");
  const auto exe = prefix / "sbin" / "callbridged";
  EXPECT_EQ(choose_web_root(nullptr, exe, "/build/web/dist"), "/build/web/dist");  // nothing installed
  fs::create_directories(prefix / "share" / "callbridge" / "web");
  EXPECT_EQ(choose_web_root(nullptr, exe, "/build/web/dist"), "/build/web/dist");  // no index.html there
  write(prefix / "share" / "callbridge" / "web" / "index.html", "<!doctype html>");
  EXPECT_EQ(choose_web_root(nullptr, exe, "/build/web/dist"), (prefix / "share" / "callbridge" / "web").string());
  EXPECT_EQ(choose_web_root("", exe, "/build/web/dist"), (prefix / "share" / "callbridge" / "web").string());
  EXPECT_EQ(choose_web_root("/srv/web", exe, "/build/web/dist"), "/srv/web");
  EXPECT_EQ(choose_web_root(nullptr, fs::path(), "/build/web/dist"), "/build/web/dist");
}

}  // namespace
}  // namespace callbridge::api
