// SPDX-License-Identifier: Apache-2.0
// `ftsc profile`: which syscalls fail, with which errno and how often, in one
// command and its descendants or on the whole machine. The eBPF collector
// (bpf_collector.h) counts in the kernel; for a command, the ptrace collector
// (ptrace_collector.h) stands in where eBPF cannot be used.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "profile/profile.h"

namespace ftsc::observe {

enum class Tracer { kAuto, kEbpf, kPtrace };

struct Options {
  Tracer tracer = Tracer::kAuto;
  // Live counts: on_tick runs once per `tick` with the counts so far.
  std::chrono::milliseconds tick{1000};
  std::function<void(const profile::ProfileCounts& counts, double elapsed_s)> on_tick;
  // Things the user should know, e.g. that ptrace stands in for eBPF.
  std::function<void(const std::string& message)> on_notice;
};

// Runs argv (argv[0] searched in PATH) to its end and that of every process
// it started, and returns its profile; exit_status is the command's (128+N
// when signal N killed it). Errors are ftsc's own (nothing to trace with, a
// command that cannot be executed: see exec_failed).
struct CommandProfile {
  profile::Profile profile;
  bool exec_failed = false;  // then profile.exit_status is 127 or 126
};
base::Result<CommandProfile> profile_command(const std::vector<std::string>& argv,
                                             const Options& options);

// What a system profile watches. At most one of cgroup, pid, comm.
struct SystemTarget {
  std::string cgroup;                                // a cgroup v2 directory (and its descendants)
  std::optional<pid_t> pid;                          // a process and the processes it starts
  std::string comm;                                  // tasks with this name
  std::optional<std::chrono::nanoseconds> duration;  // else until SIGINT/SIGTERM
};
base::Result<profile::Profile> profile_system(const SystemTarget& target, const Options& options);

}  // namespace ftsc::observe
