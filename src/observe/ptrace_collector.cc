// SPDX-License-Identifier: Apache-2.0
//
// How it works. The command starts stopped (launch::Command, Hold::kStopped)
// and ftsc::trace's tracer seizes it, so that every new thread and process is
// traced from its first instruction; every stop resumes with PTRACE_SYSCALL.
// At a syscall-entry stop, PTRACE_GET_SYSCALL_INFO (Linux 5.3) gives the
// number; at the exit stop, the result. Calls are counted from the command's
// execve on; exit and exit_group, which never return, at their entry.
// Group-stops (job control) are left to the tracer (PTRACE_LISTEN). See
// ptrace(2), "Syscall-stops" and "PTRACE_SEIZE".
#include "observe/ptrace_collector.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <fstream>

#include <fmt/format.h>

namespace ftsc::observe {

base::Result<void> PtraceCollector::start(const std::vector<std::string>& argv) {
  launch::SpawnOptions spawn;
  spawn.argv = argv;
  spawn.hold = launch::SpawnOptions::Hold::kStopped;
  auto command = launch::Command::start(spawn);
  if (!command)
    return command.error();
  command_.emplace(std::move(*command));
  if (auto seized = tracer_.seize(command_->pid()); !seized)
    return seized.error();
  return {};
}

launch::RunOutcome PtraceCollector::wait(SignalScope& signals,
                                         const std::function<void()>& on_tick) {
  signals_ = &signals;
  on_tick_ = &on_tick;
  signals.forward_to(tracer_.main_pid());
  tracer_.run();
  signals.forward_to(0);
  signals_ = nullptr;
  on_tick_ = nullptr;
  if (const launch::ExecReport report = command_->exec_report(); report.exec_errno != 0)
    return launch::exec_failure(report.exec_errno);
  return tracer_.main_done() ? launch::outcome_of_status(tracer_.main_status())
                             : launch::RunOutcome{};
}

bool PtraceCollector::carry_on() {
  if (signals_ == nullptr)
    return true;
  if (signals_->take_tick() && on_tick_ != nullptr && *on_tick_)
    (*on_tick_)();
  if (tracer_.main_done()) {
    signals_->forward_to(0);
    // The command has ended and the user wants the profile: descendants that
    // outlive it are not waited for (they die with ftsc: PTRACE_O_EXITKILL).
    if (signals_->stop_requested())
      return false;
  }
  return true;
}

trace::Resume PtraceCollector::resume_mode(const trace::Tracee&) {
  return trace::Resume::kSyscall;
}

void PtraceCollector::seccomp_stop(const trace::Tracee& t) {
  tracer_.resume(t.tid, trace::Resume::kSyscall);  // not traced for: no TRACESECCOMP
}

void PtraceCollector::exec(const trace::Tracee& tr, pid_t former) {
  // The thread that executed now has the process's id; the others are gone.
  Thread& t = threads_[tr.tid];
  if (former != tr.tid) {
    threads_.erase(former);
    t.nr = SYS_execve;
  }
  for (auto it = threads_.begin(); it != threads_.end();) {
    const trace::Tracee* other = tracer_.find(it->first);
    it = other != nullptr && other->tgid == tr.tid && it->first != tr.tid ? threads_.erase(it)
                                                                          : std::next(it);
  }
  t.comm.clear();
  active_ = true;
  tracer_.resume(tr.tid, trace::Resume::kSyscall);
}

void PtraceCollector::exited(const trace::Tracee& t, int status) {
  (void)status;
  threads_.erase(t.tid);
}

void PtraceCollector::syscall_stop(const trace::Tracee& tr) {
  Thread& t = threads_[tr.tid];
  struct __ptrace_syscall_info info {};
  if (tracer_.syscall_info(tr.tid, info)) {
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
      t.nr = static_cast<long>(info.entry.nr);
      t.arg0 = info.entry.args[0];
      if (active_ && (t.nr == SYS_exit || t.nr == SYS_exit_group))
        ++calls_[static_cast<int>(t.nr)];
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT && t.nr >= 0) {
      long nr = t.nr;
      t.nr = -1;
      if (active_) {
        ++calls_[static_cast<int>(nr)];
        if (info.exit.is_error) {
          int err = static_cast<int>(-info.exit.rval);
          ++failures_[{comm_of(tr.tid, t), static_cast<int>(nr), err}];
        } else if (nr == SYS_prctl && t.arg0 == PR_SET_NAME) {
          t.comm.clear();  // the thread renamed itself
        }
      }
    }
  }
  tracer_.resume(tr.tid, trace::Resume::kSyscall);
}

const std::string& PtraceCollector::comm_of(pid_t tid, Thread& t) {
  if (t.comm.empty()) {
    std::ifstream in(fmt::format("/proc/{}/comm", tid));
    std::getline(in, t.comm);
    if (t.comm.empty())
      t.comm.assign(1, '?');
  }
  return t.comm;
}

profile::ProfileCounts PtraceCollector::read() const {
  profile::ProfileCounts counts;
  counts.calls = calls_;
  for (const auto& [key, n] : failures_)
    counts.failures.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  counts.normalize();
  return counts;
}

}  // namespace ftsc::observe
