// Writing CSV (RFC 4180) that is safe to open in a spreadsheet: one field writer shared by the
// API's GET /api/v1/journal.csv and `callbridge journal --format csv`. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace callbridge::base {

// Appends one field. Quoted ("" doubled) when it holds , " CR or LF or starts or ends with a space.
// A field a spreadsheet would run as a formula is prefixed with ' inside quotes (OWASP "CSV
// injection"): one starting with = @ tab or CR, or with + or - unless the rest is only what a
// phone number or a plain number holds (digits, space, . ( ) / - +), which no spreadsheet turns
// into a function call: "+4930123456" stays as it is, "-2+3+cmd|' /C calc'!A0" does not.
void append_csv_field(std::string& out, std::string_view field);

// The fields joined by commas, each through append_csv_field; no line terminator.
std::string csv_record(const std::vector<std::string>& fields);

}  // namespace callbridge::base
