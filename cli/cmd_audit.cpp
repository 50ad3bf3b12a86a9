// `callbridge audit`: lists the audit log callbridged (and `callbridge token`) write in the data
// dir's audit.db, read-only (works while callbridged runs: WAL). One tenant (--tenant) or all
// (--all-tenants): whoever can read the data dir's files reads every tenant's records anyway.
// Output as an aligned table or JSON lines (GET /api/v1/audit's record objects). Exit codes: 0 ok,
// 1 no/bad audit log, 2 bad arguments.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "audit/sqlite/sqlite_audit_log.hpp"
#include "base/json_text.hpp"
#include "cli/commands.hpp"

namespace callbridge::cli {

namespace {

struct AuditArgs {
  std::string data_dir;
  std::string config;
  std::string tenant{app::kSingleCompanyTenant};  // checked by tenant_id_check()
  bool all_tenants = false;
  std::string since;
  std::string until;
  std::string actor;
  std::string kind;
  std::size_t limit = 50;
  std::int64_t before_id = 0;
  std::string format = "table";
};

int usage_error(const std::string& m) {
  std::fprintf(stderr, "callbridge audit: %s\n", m.c_str());
  return 2;
}

// Control characters out of a table cell (a terminal must not be steered by a user name).
std::string cell(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s.empty() ? "-" : s;
}

void print_table(const std::vector<ports::StoredAuditRecord>& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"ID", "AT (UTC)", "TENANT", "ACTOR", "SOURCE", "ACTION", "TARGET", "OUTCOME", "DETAILS"});
  for (const auto& s : rows) {
    const auto& r = s.record;
    auto at = base::format_rfc3339_ms(r.at);
    cells.push_back({std::to_string(s.id), at.substr(0, 10) + " " + at.substr(11, 8), r.tenant.str(), cell(r.actor),
                     cell(r.source), cell(r.action), cell(r.target), cell(r.outcome),
                     r.details_json == "{}" ? "" : cell(r.details_json)});
  }
  std::vector<std::size_t> w(cells[0].size(), 0);
  for (const auto& row : cells)
    for (std::size_t i = 0; i + 1 < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) line += "  ";
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - row[i].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

void print_json(const std::vector<ports::StoredAuditRecord>& rows) {
  for (const auto& s : rows) {
    const auto& r = s.record;
    std::string o = "{\"id\":" + std::to_string(s.id) + ",\"at\":";
    base::append_json_string(o, base::format_rfc3339_ms(r.at));
    for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"tenant", &r.tenant.str()},
                               {"actor", &r.actor},
                               {"source", &r.source},
                               {"action", &r.action},
                               {"target", &r.target},
                               {"outcome", &r.outcome}}) {
      o += ",\"" + std::string(k) + "\":";
      base::append_json_string(o, *v);
    }
    o += ",\"details\":" + r.details_json + "}";  // a JSON object as the store keeps it
    std::printf("%s\n", o.c_str());
  }
}

int run_audit(const AuditArgs& a) {
  const auto now = base::SystemClock().now();
  ports::AuditQuery q{.tenant = a.all_tenants ? std::nullopt : std::optional<base::TenantId>(base::TenantId(a.tenant))};
  const char* when = "expected an RFC 3339 time, a date (2026-11-22) or an age (30m, 2h, 7d), got \"";
  if (!a.since.empty() && !(q.since = parse_when(a.since, now))) return usage_error("--since: " + (when + a.since) + "\"");
  if (!a.until.empty() && !(q.until = parse_when(a.until, now))) return usage_error("--until: " + (when + a.until) + "\"");
  if (!a.actor.empty()) q.actor = a.actor;
  if (!a.kind.empty()) q.kind = a.kind;
  q.limit = a.limit;
  if (a.before_id > 0) q.before_id = a.before_id;

  std::string dir = a.data_dir;
  if (dir.empty() && !a.config.empty()) {
    auto c = app::load_config_file(a.config);
    if (!c) return usage_error("config error: " + c.error().message());
    dir = app::effective_data_dir(*c);
  }
  if (dir.empty()) dir = app::default_data_dir();
  auto log = audit::SqliteAuditLog::open(app::audit_path(dir), {.read_only = true});
  if (!log) {
    if (log.error().code() == base::Errc::not_found)
      std::fprintf(stderr, "callbridge audit: no audit log in %s (%s missing). Is --data-dir right? callbridged "
                   "creates it when it starts.\n", dir.c_str(), app::audit_path(dir).c_str());
    else
      std::fprintf(stderr, "callbridge audit: %s\n", log.error().message().c_str());
    return 1;
  }
  auto rows = (*log)->query(q);
  if (!rows) {
    std::fprintf(stderr, "callbridge audit: %s\n", rows.error().message().c_str());
    return 1;
  }
  if (a.format == "json") {
    print_json(*rows);
    return 0;
  }
  if (rows->empty()) {
    std::printf("no audit records match\n");
    return 0;
  }
  print_table(*rows);
  if (rows->size() == a.limit)
    std::printf("(%zu shown; older: --before-id %lld)\n", rows->size(), static_cast<long long>(rows->back().id));
  return 0;
}

}  // namespace

Command register_audit(CLI::App& app) {
  auto a = std::make_shared<AuditArgs>();
  auto* c = app.add_subcommand("audit", "list the audit log (sign-ins, tokens, users, settings, commands; read-only)");
  auto* dd = c->add_option("--data-dir", a->data_dir, "callbridged's data dir (default: /var/lib/callbridge as root, else ./data)")
                 ->type_name("DIR");
  auto* cf = c->add_option("--config", a->config, "read the data dir from this callbridged config file")->type_name("FILE");
  dd->excludes(cf);
  auto* t = c->add_option("--tenant", a->tenant, "tenant id")->capture_default_str()->check(tenant_id_check());
  c->add_flag("--all-tenants", a->all_tenants, "every tenant's records (and those of no tenant)")->excludes(t);
  c->add_option("--since", a->since, "at or after: RFC 3339, date, or age like 2h / 7d")->type_name("TIME");
  c->add_option("--until", a->until, "before: RFC 3339, date, or age")->type_name("TIME");
  c->add_option("--actor", a->actor, "only this actor (user name, cli, system)");
  c->add_option("--kind", a->kind, "an action (token.create) or its kind (token)");
  c->add_option("--limit", a->limit, "at most this many records, newest first (max 10000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--before-id", a->before_id, "page: only records with a smaller id");
  c->add_option("--format", a->format, "table or json (JSON lines)")->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  return Command{c, [a] { return run_audit(*a); }};
}

}  // namespace callbridge::cli
