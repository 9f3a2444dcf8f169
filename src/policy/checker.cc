// SPDX-License-Identifier: Apache-2.0
#include "policy/checker.h"

#include <algorithm>
#include <cerrno>
#include <set>

#include <fmt/format.h>

#include "abi/compiled_policy.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::policy {
namespace {

bool is_protocol(const kb::SyscallTraits& t, int err) {
  return t.guards != 0 && std::find(t.protocol_errnos.begin(), t.protocol_errnos.end(), err) !=
                              t.protocol_errnos.end();
}

std::string join_names(const std::vector<const kb::SyscallTraits*>& list, size_t max = 8) {
  std::string out;
  for (size_t i = 0; i < list.size() && i < max; ++i) {
    if (i)
      out += ", ";
    out += list[i]->name;
  }
  if (list.size() > max)
    out += fmt::format(" and {} more", list.size() - max);
  return out;
}

class Linter {
 public:
  Linter(const EffectivePolicy& p, const kb::KnowledgeBase& kb) : p_(p), kb_(kb) {}

  std::vector<base::Diagnostic> run() {
    const auto& rules = p_.spec.rules;
    for (size_t r = 0; r < rules.size(); ++r)
      lint_rule(static_cast<int>(r), rules[r]);
    return std::move(out_);
  }

 private:
  void warn(const base::SourceLoc& where, std::string msg, std::string hint = {}) {
    out_.push_back({base::Severity::kWarning, where, std::move(msg), std::move(hint)});
  }
  void note(const base::SourceLoc& where, std::string msg, std::string hint = {}) {
    out_.push_back({base::Severity::kNote, where, std::move(msg), std::move(hint)});
  }

  // The syscalls of a rule whose cell for err this rule decides.
  std::vector<const kb::SyscallTraits*> decided_by(int rule, int err, bool grouped) {
    std::vector<const kb::SyscallTraits*> out;
    for (const auto& [key, c] : p_.cells) {
      if (key.second != err || c.rule != rule || c.group.empty() != !grouped)
        continue;
      if (const kb::SyscallTraits* t = kb_.syscall(key.first))
        out.push_back(t);
    }
    return out;
  }

  void lint_rule(int r, const RuleSpec& rule) {
    said_.clear();
    std::set<int> linted;  // EAGAIN and EWOULDBLOCK are one errno
    for (const Named& n : rule.retry) {
      auto err = resolve_errno_token(n.text);
      if (!err || is_program_bug_errno(*err) || !linted.insert(*err).second)
        continue;
      lint_retry(r, *err, n.where, false);
      lint_retry(r, *err, n.where, true);
    }
    for (const Named& n : rule.undecided) {
      auto err = resolve_errno_token(n.text);
      if (!err)
        continue;
      warn(n.where,
           fmt::format("{} is undecided (`?`) for {}: it is not retried until a rule decides it",
                       kb::errno_name(*err), rule_subject(rule)),
           "move it to `retry` or `never`");
    }
    for (const Named& n : rule.not_applicable) {
      auto err = resolve_errno_token(n.text);
      if (!err)
        continue;
      for (const Named& s : rule.syscalls) {
        auto nr = resolve_syscall_token(s.text);
        const kb::SyscallTraits* t = nr ? kb_.syscall(*nr) : nullptr;
        if (t && t->documents(*err))
          note(n.where, fmt::format("the matrix marks {} as not applicable to {}, but {} "
                                    "documents it",
                                    kb::errno_name(*err), t->name, t->man_page));
      }
    }
  }

  std::string rule_subject(const RuleSpec& rule) {
    std::vector<std::string> names;
    for (const Named& s : rule.syscalls)
      names.push_back(s.text);
    return fmt::format("{}", fmt::join(names, ", "));
  }

  void lint_retry(int r, int err, const base::SourceLoc& where, bool grouped) {
    std::vector<const kb::SyscallTraits*> subjects = decided_by(r, err, grouped);
    if (subjects.empty())
      return;
    const std::string_view ename = kb::errno_name(err);

    if (!grouped) {
      for (const kb::SyscallTraits* t : subjects)
        lint_explicit(*t, err, where);
    } else {
      // Through a group, speak once per rule and errno, about the members it matters for.
      std::vector<const kb::SyscallTraits*> documenting, side_effects, writes_back, guarded;
      for (const kb::SyscallTraits* t : subjects) {
        if (t->never_retry || !t->documents(err))
          continue;
        documenting.push_back(t);
        if (!t->idempotent_on_failure)
          side_effects.push_back(t);
        if (t->writes_back_on_failure)
          writes_back.push_back(t);
        if (is_protocol(*t, err))
          guarded.push_back(t);
      }
      const std::string& group = p_.cells.empty() ? std::string() : group_of(r, err);
      if (documenting.empty())
        warn(where,
             fmt::format("no syscall of {} documents {}: this retry has no effect", group, ename),
             "check the errno, or name the syscalls that return it");
      if (!side_effects.empty() && once("side effects", -1))
        warn(where,
             fmt::format("retries through {} include calls that may have had side effects "
                         "when they failed: {}",
                         group, join_names(side_effects)),
             "name the syscalls you mean instead of the group");
      if (!writes_back.empty() && once("writes back", -1))
        warn(where,
             fmt::format("retries through {} include calls that write memory even when "
                         "they fail: {}",
                         group, join_names(writes_back)),
             "see `ftsc policy explain` for each");
      if (err == EINTR)
        warn(where,
             fmt::format("retrying EINTR through {} changes programs that use signals to "
                         "interrupt or time out blocking calls",
                         group),
             "retry EINTR only for calls whose programs never rely on it");
      if (!guarded.empty())
        warn(where,
             fmt::format("{} retries are guarded at run time: they pass through at once when it "
                         "is the program's own protocol (non-blocking fd or flag, timeout) for {}",
                         ename, join_names(guarded)));
    }
  }

