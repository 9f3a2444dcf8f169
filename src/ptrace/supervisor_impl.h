// SPDX-License-Identifier: Apache-2.0
//
// What the supervisor's files share (supervisor.cc explains the mechanism):
// its record of each traced thread and process and the class that handles
// the tracer's stops. supervisor.cc holds the run and the bookkeeping,
// traced_call.cc a traced call's life (attempts, waits, re-executions),
// supervisor_signals.cc what signals do to it.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "arch/x86_64.h"
#include "decide/retry_unit.h"
#include "ptrace/supervisor.h"
#include "trace/tracer.h"

namespace ftsc::ptrace {

using trace::Resume;
using trace::Tracee;
using trace::TraceHandler;
using trace::Tracer;

inline int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A parked thread's wait is checked for pending signals this often.
inline constexpr int64_t kParkedPollNs = 10'000'000;

// The kernel's restart codes (include/linux/errno.h), which a tracer sees at a
// syscall's exit stop when a signal interrupted it and a program never sees.
inline constexpr int kERestartSys = 512;
inline constexpr int kERestartNoIntr = 513;
inline constexpr int kERestartNoHand = 514;
inline constexpr int kERestartRestartBlock = 516;

inline bool is_restart_code(long result) {
  return result == -kERestartSys || result == -kERestartNoIntr || result == -kERestartNoHand ||
         result == -kERestartRestartBlock;
}

// A non-blocking connect whose connect answered EINPROGRESS, remembered at
// its exit stop (async_connect.cc): the socket's identity and the address.
struct PendingConnect {
  uint64_t dev = 0;  // the socket's st_dev and st_ino, from /proc/TID/fd/FD
  uint64_t ino = 0;
  uint32_t len = 0;
  uint8_t addr[128] = {};  // sizeof(struct sockaddr_storage)
};

// A remembered connect being retried in its thread (async_connect.cc): the
// steps the supervisor makes the thread run, one syscall each.
struct Reconnect {
  enum class Step {
    kMap,         // mmap of the thread's scratch page
    kDisconnect,  // connect(fd, AF_UNSPEC): the socket is unconnected again
    kConnect,     // connect(fd, address)
    kPoll,        // poll(POLLOUT) for the attempt, bounded
    kRead,        // getsockopt(fd, SOL_SOCKET, SO_ERROR)
    kAbort,       // connect(fd, AF_UNSPEC) after a poll that timed out
  } step = Step::kMap;
  int fd = -1;
  PendingConnect connect;
  uint64_t optval = 0;  // the program's SO_ERROR buffer; 0: a second connect asked
  int64_t attempt_start = 0;
};

// One traced thread, as the supervisor knows it.
struct Thread {
  pid_t tid = 0;
  pid_t tgid = 0;
  enum class Phase {
    kRunning,       // not in a traced call
    kInCall,        // between the seccomp stop and the exit stop of an attempt
    kSleeping,      // running the injected poll() of a backoff
    kParked,        // waiting for a backoff in its exit stop, woken by the supervisor
    kReconnecting,  // running the steps of a non-blocking connect's retry
  } phase = Phase::kRunning;
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

  // The call is a non-blocking connect's outcome being retried: its waits
  // end in reconnect steps instead of a re-execution.
  std::optional<Reconnect> reconnect;
  uint64_t scratch = 0;  // the page mapped in the thread's process for its reconnects

  bool waiting() const { return phase == Phase::kSleeping || phase == Phase::kParked; }
};

// Per process: the retry budget and the injection attempt counters.
struct Process {
  decide::RetryBudget own_budget;
  decide::RetryBudget* budget = &own_budget;  // or the process's shared word (Options::budgets)
  decide::AttemptCounters counters;
};

class Supervisor::Impl final : public TraceHandler {
 public:
  Impl(const ftsc_policy& policy, Options options);

  base::Result<Outcome> run(const std::vector<std::string>& argv);
  const ftsc_stats& stats() const { return *stats_; }

