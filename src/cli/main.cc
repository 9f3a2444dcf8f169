// SPDX-License-Identifier: Apache-2.0
// ftsc: fault-tolerant system calls. Parses the command line, runs the verb,
// and turns fatal user errors into one clear line and an exit status.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/did_you_mean.h"
#include "cli/common.h"
#include "cli/help.h"
#include "cli/verbs.h"

namespace {

// CLI11 answers an unknown verb with "A subcommand is required"; name the word
// instead, with the verbs that exist. Looks at the words before the first option.
std::optional<std::string> unknown_verb(const CLI::App& app, int argc, char** argv) {
  const CLI::App* at = &app;
  std::string path = app.get_name();
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word.starts_with("-") || at->get_require_subcommand_min() == 0)
      return std::nullopt;
    std::vector<const CLI::App*> subs = at->get_subcommands({});
    auto sub = std::find_if(subs.begin(), subs.end(),
                            [&](const CLI::App* s) { return s->get_name() == word; });
    if (sub != subs.end()) {
      at = *sub;
      path += " " + at->get_name();
      continue;
    }
    std::vector<std::string> verbs;
    for (const CLI::App* s : subs)
      verbs.push_back(s->get_name());
    std::vector<std::string_view> views(verbs.begin(), verbs.end());
    std::string hint = ftsc::base::did_you_mean(word, views);
    return fmt::format("{}: unknown verb '{}' ({})", path, word,
                       hint.empty() ? fmt::format("one of: {}", fmt::join(verbs, ", ")) : hint);
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ftsc::cli;
  CLI::App app{
      "ftsc: fault-tolerant system calls. Retries syscalls that fail with transient "
      "errors, driven by an explicit retry policy.",
      "ftsc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ftsc " FTSC_VERSION);
  install_help_formatter(app);
  set_usage(&app, {"ftsc VERB [OPTIONS] [ARGS...]", "ftsc VERB --help"},
            {"ftsc run --policy app.toml -- ./app --serve", "ftsc policy check app.toml"});
  app.footer(app.get_footer() + "\n\nSee ftsc(1) and ftsc-policy(5).");
  Action action;
  // `ftsc run [OPTIONS] -- COMMAND...` and `ftsc profile [OPTIONS] -- COMMAND...`:
  // what follows `--` is the command's, untouched by option parsing.
  std::vector<std::string> command;
  int parsed = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "run" && std::string_view(argv[i]) != "profile" &&
        std::string_view(argv[i]) != "campaign")
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
  register_campaign_verb(app, action, parsed < argc ? &command : nullptr);
  if (auto message = unknown_verb(app, parsed, argv)) {
    fmt::print(stderr, "{}\nRun with --help for more information.\n", *message);
    return kExitUsage;
  }
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
