// End to end: one [tenant.default.dialing] with every dialing key, used by the real binaries.
// `callbridge contacts import --config` stores contacts whose numbers are written in many forms;
// the real callbridged (same config, port 0) must find each of them by the number exactly as it
// was written (GET /api/v1/contacts/lookup), and `callbridge number normalize` and
// `callbridge contacts lookup` must print the same E.164 the daemon answers with: the CLI and the
// daemon build the plan with one function (app::tenant_dialing_plan), so they cannot drift.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/child_process.hpp"
#include "support/http_get.hpp"
#include "support/temp_dir.hpp"

namespace callbridge {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ChildProcess;

std::string cli(const std::vector<std::string>& args, int* rc) {
  ChildProcess p(CALLBRIDGE_CLI_PATH, args);
  *rc = p.wait_exit();
  return p.output();
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Every form of number the dialing keys change: extensions by length and by range, the company's
// DID block, outside-line code, trunk and international prefixes, a local number, tel: URIs.
// Each would normalize differently if one key were dropped (extension_ranges: "150",
// "339903-150", the tel: URI; outside/trunk prefixes: "0 0211 4711234"; area code: "4711234").
const std::vector<std::string> kNumbers = {
    "12",
    "150",
    "339903-150",
    "0211 339903-12",
    "+49 89 123456",
    "089 123456",
    "0041 44 668 18 00",
    "0 0211 4711234",
    "4711234",
    "tel:+49-211-339903;ext=150",
    "+1 (650) 253-0000",
};

TEST(DialingConfigE2E, ImportedNumbersAreFoundByTheDaemonAsWritten) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);
  const std::string config = dir / "callbridged.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data << "\"\n\n"
                        << "[tenant.default.dialing]\n"
                           "country_code = \"49\"\n"
                           "region = \"DE\"\n"
                           "area_code = \"211\"\n"
                           "base_number = \"339903\"\n"
                           "extension_length = 2\n"
                           "extension_ranges = [\"100-199\"]\n"
                           "outside_prefix = \"0\"\n"
                           "trunk_prefix = \"0\"\n"
                           "international_prefix = \"00\"\n"
                           "pbx_reports_outside_prefix = true\n";

