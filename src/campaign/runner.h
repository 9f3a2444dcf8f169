// SPDX-License-Identifier: Apache-2.0
//
// Running a campaign: the golden runs and one run per fault, in parallel.
//
// How it works. Every run is a "run host": a child of ftsc made with fork(2)
// (ftsc is single-threaded here) that becomes the leader of a process group of
// its own (setpgid(2)), points its standard input at /dev/null and its
// standard output and error at files, enters the run's working directory when
// there is one, and then runs the command under ftsc's ptrace tracing: the
// golden run under the profiler's ptrace collector (observe::profile_command,
// which counts every call of the process tree), a fault under the ptrace
// engine's supervisor with a policy whose one injection is the fault
// (`--inject SYSCALL:error=ERRNO:when=K`, the grammar of policy/inject_grammar.h).
// It then runs the --check, writes how everything ended to a pipe and exits.
// The command starts with launch::Command (PR_SET_PDEATHSIG) and is traced with
// PTRACE_O_EXITKILL, so it dies with its host; and because the command stays in
// the host's process group, ftsc kills the whole group (kill(2) of -pgid,
// SIGKILL) at a timeout, at Ctrl-C and after every run, so that no process of
// a run outlives it, even one that left the trace. A terminal's Ctrl-C reaches
// ftsc's process group only; ftsc then stops starting runs, kills the ones in
// flight and returns the runs done.
//
// What it cannot do: a process that moves to a process group or session of its
// own and escapes the trace is not found; injections are counted per process
// (the engine's `when=`), while the golden run's counts are of the whole tree.
#pragma once

#include <signal.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "campaign/campaign.h"

namespace ftsc::campaign {

struct RunnerOptions {
  std::vector<std::string> command;  // `{}` in an argument: the run's directory
  std::vector<std::string> compare;  // files compared with the golden run's (`{}` allowed)
  std::string check;                 // a shell command that must succeed (`{}` allowed)
  std::string workdir;               // a template directory copied for every run; "" none
  bool ignore_output = false;        // standard output and error are not compared
  unsigned jobs = 1;
  std::optional<double> timeout_s;  // per run; default: from the golden run
  // Progress after every run ended: runs done, runs in all, the tally so far.
  std::function<void(size_t done, size_t total, const Tally& tally)> on_progress;
};

class Runner {
 public:
  // Installs ftsc's SIGINT and SIGTERM handlers (a stop request) until destroyed.
  explicit Runner(RunnerOptions options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Two golden runs; an error when the command cannot be executed, a --compare
  // file is missing, the --check fails, or the two runs differ.
  base::Result<Golden> golden();

  // The timeout every fault run gets (set by golden() unless given).
  double timeout_s() const { return timeout_s_; }

  // Two runs without a fault under the policy policy_text (read as
  // policy_name would be: TOML or a matrix): what the second pass's runs are
  // compared with, since a policy may change the command's fault-free run (it
  // may retry a failure the golden run met). An error when they differ.
  base::Result<Observation> reference(const std::string& policy_text,
                                      const std::string& policy_name);

  // One run per fault, each with the fault injected once under the policy
  // policy_text ("" for none), classified against `golden`. Runs are appended
  // in plan order; returns false when a stop request ended the pass early.
  bool run_faults(const Observation& golden, const std::vector<Fault>& faults, int pass,
                  const std::string& policy_text, const std::string& policy_name,
                  std::vector<Run>& out);

  bool stop_requested() const;

 private:
  base::Result<Observation> run_golden_once(Golden& golden);
  RunnerOptions options_;
  std::string scratch_;  // the campaign's temporary directory
  double timeout_s_ = 0;
  size_t next_id_ = 0;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace ftsc::campaign
