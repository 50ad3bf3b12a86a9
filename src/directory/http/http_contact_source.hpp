// ContactSource over a CRM's HTTP JSON lookup endpoint: GET a URL built from a template
// ("https://crm/api/lookup?number={e164}"), with configured headers (auth), JSON fields mapped to
// name/company/id/label. Only the exact number is asked (CRMs do their own matching). With a search
// URL ("https://crm/api/contacts?q={text}") it also finds contacts by a piece of their name,
// company or number (GET /api/v1/contacts/search, the dial box), with their numbers.
// Thread-safe: each lookup is one request on its own connection, ended by the query deadline
// or the source timeout, whichever comes first. Boost.Beast lives only in the .cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ports/contact_source.hpp"

namespace callbridge::directory {

struct HttpSourceOptions {
  std::string name = "crm";
  int priority = 30;
  // http:// or https://; "{e164}" -> "%2B492113399030", "{digits}" -> "492113399030".
  std::string url_template;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Authorization", "Bearer ..."}
  std::chrono::milliseconds timeout{2000};
  // Where the results are: dotted path to an array or object ("data.contacts"); "" is the root.
  // A single object is one result; null or a missing path is no result.
  std::string results_path;
  // Dotted paths inside one result; empty = not mapped. name is required.
  std::string id_field = "id";
  std::string name_field = "name";
  std::string company_field = "company";
  std::string label_field;
  std::string kind_field;  // value "company"/"organization" makes a company
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_results = 50;
  bool tls_verify = true;
  std::string ca_file;  // PEM; empty = system trust store
  // Name search: "{text}" -> what the user typed, percent-encoded; "{limit}" -> how many at most.
  // "" = the source is asked for whole numbers only (lookup). The answer is read like a lookup's
  // (results_path, the fields above), and each result's numbers from `numbers_field`.
  std::string search_url_template;
  // Inside one search result: a dotted path to a number (string), an array of numbers, or an
  // array of objects with `number_field` and `number_label_field`.
  std::string numbers_field = "numbers";
  std::string number_field = "number";
  std::string number_label_field = "label";
  // Numbers as the CRM writes them -> E.164 (the tenant's dialing plan); unset: only "+..." ones.
  ports::ToE164 to_e164;
};

class HttpContactSource final : public ports::ContactSource {
 public:
  // Checks the template and TLS settings (loads the CA file); does not connect.
  static base::Result<std::unique_ptr<HttpContactSource>> create(HttpSourceOptions opts);
  ~HttpContactSource() override;

  const std::string& name() const override { return opts_.name; }
  int priority() const override { return opts_.priority; }
  // 200 with results -> matches; 404/204 or empty -> none; other status, bad JSON, body over
  // the limit, TLS or network failure -> Error (unavailable/protocol/timeout).
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override;
  // With a search URL: GET it; 200 -> hits (at most q.limit), 404/204 -> none; errors as lookup().
  bool searches_text() const override { return !opts_.search_url_template.empty(); }
  base::Result<std::vector<ports::ContactHit>> search(const ports::SearchQuery& q) override;

  // The URL for a number / a search (exposed for tests).
  std::string url_for(const std::string& e164) const;
  std::string search_url_for(const std::string& text, std::size_t limit) const;

  struct Impl;

 private:
  HttpContactSource(HttpSourceOptions opts, std::unique_ptr<Impl> impl);
  HttpSourceOptions opts_;
  std::unique_ptr<Impl> impl_;
};

// Maps a CRM's JSON search answer to hits (exposed for tests; no I/O).
base::Result<std::vector<ports::ContactHit>> parse_crm_search_json(std::string_view body, const HttpSourceOptions& opts,
                                                                   std::size_t limit);

// Maps a CRM's JSON answer to matches (exposed for tests; no I/O).
base::Result<std::vector<ports::ContactMatch>> parse_crm_json(std::string_view body, const HttpSourceOptions& opts,
                                                              const std::string& e164);

}  // namespace callbridge::directory
