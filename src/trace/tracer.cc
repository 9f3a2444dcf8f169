// SPDX-License-Identifier: Apache-2.0
#include "trace/tracer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "trace/proc_status.h"

namespace ftsc::trace {
namespace {

constexpr unsigned kBaseOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
                                  PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;

// SIGCHLD writes a byte here, so that the loop can sleep until a handler's
// time without missing a tracee's stop (the self-pipe trick).
int g_child_pipe[2] = {-1, -1};

void on_sigchld(int) {
  int saved = errno;
  char c = 0;
  ssize_t ignored = write(g_child_pipe[1], &c, 1);  // full: a wakeup is pending anyway
  (void)ignored;
  errno = saved;
}

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

}  // namespace

Tracer::Tracer(TraceHandler& handler, unsigned extra_options)
    : handler_(handler), options_(kBaseOptions | extra_options) {
  if (pipe2(g_child_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return;
  struct sigaction sa {};
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART;  // not SA_NOCLDSTOP: a tracee's stop must wake the loop
  sigemptyset(&sa.sa_mask);
  sigchld_installed_ = sigaction(SIGCHLD, &sa, &old_sigchld_) == 0;
}

Tracer::~Tracer() {
  if (sigchld_installed_)
    sigaction(SIGCHLD, &old_sigchld_, nullptr);
  for (int& fd : g_child_pipe) {
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
}

base::Result<void> Tracer::seize(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, WSTOPPED) != pid || !WIFSTOPPED(status)) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return base::system_error("the command's process did not start", err);
  }
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(uintptr_t{options_})) != 0) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    base::Error e = base::system_error("cannot trace the command (PTRACE_SEIZE)", err);
    if (pid_t tracer = tracer_of(getpid()); tracer > 0) {
      e.hint = fmt::format(
          "ftsc itself runs under a tracer (pid {}), which traces the "
          "command too; a command has one tracer. If that tracer is "
          "an `ftsc run`, keep FTSC_SUPERVISOR_PID in the environment "
          "so that this one runs the command directly",
          tracer);
      return e;
    }
    e.hint =
        "ptrace may be restricted here (see /proc/sys/kernel/yama/ptrace_scope, "
        "containers without CAP_SYS_PTRACE); --engine preload needs no ptrace";
    return e;
  }
  main_pid_ = pid;
  Tracee& t = tracee(pid);
  t.tgid = pid;
  kill(pid, SIGCONT);
  return {};
}

Tracee& Tracer::tracee(pid_t tid) {
  auto [it, inserted] = tracees_.try_emplace(tid);
  if (inserted) {
    it->second.tid = tid;
    it->second.tgid = tgid_of(tid);
    if (it->second.tgid <= 0)
      it->second.tgid = tid;
  }
  return it->second;
}

const Tracee* Tracer::find(pid_t tid) const {
  auto it = tracees_.find(tid);
  return it == tracees_.end() ? nullptr : &it->second;
}

void Tracer::resume(pid_t tid, Resume how, int sig) {
  // ESRCH: the tracee was killed meanwhile; its exit is reported by waitpid.
  ::ptrace(how == Resume::kSyscall ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr,
           reinterpret_cast<void*>(static_cast<intptr_t>(sig)));
}

bool Tracer::get_regs(pid_t tid, arch::Regs& regs) {
  return ::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0;
}

bool Tracer::set_regs(pid_t tid, const arch::Regs& regs) {
  return ::ptrace(PTRACE_SETREGS, tid, nullptr, &regs) == 0;
}

bool Tracer::syscall_info(pid_t tid, struct __ptrace_syscall_info& info) {
  return ::ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof info), &info) > 0;
}

bool Tracer::siginfo(pid_t tid, siginfo_t& info) {
  return ::ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0;
}

void Tracer::run() {
  for (;;) {
    if (!handler_.carry_on())
      break;
    const int64_t limit = handler_.wait_limit_ns();
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL | (limit >= 0 ? WNOHANG : 0));
    if (tid == 0) {
      wait_for_stop(limit);
      continue;
    }
    if (tid < 0) {
      if (errno == EINTR)
        continue;
      break;  // ECHILD: every tracee is gone
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid == main_pid_) {
        main_done_ = true;
        main_status_ = status;
      }
      if (auto it = tracees_.find(tid); it != tracees_.end()) {
        handler_.exited(it->second, status);
        tracees_.erase(it);
      }
      continue;
    }
    if (WIFSTOPPED(status))
      on_stop(tid, status);
  }
}

void Tracer::on_stop(pid_t tid, int status) {
  Tracee& t = tracee(tid);
  int sig = WSTOPSIG(status);
  const int event = status >> 16;
  if (sig == (SIGTRAP | 0x80)) {
    handler_.syscall_stop(t);
    return;
  }
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      handler_.seccomp_stop(t);
      return;
    case PTRACE_EVENT_CLONE:
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK: {
      unsigned long id = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &id);
      if (id > 0) {
        Tracee& child = tracee(static_cast<pid_t>(id));
        child.tgid = event == PTRACE_EVENT_CLONE ? tgid_of(child.tid) : child.tid;
        if (child.tgid <= 0)
          child.tgid = child.tid;
        handler_.created(tracees_.at(tid), child);
      }
      resume(tid, handler_.resume_mode(tracees_.at(tid)));
      return;
    }
    case PTRACE_EVENT_EXEC: {
      unsigned long former = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
      t.tgid = tid;
      t.attached = true;
      if (tid == main_pid_)
        main_exec_seen_ = true;
      handler_.exec(t, static_cast<pid_t>(former));
      // The other threads of the process are gone (execve(2)).
      for (auto it = tracees_.begin(); it != tracees_.end();)
        it = it->second.tgid == tid && it->first != tid ? tracees_.erase(it) : std::next(it);
      return;
    }
    case PTRACE_EVENT_STOP:
      if (!t.attached) {
        t.attached = true;  // the first stop of a new tracee
        resume(tid, handler_.resume_mode(t));
      } else if (is_stop_signal(sig)) {
        // A group-stop (job control): it stays stopped until SIGCONT,
        // without holding up the loop.
        if (!handler_.group_stop(t, sig))
          ::ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
      } else {
        resume(tid, handler_.resume_mode(t));
      }
      return;
    default:
      break;
  }
  // A signal-delivery stop. The SIGSTOP/SIGCONT pair that starts the command
  // belongs to ftsc, not to the program.
  if (tid == main_pid_ && !main_exec_seen_ && (sig == SIGSTOP || sig == SIGCONT))
    sig = 0;
  t.attached = true;
  sig = handler_.delivering(t, sig);
  resume(tid, handler_.resume_mode(t), sig);
}

// Sleeps until a tracee changes state or timeout_ns passed.
void Tracer::wait_for_stop(int64_t timeout_ns) {
  struct pollfd p {
    g_child_pipe[0], POLLIN, 0
  };
  int ms = static_cast<int>((timeout_ns + 999'999) / 1'000'000);
  // SIGCHLD itself may interrupt the poll (EINTR): a tracee changed state,
  // which is what the wait was for.
  int r = g_child_pipe[0] < 0 ? -1 : poll(&p, 1, ms);
  if (r < 0 && errno == EINTR)
    return;
  if (r < 0) {
    struct timespec ts {
      0, static_cast<long>(std::min<int64_t>(timeout_ns, 10'000'000))
    };
    nanosleep(&ts, nullptr);
    return;
  }
  char drain[64];
  while (read(g_child_pipe[0], drain, sizeof drain) > 0) {
  }
}

}  // namespace ftsc::trace
