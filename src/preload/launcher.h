// SPDX-License-Identifier: Apache-2.0
// The ftsc side of the preload engine: starts a command with the preload
// library (libftsc-preload.so) and the compiled policy, waits for it and
// every process it started, and collects their statistics.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "abi/compiled_policy.h"
#include "abi/stats.h"
#include "base/log_sink.h"
#include "base/result.h"
#include "launch/outcome.h"

namespace ftsc::preload {

// How the command ended.
using Outcome = launch::RunOutcome;

struct Options {
  std::string library;  // the path of libftsc-preload.so (find_library())
  base::LogSink log;    // -v: every attempt of a handled call, as the ptrace engine logs them
};

// What carries the library into every process of a run: the compiled policy
// in a sealed memfd, a statistics table in a memfd shared with them, and with
// a log, a pipe whose records a thread of ftsc prints. The Launcher uses it,
// and so does `ftsc run --engine auto` for the ptrace supervisor's run.
class RunFiles {
 public:
  // library: the path of libftsc-preload.so; log: where -v's records go, or
  // null; log_layer: named at the end of each line (`auto`: "preload").
  static base::Result<std::unique_ptr<RunFiles>> create(const ftsc_policy& policy,
                                                        std::string library, base::LogSink log,
                                                        std::string log_layer = {});
  ~RunFiles();
  RunFiles(const RunFiles&) = delete;
  RunFiles& operator=(const RunFiles&) = delete;

  // The variables to add to the command's environment ("NAME=VALUE"):
  // LD_PRELOAD (the library first, then any the user had), FTSC_PRELOAD_POLICY,
  // FTSC_PRELOAD_STATS, FTSC_PRELOAD_LOG with a log, and
  // FTSC_PRELOAD_ENGINE=auto when the ptrace supervisor traces the run too.
  std::vector<std::string> environment(bool under_supervisor) const;

  // The shared statistics table.
  ftsc_stats& stats() const;

  // The retry budget words, indexed by ftsc_budget_index() (n_budgets() of them), that
  // the library of `auto` charges (FTSC_PRELOAD_BUDGETS); for the supervisor.
  uint64_t* budgets() const;
  size_t n_budgets() const;

  // Waits until no process of the run that loaded the library runs any more
  // (FTSC_PRELOAD_PROCESSES, which environment(false) names; launcher.cc
  // explains how), once the command has ended.
  void wait_for_processes();

  // Starts printing the log's records, once the command runs.
  void start_log();
  // Every process of the run is gone: prints what is left of the log.
  void finish_log();

 private:
  RunFiles() = default;
  struct State;
  std::unique_ptr<State> state_;
};

class Launcher {
 public:
  // policy must be valid and outlive the launcher.
  Launcher(const ftsc_policy& policy, Options options);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Creates the files of the run (RunFiles), so that stats() is the run's
  // table from then on; run() does it when it has not been done.
  base::Result<void> prepare();

  // Runs argv (argv[0] is searched in PATH) to its end and that of every
  // process it started that loaded the library (RunFiles::wait_for_processes).
  // Errors are setup failures (no memfd, no fork), never the command's own.
  base::Result<Outcome> run(const std::vector<std::string>& argv);

  // Statistics of every process of the run (abi/stats.h), shared with them;
  // the same table from prepare() on.
  const ftsc_stats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The library: FTSC_PRELOAD_LIBRARY if set, else next to the running ftsc
// (the build tree) or in ../lib/ftsc from it (the install tree).
base::Result<std::string> find_library();

// Can the preload library load into the program argv0 names (resolved through
// PATH as execvp(3) does, following `#!` interpreters)? An error says why not:
// statically linked (no PT_INTERP), or not a 64-bit program. A program that
// cannot be found or read is left to exec to report.
base::Result<void> check_loadable(const std::string& argv0);

// Is the preload library active in this process (ftsc run inside a preload run)?
bool active_in_this_process();

}  // namespace ftsc::preload
