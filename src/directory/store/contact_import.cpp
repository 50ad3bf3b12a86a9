#include "directory/store/contact_import.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>

#include "directory/store/csv_reader.hpp"
#include "directory/store/vcard_reader.hpp"

namespace callbridge::directory {
namespace {

using base::Error;
using base::fail;
using ports::Contact;
using Severity = ImportIssue::Severity;

enum class Field { ignore, name, given_name, family_name, company, email, note, kind, phone };

struct ColumnRole {
  Field field = Field::ignore;
  std::string label;  // phone label
};

// Lower-case ASCII letters and digits, UTF-8 bytes kept, everything else dropped:
// "Business Phone 2" -> "businessphone2", "Telefon (geschäftlich)" -> "telefongeschäftlich".
std::string header_key(std::string_view h) {
  std::string o;
  for (char c : h) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) o.push_back(static_cast<char>(std::tolower(u)));
    else if (u >= 0x80) o.push_back(c);
  }
  return o;
}

const std::map<std::string, ColumnRole>& aliases() {
  static const std::map<std::string, ColumnRole> m = [] {
    std::map<std::string, ColumnRole> a;
    auto add = [&](std::initializer_list<const char*> keys, Field f, const char* label = "") {
      for (auto* k : keys) a[k] = ColumnRole{f, label};
    };
    add({"name", "displayname", "fullname", "contact", "contactname", "kontakt", "anzeigename"}, Field::name);
    add({"firstname", "givenname", "vorname", "first"}, Field::given_name);
    add({"lastname", "surname", "familyname", "nachname", "last"}, Field::family_name);
    add({"company", "companyname", "organization", "organisation", "org", "firma", "unternehmen",
         "account", "accountname"}, Field::company);
    add({"email", "emailaddress", "mail"}, Field::email);
    add({"note", "notes", "notiz", "notizen", "bemerkung", "comment", "comments"}, Field::note);
    add({"kind", "contacttype", "art"}, Field::kind);
    add({"businessphone", "workphone", "business", "work", "officephone", "direct", "directdial",
         "durchwahl", "telefongeschäftlich", "geschäftlich"}, Field::phone, "work");
    add({"mobile", "mobilephone", "cell", "cellphone", "cellular", "handy", "mobil", "mobiltelefon"},
        Field::phone, "mobile");
    add({"home", "homephone", "private", "privat", "telefonprivat", "privatephone"}, Field::phone, "home");
    add({"fax", "businessfax", "homefax", "telefax", "faxnumber"}, Field::phone, "fax");
    add({"companymainphone", "mainphone", "main", "switchboard", "zentrale", "hauptnummer"},
        Field::phone, "main");
    add({"phone", "telephone", "tel", "telefon", "phonenumber", "number", "nummer", "rufnummer",
         "primaryphone", "otherphone", "other", "telephonenumber"}, Field::phone, "");
    return a;
  }();
  return m;
}

