// Reading a whole tenant of a contact store in one pass, for in-memory indexes (directory/index):
// ContactScanner is implemented by a store that can read a consistent snapshot itself (the SQLite
// store); scan_by_list() does it for any ContactStore through list(). Called on the index loader's
// thread; implementations are thread-safe like the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::ports {

// Receives one tenant's contacts: contact() once per contact, then number() for each of its numbers.
class ContactScanSink {
 public:
  virtual ~ContactScanSink() = default;
  virtual void contact(std::int64_t id, ContactKind kind, std::string_view display_name,
                       std::string_view company) = 0;
  virtual void number(std::string_view e164, std::string_view label) = 0;
};

class ContactScanner {
 public:
  virtual ~ContactScanner() = default;
  // Every contact of `tenant` with its numbers into `sink`, and the store's change token that
  // exactly this data corresponds to; progress(rows) now and then (rows read so far).
  virtual base::Result<std::uint64_t> scan(const base::TenantId& tenant, ContactScanSink& sink,
                                           const std::function<void(std::size_t)>& progress) = 0;
};

// The same for any ContactStore: the change token first, then list() of everything (a write
// meanwhile makes the token stale, never the data older than it). Holds all contacts in memory once.
inline base::Result<std::uint64_t> scan_by_list(ContactStore& store, const base::TenantId& tenant,
                                                ContactScanSink& sink,
                                                const std::function<void(std::size_t)>& progress) {
  auto token = store.change_token(tenant);
  if (!token) return base::fail(base::Error::unavailable("contact index: the store reports no change token"));
  auto all = store.list(tenant, "", std::numeric_limits<std::size_t>::max());
  if (!all) return base::fail(all.error());
  std::size_t rows = 0;
  for (const auto& c : *all) {
    sink.contact(c.id, c.kind, c.display_name, c.company);
    for (const auto& n : c.numbers) sink.number(n.e164, n.label);
    if (++rows % 65536 == 0 && progress) progress(rows);
  }
  return *token;
}

}  // namespace callbridge::ports
