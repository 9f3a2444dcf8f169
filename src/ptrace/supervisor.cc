// SPDX-License-Identifier: Apache-2.0
//
// The ptrace supervisor.
//
// How it works. The command starts as a child that stops itself
// (launch::Command); the tracer (tracer.h) seizes it with TRACESECCOMP on top
// of the options every tracer of ftsc uses, lets it go on, and the child
// installs a seccomp-bpf filter (seccomp_filter.h) that returns
// SECCOMP_RET_TRACE for the policy's syscalls only, then execs the command.
// Every other syscall runs without a stop. The tracer's loop hands the
// supervisor the stops it does not handle itself; for a traced call:
//
//   seccomp stop   the call is entering. The supervisor records its number,
//                  arguments and registers, decides whether this attempt is
//                  injected (then it skips the call by setting the syscall
//                  number to -1: no side effect), and resumes with
//                  PTRACE_SYSCALL so that the exit stop shows the result.
//   exit stop      the result is known. The retry decision (decide/decide.h)
//                  decides: return it to the program (PTRACE_CONT), or retry.
//   retry          the thread itself waits: its registers are set to run
//                  poll(NULL, 0, delay_ms) at the same `syscall` instruction
//                  (rip rewound by 2), so that it sleeps in the kernel where
//                  a signal interrupts it, while the supervisor and every other
//                  thread go on. When the poll ends on its timeout, the
//                  original registers are restored with rip rewound and the
//                  syscall number put back (an injected attempt left -1 in
//                  orig_rax), so the very same call runs again and stops at
//                  the filter again. When a signal ended the poll, the program
//                  gets the last error and the signal is delivered.
//   parked         a process that installed a seccomp filter of its own (more
//                  filters than at the command's exec) might refuse that poll
//                  or be killed for it: its thread waits in its exit stop
//                  instead, and the supervisor wakes it at its time, or earlier
//                  when /proc shows a signal pending for it (checked every
//                  10 ms; SIGCHLD wakes the supervisor for other tracees).
//   interrupted    a signal interrupted an attempt: its exit stop shows a
//                  restart code (ERESTARTSYS & co.), which the program never
//                  sees. The call is held; when the kernel restarts the
//                  attempt after the signal, its seccomp stop (same syscall,
//                  same instruction) continues the call. When the program is
//                  to get EINTR instead, the call ends with EINTR as an
//                  in-process engine sees it, and an EINTR rule may retry it
//                  (the kernel is told to restart it after the handler).
//
// Every exit stop is checked to be the one the supervisor expects (the
// attempt's syscall, or its own poll, at the call's instruction): a thread
// that is somewhere else is never rewound; its call ends and it goes on.
//
// The supervisor's code is in three files: this one (the run, the record of
// threads and processes, exec and exit), traced_call.cc (a traced call's
// attempts, waits and re-executions) and supervisor_signals.cc (what signals
// do to calls).
//
// It relies on ptrace(2) (PTRACE_GET_SYSCALL_INFO, Linux 5.3), seccomp(2)'s
// SECCOMP_RET_TRACE (the seccomp stop comes after the syscall-entry stop since
// Linux 4.8, so PTRACE_SYSCALL from it leads to the exit stop), and
// proc(5)'s fdinfo and pidfd_getfd(2) (Linux 5.6) for the run-time guards.
// It cannot follow a program that uses ptrace itself (its tracees are ours),
// and syscalls made through other entry points (int 0x80, io_uring) are not
// seen.
#include "ptrace/supervisor.h"

#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "launch/outcome.h"
#include "launch/signal_forwarding.h"
#include "launch/spawn.h"
#include "preload/preload_interface.h"
#include "ptrace/seccomp_filter.h"
#include "ptrace/supervisor_impl.h"
#include "ptrace/tracee_probe.h"
#include "stats/attempt_log.h"
#include "trace/proc_status.h"

