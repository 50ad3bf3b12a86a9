// Device identifier forms (device_id.hpp).
#include "protocols/csta/device_id.hpp"

#include <cctype>

namespace callbridge::protocols::csta {

namespace {

constexpr std::size_t kMaxNumber = 32;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

base::Error bad(std::string_view text, std::string_view why) {
  return base::Error::invalid_argument("device id \"" + std::string(text.substr(0, 64)) + "\": " +
                                       std::string(why));
}

}  // namespace

std::string_view DeviceId::param(std::string_view key) const {
  std::string_view rest = params;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    const auto eq = item.find('=');
    if (iequals(trim(item.substr(0, eq)), key)) {
      return eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    }
  }
  return {};
}

base::Result<DeviceId> parse_device_id(std::string_view text) {
  const std::string_view all = trim(text);
  std::string_view s = all;
  if (s.empty()) return base::fail(bad(text, "empty"));
  DeviceId id;
  if (s.size() >= 4 && iequals(s.substr(0, 4), "tel:")) s.remove_prefix(4);
  if (s.size() >= 2 && std::isalpha(static_cast<unsigned char>(s[0])) && s[1] == '<') {
    id.kind = s[0];  // OpenScape "N<+4930555101>;noa=nk"
    s.remove_prefix(1);
  }
  std::string_view rest;
  if (!s.empty() && s.front() == '<') {
    const auto close = s.find('>');
    if (close == std::string_view::npos) return base::fail(bad(all, "'<' without '>'"));
    id.number = trim(s.substr(1, close - 1));
    rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ';') return base::fail(bad(all, "text after '>' that is no ;parameter"));
  } else {
    const auto semi = s.find(';');
    id.number = trim(s.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : s.substr(semi);
  }
  if (!rest.empty()) id.params = rest.substr(1);
  if (id.number.empty()) return base::fail(bad(all, "no number"));
  if (id.number.size() > kMaxNumber) return base::fail(bad(all, "number longer than 32 characters"));
  for (std::size_t i = 0; i < id.number.size(); ++i) {
    const char c = id.number[i];
    const bool ok = (c >= '0' && c <= '9') || c == '*' || c == '#' || (c == '+' && i == 0);
    if (!ok) return base::fail(bad(all, "characters other than 0-9 * # and a leading +"));
  }
  return id;
}

std::string format_device_id(std::string_view number, DeviceIdStyle style, std::string_view noa) {
  if (style == DeviceIdStyle::plain) return std::string(number);
  std::string out;
  out.reserve(number.size() + noa.size() + 8);
  out += "N<";
  out += number;
  out += '>';
  if (!noa.empty()) {
    out += ";noa=";
    out += noa;
  }
  return out;
}

}  // namespace callbridge::protocols::csta
