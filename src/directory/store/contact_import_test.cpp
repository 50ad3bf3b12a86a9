// Import tests, most of them with broken files: every problem must name its line, and an import
// with errors must leave the store untouched unless the caller chose to skip bad records.
#include "directory/store/contact_import.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "directory/store/csv_reader.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "directory/store/test_numbers.hpp"

namespace callbridge::directory {
namespace {

using ports::ContactKind;
using Severity = ImportIssue::Severity;

ImportParseOptions opts() {
  ImportParseOptions o{.tenant = base::TenantId("default")};
  o.to_e164 = testing::german_e164;
  o.origin = "import:test";
  return o;
}

std::unique_ptr<SqliteContactStore> mem_store() {
  SqliteContactStoreOptions o;
  o.path = ":memory:";
  return std::move(*SqliteContactStore::open(o));
}

std::string issues_text(const ParsedImport& p) {
  std::string s;
  for (const auto& i : p.issues) s += i.message + "\n";
  return s;
}

bool has_issue(const ParsedImport& p, std::size_t line, std::string_view needle) {
  for (const auto& i : p.issues)
    if (i.line == line && i.message.find(needle) != std::string::npos) return true;
  return false;
}

// --- CSV, good files -------------------------------------------------------------------------

TEST(CsvImport, OutlookExportWithBomQuotesAndMultilineNote) {
  std::string csv =
      "\xEF\xBB\xBF"
      "First Name,Last Name,Company,Business Phone,Business Phone 2,Mobile Phone,E-mail Address,Notes,Spouse\r\n"
      "Anna,Schmidt,\"ACME, GmbH\",0211 339903-45,,+49 171 5550101,anna@acme.example,\"line one\r\nline two\",\r\n"
      "Bernd,\"M\"\"uller\",,(030) 1234567,030 1234568,,,,Eva\r\n";
  auto p = parse_contacts(csv, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->format, ImportFormat::csv);
  EXPECT_EQ(p->encoding, TextEncoding::utf8);
  EXPECT_EQ(p->delimiter, ',');
  EXPECT_EQ(p->errors(), 0u) << issues_text(*p);
  ASSERT_EQ(p->contacts.size(), 2u);
  const auto& a = p->contacts[0];
  EXPECT_EQ(a.display_name, "Anna Schmidt");
  EXPECT_EQ(a.company, "ACME, GmbH");
  EXPECT_EQ(a.note, "line one\r\nline two");
  ASSERT_EQ(a.numbers.size(), 2u);
  EXPECT_EQ(a.numbers[0], (ports::PhoneNumber{"work", "0211 339903-45", "+4921133990345"}));
  EXPECT_EQ(a.numbers[1].label, "mobile");
  EXPECT_EQ(p->contact_lines, (std::vector<std::size_t>{2, 4})) << "the multi-line note moves Bernd to line 4";
  EXPECT_EQ(p->contacts[1].family_name, "M\"uller");
  EXPECT_EQ(p->contacts[1].numbers.size(), 2u);
  EXPECT_EQ(p->columns_ignored, (std::vector<std::string>{"Spouse"}));
}

TEST(CsvImport, SemicolonWindows1252GermanExport) {
  // "Müller;Telefon;Firma" in Windows-1252: ü = 0xFC, € = 0x80.
  std::string csv = "Name;Telefon;Firma;Notiz\n"
                    "J\xFCrgen M\xFCller;0211/5550-0;B\xE4" "ckerei M\xFCller;Preis 5\x80\n";
  auto p = parse_contacts(csv, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->encoding, TextEncoding::windows1252);
  EXPECT_EQ(p->delimiter, ';');
  ASSERT_EQ(p->contacts.size(), 1u);
  EXPECT_EQ(p->contacts[0].display_name, "J\xC3\xBCrgen M\xC3\xBCller");
  EXPECT_EQ(p->contacts[0].company, "B\xC3\xA4" "ckerei M\xC3\xBCller");
  EXPECT_EQ(p->contacts[0].note, "Preis 5\xE2\x82\xAC");
  EXPECT_EQ(p->contacts[0].numbers[0].e164, "+4921155500");
}

TEST(CsvImport, Utf16LeTabSeparatedWithBom) {
  std::string ascii = "Name\tPhone\nZo\xC3\xAB\t+49 30 1234567\n";  // UTF-8 source text
  // Re-encode as UTF-16LE by hand (BMP only).
  std::string u16 = "\xFF\xFE";
  for (std::size_t i = 0; i < ascii.size();) {
    auto b = static_cast<unsigned char>(ascii[i]);
    unsigned cp = b;
    if (b >= 0xC0) {
      cp = ((b & 0x1F) << 6) | (static_cast<unsigned char>(ascii[i + 1]) & 0x3F);
      i += 2;
    } else {
      ++i;
    }
    u16.push_back(static_cast<char>(cp & 0xFF));
    u16.push_back(static_cast<char>(cp >> 8));
  }
  auto p = parse_contacts(u16, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->encoding, TextEncoding::utf16le);
  EXPECT_EQ(p->delimiter, '\t');
  ASSERT_EQ(p->contacts.size(), 1u);
  EXPECT_EQ(p->contacts[0].display_name, "Zo\xC3\xAB");
}

TEST(CsvImport, CompanyOnlyRowsBecomeCompaniesAndExplicitMapping) {
  std::string csv = "Firm,Tel. Zentrale,Direct\nACME GmbH,0211 339903-0,\n,,\nSolo,,030 1234567\n";
  auto o = opts();
  o.column_map = {{"Firm", "company"}, {"Tel. Zentrale", "phone:main"}, {"Direct", "phone:work"}};
  auto p = parse_contacts(csv, o);
  ASSERT_TRUE(p) << p.error().to_string();
  ASSERT_EQ(p->contacts.size(), 2u) << issues_text(*p);
  EXPECT_EQ(p->contacts[0].kind, ContactKind::company);
  EXPECT_EQ(p->contacts[0].display_name, "ACME GmbH");
  EXPECT_EQ(p->contacts[0].numbers[0].label, "main");
  EXPECT_EQ(p->contact_lines, (std::vector<std::size_t>{2, 4})) << "the empty row 3 is no record";
}

// --- CSV, broken files -----------------------------------------------------------------------

TEST(CsvImport, MissingHeaderIsFatalAndSaysWhy) {
  auto p = parse_contacts("Anna Schmidt,0211 339903-45\nBernd,030 1234567\n", opts());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("line 1: no usable header row"), std::string::npos) << p.error().message();
  EXPECT_NE(p.error().message().find("looks like data"), std::string::npos);
}

TEST(CsvImport, HeaderWithoutPhoneColumnIsFatal) {
  auto p = parse_contacts("Name,Street\nAnna,Hauptstr. 1\n", opts());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("'Name', 'Street'"), std::string::npos);
}

