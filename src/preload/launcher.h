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
#include "core/result.h"
#include "core/run_report.h"

namespace ftsc::preload {

// How the command ended.
using Outcome = core::RunOutcome;

struct Options {
  std::string library;  // the path of libftsc-preload.so (find_library())
  FILE* log = nullptr;  // -v: every attempt of a handled call, as the ptrace engine logs them
};

class Launcher {
 public:
  // policy must be valid and outlive the launcher.
  Launcher(const ftsc_policy& policy, Options options);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Runs argv (argv[0] is searched in PATH) to its end and that of every
  // process it started (ftsc is their child subreaper). Errors are setup
  // failures (no memfd, no fork), never the command's own.
  core::Result<Outcome> run(const std::vector<std::string>& argv);

  // Statistics of every process of the run (abi/stats.h), shared with them.
  const ftsc_stats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The library: FTSC_PRELOAD_LIBRARY if set, else next to the running ftsc
// (the build tree) or in ../lib/ftsc from it (the install tree).
core::Result<std::string> find_library();

// Can the preload library load into the program argv0 names (resolved through
// PATH as execvp(3) does, following `#!` interpreters)? An error says why not:
// statically linked (no PT_INTERP), or not a 64-bit program. A program that
// cannot be found or read is left to exec to report.
core::Result<bool> check_loadable(const std::string& argv0);

// Is the preload library active in this process (ftsc run inside a preload run)?
bool active_in_this_process();

}  // namespace ftsc::preload
