// Contact import from CSV and vCard files into a ContactStore, all-or-nothing: the file is parsed
// and every number normalized first; only then is anything written, in one transaction, and only
// if there were no errors (or the caller chose to skip the bad records, which are then listed).
// Called by the CLI (`callbridge contacts import`) and the API; thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "directory/store/text_decode.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::directory {

enum class ImportFormat { detect, csv, vcard };
std::string_view to_string(ImportFormat f);

struct ImportIssue {
  enum class Severity { error, skipped };  // error: bad data; skipped: nothing to import (no number)
  std::size_t line = 0;
  Severity severity = Severity::error;
  std::string message;
};

struct ImportParseOptions {
  base::TenantId tenant;  // the contacts' tenant; no default: ImportParseOptions{.tenant = t}
  ImportFormat format = ImportFormat::detect;  // detect: BEGIN:VCARD or .vcf means vCard
  TextEncoding encoding = TextEncoding::detect;
  char delimiter = 0;  // 0: detect
  // Header name -> field, overriding the built-in aliases. Fields: name, given_name, family_name,
  // company, email, note, kind, phone, phone:<label>, ignore.
  std::vector<std::pair<std::string, std::string>> column_map{};
  std::size_t max_file_bytes = 64 * 1024 * 1024;
  std::size_t max_record_bytes = 64 * 1024;     // one CSV record
  std::size_t max_vcard_line_bytes = 1024 * 1024;  // one unfolded vCard property (photos are big)
  std::size_t max_field_bytes = 4096;
  std::size_t max_contacts = 1'000'000;
  ports::ToE164 to_e164{};  // required: the tenant's dialing plan
  std::string origin{};     // stored with each contact, e.g. "import:contacts.csv"
  // Called now and then while parsing with (bytes done, bytes total).
  std::function<void(std::size_t, std::size_t)> progress{};
};

struct ParsedImport {
  ImportFormat format = ImportFormat::csv;
  TextEncoding encoding = TextEncoding::utf8;
  char delimiter = 0;                          // CSV only
  std::vector<std::string> columns_ignored;    // CSV headers that map to nothing
  std::vector<ports::Contact> contacts;        // ready to store
  std::vector<std::size_t> contact_lines;      // line of each contact
  std::vector<ImportIssue> issues;             // sorted by line
  std::size_t records = 0;                     // data rows / cards seen

  std::size_t errors() const;
  std::size_t skipped() const;
};

// Reads a whole file, refusing files over max_bytes (Errc::invalid_argument) before reading them.
base::Result<std::string> read_import_file(const std::string& path, std::size_t max_bytes);

// Decodes and parses. Problems with single records become issues; problems that make the whole
// file unusable (encoding, no header row, too big) are an Error that names the line.
base::Result<ParsedImport> parse_contacts(std::string_view bytes, const ImportParseOptions& opts);

struct ImportPolicy {
  bool skip_invalid = false;  // commit the good records even if some had errors
  bool dry_run = false;       // parse and check only
  bool replace = false;       // replace the tenant's contacts instead of adding
};

struct ImportOutcome {
  ParsedImport parsed;
  bool committed = false;
  ports::ImportCommit commit;  // valid when committed
};

// parse_contacts, then - unless errors without skip_invalid, or dry_run - one import_all.
base::Result<ImportOutcome> import_contacts(ports::ContactStore& store, const base::TenantId& tenant,
                                            std::string_view bytes, const ImportParseOptions& opts,
                                            const ImportPolicy& policy);

}  // namespace callbridge::directory
