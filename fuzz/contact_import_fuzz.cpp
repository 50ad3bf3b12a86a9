// libFuzzer target: contact import files (CSV and vCard, any encoding) as users upload them through
// `callbridge contacts import` and the API: text decoding, CSV splitting, vCard unfolding, column
// mapping and number normalization (directory::parse_contacts), without storing anything.
// Checks: decoded text is valid UTF-8; every contact has a name or a number, and every number an
// E.164 from the plan; issues are sorted by line; bounded inputs give bounded outputs.
// Input: last byte = options (format, encoding, delimiter, small limits), the rest = the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/dialing_plan.hpp"
#include "directory/store/contact_import.hpp"
#include "directory/store/csv_reader.hpp"
#include "directory/store/text_decode.hpp"
#include "directory/store/vcard_reader.hpp"
#include "fuzz_check.hpp"

namespace dir = callbridge::directory;
using callbridge::fuzz::check;

namespace {

const callbridge::core::DialingPlan& plan() {
  static const auto p = [] {
    callbridge::core::DialingPlanOptions o;
    o.country_code = "49";
    o.area_code = "211";
    o.base_number = "339903";
    o.extension_lengths = {2};
    return std::move(*callbridge::core::DialingPlan::create(std::move(o)));
  }();
  return p;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = dir::utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[size - 1];
  std::string_view bytes(reinterpret_cast<const char*>(data), size - 1);
  const bool small = flags & 0x80;

  static constexpr dir::TextEncoding kEnc[] = {dir::TextEncoding::detect, dir::TextEncoding::utf8,
                                               dir::TextEncoding::windows1252, dir::TextEncoding::utf16le,
                                               dir::TextEncoding::utf16be};
  const auto enc = kEnc[(flags >> 2) % 5];
  auto decoded = dir::decode_text(bytes, enc);
  if (decoded) check(valid_utf8(decoded->utf8), "decode_text produced invalid UTF-8");

  // The readers on their own (on the decoded text, as parse_contacts calls them).
  if (decoded) {
    const std::string& text = decoded->utf8;
    dir::CsvLimits cl;
    if (small) cl = {.max_record_bytes = 256, .max_fields = 8};
    dir::CsvReader csv(text, dir::detect_csv_delimiter(text), cl);
    dir::CsvRecord rec;
    std::size_t last_line = 0;
    while (csv.next(rec)) {
      check(rec.fields.size() <= cl.max_fields, "CSV record above max_fields");
      check(rec.line >= last_line, "CSV records out of line order");
      last_line = rec.line;
    }
    dir::VCardLimits vl;
    if (small) vl = {.max_line_bytes = 256, .max_cards = 4};
    auto cards = dir::read_vcards(text, vl);
    check(cards.cards.size() <= vl.max_cards, "more vCards than max_cards");
  }

  dir::ImportParseOptions o{.tenant = "fuzz"};
  o.format = static_cast<dir::ImportFormat>(flags % 3);
  o.encoding = enc;
  static constexpr char kDelims[] = {0, ',', ';', '\t'};
  o.delimiter = kDelims[(flags >> 5) % 4];
  if (small) {
    o.max_record_bytes = 256;
    o.max_vcard_line_bytes = 256;
    o.max_field_bytes = 32;
    o.max_contacts = 4;
  }
  o.to_e164 = [](std::string_view raw) { return callbridge::core::lookup_e164(&plan(), raw); };
  o.origin = "import:fuzz";
  auto parsed = dir::parse_contacts(bytes, o);
  if (!parsed) return 0;
  check(parsed->contacts.size() == parsed->contact_lines.size(), "contacts and lines differ in count");
  check(parsed->contacts.size() <= o.max_contacts, "more contacts than max_contacts");
  for (std::size_t i = 1; i < parsed->issues.size(); ++i)
    check(parsed->issues[i - 1].line <= parsed->issues[i].line, "issues not sorted by line");
  for (const auto& c : parsed->contacts) {
    check(valid_utf8(c.display_name) && valid_utf8(c.company) && valid_utf8(c.note), "contact text not UTF-8");
    check(c.display_name.size() <= o.max_field_bytes * 4 + 8, "display name above the field limit",
          std::to_string(c.display_name.size()));
    for (const auto& n : c.numbers) check(!n.e164.empty() && n.e164[0] == '+', "stored number without E.164", n.raw);
  }
  return 0;
}
