// One SQLite prepared statement for the SQLite backends (journal/sqlite, directory/store,
// directory/index, identity/sqlite): owned (finalized when it goes) or borrowed from a statement
// cache (reset and cleared when it goes, so the cache can hand it out again). Binds count from 1,
// columns from 0, as in SQLite. Not thread-safe: used under its connection's lock.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/tenant_id.hpp"

namespace callbridge::storage::sqlite {

class Statement {
 public:
  Statement() = default;
  // Prepares `sql` on `db`; ok() says whether it worked (sqlite3_errmsg(db) says why not).
  Statement(sqlite3* db, std::string_view sql, unsigned prepare_flags = 0) {
    rc_ = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), prepare_flags, &s_, nullptr);
  }
  // A cached statement (nullptr: its preparation failed): reset, not finalized, when done.
  static Statement borrow(sqlite3_stmt* cached) {
    Statement s;
    s.s_ = cached;
    s.rc_ = cached ? SQLITE_OK : SQLITE_ERROR;
    s.borrowed_ = true;
    return s;
  }
  Statement(Statement&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), rc_(std::exchange(o.rc_, SQLITE_ERROR)), borrowed_(o.borrowed_) {}
  Statement& operator=(Statement&& o) noexcept {
    std::swap(s_, o.s_);
    std::swap(rc_, o.rc_);
    std::swap(borrowed_, o.borrowed_);
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    if (!borrowed_) {
      sqlite3_finalize(s_);
    } else if (s_) {
      reset();
    }
  }

  bool ok() const { return rc_ == SQLITE_OK && s_ != nullptr; }
  sqlite3_stmt* get() const { return s_; }

  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, const char* v) { bind(i, std::string_view(v)); }
  void bind(int i, const std::string& v) { bind(i, std::string_view(v)); }
  void bind(int i, const base::TenantId& v) { bind(i, std::string_view(v.str())); }
  void bind(int i, const std::optional<std::string>& v) {
    if (v) bind(i, std::string_view(*v));
    else bind_null(i);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, int v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }

  int step() { return sqlite3_step(s_); }
  // Ready to run again, bindings cleared.
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  // Valid until the next step() or reset().
  std::string_view view(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string_view();
  }
  std::string text(int col) const { return std::string(view(col)); }
  std::optional<std::string> opt_text(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  double f64(int col) const { return sqlite3_column_double(s_, col); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
  bool borrowed_ = false;
};

}  // namespace callbridge::storage::sqlite
