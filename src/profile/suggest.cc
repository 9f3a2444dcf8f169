// SPDX-License-Identifier: Apache-2.0
#include "profile/suggest.h"

#include <fmt/format.h>

#include "kb/errno_table.h"
#include "policy/effective_policy.h"
#include "profile/table.h"

namespace ftsc::profile {
namespace {

std::string toml_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i)
    out += fmt::format("{}\"{}\"", i ? ", " : "", names[i]);
  return out + "]";
}

// Why an errno of a syscall is or is not a retry candidate, for the comment.
std::string reason(const kb::SyscallTraits* t, int err, bool transient) {
  if (transient)
    return "plausibly transient for this call";
  if (policy::is_program_bug_errno(err))
    return "a bug in the program, never retried";
  if (t && !t->documents(err))
    return "not transient; not in the man page's ERRORS either";
  return "not transient for this call";
}

}  // namespace

std::string suggest_policy(const Profile& profile, const kb::KnowledgeBase& kb,
                           const SuggestOptions& options) {
  std::string out;
  out += "# A first ftsc policy, suggested by `ftsc policy suggest` from ";
  out += options.profile_name.empty() ? "a profile" : options.profile_name;
  out += ".\n";
  std::string heading = format_profile_table(profile, 1);
  out += "# " + heading.substr(0, heading.find('\n')) + "\n";
  uint64_t calls = profile.counts.total_calls();
  out += fmt::format("# {} calls, {} failed.\n", calls, profile.counts.total_failures());
  out +=
      "#\n"
      "# For each syscall that failed, the errnos that ftsc's knowledge base marks as\n"
      "# plausibly transient for that call are retried, the others are never retried;\n"
      "# the counts are what the profile observed. Review every rule before you use it:\n"
      "# a retry hides an error from the program for up to the whole backoff schedule.\n"
      "# `ftsc policy check FILE` explains its warnings; `ftsc run --dry-run` counts\n"
      "# what would be retried without retrying.\n";
  out += "version = 1\n";
  out += options.observe ? "mode = \"observe\"\n"
                         : "# mode = \"observe\"   # decide and count only, to roll it out\n";
  out +=
      "\n[defaults]\n"
      "backoff = [\"10ms\", \"50ms\", \"100ms\"]   # the paper's schedule\n";

  size_t rules = 0;
  std::vector<std::string> skipped;
  for (const SyscallSummary& s : summarize_syscalls(profile.counts)) {
    if (s.failures == 0)
      continue;
    const kb::SyscallTraits* t = kb.syscall(s.nr);
    std::string name = profile_syscall_label(s.nr);
    if (!t) {
      skipped.push_back(
          fmt::format("{}: not an x86_64 syscall ftsc knows ({} failures)", name, s.failures));
      continue;
    }
    std::vector<std::string> retry, never;
    std::string comment = fmt::format("\n# {}: {} calls, {} failed ({:.1f}%)\n", name, s.calls,
                                      s.failures, s.failure_ratio() * 100);
    for (const ErrnoCount& e : s.errnos) {
      std::string label = profile_errno_label(e.err);
      if (is_restart_code(e.err) || kb::errno_name(e.err).empty()) {
        comment += fmt::format("#   {:<14} {:>8}  {}\n", label, e.count,
                               is_restart_code(e.err)
                                   ? "the kernel's restart code: the program saw EINTR or a "
                                     "restarted call; ftsc passes it through"
                                   : "no errno name; left out");
        continue;
      }
      bool transient =
          !t->never_retry && t->is_transient(e.err) && !policy::is_program_bug_errno(e.err);
      comment += fmt::format("#   {:<14} {:>8}  {} -> {}\n", label, e.count,
                             reason(t, e.err, transient), transient ? "retry" : "never");
      (transient ? retry : never).push_back(label);
    }
    if (t->never_retry)
      comment += fmt::format("#   {} is never retried: {}\n", name, t->never_reason);
    else if (!retry.empty() && !t->idempotent_on_failure)
      comment += fmt::format("#   careful: {}\n", t->side_effect_note);
    out += comment;
    if (retry.empty() && never.empty()) {
      out += "# (nothing to decide)\n";
      continue;
    }
    out += "[[rule]]\n";
    out += fmt::format("syscalls = [\"{}\"]\n", name);
    if (!retry.empty())
      out += "retry = " + toml_list(retry) + "\n";
    if (!never.empty())
      out += "never = " + toml_list(never) + "\n";
    ++rules;
  }
  if (rules == 0)
    out += "\n# No syscall failed with an errno this policy could name: nothing to retry.\n";
  for (const std::string& s : skipped)
    out += "# skipped: " + s + "\n";
  return out;
}

}  // namespace ftsc::profile
