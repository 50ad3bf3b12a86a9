// `callbridge contacts import|lookup|list`: the built-in contact directory, offline on the store
// callbridged uses with the same config (contacts.db in the data dir, or PostgreSQL with
// journal.backend = "postgres"; the daemon sees imports through the store's change counter). Numbers are
// normalized with the tenant's dialing plan: from --config / $CALLBRIDGE_CONFIG, flags on top.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/store_wiring.hpp"
#include "base/time.hpp"
#include "cli/commands.hpp"
#include "cli/plan_flags.hpp"
#include "core/dialing_plan.hpp"
#include "core/lookup_service.hpp"
#include "directory/store/contact_import.hpp"

namespace callbridge::cli {
namespace {

constexpr std::size_t kMaxIssuesShown = 50;

struct ContactsFlags : PlanFlags {
  std::string data_dir;
  std::string postgres;
  // import
  std::string file;
  bool dry_run = false;
  bool skip_invalid = false;
  bool replace = false;
  std::string format = "auto";
  std::string encoding = "auto";
  std::string delimiter;
  std::vector<std::string> maps;
  std::size_t max_mb = 64;
  // lookup / list
  std::string number;
  std::string text;
  std::size_t limit = 50;
};

void add_common(CLI::App* c, ContactsFlags& f) {
  c->add_option("--data-dir", f.data_dir, "callbridged data dir holding contacts.db (default: from --config, "
                                          "else the daemon's default)");
  c->add_option("--postgres", f.postgres, "use the contact store in this PostgreSQL database (libpq conninfo, e.g. "
                                          "'host=db dbname=callbridge user=cb'); default: where --config puts it "
                                          "(journal.backend)");
  // --config (data dir and the tenant's dialing plan), --tenant, the plan's flags.
  add_plan_flags(c, f);
}

int fail_usage(const std::string& m) {
  std::fprintf(stderr, "callbridge contacts: %s\n", m.c_str());
  return 2;
}

struct Env {
  app::Config config;  // --config / $CALLBRIDGE_CONFIG, else the defaults
  std::string data_dir;
  std::shared_ptr<const core::DialingPlan> plan;  // the daemon's plan for the tenant (+ flags)
};

base::Result<Env> load_env(const ContactsFlags& f) {
  auto loaded = load_plan(f);
  if (!loaded) return base::fail(loaded.error());
  Env env;
  if (loaded->config) {
    env.config = *loaded->config;
    env.data_dir = app::effective_data_dir(*loaded->config);
  }
  if (!f.data_dir.empty()) env.data_dir = f.data_dir;
  if (env.data_dir.empty()) env.data_dir = app::default_data_dir();
  env.plan = std::move(loaded->plan);
  return env;
}

// The same number -> E.164 as callbridged's contact store and lookups (core::lookup_e164).
ports::ToE164 to_e164_of(std::shared_ptr<const core::DialingPlan> plan) {
  return [plan = std::move(plan)](std::string_view raw) { return core::lookup_e164(plan.get(), raw); };
}

// The store callbridged uses with the same configuration (app::open_contact_store: contacts.db in
// the data dir, or the PostgreSQL database of journal.backend = "postgres"); --postgres names one.
base::Result<std::unique_ptr<ports::ContactStore>> open_store(const Env& env, const ContactsFlags& f,
                                                               bool must_exist, std::string* location = nullptr) {
  auto t = to_e164_of(env.plan);
  auto tenant_fn = [t](const base::TenantId&, std::string_view raw) { return t(raw); };
  app::Config config = env.config;
  if (!f.postgres.empty()) {
    config.journal.backend = "postgres";
    config.journal.dsn = f.postgres;
  }
  auto s = app::open_contact_store(config, env.data_dir, tenant_fn, must_exist);
  if (!s) return base::fail(s.error());
  if (location) *location = s->location;
  return std::move(s->store);
}

// A one-line bar on stderr, redrawn when the percentage changes. Only used on a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)) {}
  void update(std::size_t done, std::size_t total) {
    int pct = total ? static_cast<int>(done * 100 / total) : 100;
    if (pct == last_) return;
    last_ = pct;
    constexpr int kWidth = 30;
    int fill = pct * kWidth / 100;
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), fill, "##############################",
                 kWidth - fill, "", pct);
    std::fflush(stderr);
  }
  void finish() {
    if (last_ >= 0) std::fprintf(stderr, "\r\033[K");
  }

 private:
  std::string label_;
  int last_ = -1;
};