TEST(CsvImport, EmptyFileIsFatal) {
  EXPECT_FALSE(parse_contacts("", opts()));
  EXPECT_FALSE(parse_contacts("\n\n", opts()));
}

TEST(CsvImport, RaggedRowsAndBadNumbersAreReportedWithLines) {
  std::string csv =
      "Name,Phone,Company\n"
      "Anna,0211 339903-45,ACME\n"    // 2 ok
      "Bernd,030 1234567\n"           // 3 too few fields
      "Carl,030 1234568,X,Y\n"        // 4 too many
      "Dora,ask reception,ACME\n"     // 5 not a number
      "Emil,,ACME\n"                  // 6 no number: skipped
      "Fritz,12,ACME\n"               // 7 too short for the plan
      "Gina,0211 339903-46,ACME,,\n"; // 8 trailing empty fields are fine
  auto p = parse_contacts(csv, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->records, 7u);
  EXPECT_EQ(p->errors(), 4u) << issues_text(*p);
  EXPECT_EQ(p->skipped(), 1u);
  EXPECT_TRUE(has_issue(*p, 3, "has 2 fields, the header has 3"));
  EXPECT_TRUE(has_issue(*p, 4, "has 4 fields"));
  EXPECT_TRUE(has_issue(*p, 5, "column 'Phone': 'ask reception' is not a phone number"));
  EXPECT_TRUE(has_issue(*p, 6, "no phone number; skipped"));
  EXPECT_TRUE(has_issue(*p, 7, "'12' is not a phone number"));
  ASSERT_EQ(p->contacts.size(), 2u);
  EXPECT_EQ(p->contact_lines, (std::vector<std::size_t>{2, 8}));
}

