// SPDX-License-Identifier: Apache-2.0
//
// A traced call's life under the supervisor (supervisor.cc explains the
// mechanism): its seccomp stop, the exit stop of each attempt, the wait
// before a retry (a poll the thread runs itself, or parked in the
// supervisor), the re-execution, and what happens when the thread is not
// where the supervisor left it.
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "kb/syscall_table.h"
#include "ptrace/seccomp_filter.h"
#include "ptrace/supervisor_impl.h"
#include "ptrace/tracee_probe.h"
#include "trace/proc_status.h"

namespace ftsc::ptrace {

void Supervisor::Impl::seccomp_stop(const Tracee& tr) {
  Thread& t = thread(tr.tid);
  struct __ptrace_syscall_info info {};
  if (!tracer_->syscall_info(t.tid, info) || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    resume(t);
    return;
  }
  long nr = static_cast<long>(info.seccomp.nr);
  if (info.seccomp.ret_data != kFilterMarker) {
    // The program's own filter asked for a tracer (SECCOMP_RET_TRACE). It has
    // none of its own, so the call fails with ENOSYS, as seccomp(2) says it
    // does when no tracer is attached.
    if (!warned_foreign_seccomp_) {
      warned_foreign_seccomp_ = true;
      say(
          fmt::format("ftsc: [pid {}] the program's own seccomp filter asks a tracer to handle {}; "
                      "as without one, such calls fail with ENOSYS\n",
                      t.tid, kb::syscall_name(static_cast<int>(nr))));
    }
    arch::Regs regs;
    if (!tracer_->get_regs(t.tid, regs))
      return;
    arch::skip_syscall(regs);
    arch::set_result(regs, -ENOSYS);
    tracer_->set_regs(t.tid, regs);
    resume(t);
    return;
  }
  if (nr == SYS_ptrace) {
    if (info.seccomp.args[0] == PTRACE_TRACEME)
      traceme_.insert(t.tgid);
    if (!warned_ptrace_) {
      warned_ptrace_ = true;
      say(
          fmt::format("ftsc: [pid {}] the program calls ptrace, which cannot work under the ptrace "
                      "engine (ftsc already traces its processes); use --engine preload for it\n",
                      t.tid));
    }
    if (!(policy_.syscalls[nr].flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT))) {
      resume(t);
      return;
    }
  }
  if (t.phase == Thread::Phase::kSleeping || t.phase == Thread::Phase::kReconnecting) {
    // The backoff's poll, a reconnect's connect or getsockopt: ftsc's own.
    resume(t);
    return;
  }
  if (nr == SYS_getsockopt &&
      !(policy_.syscalls[nr].flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT)) &&
      !remembers_connect(t, static_cast<int>(info.seccomp.args[0]))) {
    // Stopped for SO_ERROR only, and no connect of this fd is remembered:
    // nothing to see at its exit (async_connect.cc).
    resume(t);
    return;
  }
  arch::Regs regs;
  if (!tracer_->get_regs(t.tid, regs))
    return;
  bool continues = t.retrying && t.call.nr == nr && arch::ip(regs) == arch::ip(t.entry);
  // The kernel restarting an attempt that a signal interrupted: the same call
  // goes on, with the schedule and deadline it had. (A restart is not a new
  // attempt, unless an EINTR rule made it a retry.)
  bool restarted = false;
  int64_t wait_first = 0;
  if (!continues && t.interrupted && t.interrupted->args.nr == nr &&
      arch::ip(regs) == arch::ip(t.interrupted->entry)) {
    t.call = t.interrupted->call;
    t.args = t.interrupted->args;
    t.entry = t.interrupted->entry;
    restarted = !t.interrupted->eintr_retry;
    wait_first = t.interrupted->eintr_retry ? t.interrupted->delay_ns : 0;
    t.interrupted.reset();
    continues = true;
  }
  if (!continues) {
    uint64_t seed = static_cast<uint64_t>(now_ns()) ^ (static_cast<uint64_t>(t.tid) << 32);
    unit_.begin_call(t.call, nr, process(t.tgid).budget, seed);
    t.entry = regs;
    t.args.nr = nr;
    for (int i = 0; i < 6; ++i)
      t.args.args[i] = info.seccomp.args[i];
  }
  t.retrying = false;
  t.injected = 0;
  t.wait_first = 0;
  t.phase = Thread::Phase::kInCall;
  if (wait_first > 0) {
    // An EINTR rule's retry: the signal's handler has run; the rule's delay
    // comes before the attempt. Skip the call; its exit stop starts the wait.
    t.wait_first = wait_first;
    arch::skip_syscall(regs);
    tracer_->set_regs(t.tid, regs);
  } else if (!restarted && (policy_.syscalls[nr].flags & FTSC_SC_INJECT)) {
    t.injected = unit_.inject(t.call, process(t.tgid).counters.next(nr));
    if (t.injected != 0) {
      arch::skip_syscall(regs);
      arch::set_result(regs, -t.injected);
      tracer_->set_regs(t.tid, regs);
    }
  }
  resume(t);
}

