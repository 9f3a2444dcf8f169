// SPDX-License-Identifier: Apache-2.0
#include "profile/profile.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include <fmt/format.h>

#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::profile {
namespace {

// include/linux/errno.h: codes that never reach userspace; a tracer sees
// them at syscall exit before signal handling turns them into EINTR or a
// restart of the call.
struct RestartCode {
  int value;
  const char* name;
};
constexpr RestartCode kRestartCodes[] = {
    {512, "ERESTARTSYS"},
    {513, "ERESTARTNOINTR"},
    {514, "ERESTARTNOHAND"},
    {516, "ERESTART_RESTARTBLOCK"},
};

std::optional<int> parse_number(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
    return std::nullopt;
  return v;
}

}  // namespace

uint64_t ProfileCounts::total_calls() const {
  uint64_t n = 0;
  for (const auto& [nr, c] : calls)
    n += c;
  return n;
}

uint64_t ProfileCounts::total_failures() const {
  uint64_t n = 0;
  for (const ProfileFailure& f : failures)
    n += f.count;
  return n;
}

void ProfileCounts::normalize() {
  auto key = [](const ProfileFailure& f) { return std::tie(f.comm, f.nr, f.err); };
  std::sort(failures.begin(), failures.end(),
            [&](const ProfileFailure& a, const ProfileFailure& b) { return key(a) < key(b); });
  std::vector<ProfileFailure> merged;
  for (ProfileFailure& f : failures) {
    if (f.count == 0)
      continue;
    if (!merged.empty() && key(merged.back()) == key(f))
      merged.back().count += f.count;
    else
      merged.push_back(std::move(f));
  }
  failures = std::move(merged);
  std::erase_if(calls, [](const auto& kv) { return kv.second == 0; });
}

std::vector<SyscallSummary> summarize_syscalls(const ProfileCounts& counts) {
  std::map<int, SyscallSummary> by_nr;
  for (const auto& [nr, c] : counts.calls) {
    by_nr[nr].nr = nr;
    by_nr[nr].calls = c;
  }
  std::map<std::pair<int, int>, uint64_t> errnos;
  for (const ProfileFailure& f : counts.failures) {
    SyscallSummary& s = by_nr[f.nr];
    s.nr = f.nr;
    s.failures += f.count;
    errnos[{f.nr, f.err}] += f.count;
  }
  for (const auto& [k, c] : errnos)
    by_nr[k.first].errnos.push_back({k.second, c});
  std::vector<SyscallSummary> out;
  for (auto& [nr, s] : by_nr) {
    // A tracer that missed the call count (a dropped sample) still saw the failures.
    s.calls = std::max(s.calls, s.failures);
    std::stable_sort(s.errnos.begin(), s.errnos.end(),
                     [](const ErrnoCount& a, const ErrnoCount& b) { return a.count > b.count; });
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const SyscallSummary& a, const SyscallSummary& b) {
    if (a.failures != b.failures)
      return a.failures > b.failures;
    if (a.calls != b.calls)
      return a.calls > b.calls;
    return profile_syscall_label(a.nr) < profile_syscall_label(b.nr);
  });
  return out;
}

std::vector<ProcessSummary> summarize_processes(const ProfileCounts& counts) {
  std::map<std::string, ProcessSummary> by_comm;
  for (const ProfileFailure& f : counts.failures) {
    ProcessSummary& p = by_comm[f.comm];
    p.comm = f.comm;
    p.failures += f.count;
    p.items.push_back({f.nr, f.err, f.count});
  }
  std::vector<ProcessSummary> out;
  for (auto& [comm, p] : by_comm) {
    std::stable_sort(p.items.begin(), p.items.end(),
                     [](const ProcessSummary::Item& a, const ProcessSummary::Item& b) {
                       return a.count > b.count;
                     });
    out.push_back(std::move(p));
  }
  std::stable_sort(out.begin(), out.end(), [](const ProcessSummary& a, const ProcessSummary& b) {
    return a.failures > b.failures;
  });
  return out;
}

std::string profile_syscall_label(int nr) {
  std::string_view name = kb::syscall_name(nr);
  return name.empty() ? fmt::format("syscall_{}", nr) : std::string(name);
}

std::string profile_errno_label(int err) {
  for (const RestartCode& r : kRestartCodes) {
    if (r.value == err)
      return r.name;
  }
  std::string_view name = kb::errno_name(err);
  return name.empty() ? fmt::format("errno_{}", err) : std::string(name);
}

std::optional<int> profile_errno_value(std::string_view label) {
  for (const RestartCode& r : kRestartCodes) {
    if (label == r.name)
      return r.value;
  }
  if (auto v = kb::errno_value(label))
    return v;
  if (label.starts_with("errno_"))
    return parse_number(label.substr(6));
  return parse_number(label);
}

bool is_restart_code(int err) {
  for (const RestartCode& r : kRestartCodes) {
    if (r.value == err)
      return true;
  }
  return false;
}

}  // namespace ftsc::profile
