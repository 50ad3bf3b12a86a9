#include "base/tenant_id.hpp"

#include <mutex>
#include <unordered_set>

namespace callbridge::base {
namespace {

// Node-based set: an element's address never changes, so a TenantId can hold it.
struct InternTable {
  std::mutex mu;
  std::unordered_set<std::string> names;
};

InternTable& table() {
  static auto* t = new InternTable;  // never destroyed: TenantIds may outlive static destructors
  return *t;
}

// nullptr when the table is full.
const std::string* intern(std::string_view id) {
  auto& t = table();
  std::lock_guard lock(t.mu);
  if (auto it = t.names.find(std::string(id)); it != t.names.end()) return &*it;
  if (t.names.size() >= TenantId::kMaxDistinct) return nullptr;
  return &*t.names.emplace(id).first;
}

}  // namespace

bool TenantId::valid(std::string_view text) {
  if (text.empty() || text.size() > kMaxLength) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

TenantId::TenantId(std::string_view id) : name_(nullptr) {
  CB_CHECK(valid(id), "not a tenant id: \"" + std::string(id.substr(0, kMaxLength)) + "\"");
  name_ = intern(id);
  CB_CHECK(name_ != nullptr, "too many distinct tenant ids");
}

Result<TenantId> TenantId::parse(std::string_view text, std::string_view what) {
  if (text.empty()) return fail(Error::invalid_argument(std::string(what) + ": missing (a tenant id is required)"));
  if (!valid(text))
    return fail(Error::invalid_argument(std::string(what) + ": \"" + std::string(text.substr(0, kMaxLength)) +
                                        (text.size() > kMaxLength ? "...\"" : "\"") +
                                        " is not a tenant id (1-64 letters, digits, '-' and '_')"));
  const std::string* p = intern(text);
  if (!p) return fail(Error::unavailable(std::string(what) + ": too many distinct tenant ids"));
  return TenantId(p, Interned{});
}

std::string to_string(const TenantId& t) { return t.str(); }

}  // namespace callbridge::base
