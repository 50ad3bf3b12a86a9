// bench/number_lookup: "who is calling?" end to end on 1M contacts and 1M caller ids as PBXs report
// them. Three cases on the SAME inputs in the SAME run, one core each:
//   (a) callbridge: DialingPlan::canonicalize (fast path) + NumberIndex lookup (exact, else company
//       longest-prefix fallback) on the index IndexedContactStore loaded from the SQLite store;
//   (b) libphonenumber C++ alone: Parse + IsPossibleNumberWithReason + Format(E164) + the same index;
//   (c) libphonenumber-js (bench/peers/number_lookup_peer.js, node): parse + isPossible + Map lookup
//       with the same fallback.
// E.164 agreement is checked input by input: (a) vs (b) must agree on every input and every contact
// (exit 1 otherwise); (a) vs (c) is reported. Also: index load time from the store and its memory.
// The 1M-contact store is built once and cached (--cache-dir); contacts and inputs are generated
// in memory from a seed.
#include <CLI/CLI.hpp>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/dialing_plan.hpp"
#include "core/lookup_service.hpp"
#include "directory/index/indexed_contact_store.hpp"
#include "directory/store/sqlite_contact_store.hpp"

namespace callbridge::bench {
namespace {

namespace fs = std::filesystem;
namespace pn = i18n::phonenumbers;
using directory::NumberIndex;

constexpr int kGeneratorVersion = 1;  // bump when the generator changes: invalidates cached stores

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}
std::string rate(double r) {
  char buf[32];
  if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  return buf;
}

// ---- data -------------------------------------------------------------------------------------

struct GenContact {
  bool company = false;
  std::string raw;  // as stored: "+49 (0)211 33990312", "0211/339903-12", "00492113399030", ...
};
// One caller id; `pbx` 0 = a PBX reporting numbers as received, 1 = one that puts the outside-line
// code "0" in front of external caller ids.
struct GenInput {
  std::uint8_t pbx = 0;
  std::string text;
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  // National significant numbers of one country; `cc` "49", "43", "41", "1", "44".
  struct Number {
    std::string cc, area, sub;
    std::string nsn() const { return area + sub; }
  };

  Number number() {
    int k = pick(100);
    if (k < 60) return de();
    if (k < 70) return at();
    if (k < 80) return ch();
    if (k < 90) return us();
    return uk();
  }
  Number company_base() {  // a DE company's DID block: area + 4..6 digits; switchboard = base + "0"
    static const char* kAreas[] = {"30", "40", "89", "211", "221", "69", "711", "511", "351", "421"};
    return {"49", kAreas[pick(10)], digits(static_cast<int>(4 + pick(3)))};
  }

  // The way people and CRMs store a number.
  std::string stored(const Number& n) {
    const std::string& a = n.area;
    const std::string& s = n.sub;
    if (n.cc == "49") {
      switch (pick(6)) {
        case 0: return "+49 (0)" + a + " " + s;
        case 1: return "0" + a + "/" + s.substr(0, s.size() - 2) + "-" + s.substr(s.size() - 2);
        case 2: return "0049" + a + s;
        case 3: return "+49 " + a + " " + s;
        case 4: return "(0" + a + ") " + s;
        default: return "0" + a + " " + s;
      }
    }
    if (n.cc == "1") {
      switch (pick(3)) {
        case 0: return "+1 (" + a + ") " + s.substr(0, 3) + "-" + s.substr(3);
        case 1: return "+1-" + a + "-" + s.substr(0, 3) + "-" + s.substr(3);
        default: return "001 " + a + " " + s;
      }
    }
    switch (pick(3)) {
      case 0: return "+" + n.cc + " " + a + " " + s;
      case 1: return "00" + n.cc + " " + a + s;
      default: return "+" + n.cc + " (0)" + a + " " + s;
    }
  }

