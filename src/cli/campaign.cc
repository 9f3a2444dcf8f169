// SPDX-License-Identifier: Apache-2.0
// `ftsc campaign`: inject faults one at a time into a command, classify how it
// reacts to each, and prove that a policy makes it tolerate them.
#include <time.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "base/duration.h"
#include "campaign/html.h"
#include "campaign/json.h"
#include "campaign/plan.h"
#include "campaign/runner.h"
#include "campaign/suggest.h"
#include "campaign/table.h"
#include "cli/common.h"
#include "cli/help.h"
#include "cli/verbs.h"
#include "kb/knowledge_base.h"
#include "launch/spawn.h"
#include "policy/effective_policy.h"
#include "policy/source.h"

namespace ftsc::cli {
namespace {

struct CampaignOptions {
  std::vector<std::string> command;
  std::vector<std::string> compare;
  std::string check;
  bool ignore_output = false;
  std::string syscalls;
  std::string errnos;
  bool all_errnos = false;
  unsigned occurrences = 1;
  size_t max_runs = 300;
  uint64_t seed = 0;
  std::string policy;
  bool no_policy = false;
  unsigned jobs = 0;
  std::string workdir;
  std::string timeout;
  std::string output;
  std::string report;
  bool quiet = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    std::string word = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!word.empty())
      out.push_back(word);
    if (comma == std::string::npos)
      break;
    at = comma + 1;
  }
  return out;
}

campaign::PlanOptions plan_options(const CampaignOptions& o) {
  campaign::PlanOptions p;
  for (const std::string& name : split_list(o.syscalls)) {
    auto nr = policy::resolve_syscall_token(name);
    if (!nr)
      throw UserError{fmt::format("--syscalls: unknown syscall '{}'", name),
                      "see `ftsc policy syscalls`", kExitUsage};
    p.syscalls.push_back(*nr);
  }
  for (const std::string& name : split_list(o.errnos)) {
    auto err = policy::resolve_errno_token(name);
    if (!err)
      throw UserError{fmt::format("--errnos: unknown errno '{}'", name), policy::errno_hint(name),
                      kExitUsage};
    p.errnos.push_back(*err);
  }
  if (o.all_errnos && !p.errnos.empty())
    throw UserError{"--errnos and --all-errnos exclude each other", {}, kExitUsage};
  p.all_errnos = o.all_errnos;
  p.occurrences = o.occurrences;
  p.max_runs = o.max_runs;
  p.seed = o.seed;
  return p;
}

// The progress line: "WHAT DONE/TOTAL: N tolerated, ...".
std::string progress_line(const char* what, size_t done, size_t total, const campaign::Tally& t) {
  return fmt::format("{} {}/{}: {} tolerated, {} handled, {} crashed, {} hung, {} corrupted", what,
                     done, total, t[campaign::Outcome::kTolerated], t[campaign::Outcome::kHandled],
                     t[campaign::Outcome::kCrashed], t[campaign::Outcome::kHung],
                     t[campaign::Outcome::kCorrupted]);
}

// The policy a second pass runs under, checked before any run: its text.
std::string read_policy(const std::string& file) {
  std::string text = read_file(file, "policy");
  policy::LoadedPolicy loaded = policy::parse_policy_text(text, file);
  policy::Resolved resolved = policy::resolve(loaded.spec, kb::KnowledgeBase::builtin());
  loaded.diags.insert(loaded.diags.end(), resolved.diags.begin(), resolved.diags.end());
  if (print_diagnostics(loaded.diags, stderr) > 0)
    throw UserError{fmt::format("{}: the policy has errors", file), "fix them and run again"};
  return text;
}

