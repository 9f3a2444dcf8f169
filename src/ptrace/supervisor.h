// SPDX-License-Identifier: Apache-2.0
// The ptrace engine: a supervisor process that runs a command under a
// compiled policy and retries failed syscalls for every thread and every
// child process, whatever the binary (dynamic, static, raw `syscall`
// instructions).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/compiled_policy.h"
#include "abi/stats.h"
#include "base/log_sink.h"
#include "base/result.h"
#include "launch/outcome.h"

namespace ftsc::ptrace {

struct Options {
  bool dry_run = false;   // decide and count, never retry
  int verbosity = 0;      // 1: log every retry, injection and give-up
  base::LogSink log;      // where its lines go ("ftsc: [pid N] ..."); none: nowhere
  std::string log_layer;  // named at the end of each log line (`auto`: "ptrace")
  // The `auto` engine's additions: variables ("NAME=VALUE") added to the
  // command's environment, the address after the `syscall` instruction whose
  // calls the filter lets through untraced (0: none), and a statistics table
  // to count into that others share (null: the supervisor's own).
  std::vector<std::string> environment;
  uint64_t untraced_ip = 0;
  ftsc_stats* stats = nullptr;
  // Budget words indexed by ftsc_budget_index() (preload_interface.h; n_budgets of them) that the
  // processes share (decide::RetryBudget::at), or null: the supervisor's own.
  uint64_t* budgets = nullptr;
  size_t n_budgets = 0;
};

// How the command ended.
using Outcome = launch::RunOutcome;

class Supervisor {
 public:
  // policy must be valid and outlive the supervisor.
  Supervisor(const ftsc_policy& policy, Options options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs argv (argv[0] is searched in PATH) to its end and that of every
  // process it started. Errors are setup failures (no ptrace permission, a
  // seccomp filter that cannot be installed ...), never the command's own.
  base::Result<Outcome> run(const std::vector<std::string>& argv);

  // Statistics of the run so far (abi/stats.h).
  const ftsc_stats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Is this process already supervised by an ftsc (the one-layer rule)? Then
// its `pid` is returned, else 0.
pid_t enclosing_supervisor();

// The environment variable that names the supervisor of a process tree.
inline constexpr const char* kSupervisorEnv = "FTSC_SUPERVISOR_PID";

}  // namespace ftsc::ptrace
