#include "base/time.hpp"

#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstdio>

namespace callbridge::base {

namespace {

// The form Asterisk sends ("1795382753.711266": digits, '.', digits), parsed in one pass; nullopt
// means "not this simple form" and the general parser below decides (same results).
inline bool parse_epoch_fast(std::string_view s, std::int64_t& micros_out) {
  const char* p = s.data();
  const char* end = p + s.size();
  std::int64_t secs = 0;
  int n = 0;
  for (; p != end && *p >= '0' && *p <= '9'; ++p, ++n) {
    if (n == 12) return false;  // beyond kMaxSecs's 12 digits (or leading zeros): general path
    secs = secs * 10 + (*p - '0');
  }
  if (n == 0) return false;
  std::int64_t micros = 0;
  if (p != end) {
    if (*p != '.' || end - p < 2) return false;
    ++p;
    int digits = 0;
    for (; p != end; ++p) {
      if (*p < '0' || *p > '9') return false;
      if (digits < 6) {
        micros = micros * 10 + (*p - '0');
        ++digits;
      }
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (secs > 253'402'300'799) return false;
  micros_out = secs * 1'000'000 + micros;
  return true;
}

}  // namespace

std::optional<Timestamp> parse_epoch_seconds(std::string_view s) {
  if (std::int64_t us = 0; parse_epoch_fast(s, us)) return from_micros(us);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::int64_t secs = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  // The PBX's bytes are untrusted: beyond 9999-12-31T23:59:59Z is garbage too, and keeps
  // seconds * 10^6 from overflowing.
  constexpr std::int64_t kMaxSecs = 253'402'300'799;
  if (ec != std::errc() || p != whole.data() + whole.size() || secs < 0 || secs > kMaxSecs)
    return std::nullopt;
  std::int64_t micros = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty()) return std::nullopt;
    int digits = 0;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      if (digits < 6) {
        micros = micros * 10 + (c - '0');
        ++digits;
      }
    }
    while (digits < 6) {
      micros *= 10;
      ++digits;
    }
  }
  return from_micros(secs * 1'000'000 + micros);
}

std::string format_rfc3339_ms(Timestamp t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss hms{ms - day};
  const int year = static_cast<int>(ymd.year());
  const unsigned fields[6] = {static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              static_cast<unsigned>(hms.hours().count()), static_cast<unsigned>(hms.minutes().count()),
                              static_cast<unsigned>(hms.seconds().count()),
                              static_cast<unsigned>(hms.subseconds().count())};
  if (year < 0 || year > 9999) {
    // Outside four digits: as printf renders it (a sign, more digits).
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", year, fields[0], fields[1], fields[2],
                  fields[3], fields[4], fields[5]);
    return buf;
  }
  // The common case without printf (it ran for every published event's times): the same text,
  // "YYYY-MM-DDTHH:MM:SS.mmmZ".
  std::string out(24, '0');
  char* o = out.data();
  auto put = [](char* at, unsigned v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v /= 10) at[i] = static_cast<char>('0' + v % 10);
  };
  put(o, static_cast<unsigned>(year), 4);
  o[4] = '-';
  put(o + 5, fields[0], 2);
  o[7] = '-';
  put(o + 8, fields[1], 2);
  o[10] = 'T';
  put(o + 11, fields[2], 2);
  o[13] = ':';
  put(o + 14, fields[3], 2);
  o[16] = ':';
  put(o + 17, fields[4], 2);
  o[19] = '.';
  put(o + 20, fields[5], 3);
  o[23] = 'Z';
  return out;
}

namespace {
bool take_int(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  s.remove_prefix(n);
  return true;
}
bool take_char(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}
}  // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!take_int(s, 4, y) || !take_char(s, '-') || !take_int(s, 2, mo) || !take_char(s, '-') ||
      !take_int(s, 2, d))
    return std::nullopt;
  std::int64_t micros = 0;
  std::int64_t offset_s = 0;
  if (!s.empty()) {
    if (!(take_char(s, 'T') || take_char(s, 't') || take_char(s, ' '))) return std::nullopt;
    if (!take_int(s, 2, h) || !take_char(s, ':') || !take_int(s, 2, mi)) return std::nullopt;
    if (take_char(s, ':') && !take_int(s, 2, sec)) return std::nullopt;
    if (take_char(s, '.')) {
      int digits = 0;
      while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
        if (digits < 6) {
          micros = micros * 10 + (s.front() - '0');
          ++digits;
        }
        s.remove_prefix(1);
      }
      if (digits == 0) return std::nullopt;
      while (digits++ < 6) micros *= 10;
    }
    if (take_char(s, 'Z') || take_char(s, 'z')) {
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      int sign = s.front() == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh, om;
      if (!take_int(s, 2, oh) || !take_char(s, ':') || !take_int(s, 2, om)) return std::nullopt;
      offset_s = sign * (oh * 3600 + om * 60);
    }
    if (!s.empty()) return std::nullopt;
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} - seconds{offset_s};
  return time_point_cast<microseconds>(tp) + microseconds{micros};
}

double seconds_1dp(Timestamp from, Timestamp to) {
  double s = static_cast<double>((to - from).count()) / 1e6;
  return std::round(s * 10.0) / 10.0;
}

Timestamp SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace callbridge::base
