// SPDX-License-Identifier: Apache-2.0
//
// Starting a command: the one way every engine and the profiler start the
// program they run.
//
// How it works. Everything that allocates happens before fork(2): the
// program is found in PATH (find_program), the argument and environment
// arrays are built. The child then does only async-signal-safe work, in this
// order: it asks to be killed when ftsc dies (PR_SET_PDEATHSIG, prctl(2)) and
// checks that ftsc did not die before that took effect (getppid() changed:
// the request would never fire); it puts back the default disposition of the
// signals ftsc forwards (launch::SignalForwarding; signals ftsc was started
// ignoring stay ignored); it readdresses to itself the service manager's
// variables that named ftsc (LISTEN_PID, WATCHDOG_PID: launch/environment.h);
// it holds if asked to (stopping itself with SIGSTOP
// for a tracer to seize it, or waiting until the parent releases it); it runs
// the caller's last step (installing a seccomp filter); and it execs the
// program with execve(2). An exec that fails writes its errno to a
// close-on-exec pipe that the parent reads once the child has exec'd or
// ended: an empty pipe means the exec succeeded.
//
// Like a shell, a file the kernel refuses with ENOEXEC is run by /bin/sh when
// it is a script without a `#!` line, and reported as not executable (126)
// when it is a binary the kernel cannot run (an ELF of another machine, a
// 32-bit program on a kernel without IA32 emulation): execvp(3)'s fallback
// would hand the binary to sh, which fails with a syntax error.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace ftsc::launch {

// The program a command's argv[0] names, found as execvp(3) and a shell find
// it: a name with a slash as it is; otherwise the first regular, executable
// file of that name in the directories of PATH, or of the system's default
// path (confstr(_CS_PATH)) when PATH is not set. The error says why none
// would run ("not found in PATH", or the errno of the match that cannot be
// executed).
base::Result<std::string> find_program(const std::string& name);

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up with find_program; when
                                  // nothing is found, the exec says why
  // Variables ("NAME=VALUE") added to ftsc's environment for the command.
  std::vector<std::string> environment;
  enum class Hold {
    kNone,           // exec at once
    kStopped,        // stop (SIGSTOP) before the exec, so that a tracer can seize the child
    kUntilReleased,  // wait for Command::release() before the exec
  } hold = Hold::kNone;
  // The child's last step before exec, after the hold: async-signal-safe
  // work only. Returns 0, or an errno that ends the child without exec (a
  // setup failure, reported apart from exec failures).
  int (*before_exec)(const void* data) = nullptr;
  const void* before_exec_data = nullptr;
};

// How the exec of a started command went.
struct ExecReport {
  int exec_errno = 0;   // the exec failed with this errno (ENOENT: 127, else 126)
  int setup_errno = 0;  // before_exec failed with this errno
  bool failed() const { return exec_errno != 0 || setup_errno != 0; }
};

// A started command's process. Its owner waits for it (the tracers with
// waitpid(-1), the preload engine for it alone); the object keeps the exec
// pipe and, with kUntilReleased, the release pipe.
class Command {
 public:
  static base::Result<Command> start(const SpawnOptions& options);
  Command(Command&& o) noexcept;
  Command& operator=(Command&& o) noexcept;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  ~Command();

  pid_t pid() const { return pid_; }
  // With Hold::kUntilReleased: lets the child exec.
  void release();
  // Once the child has exec'd or ended (it never blocks then): how the exec
  // went. Read once; later calls give the same answer.
  ExecReport exec_report();

 private:
  Command() = default;
  pid_t pid_ = -1;
  int exec_pipe_ = -1;     // read end: an int errno (setup errors negated)
  int release_pipe_ = -1;  // write end, with kUntilReleased
  bool reported_ = false;
  ExecReport report_;
};

}  // namespace ftsc::launch
