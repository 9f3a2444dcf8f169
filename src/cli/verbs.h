// SPDX-License-Identifier: Apache-2.0
// Each verb registers its subcommand; main() runs whichever was chosen.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace ftsc::cli {

// The action of the parsed subcommand, returning the exit status.
using Action = std::function<int()>;

// `ftsc policy ...`: check, show, explain, import, export, compile, groups,
// suggest, syscalls, errnos.
void register_policy_verb(CLI::App& app, Action& action);

// `ftsc run [options] -- CMD ARGS...`: run a command under a policy.
// command is what followed `--` on the command line, or null when there was
// no `--` (then the first positional argument starts the command).
void register_run_verb(CLI::App& app, Action& action, const std::vector<std::string>* command);

// `ftsc profile [options] [-- CMD ARGS...]`: count failing syscalls in a
// command or on the machine. command as for register_run_verb.
void register_profile_verb(CLI::App& app, Action& action, const std::vector<std::string>* command);

// `ftsc campaign [options] -- CMD ARGS...`: inject faults one at a time and
// classify how the command reacts. command as for register_run_verb.
void register_campaign_verb(CLI::App& app, Action& action, const std::vector<std::string>* command);

// `ftsc kmod load|status|stats|unload`: the system-wide kernel engine.
void register_kmod_verb(CLI::App& app, Action& action);

}  // namespace ftsc::cli
