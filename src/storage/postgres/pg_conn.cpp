#include "storage/postgres/pg_conn.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>
#include <utility>

namespace callbridge::storage::postgres {

using base::Error;
using base::fail;

namespace {

std::string trim(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ' || m.back() == '\r')) m.pop_back();
  return m;
}

// Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF).
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

template <typename Emit>
void for_each_sanitized(std::string_view v, Emit&& emit) {
  for (std::size_t i = 0; i < v.size();) {
    const std::size_t n = utf8_len(v, i);
    if (n == 0) {
      emit(std::string_view("\xEF\xBF\xBD"));
      ++i;
    } else if (n == 1 && v[i] == '\0') {
      ++i;
    } else {
      emit(v.substr(i, n));
      i += n;
    }
  }
}

}  // namespace

PgRows::PgRows(PGresult* r) : res_(r, PQclear) {}
int PgRows::size() const { return res_ ? PQntuples(res_.get()) : 0; }
bool PgRows::is_null(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
std::string_view PgRows::text(int row, int col) const {
  return {PQgetvalue(res_.get(), row, col), static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
}
std::int64_t PgRows::i64(int row, int col) const { return std::strtoll(PQgetvalue(res_.get(), row, col), nullptr, 10); }
double PgRows::f64(int row, int col) const { return std::strtod(PQgetvalue(res_.get(), row, col), nullptr); }
std::size_t PgRows::affected() const {
  return res_ ? static_cast<std::size_t>(std::strtoull(PQcmdTuples(res_.get()), nullptr, 10)) : 0;
}

PgConn::~PgConn() {
  if (conn_) PQfinish(conn_);
}

bool PgConn::connected() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

base::Status PgConn::ensure_connected() {
  if (connected()) return {};
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  // Defaults first: keywords in the user's string (processed as dbname, expanded) override them.
  std::string app = "callbridge-" + what_;
  for (auto& c : app)
    if (c == ' ') c = '-';
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* vals[] = {"10", app.c_str(), conninfo_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (!conn_) return fail(Error::unavailable(what_ + " (PostgreSQL): out of memory connecting"));
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string m = trim(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    return fail(Error::unavailable(what_ + " (PostgreSQL " + describe(conninfo_) + "): cannot connect: " + m));
  }
  // NOTICEs ("relation already exists, skipping") are not for the log.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  return {};
}

Error PgConn::broken(std::string_view what) {
  std::string m = what_ + " (PostgreSQL " + describe(conninfo_) + "): " + std::string(what) + ": " +
                  trim(conn_ ? PQerrorMessage(conn_) : "not connected");
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;  // reconnect on the next call
  return Error::unavailable(std::move(m));
}

base::Result<PgRows> exec_once_more(PgConn& c, const std::string& sql, const PgConn::Params& args,
                                    PgConn::Steady::time_point deadline) {
  auto r = c.exec(sql, args, deadline);
  if (!r && r.error().code() == base::Errc::unavailable && PgConn::Steady::now() < deadline)
    r = c.exec(sql, args, deadline);
  return r;
}

Error PgConn::result_error(PGresult* r) const {
  std::string m = what_ + " (PostgreSQL): " + trim(PQresultErrorMessage(r));
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string_view s = state ? state : "";
  if (s == "57014") return Error::timeout(std::move(m) + " (cancelled at its deadline)");
  if (s.starts_with("22")) return Error::invalid_argument(std::move(m));  // data exception
  if (s == "23505") return Error::conflict(std::move(m));                // unique violation
  if (s.starts_with("08") || s.starts_with("57")) return Error::unavailable(std::move(m));
  return Error::io(std::move(m));
}

// Waits for the statement's results; keeps the last. Cancels the query when the deadline passes.
base::Result<PGresult*> PgConn::wait_result(Steady::time_point deadline) {
  const int sock = PQsocket(conn_);
  for (;;) {
    if (!PQconsumeInput(conn_)) return fail(broken("reading the answer"));
    if (!PQisBusy(conn_)) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (left <= 0) {
      if (PGcancel* c = PQgetCancel(conn_)) {
        char err[256];
        PQcancel(c, err, sizeof err);
        PQfreeCancel(c);
      }
      // The cancelled statement still ends with an error result; drain it so the connection is
      // usable again (the server answers a cancel at once).
      while (PGresult* r = PQgetResult(conn_)) PQclear(r);
      return fail(Error::timeout(what_ + " (PostgreSQL): statement cancelled at its deadline"));
    }
    pollfd p{sock, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
  }
  PGresult* last = nullptr;
  while (PGresult* r = PQgetResult(conn_)) {
    if (last) {
      // Keep the first error if a later result is fine; otherwise the last result.
      auto st = PQresultStatus(last);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
        PQclear(r);
        continue;
      }
      PQclear(last);
    }
    last = r;
    if (PQresultStatus(r) == PGRES_COPY_IN) break;  // caller sends the data
  }
  if (!last) return fail(Error::internal(what_ + " (PostgreSQL): no result"));
  return last;
}

base::Result<PgRows> PgConn::exec(const std::string& sql, const Params& params, Steady::time_point deadline) {
  if (auto st = ensure_connected(); !st) return fail(st.error());
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const int sent = params.empty() ? PQsendQuery(conn_, sql.c_str())
                                  : PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                                      values.data(), nullptr, nullptr, 0);
  if (!sent) return fail(broken("sending a statement"));
  auto r = wait_result(deadline);
  if (!r) return fail(r.error());
  PgRows rows(*r);
  auto status = PQresultStatus(*r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    auto e = result_error(*r);
    if (PQstatus(conn_) != CONNECTION_OK) (void)broken("connection lost");
    return fail(std::move(e));
  }
  return rows;
}

base::Status PgConn::copy_in(const std::string& copy_sql, std::string_view data, Steady::time_point deadline) {
  if (auto st = ensure_connected(); !st) return fail(st.error());
  if (!PQsendQuery(conn_, copy_sql.c_str())) return fail(broken("starting COPY"));
  auto start = wait_result(deadline);
  if (!start) return fail(start.error());
  PgRows holder(*start);
  if (PQresultStatus(*start) != PGRES_COPY_IN) return fail(result_error(*start));
  // Blocking connection: PQputCopyData waits for socket space; 1 MiB pieces.
  constexpr std::size_t kPiece = 1 << 20;
  for (std::size_t off = 0; off < data.size(); off += kPiece) {
    const auto n = std::min(kPiece, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1) return fail(broken("sending COPY data"));
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) return fail(broken("ending COPY"));
  auto end = wait_result(deadline);
  if (!end) return fail(end.error());
  PgRows done(*end);
  if (PQresultStatus(*end) != PGRES_COMMAND_OK) return fail(result_error(*end));
  return {};
}

std::string PgConn::describe(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    return "postgresql://(unparsable connection string)";
  }
  std::string user, host, port, db;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "user") user = o->val;
    else if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
    else if (k == "port") port = o->val;
    else if (k == "dbname") db = o->val;
  }
  PQconninfoFree(opts);
  std::string s = "postgresql://";
  if (!user.empty()) s += user + "@";
  s += host.empty() ? "localhost" : host;
  if (!port.empty()) s += ":" + port;
  s += "/" + db;
  return s;
}

void append_copy_null(std::string& out) { out += "\\N"; }

void append_copy_field(std::string& out, std::string_view v) {
  for_each_sanitized(v, [&](std::string_view piece) {
    if (piece.size() != 1) {
      out += piece;
      return;
    }
    switch (piece[0]) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += piece[0];
    }
  });
}

std::string sanitize_utf8(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for_each_sanitized(v, [&](std::string_view piece) { out += piece; });
  return out;
}

}  // namespace callbridge::storage::postgres
