// SPDX-License-Identifier: Apache-2.0
// `--help` of each verb: its real usage line and examples. CLI11 (2.1) builds
// the usage line from the options alone ("ftsc run [OPTIONS]"), which hides
// the `-- COMMAND [ARGS...]` a verb needs; a verb gives its own here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace ftsc::cli {

// Installs the formatter that prints the usages given to set_usage(). Call it
// on the root before adding subcommands: they inherit the root's formatter.
void install_help_formatter(CLI::App& app);

// The usage lines (without "Usage: ") and examples (one command line each)
// that `cmd --help` prints. cmd must descend from an app given to
// install_help_formatter().
void set_usage(CLI::App* cmd, std::vector<std::string> usage, std::vector<std::string> examples);

}  // namespace ftsc::cli
