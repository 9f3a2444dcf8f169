// SPDX-License-Identifier: Apache-2.0
// The eBPF collector: loads the profiler's BPF program (bpf/profile.bpf.c,
// compiled by clang and wrapped in a bpftool-generated skeleton at build
// time), attaches it to the raw_syscalls tracepoints and reads the counts it
// aggregates in the kernel. Needs root (CAP_BPF and CAP_PERFMON) and a kernel
// with BTF (/sys/kernel/btf/vmlinux) for CO-RE. The BPF memory is charged to
// the cgroup (Linux >= 5.11), so RLIMIT_MEMLOCK is left alone.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/result.h"
#include "profile/profile.h"

namespace ftsc::observe {

// Which tasks count.
struct BpfTarget {
  enum class Kind { kAll, kProcesses, kComm, kCgroup };
  Kind kind = Kind::kAll;
  std::string comm;    // kComm: a task name (at most 15 characters)
  std::string cgroup;  // kCgroup: a cgroup v2 directory; its descendants count too
};

class BpfCollector {
 public:
  // Loads and attaches the program. Errors say why eBPF cannot be used.
  static base::Result<std::unique_ptr<BpfCollector>> open(const BpfTarget& target);
  ~BpfCollector();
  BpfCollector(const BpfCollector&) = delete;
  BpfCollector& operator=(const BpfCollector&) = delete;

  // kProcesses: counts process `pid` (as this process's pid namespace numbers
  // it) and the processes it starts, from its next syscall on, or, with
  // until_exec, from its next successful execve on. One process at a time:
  // the next may be added once this one made a syscall (registered() says).
  void add_process(pid_t pid, bool until_exec);
  bool registered() const;

  // The counts so far (per-CPU values summed).
  profile::ProfileCounts read() const;

 private:
  BpfCollector();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Why eBPF cannot be used here ("" when it looks usable): not root, no BTF.
std::string ebpf_unavailable_reason();

}  // namespace ftsc::observe