TEST(CsvImport, HugeLineIsRejectedAndReadingResumes) {
  std::string csv = "Name,Phone\nAnna,0211 339903-45\nBig," + std::string(200 * 1024, 'x') +
                    "\nCarl,030 1234568\n";
  auto p = parse_contacts(csv, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_TRUE(has_issue(*p, 3, "record longer than 65536 bytes")) << issues_text(*p);
  ASSERT_EQ(p->contacts.size(), 2u);
  EXPECT_EQ(p->contact_lines[1], 4u);
}

// fuzz/contact_import: the last field of a file without a final line break was not counted, so
// such a record could hold max_fields + 1 fields.
TEST(CsvImport, FieldLimitHoldsForTheLastRecordWithoutLineBreak) {
  for (std::string text : {"a,b,c", "a,b,c\n"}) {
    CsvReader r(text, ',', CsvLimits{.max_record_bytes = 1024, .max_fields = 2});
    CsvRecord rec;
    EXPECT_FALSE(r.next(rec)) << text;
    ASSERT_EQ(r.problems().size(), 1u) << text;
    EXPECT_EQ(r.problems()[0].message, "more than 2 fields");
  }
  CsvReader ok("a,b", ',', CsvLimits{.max_record_bytes = 1024, .max_fields = 2});
  CsvRecord rec;
  ASSERT_TRUE(ok.next(rec));
  EXPECT_EQ(rec.fields.size(), 2u);
}

TEST(CsvImport, OverlongFieldIsAnErrorEvenInsideTheRecordLimit) {
  std::string csv = "Name,Phone\n" + std::string(5000, 'n') + ",030 1234568\n";
  auto p = parse_contacts(csv, opts());
  ASSERT_TRUE(p);
  EXPECT_TRUE(has_issue(*p, 2, "longer than 4096 bytes")) << issues_text(*p);
}

TEST(CsvImport, UnterminatedQuoteIsReportedAtItsLine) {
  std::string csv = "Name,Phone\nAnna,0211 339903-45\n\"Bernd,030 1234567\nCarl,030 1234568\n";
  auto p = parse_contacts(csv, opts());
  ASSERT_TRUE(p);
  EXPECT_TRUE(has_issue(*p, 3, "quoted field opened on line 3 is never closed")) << issues_text(*p);
  EXPECT_EQ(p->contacts.size(), 1u);
}

TEST(CsvImport, GarbageAfterClosingQuote) {
  auto p = parse_contacts("Name,Phone\n\"Anna\"x,030 1234567\nBob,030 1234568\n", opts());
  ASSERT_TRUE(p);
  EXPECT_TRUE(has_issue(*p, 2, "after a closing quote")) << issues_text(*p);
  EXPECT_EQ(p->contacts.size(), 1u);
}

TEST(CsvImport, FileSizeLimit) {
  auto o = opts();
  o.max_file_bytes = 16;
  auto p = parse_contacts("Name,Phone\nAnna,030 1234567\n", o);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("limit is 16"), std::string::npos);
}

// --- encodings -------------------------------------------------------------------------------

TEST(TextDecode, MixedEncodingsAreRefusedWithLine) {
  // Line 2 is UTF-8 (ü = C3 BC), line 3 has a Windows-1252 ü (FC).
  std::string csv = "Name,Phone\nM\xC3\xBCller,030 1234567\nM\xFCller,030 1234568\n";
  auto p = parse_contacts(csv, opts());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("line 3: invalid UTF-8 (byte 0xFC) although line 2 is UTF-8"),
            std::string::npos)
      << p.error().message();
}

