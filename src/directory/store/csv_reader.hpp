// RFC 4180 CSV splitting for contact imports: quoted fields, doubled quotes, line breaks inside
// quotes, CRLF/LF/CR, delimiter detection (, ; TAB |). Works on UTF-8 text already decoded.
// Pure; thread-safe. Bad records are reported with their line and skipped, never fatal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace callbridge::directory {

struct CsvRecord {
  std::size_t line = 0;  // 1-based physical line where the record starts
  std::vector<std::string> fields;
};

struct CsvProblem {
  std::size_t line = 0;
  std::string message;
};

struct CsvLimits {
  std::size_t max_record_bytes = 64 * 1024;
  std::size_t max_fields = 256;
};

// The most frequent of , ; TAB | outside quotes on the first record; ',' when none occurs.
char detect_csv_delimiter(std::string_view text);

class CsvReader {
 public:
  CsvReader(std::string_view text, char delimiter, CsvLimits limits = {})
      : text_(text), delim_(delimiter), limits_(limits) {}

  // Next record into `out`; false at the end. A malformed record yields a CsvProblem in
  // problems() and is skipped (reading resumes at the next line).
  bool next(CsvRecord& out);
  const std::vector<CsvProblem>& problems() const { return problems_; }
  std::size_t position() const { return pos_; }

 private:
  // Skips to just after the next line break (outside any quoting); used after an error.
  void skip_line();

  std::string_view text_;
  char delim_;
  CsvLimits limits_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::vector<CsvProblem> problems_;
};

}  // namespace callbridge::directory
