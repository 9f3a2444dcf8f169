// SPDX-License-Identifier: Apache-2.0
// The environment of a command an engine starts: the caller's, with the
// engine's variables added, and the variables a service manager addresses to
// ftsc's own pid readdressed to the command's.
//
// systemd passes a service's listening sockets and watchdog to its main
// process through variables that name that process: LISTEN_PID (with
// LISTEN_FDS and LISTEN_FDNAMES, sd_listen_fds(3)) and WATCHDOG_PID (with
// WATCHDOG_USEC, sd_watchdog_enabled(3)); a program ignores them when they
// name another pid, since it would otherwise act on variables meant for its
// parent. Under `ExecStart=ftsc run -- app` the main process is ftsc, which
// forks: the command is a new pid, so LISTEN_PID names ftsc and the program
// would ignore its sockets. The pid is known only after fork(2), so the
// variable is rewritten in the child, before execve(2): pid_slots() turns
// each such variable into a fixed-width slot before the fork, and
// fill_pid_slots() writes the child's pid into them without allocating.
// Variables that name another process are left as they are.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ftsc::launch {

// base (an environ-style array, may be null) with each "NAME=VALUE" of
// `additions` replacing the variable of that name or added, additions first.
std::vector<std::string> environment_with(char* const* base,
                                          const std::vector<std::string>& additions);

// The variables addressed to a process by pid that ftsc readdresses to the
// command it starts (sd_listen_fds(3), sd_watchdog_enabled(3)).
inline constexpr const char* kPidAddressedVariables[] = {"LISTEN_PID", "WATCHDOG_PID"};

// Each variable of kPidAddressedVariables in env whose value is own_pid,
// widened to hold any pid; returns where their values start, for
// fill_pid_slots(). The pointers are valid while env lives and none of its
// strings is resized.
std::vector<char*> pid_slots(std::vector<std::string>& env, pid_t own_pid);

// Writes pid in decimal into every slot pid_slots() returned.
// Async-signal-safe: for the child between fork(2) and execve(2).
void fill_pid_slots(const std::vector<char*>& slots, pid_t pid);

// Pointers into env for execve(2), null-terminated; valid while env lives.
std::vector<char*> envp_of(std::vector<std::string>& env);

}  // namespace ftsc::launch