  // A caller id as a PBX reports it. pbx 1 adds the outside-line code and never reports '+'.
  std::string reported(const Number& n, int pbx) {
    std::string s;
    if (n.cc == "49") {
      int k = pick(100);
      s = k < 70 ? "0" + n.nsn() : k < 85 && pbx == 0 ? "+49" + n.nsn() : "0049" + n.nsn();
    } else {
      s = pick(100) < 60 || pbx == 1 ? "00" + n.cc + n.nsn() : "+" + n.cc + n.nsn();
    }
    return pbx == 1 ? "0" + s : s;
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string digits(int n, bool nonzero_first = true) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      int lo = (i == 0 && nonzero_first) ? 1 : 0;
      s.push_back(static_cast<char>('0' + lo + pick(10 - lo)));
    }
    return s;
  }

 private:
  Number de() {
    static const char* kAreas[] = {"30", "40", "89", "211", "221", "69", "711", "6221", "4131", "511",
                                   "351", "341", "421", "231", "201", "151", "160", "170", "176"};
    std::string area = kAreas[pick(19)];
    bool mobile = area[0] == '1';
    int sub = mobile ? 8 : 11 - static_cast<int>(area.size()) - pick(2);
    return {"49", area, digits(sub)};
  }
  Number at() {
    static const char* kAreas[] = {"1", "662", "316", "512", "732"};
    std::string area = kAreas[pick(5)];
    return {"43", area, digits(area.size() == 1 ? 7 : 6)};
  }
  Number ch() {
    static const char* kAreas[] = {"44", "31", "61", "21", "79"};
    return {"41", kAreas[pick(5)], digits(7)};
  }
  Number us() {
    static const char* kAreas[] = {"212", "415", "617", "312", "202", "646", "303", "512"};
    return {"1", kAreas[pick(8)], std::to_string(2 + pick(8)) + digits(6, false)};
  }
  Number uk() {
    switch (pick(3)) {
      case 0: return {"44", "20", std::to_string(3 + pick(5)) + digits(7, false)};
      case 1: return {"44", "161", digits(7)};
      default: return {"44", "7700", "9" + digits(5, false)};
    }
  }
  std::mt19937 rng_;
};

struct Data {
  std::vector<GenContact> contacts;
  std::vector<GenInput> inputs;
};

Data generate(std::size_t n_contacts, std::size_t n_inputs, std::uint32_t seed) {
  Generator g(seed);
  Data d;
  d.contacts.reserve(n_contacts);
  std::vector<Generator::Number> people, companies;
  people.reserve(n_contacts);
  for (std::size_t i = 0; i < n_contacts; ++i) {
    bool company = g.pick(100) < 5;
    Generator::Number n;
    if (company) {
      n = g.company_base();
      companies.push_back(n);
      if (g.pick(2)) n.sub += "0";  // the switchboard, base + "0"
    } else {
      n = g.number();
      people.push_back(n);
    }
    d.contacts.push_back({company, g.stored(n)});
  }
  d.inputs.reserve(n_inputs);
  static const char* kWithheld[] = {"anonymous", "", "Restricted", "<unknown>", "Anonymous"};
  static const char* kGarbage[] = {"abc", "Max Mustermann", "n/a", "+", "--", "unknown caller"};
  for (std::size_t i = 0; i < n_inputs; ++i) {
    int pbx = g.pick(2);
    int k = g.pick(100);
    std::string text;
    if (k < 55 && !people.empty()) {
      text = g.reported(people[static_cast<std::size_t>(g.pick(static_cast<int>(people.size())))], pbx);
    } else if (k < 65 && !companies.empty()) {  // a colleague's direct dial at a known company
      auto c = companies[static_cast<std::size_t>(g.pick(static_cast<int>(companies.size())))];
      c.sub += g.digits(1 + g.pick(3), false);
      text = g.reported(c, pbx);
    } else if (k < 83) {  // mostly unknown callers
      text = g.reported(g.number(), pbx);
    } else if (k < 90) {
      text = g.digits(2);  // an internal extension
    } else if (k < 96) {
      text = kWithheld[g.pick(5)];
    } else {
      text = kGarbage[g.pick(6)];
    }
    d.inputs.push_back({static_cast<std::uint8_t>(pbx), std::move(text)});
  }
  return d;
}