  std::string group_of(int r, int err) {
    for (const auto& [key, c] : p_.cells)
      if (key.second == err && c.rule == r && !c.group.empty())
        return c.group;
    return "the group";
  }

  void lint_explicit(const kb::SyscallTraits& t, int err, const base::SourceLoc& where) {
    const std::string_view ename = kb::errno_name(err);
    if (t.never_retry) {
      if (!once("never retried", t.nr))
        return;
      warn(
          where,
          fmt::format("{} is never retried ({}); this retry has no effect", t.name, t.never_reason),
          "remove the rule");
      return;
    }
    if (t.man_page.empty()) {
      note(where, fmt::format("no man page documents the errors of {}; {} cannot be checked",
                              t.name, ename));
    } else if (!t.documents(err)) {
      warn(where,
           fmt::format("{} does not document {} for {}: the kernel may never return it here",
                       t.man_page, ename, t.name),
           "check the errno; the man page lists what the call returns");
    }
    if (!t.idempotent_on_failure && once("side effects", t.nr))
      warn(where,
           fmt::format("{} may have had side effects when it failed: {}", t.name,
                       t.side_effect_note),
           "a retry repeats the call on top of them; retry it only where a failure leaves nothing "
           "behind");
    if (t.writes_back_on_failure && once("writes back", t.nr))
      warn(where,
           fmt::format("{} writes memory even when it fails: {}", t.name, t.writes_back_note),
           "the retried call starts from what the failed attempt left");
    if (err == EINTR) {
      std::string msg = fmt::format(
          "retrying EINTR for {} changes programs that use signals to interrupt or "
          "time out a blocking call",
          t.name);
      if (!t.eintr_note.empty())
        msg += " (" + t.eintr_note + ")";
      warn(where, msg, "retry EINTR only if the program never relies on it");
    }
    if (is_protocol(t, err))
      warn(where,
           fmt::format("{} retries for {} are guarded at run time: {} passes through at once {}",
                       ename, t.name, ename, describe_guards(t)));
  }

  // Facts about a syscall (not about an errno) are said once per rule.
  bool once(const char* kind, int nr) { return said_.emplace(kind, nr).second; }

  const EffectivePolicy& p_;
  const kb::KnowledgeBase& kb_;
  std::vector<base::Diagnostic> out_;
  std::set<std::pair<std::string, int>> said_;
};

}  // namespace

std::string describe_guards(const kb::SyscallTraits& t) {
  std::vector<std::string> when;
  if (t.guards & FTSC_SC_GUARD_ALWAYS)
    return "always (it is how the call reports its outcome)";
  if (t.guards & FTSC_SC_GUARD_NONBLOCK_FD)
    when.push_back("the fd is non-blocking (O_NONBLOCK)");
  if (t.guards & FTSC_SC_GUARD_NONBLOCK_FLAGS)
    when.push_back(fmt::format("argument {} has a non-blocking flag", t.flags_arg + 1));
  if (t.guards & FTSC_SC_GUARD_NONBLOCK_CMD)
    when.push_back(fmt::format("argument {} is a non-blocking command", t.flags_arg + 1));
  if (t.guards & FTSC_SC_GUARD_SOCK_RCVTIMEO)
    when.push_back("the fd is a socket with a receive timeout (SO_RCVTIMEO)");
  if (t.guards & FTSC_SC_GUARD_SOCK_SNDTIMEO)
    when.push_back("the fd is a socket with a send timeout (SO_SNDTIMEO)");
  if (t.guards & FTSC_SC_GUARD_TIMEOUT_ARG)
    when.push_back(fmt::format("a timeout is given (argument {})", t.timeout_arg + 1));
  if (when.empty())
    return "never (no guard)";
  return fmt::format("when {}", fmt::join(when, ", or "));
}

std::vector<base::Diagnostic> lint(const EffectivePolicy& policy, const kb::KnowledgeBase& kb) {
  return Linter(policy, kb).run();
}

CheckResult check_policy(const PolicySpec& spec, const kb::KnowledgeBase& kb) {
  Resolved r = resolve(spec, kb);
  CheckResult out{std::move(r.policy), std::move(r.diags)};
  std::vector<base::Diagnostic> more = lint(out.policy, kb);
  out.diags.insert(out.diags.end(), more.begin(), more.end());
  std::stable_sort(out.diags.begin(), out.diags.end(),
                   [](const base::Diagnostic& a, const base::Diagnostic& b) {
                     if (a.where.file != b.where.file)
                       return a.where.file < b.where.file;
                     return a.where.line < b.where.line;
                   });
  return out;
}

}  // namespace ftsc::policy
