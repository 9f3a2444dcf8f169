// The ptrace supervisor.
//
// How it works. The command starts as a child that stops itself; the
// supervisor attaches with PTRACE_SEIZE (options: TRACESECCOMP, TRACESYSGOOD,
// EXITKILL, TRACECLONE, TRACEFORK, TRACEVFORK, TRACEEXEC), lets it go on, and
// the child installs a seccomp-bpf filter (seccomp_filter.h) that returns
// SECCOMP_RET_TRACE for the policy's syscalls only, then execs the command.
// Every other syscall runs without a stop. For a traced call:
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
// It relies on ptrace(2) (PTRACE_GET_SYSCALL_INFO, Linux 5.3), seccomp(2)'s
// SECCOMP_RET_TRACE (the seccomp stop comes after the syscall-entry stop since
// Linux 4.8, so PTRACE_SYSCALL from it leads to the exit stop), and
// proc(5)'s fdinfo and pidfd_getfd(2) (Linux 5.6) for the run-time guards.
// It cannot follow a program that uses ptrace itself (its tracees are ours),
// and syscalls made through other entry points (int 0x80, io_uring) are not
// seen.
#include "ptrace/supervisor.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>

#include "arch/x86_64.h"
#include "core/errno_table.h"
#include "core/run_report.h"
#include "core/syscall_table.h"
#include "decide/retry_unit.h"
#include "launch/environment.h"
#include "launch/signal_forwarding.h"
#include "preload/preload_interface.h"
#include "ptrace/seccomp_filter.h"
#include "ptrace/tracee_probe.h"

namespace ftsc::ptrace {
namespace {

constexpr unsigned kPtraceOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD |
                                    PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
                                    PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

core::Error setup_error(std::string what, int err, std::string hint = {}) {
  return core::Error{fmt::format("{}: {}", what, std::strerror(err)), {}, std::move(hint)};
}

// A parked thread's wait is checked for pending signals this often.
constexpr int64_t kParkedPollNs = 10'000'000;

// SIGCHLD writes a byte here, so that the supervisor can sleep until a parked
// thread's time without missing a tracee's stop (the self-pipe trick).
int g_child_pipe[2] = {-1, -1};

void on_sigchld(int) {
  int saved = errno;
  char c = 0;
  ssize_t ignored = write(g_child_pipe[1], &c, 1);  // full: a wakeup is pending anyway
  (void)ignored;
  errno = saved;
}

class ChildWakeups {
 public:
  ChildWakeups() {
    if (pipe2(g_child_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
      return;
    struct sigaction sa {};
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;  // not SA_NOCLDSTOP: a tracee's stop must wake the supervisor
    sigemptyset(&sa.sa_mask);
    installed_ = sigaction(SIGCHLD, &sa, &old_) == 0;
  }
  ~ChildWakeups() {
    if (installed_)
      sigaction(SIGCHLD, &old_, nullptr);
    for (int& fd : g_child_pipe) {
      if (fd >= 0)
        close(fd);
      fd = -1;
    }
  }
  ChildWakeups(const ChildWakeups&) = delete;
  ChildWakeups& operator=(const ChildWakeups&) = delete;

 private:
  struct sigaction old_ {};
  bool installed_ = false;
};

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// One traced thread.
struct Thread {
  pid_t tid = 0;
  pid_t tgid = 0;
  enum class Phase {
    kRunning,   // not in a traced call
    kInCall,    // between the seccomp stop and the exit stop of an attempt
    kSleeping,  // running the injected poll() of a backoff
    kParked,    // waiting for a backoff in its exit stop, woken by the supervisor
  } phase = Phase::kRunning;
  bool attached = false;  // its first stop (the attach stop) has been seen
  bool retrying = false;  // the next seccomp stop of `call.nr` at `entry` continues `call`
  decide::CallState call;
  decide::SyscallArgs args;
  arch::Regs entry{};      // registers at the seccomp stop of the first attempt
  arch::Regs last_exit{};  // registers at the exit stop of the last failed attempt
  int injected = 0;        // errno injected into the current attempt
  int64_t wait_first = 0;  // kInCall: the attempt was skipped to wait this long first
  int64_t sleep_start = 0;
  int64_t wake_at = 0;  // kParked: when the next attempt starts

  // A call whose attempt a signal interrupted: the kernel returned a restart
  // code at its exit stop and will restart the attempt after the signal (then
  // its seccomp stop, the same syscall at the same instruction, continues the
  // call) or give the program EINTR.
  struct Interrupted {
    decide::CallState call;
    decide::SyscallArgs args;
    arch::Regs entry{};
    int code = 0;              // ERESTARTSYS, ERESTARTNOINTR or ERESTARTNOHAND
    bool signal_seen = false;  // its signal-delivery stop has been seen
    bool eintr_retry = false;  // an EINTR rule retries it: wait delay_ns, then run it
    int64_t delay_ns = 0;
  };
  std::optional<Interrupted> interrupted;

  bool waiting() const { return phase == Phase::kSleeping || phase == Phase::kParked; }
};

// The kernel's restart codes (include/linux/errno.h), which a tracer sees at a
// syscall's exit stop when a signal interrupted it and a program never sees.
constexpr int kERestartSys = 512;
constexpr int kERestartNoIntr = 513;
constexpr int kERestartNoHand = 514;
constexpr int kERestartRestartBlock = 516;

bool is_restart_code(long result) {
  return result == -kERestartSys || result == -kERestartNoIntr || result == -kERestartNoHand ||
         result == -kERestartRestartBlock;
}

// Per process: the retry budget and the injection attempt counters.
struct Process {
  decide::RetryBudget own_budget;
  decide::RetryBudget* budget = &own_budget;  // or the process's shared word (Options::budgets)
  decide::AttemptCounters counters;
};

}  // namespace

class Supervisor::Impl {
 public:
  Impl(const ftsc_policy& policy, Options options)
      : policy_(policy),
        options_(options),
        own_stats_(options.stats != nullptr ? nullptr : std::make_unique<ftsc_stats>()),
        stats_(options.stats != nullptr ? options.stats : own_stats_.get()),
        unit_(policy, stats_, decide::RetryUnitOptions{options.dry_run}) {
    if (own_stats_ != nullptr)
      ftsc_stats_init(own_stats_.get());
  }

