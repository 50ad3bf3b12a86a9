// In-memory E.164 -> contacts index of one tenant: an immutable snapshot (open-addressing hash of
// 64-bit number keys over runs of 8-byte entries, contacts' display data in one arena). Built by
// NumberIndex::Builder on IndexedContactStore's loader thread; read by any number of threads at
// once without locks (a snapshot is never mutated after finish(); it is replaced as a whole).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::directory {

// "+4921133990312" -> one 64-bit key: digit count in bits 58..62, the digits' value below, so
// leading zeros stay distinct. nullopt unless '+' followed by 1..17 ASCII digits.
std::optional<std::uint64_t> e164_key(std::string_view e164);
std::string e164_from_key(std::uint64_t key);

// The company fallback of core::LookupService::candidates(): drop 1..max_extension_digits trailing
// digits (never below min_prefix_digits); for 2+ dropped digits also try base + "0".
struct FallbackOptions {
  std::size_t max_extension_digits = 5;
  std::size_t min_prefix_digits = 7;
};

class NumberIndex {
  static constexpr std::uint32_t kNone = 0xffffffffu;
  struct Entry {
    std::uint32_t contact;
    std::uint32_t label : 31;
    std::uint32_t last : 1;  // last entry of its number's run
  };
  // One hash slot. A number with one contact (nearly all) keeps it inline: contact + label here,
  // so a hit touches this slot and the contact record only. Several contacts: a run in entries_.
  struct Slot {
    std::uint64_t key;     // 0 = empty (a key is never 0: the digit count is >= 1)
    std::uint32_t ref;     // inline: contact slot; else first entry of the run
    std::uint32_t label : 31;
    std::uint32_t inline_ : 1;
  };
  struct ContactRec {
    std::int64_t id;
    std::uint32_t name_off, company_off;
    std::uint16_t name_len, company_len;
    ports::ContactKind kind;
  };

 public:
  struct ContactView {
    std::int64_t id = 0;
    ports::ContactKind kind = ports::ContactKind::person;
    std::string_view display_name;
    std::string_view company;
  };
  struct Hit {
    ContactView contact;
    std::string_view label;
    std::uint64_t key = 0;      // the number that matched (e164_from_key() for text)
    std::uint32_t distance = 0;  // 0: exact; else digits beyond the company base (as LookupService ranks)
  };

  class Builder {
   public:
    // Returns the contact's slot for add_number(). Names longer than 64 KiB are cut.
    std::uint32_t add_contact(std::int64_t id, ports::ContactKind kind, std::string_view display_name,
                              std::string_view company);
    // A number of that contact; e164 as the store keeps it. Empty numbers are ignored.
    void add_number(std::uint32_t contact, std::string_view e164, std::string_view label);
    std::size_t contacts() const { return recs_.size(); }
    std::size_t numbers() const { return pending_.size() + odd_.size(); }
    // Sorts and hashes. Errc::internal past 4 GiB of names or 2^32 numbers.
    base::Result<NumberIndex> finish() &&;

   private:
    friend class NumberIndex;
    struct Pending {
      std::uint64_t key;
      std::uint32_t contact;
      std::uint32_t label;
    };
    std::uint32_t label_id(std::string_view label);
    std::uint32_t put(std::string_view text, std::uint16_t* len);
    std::vector<Pending> pending_;
    std::vector<std::pair<std::string, Pending>> odd_;  // numbers that are not "+digits"
    std::vector<ContactRec> recs_;
    std::string arena_;
    std::vector<std::string> labels_;
    std::map<std::string, std::uint32_t, std::less<>> label_ids_;
    bool overflow_ = false;
  };

  NumberIndex() = default;

  // Contacts having exactly this number, in the store's order (name, id, number order).
  template <typename F>
  std::size_t for_each_exact(std::uint64_t key, F&& f) const {
    const Slot* s = find(key);
    return s ? emit(*s, 0, f) : 0;
  }
  std::size_t count_exact(std::uint64_t key) const;

  // What LookupService would rank first for a caller: every exact match, or, when there is none,
  // every match of the company candidates at the smallest distance. Calls f(Hit) for each;
  // returns their number. Does not allocate.
  template <typename F>
  std::size_t for_each_best(std::uint64_t key, const FallbackOptions& fb, F&& f) const {
    if (std::size_t n = for_each_exact(key, f)) return n;
    return for_each_fallback(key, fb, f);
  }

  // ContactSource::lookup semantics: every contact with a number equal to one of the candidates
  // (text E.164, unparsable ones are compared as text), in candidate order.
  void lookup(const std::vector<std::string>& candidates, const std::string& source, int priority,
              std::vector<ports::ContactMatch>* out) const;