TEST(TextDecode, ForcedUtf8RejectsLatin1Bytes) {
  auto o = opts();
  o.encoding = TextEncoding::utf8;
  auto p = parse_contacts("Name,Phone\nA,1\nM\xFCller,030 1234568\n", o);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("line 3: invalid UTF-8"), std::string::npos);
}

TEST(TextDecode, UndefinedWindows1252ByteAndNulAndBrokenBomFile) {
  auto undefined = parse_contacts("Name,Phone\nA\x81,030 1234567\n", opts());
  ASSERT_FALSE(undefined);
  EXPECT_NE(undefined.error().message().find("line 2: byte 0x81 is undefined in Windows-1252"), std::string::npos);
  auto nul = parse_contacts(std::string("Name,Phone\nA,030\0 1234567\n", 27), opts());
  ASSERT_FALSE(nul);
  EXPECT_NE(nul.error().message().find("line 2: NUL byte"), std::string::npos);
  auto bom = parse_contacts("\xEF\xBB\xBFName,Phone\n\xFF,1\n", opts());
  ASSERT_FALSE(bom);
  EXPECT_NE(bom.error().message().find("line 2: invalid UTF-8"), std::string::npos);
}

TEST(TextDecode, RejectsOverlongAndSurrogateUtf8) {
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);      // U+D800
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u);  // > U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC", 0), 3u);
}

TEST(CsvReader, DelimiterDetectionIgnoresQuotedText) {
  EXPECT_EQ(detect_csv_delimiter("\"a;b;c\",x,y\n"), ',');
  EXPECT_EQ(detect_csv_delimiter("a;b;c\n1,2;3"), ';');
  EXPECT_EQ(detect_csv_delimiter("a\tb\n"), '\t');
  EXPECT_EQ(detect_csv_delimiter("name\n"), ',');
}

// --- vCard -----------------------------------------------------------------------------------

TEST(VCardImport, Version3And4WithFoldingTypesAndUris) {
  std::string vcf =
      "BEGIN:VCARD\r\n"
      "VERSION:3.0\r\n"
      "N:Schmidt;Anna;;;\r\n"
      "FN:Anna Schmidt\r\n"
      "ORG:ACME GmbH;Vertrieb\r\n"
      "TEL;TYPE=WORK,VOICE:+49 211 3399\r\n"
      " 03-45\r\n"
      "item1.TEL;TYPE=CELL:0171 5550101\r\n"
      "NOTE:Kunde seit 2019\\, VIP\\nzweite Zeile\r\n"
      "END:VCARD\r\n"
      "BEGIN:VCARD\r\n"
      "VERSION:4.0\r\n"
      "KIND:org\r\n"
      "FN:ACME GmbH\r\n"
      "ORG:ACME GmbH\r\n"
      "TEL;VALUE=uri;TYPE=\"main,voice\":tel:+49-211-339903-0\r\n"
      "TEL;TYPE=fax:tel:+49-211-339903-99;ext=1\r\n"
      "END:VCARD\r\n";
  auto p = parse_contacts(vcf, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->format, ImportFormat::vcard);
  EXPECT_EQ(p->errors(), 0u) << issues_text(*p);
  ASSERT_EQ(p->contacts.size(), 2u);
  const auto& a = p->contacts[0];
  EXPECT_EQ(a.display_name, "Anna Schmidt");
  EXPECT_EQ(a.given_name, "Anna");
  EXPECT_EQ(a.company, "ACME GmbH");
  EXPECT_EQ(a.note, "Kunde seit 2019, VIP\nzweite Zeile");
  ASSERT_EQ(a.numbers.size(), 2u);
  EXPECT_EQ(a.numbers[0].e164, "+4921133990345") << "folded TEL value";
  EXPECT_EQ(a.numbers[0].label, "work");
  EXPECT_EQ(a.numbers[1].label, "mobile");
  const auto& c = p->contacts[1];
  EXPECT_EQ(c.kind, ContactKind::company);
  ASSERT_EQ(c.numbers.size(), 2u);
  EXPECT_EQ(c.numbers[0], (ports::PhoneNumber{"main", "+49-211-339903-0", "+492113399030"}));
  EXPECT_EQ(c.numbers[1].label, "fax");
  EXPECT_EQ(p->contact_lines, (std::vector<std::size_t>{1, 11}));
}