namespace ftsc::ptrace {
namespace {

// The child's last step before exec (launch::SpawnOptions::before_exec).
int install_filter(const void* filter) {
  return load_filter(*static_cast<const Filter*>(filter));
}

}  // namespace

Supervisor::Impl::Impl(const ftsc_policy& policy, Options options)
    : policy_(policy),
      options_(std::move(options)),
      own_stats_(options_.stats != nullptr ? nullptr : std::make_unique<ftsc_stats>()),
      stats_(options_.stats != nullptr ? options_.stats : own_stats_.get()),
      unit_(policy, stats_, decide::RetryUnitOptions{options_.dry_run}) {
  if (own_stats_ != nullptr)
    ftsc_stats_init(own_stats_.get());
  async_connects_ = ftsc_policy_retries_async_connect(&policy_, SYS_connect) != 0;
}

base::Result<Outcome> Supervisor::Impl::run(const std::vector<std::string>& argv) {
  auto filter = build_filter(policy_, options_.untraced_ip);
  if (!filter)
    return filter.error();
  launch::SpawnOptions spawn;
  spawn.argv = argv;
  spawn.environment = options_.environment;
  spawn.environment.push_back(fmt::format("{}={}", kSupervisorEnv, getpid()));
  spawn.hold = launch::SpawnOptions::Hold::kStopped;
  spawn.before_exec = install_filter;
  spawn.before_exec_data = &*filter;

  launch::SignalForwarding forwarding;
  Tracer tracer(*this, PTRACE_O_TRACESECCOMP);
  tracer_ = &tracer;
  auto command = launch::Command::start(spawn);
  if (!command)
    return command.error();
  if (auto seized = tracer.seize(command->pid()); !seized)
    return seized.error();
  forwarding.to(command->pid());
  tracer.run();
  forwarding.to(0);

  const launch::ExecReport report = command->exec_report();
  if (report.setup_errno != 0)
    return base::system_error("cannot install the seccomp filter in the command's process",
                              report.setup_errno,
                              "seccomp may be disabled here; --engine preload needs no seccomp");
  if (report.exec_errno != 0)
    return launch::exec_failure(report.exec_errno);
  if (!fatal_.empty())
    return base::Error{fatal_, {}, {}};
  if (!tracer.main_done())
    return base::Error{"lost track of the command's process", {}, {}};
  return launch::outcome_of_status(tracer.main_status());
}

// ---- the record of threads and processes -----------------------------------

Thread& Supervisor::Impl::thread(pid_t tid) {
  auto [it, inserted] = threads_.try_emplace(tid);
  if (inserted) {
    it->second.tid = tid;
    const Tracee* known = tracer_ != nullptr ? tracer_->find(tid) : nullptr;
    it->second.tgid = known != nullptr ? known->tgid : trace::tgid_of(tid);
    if (it->second.tgid <= 0)
      it->second.tgid = tid;
  }
  return it->second;
}

Process& Supervisor::Impl::process(pid_t tgid) {
  auto& p = processes_[tgid];
  if (p)
    return *p;
  p = std::make_unique<Process>();
  if (options_.budgets != nullptr && tgid > 0) {
    // The word the process's preload library charges too: the same index
    // from its pid namespace and its id there, which it sees as getpid().
    auto pid_namespace = [](const std::string& pid) -> uint64_t {
      struct stat st {};
      return stat(("/proc/" + pid + "/ns/pid").c_str(), &st) == 0 ? st.st_ino : 0;
    };
    static const uint64_t run_pidns = pid_namespace("self");
    uint64_t pidns = pid_namespace(std::to_string(tgid));
    uint64_t pid = static_cast<uint64_t>(tgid);
    if (pidns == 0) {
      pidns = run_pidns;
    } else if (pidns != run_pidns) {
      std::ifstream in("/proc/" + std::to_string(tgid) + "/status");
      std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      pid = ftsc_status_nspid(status.c_str(), pid);
    }
    const uint64_t word = ftsc_budget_index(pidns, run_pidns, pid);
    if (word < options_.n_budgets)
      p->budget = decide::RetryBudget::at(&options_.budgets[word]);
  }
  return *p;
}

void Supervisor::Impl::created(const Tracee& parent, const Tracee& child) {
  (void)parent;
  thread(child.tid).tgid = child.tgid;
}

void Supervisor::Impl::exited(const Tracee& t, int status) {
  (void)status;
  forget(t.tid);
}

void Supervisor::Impl::forget(pid_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end())
    return;
  pid_t tgid = it->second.tgid;
  end_calls_of(it->second);
  parked_.erase(tid);
  threads_.erase(it);
  if (tid == tgid) {
    bool others = false;
    for (const auto& [id, t] : threads_)
      if (t.tgid == tgid)
        others = true;
    if (!others) {
      // The process is gone: a process that gets its id later starts afresh.
      if (auto p = processes_.find(tgid); p != processes_.end() && p->second->budget != nullptr)
        p->second->budget->reset();
      processes_.erase(tgid);
      connects_.erase(tgid);
      traceme_.erase(tgid);
      stops_for_tracer_.erase(tgid);
    }
  }
}

