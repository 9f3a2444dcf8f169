// How it works. The child stops itself (SIGSTOP) before it executes the
// command; the collector attaches with PTRACE_SEIZE (options TRACESYSGOOD,
// EXITKILL, TRACECLONE, TRACEFORK, TRACEVFORK, TRACEEXEC, so that every new
// thread and process is traced from its first instruction), sends SIGCONT and
// resumes every stop with PTRACE_SYSCALL. At a syscall-entry stop,
// PTRACE_GET_SYSCALL_INFO (Linux 5.3) gives the number; at the exit stop, the
// result. Calls are counted from the command's execve on; exit and
// exit_group, which never return, at their entry. Group-stops (job control)
// are left with PTRACE_LISTEN. See ptrace(2), "Syscall-stops" and
// "PTRACE_SEIZE".
#include "profile/ptrace_collector.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace ftsc::profile {
namespace {

constexpr unsigned kOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
                              PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void resume(pid_t tid, int sig = 0) {
  ::ptrace(PTRACE_SYSCALL, tid, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(sig)));
}

}  // namespace

core::Result<pid_t> PtraceCollector::start(const std::string& path,
                                           const std::vector<std::string>& argv) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0)
    return core::Error{fmt::format("cannot create a pipe: {}", std::strerror(errno)), {}, {}};
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    return core::Error{fmt::format("cannot fork: {}", std::strerror(errno)), {}, {}};
  if (pid == 0) {
    close(err_pipe[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    raise(SIGSTOP);
    execv(path.c_str(), args.data());
    int err = errno;
    ssize_t ignored = write(err_pipe[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(err_pipe[1]);
  exec_error_fd_ = err_pipe[0];
  int status = 0;
  if (waitpid(pid, &status, WSTOPPED) != pid || !WIFSTOPPED(status) ||
      ::ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(uintptr_t{kOptions})) != 0) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return core::Error{fmt::format("cannot trace the command: {}", std::strerror(err)),
                       {},
                       "ptrace may be restricted here (containers without CAP_SYS_PTRACE)"};
  }
  main_ = pid;
  threads_[pid].attached = true;
  kill(pid, SIGCONT);
  return pid;
}

core::RunOutcome PtraceCollector::wait(SignalScope& signals, const std::function<void()>& on_tick) {
  signals.forward_to(main_);
  int main_status = 0;
  bool main_done = false;
  for (;;) {
    if (signals.take_tick() && on_tick)
      on_tick();
    // The command has ended and the user wants the profile: descendants that
    // outlive it are not waited for (they die with ftsc: PTRACE_O_EXITKILL).
    if (main_done && signals.stop_requested())
      break;
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR)
        continue;
      break;  // ECHILD: every tracee has ended
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid == main_) {
        main_done = true;
        main_status = status;
        signals.forward_to(0);
      }
      threads_.erase(tid);
      continue;
    }
    if (WIFSTOPPED(status))
      on_stop(tid, status);
  }
  int exec_err = 0;
  bool exec_failed = ::read(exec_error_fd_, &exec_err, sizeof exec_err) == sizeof exec_err;
  close(exec_error_fd_);
  exec_error_fd_ = -1;
  if (exec_failed)
    return core::exec_failure(exec_err);
  return main_done ? core::outcome_of_status(main_status) : core::RunOutcome{};
}

void PtraceCollector::on_stop(pid_t tid, int status) {
  Thread& t = threads_[tid];
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  if (sig == (SIGTRAP | 0x80)) {
    on_syscall(tid, t);
    resume(tid);
    return;
  }
  switch (event) {
    case PTRACE_EVENT_CLONE:
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
      resume(tid);
      return;
    case PTRACE_EVENT_EXEC: {
      // The thread that executed now has the process's id; the others are gone.
      unsigned long former = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
      if (static_cast<pid_t>(former) != tid) {
        threads_.erase(static_cast<pid_t>(former));
        t.nr = SYS_execve;
      }
      t.comm.clear();
      t.attached = true;
      active_ = true;
      resume(tid);
      return;
    }
    case PTRACE_EVENT_STOP:
      if (!t.attached) {
        t.attached = true;  // a new tracee's first stop
        resume(tid);
      } else if (is_stop_signal(sig)) {
        ::ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);  // job control: stay stopped
      } else {
        resume(tid);
      }
      return;
    default:
      break;
  }
  // A signal-delivery stop. The SIGSTOP/SIGCONT that start the command are ftsc's.
  if (tid == main_ && !active_ && (sig == SIGSTOP || sig == SIGCONT))
    sig = 0;
  t.attached = true;
  resume(tid, sig);
}

void PtraceCollector::on_syscall(pid_t tid, Thread& t) {
  struct __ptrace_syscall_info info {};
  if (::ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof info), &info) <= 0)
    return;
  if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
    t.nr = static_cast<long>(info.entry.nr);
    t.arg0 = info.entry.args[0];
    if (active_ && (t.nr == SYS_exit || t.nr == SYS_exit_group))
      ++calls_[static_cast<int>(t.nr)];
    return;
  }
  if (info.op != PTRACE_SYSCALL_INFO_EXIT || t.nr < 0)
    return;
  long nr = t.nr;
  t.nr = -1;
  if (!active_)
    return;
  ++calls_[static_cast<int>(nr)];
  if (info.exit.is_error) {
    int err = static_cast<int>(-info.exit.rval);
    ++failures_[{comm_of(tid, t), static_cast<int>(nr), err}];
  } else if (nr == SYS_prctl && t.arg0 == PR_SET_NAME) {
    t.comm.clear();  // the thread renamed itself
  }
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

core::ProfileCounts PtraceCollector::read() const {
  core::ProfileCounts counts;
  counts.calls = calls_;
  for (const auto& [key, n] : failures_)
    counts.failures.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  counts.normalize();
  return counts;
}

}  // namespace ftsc::profile