TEST(VCardImport, FoldingErrorsBreakOnlyTheirCard) {
  std::string vcf =
      " stray continuation\n"              // 1: nothing to continue
      "BEGIN:VCARD\n"                      // 2
      "VERSION:3.0\n"
      "FN:Anna Schmidt\n"
      "NOTE:a long note that was wrapped\n"
      "without the leading space\n"        // 6: folding lost -> no colon
      "TEL:030 1234567\n"
      "END:VCARD\n"
      "BEGIN:VCARD\n"                      // 9
      "VERSION:3.0\n"
      "FN:Bernd\n"
      "TEL:030 1234568\n"
      "END:VCARD\n";
  auto p = parse_contacts(vcf, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_TRUE(has_issue(*p, 1, "broken folding")) << issues_text(*p);
  EXPECT_TRUE(has_issue(*p, 6, "no ':' in property line")) << issues_text(*p);
  ASSERT_EQ(p->contacts.size(), 1u);
  EXPECT_EQ(p->contacts[0].display_name, "Bernd");
  EXPECT_EQ(p->contact_lines[0], 9u);
}

TEST(VCardImport, MissingEndNestedBeginBadNumberAndQuotedPrintable) {
  std::string vcf =
      "BEGIN:VCARD\nVERSION:3.0\nFN:No End\nTEL:030 1\n"               // 1: no END before next BEGIN
      "BEGIN:VCARD\nVERSION:2.1\nFN;ENCODING=QUOTED-PRINTABLE:M=FCller\nTEL:030 1234567\nEND:VCARD\n"  // 5
      "BEGIN:VCARD\nVERSION:3.0\nFN:Bad Tel\nTEL:n/a\nEND:VCARD\n"     // 10, TEL on 13
      "BEGIN:VCARD\nVERSION:5.0\nFN:Future\nEND:VCARD\n"               // 15, version on 16
      "BEGIN:VCARD\nVERSION:4.0\nFN:Good\nTEL:+4930999999\nEND:VCARD\n"  // 19
      "BEGIN:VCARD\nFN:Unfinished\n";                                  // 24
  auto p = parse_contacts(vcf, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_TRUE(has_issue(*p, 1, "no END:VCARD (next BEGIN:VCARD on line 5)")) << issues_text(*p);
  EXPECT_TRUE(has_issue(*p, 7, "QUOTED-PRINTABLE")) << issues_text(*p);
  EXPECT_TRUE(has_issue(*p, 13, "'n/a' is not a phone number")) << issues_text(*p);
  EXPECT_TRUE(has_issue(*p, 16, "unsupported vCard version '5.0'")) << issues_text(*p);
  EXPECT_TRUE(has_issue(*p, 24, "no END:VCARD (file ends)")) << issues_text(*p);
  ASSERT_EQ(p->contacts.size(), 1u);
  EXPECT_EQ(p->contacts[0].display_name, "Good");
}

TEST(VCardImport, HugeFoldedPropertyIsRejected) {
  std::string vcf = "BEGIN:VCARD\nVERSION:3.0\nFN:Big\nPHOTO;ENCODING=b:";
  for (int i = 0; i < 30000; ++i) vcf += "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n ";
  vcf += "AA\nTEL:030 1234567\nEND:VCARD\nBEGIN:VCARD\nFN:Small\nTEL:030 7654321\nEND:VCARD\n";
  auto p = parse_contacts(vcf, opts());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_TRUE(has_issue(*p, 4, "property longer than 1048576 bytes")) << issues_text(*p);
  ASSERT_EQ(p->contacts.size(), 1u);
  EXPECT_EQ(p->contacts[0].display_name, "Small");
}

// --- all-or-nothing --------------------------------------------------------------------------

constexpr const char* kHalfBroken =
    "Name,Phone\n"
    "Anna,0211 339903-45\n"
    "Bernd,not a number\n"
    "Carl,030 1234568\n";

TEST(ImportContacts, ErrorsCommitNothingByDefault) {
  auto store = mem_store();
  auto out = import_contacts(*store, "default", kHalfBroken, opts(), {});
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_FALSE(out->committed);
  EXPECT_EQ(out->parsed.errors(), 1u);
  EXPECT_EQ(*store->count("default"), 0u);
}

TEST(ImportContacts, SkipInvalidCommitsTheRestAndListsWhatWasSkipped) {
  auto store = mem_store();
  auto out = import_contacts(*store, "default", kHalfBroken, opts(), {.skip_invalid = true});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->committed);
  EXPECT_EQ(out->commit.contacts, 2u);
  ASSERT_EQ(out->parsed.issues.size(), 1u);
  EXPECT_EQ(out->parsed.issues[0].line, 3u);
  EXPECT_EQ(*store->count("default"), 2u);
  ports::LookupQuery q{"default", "+4921133990345", {"+4921133990345"},
                       std::chrono::steady_clock::now() + std::chrono::seconds(5)};
  auto m = store->lookup(q);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].display_name, "Anna");
}