// ---- the three normalizers --------------------------------------------------------------------

core::DialingPlanOptions plan_options(bool outside) {
  core::DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "211";
  o.base_number = "339903";
  o.extension_lengths = {2};
  if (outside) {
    o.outside_prefix = "0";
    o.pbx_reports_outside_prefix = true;
  }
  return o;
}

// libphonenumber alone, with the two things a PBX integration must do anyway and which need no
// number knowledge: drop the outside-line code this PBX puts in front, and append a bare
// extension to the company's number. Everything else is libphonenumber's Parse(text, "DE").
std::string lib_e164(std::string_view text, int pbx, bool apply_pbx_rules = true) {
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  std::string s(text);
  if (apply_pbx_rules) {
    if (s.size() == 2 && std::isdigit(static_cast<unsigned char>(s[0])) && std::isdigit(static_cast<unsigned char>(s[1]))) {
      s = "0211339903" + s;
    } else if (pbx == 1 && !s.empty() && s[0] == '0') {
      s.erase(0, 1);
    }
  }
  pn::PhoneNumber n;
  if (util->Parse(s, "DE", &n) != pn::PhoneNumberUtil::NO_PARSING_ERROR ||
      util->IsPossibleNumberWithReason(n) != pn::PhoneNumberUtil::IS_POSSIBLE) {
    return {};
  }
  std::string out;
  util->Format(n, pn::PhoneNumberUtil::E164, &out);
  return out;
}

std::string cb_e164(const core::DialingPlan& plan, std::string_view text, core::NumberSource src) {
  auto c = plan.canonicalize(text, src);
  using K = core::CanonicalNumber::Kind;
  return (c.kind == K::external || c.kind == K::internal) ? c.e164 : std::string();
}

// Lookup result digest: matches and a sum over the matched contact ids, equal across cases.
struct Digest {
  std::uint64_t resolved = 0, exact = 0, company = 0, none = 0, matches = 0, id_sum = 0;
  bool operator==(const Digest&) const = default;
};

inline void lookup_into(const NumberIndex& ix, std::string_view e164, Digest& d) {
  auto key = directory::e164_key(e164);
  if (!key) {
    ++d.none;
    return;
  }
  ++d.resolved;
  std::uint32_t dist = 0;
  std::size_t n = ix.for_each_best(*key, directory::FallbackOptions{}, [&](const NumberIndex::Hit& h) {
    d.id_sum += static_cast<std::uint64_t>(h.contact.id);
    dist = h.distance;
  });
  d.matches += n;
  if (n == 0) ++d.none;
  else if (dist == 0) ++d.exact;
  else ++d.company;
}

struct Case {
  std::string name;
  double cpu = 0, wall = 0;
  std::size_t n = 0;
  Digest digest;
  bool ran = false;
  double rate() const { return static_cast<double>(n) / cpu; }
};

// ---- node peer --------------------------------------------------------------------------------

struct JsResult {
  bool ran = false;
  std::string note;
  std::string version;
  double cpu = 0, wall = 0, contacts_cpu = 0;
  Digest digest;
  std::vector<std::string> inputs_e164, contacts_e164;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line)) out.push_back(line);
  return out;
}

