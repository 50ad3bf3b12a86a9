#include "core/chosen_contacts.hpp"

#include <charconv>
#include <vector>

namespace callbridge::core {

namespace {

std::vector<std::string> split_tabs(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    auto tab = s.find('\t', from);
    out.push_back(s.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
    if (tab == std::string::npos) return out;
    from = tab + 1;
  }
}

// "lab-1795.0" and "1795.0" name the same call (a link prefix, as the web client matches them).
bool same_call(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto suffix = [](const std::string& longer, const std::string& shorter) {
    return longer.size() > shorter.size() + 1 && longer.ends_with(shorter) &&
           longer[longer.size() - shorter.size() - 1] == '-';
  };
  return suffix(a, b) || suffix(b, a);
}

}  // namespace

ChosenContacts::ChosenContacts(base::TenantId tenant, ports::JournalStore* store)
    : tenant_(tenant), store_(store && store->keeps_open_state() ? store : nullptr), scope_("chosen:" + tenant.str()) {}

std::string ChosenContacts::encode(const std::string& call_id, const std::string& party, const model::ContactRef& c,
                                   base::Timestamp at) {
  return "v1\t" + call_id + "\t" + party + "\t" + std::to_string(base::to_micros(at)) + "\t" + c.id + "\t" + c.source +
         "\t" + c.name + "\t" + c.company;
}

std::optional<ChosenContacts::Row> ChosenContacts::decode(const std::string& text) {
  auto f = split_tabs(text);
  if (f.size() != 8 || f[0] != "v1" || f[1].empty() || f[2].empty() || f[4].empty()) return std::nullopt;
  std::int64_t us = 0;
  auto [p, ec] = std::from_chars(f[3].data(), f[3].data() + f[3].size(), us);
  if (ec != std::errc() || p != f[3].data() + f[3].size()) return std::nullopt;
  return Row{f[1], f[2], model::ContactRef{.id = f[4], .name = f[6], .company = f[7], .source = f[5]}, base::from_micros(us)};
}

base::Status ChosenContacts::load(base::Timestamp now) {
  if (!store_) return {};
  auto rows = store_->load_open_state(scope_);
  if (!rows) return base::fail(rows.error());
  for (const auto& text : *rows) {
    auto r = decode(text);
    if (!r) continue;  // not ours to understand: left alone, never matched
    Key k{r->call_id, r->party};
    if (now - r->at > kMaxAge) {
      store_->drop_open_state(scope_, row_key(k));
      continue;
    }
    chosen_[k] = Choice{std::move(r->contact), r->at};
  }
  return {};
}

void ChosenContacts::choose(const std::string& call_id, const std::string& party, model::ContactRef contact,
                            base::Timestamp at) {
  // Bounded: choices whose entries never came go first (oldest choice time).
  while (chosen_.size() >= kMax && !chosen_.contains({call_id, party})) {
    auto oldest = chosen_.begin();
    for (auto it = chosen_.begin(); it != chosen_.end(); ++it)
      if (it->second.at < oldest->second.at) oldest = it;
    forget(oldest);
  }
  Key k{call_id, party};
  if (store_) store_->put_open_state(scope_, row_key(k), encode(call_id, party, contact, at));
  chosen_[k] = Choice{std::move(contact), at};
}

void ChosenContacts::forget(std::map<Key, Choice>::const_iterator it) {
  if (store_) store_->drop_open_state(scope_, row_key(it->first));
  chosen_.erase(it);
}

std::map<ChosenContacts::Key, ChosenContacts::Choice>::const_iterator ChosenContacts::match(const std::string& call_id,
                                                                                          const std::string& party) const {
  if (auto it = chosen_.find({call_id, party}); it != chosen_.end()) return it;
  for (auto it = chosen_.begin(); it != chosen_.end(); ++it)
    if (it->first.second == party && same_call(it->first.first, call_id)) return it;
  return chosen_.end();
}

std::optional<model::ContactRef> ChosenContacts::find(const std::string& call_id, const std::string& party) const {
  auto it = match(call_id, party);
  if (it == chosen_.end()) return std::nullopt;
  return it->second.contact;
}

void ChosenContacts::erase(const std::string& call_id, const std::string& party) {
  if (auto it = match(call_id, party); it != chosen_.end()) forget(it);
}

}  // namespace callbridge::core
