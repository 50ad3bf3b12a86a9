// `callbridge journal`: lists call journal entries straight from the journal callbridged writes
// with the same configuration: the SQLite journal in the data dir (read-only; works while
// callbridged runs thanks to WAL), or PostgreSQL with journal.backend = "postgres". Output as an aligned table, JSON lines
// (model::to_json_line plus "id") or CSV (RFC 4180 quoting). Exit codes: 0 ok, 1 no/bad journal,
// 2 bad arguments.
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/store_wiring.hpp"
#include "base/csv_text.hpp"
#include "base/time.hpp"
#include "cli/commands.hpp"

namespace callbridge::cli {

std::optional<base::Timestamp> parse_when(const std::string& s, base::Timestamp now) {
  if (auto t = base::parse_rfc3339(s)) return t;
  if (s.size() < 2) return std::nullopt;
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || n > 1'000'000'000) return std::nullopt;
    n = n * 10 + (s[i] - '0');
  }
  std::int64_t unit = 0;
  switch (s.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  return now - std::chrono::seconds(n * unit);
}

namespace {

struct JournalArgs {
  std::string data_dir;
  std::string config;
  std::string tenant{app::kSingleCompanyTenant};  // checked by tenant_id_check()
  std::string party;
  std::string since;
  std::string until;
  bool missed = false;
  std::string direction;
  std::string disposition;
  std::string search;
  std::size_t limit = 50;
  std::int64_t before_id = 0;
  std::string format = "table";
};

// Display width of UTF-8 text (code points; good enough for names in a terminal table).
std::size_t width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string truncate(const std::string& s, std::size_t max) {
  if (width(s) <= max) return s;
  std::string out;
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++w > max - 2) break;
    out += s[i];
  }
  return out + "..";
}

std::string fmt_1dp(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string table_time(base::Timestamp t) {
  auto s = base::format_rfc3339_ms(t);  // 2026-11-22T21:25:53.711Z
  return s.substr(0, 10) + " " + s.substr(11, 8);
}

void print_table(const std::vector<ports::StoredEntry>& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"ID", "STARTED (UTC)", "PARTY", "DIRECTION", "REMOTE", "NAME", "DISPOSITION",
                   "RING", "TALK", "HOLD", "TRANSFER", "NOTE"});
  for (const auto& r : rows) {
    const auto& e = r.entry;
    std::string name = e.remote_name ? *e.remote_name : (e.contact ? e.contact->name : "");
    std::string transfer;
    if (e.transferred_from) transfer = "from " + *e.transferred_from;
    if (e.transferred_to) transfer += (transfer.empty() ? "" : ", ") + ("to " + *e.transferred_to);
    std::string note = e.note;
    for (auto& c : note)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    cells.push_back({std::to_string(r.id), table_time(e.started_at), e.party,
                     std::string(model::to_string(e.direction)),
                     e.remote ? *e.remote : (e.remote_withheld ? "(withheld)" : "-"),
                     name.empty() ? "-" : truncate(name, 28),
                     std::string(model::to_string(e.disposition)), fmt_1dp(e.ring_s()),
                     fmt_1dp(e.talk_s()), fmt_1dp(e.hold_s), transfer.empty() ? "-" : transfer,
                     note.empty() ? "" : truncate(note, 40)});
  }
  std::vector<std::size_t> w(cells[0].size(), 0);
  for (const auto& row : cells)
    for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], width(row[i]));
  // Numbers right-aligned (ID, RING, TALK, HOLD), text left-aligned.
  auto right = [](std::size_t col) { return col == 0 || col == 7 || col == 8 || col == 9; };
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string pad(w[i] - width(row[i]), ' ');
      if (i) line += "  ";
      line += right(i) ? pad + row[i] : (i + 1 == row.size() ? row[i] : row[i] + pad);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

void print_csv(const std::vector<ports::StoredEntry>& rows) {
  std::printf(
      "id,started_at,answered_at,ended_at,party,direction,remote,remote_withheld,remote_name,"
      "disposition,ring_s,talk_s,hold_s,transferred_to,transferred_from,call_id,tenant,note,device,device_number,"
      "private_device,trunk_channel_s\n");
  for (const auto& r : rows) {
    const auto& e = r.entry;
    std::vector<std::string> f = {
        std::to_string(r.id),
        base::format_rfc3339_ms(e.started_at),
        e.answered_at ? base::format_rfc3339_ms(*e.answered_at) : "",
        base::format_rfc3339_ms(e.ended_at),
        e.party,
        std::string(model::to_string(e.direction)),
        e.remote.value_or(""),
        e.remote_withheld ? "true" : "false",
        e.remote_name.value_or(""),
        std::string(model::to_string(e.disposition)),
        fmt_1dp(e.ring_s()),
        fmt_1dp(e.talk_s()),
        fmt_1dp(e.hold_s),
        e.transferred_to.value_or(""),
        e.transferred_from.value_or(""),
        e.call_id,
        e.tenant,
        e.note,
        e.device_name.value_or(""),
        e.device_number.value_or(""),
        e.private_device ? "true" : "false",
        fmt_1dp(e.trunk_channel_s)};
    // The API's writer: a caller name like =HYPERLINK(...) must not run in a spreadsheet.
    std::printf("%s\n", base::csv_record(f).c_str());
  }
}

