#include "capabilities/journal/journal_service.hpp"

#include <algorithm>
#include <cstdio>

#include "base/csv_text.hpp"
#include "core/visibility.hpp"

namespace callbridge::capabilities::journal {

namespace {

std::string fmt1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "answered_at ended_at": the estimated fields, space-separated (docs/journal.md).
std::string estimated_list(std::uint8_t bits) {
  std::string out;
  for (auto n : model::estimated_names(bits)) {
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

}  // namespace

std::expected<std::vector<ports::StoredEntry>, ReadFailure> visible_entries(ports::JournalStore& store,
                                                                            const ports::JournalQuery& q,
                                                                            const core::Viewer& viewer) {
  auto queries = core::journal_queries(viewer, q);
  if (!queries) return std::unexpected(ReadFailure{true, base::Error::invalid_argument(queries.error())});
  auto r = core::run_journal_queries(store, *queries, q.limit);
  if (!r) return std::unexpected(ReadFailure{false, r.error()});
  return std::move(*r);
}

base::Result<std::optional<ports::StoredEntry>> update_entry(ports::JournalStore& store, const core::Viewer& viewer,
                                                             std::int64_t id, const ports::EntryUpdate& u) {
  auto found = core::find_journal_entry(store, viewer, id);
  if (!found) return base::fail(found.error());
  if (!*found) return std::optional<ports::StoredEntry>{};
  if (auto st = store.update(viewer.tenant, id, u); !st) return base::fail(st.error());
  auto& e = (*found)->entry;
  if (u.note) e.note = *u.note;
  if (u.done) e.done = *u.done;
  if (u.contact) e.contact = *u.contact;
  return std::move(*found);
}

base::Result<std::size_t> open_missed(ports::JournalStore& store, const core::Viewer& viewer,
                                      std::optional<base::Timestamp> since) {
  std::vector<std::string> own = viewer.extensions;
  std::sort(own.begin(), own.end());
  own.erase(std::unique(own.begin(), own.end()), own.end());
  std::size_t n = 0;
  for (const auto& d : own) {
    if (d.empty()) continue;
    ports::JournalQuery q{.tenant = viewer.tenant};
    q.party = d;
    q.missed_only = true;
    q.disposition = model::Disposition::missed;
    q.done = false;
    q.since = since;
    auto c = store.count(q);
    if (!c) return base::fail(c.error());
    n += *c;
  }
  return n;
}

std::string to_csv(const std::vector<ports::StoredEntry>& entries) {
  std::string out =
      "id,call_id,party,direction,remote,remote_name,disposition,started_at,answered_at,ended_at,ring_s,talk_s,"
      "hold_s,transferred_to,transferred_from,contact,note,estimated,done,device,device_number,private_device,"
      "trunk_channel_s\r\n";
  for (const auto& se : entries) {
    const auto& e = se.entry;
    std::vector<std::string> f{std::to_string(se.id),
                               e.call_id,
                               e.party,
                               std::string(model::to_string(e.direction)),
                               e.remote_withheld ? "withheld" : e.remote.value_or(""),
                               e.remote_name.value_or(""),
                               std::string(model::to_string(e.disposition)),
                               base::format_rfc3339_ms(e.started_at),
                               e.answered_at ? base::format_rfc3339_ms(*e.answered_at) : "",
                               base::format_rfc3339_ms(e.ended_at),
                               fmt1(e.ring_s()),
                               fmt1(e.talk_s()),
                               fmt1(e.hold_s),
                               e.transferred_to.value_or(""),
                               e.transferred_from.value_or(""),
                               e.contact ? e.contact->name : "",
                               e.note,
                               estimated_list(e.estimated),
                               e.done ? "true" : "false",
                               // AnyDevice: the user's external device that carried the call
                               e.device_name.value_or(""),
                               e.device_number.value_or(""),
                               e.private_device ? "true" : "false",
                               fmt1(e.trunk_channel_s)};
    out += base::csv_record(f);  // formula-safe (shared with `callbridge journal --format csv`)
    out += "\r\n";
  }
  return out;
}

}  // namespace callbridge::capabilities::journal
