// ftsc: fault-tolerant system calls. Parses the command line, runs the verb,
// and turns fatal user errors into one clear line and an exit status.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "cli/verbs.h"

int main(int argc, char** argv) {
  using namespace ftsc::cli;
  CLI::App app{
      "ftsc: fault-tolerant system calls. Retries syscalls that fail with transient "
      "errors, driven by an explicit retry policy.",
      "ftsc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ftsc " FTSC_VERSION);
  Action action;
  // `ftsc run [OPTIONS] -- COMMAND...` and `ftsc profile [OPTIONS] -- COMMAND...`:
  // what follows `--` is the command's, untouched by option parsing.
  std::vector<std::string> command;
  int parsed = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "run" && std::string_view(argv[i]) != "profile")
      continue;
    for (int j = i + 1; j < argc; ++j) {
      if (std::string_view(argv[j]) == "--") {
        parsed = j;
        command.assign(argv + j + 1, argv + argc);
        break;
      }
    }
    break;
  }
  register_policy_verb(app, action);
  register_kmod_verb(app, action);
  register_run_verb(app, action, parsed < argc ? &command : nullptr);
  register_profile_verb(app, action, parsed < argc ? &command : nullptr);
  try {
    app.parse(parsed, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  try {
    return action ? action() : kExitUsage;
  } catch (const UserError& e) {
    fmt::print(stderr, "ftsc: {}{}\n", e.message, e.hint.empty() ? "" : " (" + e.hint + ")");
    return e.exit_code;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ftsc: internal error: {}\n", e.what());
    return kExitFindings;
  }
}