base::Result<ColumnRole> parse_field_spec(std::string_view spec) {
  std::string s(spec);
  if (s.rfind("phone:", 0) == 0) return ColumnRole{Field::phone, s.substr(6)};
  static const std::map<std::string, Field> names = {
      {"ignore", Field::ignore}, {"name", Field::name}, {"given_name", Field::given_name},
      {"family_name", Field::family_name}, {"company", Field::company}, {"email", Field::email},
      {"note", Field::note}, {"kind", Field::kind}, {"phone", Field::phone}};
  auto it = names.find(s);
  if (it == names.end())
    return fail(Error::invalid_argument("unknown field '" + s + "' in column mapping (name, given_name, "
                                        "family_name, company, email, note, kind, phone[:label], ignore)"));
  return ColumnRole{it->second, ""};
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string at_line(std::size_t line) { return "line " + std::to_string(line) + ": "; }

void finish_name(Contact& c) {
  if (c.display_name.empty()) {
    std::string n = c.given_name;
    if (!c.family_name.empty()) n += (n.empty() ? "" : " ") + c.family_name;
    c.display_name = n.empty() ? c.company : n;
  }
}

// Adds a normalized number unless the contact has it already; false when it is not a number.
bool add_number(Contact& c, const ports::ToE164& to_e164, const std::string& label, const std::string& raw) {
  auto e = to_e164(raw);
  if (!e) return false;
  for (const auto& n : c.numbers)
    if (n.e164 == *e) return true;
  c.numbers.push_back({label, raw, *e});
  return true;
}

base::Status parse_csv(const std::string& text, const ImportParseOptions& opts, ParsedImport& out) {
  out.delimiter = opts.delimiter ? opts.delimiter : detect_csv_delimiter(text);
  CsvReader reader(text, out.delimiter, CsvLimits{opts.max_record_bytes, 256});
  CsvRecord header;
  if (!reader.next(header)) {
    if (!reader.problems().empty())
      return fail(Error::invalid_argument(at_line(reader.problems()[0].line) + reader.problems()[0].message));
    return fail(Error::invalid_argument("the file is empty"));
  }
  if (!reader.problems().empty())
    return fail(Error::invalid_argument(at_line(reader.problems()[0].line) + reader.problems()[0].message +
                                        " (in the header row)"));
  std::map<std::string, ColumnRole> overrides;
  for (const auto& [col, spec] : opts.column_map) {
    auto role = parse_field_spec(spec);
    if (!role) return fail(role.error());
    overrides[header_key(col)] = *role;
  }
  std::vector<ColumnRole> roles;
  bool has_name = false, has_phone = false, looks_like_data = false;
  for (const auto& h : header.fields) {
    std::string key = header_key(h);
    ColumnRole role;
    if (auto o = overrides.find(key); o != overrides.end()) {
      role = o->second;
    } else if (auto a = aliases().find(key); a != aliases().end()) {
      role = a->second;
    } else {
      // "Business Phone 2", "E-mail 3 Address": try without digits.
      std::string nodigits;
      for (char c : key)
        if (!std::isdigit(static_cast<unsigned char>(c))) nodigits.push_back(c);
      if (auto b = aliases().find(nodigits); b != aliases().end()) role = b->second;
    }
    if (role.field == Field::ignore && !trim(h).empty()) out.columns_ignored.push_back(h);
    if (role.field == Field::name || role.field == Field::given_name ||
        role.field == Field::family_name || role.field == Field::company)
      has_name = true;
    if (role.field == Field::phone) has_phone = true;
    if (opts.to_e164(h)) looks_like_data = true;
    roles.push_back(role);
  }
  if (!has_name || !has_phone) {
    std::string found;
    for (const auto& h : header.fields) found += (found.empty() ? "'" : ", '") + h + "'";
    std::string msg = at_line(header.line) + "no usable header row: need a name column (Name, First Name, "
                      "Last Name or Company) and a phone column (Phone, Mobile, Business Phone, ...); found " +
                      found + ". Map columns with --map 'Header=field'.";
    if (looks_like_data) msg += " The first line looks like data: the file needs a header row.";
    return fail(Error::invalid_argument(msg));
  }

  CsvRecord rec;
  std::size_t problems_seen = 0;
  auto take_reader_problems = [&] {
    for (; problems_seen < reader.problems().size(); ++problems_seen) {
      const auto& p = reader.problems()[problems_seen];
      out.issues.push_back({p.line, Severity::error, at_line(p.line) + p.message});
    }
  };
  while (reader.next(rec)) {
    take_reader_problems();
    if (out.records % 256 == 0 && opts.progress) opts.progress(reader.position(), text.size());
    bool blank = std::all_of(rec.fields.begin(), rec.fields.end(),
                             [](const std::string& f) { return trim(f).empty(); });
    if (blank) continue;
    ++out.records;
    if (out.records > opts.max_contacts)
      return fail(Error::invalid_argument(at_line(rec.line) + "more than " + std::to_string(opts.max_contacts) +
                                          " records"));
    auto err = [&](std::string m) { out.issues.push_back({rec.line, Severity::error, at_line(rec.line) + m}); };
    if (rec.fields.size() < roles.size() ||
        (rec.fields.size() > roles.size() &&
         !std::all_of(rec.fields.begin() + static_cast<std::ptrdiff_t>(roles.size()), rec.fields.end(),
                      [](const std::string& f) { return trim(f).empty(); }))) {
      err("has " + std::to_string(rec.fields.size()) + " fields, the header has " +
          std::to_string(roles.size()) + " (ragged row; a delimiter '" +
          std::string(1, out.delimiter == '\t' ? 'T' : out.delimiter) + "' too many or missing?)");
      continue;
    }
    Contact c{.tenant = opts.tenant};
    c.origin = opts.origin;
    bool bad = false;
    for (std::size_t i = 0; i < roles.size() && !bad; ++i) {
      std::string v = trim(rec.fields[i]);
      if (v.empty()) continue;
      if (v.size() > opts.max_field_bytes) {
        err("column '" + header.fields[i] + "' is longer than " + std::to_string(opts.max_field_bytes) + " bytes");
        bad = true;
        break;
      }
      auto set_first = [&](std::string& f) { if (f.empty()) f = v; };
      switch (roles[i].field) {
        case Field::ignore: break;
        case Field::name: set_first(c.display_name); break;
        case Field::given_name: set_first(c.given_name); break;
        case Field::family_name: set_first(c.family_name); break;
        case Field::company: set_first(c.company); break;
        case Field::email: set_first(c.email); break;
        case Field::note: set_first(c.note); break;
        case Field::kind: {
          std::string k = header_key(v);
          if (k == "company" || k == "org" || k == "organization" || k == "organisation" || k == "firma" ||
              k == "unternehmen" || k == "business")
            c.kind = ports::ContactKind::company;
          else if (k != "person" && k != "individual" && k != "privat" && k != "private") {
            err("column '" + header.fields[i] + "': unknown kind '" + v + "' (person or company)");
            bad = true;
          }
          break;
        }
        case Field::phone:
          if (!add_number(c, opts.to_e164, roles[i].label, v)) {
            err("column '" + header.fields[i] + "': '" + v + "' is not a phone number");
            bad = true;
          }
          break;
      }
    }
    if (bad) continue;
    if (c.display_name.empty() && c.given_name.empty() && c.family_name.empty() && !c.company.empty() &&
        c.kind == ports::ContactKind::person)
      c.kind = ports::ContactKind::company;
    finish_name(c);
    if (c.display_name.empty()) {
      err("no name (name and company columns are empty)");
      continue;
    }
    if (c.numbers.empty()) {
      out.issues.push_back({rec.line, Severity::skipped,
                            at_line(rec.line) + "'" + c.display_name + "' has no phone number; skipped"});
      continue;
    }
    out.contacts.push_back(std::move(c));
    out.contact_lines.push_back(rec.line);
  }
  take_reader_problems();
  return {};
}

base::Status parse_vcard(const std::string& text, const ImportParseOptions& opts, ParsedImport& out) {
  auto r = read_vcards(text, VCardLimits{opts.max_vcard_line_bytes, opts.max_contacts});
  for (const auto& p : r.problems)
    out.issues.push_back({p.line, Severity::error, at_line(p.line) + p.message});
  if (r.cards.empty() && r.problems.empty()) return fail(Error::invalid_argument("no vCard in the file"));
  out.records = r.cards.size() + r.problems.size();
  for (auto& card : r.cards) {
    Contact c{.tenant = opts.tenant};
    c.origin = opts.origin;
    c.display_name = card.display_name;
    c.given_name = card.given_name;
    c.family_name = card.family_name;
    c.company = card.company;
    c.email = card.email;
    c.note = card.note;
    bool bad = false;
    for (const auto* f : {&c.display_name, &c.given_name, &c.family_name, &c.company, &c.email, &c.note}) {
      if (f->size() > opts.max_field_bytes) {
        out.issues.push_back({card.line, Severity::error,
                              at_line(card.line) + "a field is longer than " +
                                  std::to_string(opts.max_field_bytes) + " bytes"});
        bad = true;
        break;
      }
    }
    for (const auto& ph : card.phones) {
      if (bad) break;
      if (trim(ph.raw).empty()) continue;
      if (!add_number(c, opts.to_e164, ph.label, trim(ph.raw))) {
        out.issues.push_back({ph.line, Severity::error, at_line(ph.line) + "'" + ph.raw + "' is not a phone number"});
        bad = true;
      }
    }
    if (bad) continue;
    bool nameless = c.display_name.empty() && c.given_name.empty() && c.family_name.empty();
    if (card.is_company || (nameless && !c.company.empty())) c.kind = ports::ContactKind::company;
    if (c.kind == ports::ContactKind::company && card.is_company && !c.company.empty() && c.display_name.empty())
      c.display_name = c.company;
    finish_name(c);
    if (c.display_name.empty()) {
      out.issues.push_back({card.line, Severity::error, at_line(card.line) + "card has no FN, N or ORG"});
      continue;
    }
    if (c.numbers.empty()) {
      out.issues.push_back({card.line, Severity::skipped,
                            at_line(card.line) + "'" + c.display_name + "' has no phone number; skipped"});
      continue;
    }
    out.contacts.push_back(std::move(c));
    out.contact_lines.push_back(card.line);
  }
  if (opts.progress) opts.progress(text.size(), text.size());
  return {};
}

}  // namespace