// A thread that dies or execs ends the calls it had in flight: a wait for a
// retry, a retry about to start, an attempt a signal interrupted.
void Supervisor::Impl::end_calls_of(Thread& t) {
  if (t.waiting())
    unit_.on_interrupted(t.call, now_ns() - t.sleep_start);
  else if (t.retrying || t.phase == Thread::Phase::kReconnecting)
    unit_.on_interrupted(t.call, 0);
  t.reconnect.reset();
  if (t.interrupted)
    unit_.on_interrupted(t.interrupted->call, 0);
  t.interrupted.reset();
  t.retrying = false;
}

void Supervisor::Impl::exec(const Tracee& tr, pid_t former) {
  Thread& t = thread(tr.tid);
  // The thread that called execve now has the thread group's id; every other
  // thread of the group is gone (execve(2)).
  pid_t tgid = t.tid;
  // The execve succeeded: a call that had failed before recovered. (Its exit
  // stop never comes: the thread goes on with PTRACE_CONT from here.)
  if (auto caller = threads_.find(former); caller != threads_.end()) {
    Thread& c = caller->second;
    if (c.phase == Thread::Phase::kInCall && c.injected == 0 &&
        (c.args.nr == SYS_execve || c.args.nr == SYS_execveat)) {
      TraceeProbe probe(t.tid, tgid);
      decide::Decision d = unit_.on_result(c.call, c.args, 0, probe, now_ns());
      if (options_.verbosity > 0)
        log_decision(c, 0, d);
      c.phase = Thread::Phase::kRunning;
    }
  }
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.tgid == tgid && it->first != t.tid) {
      end_calls_of(it->second);
      parked_.erase(it->first);
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  Thread& self = thread(t.tid);
  end_calls_of(self);
  parked_.erase(self.tid);
  self.tgid = tgid;
  self.phase = Thread::Phase::kRunning;
  self.retrying = false;
  self.scratch = 0;  // the new program has none of the old one's mappings
  connects_.erase(tgid);
  if (self.tid == tracer_->main_pid() && baseline_filters_ < 0)
    baseline_filters_ = trace::seccomp_filters_of(self.tid);
  traceme_.erase(tgid);
  stops_for_tracer_.erase(tgid);
  if (!warned_32bit_ && trace::is_32bit_program(tgid)) {
    warned_32bit_ = true;
    say(
        fmt::format("ftsc: [pid {}] runs a 32-bit program: ftsc does not retry its calls (policies "
                    "name x86_64 syscalls, and 32-bit calls are let through untraced)\n",
                    tgid));
  }
  resume(self);
}

Resume Supervisor::Impl::resume_mode(const Tracee& t) {
  // A thread between a traced call's entry and exit needs the exit stop.
  auto it = threads_.find(t.tid);
  return it == threads_.end() || it->second.phase == Thread::Phase::kRunning ? Resume::kCont
                                                                             : Resume::kSyscall;
}

void Supervisor::Impl::resume(Thread& t, int sig) {
  tracer_->resume(t.tid, t.phase == Thread::Phase::kRunning ? Resume::kCont : Resume::kSyscall,
                  sig);
}

// Library code says things through the sink the caller gave (the CLI's is
// standard error).
void Supervisor::Impl::say(const std::string& line) {
  if (options_.log)
    options_.log(line);
}

void Supervisor::Impl::log_decision(const Thread& t, long result, const decide::Decision& d) {
  stats::AttemptLog a;
  a.layer = options_.log_layer;
  a.tid = t.tid;
  a.nr = t.args.nr;
  a.arg0 = t.args.args[0];
  a.arg1 = t.args.args[1];
  a.result = result;
  a.decision = d;
  a.retries = t.call.retries;
  uint8_t cell = ftsc_policy_cell(&policy_, t.args.nr, t.call.last_errno);
  if (FTSC_CELL_DECISION(cell) == FTSC_RETRY)
    a.n_delays = policy_.schedules[FTSC_CELL_SCHEDULE(cell)].n_delays;
  a.injected = t.injected != 0 && result == -t.injected;
  say(fmt::format("{}", stats::format_attempt_log(a)));
}

Supervisor::Supervisor(const ftsc_policy& policy, Options options)
    : impl_(std::make_unique<Impl>(policy, std::move(options))) {}
Supervisor::~Supervisor() = default;

base::Result<Outcome> Supervisor::run(const std::vector<std::string>& argv) {
  return impl_->run(argv);
}

const ftsc_stats& Supervisor::stats() const {
  return impl_->stats();
}

pid_t enclosing_supervisor() {
  const char* env = getenv(kSupervisorEnv);
  if (env == nullptr)
    return 0;
  pid_t claimed = static_cast<pid_t>(atoi(env));
  if (claimed <= 0)
    return 0;
  // Trust the variable only when that process really traces us.
  return trace::tracer_of(getpid()) == claimed ? claimed : 0;
}

}  // namespace ftsc::ptrace
