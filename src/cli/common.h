// SPDX-License-Identifier: Apache-2.0
// Helpers every verb shares: reading inputs, printing findings, exit codes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/diagnostic.h"
#include "policy/effective_policy.h"
#include "policy/source.h"

namespace ftsc::cli {

// Exit codes: like a compiler's, with usage errors apart.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // bad input or a policy with errors
inline constexpr int kExitUsage = 2;     // a malformed command line

// A fatal user error, caught in main(): printed as "ftsc: MESSAGE (HINT)".
struct UserError {
  std::string message;
  std::string hint;
  int exit_code = kExitFindings;
};

// The options that say which policy a verb works on.
struct PolicyOptions {
  std::string file;  // may be empty when flags give the rules
  int table = 0;
  policy::PolicyFlags flags;
};

// Adds --retry, --backoff, --inject and --table to a command.
// Accepts a whole number from 1 up (CLI::PositiveNumber's message would quote a
// range of doubles).
CLI::Validator counting_from_one();

void add_policy_flag_options(CLI::App* cmd, PolicyOptions& opts);

// The command of a verb that runs one (run, profile, campaign), from its
// callback: the words after the verb's options, or, when main() took them
// after `--`, *after_dashes; both at once is an error (CLI::ExtrasError).
std::vector<std::string> command_words(const CLI::App* verb,
                                       const std::vector<std::string>* after_dashes);

// A line of live progress on stderr, rewritten in place, shown only when
// `enabled` (the caller asks isatty); cleared when it goes.
class LiveLine {
 public:
  explicit LiveLine(bool enabled) : enabled_(enabled) {}
  ~LiveLine() { clear(); }
  LiveLine(const LiveLine&) = delete;
  LiveLine& operator=(const LiveLine&) = delete;
  bool enabled() const { return enabled_; }
  void show(const std::string& line);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
};

// Reads a whole file; throws UserError saying what could not be read and why.
std::string read_file(const std::string& path, const char* what);
// Writes a whole file (or stdout for "-" or ""); throws UserError on failure.
void write_output(const std::string& path, std::string_view content);

// Loads the policy the options name: the file, then the flags. Throws
// UserError when there is neither.
policy::LoadedPolicy load_policy(const PolicyOptions& opts);

// Prints findings, one line each, to the stream; returns the number of errors.
int print_diagnostics(const std::vector<base::Diagnostic>& diags, FILE* to);

// Loads, resolves and checks; prints errors to stderr and throws UserError
// (exit 1) if the policy has any.
policy::EffectivePolicy load_effective_policy(const PolicyOptions& opts);

}  // namespace ftsc::cli
