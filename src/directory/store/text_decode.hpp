// Turns the bytes of an import file into UTF-8: BOM handling, UTF-8 validation, Windows-1252 and
// UTF-16 (with BOM) conversion, and detection between them. Pure functions; thread-safe.
// Errors name the 1-based line of the first offending byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::directory {

enum class TextEncoding { detect, utf8, windows1252, utf16le, utf16be };

std::string_view to_string(TextEncoding e);
// "auto"/"detect", "utf-8"/"utf8", "windows-1252"/"cp1252"/"latin1"; nullopt otherwise.
std::optional<TextEncoding> parse_text_encoding(std::string_view s);

struct DecodedText {
  std::string utf8;
  TextEncoding encoding = TextEncoding::utf8;  // what the input was
};

// `want` = detect: a BOM decides; else valid UTF-8 is UTF-8; else, when the file has no valid
// multi-byte UTF-8 sequence at all, Windows-1252; a file mixing both is refused (Errc::invalid_argument),
// as is a NUL byte outside UTF-16 (binary file). Forced encodings are checked strictly.
base::Result<DecodedText> decode_text(std::string_view bytes, TextEncoding want);

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when invalid (overlong, surrogate, >U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace callbridge::directory
