// SPDX-License-Identifier: Apache-2.0
//
// What a tracer reads about its tracees in /proc/TID/status (proc(5)): the
// process a thread belongs to, its tracer, its seccomp filters, and its
// signals (pending, blocked, ignored, caught), which a thread stopped by
// ptrace cannot act on, and the class of the program a process runs.
#pragma once

#include <sys/types.h>

namespace ftsc::trace {

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

}  // namespace ftsc::trace
