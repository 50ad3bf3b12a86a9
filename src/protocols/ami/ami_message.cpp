#include "protocols/ami/ami_message.hpp"

namespace callbridge::protocols::ami {
namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view AmiMessage::get(std::string_view key) const {
  for (const auto& h : headers_) {
    if (iequals(h.key, key)) return h.value;
  }
  return {};
}

bool AmiMessage::has(std::string_view key) const {
  for (const auto& h : headers_) {
    if (iequals(h.key, key)) return true;
  }
  return false;
}

std::vector<std::string_view> AmiMessage::get_all(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& h : headers_) {
    if (iequals(h.key, key)) out.push_back(h.value);
  }
  return out;
}

OwnedAmiMessage::OwnedAmiMessage(const AmiMessage& m) {
  std::vector<std::pair<std::string, std::string>> h;
  for (const auto& x : m.headers()) h.emplace_back(std::string(x.key), std::string(x.value));
  rebuild(h);
}

OwnedAmiMessage::OwnedAmiMessage(const OwnedAmiMessage& o) { rebuild(o.storage_); }

OwnedAmiMessage& OwnedAmiMessage::operator=(const OwnedAmiMessage& o) {
  if (this != &o) rebuild(o.storage_);
  return *this;
}

void OwnedAmiMessage::rebuild(const std::vector<std::pair<std::string, std::string>>& h) {
  auto copy = h;
  storage_ = std::move(copy);
  view_.clear();
  for (const auto& [k, v] : storage_) view_.add(k, v);
}

std::string format_message(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  for (const auto& [k, v] : headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace callbridge::protocols::ami
