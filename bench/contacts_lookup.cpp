// bench/contacts_lookup: the built-in contact store (SqliteContactStore) with N contacts (default
// 1M, one E.164 number each, imported in one transaction as `callbridge contacts import` does),
// then lookups by number as the journal/call path makes them: import time, lookups/s and latency
// percentiles for hits and misses. Temp directory, removed afterwards. --smoke: tiny N, checks that
// every hit is found with the right name and no miss is.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "directory/store/sqlite_contact_store.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string number(std::uint64_t i) {  // +49 89 1xxxxxxx: unique per i below 9M
  char buf[32];
  std::snprintf(buf, sizeof buf, "+49891%07llu", static_cast<unsigned long long>(i));
  return buf;
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"contacts_lookup - SqliteContactStore with N contacts: import time, lookups/s, latency"};
  std::uint64_t n = 1'000'000, lookups = 200'000;
  bool smoke = false;
  std::string dir = (fs::temp_directory_path() / ("cb-contacts-bench-" + std::to_string(::getpid()))).string();
  app.add_option("--contacts", n, "contacts in the store (max 9,000,000)")->capture_default_str()->check(CLI::Range(1, 9'000'000));
  app.add_option("--lookups", lookups, "lookups (half hits, half misses)")->capture_default_str();
  app.add_option("--dir", dir, "scratch directory (removed afterwards)");
  app.add_flag("--smoke", smoke, "tiny run with correctness checks");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (smoke) n = 2'000, lookups = 2'000;

  fs::remove_all(dir);
  fs::create_directories(dir);
  auto store = callbridge::directory::SqliteContactStore::open({.path = (fs::path(dir) / "contacts.db").string()});
  if (!store) {
    std::fprintf(stderr, "contacts_lookup: %s\n", store.error().message().c_str());
    return 1;
  }
  std::vector<callbridge::ports::Contact> contacts;
  contacts.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    callbridge::ports::Contact c{.tenant = callbridge::base::TenantId("default")};
    c.display_name = "Contact " + std::to_string(i);
    c.origin = "bench";
    c.numbers = {{"work", number(i), number(i)}};
    contacts.push_back(std::move(c));
  }
  auto t0 = Clock::now();
  auto imported = (*store)->import_all("default", contacts, {});
  double import_s = std::chrono::duration<double>(Clock::now() - t0).count();
  contacts.clear();
  contacts.shrink_to_fit();
  if (!imported) {
    std::fprintf(stderr, "contacts_lookup: import: %s\n", imported.error().message().c_str());
    return 1;
  }

  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::uint64_t> pick(0, n - 1);
  std::vector<double> hit_us, miss_us;
  hit_us.reserve(lookups / 2 + 1);
  miss_us.reserve(lookups / 2 + 1);
  int status = 0;
  auto l0 = Clock::now();
  for (std::uint64_t k = 0; k < lookups; ++k) {
    bool hit = k % 2 == 0;
    std::uint64_t i = pick(rng);
    callbridge::ports::LookupQuery q{.tenant = callbridge::base::TenantId("default")};
    q.e164 = hit ? number(i) : number(n + i % (9'000'000 - n + 1));
    if (!hit && n >= 9'000'000) q.e164 = "+4930999" + std::to_string(i % 1000);
    q.candidates = {q.e164};
    q.deadline = Clock::now() + std::chrono::seconds(5);
    auto a = Clock::now();
    auto r = (*store)->lookup(q);
    double us = std::chrono::duration<double, std::micro>(Clock::now() - a).count();
    (hit ? hit_us : miss_us).push_back(us);
    if (!r) {
      std::fprintf(stderr, "contacts_lookup: lookup %s: %s\n", q.e164.c_str(), r.error().message().c_str());
      return 1;
    }
    if (smoke && hit && (r->size() != 1 || (*r)[0].display_name != "Contact " + std::to_string(i))) {
      std::fprintf(stderr, "contacts_lookup: %s: expected Contact %llu, got %zu matches\n", q.e164.c_str(),
                   static_cast<unsigned long long>(i), r->size());
      status = 1;
    }
    if (smoke && !hit && !r->empty()) {
      std::fprintf(stderr, "contacts_lookup: %s: a miss matched\n", q.e164.c_str());
      status = 1;
    }
  }
  double lookup_s = std::chrono::duration<double>(Clock::now() - l0).count();
  std::printf("| measure | value |\n|---|---:|\n");
  std::printf("| contacts imported (one transaction) | %llu in %.1f s (%.0f/s) |\n", static_cast<unsigned long long>(n),
              import_s, static_cast<double>(n) / import_s);
  std::printf("| lookups, one thread (half hits, half misses) | %llu in %.2f s (%.0f/s) |\n",
              static_cast<unsigned long long>(lookups), lookup_s, static_cast<double>(lookups) / lookup_s);
  std::printf("| hit latency p50 / p99 / p99.9 | %.1f / %.1f / %.1f us |\n", pct(hit_us, 0.5), pct(hit_us, 0.99),
              pct(hit_us, 0.999));
  std::printf("| miss latency p50 / p99 / p99.9 | %.1f / %.1f / %.1f us |\n", pct(miss_us, 0.5), pct(miss_us, 0.99),
              pct(miss_us, 0.999));
  store->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}
