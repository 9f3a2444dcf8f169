// SPDX-License-Identifier: Apache-2.0
#include "policy/report.h"

#include <sys/syscall.h>
#include <algorithm>

#include <cerrno>

#include <fmt/format.h>

#include "abi/compiled_policy.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"
#include "policy/checker.h"

namespace ftsc::policy {
namespace {

std::string schedule_label(int index) {
  // A, B, ... Z, S26, S27 ... (at most 64 schedules)
  if (index < 26)
    return std::string(1, static_cast<char>('A' + index));
  return fmt::format("S{}", index);
}

std::string rule_origin(const EffectivePolicy& p, const EffectiveCell& c) {
  const RuleSpec& rule = p.spec.rules[c.rule];
  std::string where = c.where.str();
  if (where.empty())
    where = rule.where.str();
  std::string out = fmt::format("{} ({}", where, rule.origin);
  if (!c.group.empty())
    out += ", through " + c.group;
  out += ")";
  return out;
}

std::string target_text(const TargetSpec& t) {
  if (t.empty())
    return "none (the system-wide engine affects no process)";
  if (t.all)
    return "all processes (all = true)";
  std::vector<std::string> parts;
  if (t.cgroup)
    parts.push_back("cgroup " + *t.cgroup);
  if (t.uid)
    parts.push_back(fmt::format("uid {}", *t.uid));
  if (t.pid)
    parts.push_back(fmt::format("pid {}", *t.pid));
  if (t.comm)
    parts.push_back("comm " + *t.comm);
  return fmt::format("{}", fmt::join(parts, " and "));
}

std::string inject_text(const InjectSpec& in) {
  return in.text.empty() ? "(inject)" : in.text;
}

}  // namespace

std::string render_policy_table(const EffectivePolicy& p, const kb::KnowledgeBase& kb) {
  std::string out;
  out += fmt::format("policy {}: mode {}, budget {} of waiting per {} per process\n", p.spec.source,
                     mode_name(p.spec.mode), base::format_duration(p.spec.budget.max_wait),
                     base::format_duration(p.spec.budget.window));
  std::vector<int> nrs = p.syscalls();
  std::vector<int> errs = p.errnos();
  bool several_schedules = false;
  for (const auto& [key, c] : p.cells)
    if (c.decision == CellDecision::kRetry && c.schedule != p.default_schedule)
      several_schedules = true;

  if (nrs.empty()) {
    out += "no rules: nothing is retried\n";
  } else {
    // Column widths: the syscall names, then each errno name or the widest cell.
    size_t first = 7;
    for (int nr : nrs)
      first = std::max(first, kb::syscall_name(nr).size());
    std::vector<std::vector<std::string>> grid(nrs.size(), std::vector<std::string>(errs.size()));
    std::vector<size_t> width(errs.size());
    for (size_t j = 0; j < errs.size(); ++j)
      width[j] = kb::errno_name(errs[j]).size();
    bool any_undocumented = false;
    for (size_t i = 0; i < nrs.size(); ++i) {
      const kb::SyscallTraits* t = kb.syscall(nrs[i]);
      for (size_t j = 0; j < errs.size(); ++j) {
        const EffectiveCell* c = p.cell(nrs[i], errs[j]);
        std::string s = ".";
        if (c) {
          switch (c->decision) {
            case CellDecision::kRetry:
              s = t && t->never_retry ? "(retry)" : "retry";
              if (several_schedules)
                s += ":" + schedule_label(c->schedule);
              break;
            case CellDecision::kNever:
              s = "never";
              break;
            case CellDecision::kUndecided:
              s = "?";
              break;
            case CellDecision::kUnset:
              break;
          }
          if (t && !t->man_page.empty() && !t->documents(errs[j]) &&
              c->decision != CellDecision::kUnset) {
            s += "*";
            any_undocumented = true;
          }
        }
        grid[i][j] = s;
        width[j] = std::max(width[j], s.size());
      }
    }
    out += "\n";
    std::string header = fmt::format("{:<{}}", "syscall", first);
    for (size_t j = 0; j < errs.size(); ++j)
      header += fmt::format("  {:<{}}", kb::errno_name(errs[j]), width[j]);
    while (!header.empty() && header.back() == ' ')
      header.pop_back();
    out += header + "\n";
    for (size_t i = 0; i < nrs.size(); ++i) {
      std::string line = fmt::format("{:<{}}", kb::syscall_name(nrs[i]), first);
      for (size_t j = 0; j < errs.size(); ++j)
        line += fmt::format("  {:<{}}", grid[i][j], width[j]);
      while (!line.empty() && line.back() == ' ')
        line.pop_back();
      out += line + "\n";
    }
    out +=
        "\nretry: retried with the schedule; never: a rule says never; ?: undecided (not "
        "retried); .: no rule (not retried)";
    if (any_undocumented)
      out += "\n*: the man page does not document this errno for the syscall";
    bool any_never_retried = false;
    for (int nr : nrs)
      if (const kb::SyscallTraits* t = kb.syscall(nr); t && t->never_retry)
        any_never_retried = true;
    if (any_never_retried)
      out += "\n(retry): the syscall is never retried whatever the policy says";
    out += "\n";
  }

  out += "\nschedules:\n";
  for (size_t i = 0; i < p.schedules.size(); ++i) {
    bool used = static_cast<int>(i) == p.default_schedule;
    for (const auto& [key, c] : p.cells)
      if (c.decision == CellDecision::kRetry && c.schedule == static_cast<int>(i))
        used = true;
    if (!used)
      continue;
    std::string label = several_schedules ? schedule_label(static_cast<int>(i)) : "";
    if (static_cast<int>(i) == p.default_schedule)
      label += label.empty() ? "default" : " (default)";
    out += fmt::format("  {}: {}\n", label, p.schedules[i].describe());
  }
  if (!p.spec.injects.empty()) {
    out += "\ninjections (attempts fail without running; counted per syscall per process):\n";
    for (const InjectSpec& in : p.spec.injects)
      out += "  " + inject_text(in) + "\n";
  }
  out += "\ntarget (kmod engine): " + target_text(p.spec.target) + "\n";
  return out;
}

namespace {

// The rule that lists err under not_applicable (a matrix's `-`) for syscall nr, if any.
const RuleSpec* not_applicable_in(const EffectivePolicy& p, const kb::KnowledgeBase& kb, int nr,
                                  int err) {
  auto names_nr = [&](const Named& s) {
    if (!s.text.empty() && s.text[0] == '%') {
      const std::vector<int>* members = kb.group(std::string_view(s.text).substr(1));
      return members && std::find(members->begin(), members->end(), nr) != members->end();
    }
    return resolve_syscall_token(s.text) == nr;
  };
  for (const RuleSpec& r : p.spec.rules) {
    bool lists_err =
        std::any_of(r.not_applicable.begin(), r.not_applicable.end(),
                    [&](const Named& e) { return resolve_errno_token(e.text) == err; });
    if (lists_err && std::any_of(r.syscalls.begin(), r.syscalls.end(), names_nr))
      return &r;
  }
  return nullptr;
}

}  // namespace

std::string explain_cell(const EffectivePolicy& p, const kb::KnowledgeBase& kb, int nr, int err) {
  const kb::SyscallTraits* t = kb.syscall(nr);
  std::string sname(kb::syscall_name(nr));
  std::string ename(kb::errno_name(err));
  if (ename.empty())
    ename = fmt::format("errno {}", err);
  std::string verdict;
  std::vector<std::pair<std::string, std::string>> facts;
  const EffectiveCell* c = p.cell(nr, err);

  // The same order as the retry unit's decision.
  if (err >= 512) {
    verdict = "passed through untouched";
    facts.push_back({"why",
                     "kernel-internal restart codes are never retried: the program never "
                     "sees them"});
  } else if (t && t->never_retry) {
    verdict = "never retried";
    facts.push_back({"why", fmt::format("{} is never retried: {}", sname, t->never_reason)});
  } else if (is_program_bug_errno(err)) {
    verdict = "never retried";
    facts.push_back({"why", fmt::format("{} always means a bug in the program", ename)});
  } else if (!c || c->decision == CellDecision::kUnset) {
    verdict = "not retried";
    if (const RuleSpec* r = not_applicable_in(p, kb, nr, err))
      facts.push_back({"why", fmt::format("the rule at {} marks {} as not applicable (`-`)",
                                          r->where.str(), ename)});
    else
      facts.push_back({"why", "no rule names this (syscall, errno)"});
  } else if (c->decision == CellDecision::kNever) {
    verdict = "not retried";
    facts.push_back({"rule", "never, " + rule_origin(p, *c)});
  } else if (c->decision == CellDecision::kUndecided) {
    verdict = "not retried (undecided)";
    facts.push_back({"rule", "? (undecided), " + rule_origin(p, *c)});
  } else {
    bool protocol = t && t->guards != 0 &&
                    std::find(t->protocol_errnos.begin(), t->protocol_errnos.end(), err) !=
                        t->protocol_errnos.end();
    verdict = protocol ? "retried, unless a guard holds" : "retried";
    if (p.spec.mode == Mode::kObserve)
      verdict = "counted as would-retry (observe mode never retries)";
    facts.push_back({"rule", "retry, " + rule_origin(p, *c)});
    if (c->overridden >= 0)
      facts.push_back({"overrides", fmt::format("the group rule at {}",
                                                p.spec.rules[c->overridden].where.str())});
    facts.push_back({"schedule", p.schedules[c->schedule].describe()});
    if (protocol)
      facts.push_back(
          {"guard", fmt::format("{} passes through at once {}", ename, describe_guards(*t))});
    else
      facts.push_back({"guard", "none applies to " + ename});
    if (nr == SYS_connect && ftsc_is_connect_outcome_errno(err)) {
      const Schedule& s = p.schedules[c->schedule];
      facts.push_back(
          {"non-blocking",
           fmt::format("a non-blocking connect that ends with {} (the program reads it from "
                       "SO_ERROR, sees POLLERR, or connects again) is retried too: the socket "
                       "is connected again to the same address, and each attempt waits at most "
                       "{} for its outcome ({}); docs/engines.md says which engines do this",
                       ename,
                       base::format_duration(s.deadline.value_or(
                           base::Nanos(static_cast<int64_t>(FTSC_CONNECT_ATTEMPT_WAIT_NS)))),
                       s.deadline ? "the rule's deadline" : "no deadline: the default")});
    }
    facts.push_back({"budget", fmt::format("a process waits at most {} per {}; past that, "
                                           "failures pass through until the window ends",
                                           base::format_duration(p.spec.budget.max_wait),
                                           base::format_duration(p.spec.budget.window))});
    facts.push_back({"signals",
                     "a pending signal ends the wait; the program gets the last "
                     "error and handles the signal"});
  }
  if (t) {
    if (t->man_page.empty())
      facts.push_back({"man page", "none documents the errors of " + sname});
    else
      facts.push_back(
          {"man page", fmt::format("{} {} {}", t->man_page,
                                   t->documents(err) ? "documents" : "does not document", ename)});
    if (t->is_transient(err))
      facts.push_back({"knowledge", fmt::format("{} is plausibly transient for {}", ename, sname)});
    if (!t->idempotent_on_failure)
      facts.push_back({"side effects", t->side_effect_note});
    if (t->writes_back_on_failure)
      facts.push_back({"writes back", t->writes_back_note});
    if (err == EINTR && !t->eintr_note.empty())
      facts.push_back({"EINTR", t->eintr_note});
  }
  for (const InjectPlanEntry& in : p.injects)
    if (in.nr == nr && in.error == err)
      facts.push_back({"injected", inject_text(p.spec.injects[in.spec])});

  std::string out = fmt::format("{} {}: {}\n", sname, ename, verdict);
  size_t w = 0;
  for (const auto& f : facts)
    w = std::max(w, f.first.size());
  for (const auto& [k, v] : facts)
    out += fmt::format("  {:<{}}  {}\n", k + ":", w + 1, v);
  return out;
}

MatrixTable to_matrix(const EffectivePolicy& p) {
  MatrixTable m;
  m.label = "Syscall \\ Error";
  std::vector<int> errs = p.errnos();
  for (int e : errs)
    m.errnos.push_back({std::string(kb::errno_name(e)), {}});
  for (int nr : p.syscalls()) {
    MatrixTable::Row row;
    row.syscall = {std::string(kb::syscall_name(nr)), {}};
    for (int e : errs) {
      const EffectiveCell* c = p.cell(nr, e);
      char ch = '-';
      if (c) {
        switch (c->decision) {
          case CellDecision::kRetry:
            ch = 'y';
            break;
          case CellDecision::kNever:
            ch = 'n';
            break;
          case CellDecision::kUndecided:
            ch = '?';
            break;
          case CellDecision::kUnset:
            break;
        }
      }
      row.cells.push_back(ch);
    }
    m.rows.push_back(std::move(row));
  }
  return m;
}

}  // namespace ftsc::policy
