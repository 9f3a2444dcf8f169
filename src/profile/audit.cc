// SPDX-License-Identifier: Apache-2.0
#include "profile/audit.h"

#include <charconv>
#include <ctime>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

namespace ftsc::profile {
namespace {

// include/uapi/linux/audit.h: AUDIT_ARCH_X86_64 = EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
constexpr std::string_view kArchX8664 = "c000003e";

template <typename T>
std::optional<T> number(std::string_view s, int base = 10) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

// comm="cat", or comm=6D7920617070 (hex, for names with spaces or quotes).
std::string decode_comm(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    return std::string(v.substr(1, v.size() - 2));
  if (v == "(null)")
    return "?";
  std::string out;
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    auto byte = number<unsigned>(v.substr(i, 2), 16);
    if (!byte)
      return std::string(v);
    out += static_cast<char>(*byte);
  }
  return out;
}

std::string iso_utc(double seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

base::Result<Profile> parse_audit_log(std::string_view text, std::string_view file) {
  Profile p;
  p.tracer = "audit";
  p.scope = "audit log";
  p.source = std::string(file);
  std::map<std::tuple<std::string, int, int>, uint64_t> failures;
  bool any_record = false;
  std::optional<double> first, last;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (size_t enriched = line.find('\x1d'); enriched != std::string_view::npos)
      line = line.substr(0, enriched);
    if (!line.starts_with("type="))
      continue;
    any_record = true;
    if (!line.starts_with("type=SYSCALL "))
      continue;
    auto bad = [&](const std::string& what) {
      return base::Error{
          fmt::format("SYSCALL record {}", what), base::SourceLoc{std::string(file), line_no, 0},
          "give a raw auditd log (/var/log/audit/audit.log), not ausearch -i output"};
    };
    std::map<std::string_view, std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
      size_t space = line.find(' ', i);
      if (space == std::string_view::npos)
        space = line.size();
      std::string_view token = line.substr(i, space - i);
      i = space + 1;
      size_t eq = token.find('=');
      if (eq != std::string_view::npos)
        fields.emplace(token.substr(0, eq), token.substr(eq + 1));
    }
    // msg=audit(1700000000.123:456):
    if (auto msg = fields.find("msg"); msg != fields.end()) {
      std::string_view m = msg->second;
      size_t open = m.find('('), colon = m.find(':');
      if (open != std::string_view::npos && colon != std::string_view::npos && colon > open) {
        std::string stamp(m.substr(open + 1, colon - open - 1));
        char* stop = nullptr;
        double t = std::strtod(stamp.c_str(), &stop);
        if (stop && *stop == '\0') {
          if (!first)
            first = t;
          last = t;
        }
      }
    }
    auto arch = fields.find("arch");
    auto nr_field = fields.find("syscall");
    auto exit_field = fields.find("exit");
    if (nr_field == fields.end())
      return bad("without syscall=");
    auto nr = number<int>(nr_field->second);
    if (!nr || *nr < 0)
      return bad(fmt::format("with a bad syscall number '{}'", nr_field->second));
    if (arch != fields.end() && arch->second != kArchX8664) {
      ++p.counts.uncounted;  // a 32-bit call: other numbers
      continue;
    }
    ++p.counts.calls[*nr];
    auto success = fields.find("success");
    if (success == fields.end() || success->second != "no")
      continue;
    if (exit_field == fields.end())
      return bad("with success=no but without exit=");
    auto result = number<int64_t>(exit_field->second);
    if (!result)
      return bad(fmt::format("with a bad exit value '{}'", exit_field->second));
    if (*result < 0 && *result >= -4095) {
      auto comm = fields.find("comm");
      std::string name = comm == fields.end() ? "?" : decode_comm(comm->second);
      ++failures[{name, *nr, static_cast<int>(-*result)}];
    }
  }
  if (!any_record)
    return base::Error{
        "not an audit log: no line starts with type=", base::SourceLoc{std::string(file), 0, 0},
        "give a raw auditd log, e.g. /var/log/audit/audit.log"};
  for (const auto& [key, n] : failures)
    p.counts.failures.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  p.counts.normalize();
  if (first && last) {
    p.started = iso_utc(*first);
    p.duration_s = *last - *first;
  }
  return p;
}

}  // namespace ftsc::profile