int run_import(const ContactsFlags& f) {
  auto env = load_env(f);
  if (!env) return fail_usage(env.error().message());
  directory::ImportParseOptions po{.tenant = base::TenantId(f.tenant)};
  po.to_e164 = to_e164_of(env->plan);
  po.max_file_bytes = f.max_mb * 1024 * 1024;
  std::string base_name = f.file.substr(f.file.find_last_of('/') + 1);
  po.origin = "import:" + base_name;
  if (f.format == "csv") po.format = directory::ImportFormat::csv;
  else if (f.format == "vcard" || f.format == "vcf") po.format = directory::ImportFormat::vcard;
  else if (f.format != "auto") return fail_usage("--format: expected auto, csv or vcard");
  if (f.format == "auto" && (base_name.ends_with(".vcf") || base_name.ends_with(".VCF") || base_name.ends_with(".vcard")))
    po.format = directory::ImportFormat::vcard;
  auto enc = directory::parse_text_encoding(f.encoding);
  if (!enc) return fail_usage("--encoding: expected auto, utf-8, windows-1252, utf-16le or utf-16be");
  po.encoding = *enc;
  if (f.delimiter == "tab" || f.delimiter == "\\t") po.delimiter = '\t';
  else if (f.delimiter.size() == 1) po.delimiter = f.delimiter[0];
  else if (!f.delimiter.empty()) return fail_usage("--delimiter: one character or 'tab'");
  for (const auto& m : f.maps) {
    auto eq = m.rfind('=');
    if (eq == std::string::npos || eq == 0) return fail_usage("--map: expected 'Header=field', got '" + m + "'");
    po.column_map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  std::optional<ProgressBar> bar;
  if (isatty(STDERR_FILENO)) {
    bar.emplace("Reading " + base_name);
    po.progress = [&](std::size_t d, std::size_t t) { bar->update(d, t); };
  }

  auto bytes = directory::read_import_file(f.file, po.max_file_bytes);
  if (!bytes) return std::fprintf(stderr, "callbridge contacts import: %s\n", bytes.error().message().c_str()), 1;
  std::string where;
  auto store = open_store(*env, f, false, &where);
  if (!store) return std::fprintf(stderr, "callbridge contacts import: %s\n", store.error().message().c_str()), 1;
  // Same steps as directory::import_contacts, split so the user sees what happens when.
  auto parsed = directory::parse_contacts(*bytes, po);
  if (bar) bar->finish();
  if (!parsed) {
    std::fprintf(stderr, "callbridge contacts import: %s: %s\nNothing imported.\n", base_name.c_str(),
                 parsed.error().message().c_str());
    return 1;
  }
  const auto& p = *parsed;
  std::size_t shown = 0;
  for (const auto& i : p.issues) {
    if (shown++ == kMaxIssuesShown) {
      std::fprintf(stderr, "%s: ... and %zu more problems\n", base_name.c_str(), p.issues.size() - kMaxIssuesShown);
      break;
    }
    std::fprintf(stderr, "%s: %s%s\n", base_name.c_str(),
                 i.severity == directory::ImportIssue::Severity::error ? "error: " : "", i.message.c_str());
  }
  std::string how(directory::to_string(p.format));
  how += ", " + std::string(directory::to_string(p.encoding));
  if (p.format == directory::ImportFormat::csv)
    how += p.delimiter == '\t' ? ", tab-separated" : std::string(", delimiter '") + p.delimiter + "'";
  std::printf("Read %zu records from %s (%s): %zu ready, %zu with errors, %zu without a number.\n", p.records,
              base_name.c_str(), how.c_str(), p.contacts.size(), p.errors(), p.skipped());
  if (!p.columns_ignored.empty()) {
    std::string cols;
    for (const auto& c : p.columns_ignored) cols += (cols.empty() ? "" : ", ") + c;
    std::printf("Ignored columns: %s (map them with --map 'Header=field').\n", cols.c_str());
  }
  if (f.dry_run) {
    std::printf("Dry run: nothing written.\n");
    return p.errors() ? 1 : 0;
  }
  if (p.errors() > 0 && !f.skip_invalid) {
    std::printf("Nothing imported: fix the %zu error(s) above, or use --skip-invalid to import the %zu good records.\n",
                p.errors(), p.contacts.size());
    return 1;
  }
  if (bar) std::fprintf(stderr, "Writing %zu contacts in one transaction...", p.contacts.size());
  auto commit = (*store)->import_all(base::TenantId(f.tenant), p.contacts, ports::ImportOptions{f.replace});
  if (bar) std::fprintf(stderr, "\r\033[K");
  if (!commit) {
    std::fprintf(stderr, "callbridge contacts import: %s\nNothing imported (the transaction was rolled back).\n",
                 commit.error().message().c_str());
    return 1;
  }
  std::printf("Imported %zu contacts (%zu numbers) into tenant '%s' of %s", commit->contacts, commit->numbers,
              f.tenant.c_str(), where.c_str());
  if (f.replace) std::printf(", replacing %zu", commit->replaced);
  std::printf(".\n");
  if (p.errors() || p.skipped())
    std::printf("Skipped %zu records (listed above).\n", p.errors() + p.skipped());
  return 0;
}

int run_lookup(const ContactsFlags& f) {
  auto env = load_env(f);
  if (!env) return fail_usage(env.error().message());
  auto c = env->plan->canonicalize(f.number);
  using K = core::CanonicalNumber::Kind;
  if (c.e164.empty() || (c.kind != K::external && c.kind != K::internal)) {
    std::fprintf(stderr, "callbridge contacts lookup: '%s' is %s%s%s\n", f.number.c_str(),
                 std::string(core::to_string(c.kind)).c_str(), c.reason.empty() ? "" : ": ",
                 std::string(c.reason).c_str());
    return 1;
  }
  auto store = open_store(*env, f, true);
  if (!store) return std::fprintf(stderr, "callbridge contacts lookup: %s\n", store.error().message().c_str()), 1;
  std::shared_ptr<ports::ContactSource> src = std::move(*store);
  base::SystemClock clock;
  core::LookupService svc({{src, std::chrono::milliseconds(2000)}}, core::LookupOptions{.workers = 1}, clock);
  auto r = svc.lookup(base::TenantId(f.tenant), c.e164);
  std::printf("%s\n", c.e164.c_str());
  for (const auto& s : r.sources)
    if (s.state != core::SourceOutcome::State::ok)
      std::fprintf(stderr, "source %s: %s %s\n", s.source.c_str(), std::string(core::to_string(s.state)).c_str(),
                   s.message.c_str());
  if (r.matches.empty()) {
    std::printf("  no contact\n");
    return 3;
  }
  int n = 0;
  for (const auto& m : r.matches) {
    const auto& ct = m.contact;
    std::printf("  %d. %s%s%s  [%s #%s, %s%s%s, %s]\n", ++n, ct.display_name.c_str(),
                ct.company.empty() || ct.company == ct.display_name ? "" : " - ",
                ct.company == ct.display_name ? "" : ct.company.c_str(), ct.source.c_str(), ct.contact_id.c_str(),
                ct.label.c_str(), ct.label.empty() ? "" : " ", ct.matched_number.c_str(),
                m.kind == core::MatchKind::exact ? "exact" : "company switchboard/base");
  }
  return 0;
}

int run_list(const ContactsFlags& f) {
  auto env = load_env(f);
  if (!env) return fail_usage(env.error().message());
  auto store = open_store(*env, f, true);
  if (!store) return std::fprintf(stderr, "callbridge contacts list: %s\n", store.error().message().c_str()), 1;
  auto l = (*store)->list(base::TenantId(f.tenant), f.text, f.limit);
  if (!l) return std::fprintf(stderr, "callbridge contacts list: %s\n", l.error().message().c_str()), 1;
  for (const auto& c : *l) {
    std::printf("#%lld %s%s%s\n", static_cast<long long>(c.id), c.display_name.c_str(),
                c.company.empty() || c.company == c.display_name ? "" : " - ",
                c.company == c.display_name ? "" : c.company.c_str());
    for (const auto& n : c.numbers)
      std::printf("    %-7s %-16s %s\n", n.label.c_str(), n.e164.c_str(), n.raw == n.e164 ? "" : n.raw.c_str());
  }
  return 0;
}

}  // namespace

