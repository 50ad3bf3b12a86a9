#include "directory/index/number_index.hpp"

#include <algorithm>
#include <bit>
#include <limits>

namespace callbridge::directory {

using namespace index_detail;

std::optional<std::uint64_t> e164_key(std::string_view e164) {
  if (e164.size() < 2 || e164.size() > 18 || e164[0] != '+') return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 1; i < e164.size(); ++i) {
    unsigned d = static_cast<unsigned char>(e164[i]) - '0';
    if (d > 9) return std::nullopt;
    v = v * 10 + d;
  }
  return make_key(e164.size() - 1, v);
}

std::string e164_from_key(std::uint64_t key) {
  std::uint64_t n = key_digits(key), v = key_value(key);
  std::string s(n + 1, '0');
  s[0] = '+';
  for (std::size_t i = n; i >= 1; --i) {
    s[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return s;
}

std::uint32_t NumberIndex::Builder::put(std::string_view text, std::uint16_t* len) {
  text = text.substr(0, std::numeric_limits<std::uint16_t>::max());
  if (arena_.size() + text.size() > std::numeric_limits<std::uint32_t>::max()) {
    overflow_ = true;
    *len = 0;
    return 0;
  }
  auto off = static_cast<std::uint32_t>(arena_.size());
  arena_.append(text);
  *len = static_cast<std::uint16_t>(text.size());
  return off;
}

std::uint32_t NumberIndex::Builder::add_contact(std::int64_t id, ports::ContactKind kind,
                                                std::string_view display_name, std::string_view company) {
  ContactRec r{};
  r.id = id;
  r.kind = kind;
  r.name_off = put(display_name, &r.name_len);
  if (company == display_name) {  // companies: display name and company are the same text
    r.company_off = r.name_off;
    r.company_len = r.name_len;
  } else {
    r.company_off = put(company, &r.company_len);
  }
  recs_.push_back(r);
  return static_cast<std::uint32_t>(recs_.size() - 1);
}

std::uint32_t NumberIndex::Builder::label_id(std::string_view label) {
  auto it = label_ids_.find(label);
  if (it != label_ids_.end()) return it->second;
  auto id = static_cast<std::uint32_t>(labels_.size());
  labels_.emplace_back(label);
  label_ids_.emplace(std::string(label), id);
  return id;
}

void NumberIndex::Builder::add_number(std::uint32_t contact, std::string_view e164, std::string_view label) {
  if (e164.empty() || contact >= recs_.size()) return;
  Pending p{0, contact, label_id(label)};
  if (auto k = e164_key(e164)) {
    p.key = *k;
    pending_.push_back(p);
  } else {
    odd_.emplace_back(std::string(e164), p);
  }
}

base::Result<NumberIndex> NumberIndex::Builder::finish() && {
  if (overflow_ || pending_.size() + odd_.size() >= (std::size_t{1} << 31) || labels_.size() >= (1u << 31)) {
    return base::fail(base::Error::internal("contact index: too many numbers or too much name text"));
  }
  NumberIndex ix;
  arena_.shrink_to_fit();  // push_back growth would leave up to half of these unused
  recs_.shrink_to_fit();
  ix.arena_ = std::move(arena_);
  ix.recs_ = std::move(recs_);
  ix.labels_ = std::move(labels_);
  // The store's order within one number: display name, contact id, then number order (stable).
  auto name_of = [&ix](std::uint32_t c) {
    return std::string_view(ix.arena_).substr(ix.recs_[c].name_off, ix.recs_[c].name_len);
  };
  auto before = [&](const Pending& a, const Pending& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.contact == b.contact) return false;
    auto na = name_of(a.contact), nb = name_of(b.contact);
    if (na != nb) return na < nb;
    return ix.recs_[a.contact].id < ix.recs_[b.contact].id;
  };
  std::stable_sort(pending_.begin(), pending_.end(), before);
  std::size_t distinct = 0, shared = 0;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    bool first = i == 0 || pending_[i].key != pending_[i - 1].key;
    bool single = first && (i + 1 == pending_.size() || pending_[i + 1].key != pending_[i].key);
    distinct += first;
    shared += !single;
  }
  ix.distinct_ = distinct;
  ix.numbers_ = pending_.size();
  std::size_t slots = 16;
  while (slots < distinct + distinct / 2 + 1) slots <<= 1;  // load factor <= 2/3
  ix.tags_.assign(slots, 0);
  ix.slots_.assign(slots, Slot{0, 0, 0, 0});
  ix.mask_ = slots - 1;
  ix.shift_ = 64 - std::countr_zero(slots);
  ix.entries_.reserve(shared);
  for (std::size_t i = 0; i < pending_.size();) {
    std::size_t j = i + 1;
    while (j < pending_.size() && pending_[j].key == pending_[i].key) ++j;
    const Pending& p = pending_[i];
    Slot slot{p.key, p.contact, p.label, 1};
    if (j - i > 1) {
      slot = Slot{p.key, static_cast<std::uint32_t>(ix.entries_.size()), 0, 0};
      for (std::size_t k = i; k < j; ++k)
        ix.entries_.push_back(Entry{pending_[k].contact, pending_[k].label, k + 1 == j ? 1u : 0u});
    }
    std::uint64_t h = p.key * 0x9E3779B97F4A7C15ull;
    std::size_t s = static_cast<std::size_t>(h >> ix.shift_);
    while (ix.tags_[s] != 0) s = (s + 1) & ix.mask_;
    ix.tags_[s] = static_cast<std::uint8_t>(0x80 | (h & 0x7f));
    ix.slots_[s] = slot;
    i = j;
  }
  std::vector<Pending>().swap(pending_);
  std::stable_sort(odd_.begin(), odd_.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    Pending pa = a.second, pb = b.second;
    pa.key = pb.key = 0;
    return before(pa, pb);
  });
  for (auto& [text, p] : odd_) {
    ix.odd_[text].push_back(Entry{p.contact, p.label, 0});
    ++ix.odd_entries_;
  }
  for (auto& [text, run] : ix.odd_) run.back().last = 1;
  return ix;
}

