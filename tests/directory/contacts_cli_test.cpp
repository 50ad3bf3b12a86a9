// `callbridge contacts import|lookup` end to end: the real binary on real (and broken) files in
// tests/directory/fixtures, checked through its exit code, its output and the database it wrote.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

#include "directory/child_process.hpp"
#include "directory/store/sqlite_contact_store.hpp"

#if !defined(CALLBRIDGE_CLI) || !defined(CALLBRIDGE_TEST_DIR)
#error "CALLBRIDGE_CLI and CALLBRIDGE_TEST_DIR must be defined"
#endif

namespace callbridge::directory {
namespace {

using namespace std::chrono_literals;

struct CliRun {
  int code = -1;
  std::string output;
};

class ContactsCli : public ::testing::Test {
 protected:
  testing::TempDir dir;

  CliRun cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {CALLBRIDGE_CLI, "contacts"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data-dir", dir.path(), "--country", "49", "--area", "211", "--base", "339903",
                             "--ext-len", "2"});
    auto p = testing::ChildProcess::spawn(argv);
    EXPECT_TRUE(p);
    auto eof = (*p)->wait_for_line([](const std::string&) { return false; }, 60s);
    EXPECT_EQ(eof.error().code(), base::Errc::unavailable) << "the command did not finish";
    int st = (*p)->wait_exit(10s);
    return CliRun{WIFEXITED(st) ? WEXITSTATUS(st) : -1, (*p)->output()};
  }
  static std::string fixture(const std::string& name) { return std::string(CALLBRIDGE_TEST_DIR) + "/fixtures/" + name; }
  std::size_t stored() {
    SqliteContactStoreOptions o;
    o.path = dir.path() + "/contacts.db";
    auto s = SqliteContactStore::open(o);
    EXPECT_TRUE(s);
    return *(*s)->count("default");
  }
};

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

TEST_F(ContactsCli, ImportsOutlookCsvAndLooksUp) {
  auto r = cli({"import", fixture("outlook_utf8_bom.csv")});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Imported 2 contacts (4 numbers)")) << r.output;
  EXPECT_EQ(stored(), 2u);
  auto exact = cli({"lookup", "0211 339903-45"});
  EXPECT_EQ(exact.code, 0) << exact.output;
  EXPECT_TRUE(contains(exact.output, "1. Anna Schmidt - ACME GmbH")) << exact.output;
  EXPECT_TRUE(contains(exact.output, "exact"));
  // A direct dial nobody has: Anna's contact carries the company main number -0.
  auto fallback = cli({"lookup", "+49 211 339903 77"});
  EXPECT_EQ(fallback.code, 0) << fallback.output;
  EXPECT_TRUE(contains(fallback.output, "Anna Schmidt")) << fallback.output;
  EXPECT_TRUE(contains(fallback.output, "company switchboard/base"));
  auto nobody = cli({"lookup", "+44 20 7946 0000"});
  EXPECT_EQ(nobody.code, 3) << nobody.output;
}

TEST_F(ContactsCli, ImportsWindows1252AndVCard4) {
  auto csv = cli({"import", fixture("german_cp1252_semicolon.csv")});
  EXPECT_EQ(csv.code, 0) << csv.output;
  EXPECT_TRUE(contains(csv.output, "Windows-1252, delimiter ';'")) << csv.output;
  auto vcf = cli({"import", fixture("contacts_v4.vcf")});
  EXPECT_EQ(vcf.code, 0) << vcf.output;
  EXPECT_TRUE(contains(vcf.output, "Read 2 records from contacts_v4.vcf (vCard")) << vcf.output;
  EXPECT_EQ(stored(), 4u);
  auto who = cli({"lookup", "02115550-12"});
  EXPECT_TRUE(contains(who.output, "J\xC3\xBCrgen Gr\xC3\xB6\xC3\x9F" "e - Stra\xC3\x9F" "enbau AG")) << who.output;
}

TEST_F(ContactsCli, BrokenRowsCommitNothingAndNameTheirLines) {
  auto r = cli({"import", fixture("ragged_and_bad_numbers.csv")});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "line 3: has 2 fields, the header has 3")) << r.output;
  EXPECT_TRUE(contains(r.output, "line 4: has 4 fields")) << r.output;
  EXPECT_TRUE(contains(r.output, "line 5: column 'Phone': 'ask reception' is not a phone number")) << r.output;
  EXPECT_TRUE(contains(r.output, "line 6: 'Emil Ohne' has no phone number; skipped")) << r.output;
  EXPECT_TRUE(contains(r.output, "Nothing imported")) << r.output;
  EXPECT_EQ(stored(), 0u);

  auto skip = cli({"import", fixture("ragged_and_bad_numbers.csv"), "--skip-invalid"});
  EXPECT_EQ(skip.code, 0) << skip.output;
  EXPECT_TRUE(contains(skip.output, "Imported 2 contacts")) << skip.output;
  EXPECT_TRUE(contains(skip.output, "Skipped 4 records")) << skip.output;
  EXPECT_EQ(stored(), 2u);
}

TEST_F(ContactsCli, FileLevelProblemsAreFatal) {
  auto nh = cli({"import", fixture("no_header.csv")});
  EXPECT_EQ(nh.code, 1);
  EXPECT_TRUE(contains(nh.output, "line 1: no usable header row")) << nh.output;
  EXPECT_TRUE(contains(nh.output, "looks like data")) << nh.output;
  auto mixed = cli({"import", fixture("mixed_encoding.csv")});
  EXPECT_EQ(mixed.code, 1);
  EXPECT_TRUE(contains(mixed.output, "line 3: invalid UTF-8 (byte 0xFC) although line 2 is UTF-8")) << mixed.output;
  auto missing = cli({"import", dir.path() + "/nope.csv"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_TRUE(contains(missing.output, "cannot open")) << missing.output;
  EXPECT_EQ(stored(), 0u);
}

TEST_F(ContactsCli, HugeLinesAndOversizedFiles) {
  std::string path = dir.path() + "/huge.csv";
  {
    std::ofstream f(path);
    f << "Name,Phone\nAnna,0211 339903-45\nBig," << std::string(300 * 1024, '7') << "\nCarl,030 1234568\n";
  }
  auto r = cli({"import", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.output, "line 3: record longer than 65536 bytes")) << r.output.substr(0, 2000);
  auto big = cli({"import", path, "--max-mb", "0"});
  EXPECT_EQ(big.code, 1);
  EXPECT_TRUE(contains(big.output, "the limit is 0")) << big.output;
  EXPECT_EQ(stored(), 0u);
}

TEST_F(ContactsCli, VCardFoldingErrorsAndDryRun) {
  auto r = cli({"import", fixture("broken_folding.vcf"), "--dry-run"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "line 5: no ':' in property line (broken line folding?)")) << r.output;
  EXPECT_TRUE(contains(r.output, "line 13: card has no END:VCARD (file ends)")) << r.output;
  EXPECT_TRUE(contains(r.output, "Dry run: nothing written.")) << r.output;
  EXPECT_EQ(stored(), 0u);
}

}  // namespace
}  // namespace callbridge::directory
