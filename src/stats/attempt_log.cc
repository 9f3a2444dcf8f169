// SPDX-License-Identifier: Apache-2.0
#include "stats/attempt_log.h"

#include <fmt/format.h>

#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::stats {

namespace {

// The run-time check of a FTSC_SC_GUARD_* bit, in words.
std::string_view guard_description(uint16_t guard) {
  switch (guard) {
    case FTSC_SC_GUARD_NONBLOCK_FD:
      return "whether the fd is non-blocking (O_NONBLOCK)";
    case FTSC_SC_GUARD_SOCK_RCVTIMEO:
      return "whether the socket has a receive timeout (SO_RCVTIMEO)";
    case FTSC_SC_GUARD_SOCK_SNDTIMEO:
      return "whether the socket has a send timeout (SO_SNDTIMEO)";
    default:
      return "a guard";
  }
}

std::string errno_name_or_number(int err) {
  std::string_view name = kb::errno_name(err);
  return name.empty() ? fmt::format("errno {}", err) : std::string(name);
}

// Registers do not say a type: small numbers in decimal (an int's -1 or
// AT_FDCWD as the negative number it is), everything else in hex.
std::string format_arg(uint64_t v) {
  if (v < (1ull << 31))
    return fmt::format("{}", v);
  if (v < (1ull << 32) && static_cast<int32_t>(v) > -4096)
    return fmt::format("{}", static_cast<int32_t>(v));
  if (static_cast<int64_t>(v) < 0 && static_cast<int64_t>(v) > -4096)
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:#x}", v);
}

}  // namespace

std::string format_attempt_log(const AttemptLog& a) {
  const bool success = a.decision.reason == decide::Reason::kSuccess;
  if (success && a.retries == 0 && !a.injected)
    return {};
  std::string res = fmt::format("{}", a.result);
  if (a.result < 0 && a.result >= -4095) {
    std::string_view name = kb::errno_name(static_cast<int>(-a.result));
    if (!name.empty())
      res = fmt::format("-{}", name);
  }
  std::string what;
  if (a.decision.action == decide::Action::kRetry)
    what = fmt::format("retry {}/{} in {}ms", a.retries, a.n_delays,
                       (a.decision.delay_ns + 500'000) / 1'000'000);
  else if (success)
    what = fmt::format("recovered after {} {}", a.retries, a.retries == 1 ? "retry" : "retries");
  else if (a.decision.reason == decide::Reason::kGuardUnknown)
    what = fmt::format("guard_unknown: {} could not be checked ({}), so the call is not retried",
                       guard_description(a.decision.guard),
                       errno_name_or_number(-a.decision.probe_error));
  else
    what = decide::reason_name(a.decision.reason);
  if (a.injected)
    what = "injected, " + what;
  if (!a.layer.empty())
    what += fmt::format(" ({})", a.layer);
  return fmt::format("ftsc: [pid {}] {}({}, {}, ...) = {}, {}\n", a.tid,
                     kb::syscall_name(static_cast<int>(a.nr)), format_arg(a.arg0),
                     format_arg(a.arg1), res, what);
}

}  // namespace ftsc::stats