  core::Result<Outcome> run(const std::vector<std::string>& argv);
  const ftsc_stats& stats() const { return *stats_; }

 private:
  core::Result<pid_t> start(const std::vector<std::string>& argv, int* exec_error_fd);
  void loop();
  void on_stop(pid_t tid, int status);
  void on_seccomp_stop(Thread& t);
  void on_syscall_stop(Thread& t);
  void on_attempt_exit(Thread& t);
  void on_restart_code(Thread& t, long code);
  void on_interrupting_signal(Thread& t, int sig);
  void wait_then_reexecute(Thread& t, const arch::Regs& exit_regs, int64_t delay_ns);
  void lose_track(Thread& t, const char* why);
  void end_calls_of(Thread& t);
  void on_sleep_exit(Thread& t);
  void on_exec(Thread& t);
  void end_wait(Thread& t, int64_t waited_ns, bool cannot_wait = false);
  bool can_sleep_in(const Thread& t);
  void park(Thread& t, int64_t delay_ns);
  int64_t serve_parked();
  void wait_for_child(int64_t timeout_ns);
  void end_command(std::string why);
  bool second_copy(const Thread& t, int sig);
  bool self_sent(const Thread& t);
  void reexecute(Thread& t);
  void resume(Thread& t, int sig = 0);
  Thread& thread(pid_t tid);
  Process& process(pid_t tgid);
  void forget(pid_t tid);
  void log_decision(const Thread& t, long result, const decide::Decision& d);
  bool get_regs(Thread& t, arch::Regs& regs);
  bool set_regs(Thread& t, const arch::Regs& regs);