void Supervisor::Impl::syscall_stop(const Tracee& tr) {
  Thread& t = thread(tr.tid);
  // From a seccomp stop the next syscall stop is the exit; the backoff's
  // poll, which the filter does not stop, shows its entry first.
  struct __ptrace_syscall_info info {};
  if (tracer_->syscall_info(t.tid, info) && info.op != PTRACE_SYSCALL_INFO_EXIT) {
    resume(t);
    return;
  }
  if (t.phase == Thread::Phase::kInCall) {
    on_attempt_exit(t);
  } else if (t.phase == Thread::Phase::kSleeping) {
    on_sleep_exit(t);
  } else if (t.phase == Thread::Phase::kReconnecting) {
    on_reconnect_exit(t);
  } else {
    resume(t);
  }
}

void Supervisor::Impl::on_attempt_exit(Thread& t) {
  arch::Regs regs;
  if (!tracer_->get_regs(t.tid, regs))
    return;
  // The exit stop of the attempt this thread entered: the same instruction,
  // the same syscall (or -1 where the supervisor skipped it). Anything else
  // means the supervisor lost track (a stop it did not expect came first).
  const long expected_nr = t.injected != 0 || t.wait_first > 0 ? -1 : t.args.nr;
  if (arch::ip(regs) != arch::ip(t.entry) || arch::syscall_nr(regs) != expected_nr) {
    lose_track(t, "an attempt's exit stop is not where its entry was");
    return;
  }
  if (t.wait_first > 0) {
    // The skipped call of an EINTR rule's retry: wait, then run it.
    arch::set_result(regs, -EINTR);  // what the program gets if a signal ends the wait
    regs.orig_rax = static_cast<uint64_t>(t.args.nr);
    int64_t delay = t.wait_first;
    t.wait_first = 0;
    wait_then_reexecute(t, regs, delay);
    return;
  }
  long result = t.injected != 0 ? -t.injected : arch::result(regs);
  if (t.injected == 0 && is_restart_code(result)) {
    on_restart_code(t, result);
    return;
  }
  if (t.injected == 0 && t.args.nr == SYS_connect && connect_again_outcome(t, result)) {
    // The outcome of a non-blocking connect, asked for by connecting again.
    t.last_exit = regs;
    reconnect_outcome(t, result);
    return;
  }
  TraceeProbe probe(t.tid, t.tgid);
  decide::Decision d = unit_.on_result(t.call, t.args, result, probe, now_ns());
  if (options_.verbosity > 0)
    log_decision(t, result, d);

  if (t.injected != 0) {
    arch::set_result(regs, -t.injected);
    regs.orig_rax = static_cast<uint64_t>(t.args.nr);
  }
  if (d.action == decide::Action::kReturn) {
    if (t.injected != 0)
      tracer_->set_regs(t.tid, regs);
    t.phase = Thread::Phase::kRunning;
    if (t.injected == 0 && t.args.nr == SYS_connect && result == -EINPROGRESS)
      remember_connect(t);
    if (t.injected == 0 && t.args.nr == SYS_getsockopt && result == 0 && so_error_outcome(t, regs))
      return;  // a non-blocking connect's failure, which the supervisor retries
    resume(t);
    return;
  }
  wait_then_reexecute(t, regs, d.delay_ns);
}

