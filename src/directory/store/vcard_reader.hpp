// vCard 3.0 / 4.0 (RFC 2426, RFC 6350) reading for contact imports: line unfolding, property
// parameters, text escapes, FN/N/ORG/TEL/EMAIL/NOTE/KIND. Works on decoded UTF-8 text.
// Pure; thread-safe. A broken card is reported with its line and skipped; the rest is read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace callbridge::directory {

struct VCardPhone {
  std::size_t line = 0;
  std::string label;  // work, home, mobile, fax, main or empty
  std::string raw;
};

struct VCardEntry {
  std::size_t line = 0;  // of BEGIN:VCARD
  std::string version;
  bool is_company = false;  // KIND:org (4.0) or X-ABShowAs:COMPANY
  std::string display_name, given_name, family_name, company, email, note;
  std::vector<VCardPhone> phones;
};

struct VCardProblem {
  std::size_t line = 0;
  std::string message;
};

struct VCardResult {
  std::vector<VCardEntry> cards;
  std::vector<VCardProblem> problems;
};

struct VCardLimits {
  std::size_t max_line_bytes = 64 * 1024;  // one unfolded property
  std::size_t max_cards = 1'000'000;
};

VCardResult read_vcards(std::string_view text, VCardLimits limits = {});

// True when one of the first lines (first 4 KiB) starts with BEGIN:VCARD.
bool looks_like_vcard(std::string_view text);

}  // namespace callbridge::directory