  const ftsc_policy& policy_;
  Options options_;
  std::unique_ptr<ftsc_stats> own_stats_;
  ftsc_stats* stats_;
  decide::RetryUnit unit_;
  std::map<pid_t, Thread> threads_;
  std::map<pid_t, std::unique_ptr<Process>> processes_;
  pid_t main_pid_ = 0;
  bool main_exec_seen_ = false;
  bool main_done_ = false;
  int main_status_ = 0;
  bool warned_foreign_seccomp_ = false;
  bool warned_ptrace_ = false;
  bool warned_parked_ = false;
  bool warned_32bit_ = false;
  int baseline_filters_ = -1;         // seccomp filters of the command at its exec, ftsc's included
  std::set<pid_t> traceme_;           // processes that asked for a tracer (PTRACE_TRACEME)
  std::set<pid_t> stops_for_tracer_;  // ... and then stopped themselves for it
  std::set<pid_t> parked_;            // threads in Phase::kParked
  // Per forwarded signal: the last copy the command's process got, from whom.
  struct Copy {
    pid_t sender = 0;
    bool forwarded = false;  // ftsc's forwarded copy, else the sender's own
    int64_t at = 0;
  };
  std::map<int, Copy> copies_;
  std::string fatal_;  // why ftsc ended the command, if it did
};

Thread& Supervisor::Impl::thread(pid_t tid) {
  auto [it, inserted] = threads_.try_emplace(tid);
  if (inserted) {
    it->second.tid = tid;
    it->second.tgid = tgid_of(tid);
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
  else if (t.retrying)
    unit_.on_interrupted(t.call, 0);
  if (t.interrupted)
    unit_.on_interrupted(t.interrupted->call, 0);
  t.interrupted.reset();
  t.retrying = false;
}

bool Supervisor::Impl::get_regs(Thread& t, arch::Regs& regs) {
  return ::ptrace(PTRACE_GETREGS, t.tid, nullptr, &regs) == 0;
}

bool Supervisor::Impl::set_regs(Thread& t, const arch::Regs& regs) {
  return ::ptrace(PTRACE_SETREGS, t.tid, nullptr, &regs) == 0;
}

void Supervisor::Impl::resume(Thread& t, int sig) {
  // A thread between a traced call's entry and exit needs the exit stop.
  int request = t.phase == Thread::Phase::kRunning ? PTRACE_CONT : PTRACE_SYSCALL;
  // ESRCH: the thread was killed meanwhile; its exit is reported by waitpid.
  ::ptrace(static_cast<__ptrace_request>(request), t.tid, nullptr,
           reinterpret_cast<void*>(static_cast<intptr_t>(sig)));
}

core::Result<pid_t> Supervisor::Impl::start(const std::vector<std::string>& argv,
                                            int* exec_error_fd) {
  auto filter = build_filter(policy_, options_.untraced_ip);
  if (!filter)
    return filter.error();

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0)
    return setup_error("cannot create a pipe", errno);

  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The command's environment, built here: the child of a process with
  // threads may not allocate.
  std::vector<std::string> additions = options_.environment;
  additions.push_back(fmt::format("{}={}", kSupervisorEnv, getpid()));
  std::vector<std::string> environment = launch::environment_with(environ, additions);
  std::vector<char*> envp = launch::envp_of(environment);

  pid_t pid = fork();
  if (pid < 0)
    return setup_error("cannot fork", errno);
  if (pid == 0) {
    // The child: wait to be attached, filter, exec. Only async-signal-safe
    // work and the filter load (a ready BPF program) happen here.
    close(err_pipe[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    raise(SIGSTOP);
    int err = load_filter(*filter);
    if (err == 0) {
      execvpe(args[0], args.data(), envp.data());
      err = errno;
    } else {
      err = -err;  // a negative code says the filter failed, not exec
    }
    ssize_t ignored = write(err_pipe[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(err_pipe[1]);
  *exec_error_fd = err_pipe[0];

  int status = 0;
  if (waitpid(pid, &status, WSTOPPED) != pid || !WIFSTOPPED(status)) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return setup_error("the command's process did not start", err);
  }
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(uintptr_t{kPtraceOptions})) !=
      0) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    if (pid_t tracer = tracer_of(getpid()); tracer > 0)
      return setup_error("cannot trace the command (PTRACE_SEIZE)", err,
                         fmt::format("ftsc itself runs under a tracer (pid {}), which traces the "
                                     "command too; a command has one tracer. If that tracer is "
                                     "an `ftsc run`, keep {} in the environment so that this one "
                                     "runs the command directly",
                                     tracer, kSupervisorEnv));
    return setup_error("cannot trace the command (PTRACE_SEIZE)", err,
                       "ptrace may be restricted here (see /proc/sys/kernel/yama/ptrace_scope, "
                       "containers without CAP_SYS_PTRACE); --engine preload needs no ptrace");
  }
  main_pid_ = pid;
  Thread& t = thread(pid);
  t.tgid = pid;
  kill(pid, SIGCONT);
  return pid;
}

void Supervisor::Impl::loop() {
  for (;;) {
    int status = 0;
    // While a thread is parked, the supervisor wakes for its deadline and to
    // look for signals it should not wait past.
    int64_t next = serve_parked();
    pid_t tid = waitpid(-1, &status, __WALL | (next > 0 ? WNOHANG : 0));
    if (tid == 0) {
      wait_for_child(next);
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
      forget(tid);
      continue;
    }
    if (WIFSTOPPED(status))
      on_stop(tid, status);
  }
}

void Supervisor::Impl::on_stop(pid_t tid, int status) {
  Thread& t = thread(tid);
  int sig = WSTOPSIG(status);
  int event = status >> 16;

  if (sig == (SIGTRAP | 0x80)) {
    on_syscall_stop(t);
    return;
  }
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      on_seccomp_stop(t);
      return;
    case PTRACE_EVENT_CLONE:
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK: {
      unsigned long child = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child);
      if (child > 0) {
        Thread& c = thread(static_cast<pid_t>(child));
        c.tgid = event == PTRACE_EVENT_CLONE ? tgid_of(c.tid) : c.tid;
        if (c.tgid <= 0)
          c.tgid = c.tid;
      }
      resume(t);
      return;
    }
    case PTRACE_EVENT_EXEC:
      on_exec(t);
      return;
    case PTRACE_EVENT_STOP:
      if (!t.attached) {
        t.attached = true;  // the stop of a newly attached tracee
        resume(t);
      } else if (sig == SIGSTOP && stops_for_tracer_.count(t.tgid) != 0) {
        // It asked for a tracer (its parent, a debugger) and now stops for
        // it, but its tracer is ftsc: the parent would wait forever.
        end_command(fmt::format(
            "process {} called ptrace(PTRACE_TRACEME) and stopped for its tracer, which cannot "
            "trace it under the ptrace engine; ftsc ended the command rather than leave it "
            "waiting (run it with --engine preload)",
            t.tgid));
      } else if (is_stop_signal(sig)) {
        // A group-stop (job control): stay stopped until SIGCONT, without
        // blocking the supervisor.
        ::ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
      } else {
        resume(t);
      }
      return;
    default:
      break;
  }
  // A signal-delivery stop: deliver the signal. The SIGSTOP/SIGCONT pair that
  // starts the main child belongs to ftsc, not to the program.
  if (tid == main_pid_ && !main_exec_seen_ && (sig == SIGSTOP || sig == SIGCONT))
    sig = 0;
  t.attached = true;
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
  if (t.phase == Thread::Phase::kSleeping && signal_ends_wait(tid, sig)) {
    end_wait(t, now_ns() - t.sleep_start);
  } else if (t.retrying && signal_ends_wait(tid, sig)) {
    // The signal came after the wait, before the retried attempt started: as
    // during the wait, the program gets the last error, then the signal. (Left
    // rewound, a handler making the same call from the same place would be
    // taken for the retried attempt.)
    t.retrying = false;
    end_wait(t, 0);  // the wait itself was counted
  }
  resume(t, sig);
}

// A wait ends early (a signal, or a poll that failed): the program gets the
// last error of its call, then handles the signal if there is one. With rax
// holding that error rather than a restart code, the kernel restarts nothing.
void Supervisor::Impl::end_wait(Thread& t, int64_t waited_ns, bool cannot_wait) {
  decide::Decision d = cannot_wait ? unit_.on_cannot_wait(t.call, waited_ns)
                                   : unit_.on_interrupted(t.call, waited_ns);
  if (options_.verbosity > 0)
    log_decision(t, -t.call.last_errno, d);
  set_regs(t, t.last_exit);
  t.phase = Thread::Phase::kRunning;
}

// A backoff waits in poll(2) run by the thread itself. A seccomp filter the
// program added after ftsc's may refuse it, or kill the process for it, so a
// process with more filters than the command had at its exec is parked
// instead.
bool Supervisor::Impl::can_sleep_in(const Thread& t) {
  if (baseline_filters_ < 0)
    return true;  // the kernel does not say (before Linux 5.9), or no exec yet
  return seccomp_filters_of(t.tid) <= baseline_filters_;
}

// The thread waits in its exit stop, which a signal does not end: the
// supervisor looks for pending signals while it waits (serve_parked).
void Supervisor::Impl::park(Thread& t, int64_t delay_ns) {
  if (!warned_parked_) {
    warned_parked_ = true;
    fmt::print(options_.log,
               "ftsc: [pid {}] the program installed its own seccomp filter; its backoffs wait "
               "in ftsc instead of in the program, and a signal ends them within {}ms\n",
               t.tid, kParkedPollNs / 1'000'000);
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
    if (pending_signal_ends_wait(tid)) {
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

// A signal sent to the whole process group (kill -TERM -PGID, or one to each
// process as systemd's KillMode=control-group does) reaches the command
// directly and through ftsc's forwarding. Of the two copies from one sender,
// delivered within a second of each other, the second is dropped.
bool Supervisor::Impl::second_copy(const Thread& t, int sig) {
  const auto& forwarded = launch::SignalForwarding::kSignals;
  if (t.tgid != main_pid_ ||
      std::find(std::begin(forwarded), std::end(forwarded), sig) == std::end(forwarded))
    return false;
  siginfo_t si{};
  if (::ptrace(PTRACE_GETSIGINFO, t.tid, nullptr, &si) != 0 ||
      (si.si_code != SI_USER && si.si_code != SI_QUEUE))
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
  if (::ptrace(PTRACE_GETSIGINFO, t.tid, nullptr, &si) != 0)
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

void Supervisor::Impl::on_exec(Thread& t) {
  // The thread that called execve now has the thread group's id; every other
  // thread of the group is gone (execve(2)).
  unsigned long former = 0;
  ::ptrace(PTRACE_GETEVENTMSG, t.tid, nullptr, &former);
  pid_t tgid = t.tid;
  // The execve succeeded: a call that had failed before recovered. (Its exit
  // stop never comes: the thread goes on with PTRACE_CONT from here.)
  if (auto caller = threads_.find(static_cast<pid_t>(former)); caller != threads_.end()) {
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
  self.attached = true;
  if (self.tid == main_pid_ && !main_exec_seen_) {
    main_exec_seen_ = true;
    baseline_filters_ = seccomp_filters_of(self.tid);
  }
  traceme_.erase(tgid);
  stops_for_tracer_.erase(tgid);
  if (!warned_32bit_ && is_32bit_program(tgid)) {
    warned_32bit_ = true;
    fmt::print(options_.log,
               "ftsc: [pid {}] runs a 32-bit program: ftsc does not retry its calls (policies "
               "name x86_64 syscalls, and 32-bit calls are let through untraced)\n",
               tgid);
  }
  resume(self);
}

void Supervisor::Impl::on_seccomp_stop(Thread& t) {
  struct __ptrace_syscall_info info {};
  if (::ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, reinterpret_cast<void*>(sizeof info), &info) <= 0 ||
      info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
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
      fmt::print(options_.log,
                 "ftsc: [pid {}] the program's own seccomp filter asks a tracer to handle {}; "
                 "as without one, such calls fail with ENOSYS\n",
                 t.tid, core::syscall_name(static_cast<int>(nr)));
    }
    arch::Regs regs;
    if (!get_regs(t, regs))
      return;
    arch::skip_syscall(regs);
    arch::set_result(regs, -ENOSYS);
    set_regs(t, regs);
    resume(t);
    return;
  }
  if (nr == SYS_ptrace) {
    if (info.seccomp.args[0] == PTRACE_TRACEME)
      traceme_.insert(t.tgid);
    if (!warned_ptrace_) {
      warned_ptrace_ = true;
      fmt::print(options_.log,
                 "ftsc: [pid {}] the program calls ptrace, which cannot work under the ptrace "
                 "engine (ftsc already traces its processes); use --engine preload for it\n",
                 t.tid);
    }
    if (!(policy_.syscalls[nr].flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT))) {
      resume(t);
      return;
    }
  }
  if (t.phase == Thread::Phase::kSleeping) {  // the backoff poll itself is filtered
    resume(t);
    return;
  }
  arch::Regs regs;
  if (!get_regs(t, regs))
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
    set_regs(t, regs);
  } else if (!restarted && (policy_.syscalls[nr].flags & FTSC_SC_INJECT)) {
    t.injected = unit_.inject(t.call, process(t.tgid).counters.next(nr));
    if (t.injected != 0) {
      arch::skip_syscall(regs);
      arch::set_result(regs, -t.injected);
      set_regs(t, regs);
    }
  }
  resume(t);
}

void Supervisor::Impl::on_syscall_stop(Thread& t) {
  // From a seccomp stop the next syscall stop is the exit; the backoff's
  // poll, which the filter does not stop, shows its entry first.
  struct __ptrace_syscall_info info {};
  if (::ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, reinterpret_cast<void*>(sizeof info), &info) > 0 &&
      info.op != PTRACE_SYSCALL_INFO_EXIT) {
    resume(t);
    return;
  }
  if (t.phase == Thread::Phase::kInCall) {
    on_attempt_exit(t);
  } else if (t.phase == Thread::Phase::kSleeping) {
    on_sleep_exit(t);
  } else {
    resume(t);
  }
}

void Supervisor::Impl::on_attempt_exit(Thread& t) {
  arch::Regs regs;
  if (!get_regs(t, regs))
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
      set_regs(t, regs);
    t.phase = Thread::Phase::kRunning;
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
  if (sig == 0 || held.code == kERestartNoIntr || !signal_runs_handler(t.tid, sig))
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
    if (get_regs(t, regs)) {
      arch::set_result(regs, -kERestartNoIntr);
      if (set_regs(t, regs)) {
        held.eintr_retry = true;
        held.delay_ns = d.delay_ns;
        return;
      }
    }
    unit_.on_interrupted(held.call, 0);
  }
  t.interrupted.reset();  // counted: the program gets EINTR (or a restart starts afresh)
}

// The wait before the next attempt, then the attempt: in the tracee's own
// poll, or parked in the supervisor.
void Supervisor::Impl::wait_then_reexecute(Thread& t, const arch::Regs& exit_regs,
                                           int64_t delay_ns) {
  t.last_exit = exit_regs;
  if (delay_ns <= 0) {
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
  set_regs(t, sleep);
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
  if (options_.verbosity > 0)
    fmt::print(options_.log, "ftsc: [pid {}] {}: its call ends without further retries\n", t.tid,
               why);
  t.phase = Thread::Phase::kRunning;
  t.retrying = false;
  t.wait_first = 0;
  resume(t);
}

void Supervisor::Impl::on_sleep_exit(Thread& t) {
  arch::Regs regs;
  if (!get_regs(t, regs))
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
  reexecute(t);
}

// The next attempt: the registers of the first attempt's entry, rewound over
// the syscall instruction, so that the very same call runs again.
void Supervisor::Impl::reexecute(Thread& t) {
  arch::Regs again = t.entry;
  arch::rewind_to_syscall(again, t.args.nr);
  set_regs(t, again);
  t.retrying = true;
  t.phase = Thread::Phase::kRunning;
  resume(t);
}

void Supervisor::Impl::log_decision(const Thread& t, long result, const decide::Decision& d) {
  core::AttemptLog a;
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
  fmt::print(options_.log, "{}", core::format_attempt_log(a));
}

// Sleeps until a tracee changes state or timeout_ns passed.
void Supervisor::Impl::wait_for_child(int64_t timeout_ns) {
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
      0, static_cast<long>(std::min<int64_t>(timeout_ns, kParkedPollNs))
    };
    nanosleep(&ts, nullptr);
    return;
  }
  char drain[64];
  while (read(g_child_pipe[0], drain, sizeof drain) > 0) {
  }
}

