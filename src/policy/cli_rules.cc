// SPDX-License-Identifier: Apache-2.0
// The command-line rule grammar. A value is split at '=' and ',' only; names
// stay as written (resolve() checks them and suggests spellings), so this file
// only rejects what cannot be a list of names or delays: a missing '=', empty
// names, stray commas or spaces (a shell quoting slip), malformed durations
// and schedules longer than the compiled policy can hold.
#include "policy/cli_rules.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "abi/compiled_policy.h"

namespace ftsc::policy {
namespace {

constexpr std::string_view kRetryForm =
    "write --retry SYSCALL[,SYSCALL...]=ERRNO[,ERRNO...], e.g. --retry openat,open=ENOENT or "
    "--retry %network=ECONNREFUSED,ETIMEDOUT";
constexpr std::string_view kBackoffForm =
    "write --backoff DELAY[,DELAY...], e.g. --backoff 10ms,50ms,100ms";

base::SourceLoc flag_loc(std::string_view flag, size_t offset) {
  return base::SourceLoc{std::string(flag), 0, static_cast<int>(offset) + 1};
}

base::Error flag_error(std::string_view flag, size_t offset, std::string message,
                       std::string_view form) {
  return base::Error{std::move(message), flag_loc(flag, offset), std::string(form)};
}

// Rejects blanks anywhere: names and delays never contain them.
base::Result<void> check_blanks(std::string_view flag, std::string_view text,
                                std::string_view form) {
  size_t pos = text.find_first_of(" \t\n\r\v\f");
  if (pos == std::string_view::npos)
    return {};
  return flag_error(flag, pos,
                    fmt::format("stray space at column {} in {} value '{}'", pos + 1, flag, text),
                    fmt::format("{} (no spaces; separate names with ',' only)", form));
}

// Splits a comma-separated list that starts at `offset` in the flag value.
// `what` names an element ("syscall name") for messages.
base::Result<std::vector<Named>> split_names(std::string_view flag, std::string_view whole,
                                             std::string_view part, size_t offset,
                                             std::string_view what, std::string_view form) {
  std::vector<Named> out;
  size_t start = 0;
  while (true) {
    size_t comma = part.find(',', start);
    std::string_view item = part.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) {
      size_t at = offset + start;
      std::string message = part.empty()
                                ? fmt::format("no {} in {} value '{}'", what, flag, whole)
                                : fmt::format("stray ',' in {} value '{}': empty {} at column {}",
                                              flag, whole, what, at + 1);
      return flag_error(flag, at, std::move(message), form);
    }
    out.push_back(Named{std::string(item), flag_loc(flag, offset + start)});
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

base::Result<RuleSpec> parse_retry_flag(std::string_view text) {
  constexpr std::string_view kFlag = "--retry";
  if (text.empty())
    return flag_error(kFlag, 0, "empty --retry value", kRetryForm);
  if (auto r = check_blanks(kFlag, text, kRetryForm); !r)
    return r.error();
  size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    return flag_error(
        kFlag, text.size(),
        fmt::format("missing '=' in --retry value '{}': which errnos to retry?", text), kRetryForm);
  if (size_t second = text.find('=', eq + 1); second != std::string_view::npos)
    return flag_error(kFlag, second, fmt::format("more than one '=' in --retry value '{}'", text),
                      fmt::format("{}; give one rule per --retry", kRetryForm));
  RuleSpec rule;
  rule.origin = "--retry";
  rule.where = base::SourceLoc{std::string(kFlag), 0, 0};
  auto syscalls = split_names(kFlag, text, text.substr(0, eq), 0, "syscall name", kRetryForm);
  if (!syscalls)
    return syscalls.error();
  auto errnos = split_names(kFlag, text, text.substr(eq + 1), eq + 1, "errno name", kRetryForm);
  if (!errnos)
    return errnos.error();
  rule.syscalls = std::move(*syscalls);
  rule.retry = std::move(*errnos);
  return rule;
}

base::Result<BackoffSpec> parse_backoff_flag(std::string_view text) {
  constexpr std::string_view kFlag = "--backoff";
  if (text.empty())
    return flag_error(kFlag, 0, "empty --backoff value", kBackoffForm);
  if (auto r = check_blanks(kFlag, text, kBackoffForm); !r)
    return r.error();
  auto items = split_names(kFlag, text, text, 0, "delay", kBackoffForm);
  if (!items)
    return items.error();
  if (items->size() > FTSC_DELAYS_MAX)
    return flag_error(kFlag, 0,
                      fmt::format("--backoff lists {} delays; at most {} retries are allowed",
                                  items->size(), FTSC_DELAYS_MAX),
                      "shorten the list (each delay is one retry)");
  BackoffSpec b;
  b.form = BackoffSpec::Form::kList;
  b.where = base::SourceLoc{std::string(kFlag), 0, 0};
  for (const Named& item : *items) {
    auto d = base::parse_duration(item.text);
    if (!d) {
      std::string hint = d.error().hint;
      if (item.text.find_first_of("={}*^") != std::string::npos)
        hint =
            "--backoff takes a list of delays; the exponential form (base, factor, cap, "
            "attempts) is written in a policy file";
      else
        hint = fmt::format("{}; {}", hint, kBackoffForm);
      return base::Error{d.error().message, item.where, std::move(hint)};
    }
    if (*d > base::kMaxPolicyDuration)
      return base::Error{fmt::format("delay '{}' is longer than {}, the longest a policy takes",
                                     item.text, base::format_duration(base::kMaxPolicyDuration)),
                         item.where, "retry delays are usually milliseconds"};
    b.delays.push_back(*d);
  }
  return b;
}

}  // namespace ftsc::policy
