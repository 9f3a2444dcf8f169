// SPDX-License-Identifier: Apache-2.0
//
// The ptrace event loop that every tracer of ftsc builds on: the retry
// supervisor and the profiler's fallback collector.
//
// How it works. A command started by launch::Command with Hold::kStopped
// stops itself before its exec; the tracer seizes it (PTRACE_SEIZE, ptrace(2))
// with options that follow every thread and process it creates from their
// first instruction (TRACECLONE, TRACEFORK, TRACEVFORK), report its execs
// (TRACEEXEC), mark syscall stops (TRACESYSGOOD), kill everything if ftsc dies
// (EXITKILL), and, for the supervisor, report seccomp stops (TRACESECCOMP).
// Then it waits for stops with waitpid(-1, __WALL) and tells them apart:
//
//   seccomp stop      status>>16 == PTRACE_EVENT_SECCOMP
//   syscall stop      WSTOPSIG == SIGTRAP|0x80 (entry or exit)
//   clone/fork/vfork  the creator's event stop; the new tracee's first stop
//                     (PTRACE_EVENT_STOP) may come before or after it
//   exec              PTRACE_EVENT_EXEC: the thread that called execve now
//                     has the process's id, every other thread is gone
//   group-stop        PTRACE_EVENT_STOP with a stop signal: job control;
//                     the tracee stays stopped (PTRACE_LISTEN) until SIGCONT
//   signal delivery   any other stop: the signal is delivered on resume
//   exit              WIFEXITED / WIFSIGNALED
//
// The tracer keeps which thread belongs to which process, drops the
// SIGSTOP/SIGCONT pair that starts the command, and resumes tracees after the
// stops it handles itself; a TraceHandler does the rest, and every ptrace
// request a handler makes goes through the tracer's methods. While a handler
// keeps tracees waiting on its own clock (the supervisor's parked threads),
// the loop sleeps in poll(2) on a pipe that its SIGCHLD handler writes to, so
// that no stop waits for a timer.
#pragma once

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/types.h>

#include <cstdint>
#include <map>

#include "arch/x86_64.h"
#include "base/result.h"

namespace ftsc::trace {

// How a tracee goes on after a stop.
enum class Resume {
  kCont,     // to its next traced event (a seccomp stop, a signal ...)
  kSyscall,  // to its next syscall stop as well (the exit of the call it is in)
};

struct Tracee {
  pid_t tid = 0;
  pid_t tgid = 0;
  bool attached = false;  // its first stop has been seen
};

class Tracer;

// What a tracer does at the stops the loop does not handle itself. A handler
// leaves the tracee resumed (Tracer::resume) unless it keeps it stopped on
// purpose.
class TraceHandler {
 public:
  virtual ~TraceHandler() = default;
  // A seccomp stop (only with TRACESECCOMP).
  virtual void seccomp_stop(const Tracee& t) = 0;
  // A syscall-entry or -exit stop.
  virtual void syscall_stop(const Tracee& t) = 0;
  // A thread or process the tracer follows from now on (created by parent).
  virtual void created(const Tracee& parent, const Tracee& child) {
    (void)parent;
    (void)child;
  }
  // t has exec'd (it called execve as thread `former`, now gone unless it
  // was the leader). The other threads of its process are gone: the tracer
  // forgets them after this call, without exited().
  virtual void exec(const Tracee& t, pid_t former) = 0;
  // A tracee ended (status as waitpid(2) gives it).
  virtual void exited(const Tracee& t, int status) {
    (void)t;
    (void)status;
  }
  // A signal is about to be delivered to t: the signal to deliver (0: none).
  virtual int delivering(const Tracee& t, int sig) {
    (void)t;
    return sig;
  }
  // A group-stop of t with sig: true when the handler dealt with it, false
  // to leave t stopped until SIGCONT (PTRACE_LISTEN).
  virtual bool group_stop(const Tracee& t, int sig) {
    (void)t;
    (void)sig;
    return false;
  }
  // How the tracer resumes t after the stops it handles itself.
  virtual Resume resume_mode(const Tracee& t) = 0;
  // Called before each wait: how long the loop may block until the next stop
  // (-1: until one comes). The place to serve waits the handler keeps.
  virtual int64_t wait_limit_ns() { return -1; }
  // Called before each wait and when a signal interrupts one: false ends the
  // loop before every tracee is gone.
  virtual bool carry_on() { return true; }
};

class Tracer {
 public:
  // options: PTRACE_O_* on top of those every tracer needs (TRACESECCOMP for
  // the supervisor).
  Tracer(TraceHandler& handler, unsigned extra_options);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Seizes pid, the command's process, which has stopped itself (or is about
  // to), and lets it go on. It then is the main tracee.
  base::Result<void> seize(pid_t pid);
  // Follows every tracee until none is left, or carry_on() says stop.
  void run();

  pid_t main_pid() const { return main_pid_; }
  bool main_exec_seen() const { return main_exec_seen_; }
  // Whether the command's process has ended, and its waitpid(2) status.
  bool main_done() const { return main_done_; }
  int main_status() const { return main_status_; }
  const Tracee* find(pid_t tid) const;
  // Every tracee, by thread id.
  const std::map<pid_t, Tracee>& tracees() const { return tracees_; }

  // The ptrace requests handlers make. Those that can fail return false when
  // the tracee is gone (killed meanwhile: its exit is reported by the loop).
  void resume(pid_t tid, Resume how, int sig = 0);
  bool get_regs(pid_t tid, arch::Regs& regs);
  bool set_regs(pid_t tid, const arch::Regs& regs);
  bool syscall_info(pid_t tid, struct __ptrace_syscall_info& info);
  bool siginfo(pid_t tid, siginfo_t& info);

 private:
  void on_stop(pid_t tid, int status);
  Tracee& tracee(pid_t tid);
  void wait_for_stop(int64_t timeout_ns);

  TraceHandler& handler_;
  unsigned options_;
  std::map<pid_t, Tracee> tracees_;
  pid_t main_pid_ = 0;
  bool main_exec_seen_ = false;
  bool main_done_ = false;
  int main_status_ = 0;
  struct sigaction old_sigchld_ {};
  bool sigchld_installed_ = false;
};

}  // namespace ftsc::trace