JsResult run_js(const fs::path& work, const Data& d) {
  JsResult r;
  fs::path peer = fs::path(CALLBRIDGE_BENCH_DIR) / "peers" / "number_lookup_peer.js";
  if (!fs::exists(fs::path(CALLBRIDGE_BENCH_DIR) / "peers/node_modules/libphonenumber-js")) {
    r.note = "skipped: bench/peers/node_modules/libphonenumber-js missing (npm ci in bench/peers)";
    return r;
  }
  if (std::system("node --version >/dev/null 2>&1") != 0) {
    r.note = "skipped: node not found";
    return r;
  }
  {
    std::ofstream c(work / "contacts.tsv");
    for (std::size_t i = 0; i < d.contacts.size(); ++i) c << (i + 1) << '\t' << d.contacts[i].raw << '\n';
    std::ofstream in(work / "inputs.tsv");
    for (const auto& x : d.inputs) in << int(x.pbx) << '\t' << x.text << '\n';
    if (!c || !in) {
      r.note = "cannot write inputs for node";
      return r;
    }
  }
  std::string cmd = "node --max-old-space-size=4096 " + shell_quote(peer.string()) + " " +
                    shell_quote((work / "contacts.tsv").string()) + " " + shell_quote((work / "inputs.tsv").string()) +
                    " " + shell_quote((work / "js-contacts.out").string()) + " " +
                    shell_quote((work / "js-inputs.out").string());
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    r.note = "cannot start node";
    return r;
  }
  std::string text;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  int status = ::pclose(p);
  unsigned long long resolved = 0, exact = 0, company = 0, none = 0, matches = 0, id_sum = 0;
  char version[64] = {0};
  if (status != 0 || std::sscanf(text.c_str(),
                                 "version %63s contacts_cpu %lf cpu %lf wall %lf resolved %llu exact %llu company "
                                 "%llu none %llu matches %llu id_sum %llu",
                                 version, &r.contacts_cpu, &r.cpu, &r.wall, &resolved, &exact, &company, &none,
                                 &matches, &id_sum) != 10) {
    r.note = "node peer failed: " + text.substr(0, 300);
    return r;
  }
  r.version = version;
  r.digest = {resolved, exact, company, none, matches, id_sum};
  r.contacts_e164 = read_lines(work / "js-contacts.out");
  r.inputs_e164 = read_lines(work / "js-inputs.out");
  r.ran = r.contacts_e164.size() == d.contacts.size() && r.inputs_e164.size() == d.inputs.size();
  if (!r.ran) r.note = "node peer wrote incomplete output";
  return r;
}

// ---- the store ---------------------------------------------------------------------------------

// Builds (once) or reuses the SQLite store with these contacts; returns its path.
base::Result<std::string> cached_store(const fs::path& dir, std::size_t n, std::uint32_t seed, const Data& d,
                                       const std::vector<std::string>& e164, double* import_s) {
  fs::create_directories(dir);
  fs::path file = dir / ("contacts-" + std::to_string(n) + "-" + std::to_string(seed) + "-v" +
                         std::to_string(kGeneratorVersion) + ".db");
  *import_s = -1;
  if (fs::exists(file)) return file.string();
  fs::path tmp = file;
  tmp += ".tmp" + std::to_string(::getpid());  // two runs at once (ctest -j) build their own
  fs::remove(tmp);
  {
    auto store = directory::SqliteContactStore::open({.path = tmp.string(), .to_e164 = {}});
    if (!store) return base::fail(store.error());
    std::vector<ports::Contact> cs;
    cs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      ports::Contact c{.tenant = base::TenantId("default")};
      c.kind = d.contacts[i].company ? ports::ContactKind::company : ports::ContactKind::person;
      c.display_name = (d.contacts[i].company ? "Company " : "Contact ") + std::to_string(i + 1);
      c.company = d.contacts[i].company ? c.display_name : "Firma " + std::to_string(i % 20000);
      c.origin = "bench";
      if (!e164[i].empty()) c.numbers = {{"work", d.contacts[i].raw, e164[i]}};
      cs.push_back(std::move(c));
    }
    double t0 = wall_s();
    auto r = (*store)->import_all("default", cs, {});
    if (!r) return base::fail(r.error());
    *import_s = wall_s() - t0;
  }
  fs::rename(tmp, file);
  return file.string();
}

// ---- run --------------------------------------------------------------------------------------