int run_campaign(const CampaignOptions& o) {
  if (o.command.empty())
    throw UserError{"nothing to run", "give a command: ftsc campaign [OPTIONS] -- CMD ARGS...",
                    kExitUsage};
  if (o.output == "-" && !o.quiet)
    throw UserError{"-o - would mix the JSON with the table on stdout", "add -q", kExitUsage};
  campaign::PlanOptions popts = plan_options(o);
  std::optional<double> timeout;
  if (!o.timeout.empty()) {
    auto d = base::parse_duration(o.timeout);
    if (!d || d->count() == 0)
      throw UserError{fmt::format("--timeout '{}': not a duration above 0", o.timeout),
                      "e.g. --timeout 10s", kExitUsage};
    timeout = std::chrono::duration<double>(*d).count();
  }
  if (auto path = launch::find_program(o.command[0]); !path)
    throw UserError{fmt::format("cannot execute '{}': {}", o.command[0], path.error().message),
                    "check the command's name and PATH"};
  std::error_code ec;
  if (!o.workdir.empty() && !std::filesystem::is_directory(o.workdir, ec))
    throw UserError{fmt::format("--workdir {}: not a directory", o.workdir),
                    "give a directory to copy for every run"};
  std::string policy_text = o.policy.empty() ? std::string() : read_policy(o.policy);
  const kb::KnowledgeBase& kb = kb::KnowledgeBase::builtin();

  LiveLine progress(!o.quiet && isatty(STDERR_FILENO));
  campaign::Campaign c;
  c.command = o.command;
  c.started = base::utc_now();
  c.compare = o.compare;
  c.check = o.check;
  c.seed = o.seed;
  campaign::RunnerOptions ropts;
  ropts.command = o.command;
  ropts.compare = o.compare;
  ropts.check = o.check;
  ropts.workdir = o.workdir.empty() ? "" : std::filesystem::absolute(o.workdir).string();
  ropts.ignore_output = o.ignore_output;
  ropts.jobs =
      o.jobs != 0 ? o.jobs : static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  ropts.timeout_s = timeout;
  const char* what = "faults";
  ropts.on_progress = [&](size_t done, size_t total, const campaign::Tally& t) {
    progress.show(progress_line(what, done, total, t));
  };
  c.jobs = ropts.jobs;
  campaign::Runner runner(ropts);
  auto golden = runner.golden();
  if (!golden) {
    if (runner.stop_requested())
      return 130;
    throw UserError{golden.error().message, golden.error().hint};
  }
  c.golden = *golden;
  c.timeout_s = runner.timeout_s();
  campaign::Plan plan = campaign::make_plan(c.golden.calls, kb, popts);
  c.planned = plan.planned;
  c.plan = plan.faults;
  if (c.plan.empty())
    throw UserError{"the fault plan is empty: no syscall the command called has a candidate errno",
                    "widen it with --all-errnos or --errnos LIST, or check --syscalls"};
  bool done = runner.run_faults(c.golden.observed, c.plan, 1, "", "", c.runs);
  if (done && !o.no_policy) {
    if (!o.policy.empty()) {
      c.policy_source = o.policy;
      c.policy_text = policy_text;
    } else if (campaign::derives_rules(c, kb)) {
      c.policy_source = "derived";
      c.policy_text = campaign::suggest_campaign_policy(c, kb);
    }
    const std::string name = c.policy_source == "derived" ? "derived.toml" : c.policy_source;
    if (!c.policy_source.empty()) {
      auto reference = runner.reference(c.policy_text, name);
      if (!reference) {
        done = !runner.stop_requested();
        progress.clear();
        fmt::print(stderr, "ftsc: no second pass: {}{}\n", reference.error().message,
                   reference.error().hint.empty() ? "" : " (" + reference.error().hint + ")");
        c.policy_source.clear();
      } else {
        c.with_policy = *reference;
        what = "with the policy";
        done = runner.run_faults(*reference, c.plan, 2, c.policy_text, name, c.runs);
      }
    }
  }
  progress.clear();
  c.interrupted = !done;
  if (!o.quiet) {
    std::string table = campaign::format_campaign_table(c);
    fwrite(table.data(), 1, table.size(), stdout);
    fflush(stdout);
  }
  if (!o.output.empty())
    write_output(o.output, campaign::format_campaign_json(c));
  if (!o.report.empty())
    write_output(o.report, campaign::format_campaign_html(c));
  return c.interrupted ? 130 : kExitOk;
}

}  // namespace

void register_campaign_verb(CLI::App& app, Action& action,
                            const std::vector<std::string>* command) {
  auto opts = std::make_shared<CampaignOptions>();
  CLI::App* cmd = app.add_subcommand(
      "campaign", "Inject faults one at a time into a command and classify how it reacts");
  set_usage(cmd, {"ftsc campaign [OPTIONS] -- COMMAND [ARGS...]"},
            {"ftsc campaign -o campaign.json -- ./app input.txt {}/out.txt",
             "ftsc campaign --workdir tmpl --check 'sqlite3 {}/t.db \"pragma integrity_check\"' -- "
             "sqlite3 t.db 'insert into t values (1)'"});
  cmd->add_option(
         "--compare", opts->compare,
         "Compare this file with the golden run's too (repeatable; {}: the run's directory)")
      ->type_name("PATH");
  cmd->add_option("--check", opts->check,
                  "A shell command that must succeed after every run ({}: the run's directory)")
      ->type_name("CMD");
  cmd->add_flag("--ignore-output", opts->ignore_output,
                "Do not compare standard output and error (for commands whose output varies)");
  cmd->add_option("--syscalls", opts->syscalls, "Inject into these syscalls only (comma-separated)")
      ->type_name("LIST");
  cmd->add_option("--errnos", opts->errnos,
                  "Inject these errnos (comma-separated) instead of the knowledge base's")
      ->type_name("LIST");
  cmd->add_flag("--all-errnos", opts->all_errnos,
                "Inject every errno the man page documents, transient or not");
  cmd->add_option("--occurrences", opts->occurrences,
                  "Occurrences of each call between the first and the last (default 1)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-runs", opts->max_runs, "At most N faults, sampled (default 300)")
      ->type_name("N")
      ->check(counting_from_one());
  cmd->add_option("--seed", opts->seed, "The seed of the sample (default 0)")->type_name("N");
  cmd->add_option("--policy", opts->policy,
                  "The second pass's policy (default: the one derived from the first pass)")
      ->type_name("FILE");
  cmd->add_flag("--no-policy", opts->no_policy, "Make no second pass");
  cmd->add_option("-j,--jobs", opts->jobs, "Runs at a time (default: the number of CPUs)")
      ->type_name("N")
      ->check(counting_from_one());
  cmd->add_option("--workdir", opts->workdir,
                  "Copy this directory for every run and run there ({}: that copy)")
      ->type_name("DIR");
  cmd->add_option("--timeout", opts->timeout,
                  "A run still going after this long is hung (default: 5x the golden run, "
                  "at least 2s)")
      ->type_name("D");
  cmd->add_option("-o,--output", opts->output, "Write every run as JSON to FILE")
      ->type_name("FILE");
  cmd->add_option("--report", opts->report,
                  "Write a self-contained HTML report (the syscall x errno matrix) to FILE")
      ->type_name("FILE");
  cmd->add_flag("-q,--quiet", opts->quiet, "Print no table and no progress");
  cmd->prefix_command();
  cmd->callback([cmd, &action, opts, command] {
    opts->command = command_words(cmd, command);
    action = [opts] { return run_campaign(*opts); };
  });
}

}  // namespace ftsc::cli