int usage_error(const std::string& m) {
  std::fprintf(stderr, "callbridge journal: %s\n", m.c_str());
  return 2;
}

int run_journal(const JournalArgs& a) {
  const auto now = base::SystemClock().now();
  ports::JournalQuery q{.tenant = base::TenantId(a.tenant)};
  if (!a.party.empty()) q.party = a.party;
  if (!a.since.empty() && !(q.since = parse_when(a.since, now)))
    return usage_error("--since: expected an RFC 3339 time, a date (2026-11-22) or an age (30m, 2h, 7d), got \"" +
                       a.since + "\"");
  if (!a.until.empty() && !(q.until = parse_when(a.until, now)))
    return usage_error("--until: expected an RFC 3339 time, a date (2026-11-22) or an age (30m, 2h, 7d), got \"" +
                       a.until + "\"");
  if (!a.direction.empty() && !(q.direction = model::parse_direction(a.direction)))
    return usage_error("--direction: expected inbound, outbound or internal, got \"" + a.direction + "\"");
  if (!a.disposition.empty() && !(q.disposition = model::parse_disposition(a.disposition)))
    return usage_error(
        "--disposition: expected answered, missed, answered_elsewhere, rejected, no_answer, busy, failed or "
        "unknown, got \"" + a.disposition + "\"");
  q.missed_only = a.missed;
  if (!a.search.empty()) q.text = a.search;
  q.limit = a.limit;
  if (a.before_id > 0) q.before_id = a.before_id;

  // The journal callbridged writes with the same configuration (app::open_journal_store):
  // DATA_DIR/journal.db, or the PostgreSQL database of journal.backend = "postgres".
  app::Config config;
  if (!a.config.empty()) {
    auto c = app::load_config_file(a.config);
    if (!c) return usage_error("config error: " + c.error().message());
    config = std::move(*c);
  }
  std::string dir = a.data_dir;
  if (dir.empty() && !a.config.empty()) dir = app::effective_data_dir(config);
  if (dir.empty()) dir = app::default_data_dir();

  auto store = app::open_journal_store(config, dir, /*read_only=*/true);
  if (!store) {
    if (store.error().code() == base::Errc::not_found)
      std::fprintf(stderr,
                   "callbridge journal: no journal in %s (%s missing). Is --data-dir right? callbridged "
                   "creates it when it starts.\n",
                   dir.c_str(), app::journal_path(dir).c_str());
    else
      std::fprintf(stderr, "callbridge journal: %s\n", store.error().message().c_str());
    return 1;
  }
  auto rows = store->store->query(q);
  if (!rows) {
    std::fprintf(stderr, "callbridge journal: %s\n", rows.error().message().c_str());
    return 1;
  }
  if (a.format == "json") {
    for (const auto& r : *rows) {
      auto line = model::to_json_line(r.entry);
      std::printf("{\"id\": %lld, %s\n", static_cast<long long>(r.id), line.c_str() + 1);
    }
  } else if (a.format == "csv") {
    print_csv(*rows);
  } else {
    if (rows->empty()) {
      std::printf("no journal entries match\n");
      return 0;
    }
    print_table(*rows);
    if (rows->size() == a.limit)
      std::printf("(%zu shown; older: --before-id %lld)\n", rows->size(),
                  static_cast<long long>(rows->back().id));
  }
  return 0;
}

}  // namespace

Command register_journal(CLI::App& app) {
  auto a = std::make_shared<JournalArgs>();
  auto* c = app.add_subcommand("journal", "list call journal entries from the configured journal (read-only)");
  auto* dd = c->add_option("--data-dir", a->data_dir,
                           "callbridged's data dir (default: /var/lib/callbridge as root, else ./data)")
                ->type_name("DIR");
  auto* cf = c->add_option("--config", a->config, "read the data dir and the journal backend from this callbridged config file")
                ->type_name("FILE");
  dd->excludes(cf);
  c->add_option("--tenant", a->tenant, "tenant id")->capture_default_str()->check(tenant_id_check());
  c->add_option("--party", a->party, "only this internal extension")->type_name("EXT");
  c->add_option("--since", a->since, "started at or after: RFC 3339, date, or age like 2h / 7d")->type_name("TIME");
  c->add_option("--until", a->until, "started before: RFC 3339, date, or age")->type_name("TIME");
  c->add_flag("--missed", a->missed, "only missed calls");
  c->add_option("--direction", a->direction, "inbound, outbound or internal");
  c->add_option("--disposition", a->disposition, "answered, missed, answered_elsewhere, rejected, no_answer, busy, failed, unknown (ended while callbridge could not hear the PBX)");
  c->add_option("--search", a->search, "substring of remote, name, party or note");
  c->add_option("--limit", a->limit, "at most this many entries, newest first (max 10000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--before-id", a->before_id, "page: the entries after this one in the listing's order (newest start first), as the previous page's last line says");
  c->add_option("--format", a->format, "table, json (JSON lines) or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "csv"}));
  return Command{c, [a] { return run_journal(*a); }};
}

}  // namespace callbridge::cli
