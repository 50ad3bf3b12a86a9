// Test-only stand-in for a German tenant's dialing plan (country 49): "+..." and "00..." are
// international, "0..." national, anything else (letters, short codes) is not a number.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace callbridge::directory::testing {

inline std::optional<std::string> german_e164(std::string_view raw) {
  std::string d;
  bool plus = false;
  for (char c : raw) {
    if (c >= '0' && c <= '9') d.push_back(c);
    else if (c == '+' && d.empty() && !plus) plus = true;
    else if (c == ' ' || c == '-' || c == '/' || c == '(' || c == ')' || c == '.') continue;
    else return std::nullopt;
  }
  std::string e;
  if (plus) e = "+" + d;
  else if (d.rfind("00", 0) == 0) e = "+" + d.substr(2);
  else if (d.rfind("0", 0) == 0) e = "+49" + d.substr(1);
  else return std::nullopt;
  if (e.size() < 8 || e.size() > 16) return std::nullopt;
  return e;
}

}  // namespace callbridge::directory::testing