  // TraceHandler
  void seccomp_stop(const Tracee& t) override;
  void syscall_stop(const Tracee& t) override;
  void created(const Tracee& parent, const Tracee& child) override;
  void exec(const Tracee& t, pid_t former) override;
  void exited(const Tracee& t, int status) override;
  int delivering(const Tracee& t, int sig) override;
  bool group_stop(const Tracee& t, int sig) override;
  Resume resume_mode(const Tracee& t) override;
  int64_t wait_limit_ns() override;

 private:
  // supervisor.cc: the run and its bookkeeping
  Thread& thread(pid_t tid);
  Process& process(pid_t tgid);
  void forget(pid_t tid);
  void end_calls_of(Thread& t);
  void say(const std::string& line);
  void log_decision(const Thread& t, long result, const decide::Decision& d);
  void resume(Thread& t, int sig = 0);

  // traced_call.cc: a traced call's life
  void on_attempt_exit(Thread& t);
  void on_restart_code(Thread& t, long code);
  void wait_then_reexecute(Thread& t, const arch::Regs& exit_regs, int64_t delay_ns);
  void on_sleep_exit(Thread& t);
  void reexecute(Thread& t);
  void lose_track(Thread& t, const char* why);
  void end_wait(Thread& t, int64_t waited_ns, bool cannot_wait = false);
  bool can_sleep_in(const Thread& t);
  void park(Thread& t, int64_t delay_ns);
  int64_t serve_parked();

  // async_connect.cc: non-blocking connects whose outcome comes later
  void remember_connect(Thread& t);
  bool remembers_connect(const Thread& t, int fd) const;
  bool take_connect(const Thread& t, int fd, PendingConnect* out);
  bool connect_again_outcome(Thread& t, long result);
  bool so_error_outcome(Thread& t, const arch::Regs& exit_regs);
  void start_reconnect(Thread& t);
  void on_reconnect_exit(Thread& t);
  void reconnect_outcome(Thread& t, long result);
  void run_step(Thread& t, Reconnect::Step step, long nr, std::initializer_list<uint64_t> args);
  void give_async_result(Thread& t, long result);
  void finish_async(Thread& t, long result);
  void abort_attempt(const Thread& t);
  bool signal_ends_reconnect(Thread& t, int sig);

  // supervisor_signals.cc: what signals do to calls
  void on_interrupting_signal(Thread& t, int sig);
  bool second_copy(const Thread& t, int sig);
  bool self_sent(const Thread& t);
  void end_command(std::string why);

  const ftsc_policy& policy_;
  Options options_;
  std::unique_ptr<ftsc_stats> own_stats_;
  ftsc_stats* stats_;
  decide::RetryUnit unit_;
  Tracer* tracer_ = nullptr;  // while run() runs
  std::map<pid_t, Thread> threads_;
  std::map<pid_t, std::unique_ptr<Process>> processes_;
  bool warned_foreign_seccomp_ = false;
  bool warned_ptrace_ = false;
  bool warned_parked_ = false;
  bool warned_32bit_ = false;
  int baseline_filters_ = -1;         // seccomp filters of the command at its exec, ftsc's included
  std::set<pid_t> traceme_;           // processes that asked for a tracer (PTRACE_TRACEME)
  std::set<pid_t> stops_for_tracer_;  // ... and then stopped themselves for it
  std::set<pid_t> parked_;            // threads in Phase::kParked
  bool async_connects_ = false;       // the policy retries connect with an async errno
  // Per process, per fd: the non-blocking connects that answered EINPROGRESS.
  std::map<pid_t, std::map<int, PendingConnect>> connects_;
  // Per forwarded signal: the last copy the command's process got, from whom.
  struct Copy {
    pid_t sender = 0;
    bool forwarded = false;  // ftsc's forwarded copy, else the sender's own
    int64_t at = 0;
  };
  std::map<int, Copy> copies_;
  std::string fatal_;  // why ftsc ended the command, if it did
};

}  // namespace ftsc::ptrace
