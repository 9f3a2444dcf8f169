// SPDX-License-Identifier: Apache-2.0
#include "cli/common.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "kb/knowledge_base.h"
#include "policy/checker.h"

namespace ftsc::cli {

CLI::Validator counting_from_one() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        long long v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > INT32_MAX)
          return fmt::format("'{}' is not a whole number from 1 up", text);
        return {};
      },
      "N>=1");
}

void LiveLine::show(const std::string& line) {
  if (!enabled_)
    return;
  fmt::print(stderr, "\r\033[K{}", line);
  fflush(stderr);
  shown_ = true;
}

void LiveLine::clear() {
  if (shown_)
    fmt::print(stderr, "\r\033[K");
  shown_ = false;
}

std::vector<std::string> command_words(const CLI::App* verb,
                                       const std::vector<std::string>* after_dashes) {
  std::vector<std::string> words = verb->remaining();
  if (after_dashes == nullptr)
    return words;
  if (!words.empty())
    throw CLI::ExtrasError("COMMAND", words);
  return *after_dashes;
}

void add_policy_flag_options(CLI::App* cmd, PolicyOptions& opts) {
  cmd->add_option("--retry", opts.flags.retry,
                  "Retry rule SYSCALL[,SYSCALL...]=ERRNO[,ERRNO...] (repeatable, %group allowed)")
      ->type_name("SPEC");
  cmd->add_option("--backoff", opts.flags.backoff, "Default delays, e.g. 10ms,50ms,100ms")
      ->type_name("DELAYS");
  cmd->add_option("--inject", opts.flags.inject,
                  "Inject SYSCALL[,...]:error=ERRNO[:when=EXPR][:p=P][:seed=N] (repeatable)")
      ->type_name("SPEC");
  cmd->add_option("--table", opts.table, "Which table of a matrix file to use (1-based)")
      ->check(counting_from_one())
      ->type_name("N");
}

std::string read_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UserError{fmt::format("cannot read {} '{}': it is a directory", what, path),
                    "name a file"};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    throw UserError{fmt::format("cannot read {} '{}': {}", what, path, std::strerror(err)),
                    "check the path"};
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad())
    throw UserError{fmt::format("cannot read {} '{}'", what, path), {}};
  return s.str();
}

void write_output(const std::string& path, std::string_view content) {
  if (path.empty() || path == "-") {
    fwrite(content.data(), 1, content.size(), stdout);
    fflush(stdout);
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) {
    int err = errno;
    throw UserError{fmt::format("cannot write '{}': {}", path, std::strerror(err)),
                    "check that the directory exists and is writable"};
  }
}

policy::LoadedPolicy load_policy(const PolicyOptions& opts) {
  policy::LoadedPolicy loaded;
  if (!opts.file.empty()) {
    std::string text = read_file(opts.file, "policy");
    loaded = policy::parse_policy_text(text, opts.file, policy::PolicyFormat::kAuto, opts.table);
  } else if (opts.flags.empty()) {
    throw UserError{"no policy given", "name a policy file, or give rules with --retry",
                    kExitUsage};
  } else if (opts.table != 0) {
    throw UserError{"--table needs a matrix file", {}, kExitUsage};
  }
  std::vector<base::Diagnostic> more = policy::apply_policy_flags(loaded.spec, opts.flags);
  loaded.diags.insert(loaded.diags.end(), more.begin(), more.end());
  return loaded;
}

int print_diagnostics(const std::vector<base::Diagnostic>& diags, FILE* to) {
  int errors = 0;
  for (const base::Diagnostic& d : diags) {
    fmt::print(to, "{}\n", base::format_diagnostic(d));
    if (d.severity == base::Severity::kError)
      ++errors;
  }
  return errors;
}

policy::EffectivePolicy load_effective_policy(const PolicyOptions& opts) {
  policy::LoadedPolicy loaded = load_policy(opts);
  if (base::has_errors(loaded.diags)) {
    int errors = print_diagnostics(loaded.diags, stderr);
    throw UserError{fmt::format("the policy has {} error{}", errors, errors == 1 ? "" : "s"),
                    "run `ftsc policy check` for every finding"};
  }
  policy::Resolved r = policy::resolve(loaded.spec, kb::KnowledgeBase::builtin());
  if (base::has_errors(r.diags)) {
    int errors = print_diagnostics(r.diags, stderr);
    throw UserError{fmt::format("the policy has {} error{}", errors, errors == 1 ? "" : "s"),
                    "run `ftsc policy check` for every finding"};
  }
  return std::move(r.policy);
}

}  // namespace ftsc::cli
