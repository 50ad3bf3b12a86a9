#include "directory/store/csv_reader.hpp"

#include <array>

namespace callbridge::directory {

char detect_csv_delimiter(std::string_view text) {
  constexpr std::array<char, 4> kCandidates = {',', ';', '\t', '|'};
  std::array<std::size_t, 4> counts{};
  bool quoted = false;
  for (std::size_t i = 0; i < text.size() && i < 64 * 1024; ++i) {
    char c = text[i];
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    for (std::size_t k = 0; k < kCandidates.size(); ++k)
      if (c == kCandidates[k]) ++counts[k];
  }
  std::size_t best = 0;
  for (std::size_t k = 1; k < kCandidates.size(); ++k)
    if (counts[k] > counts[best]) best = k;
  return kCandidates[best];
}

void CsvReader::skip_line() {
  while (pos_ < text_.size()) {
    char c = text_[pos_++];
    if (c == '\n') {
      ++line_;
      return;
    }
    if (c == '\r') {
      if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      return;
    }
  }
}

bool CsvReader::next(CsvRecord& out) {
  enum class St { field_start, unquoted, quoted, after_quote };
  while (pos_ < text_.size()) {
    out.line = line_;
    out.fields.clear();
    const std::size_t start = pos_;
    std::string field;
    St st = St::field_start;
    std::size_t quote_line = line_;
    std::string error;
    bool ended = false;
    while (!ended) {
      if (pos_ - start > limits_.max_record_bytes) {
        error = "record longer than " + std::to_string(limits_.max_record_bytes) + " bytes";
        break;
      }
      if (pos_ >= text_.size()) {
        if (st == St::quoted) {
          error = "quoted field opened on line " + std::to_string(quote_line) + " is never closed";
          pos_ = text_.size();
          problems_.push_back({out.line, error});
          return false;
        }
        // The last field of a file without a final line break counts against the limit too.
        if (out.fields.size() >= limits_.max_fields) {
          error = "more than " + std::to_string(limits_.max_fields) + " fields";
          break;
        }
        out.fields.push_back(std::move(field));
        ended = true;
        break;
      }
      char c = text_[pos_];
      bool newline = c == '\n' || c == '\r';
      if (st == St::quoted) {
        ++pos_;
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
          } else {
            st = St::after_quote;
          }
        } else {
          if (c == '\n' || (c == '\r' && (pos_ >= text_.size() || text_[pos_] != '\n'))) ++line_;
          field.push_back(c);
        }
        continue;
      }
      if (c == delim_ || newline) {
        if (out.fields.size() >= limits_.max_fields) {
          error = "more than " + std::to_string(limits_.max_fields) + " fields";
          break;
        }
        out.fields.push_back(std::move(field));
        field.clear();
        st = St::field_start;
        ++pos_;
        if (newline) {
          if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
          ++line_;
          ended = true;
        }
        continue;
      }
      if (st == St::after_quote) {
        error = "unexpected character after a closing quote";
        break;
      }
      if (c == '"' && st == St::field_start) {
        st = St::quoted;
        quote_line = line_;
        ++pos_;
        continue;
      }
      // A quote inside an unquoted field is kept literally, as spreadsheets do.
      field.push_back(c);
      st = St::unquoted;
      ++pos_;
    }
    if (!error.empty()) {
      problems_.push_back({out.line, error});
      skip_line();
      continue;
    }
    // A physically empty line is no record.
    if (out.fields.size() == 1 && out.fields[0].empty() && pos_ - start <= 2) continue;
    return true;
  }
  return false;
}

}  // namespace callbridge::directory
