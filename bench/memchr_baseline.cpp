#include "bench/memchr_baseline.hpp"

#include <cstring>

namespace callbridge::bench {

IngestDigest memchr_split(std::string_view stream, std::vector<KeyValue>& fields) {
  IngestDigest d;
  const char* p = stream.data();
  const char* const end = p + stream.size();
  constexpr std::string_view kBanner = "Asterisk Call Manager/";
  if (stream.substr(0, kBanner.size()) == kBanner) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
    p = nl ? nl + 1 : end;
  }
  fields.clear();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (nl == nullptr) break;  // an unterminated tail is not a message
    const char* le = nl;
    if (le > p && le[-1] == '\r') --le;
    if (le == p) {  // blank line: the message is complete
      if (!fields.empty()) {
        ++d.messages;
        d.fields += fields.size();
        for (const auto& f : fields) d.field(f.key, f.value);
        fields.clear();
      }
    } else if (const char* colon = static_cast<const char*>(std::memchr(p, ':', le - p))) {
      const char* v = colon + 1;
      if (v < le && *v == ' ') ++v;
      fields.push_back({{p, static_cast<std::size_t>(colon - p)}, {v, static_cast<std::size_t>(le - v)}});
    } else {
      fields.push_back({{}, {p, static_cast<std::size_t>(le - p)}});
    }
    p = nl + 1;
  }
  return d;
}

}  // namespace callbridge::bench