int run(std::size_t n_contacts, std::size_t n_inputs, std::uint32_t seed, bool smoke, bool skip_js,
        const fs::path& cache_dir, std::size_t store_lookups) {
  auto p0 = core::DialingPlan::create(plan_options(false));
  auto p1 = core::DialingPlan::create(plan_options(true));
  if (!p0 || !p1) {
    std::fprintf(stderr, "number_lookup: bad plan\n");
    return 2;
  }
  const core::DialingPlan* plan[2] = {&*p0, &*p1};
  std::fprintf(stderr, "number_lookup: generating %zu contacts, %zu inputs ...\n", n_contacts, n_inputs);
  double g0 = wall_s();
  Data d = generate(n_contacts, n_inputs, seed);
  double gen_s = wall_s() - g0;

  // Contacts' E.164 as the import computes them (the tenant plan, NumberSource::user).
  std::vector<std::string> contact_e164(d.contacts.size());
  double n0 = thread_cpu_s();
  for (std::size_t i = 0; i < d.contacts.size(); ++i)
    contact_e164[i] = cb_e164(*plan[0], d.contacts[i].raw, core::NumberSource::user);
  double contacts_cb_cpu = thread_cpu_s() - n0;

  // The store (cached) and the product index loaded from it.
  double import_s = -1;
  auto path = cached_store(cache_dir, n_contacts, seed, d, contact_e164, &import_s);
  if (!path) {
    std::fprintf(stderr, "number_lookup: store: %s\n", path.error().to_string().c_str());
    return 2;
  }
  auto store = directory::SqliteContactStore::open({.path = *path, .to_e164 = {}});
  if (!store) {
    std::fprintf(stderr, "number_lookup: %s\n", store.error().to_string().c_str());
    return 2;
  }
  directory::IndexedContactStoreOptions io;
  io.background = false;
  std::size_t rss0 = rss_bytes();
  directory::IndexedContactStore indexed(**store, directory::store_index_loader(**store), io);
  double l0 = wall_s(), lc0 = thread_cpu_s();
  auto snap = indexed.current("default");
  double load_wall = wall_s() - l0, load_cpu = thread_cpu_s() - lc0;
  std::size_t rss1 = rss_bytes();
  if (!snap) {
    std::fprintf(stderr, "number_lookup: index did not load\n");
    return 2;
  }
  const NumberIndex& ix = snap->index;

  // Warm-up of both libraries (metadata, regex caches).
  (void)cb_e164(*plan[0], "+4989123456", core::NumberSource::pbx);
  (void)lib_e164("+4989123456", 0);

  // (a) split: normalization alone on the same inputs (not a case of its own; shows the lookup share).
  double norm_cpu = 0;
  {
    std::size_t sink = 0;
    double c0 = thread_cpu_s();
    for (const auto& in : d.inputs) sink += plan[in.pbx]->canonicalize(in.text, core::NumberSource::pbx).e164.size();
    norm_cpu = thread_cpu_s() - c0;
    if (sink == 0) std::fprintf(stderr, "number_lookup: nothing normalized\n");
  }
  // (a) callbridge
  Case a;
  a.name = "callbridge: DialingPlan::canonicalize + NumberIndex";
  std::vector<std::string> a_e164(d.inputs.size());
  {
    double c0 = thread_cpu_s(), w0 = wall_s();
    for (std::size_t i = 0; i < d.inputs.size(); ++i) {
      const auto& in = d.inputs[i];
      auto c = plan[in.pbx]->canonicalize(in.text, core::NumberSource::pbx);
      using K = core::CanonicalNumber::Kind;
      if (c.kind == K::external || c.kind == K::internal) {
        lookup_into(ix, c.e164, a.digest);
        a_e164[i] = std::move(c.e164);
      } else {
        ++a.digest.none;
      }
    }
    a.cpu = thread_cpu_s() - c0;
    a.wall = wall_s() - w0;
    a.n = d.inputs.size();
    a.ran = true;
  }
  // (b) libphonenumber C++
  Case b;
  b.name = "libphonenumber C++: Parse + IsPossible + Format(E164) + NumberIndex";
  std::vector<std::string> b_e164(d.inputs.size());
  {
    double c0 = thread_cpu_s(), w0 = wall_s();
    for (std::size_t i = 0; i < d.inputs.size(); ++i) {
      b_e164[i] = lib_e164(d.inputs[i].text, d.inputs[i].pbx);
      if (b_e164[i].empty()) ++b.digest.none;
      else lookup_into(ix, b_e164[i], b.digest);
    }
    b.cpu = thread_cpu_s() - c0;
    b.wall = wall_s() - w0;
    b.n = d.inputs.size();
    b.ran = true;
  }
  // Contacts through libphonenumber (agreement of the stored side).
  std::size_t contact_disagree = 0;
  double cl0 = thread_cpu_s();
  for (std::size_t i = 0; i < d.contacts.size(); ++i) {
    std::string lib = lib_e164(d.contacts[i].raw, 0, false);
    if (lib != contact_e164[i] && contact_disagree++ < 5)
      std::fprintf(stderr, "contact disagrees: '%s' callbridge=%s libphonenumber=%s\n", d.contacts[i].raw.c_str(),
                   contact_e164[i].c_str(), lib.c_str());
  }
  double contacts_lib_cpu = thread_cpu_s() - cl0;
  std::size_t input_disagree = 0;
  for (std::size_t i = 0; i < d.inputs.size(); ++i) {
    if (a_e164[i] != b_e164[i] && input_disagree++ < 5)
      std::fprintf(stderr, "input disagrees: pbx %d '%s' callbridge=%s libphonenumber=%s\n", d.inputs[i].pbx,
                   d.inputs[i].text.c_str(), a_e164[i].c_str(), b_e164[i].c_str());
  }

  // (c) libphonenumber-js
  JsResult js;
  fs::path work = fs::temp_directory_path() / ("cb-number-lookup-" + std::to_string(::getpid()));
  if (skip_js) {
    js.note = "skipped (--no-js)";
  } else {
    fs::create_directories(work);
    std::fprintf(stderr, "number_lookup: running the node peer ...\n");
    js = run_js(work, d);
    std::error_code ec;
    fs::remove_all(work, ec);
  }
  std::size_t js_in_dis = 0, js_ct_dis = 0;
  if (js.ran) {
    for (std::size_t i = 0; i < d.inputs.size(); ++i) {
      if (js.inputs_e164[i] != a_e164[i] && js_in_dis++ < 5)
        std::fprintf(stderr, "js disagrees: pbx %d '%s' callbridge=%s js=%s\n", d.inputs[i].pbx, d.inputs[i].text.c_str(),
                     a_e164[i].c_str(), js.inputs_e164[i].c_str());
    }
    for (std::size_t i = 0; i < d.contacts.size(); ++i) {
      if (js.contacts_e164[i] != contact_e164[i] && js_ct_dis++ < 5)
        std::fprintf(stderr, "js contact disagrees: '%s' callbridge=%s js=%s\n", d.contacts[i].raw.c_str(),
                     contact_e164[i].c_str(), js.contacts_e164[i].c_str());
    }
  }

  // The product API on top: IndexedContactStore::lookup with LookupService's candidates (strings,
  // ContactMatch objects), and the SQLite store itself for comparison, on a prefix of (a)'s numbers.
  std::size_t api_n = 0, api_matches = 0, sql_n = 0, sql_matches = 0, api_mismatch = 0;
  double api_cpu = 0, sql_wall = 0;
  {
    std::vector<ports::LookupQuery> qs;
    for (std::size_t i = 0; i < a_e164.size() && qs.size() < store_lookups; ++i) {
      if (a_e164[i].empty()) continue;
      ports::LookupQuery q{.tenant = base::TenantId("default")};
      q.e164 = a_e164[i];
      q.candidates = core::LookupService::candidates(q.e164, 5, 7);
      q.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
      qs.push_back(std::move(q));
    }
    double c0 = thread_cpu_s();
    std::vector<std::size_t> counts;
    counts.reserve(qs.size());
    for (const auto& q : qs) {
      auto r = indexed.lookup(q);
      counts.push_back(r ? r->size() : 0);
      api_matches += counts.back();
    }
    api_cpu = thread_cpu_s() - c0;
    api_n = qs.size();
    double w0 = wall_s();
    for (std::size_t k = 0; k < qs.size(); ++k) {
      auto r = (*store)->lookup(qs[k]);
      std::size_t got = r ? r->size() : 0;
      sql_matches += got;
      api_mismatch += got != counts[k];
    }
    sql_wall = wall_s() - w0;
    sql_n = qs.size();
  }

  // ---- report ----
  std::printf("number_lookup: %zu contacts (DE 57%%, AT/CH/US/UK 38%%, DE companies 5%%; 11 notations), %zu caller "
              "ids from two PBXs (with/without outside-line code 0), seed %u; plan +49 211 339903-xx; generated in "
              "%.1f s\n\n",
              d.contacts.size(), d.inputs.size(), seed, gen_s);
  std::printf("| case (same inputs, one core) | inputs/s (CPU) | ns/input | vs libphonenumber-js | vs libphonenumber C++ | "
              "wall s |\n|---|---:|---:|---:|---:|---:|\n");
  double js_rate = js.ran ? static_cast<double>(d.inputs.size()) / js.cpu : 0;
  auto row = [&](const std::string& name, double r, double wall) {
    char vjs[32] = "-";
    if (js_rate > 0) std::snprintf(vjs, sizeof vjs, "%.1fx", r / js_rate);
    std::printf("| %s | %s | %.0f | %s | %.1fx | %.2f |\n", name.c_str(), rate(r).c_str(), 1e9 / r, vjs, r / b.rate(),
                wall);
  };
  row("(a) " + a.name, a.rate(), a.wall);
  std::printf("| (a) without the lookup: DialingPlan::canonicalize alone | %s | %.0f | | | |\n",
              rate(d.inputs.size() / norm_cpu).c_str(), norm_cpu * 1e9 / static_cast<double>(d.inputs.size()));
  row("(b) " + b.name, b.rate(), b.wall);
  if (js.ran) row("(c) libphonenumber-js " + js.version + ": parsePhoneNumberFromString + isPossible + Map", js_rate, js.wall);
  else std::printf("| (c) libphonenumber-js | %s | | | | |\n", js.note.c_str());
  std::printf("\n| lookup outcome (all inputs) | (a) callbridge | (b) libphonenumber C++ | (c) js |\n|---|---:|---:|---:|\n");
  auto drow = [&](const char* what, std::uint64_t Digest::*f) {
    std::printf("| %s | %llu | %llu | %s |\n", what, static_cast<unsigned long long>(a.digest.*f),
                static_cast<unsigned long long>(b.digest.*f),
                js.ran ? std::to_string(js.digest.*f).c_str() : "-");
  };
  drow("resolved to E.164", &Digest::resolved);
  drow("exact match", &Digest::exact);
  drow("company fallback (longest prefix)", &Digest::company);
  drow("no E.164 or nobody", &Digest::none);
  drow("matched contacts", &Digest::matches);
  drow("sum of matched contact ids", &Digest::id_sum);
  std::printf("\nE.164 agreement, callbridge vs libphonenumber C++: inputs %zu/%zu disagree, contacts %zu/%zu disagree\n",
              input_disagree, d.inputs.size(), contact_disagree, d.contacts.size());
  if (js.ran)
    std::printf("E.164 agreement, callbridge vs libphonenumber-js: inputs %zu/%zu disagree, contacts %zu/%zu disagree\n",
                js_in_dis, d.inputs.size(), js_ct_dis, d.contacts.size());
  std::printf("contacts normalized (CPU): callbridge %.2f s (%s/s), libphonenumber C++ %.2f s (%s/s)%s\n",
              contacts_cb_cpu, rate(d.contacts.size() / contacts_cb_cpu).c_str(), contacts_lib_cpu,
              rate(d.contacts.size() / contacts_lib_cpu).c_str(),
              js.ran ? (", libphonenumber-js " + std::to_string(js.contacts_cpu).substr(0, 5) + " s (" +
                        rate(d.contacts.size() / js.contacts_cpu) + "/s)")
                           .c_str()
                     : "");
  std::printf("\n| contact index (IndexedContactStore, SQLite store) | value |\n|---|---:|\n");
  if (import_s >= 0) std::printf("| store built for this run (import_all, one transaction) | %.1f s |\n", import_s);
  else std::printf("| store | cached file reused |\n");
  std::printf("| load from the store: %zu numbers of %zu contacts | %.2f s wall, %.2f s CPU |\n", ix.numbers(),
              ix.contacts(), load_wall, load_cpu);
  std::printf("| index memory (heap of the snapshot) | %.1f MiB, %.1f bytes/number |\n",
              static_cast<double>(ix.memory_bytes()) / (1 << 20),
              static_cast<double>(ix.memory_bytes()) / static_cast<double>(std::max<std::size_t>(1, ix.numbers())));
  std::printf("| process RSS growth during the load | %.1f MiB |\n",
              static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0) / (1 << 20));
  std::printf("| IndexedContactStore::lookup (ContactSource API, %zu candidates lists) | %s/s CPU |\n", api_n,
              rate(api_n / std::max(api_cpu, 1e-9)).c_str());
  std::printf("| SqliteContactStore::lookup, same queries | %s/s wall |\n", rate(sql_n / std::max(sql_wall, 1e-9)).c_str());
  std::printf("\nContactSource results: index and SQLite store differ in match count on %zu of %zu queries (%zu vs %zu "
              "matches)\n\n",
              api_mismatch, api_n, api_matches, sql_matches);
  std::fflush(stdout);

  int status = 0;
  if (input_disagree || contact_disagree) {
    std::fprintf(stderr, "number_lookup: callbridge and libphonenumber C++ disagree\n");
    status = 1;
  }
  if (!(a.digest == b.digest)) {
    std::fprintf(stderr, "number_lookup: lookup digests of (a) and (b) differ\n");
    status = 1;
  }
  if (api_mismatch) {
    std::fprintf(stderr, "number_lookup: the index and the SQLite store answer differently\n");
    status = 1;
  }
  if (a.digest.exact == 0 || a.digest.company == 0) {
    std::fprintf(stderr, "number_lookup: no exact or no company matches: generator broken\n");
    status = 1;
  }
  if (smoke && a.rate() <= b.rate()) {
    std::fprintf(stderr, "number_lookup: callbridge is not faster than libphonenumber\n");
    status = 1;
  }
  return status;
}

}  // namespace
}  // namespace callbridge::bench

int main(int argc, char** argv) {
  CLI::App app{"number_lookup - normalization + contact lookup: callbridge vs libphonenumber C++ vs libphonenumber-js"};
  std::size_t contacts = 1'000'000, inputs = 1'000'000, store_lookups = 100'000;
  std::uint32_t seed = 7;
  bool smoke = false, no_js = false;
  std::string cache_dir = CALLBRIDGE_BENCH_CACHE_DIR;
  app.add_option("--contacts", contacts, "contacts in the store")->capture_default_str()->check(CLI::Range(1, 20'000'000));
  app.add_option("--inputs", inputs, "caller ids")->capture_default_str()->check(CLI::Range(1, 20'000'000));
  app.add_option("--store-lookups", store_lookups, "queries compared between the index and the SQLite store")
      ->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--cache-dir", cache_dir, "where the generated SQLite store is kept between runs")->capture_default_str();
  app.add_flag("--no-js", no_js, "skip the libphonenumber-js peer");
  app.add_flag("--smoke", smoke, "5,000 contacts and inputs; all checks, figures meaningless");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (smoke) contacts = inputs = store_lookups = 5000;
  return callbridge::bench::run(contacts, inputs, seed, smoke, no_js, cache_dir, store_lookups);
}
