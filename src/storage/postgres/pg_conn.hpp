// PgConn: one libpq connection for the PostgreSQL backends (journal/postgres, directory/store's
// PgContactStore), with (re)connect, parameterised statements bounded by a deadline (cancelled on
// the server when it passes) and COPY FROM STDIN.
// Not thread-safe: each PgConn is used by one thread at a time (a store's writer thread, or a
// caller holding the store's mutex). Error messages start with "<what> (PostgreSQL ...)".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace callbridge::storage::postgres {

// A query result (text format).
class PgRows {
 public:
  PgRows() = default;
  explicit PgRows(PGresult* r);
  int size() const;
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  std::int64_t i64(int row, int col) const;
  double f64(int row, int col) const;
  std::size_t affected() const;  // rows changed by INSERT/UPDATE/DELETE

 private:
  std::shared_ptr<PGresult> res_;
};

class PgConn {
 public:
  using Steady = std::chrono::steady_clock;
  using Params = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

  // `what` names the user in error messages and in the server's application_name
  // ("journal" -> "journal (PostgreSQL ...): ...", application_name callbridge-journal).
  PgConn(std::string conninfo, std::string what) : conninfo_(std::move(conninfo)), what_(std::move(what)) {}
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Connects unless connected (a broken connection is dropped and re-made).
  base::Status ensure_connected();
  // One statement (or, without params, several separated by ';'); the last result.
  base::Result<PgRows> exec(const std::string& sql, const Params& params, Steady::time_point deadline);
  base::Result<PgRows> exec(const std::string& sql, Steady::time_point deadline) { return exec(sql, {}, deadline); }
  // Runs `copy_sql` ("COPY t (cols) FROM STDIN") and sends `data` (text format rows).
  base::Status copy_in(const std::string& copy_sql, std::string_view data, Steady::time_point deadline);
  bool connected() const;

  // "postgresql://user@host:port/dbname" from a conninfo string or URI; the password left out.
  static std::string describe(const std::string& conninfo);

 private:
  base::Error broken(std::string_view what);
  base::Result<PGresult*> wait_result(Steady::time_point deadline);
  base::Error result_error(PGresult* r) const;

  std::string conninfo_;
  std::string what_;
  PGconn* conn_ = nullptr;
};

// One statement, sent once more on a new connection when the old one was found broken
// (Errc::unavailable) and time is left: for statements that are idempotent or fail harmlessly the
// second time.
base::Result<PgRows> exec_once_more(PgConn& c, const std::string& sql, const PgConn::Params& args,
                                    PgConn::Steady::time_point deadline);

// BEGIN, body(), COMMIT; ROLLBACK when anything fails. Not retried: a transaction that lost its
// connection reports it (Errc::unavailable). `body` returns a base::Result or base::Status.
template <typename Fn>
auto in_transaction(PgConn& c, PgConn::Steady::time_point deadline, Fn&& body) -> decltype(body()) {
  if (auto b = exec_once_more(c, "BEGIN", {}, deadline); !b) return base::fail(b.error());
  auto r = body();
  if (!r) {
    if (c.connected()) (void)c.exec("ROLLBACK", {}, PgConn::Steady::now() + std::chrono::seconds(5));
    return r;
  }
  if (auto e = c.exec("COMMIT", {}, deadline); !e) {
    if (c.connected()) (void)c.exec("ROLLBACK", {}, PgConn::Steady::now() + std::chrono::seconds(5));
    return base::fail(e.error());
  }
  return r;
}

// Appends `v` to `out` as one COPY text-format field: \ tab newline CR escaped, invalid UTF-8
// replaced by U+FFFD and NUL bytes dropped (PostgreSQL text cannot hold them), so one odd caller
// name can never block the writer.
void append_copy_field(std::string& out, std::string_view v);
void append_copy_null(std::string& out);  // \N

// `v` as valid UTF-8 without NUL bytes (same replacement as append_copy_field).
std::string sanitize_utf8(std::string_view v);

}  // namespace callbridge::storage::postgres