TEST(ImportContacts, DryRunAndReplace) {
  auto store = mem_store();
  std::string good = "Name,Phone\nAnna,0211 339903-45\n";
  auto dry = import_contacts(*store, "default", good, opts(), {.dry_run = true});
  ASSERT_TRUE(dry);
  EXPECT_FALSE(dry->committed);
  EXPECT_EQ(*store->count("default"), 0u);
  ASSERT_TRUE(import_contacts(*store, "default", good, opts(), {}));
  ASSERT_TRUE(import_contacts(*store, "default", good, opts(), {}));
  EXPECT_EQ(*store->count("default"), 2u);
  auto rep = import_contacts(*store, "default", good, opts(), {.replace = true});
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->commit.replaced, 2u);
  EXPECT_EQ(*store->count("default"), 1u);
}

TEST(ImportContacts, ReadImportFileRefusesOversizedFiles) {
  char tmpl[] = "/tmp/cb-import-XXXXXX";
  std::filesystem::path dir = mkdtemp(tmpl);
  auto path = (dir / "big.csv").string();
  {
    std::ofstream f(path);
    f << std::string(2000, 'x');
  }
  auto r = read_import_file(path, 1000);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("limit is 1000"), std::string::npos);
  EXPECT_EQ(read_import_file(path, 4000)->size(), 2000u);
  EXPECT_EQ(read_import_file((dir / "missing.csv").string(), 1000).error().code(), base::Errc::io);
  EXPECT_EQ(read_import_file(dir.string(), 1000).error().code(), base::Errc::invalid_argument);
  std::filesystem::remove_all(dir);
}

// Robustness: random bytes drawn from the characters that matter to the parsers never crash,
// and every reported line exists in the input.
TEST(ImportRobustness, RandomInputNeverCrashesAndLinesAreReal) {
  std::mt19937 rng(20261122);
  const std::string alphabet = "Name,Phone;\t\"\r\n :BEGIN:VCARD\nEND:VCARD\nTEL:0211 3399-0\nFN:x\n \xC3\xBC\xFC\x81+0";
  int parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    std::size_t len = rng() % 400;
    for (std::size_t i = 0; i < len; ++i) {
      char c = alphabet[rng() % alphabet.size()];
      if (round % 2 == 0 && static_cast<unsigned char>(c) >= 0x80) c = 'x';  // half the rounds decode fine
      input.push_back(c);
    }
    if (round % 3 == 0) input = "Name,Phone\n" + input;
    if (round % 3 == 1) input = "BEGIN:VCARD\n" + input;
    auto p = parse_contacts(input, opts());
    if (!p) continue;
    ++parsed;
    std::size_t lines = 1 + static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')) +
                        static_cast<std::size_t>(std::count(input.begin(), input.end(), '\r'));
    for (const auto& i : p->issues) ASSERT_LE(i.line, lines) << i.message << "\ninput: " << input;
    for (std::size_t l : p->contact_lines) ASSERT_LE(l, lines);
  }
  EXPECT_GT(parsed, 1000) << "most inputs must get past decoding, or this test tests nothing";
}

}  // namespace
}  // namespace callbridge::directory
