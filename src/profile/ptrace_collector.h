// The ptrace collector, for `ftsc profile -- CMD` where eBPF cannot be used:
// the command runs as a traced child, and every syscall of it and of every
// process and thread it starts stops twice (PTRACE_SYSCALL), so it is much
// slower than the eBPF collector, and it sees only that command.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/profile_data.h"
#include "core/result.h"
#include "core/run_report.h"
#include "profile/signals.h"

namespace ftsc::profile {

class PtraceCollector {
 public:
  PtraceCollector() = default;
  PtraceCollector(const PtraceCollector&) = delete;
  PtraceCollector& operator=(const PtraceCollector&) = delete;

  // Starts `path` with argv traced; counting starts at its execve.
  core::Result<pid_t> start(const std::string& path, const std::vector<std::string>& argv);
  // Follows the command and its descendants to their end, or, once the
  // command has ended, until SIGINT or SIGTERM (then the remaining tracees
  // are killed when ftsc exits); on_tick runs once per timer period of `signals`.
  core::RunOutcome wait(SignalScope& signals, const std::function<void()>& on_tick);
  core::ProfileCounts read() const;

 private:
  struct Thread {
    long nr = -1;  // the call the thread is in, from its entry stop
    unsigned long long arg0 = 0;
    bool attached = false;
    std::string comm;  // "" until needed
  };
  void on_stop(pid_t tid, int status);
  void on_syscall(pid_t tid, Thread& t);
  const std::string& comm_of(pid_t tid, Thread& t);

  pid_t main_ = 0;
  int exec_error_fd_ = -1;
  bool active_ = false;  // the command has executed: its calls count
  std::unordered_map<pid_t, Thread> threads_;
  std::map<int, uint64_t> calls_;
  std::map<std::tuple<std::string, int, int>, uint64_t> failures_;
};

}  // namespace ftsc::profile