// A signal interrupted the attempt: the kernel shows a restart code, which
// the program never sees. After the signal the kernel restarts the attempt
// (ERESTARTNOINTR; ERESTARTSYS when the handler has SA_RESTART, or when no
// handler runs; ERESTARTNOHAND when no handler runs) or gives the program
// EINTR. The call is held until one of the two shows (on_interrupting_signal,
// on_seccomp_stop). ERESTART_RESTARTBLOCK restarts through restart_syscall,
// which ftsc does not trace: the call ends here.
void Supervisor::Impl::on_restart_code(Thread& t, long code) {
  t.phase = Thread::Phase::kRunning;
  if (code == -kERestartRestartBlock) {
    if (t.call.first_errno != 0)
      unit_.on_interrupted(t.call, 0);
  } else {
    t.interrupted = Thread::Interrupted{t.call, t.args, t.entry, static_cast<int>(-code)};
  }
  resume(t);
}

// The wait before the next attempt, then the attempt: in the tracee's own
// poll, or parked in the supervisor.
void Supervisor::Impl::wait_then_reexecute(Thread& t, const arch::Regs& exit_regs,
                                           int64_t delay_ns) {
  t.last_exit = exit_regs;
  if (delay_ns <= 0) {
    if (t.reconnect)
      start_reconnect(t);
    else
      reexecute(t);
    return;
  }
  if (!can_sleep_in(t)) {
    park(t, delay_ns);
    return;
  }
  // Sleep in the tracee: poll(NULL, 0, ms) at the same syscall instruction.
  arch::Regs sleep = exit_regs;
  arch::rewind_to_syscall(sleep, SYS_poll);
  arch::set_arg(sleep, 0, 0);
  arch::set_arg(sleep, 1, 0);
  int64_t ms = (delay_ns + 999'999) / 1'000'000;
  arch::set_arg(sleep, 2, static_cast<uint64_t>(ms > INT32_MAX ? INT32_MAX : ms));
  tracer_->set_regs(t.tid, sleep);
  t.phase = Thread::Phase::kSleeping;
  t.sleep_start = now_ns();
  resume(t);
}

// The thread is not where the supervisor put it (a signal handler ran where
// it expected the end of its own poll, a stop it did not foresee came first):
// rewinding it now would run stale registers. Its call ends, counted as
// interrupted, and the thread goes on untouched.
void Supervisor::Impl::lose_track(Thread& t, const char* why) {
  if (t.waiting() || t.call.first_errno != 0)
    unit_.on_interrupted(t.call, t.waiting() ? now_ns() - t.sleep_start : 0);
  parked_.erase(t.tid);
  t.reconnect.reset();
  if (options_.verbosity > 0)
    say(fmt::format("ftsc: [pid {}] {}: its call ends without further retries\n", t.tid, why));
  t.phase = Thread::Phase::kRunning;
  t.retrying = false;
  t.wait_first = 0;
  resume(t);
}

void Supervisor::Impl::on_sleep_exit(Thread& t) {
  arch::Regs regs;
  if (!tracer_->get_regs(t.tid, regs))
    return;
  // The exit of the poll this thread was set to run at its call's
  // instruction (or of restart_syscall, which continues an interrupted poll).
  // Anything else (a handler that another thread installed between the
  // signal check and the delivery ran instead, and then made a call) must
  // not be rewound to the call's registers.
  const long nr = arch::syscall_nr(regs);
  if (arch::ip(regs) != arch::ip(t.last_exit) || (nr != SYS_poll && nr != SYS_restart_syscall)) {
    lose_track(t, "a backoff's wait ended somewhere else than in its poll");
    return;
  }
  int64_t waited = now_ns() - t.sleep_start;
  long r = arch::result(regs);
  if (r == -EINTR || is_restart_code(r)) {
    // A signal interrupted the poll. Whether it ends the wait is decided at
    // its delivery stop, which comes next (on_stop, end_wait). If it does
    // not end the wait (an ignored signal: under ptrace those interrupt
    // sleeps too), the kernel restarts the poll through restart_syscall for
    // the remaining time, and its exit stop lands here again.
    resume(t);
    return;
  }
  if (r < 0) {
    // The poll itself failed (a seccomp filter refused it): no retry, the
    // program gets its call's last error.
    end_wait(t, waited, /*cannot_wait=*/true);
    resume(t);
    return;
  }
  unit_.on_waited(t.call, waited);
  if (t.reconnect)
    start_reconnect(t);
  else
    reexecute(t);
}

// The next attempt: the registers of the first attempt's entry, rewound over
// the syscall instruction, so that the very same call runs again.
void Supervisor::Impl::reexecute(Thread& t) {
  arch::Regs again = t.entry;
  arch::rewind_to_syscall(again, t.args.nr);
  tracer_->set_regs(t.tid, again);
  t.retrying = true;
  t.phase = Thread::Phase::kRunning;
  resume(t);
}

// A wait ends early (a signal, or a poll that failed): the program gets the
// last error of its call, then handles the signal if there is one. With rax
// holding that error rather than a restart code, the kernel restarts nothing.
void Supervisor::Impl::end_wait(Thread& t, int64_t waited_ns, bool cannot_wait) {
  decide::Decision d = cannot_wait ? unit_.on_cannot_wait(t.call, waited_ns)
                                   : unit_.on_interrupted(t.call, waited_ns);
  if (options_.verbosity > 0)
    log_decision(t, -t.call.last_errno, d);
  give_async_result(t, -t.call.last_errno);
  tracer_->set_regs(t.tid, t.last_exit);
  t.phase = Thread::Phase::kRunning;
}

// A backoff waits in poll(2) run by the thread itself. A seccomp filter the
// program added after ftsc's may refuse it, or kill the process for it, so a
// process with more filters than the command had at its exec is parked
// instead.
bool Supervisor::Impl::can_sleep_in(const Thread& t) {
  if (baseline_filters_ < 0)
    return true;  // the kernel does not say (before Linux 5.9), or no exec yet
  return trace::seccomp_filters_of(t.tid) <= baseline_filters_;
}

// The thread waits in its exit stop, which a signal does not end: the
// supervisor looks for pending signals while it waits (serve_parked).
void Supervisor::Impl::park(Thread& t, int64_t delay_ns) {
  if (!warned_parked_) {
    warned_parked_ = true;
    say(fmt::format(
        "ftsc: [pid {}] the program installed its own seccomp filter; its backoffs wait "
        "in ftsc instead of in the program, and a signal ends them within {}ms\n",
        t.tid, kParkedPollNs / 1'000'000));
  }
  t.phase = Thread::Phase::kParked;
  t.sleep_start = now_ns();
  t.wake_at = t.sleep_start + delay_ns;
  parked_.insert(t.tid);
}

// Re-executes the parked calls whose time has come and ends the waits that a
// pending signal should end. Returns how long the supervisor may sleep before
// it looks again, or 0 when no thread is parked.
int64_t Supervisor::Impl::serve_parked() {
  int64_t next = 0;
  for (auto it = parked_.begin(); it != parked_.end();) {
    pid_t tid = *it;
    Thread& t = threads_.at(tid);
    int64_t now = now_ns();
    bool stays = false;
    if (trace::pending_signal_ends_wait(tid)) {
      // Resumed, the thread returns its last error and the kernel delivers
      // the signal.
      end_wait(t, now - t.sleep_start);
      resume(t);
    } else if (now >= t.wake_at) {
      unit_.on_waited(t.call, now - t.sleep_start);
      reexecute(t);
    } else {
      stays = true;
      int64_t left = std::min(t.wake_at - now, kParkedPollNs);
      next = next == 0 ? left : std::min(next, left);
    }
    it = stays ? std::next(it) : parked_.erase(it);
  }
  return next;
}

// While a thread is parked, the loop wakes for its time and to look for
// signals that should end its wait.
int64_t Supervisor::Impl::wait_limit_ns() {
  const int64_t next = serve_parked();
  return next > 0 ? next : -1;
}

}  // namespace ftsc::ptrace