std::size_t NumberIndex::count_exact(std::uint64_t key) const {
  const Slot* s = find(key);
  if (!s) return 0;
  if (s->inline_) return 1;
  std::size_t n = 1;
  for (std::uint32_t i = s->ref; !entries_[i].last; ++i) ++n;
  return n;
}

void NumberIndex::lookup(const std::vector<std::string>& candidates, const std::string& source, int priority,
                         std::vector<ports::ContactMatch>* out) const {
  auto push = [&](const Hit& h, const std::string& number) {
    ports::ContactMatch m;
    m.source = source;
    m.priority = priority;
    m.contact_id = std::to_string(h.contact.id);
    m.kind = h.contact.kind;
    m.display_name = h.contact.display_name;
    m.company = h.contact.company;
    m.matched_number = number;
    m.label = h.label;
    out->push_back(std::move(m));
  };
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const std::string& cand = candidates[c];
    if (std::find(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(c), cand) !=
        candidates.begin() + static_cast<std::ptrdiff_t>(c)) {
      continue;  // the store's IN (...) matches a row once
    }
    if (auto k = e164_key(cand)) {
      for_each_exact(*k, [&](const Hit& h) { push(h, cand); });
    } else if (auto it = odd_.find(cand); it != odd_.end()) {
      for (const Entry& e : it->second) push(hit(e.contact, e.label, 0, 0), cand);
    }
  }
}

std::size_t NumberIndex::memory_bytes() const {
  std::size_t b = tags_.capacity() + slots_.capacity() * sizeof(Slot) + entries_.capacity() * sizeof(Entry) +
                  recs_.capacity() * sizeof(ContactRec) + arena_.capacity() + labels_.capacity() * sizeof(std::string);
  for (const auto& l : labels_) b += l.capacity() > 15 ? l.capacity() + 1 : 0;
  for (const auto& [text, run] : odd_) b += 64 + text.capacity() + run.capacity() * sizeof(Entry);
  return b;
}

}  // namespace callbridge::directory