  std::size_t numbers() const { return numbers_ + odd_entries_; }
  std::size_t distinct_numbers() const { return distinct_; }
  std::size_t contacts() const { return recs_.size(); }
  // Heap bytes held by this snapshot (vectors' capacity, arena, labels).
  std::size_t memory_bytes() const;

 private:
  // Linear probing over a byte array of tags (7 hash bits, high bit set = used) first: a probe
  // that misses costs one access to the 1-byte-per-slot tags, usually cached, not the 16-byte slots.
  const Slot* find(std::uint64_t key) const {
    if (mask_ == 0) return nullptr;
    std::uint64_t h = key * 0x9E3779B97F4A7C15ull;
    std::size_t i = static_cast<std::size_t>(h >> shift_);
    auto tag = static_cast<std::uint8_t>(0x80 | (h & 0x7f));
    for (;;) {
      std::uint8_t t = tags_[i];
      if (t == 0) return nullptr;
      if (t == tag && slots_[i].key == key) return &slots_[i];
      i = (i + 1) & mask_;
    }
  }
  Hit hit(std::uint32_t contact, std::uint32_t label, std::uint64_t key, std::uint32_t distance) const {
    const ContactRec& c = recs_[contact];
    return Hit{ContactView{c.id, c.kind, std::string_view(arena_).substr(c.name_off, c.name_len),
                           std::string_view(arena_).substr(c.company_off, c.company_len)},
               labels_[label], key, distance};
  }
  template <typename F>
  std::size_t emit(const Slot& s, std::uint32_t distance, F& f) const {
    if (s.inline_) {
      f(hit(s.ref, s.label, s.key, distance));
      return 1;
    }
    std::size_t n = 0;
    for (std::uint32_t i = s.ref;; ++i) {
      f(hit(entries_[i].contact, entries_[i].label, s.key, distance));
      ++n;
      if (entries_[i].last) return n;
    }
  }
  template <typename F>
  std::size_t for_each_fallback(std::uint64_t key, const FallbackOptions& fb, F&& f) const;

  std::vector<std::uint8_t> tags_;  // per slot: 0 = empty, else 0x80 | 7 bits of the hash
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  int shift_ = 64;
  std::vector<Entry> entries_;  // runs of numbers with several contacts
  std::vector<ContactRec> recs_;
  std::string arena_;
  std::vector<std::string> labels_;
  // Numbers that are not "+digits" (should not exist; kept so nothing is lost): text -> entries.
  std::map<std::string, std::vector<Entry>, std::less<>> odd_;
  std::size_t odd_entries_ = 0;
  std::size_t distinct_ = 0;
  std::size_t numbers_ = 0;
};

namespace index_detail {
constexpr std::uint64_t kDigitShift = 58;
inline std::uint64_t key_digits(std::uint64_t key) { return key >> kDigitShift; }
inline std::uint64_t key_value(std::uint64_t key) { return key & ((std::uint64_t{1} << kDigitShift) - 1); }
inline std::uint64_t make_key(std::uint64_t digits, std::uint64_t value) { return (digits << kDigitShift) | value; }
}  // namespace index_detail

template <typename F>
std::size_t NumberIndex::for_each_fallback(std::uint64_t key, const FallbackOptions& fb, F&& f) const {
  using namespace index_detail;
  // Same candidates as LookupService::candidates(), same distance as its ranking; the first k
  // with any match is the longest prefix (base_k and base_k + "0" both have distance k).
  std::uint64_t n = key_digits(key), v = key_value(key);
  std::uint64_t seen_prev = 0;  // base_{k-1}: base_k + "0" equals it when the dropped digit is 0
  std::uint64_t pow = 1;
  for (std::uint64_t k = 1; k <= fb.max_extension_digits && k < n; ++k) {
    if (n - k < fb.min_prefix_digits) break;
    pow *= 10;
    std::uint64_t base = make_key(n - k, v / pow);
    std::size_t found = 0;
    if (const Slot* s = find(base)) found += emit(*s, static_cast<std::uint32_t>(k), f);
    if (k >= 2) {
      std::uint64_t zero = make_key(n - k + 1, (v / pow) * 10);
      if (zero != seen_prev)
        if (const Slot* s = find(zero)) found += emit(*s, static_cast<std::uint32_t>(k), f);
    }
    if (found) return found;
    seen_prev = base;
  }
  return 0;
}

}  // namespace callbridge::directory
