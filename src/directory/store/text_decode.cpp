#include "directory/store/text_decode.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace callbridge::directory {
namespace {

using base::Error;
using base::fail;

std::size_t line_of(std::string_view s, std::size_t pos) {
  return 1 + static_cast<std::size_t>(
                 std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

std::string hex_byte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

base::Error bad_at(std::string_view s, std::size_t pos, const std::string& what) {
  return Error::invalid_argument("line " + std::to_string(line_of(s, pos)) + ": " + what);
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Windows-1252 0x80..0x9F; 0 marks the five undefined bytes.
constexpr std::array<std::uint16_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

base::Result<DecodedText> from_cp1252(std::string_view s) {
  DecodedText out;
  out.encoding = TextEncoding::windows1252;
  out.utf8.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b == 0) return fail(bad_at(s, i, "NUL byte (binary file?)"));
    if (b < 0x80) {
      out.utf8.push_back(static_cast<char>(b));
    } else if (b < 0xA0) {
      std::uint16_t cp = kCp1252High[b - 0x80];
      if (cp == 0) return fail(bad_at(s, i, "byte " + hex_byte(b) + " is undefined in Windows-1252"));
      append_utf8(out.utf8, cp);
    } else {
      append_utf8(out.utf8, b);
    }
  }
  return out;
}

base::Result<DecodedText> from_utf16(std::string_view s, bool little) {
  DecodedText out;
  out.encoding = little ? TextEncoding::utf16le : TextEncoding::utf16be;
  if (s.size() % 2) return fail(Error::invalid_argument("UTF-16 file has an odd number of bytes"));
  std::size_t line = 1;
  auto unit = [&](std::size_t i) -> std::uint32_t {
    auto a = static_cast<unsigned char>(s[i]);
    auto b = static_cast<unsigned char>(s[i + 1]);
    return little ? (a | (b << 8)) : ((a << 8) | b);
  };
  for (std::size_t i = 0; i < s.size(); i += 2) {
    std::uint32_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 3 >= s.size()) break;
      std::uint32_t lo = unit(i + 2);
      if (lo < 0xDC00 || lo > 0xDFFF)
        return fail(Error::invalid_argument("line " + std::to_string(line) + ": broken UTF-16 surrogate pair"));
      append_utf8(out.utf8, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
      i += 2;
      continue;
    }
    if (u >= 0xDC00 && u <= 0xDFFF)
      return fail(Error::invalid_argument("line " + std::to_string(line) + ": broken UTF-16 surrogate pair"));
    if (u == 0) return fail(Error::invalid_argument("line " + std::to_string(line) + ": NUL character"));
    if (u == '\n') ++line;
    append_utf8(out.utf8, u);
  }
  return out;
}

}  // namespace

std::string_view to_string(TextEncoding e) {
  switch (e) {
    case TextEncoding::detect: return "auto";
    case TextEncoding::utf8: return "UTF-8";
    case TextEncoding::windows1252: return "Windows-1252";
    case TextEncoding::utf16le: return "UTF-16LE";
    case TextEncoding::utf16be: return "UTF-16BE";
  }
  return "?";
}

std::optional<TextEncoding> parse_text_encoding(std::string_view s) {
  std::string l;
  for (char c : s) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (l == "auto" || l == "detect") return TextEncoding::detect;
  if (l == "utf-8" || l == "utf8") return TextEncoding::utf8;
  if (l == "windows-1252" || l == "cp1252" || l == "latin1" || l == "iso-8859-1")
    return TextEncoding::windows1252;
  if (l == "utf-16le") return TextEncoding::utf16le;
  if (l == "utf-16be") return TextEncoding::utf16be;
  return std::nullopt;
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(s[k]); };
  unsigned b0 = at(i);
  if (b0 < 0x80) return 1;
  std::size_t n;
  std::uint32_t min;
  std::uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) { n = 2; min = 0x80; cp = b0 & 0x1F; }
  else if ((b0 & 0xF0) == 0xE0) { n = 3; min = 0x800; cp = b0 & 0x0F; }
  else if ((b0 & 0xF8) == 0xF0) { n = 4; min = 0x10000; cp = b0 & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    unsigned b = at(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

base::Result<DecodedText> decode_text(std::string_view bytes, TextEncoding want) {
  auto starts = [&](std::string_view p) { return bytes.substr(0, p.size()) == p; };
  if (want == TextEncoding::utf16le || (want == TextEncoding::detect && starts("\xFF\xFE")))
    return from_utf16(starts("\xFF\xFE") ? bytes.substr(2) : bytes, true);
  if (want == TextEncoding::utf16be || (want == TextEncoding::detect && starts("\xFE\xFF")))
    return from_utf16(starts("\xFE\xFF") ? bytes.substr(2) : bytes, false);
  bool bom = starts("\xEF\xBB\xBF");
  std::string_view body = bom ? bytes.substr(3) : bytes;
  if (want == TextEncoding::windows1252) return from_cp1252(body);

  // Scan once: where is the first invalid byte, and was there any multi-byte UTF-8 before it?
  std::size_t first_bad = std::string_view::npos;
  std::size_t first_multi = std::string_view::npos;
  for (std::size_t i = 0; i < body.size();) {
    if (body[i] == '\0') return fail(bad_at(body, i, "NUL byte (binary file, or UTF-16 without BOM?)"));
    std::size_t n = utf8_sequence_length(body, i);
    if (n == 0) {
      if (first_bad == std::string_view::npos) first_bad = i;
      ++i;
      continue;
    }
    if (n > 1 && first_multi == std::string_view::npos) first_multi = i;
    i += n;
  }
  if (first_bad == std::string_view::npos) return DecodedText{std::string(body), TextEncoding::utf8};
  auto bad = static_cast<unsigned char>(body[first_bad]);
  if (want == TextEncoding::utf8 || bom)
    return fail(bad_at(body, first_bad, "invalid UTF-8 (byte " + hex_byte(bad) + ")"));
  if (first_multi != std::string_view::npos)
    return fail(bad_at(body, first_bad,
                       "invalid UTF-8 (byte " + hex_byte(bad) + ") although line " +
                           std::to_string(line_of(body, first_multi)) +
                           " is UTF-8: mixed encodings, save the file in one encoding"));
  return from_cp1252(body);
}

}  // namespace callbridge::directory
