#include "journal_compare.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "base/time.hpp"

namespace callbridge::testing {
namespace json = boost::json;
namespace {

std::optional<std::vector<json::object>> load(std::string_view text, std::string& err) {
  std::vector<json::object> rows;
  std::size_t pos = 0;
  int n = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    ++n;
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      err = "line " + std::to_string(n) + ": not a JSON object";
      return std::nullopt;
    }
    rows.push_back(v.as_object());
  }
  return rows;
}

json::value get(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  return it == o.end() ? json::value(nullptr) : it->value();
}

std::vector<json::value> candidates(const json::object& exp, std::string_view field) {
  std::vector<json::value> out{get(exp, field)};
  json::value acc = get(exp, "accept");
  if (acc.is_object()) {
    json::value alts = get(acc.as_object(), field);
    if (alts.is_array()) {
      for (const auto& a : alts.as_array()) {
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
      }
    }
  }
  return out;
}

std::optional<double> ts(const json::value& v) {
  if (!v.is_string()) return std::nullopt;
  auto t = base::parse_rfc3339(std::string_view(v.as_string()));
  if (!t) return std::nullopt;
  return static_cast<double>(base::to_micros(*t)) / 1e6;
}

std::optional<double> num(const json::value& v) {
  if (v.is_double()) return v.as_double();
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  return std::nullopt;
}

bool close(std::optional<double> a, std::optional<double> b, double tol) {
  return a && b && std::fabs(*a - *b) <= tol + 1e-9;
}

std::string show(const json::value& v) { return json::serialize(v); }

std::vector<std::string> check_pair(const json::object& exp, const json::object& act) {
  double tol = num(get(exp, "tolerance_s")).value_or(1.0);
  std::vector<std::string> problems;
  for (auto field : {"direction", "remote", "disposition", "transferred_to", "transferred_from"}) {
    auto want = candidates(exp, field);
    json::value got = get(act, field);
    if (std::find(want.begin(), want.end(), got) == want.end())
      problems.push_back(std::string(field) + "=" + show(got) + ", want " + show(want.front()));
  }
  // Checked only where the expectation states it (the live_* fixtures; older ones predate it).
  if (exp.contains("remote_withheld") && get(act, "remote_withheld") != get(exp, "remote_withheld"))
    problems.push_back("remote_withheld=" + show(get(act, "remote_withheld")) + ", want " +
                       show(get(exp, "remote_withheld")));
  // AnyDevice: the external device that carried the call (docs/journal.md), where stated.
  if (exp.contains("device_number")) {
    json::value got = nullptr;
    if (auto d = get(act, "device"); d.is_object()) got = get(d.as_object(), "number");
    if (got != get(exp, "device_number"))
      problems.push_back("device.number=" + show(got) + ", want " + show(get(exp, "device_number")));
  }
  // Channel accounting: trunk-channel seconds, where stated (up to two channels: twice the tolerance).
  if (exp.contains("trunk_channel_s") && !close(num(get(act, "trunk_channel_s")), num(get(exp, "trunk_channel_s")), 2 * tol))
    problems.push_back("trunk_channel_s=" + show(get(act, "trunk_channel_s")) + ", want " +
                       show(get(exp, "trunk_channel_s")));
  for (auto field : {"started_at", "answered_at", "ended_at"}) {
    auto want = candidates(exp, field);
    json::value got = get(act, field);
    bool all_null = std::all_of(want.begin(), want.end(), [](const json::value& w) { return w.is_null(); });
    if (all_null) {
      if (!got.is_null()) problems.push_back(std::string(field) + "=" + show(got) + ", want null");
      continue;
    }
    if (got.is_null() && std::find(want.begin(), want.end(), json::value(nullptr)) != want.end()) continue;
    bool ok = false;
    for (const auto& w : want) {
      if (!w.is_null() && close(ts(got), ts(w), tol)) ok = true;
    }
    if (!ok) problems.push_back(std::string(field) + "=" + show(got) + ", want " + show(want.front()));
  }
  for (auto field : {"ring_s", "talk_s", "hold_s"}) {
    auto want = candidates(exp, field);
    auto got = num(get(act, field));
    bool ok = false;
    for (const auto& w : want) {
      if (close(got, num(w), tol)) ok = true;
    }
    if (!ok) problems.push_back(std::string(field) + "=" + show(get(act, field)) + ", want " + show(want.front()));
  }
  return problems;
}

std::string key(const json::object& r) {
  return "(" + show(get(r, "party")) + ", " + show(get(r, "direction")) + ", " + show(get(r, "remote")) + ")";
}

std::string party_of(const json::object& r) {
  json::value p = get(r, "party");
  return p.is_string() ? std::string(p.as_string()) : show(p);
}

}  // namespace

std::string CompareResult::text() const {
  std::string out;
  for (const auto& l : report) out += l + "\n";
  return out;
}

CompareResult compare_journals(std::string_view expected_jsonl, std::string_view actual_jsonl) {
  CompareResult r;
  std::string err;
  auto expected = load(expected_jsonl, err);
  if (!expected) {
    r.report.push_back("expected: " + err);
    return r;
  }
  auto actual = load(actual_jsonl, err);
  if (!actual) {
    r.report.push_back("actual: " + err);
    return r;
  }
  std::vector<json::object> left = *actual;
  r.ok = true;
  for (const auto& exp : *expected) {
    std::string party = party_of(exp);
    auto remotes = candidates(exp, "remote");
    auto dispositions = candidates(exp, "disposition");
    double start = ts(get(exp, "started_at")).value_or(0.0);
    auto best = left.end();
    std::tuple<bool, bool, double> best_key{true, true, std::numeric_limits<double>::infinity()};
    for (auto it = left.begin(); it != left.end(); ++it) {
      if (party_of(*it) != party) continue;
      std::tuple<bool, bool, double> k{
          std::find(remotes.begin(), remotes.end(), get(*it, "remote")) == remotes.end(),
          std::find(dispositions.begin(), dispositions.end(), get(*it, "disposition")) == dispositions.end(),
          std::fabs(ts(get(*it, "started_at")).value_or(0.0) - start)};
      if (best == left.end() || k < best_key) {
        best = it;
        best_key = k;
      }
    }
    if (best == left.end()) {
      r.ok = false;
      r.report.push_back("MISSING " + key(exp) + " " + show(get(exp, "disposition")));
      continue;
    }
    auto problems = check_pair(exp, *best);
    left.erase(best);
    if (problems.empty()) {
      r.report.push_back("ok      " + key(exp) + " " + show(get(exp, "disposition")));
    } else {
      r.ok = false;
      std::string line = "WRONG   " + key(exp) + ": ";
      for (std::size_t i = 0; i < problems.size(); ++i) line += (i ? "; " : "") + problems[i];
      r.report.push_back(line);
    }
  }
  for (const auto& extra : left) {
    r.ok = false;
    r.report.push_back("EXTRA   " + key(extra) + " " + show(get(extra, "disposition")));
  }
  return r;
}

}  // namespace callbridge::testing