Command register_contacts(CLI::App& app) {
  auto f = std::make_shared<ContactsFlags>();
  auto* c = app.add_subcommand("contacts", "built-in contact directory: import files, look up numbers");
  c->require_subcommand(1);

  auto* imp = c->add_subcommand("import", "import contacts from a CSV or vCard (3.0/4.0) file, all or nothing");
  imp->add_option("FILE", f->file, "CSV (header row; , ; TAB | detected) or .vcf file")->required();
  add_common(imp, *f);
  imp->add_flag("--dry-run", f->dry_run, "check the file, write nothing");
  imp->add_flag("--skip-invalid", f->skip_invalid, "import the good records even if some have errors (listed)");
  imp->add_flag("--replace", f->replace, "replace all contacts of the tenant (in the same transaction)");
  imp->add_option("--format", f->format, "auto, csv or vcard")->capture_default_str();
  imp->add_option("--encoding", f->encoding, "auto, utf-8, windows-1252, utf-16le, utf-16be")->capture_default_str();
  imp->add_option("--delimiter", f->delimiter, "CSV delimiter (default: detected); 'tab' for TAB");
  imp->add_option("--map", f->maps,
                  "column mapping 'Header=field' (name, given_name, family_name, company, email, note, kind, "
                  "phone, phone:LABEL, ignore); repeatable");
  imp->add_option("--max-mb", f->max_mb, "refuse files larger than this")->capture_default_str();

  auto* look = c->add_subcommand("lookup", "who is this number? (exact, else the company's switchboard/base)");
  look->add_option("NUMBER", f->number, "number in any format the dialing plan understands")->required();
  add_common(look, *f);

  auto* list = c->add_subcommand("list", "list contacts whose name, company or number contains TEXT");
  list->add_option("TEXT", f->text, "search text (all when omitted)");
  add_common(list, *f);
  list->add_option("--limit", f->limit, "at most this many")->capture_default_str();

  return Command{c, [f, imp, look, list]() -> int {
                   if (imp->parsed()) return run_import(*f);
                   if (look->parsed()) return run_lookup(*f);
                   if (list->parsed()) return run_list(*f);
                   return 2;
                 }};
}

}  // namespace callbridge::cli
