// SPDX-License-Identifier: Apache-2.0
//
// The ptrace collector, for `ftsc profile -- CMD` where eBPF cannot be used:
// the command runs as a traced child on ftsc::trace's event loop, and every
// syscall of it and of every process and thread it starts stops twice
// (PTRACE_SYSCALL), so it is much slower than the eBPF collector, and it sees
// only that command.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "launch/outcome.h"
#include "launch/spawn.h"
#include "observe/signals.h"
#include "profile/profile.h"
#include "trace/tracer.h"

namespace ftsc::observe {

class PtraceCollector final : public trace::TraceHandler {
 public:
  PtraceCollector() : tracer_(*this, 0) {}
  PtraceCollector(const PtraceCollector&) = delete;
  PtraceCollector& operator=(const PtraceCollector&) = delete;

  // Starts argv traced (argv[0] searched in PATH); counting starts at its execve.
  base::Result<void> start(const std::vector<std::string>& argv);
  // Follows the command and its descendants to their end, or, once the
  // command has ended, until SIGINT or SIGTERM (then the remaining tracees
  // are killed when ftsc exits); on_tick runs once per timer period of `signals`.
  launch::RunOutcome wait(SignalScope& signals, const std::function<void()>& on_tick);
  profile::ProfileCounts read() const;

  // trace::TraceHandler
  void seccomp_stop(const trace::Tracee& t) override;
  void syscall_stop(const trace::Tracee& t) override;
  void exec(const trace::Tracee& t, pid_t former) override;
  void exited(const trace::Tracee& t, int status) override;
  trace::Resume resume_mode(const trace::Tracee& t) override;
  bool carry_on() override;

 private:
  struct Thread {
    long nr = -1;  // the call the thread is in, from its entry stop
    unsigned long long arg0 = 0;
    std::string comm;  // "" until needed
  };
  const std::string& comm_of(pid_t tid, Thread& t);

  trace::Tracer tracer_;
  std::optional<launch::Command> command_;
  bool active_ = false;  // the command has executed: its calls count
  SignalScope* signals_ = nullptr;
  const std::function<void()>* on_tick_ = nullptr;
  std::unordered_map<pid_t, Thread> threads_;
  std::map<int, uint64_t> calls_;
  std::map<std::tuple<std::string, int, int>, uint64_t> failures_;
};

}  // namespace ftsc::observe
