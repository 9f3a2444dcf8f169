// SPDX-License-Identifier: Apache-2.0
//
// What signals do to the calls the supervisor handles (supervisor.cc
// explains the mechanism): a signal that ends a backoff's wait, one that
// interrupts an attempt (the kernel restarts it or the program gets EINTR),
// the second copy of a signal sent to ftsc and the command alike, and a
// process that stops itself for a tracer it cannot have.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "launch/signal_forwarding.h"
#include "ptrace/supervisor_impl.h"
#include "ptrace/tracee_probe.h"
#include "trace/proc_status.h"

namespace ftsc::ptrace {

// A signal is about to be delivered to a traced thread.
int Supervisor::Impl::delivering(const Tracee& tr, int sig) {
  Thread& t = thread(tr.tid);
  if (second_copy(t, sig))
    sig = 0;
  if (sig == SIGSTOP && traceme_.count(t.tgid) != 0) {
    // The first SIGSTOP after a PTRACE_TRACEME: one the process sends itself
    // is it stopping for its tracer; any other is job control.
    traceme_.erase(t.tgid);
    if (self_sent(t))
      stops_for_tracer_.insert(t.tgid);
  }
  if (t.interrupted && !t.interrupted->signal_seen)
    on_interrupting_signal(t, sig);
  if (signal_ends_reconnect(t, sig)) {
    // A reconnect's step was under way: the call has ended with its last errno.
  } else if (t.phase == Thread::Phase::kSleeping && trace::signal_ends_wait(t.tid, sig)) {
    end_wait(t, now_ns() - t.sleep_start);
  } else if (t.retrying && trace::signal_ends_wait(t.tid, sig)) {
    // The signal came after the wait, before the retried attempt started: as
    // during the wait, the program gets the last error, then the signal. (Left
    // rewound, a handler making the same call from the same place would be
    // taken for the retried attempt.)
    t.retrying = false;
    end_wait(t, 0);  // the wait itself was counted
  }
  return sig;
}

// A group-stop: job control, unless the process stops for the tracer it asked
// for (PTRACE_TRACEME) and cannot have: its parent would wait forever.
bool Supervisor::Impl::group_stop(const Tracee& tr, int sig) {
  if (sig != SIGSTOP || stops_for_tracer_.count(tr.tgid) == 0)
    return false;
  end_command(fmt::format(
      "process {} called ptrace(PTRACE_TRACEME) and stopped for its tracer, which cannot trace "
      "it under the ptrace engine; ftsc ended the command rather than leave it waiting (run it "
      "with --engine preload)",
      tr.tgid));
  return true;
}

// The signal that interrupted an attempt is about to be delivered. When it
// runs a handler and the program is to get EINTR, the call ends with EINTR as
// an in-process engine sees it: an EINTR rule may retry it (the kernel is then
// told to restart the call after the handler, ERESTARTNOINTR, and the
// restarted attempt waits the rule's delay first), else it is counted and the
// program gets EINTR. ERESTARTSYS is restarted only when the handler has
// SA_RESTART, which a tracer cannot see: without an EINTR rule the call stays
// held, and a restart continues it.
void Supervisor::Impl::on_interrupting_signal(Thread& t, int sig) {
  Thread::Interrupted& held = *t.interrupted;
  held.signal_seen = true;
  if (sig == 0 || held.code == kERestartNoIntr || !trace::signal_runs_handler(t.tid, sig))
    return;  // the kernel restarts the attempt (or the signal ends the process)
  const bool eintr_rule =
      FTSC_CELL_DECISION(ftsc_policy_cell(&policy_, held.args.nr, EINTR)) == FTSC_RETRY;
  if (!eintr_rule && held.code != kERestartNoHand)
    return;
  TraceeProbe probe(t.tid, t.tgid);
  decide::Decision d = unit_.on_result(held.call, held.args, -EINTR, probe, now_ns());
  if (options_.verbosity > 0) {
    Thread view = t;
    view.call = held.call;
    view.args = held.args;
    view.injected = 0;
    log_decision(view, -EINTR, d);
  }
  if (d.action == decide::Action::kRetry) {
    arch::Regs regs;
    if (tracer_->get_regs(t.tid, regs)) {
      arch::set_result(regs, -kERestartNoIntr);
      if (tracer_->set_regs(t.tid, regs)) {
        held.eintr_retry = true;
        held.delay_ns = d.delay_ns;
        return;
      }
    }
    unit_.on_interrupted(held.call, 0);
  }
  t.interrupted.reset();  // counted: the program gets EINTR (or a restart starts afresh)
}

// A signal sent to the whole process group (kill -TERM -PGID, or one to each
// process as systemd's KillMode=control-group does) reaches the command
// directly and through ftsc's forwarding. Of the two copies from one sender,
// delivered within a second of each other, the second is dropped.
bool Supervisor::Impl::second_copy(const Thread& t, int sig) {
  const auto& forwarded = launch::SignalForwarding::kSignals;
  if (t.tgid != tracer_->main_pid() ||
      std::find(std::begin(forwarded), std::end(forwarded), sig) == std::end(forwarded))
    return false;
  siginfo_t si{};
  if (!tracer_->siginfo(t.tid, si) || (si.si_code != SI_USER && si.si_code != SI_QUEUE))
    return false;
  Copy now;
  now.forwarded = si.si_pid == getpid();
  now.sender = now.forwarded ? launch::SignalForwarding::last_sender(sig) : si.si_pid;
  now.at = now_ns();
  Copy& before = copies_[sig];
  if (before.at != 0 && now.at - before.at < 1'000'000'000 && before.sender == now.sender &&
      before.forwarded != now.forwarded) {
    before = Copy{};  // the pair is complete: a third copy is a new signal
    return true;
  }
  before = now;
  return false;
}

// Did the thread's process send itself the signal being delivered (raise,
// kill(getpid()))? si_pid is the sender's pid as this process sees it.
bool Supervisor::Impl::self_sent(const Thread& t) {
  siginfo_t si{};
  if (!tracer_->siginfo(t.tid, si))
    return false;
  return (si.si_code == SI_USER || si.si_code == SI_TKILL) && si.si_pid == t.tgid;
}

// Kills every traced process and makes run() report why.
void Supervisor::Impl::end_command(std::string why) {
  if (fatal_.empty())
    fatal_ = std::move(why);
  std::set<pid_t> tgids;
  for (const auto& [tid, th] : threads_)
    tgids.insert(th.tgid);
  for (pid_t tgid : tgids)
    kill(tgid, SIGKILL);
}

}  // namespace ftsc::ptrace
