// SPDX-License-Identifier: Apache-2.0
// `ftsc policy`: check, show and explain a policy; convert between TOML and the
// paper's retry matrix; compile it into the block engines read.
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "base/did_you_mean.h"
#include "campaign/json.h"
#include "campaign/suggest.h"
#include "cli/common.h"
#include "cli/help.h"
#include "cli/verbs.h"
#include "kb/errno_table.h"
#include "kb/knowledge_base.h"
#include "kb/syscall_table.h"
#include "policy/checker.h"
#include "policy/compiler.h"
#include "policy/matrix.h"
#include "policy/report.h"
#include "policy/toml.h"
#include "profile/json.h"
#include "profile/suggest.h"

namespace ftsc::cli {
namespace {

struct PolicyVerbOptions {
  PolicyOptions policy;
  std::string output;
  std::string syscall;
  std::string error;
  bool dry_run = false;
  std::string group;
  std::string profile;
  bool observe = false;
};

std::string policy_name(const PolicyOptions& o) {
  return o.file.empty() ? "command line" : o.file;
}

int run_check(const PolicyVerbOptions& o) {
  policy::LoadedPolicy loaded = load_policy(o.policy);
  std::vector<base::Diagnostic> diags = loaded.diags;
  size_t rules = loaded.spec.rules.size();
  size_t cells = 0;
  if (!base::has_errors(loaded.diags)) {
    policy::CheckResult r = policy::check_policy(loaded.spec, kb::KnowledgeBase::builtin());
    diags.insert(diags.end(), r.diags.begin(), r.diags.end());
    cells = r.policy.cells.size();
  }
  int errors = print_diagnostics(diags, stdout);
  size_t warnings = std::count_if(diags.begin(), diags.end(), [](const base::Diagnostic& d) {
    return d.severity == base::Severity::kWarning;
  });
  if (errors > 0) {
    fmt::print("{}: {} error{}, {} warning{}\n", policy_name(o.policy), errors,
               errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    return kExitFindings;
  }
  fmt::print("{}: ok, {} rule{}, {} cell{}, {} warning{}\n", policy_name(o.policy), rules,
             rules == 1 ? "" : "s", cells, cells == 1 ? "" : "s", warnings,
             warnings == 1 ? "" : "s");
  return kExitOk;
}

int run_show(const PolicyVerbOptions& o) {
  policy::EffectivePolicy p = load_effective_policy(o.policy);
  write_output("", policy::render_policy_table(p, kb::KnowledgeBase::builtin()));
  return kExitOk;
}

int resolve_or_explain(std::string_view token, bool is_syscall) {
  auto v = is_syscall ? policy::resolve_syscall_token(token) : policy::resolve_errno_token(token);
  if (v)
    return *v;
  if (!is_syscall)
    throw UserError{fmt::format("unknown errno '{}'", token), policy::errno_hint(token)};
  std::vector<std::string_view> names;
  for (const kb::SyscallName& s : kb::all_syscalls())
    names.push_back(s.name);
  std::string hint = base::did_you_mean(token, names);
  throw UserError{fmt::format("unknown syscall '{}'", token),
                  hint.empty() ? "give an x86_64 syscall name or number" : hint};
}

int run_explain(const PolicyVerbOptions& o) {
  policy::EffectivePolicy p = load_effective_policy(o.policy);
  int nr = resolve_or_explain(o.syscall, true);
  int err = resolve_or_explain(o.error, false);
  write_output("", policy::explain_cell(p, kb::KnowledgeBase::builtin(), nr, err));
  return kExitOk;
}

int run_import(const PolicyVerbOptions& o) {
  PolicyOptions in = o.policy;
  std::string text = read_file(in.file, "matrix");
  policy::LoadedPolicy loaded =
      policy::parse_policy_text(text, in.file, policy::PolicyFormat::kMatrix, in.table);
  if (base::has_errors(loaded.diags)) {
    print_diagnostics(loaded.diags, stderr);
    throw UserError{"the matrix cannot be imported", {}};
  }
  policy::Resolved r = policy::resolve(loaded.spec, kb::KnowledgeBase::builtin());
  if (base::has_errors(r.diags)) {
    print_diagnostics(r.diags, stderr);
    throw UserError{"the matrix names unknown syscalls or errnos",
                    "fix the names and import again"};
  }
  write_output(o.output, policy::write_policy_toml(loaded.spec));
  return kExitOk;
}

int run_export(const PolicyVerbOptions& o) {
  policy::EffectivePolicy p = load_effective_policy(o.policy);
  if (p.cells.empty())
    throw UserError{fmt::format("{} decides no (syscall, errno) cell: a matrix of it would have "
                                "no rows and no columns",
                                policy_name(o.policy)),
                    "add a rule, or --retry SYSCALL=ERRNO"};
  std::string out = fmt::format(
      "# {} exported by ftsc as a retry matrix (y retry, n never, ? undecided, - no rule);\n"
      "# backoff schedules, injections and the target are not part of this format.\n",
      policy_name(o.policy));
  out += policy::format_matrix(policy::to_matrix(p));
  write_output(o.output, out);
  return kExitOk;
}

int run_compile(const PolicyVerbOptions& o) {
  policy::EffectivePolicy p = load_effective_policy(o.policy);
  policy::CompileOptions copts;
  copts.dry_run = o.dry_run;
  auto compiled = policy::compile(p, kb::KnowledgeBase::builtin(), copts);
  if (!compiled)
    throw UserError{compiled.error().message, compiled.error().hint};
  if (o.output.empty() || o.output == "-")
    throw UserError{"the compiled policy is binary", "write it to a file with -o FILE", kExitUsage};
  write_output(o.output, policy::policy_bytes(**compiled));
  return kExitOk;
}

int run_groups(const PolicyVerbOptions& o) {
  const kb::KnowledgeBase& kb = kb::KnowledgeBase::builtin();
  std::vector<std::string_view> names = kb.group_names();
  if (!o.group.empty()) {
    std::string_view g = o.group[0] == '%' ? std::string_view(o.group).substr(1) : o.group;
    const std::vector<int>* members = kb.group(g);
    if (!members) {
      std::vector<std::string> spelled;
      for (std::string_view n : names)
        spelled.push_back(fmt::format("%{}", n));
      std::vector<std::string_view> views(spelled.begin(), spelled.end());
      std::string hint = base::did_you_mean(fmt::format("%{}", g), views);
      throw UserError{
          fmt::format("unknown group '{}'", o.group),
          hint.empty() ? fmt::format("known groups: {}", fmt::join(spelled, ", ")) : hint};
    }
    for (int nr : *members)
      fmt::print("{}\n", kb::syscall_name(nr));
    return kExitOk;
  }
  for (std::string_view n : names)
    fmt::print("%{:<10} {:>3} syscalls  {}\n", n, kb.group(n)->size(), kb.group_description(n));
  return kExitOk;
}

int run_syscalls(const PolicyVerbOptions&) {
  const kb::KnowledgeBase& kb = kb::KnowledgeBase::builtin();
  fmt::print("# man-pages {}: syscall, number, man page, documented errnos\n",
             kb.man_pages_version());
  for (const kb::SyscallTraits& t : kb.syscalls()) {
    std::string errs;
    for (int e : t.documented)
      errs += fmt::format(" {}", kb::errno_name(e));
    fmt::print("{:<24} {:>3}  {:<20}{}\n", t.name, t.nr, t.man_page.empty() ? "-" : t.man_page,
               errs);
  }
  return kExitOk;
}

int run_errnos(const PolicyVerbOptions&) {
  fmt::print("# errno, number, meaning (glibc's names; aliases name the errno they stand for)\n");
  for (const kb::ErrnoName& e : kb::all_errnos())
    fmt::print("{:<16} {:>3}  {}\n", e.name, e.value, std::strerror(e.value));
  for (std::string_view spelling : kb::errno_spellings()) {
    std::optional<int> value = kb::errno_value(spelling);
    if (value && kb::errno_name(*value) != spelling)
      fmt::print("{:<16} {:>3}  alias of {}\n", spelling, *value, kb::errno_name(*value));
  }
  return kExitOk;
}

int run_suggest(const PolicyVerbOptions& o) {
  std::string text = read_file(o.profile, "profile");
  if (campaign::is_campaign_json(text)) {
    auto c = campaign::parse_campaign_json(text, o.profile);
    if (!c)
      throw UserError{c.error().message, c.error().hint};
    profile::SuggestOptions sopts;
    sopts.profile_name = o.profile;
    sopts.observe = o.observe;
    write_output(o.output,
                 campaign::suggest_campaign_policy(*c, kb::KnowledgeBase::builtin(), sopts));
    return kExitOk;
  }
  auto profile = profile::parse_profile_json(text, o.profile);
  if (!profile)
    throw UserError{fmt::format("{}: {}", o.profile, profile.error().message),
                    profile.error().hint};
  profile::SuggestOptions sopts;
  sopts.profile_name = o.profile;
  sopts.observe = o.observe;
  write_output(o.output, profile::suggest_policy(*profile, kb::KnowledgeBase::builtin(), sopts));
  return kExitOk;
}

}  // namespace

void register_policy_verb(CLI::App& app, Action& action) {
  auto opts = std::make_shared<PolicyVerbOptions>();
  CLI::App* policy = app.add_subcommand("policy", "Check, show and convert retry policies");
  policy->require_subcommand(1);
  set_usage(policy, {"ftsc policy SUBCOMMAND [OPTIONS] [ARGS...]"},
            {"ftsc policy check app.toml", "ftsc policy explain app.toml mmap ENOMEM"});

  auto bind = [&action, opts](CLI::App* cmd, int (*run)(const PolicyVerbOptions&)) {
    cmd->callback([&action, opts, run] { action = [opts, run] { return run(*opts); }; });
  };

  CLI::App* check = policy->add_subcommand(
      "check", "Check a policy: exit 0 when clean, 1 on errors; findings carry file:line");
  set_usage(check, {"ftsc policy check [OPTIONS] [FILE]"},
            {"ftsc policy check app.toml", "ftsc policy check --retry 'openat,open=ENOENT'"});
  check->add_option("file", opts->policy.file, "Policy file (TOML or retry matrix)");
  add_policy_flag_options(check, opts->policy);
  bind(check, run_check);

  CLI::App* show = policy->add_subcommand("show", "Print the effective retry matrix");
  set_usage(show, {"ftsc policy show [OPTIONS] [FILE]"},
            {"ftsc policy show app.toml", "ftsc policy show --retry %network=ECONNREFUSED"});
  show->add_option("file", opts->policy.file, "Policy file (TOML or retry matrix)");
  add_policy_flag_options(show, opts->policy);
  bind(show, run_show);

  CLI::App* explain =
      policy->add_subcommand("explain", "Say what happens when SYSCALL fails with ERRNO, and why");
  set_usage(explain, {"ftsc policy explain [OPTIONS] FILE SYSCALL ERRNO"},
            {"ftsc policy explain app.toml mmap ENOMEM",
             "ftsc policy explain app.toml 257 2 --retry openat=ENOENT"});
  explain->add_option("file", opts->policy.file, "Policy file (TOML or retry matrix)")->required();
  explain->add_option("syscall", opts->syscall, "Syscall name or number")->required();
  explain->add_option("errno", opts->error, "Errno name or number")->required();
  add_policy_flag_options(explain, opts->policy);
  bind(explain, run_explain);

  CLI::App* import = policy->add_subcommand(
      "import", "Convert a retry matrix (the paper's tab-separated format) into a TOML policy");
  set_usage(import, {"ftsc policy import [--table N] [-o FILE] MATRIX"},
            {"ftsc policy import paper.tsv --table 1 -o policy.toml"});
  import->add_option("matrix", opts->policy.file, "Matrix file")->required();
  import->add_option("--table", opts->policy.table, "Which table of the file (1-based)")
      ->check(counting_from_one());
  import->add_option("-o,--output", opts->output, "Write the TOML here (default: stdout)");
  bind(import, run_import);

  CLI::App* exp = policy->add_subcommand("export", "Write a policy as a retry matrix");
  set_usage(exp, {"ftsc policy export [OPTIONS] [-o FILE] [FILE]"},
            {"ftsc policy export app.toml -o app.tsv"});
  exp->add_option("file", opts->policy.file, "Policy file (TOML or retry matrix)");
  exp->add_option("-o,--output", opts->output, "Write the matrix here (default: stdout)");
  add_policy_flag_options(exp, opts->policy);
  bind(exp, run_export);

  CLI::App* comp =
      policy->add_subcommand("compile", "Compile a policy into the binary block the engines read");
  set_usage(comp, {"ftsc policy compile [OPTIONS] -o FILE [FILE]"},
            {"ftsc policy compile app.toml -o app.bin"});
  comp->add_option("file", opts->policy.file, "Policy file (TOML or retry matrix)");
  comp->add_option("-o,--output", opts->output, "Output file")->required();
  comp->add_flag("--dry-run", opts->dry_run, "Decide and count, never retry (observe mode)");
  add_policy_flag_options(comp, opts->policy);
  bind(comp, run_compile);

  CLI::App* groups =
      policy->add_subcommand("groups", "List syscall groups, or one group's members");
  set_usage(groups, {"ftsc policy groups [GROUP]"},
            {"ftsc policy groups", "ftsc policy groups %network"});
  groups->add_option("group", opts->group, "A group, e.g. %file");
  bind(groups, run_groups);

  CLI::App* suggest = policy->add_subcommand(
      "suggest",
      "Write a commented policy for the failures a profile (ftsc profile -o) or a campaign "
      "(ftsc campaign -o) saw");
  set_usage(suggest, {"ftsc policy suggest [--observe] [-o FILE] PROFILE"},
            {"ftsc policy suggest app.json -o app.toml", "ftsc policy suggest --observe app.json"});
  suggest
      ->add_option("profile", opts->profile,
                   "Profile or campaign JSON written by ftsc profile -o or ftsc campaign -o")
      ->required();
  suggest->add_option("-o,--output", opts->output, "Write the TOML here (default: stdout)");
  suggest->add_flag("--observe", opts->observe,
                    "Suggest mode = \"observe\": decide and count, never retry");
  bind(suggest, run_suggest);

  CLI::App* sys = policy->add_subcommand(
      "syscalls", "List x86_64 syscalls with the errnos their man pages document");
  set_usage(sys, {"ftsc policy syscalls"}, {"ftsc policy syscalls | grep '^open'"});
  bind(sys, run_syscalls);

  CLI::App* errnos = policy->add_subcommand(
      "errnos", "List the errno names a policy may use, with their numbers and meanings");
  set_usage(errnos, {"ftsc policy errnos"}, {"ftsc policy errnos | grep -w 12"});
  bind(errnos, run_errnos);
}

}  // namespace ftsc::cli
