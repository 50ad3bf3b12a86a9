// TenantId: the id of the tenant (company) an object belongs to (ARCHITECTURE.md "Tenancy"). It has
// NO default value: there is no default constructor, so a tenant-scoped struct that forgot its
// tenant does not compile, and text becomes a TenantId only through parse() (rejects what is not an
// id) or the checked constructor. Interned: one pointer, copied and compared without allocating
// (the event path copies one per call event). Any thread; the intern table takes a lock only when a
// TenantId is made from text.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "base/error.hpp"

namespace callbridge::base {

class TenantId {
 public:
  static constexpr std::size_t kMaxLength = 64;
  // Interned names are never freed; untrusted text cannot grow the table beyond this.
  static constexpr std::size_t kMaxDistinct = 100'000;

  TenantId() = delete;
  // For text that is known to be an id (a literal, a value read back from our own store). Aborts
  // when it is not one: a programming error, never reachable from request input (use parse()).
  explicit TenantId(std::string_view id);
  // A literal in code ("acme" in a test) names its tenant explicitly; the same check applies.
  // Members never default to one: tests/tenant_default_check.sh rejects `tenant = "..."` in src/.
  template <std::size_t N>
  TenantId(const char (&literal)[N]) : TenantId(std::string_view(literal, N - 1)) {}  // NOLINT: implicit

  // 1..64 letters, digits, '-' and '_' (the id the configuration, the API and the stores use).
  // Error names the rule; `what` prefixes it ("tenant", "pbx.tenant").
  static Result<TenantId> parse(std::string_view text, std::string_view what = "tenant");
  static bool valid(std::string_view text);

  const std::string& str() const { return *name_; }
  const char* c_str() const { return name_->c_str(); }
  std::size_t size() const { return name_->size(); }
  // Functions that take the tenant as text keep working (no copy).
  operator const std::string&() const { return *name_; }
  operator std::string_view() const { return *name_; }

  friend bool operator==(const TenantId& a, const TenantId& b) { return a.name_ == b.name_; }
  friend bool operator==(const TenantId& a, std::string_view b) { return *a.name_ == b; }
  friend bool operator==(const TenantId& a, const char* b) { return *a.name_ == b; }
  friend bool operator==(const TenantId& a, const std::string& b) { return *a.name_ == b; }
  // Ordered by name (std::map keys, sorted listings).
  friend std::strong_ordering operator<=>(const TenantId& a, const TenantId& b) {
    return a.name_ == b.name_ ? std::strong_ordering::equal : (*a.name_ <=> *b.name_);
  }
  std::size_t hash() const { return std::hash<const void*>()(name_); }

 private:
  struct Interned {};
  TenantId(const std::string* name, Interned) : name_(name) {}
  const std::string* name_;
};

std::string to_string(const TenantId& t);

// The reserved tenant of the operator (the role above tenant admins that creates and removes
// tenants, docs/api.md "Tenants"): operator users and tokens live here, and no configured or
// created tenant may take this id, so an operator never shares a tenant with a company.
inline constexpr std::string_view kOperatorTenant = "_operator";

}  // namespace callbridge::base

template <>
struct std::hash<callbridge::base::TenantId> {
  std::size_t operator()(const callbridge::base::TenantId& t) const noexcept { return t.hash(); }
};

// spdlog::info("tenant {}", id)
template <>
struct fmt::formatter<callbridge::base::TenantId> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const callbridge::base::TenantId& t, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(t.str()), ctx);
  }
};
