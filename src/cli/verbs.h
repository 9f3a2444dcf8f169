// Each verb registers its subcommand; main() runs whichever was chosen.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace ftsc::cli {

// The action of the parsed subcommand, returning the exit status.
using Action = std::function<int()>;

// `ftsc policy ...`: check, show, explain, import, export, compile, groups, syscalls.
void register_policy_verb(CLI::App& app, Action& action);

}  // namespace ftsc::cli