  // One contact per written form, named after its row.
  const std::string csv = dir / "contacts.csv";
  {
    std::ofstream f(csv);
    f << "Name,Phone\r\n";
    for (std::size_t i = 0; i < kNumbers.size(); ++i) f << "Row " << i << ",\"" << kNumbers[i] << "\"\r\n";
  }
  int rc = 0;
  auto out = cli({"contacts", "import", csv, "--config", config}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Imported " + std::to_string(kNumbers.size()) + " contacts"), std::string::npos) << out;
  out = cli({"token", "create", "--data-dir", data, "--tenant", "default", "--user", "admin", "--role", "admin"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch tm;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::string token = tm[0].str();

  // What `callbridge number` makes of each form, with the same config and no flags.
  std::vector<std::string> args = {"number", "normalize", "--config", config};
  args.insert(args.end(), kNumbers.begin(), kNumbers.end());
  out = cli(args, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> cli_e164;
  {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      auto a = line.find('\t'), b = line.find('\t', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      cli_e164.push_back(line.substr(a + 1, b - a - 1));
    }
  }
  ASSERT_EQ(cli_e164.size(), kNumbers.size()) << out;
  // The local number gets the area code; an extension of the range is the company's DID.
  EXPECT_EQ(cli_e164[1], "+49211339903150");
  EXPECT_EQ(cli_e164[2], "+49211339903150");
  EXPECT_EQ(cli_e164[8], "+492114711234");

  ChildProcess daemon(CALLBRIDGED_PATH, {"--config", config});
  auto m = daemon.wait_for(std::regex(R"(HTTP API listening on 127\.0\.0\.1:(\d+))"));
  ASSERT_FALSE(m.empty()) << daemon.output();
  const int port = std::stoi(m[1].str());

  for (std::size_t i = 0; i < kNumbers.size(); ++i) {
    const std::string& raw = kNumbers[i];
    SCOPED_TRACE("row " + std::to_string(i) + ": '" + raw + "'");
    auto resp = testing::http_get(port, "/api/v1/contacts/lookup?number=" + url_encode(raw), token);
    ASSERT_NE(resp.find(" 200 "), std::string::npos) << resp;
    auto body = json::parse(resp.substr(resp.find("\r\n\r\n") + 4)).as_object();
    const std::string daemon_e164(body.at("number").at("e164").as_string());
    EXPECT_EQ(daemon_e164, cli_e164[i]) << "callbridge number and callbridged disagree";
    bool found = false;
    for (const auto& match : body.at("matches").as_array()) {
      if (match.at("name") == ("Row " + std::to_string(i)).c_str()) {
        found = true;
        EXPECT_EQ(match.at("matched_number"), daemon_e164.c_str()) << json::serialize(match);
        EXPECT_EQ(match.at("match"), "exact") << json::serialize(match);
      }
    }
    EXPECT_TRUE(found) << "the imported contact is not found by the daemon: " << json::serialize(body);

    // The CLI's own lookup on the store reads the number the same way.
    out = cli({"contacts", "lookup", raw, "--config", config}, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out.substr(0, out.find('\n')), daemon_e164) << out;
    EXPECT_NE(out.find("Row " + std::to_string(i)), std::string::npos) << out;
  }
}

// Issue 13: `callbridge number --config` with a demo configuration uses the plan callbridged
// runs the demo with (the simulated PBX's, not in the file), before or after `normalize`, and
// agrees with the daemon's lookup number by number.
TEST(DialingConfigE2E, NumberWithADemoConfigUsesTheDaemonsDemoPlan) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  const std::string config = dir / "demo.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data
                        << "\"\n\n[demo]\nenabled = true\nspeed = 1\ncalls_per_minute = 1\n";
  const std::vector<std::string> numbers = {"101", "030 555-102", "089 1234567", "+41 44 668 18 00"};
  int rc = 0;
  std::vector<std::string> args = {"number", "normalize", "--config", config};
  args.insert(args.end(), numbers.begin(), numbers.end());
  auto out = cli(args, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out,
            "101\t+4930555101\tinternal 101\n"
            "030 555-102\t+4930555102\tinternal 102\n"
            "089 1234567\t+49891234567\texternal\n"
            "+41 44 668 18 00\t+41446681800\texternal\n");
  std::vector<std::string> before = {"number", "--config", config, "normalize"};
  before.insert(before.end(), numbers.begin(), numbers.end());
  EXPECT_EQ(cli(before, &rc), out) << "--config before the subcommand";
  EXPECT_EQ(rc, 0);

  ChildProcess daemon(CALLBRIDGED_PATH, {"--config", config});
  auto open = daemon.wait_for(std::regex(R"(Open as the admin \([^)]*\): http://127\.0\.0\.1:(\d+)/\?token=(cbt_\w+))"));
  ASSERT_FALSE(open.empty()) << daemon.output();
  const int port = std::stoi(open[1].str());
  std::istringstream lines(out);
  std::string line;
  for (const auto& raw : numbers) {
    ASSERT_TRUE(std::getline(lines, line));
    const std::string cli_e164 = line.substr(line.find('\t') + 1, line.rfind('\t') - line.find('\t') - 1);
    auto resp = testing::http_get(port, "/api/v1/contacts/lookup?number=" + url_encode(raw), open[2].str());
    ASSERT_NE(resp.find(" 200 "), std::string::npos) << resp;
    auto body = json::parse(resp.substr(resp.find("\r\n\r\n") + 4)).as_object();
    EXPECT_EQ(body.at("number").at("e164"), cli_e164.c_str()) << raw;
  }
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_exit(), 0) << daemon.output();
}

}  // namespace
}  // namespace callbridge
