#include "base/csv_text.hpp"

namespace callbridge::base {

namespace {

bool number_like(std::string_view rest) {
  for (char c : rest)
    if (!((c >= '0' && c <= '9') || c == ' ' || c == '.' || c == '(' || c == ')' || c == '/' || c == '-' ||
          c == '+'))
      return false;
  return true;
}

bool formula_like(std::string_view f) {
  if (f.empty()) return false;
  switch (f[0]) {
    case '=':
    case '@':
    case '\t':
    case '\r': return true;
    case '+':
    case '-': return !number_like(f.substr(1));
    default: return false;
  }
}

}  // namespace

void append_csv_field(std::string& out, std::string_view f) {
  const bool formula = formula_like(f);
  const bool quote = formula || f.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!f.empty() && (f.front() == ' ' || f.back() == ' '));
  if (!quote) {
    out += f;
    return;
  }
  out += '"';
  if (formula) out += '\'';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_record(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    append_csv_field(out, fields[i]);
  }
  return out;
}

}  // namespace callbridge::base
