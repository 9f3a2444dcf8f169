// SPDX-License-Identifier: Apache-2.0
// A syscall profile: how often each syscall was called and which calls failed
// with which errno, by process name, in a workload that `ftsc profile`
// observed (with eBPF, ptrace, or from an audit log). The model every
// profile output (table, JSON, HTML report) and `ftsc policy suggest` share.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ftsc::profile {

// Failed calls of syscall nr with errno err made by tasks named comm.
struct ProfileFailure {
  std::string comm;
  int nr = 0;
  int err = 0;
  uint64_t count = 0;
  bool operator==(const ProfileFailure&) const = default;
};

// What a tracer counted.
struct ProfileCounts {
  std::map<int, uint64_t> calls;         // syscall nr -> calls, failed ones included
  std::vector<ProfileFailure> failures;  // one entry per (comm, nr, err)
  uint64_t dropped = 0;                  // failures not counted (a full kernel table)
  uint64_t uncounted = 0;                // calls with numbers outside the syscall table

  uint64_t total_calls() const;
  uint64_t total_failures() const;
  // Merges entries with the same (comm, nr, err) and sorts them.
  void normalize();
  bool operator==(const ProfileCounts&) const = default;
};

// A profile and what it observed.
struct Profile {
  std::string tracer;                // "ebpf", "ptrace" or "audit"
  std::string scope;                 // "command", "system" or "audit log"
  std::vector<std::string> command;  // scope "command": what ran
  std::string filter;                // scope "system": "cgroup PATH", "pid N", "comm NAME" or ""
  std::string source;                // scope "audit log": the log read
  std::string started;               // UTC, ISO 8601 ("2025-01-31T12:00:00Z"); may be empty
  double duration_s = 0;
  bool interrupted = false;        // ended by Ctrl-C (SIGINT) or SIGTERM
  std::optional<int> exit_status;  // scope "command": the command's exit status
  ProfileCounts counts;
  bool operator==(const Profile&) const = default;
};

struct ErrnoCount {
  int err = 0;
  uint64_t count = 0;
};

// One syscall's line: calls, failures and the errnos, most frequent first.
struct SyscallSummary {
  int nr = 0;
  uint64_t calls = 0;
  uint64_t failures = 0;
  std::vector<ErrnoCount> errnos;
  double failure_ratio() const {
    return calls ? static_cast<double>(failures) / static_cast<double>(calls) : 0.0;
  }
};

// Every syscall with calls or failures, sorted by failures, then calls (both
// descending), then name.
std::vector<SyscallSummary> summarize_syscalls(const ProfileCounts& counts);

// One process name's failures, most frequent (syscall, errno) first.
struct ProcessSummary {
  std::string comm;
  uint64_t failures = 0;
  struct Item {
    int nr = 0;
    int err = 0;
    uint64_t count = 0;
  };
  std::vector<Item> items;
};

// Every process name with failures, most failures first.
std::vector<ProcessSummary> summarize_processes(const ProfileCounts& counts);

// The syscall's name, or "syscall_NR" when libseccomp has none.
std::string profile_syscall_label(int nr);
// glibc's errno name, the kernel's name of an internal restart code
// (ERESTARTSYS ...), or "errno_N".
std::string profile_errno_label(int err);
// The number of such a label (also accepts numbers), or nullopt.
std::optional<int> profile_errno_value(std::string_view label);
// Whether err is one of the kernel's internal restart codes (512-516), which
// a tracer sees and the program never does.
bool is_restart_code(int err);

}  // namespace ftsc::profile