core::Result<Outcome> Supervisor::Impl::run(const std::vector<std::string>& argv) {
  int exec_error_fd = -1;
  launch::SignalForwarding forwarding;
  ChildWakeups wakeups;
  auto started = start(argv, &exec_error_fd);
  if (!started)
    return started.error();
  forwarding.to(*started);
  loop();
  forwarding.to(0);

  int err = 0;
  ssize_t n = read(exec_error_fd, &err, sizeof err);
  close(exec_error_fd);
  if (n == sizeof err && err != 0) {
    if (err < 0)
      return setup_error("cannot install the seccomp filter in the command's process", -err,
                         "seccomp may be disabled here; --engine preload needs no seccomp");
    return core::exec_failure(err);
  }
  if (!fatal_.empty())
    return core::Error{fatal_, {}, {}};
  if (!main_done_)
    return core::Error{"lost track of the command's process", {}, {}};
  return core::outcome_of_status(main_status_);
}

Supervisor::Supervisor(const ftsc_policy& policy, Options options)
    : impl_(std::make_unique<Impl>(policy, options)) {}
Supervisor::~Supervisor() = default;

core::Result<Outcome> Supervisor::run(const std::vector<std::string>& argv) {
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
  return tracer_of(getpid()) == claimed ? claimed : 0;
}

}  // namespace ftsc::ptrace
