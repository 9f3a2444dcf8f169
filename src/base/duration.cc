// SPDX-License-Identifier: Apache-2.0
#include "base/duration.h"

#include <ctime>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace ftsc::base {
namespace {

struct Unit {
  std::string_view name;
  int64_t ns;
};
constexpr std::array<Unit, 6> kUnits = {{{"ns", 1},
                                         {"us", 1'000},
                                         {"ms", 1'000'000},
                                         {"s", 1'000'000'000},
                                         {"m", 60'000'000'000},
                                         {"h", 3'600'000'000'000}}};

Error duration_error(std::string_view text, std::string message) {
  return Error{fmt::format("malformed duration '{}': {}", text, message),
               {},
               "write a number and a unit, e.g. '10ms' or '1.5s'; units: ns, us, ms, s, m, h"};
}

}  // namespace

Result<Nanos> parse_duration(std::string_view text) {
  if (text.empty())
    return duration_error(text, "it is empty");
  size_t i = 0;
  int64_t whole = 0;
  int digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > (std::numeric_limits<int64_t>::max() - 9) / 10)
      return duration_error(text, "the number is too large");
    whole = whole * 10 + (text[i] - '0');
    ++i;
    ++digits;
  }
  int64_t frac = 0;
  int64_t frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (frac_scale < 1'000'000'000'000) {
        frac = frac * 10 + (text[i] - '0');
        frac_scale *= 10;
      }
      ++i;
      ++digits;
    }
  }
  if (digits == 0) {
    if (!text.empty() && text[0] == '-')
      return duration_error(text, "it is negative");
    return duration_error(text, "it does not start with a number");
  }
  std::string_view unit = text.substr(i);
  if (unit.empty())
    return duration_error(text, "it has no unit");
  for (const Unit& u : kUnits) {
    if (u.name != unit)
      continue;
    if (whole > std::numeric_limits<int64_t>::max() / u.ns)
      return duration_error(text, "it is too long");
    int64_t ns = whole * u.ns;
    long double f = static_cast<long double>(frac) * static_cast<long double>(u.ns) /
                    static_cast<long double>(frac_scale);
    int64_t frac_ns = static_cast<int64_t>(std::llround(f));  // below u.ns
    if (ns > std::numeric_limits<int64_t>::max() - frac_ns)
      return duration_error(text, "it is too long");
    return Nanos(ns + frac_ns);
  }
  return duration_error(text, fmt::format("unknown unit '{}'", unit));
}

std::string format_duration(Nanos d) {
  int64_t ns = d.count();
  if (ns == 0)
    return "0s";
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (it->ns > ns && it->name != "ns")
      continue;
    if (ns % it->ns == 0)
      return fmt::format("{}{}", ns / it->ns, it->name);
    // One fraction digit when it is exact (1.5s), else fall to a smaller unit.
    if (it->ns >= 10 && ns % (it->ns / 10) == 0)
      return fmt::format("{}.{}{}", ns / it->ns, (ns % it->ns) * 10 / it->ns, it->name);
  }
  return fmt::format("{}ns", ns);
}

std::string utc_now() {
  time_t now = time(nullptr);
  struct tm tm {};
  gmtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace ftsc::base
