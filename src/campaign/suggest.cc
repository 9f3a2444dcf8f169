// SPDX-License-Identifier: Apache-2.0
#include "campaign/suggest.h"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "campaign/table.h"
#include "policy/effective_policy.h"
#include "profile/profile.h"

namespace ftsc::campaign {
namespace {

bool retryable(const kb::KnowledgeBase& kb, const Cell& cell) {
  const kb::SyscallTraits* t = kb.syscall(cell.nr);
  return t != nullptr && !t->never_retry && t->is_transient(cell.err) &&
         !policy::is_program_bug_errno(cell.err) &&
         cell.first[Outcome::kTolerated] < cell.first.total();
}

std::string tally_comment(const Tally& t) {
  std::string out;
  for (Outcome o : kWorstFirst)
    if (t[o] > 0)
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", t[o], outcome_name(o));
  return out;
}

}  // namespace

bool derives_rules(const Campaign& c, const kb::KnowledgeBase& kb) {
  for (const Cell& cell : cells_of(c))
    if (retryable(kb, cell))
      return true;
  return false;
}

std::string suggest_campaign_policy(const Campaign& c, const kb::KnowledgeBase& kb,
                                    const profile::SuggestOptions& options) {
  std::string out;
  out += "# An ftsc policy derived from a fault-injection campaign";
  out += options.profile_name.empty() ? "" : " (" + options.profile_name + ")";
  out += ".\n";
  std::string command;
  for (const std::string& a : c.command)
    command += (command.empty() ? "" : " ") + a;
  out += "# Command: " + command + "\n";
  out += "# " + format_summary(c) + "\n";
  out +=
      "#\n"
      "# Each fault was injected once, alone. A cell whose fault was not always\n"
      "# tolerated and that ftsc's knowledge base marks plausibly transient for the\n"
      "# call is retried; the others are left to the program (comments only).\n"
      "# Review every rule: a retry hides an error from the program for up to the\n"
      "# whole backoff schedule. `ftsc policy check FILE` explains its warnings.\n";
  out += "version = 1\n";
  out += options.observe ? "mode = \"observe\"\n"
                         : "# mode = \"observe\"   # decide and count only, to roll it out\n";
  out +=
      "\n[defaults]\n"
      "backoff = [\"10ms\", \"50ms\", \"100ms\"]   # the paper's schedule\n";
  // One rule per syscall, its errnos together.
  std::map<int, std::vector<const Cell*>> by_syscall;
  std::vector<Cell> cells = cells_of(c);
  for (const Cell& cell : cells)
    by_syscall[cell.nr].push_back(&cell);
  size_t rules = 0;
  for (const auto& [nr, list] : by_syscall) {
    std::string name = profile::profile_syscall_label(nr);
    std::vector<std::string> retry;
    std::string comment = fmt::format("\n# {}:\n", name);
    for (const Cell* cell : list) {
      std::string label = profile::profile_errno_label(cell->err);
      bool r = retryable(kb, *cell);
      const kb::SyscallTraits* t = kb.syscall(nr);
      std::string why = r ? "plausibly transient -> retry"
                        : cell->first[Outcome::kTolerated] == cell->first.total()
                            ? "always tolerated"
                        : t != nullptr && t->never_retry ? "never retried: " + t->never_reason
                                                         : "not transient for this call: left "
                                                           "to the program";
      comment += fmt::format("#   {:<14} {}; {}\n", label, tally_comment(cell->first), why);
      if (r)
        retry.push_back(label);
    }
    out += comment;
    if (retry.empty())
      continue;
    const kb::SyscallTraits* t = kb.syscall(nr);
    if (t != nullptr && !t->idempotent_on_failure)
      out += fmt::format("#   careful: {}\n", t->side_effect_note);
    out += "[[rule]]\n";
    out += fmt::format("syscalls = [\"{}\"]\n", name);
    out += "retry = [";
    for (size_t i = 0; i < retry.size(); ++i)
      out += fmt::format("{}\"{}\"", i ? ", " : "", retry[i]);
    out += "]\n";
    ++rules;
  }
  if (rules == 0)
    out += "\n# Every fault was tolerated or is not transient: nothing to retry.\n";
  return out;
}

}  // namespace ftsc::campaign