std::string_view to_string(ImportFormat f) {
  switch (f) {
    case ImportFormat::detect: return "auto";
    case ImportFormat::csv: return "CSV";
    case ImportFormat::vcard: return "vCard";
  }
  return "?";
}

std::size_t ParsedImport::errors() const {
  return static_cast<std::size_t>(std::count_if(issues.begin(), issues.end(),
                                                [](const ImportIssue& i) { return i.severity == Severity::error; }));
}
std::size_t ParsedImport::skipped() const { return issues.size() - errors(); }

base::Result<std::string> read_import_file(const std::string& path, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Error::io("cannot open " + path));
  if (!S_ISREG(st.st_mode)) return fail(Error::invalid_argument(path + " is not a regular file"));
  if (static_cast<std::size_t>(st.st_size) > max_bytes)
    return fail(Error::invalid_argument(path + " is " + std::to_string(st.st_size) + " bytes; the limit is " +
                                        std::to_string(max_bytes)));
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Error::io("cannot open " + path));
  std::string data;
  data.resize(static_cast<std::size_t>(st.st_size));
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  // The file may have grown since stat(); never read past the limit.
  if (in.peek() != std::char_traits<char>::eof())
    return fail(Error::invalid_argument(path + " changed while reading"));
  return data;
}

base::Result<ParsedImport> parse_contacts(std::string_view bytes, const ImportParseOptions& opts) {
  CB_CHECK(static_cast<bool>(opts.to_e164), "parse_contacts needs a number normalizer");
  if (bytes.size() > opts.max_file_bytes)
    return fail(Error::invalid_argument("file is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                        std::to_string(opts.max_file_bytes)));
  auto text = decode_text(bytes, opts.encoding);
  if (!text) return fail(text.error());
  ParsedImport out;
  out.encoding = text->encoding;
  out.format = opts.format;
  if (out.format == ImportFormat::detect)
    out.format = looks_like_vcard(text->utf8) ? ImportFormat::vcard : ImportFormat::csv;
  auto st = out.format == ImportFormat::vcard ? parse_vcard(text->utf8, opts, out) : parse_csv(text->utf8, opts, out);
  if (!st) return fail(st.error());
  std::stable_sort(out.issues.begin(), out.issues.end(),
                   [](const ImportIssue& a, const ImportIssue& b) { return a.line < b.line; });
  if (opts.progress) opts.progress(text->utf8.size(), text->utf8.size());
  return out;
}

base::Result<ImportOutcome> import_contacts(ports::ContactStore& store, const base::TenantId& tenant,
                                            std::string_view bytes, const ImportParseOptions& opts,
                                            const ImportPolicy& policy) {
  auto parsed = parse_contacts(bytes, opts);
  if (!parsed) return fail(parsed.error());
  ImportOutcome out;
  out.parsed = std::move(*parsed);
  if (policy.dry_run || (out.parsed.errors() > 0 && !policy.skip_invalid)) return out;
  auto commit = store.import_all(tenant, out.parsed.contacts, ports::ImportOptions{policy.replace});
  if (!commit) return fail(commit.error());
  out.committed = true;
  out.commit = *commit;
  return out;
}

}  // namespace callbridge::directory
