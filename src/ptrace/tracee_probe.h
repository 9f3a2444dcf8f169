// Run-time guard checks on a traced thread's file descriptors: O_NONBLOCK
// from /proc/TID/fdinfo (proc(5)), socket timeouts through a duplicate of the
// fd taken with pidfd_getfd(2). A check that cannot be made (fdinfo
// unreadable, the fd gone between the two stops, pidfd_open or pidfd_getfd
// refused, as Docker's default seccomp profile refuses pidfd_getfd without
// CAP_SYS_PTRACE) answers the errno, and the guard counts as holding.
#pragma once

#include <sys/types.h>

#include "decide/retry_unit.h"

namespace ftsc::ptrace {

class TraceeProbe final : public decide::GuardProbe {
 public:
  TraceeProbe(pid_t tid, pid_t tgid) : tid_(tid), tgid_(tgid) {}
  int fd_nonblocking(int fd) override;
  int socket_timeout(int fd, bool send) override;

 private:
  pid_t tid_;
  pid_t tgid_;
};

// Would signal sig, about to be delivered to thread tid, run a handler or end
// the process? (signal(7): caught, or not ignored and a default action that
// terminates.) Ignored signals, those whose default is to be ignored (SIGCHLD,
// SIGURG, SIGWINCH, SIGCONT) and stop signals do not end a backoff wait.
// Under ptrace even ignored signals interrupt a sleep and are reported to the
// tracer, so the supervisor asks this before it ends a wait.
bool signal_ends_wait(pid_t tid, int sig);

// Does signal sig, about to be delivered to thread tid, run a handler the
// program installed (SigCgt)? Then a syscall it interrupted may end in EINTR.
bool signal_runs_handler(pid_t tid, int sig);

// Is a signal pending for thread tid (for it or its process, not blocked)
// that signal_ends_wait() says ends a wait? For a thread parked in a ptrace
// stop, which signals do not wake.
bool pending_signal_ends_wait(pid_t tid);

// The thread group (process) id of a thread, from /proc/TID/status; -1 if unknown.
pid_t tgid_of(pid_t tid);

// The thread's tracer (TracerPid), 0 if none; -1 if unknown.
pid_t tracer_of(pid_t tid);

// Does process pid run a 32-bit ELF program (its /proc/PID/exe)?
bool is_32bit_program(pid_t pid);

// How many seccomp filters the thread runs under (Seccomp_filters, Linux 5.9); -1 if unknown.
int seccomp_filters_of(pid_t tid);

}  // namespace ftsc::ptrace
