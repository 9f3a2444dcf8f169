// SPDX-License-Identifier: Apache-2.0
#include "policy/effective_policy.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "abi/compiled_policy.h"
#include "base/did_you_mean.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::policy {

const char* decision_name(CellDecision d) {
  switch (d) {
    case CellDecision::kRetry:
      return "retry";
    case CellDecision::kNever:
      return "never";
    case CellDecision::kUndecided:
      return "undecided";
    case CellDecision::kUnset:
      break;
  }
  return "unset";
}

std::string Schedule::describe() const {
  if (delays.empty())
    return "no retries";
  std::string out;
  base::Nanos total{0};
  for (size_t i = 0; i < delays.size(); ++i) {
    if (i)
      out += ", ";
    out += base::format_duration(delays[i]);
    total += delays[i];
  }
  out += fmt::format(" ({} {}, {} of waiting at most", delays.size(),
                     delays.size() == 1 ? "retry" : "retries", base::format_duration(total));
  if (jitter > 0)
    out += fmt::format(", jitter ±{:g}%", jitter * 100);
  if (deadline)
    out += ", deadline " + base::format_duration(*deadline);
  out += ")";
  return out;
}

const EffectiveCell* EffectivePolicy::cell(int nr, int err) const {
  auto it = cells.find({nr, err});
  return it == cells.end() ? nullptr : &it->second;
}

std::vector<int> EffectivePolicy::syscalls() const {
  std::set<int> s;
  for (const auto& [key, c] : cells)
    s.insert(key.first);
  return {s.begin(), s.end()};
}

std::vector<int> EffectivePolicy::errnos() const {
  std::set<int> s;
  for (const auto& [key, c] : cells)
    s.insert(key.second);
  return {s.begin(), s.end()};
}

bool is_program_bug_errno(int err) {
  return err == EFAULT || err == EBADF || err == ENOSYS;
}

namespace {

std::optional<int> parse_number(std::string_view token) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || ptr != token.data() + token.size())
    return std::nullopt;
  return v;
}

}  // namespace

std::optional<int> resolve_syscall_token(std::string_view token) {
  if (auto n = parse_number(token)) {
    if (!kb::syscall_name(*n).empty())
      return n;
    return std::nullopt;
  }
  return kb::syscall_number(token);
}

std::optional<int> resolve_errno_token(std::string_view token) {
  // A number stands for an errno glibc names (which are all below the table's limit).
  if (auto n = parse_number(token)) {
    if (*n > 0 && *n < static_cast<int>(FTSC_ERRNO_LIMIT) && !kb::errno_name(*n).empty())
      return n;
    return std::nullopt;
  }
  return kb::errno_value(token);
}

std::string errno_hint(std::string_view token) {
  if (parse_number(token))
    return fmt::format(
        "a number must be an errno glibc names, between 1 and {}; names read "
        "better, e.g. ENOMEM",
        kb::all_errnos().back().value);
  std::string hint = base::did_you_mean(token, kb::errno_spellings());
  if (hint.empty())
    hint = "errno names are glibc's, e.g. ENOENT, ENOMEM, ECONNREFUSED";
  return hint;
}

namespace {

// Builds the effective policy, collecting every error instead of stopping at the first.
class Resolver {
 public:
  Resolver(const PolicySpec& spec, const kb::KnowledgeBase& kb) : kb_(kb) {
    out_.policy.spec = spec;
  }

  Resolved run() {
    EffectivePolicy& p = out_.policy;
    const PolicySpec& spec = p.spec;
    Schedule def{spec.default_backoff.expand(), spec.default_jitter, spec.default_deadline};
    p.default_schedule = intern_schedule(def, spec.default_backoff.where);

    for (size_t i = 0; i < spec.rules.size(); ++i)
      add_rule(static_cast<int>(i), spec.rules[i]);
    settle();
    for (size_t i = 0; i < spec.injects.size(); ++i)
      add_inject(static_cast<int>(i));
    if (p.injects.size() > FTSC_INJECTS_MAX) {
      error(spec.injects.back().where,
            fmt::format("too many injections: {} (syscall, error) pairs, at most {}",
                        p.injects.size(), FTSC_INJECTS_MAX),
            "inject fewer syscalls, or name them instead of a %group");
    }
    return std::move(out_);
  }

 private:
  struct Candidate {
    EffectiveCell cell;
    bool conflict_reported = false;
  };

  void error(const base::SourceLoc& where, std::string message, std::string hint = {}) {
    out_.diags.push_back({base::Severity::kError, where, std::move(message), std::move(hint)});
  }

  int intern_schedule(const Schedule& s, const base::SourceLoc& where) {
    auto& list = out_.policy.schedules;
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i] == s)
        return static_cast<int>(i);
    if (s.delays.size() > FTSC_DELAYS_MAX) {
      error(where,
            fmt::format("backoff has {} delays, at most {}", s.delays.size(), FTSC_DELAYS_MAX));
    }
    if (list.size() >= FTSC_SCHEDULES_MAX) {
      error(where,
            fmt::format("too many different backoff schedules (at most {})", FTSC_SCHEDULES_MAX),
            "let rules share the [defaults] backoff");
      return 0;
    }
    list.push_back(s);
    return static_cast<int>(list.size() - 1);
  }

  // The syscalls one name stands for, and the group it came through ("" if none).
  std::vector<int> syscalls_of(const Named& n, std::string* group) {
    if (!n.text.empty() && n.text[0] == '%') {
      std::string_view g = std::string_view(n.text).substr(1);
      if (const std::vector<int>* members = kb_.group(g)) {
        *group = n.text;
        return *members;
      }
      std::vector<std::string> names;
      for (std::string_view gn : kb_.group_names())
        names.push_back("%" + std::string(gn));
      std::vector<std::string_view> views(names.begin(), names.end());
      std::string hint = base::did_you_mean(n.text, views);
      if (hint.empty())
        hint = "known groups: " + fmt::format("{}", fmt::join(names, ", "));
      error(n.where, fmt::format("unknown syscall group '{}'", n.text), hint);
      return {};
    }
    if (auto nr = resolve_syscall_token(n.text))
      return {*nr};
    error(n.where, fmt::format("unknown syscall '{}'", n.text), syscall_hint(n.text));
    return {};
  }

  std::string syscall_hint(std::string_view name) {
    std::vector<std::string_view> names;
    for (const kb::SyscallName& s : kb::all_syscalls())
      names.push_back(s.name);
    std::string hint = base::did_you_mean(name, names);
    if (!hint.empty())
      return hint;
    return "names are x86_64 syscall names as libseccomp knows them (see `ftsc policy syscalls`)";
  }

  std::optional<int> errno_of(const Named& n) {
    if (auto e = resolve_errno_token(n.text))
      return e;
    error(n.where, fmt::format("unknown errno '{}'", n.text), errno_hint(n.text));
    return std::nullopt;
  }

  void add_rule(int index, const RuleSpec& rule) {
    const PolicySpec& spec = out_.policy.spec;
    Schedule s;
    s.delays = rule.backoff ? rule.backoff->expand() : spec.default_backoff.expand();
    s.jitter = rule.jitter.value_or(spec.default_jitter);
    s.deadline = rule.deadline ? rule.deadline : spec.default_deadline;
    const base::SourceLoc& sched_where = rule.backoff ? rule.backoff->where : rule.where;

    // The errnos, checked once per rule.
    struct Entry {
      int err;
      CellDecision d;
      base::SourceLoc where;
    };
    std::vector<Entry> entries;
    std::map<int, const Entry*> seen;
    auto add = [&](const std::vector<Named>& list, CellDecision d) {
      for (const Named& n : list) {
        auto e = errno_of(n);
        if (!e)
          continue;
        if (d == CellDecision::kRetry && is_program_bug_errno(*e)) {
          error(n.where,
                fmt::format("{} is never retried: it always means a bug in the program",
                            kb::errno_name(*e)),
                "remove it from `retry` (list it under `never` to document the choice)");
          continue;
        }
        entries.push_back({*e, d, n.where});
      }
    };
    add(rule.retry, CellDecision::kRetry);
    add(rule.never, CellDecision::kNever);
    add(rule.undecided, CellDecision::kUndecided);
    for (const Entry& e : entries) {
      auto [it, inserted] = seen.emplace(e.err, &e);
      if (!inserted && it->second->d != e.d) {
        error(e.where,
              fmt::format("contradictory rule: {} is both `{}` and `{}` in the same rule",
                          kb::errno_name(e.err), decision_name(it->second->d), decision_name(e.d)),
              "keep it in one list");
      }
    }
    // not_applicable entries are only checked for names (the checker compares them
    // with the man pages).
    for (const Named& n : rule.not_applicable)
      errno_of(n);

    bool any_retry = std::any_of(entries.begin(), entries.end(),
                                 [](const Entry& e) { return e.d == CellDecision::kRetry; });
    int schedule = any_retry ? intern_schedule(s, sched_where) : -1;

    for (const Named& sc : rule.syscalls) {
      std::string group;
      std::vector<int> nrs = syscalls_of(sc, &group);
      auto& target = group.empty() ? explicit_ : grouped_;
      for (int nr : nrs) {
        for (const Entry& e : entries) {
          EffectiveCell c;
          c.decision = e.d;
          c.rule = index;
          c.schedule = e.d == CellDecision::kRetry ? schedule : -1;
          c.group = group;
          c.where = e.where;
          place(target, nr, e.err, c);
        }
      }
    }
  }

  // Same kind of rule (both explicit, or both through groups): they must agree.
  void place(std::map<std::pair<int, int>, Candidate>& into, int nr, int err,
             const EffectiveCell& c) {
    auto [it, inserted] = into.emplace(std::make_pair(nr, err), Candidate{c});
    if (inserted)
      return;
    Candidate& old = it->second;
    if (old.cell.decision == c.decision && old.cell.schedule == c.schedule)
      return;
    if (old.conflict_reported)
      return;
    old.conflict_reported = true;
    conflicts_.push_back({nr, err, old.cell, c});
  }

  struct Conflict {
    int nr, err;
    EffectiveCell first, second;
  };

  void report(const Conflict& k) {
    const auto& rules = out_.policy.spec.rules;
    auto describe = [&](const EffectiveCell& c) {
      std::string how = decision_name(c.decision);
      if (c.decision == CellDecision::kRetry && c.schedule >= 0 &&
          c.schedule < static_cast<int>(out_.policy.schedules.size()))
        how += " with backoff " + out_.policy.schedules[c.schedule].describe();
      return fmt::format("`{}` at {}", how,
                         c.where.str().empty() ? rules[c.rule].origin : c.where.str());
    };
    std::string hint =
        k.first.group.empty()
            ? "remove one of the two"
            : fmt::format("add a rule that names {} itself to decide", kb::syscall_name(k.nr));
    error(k.second.where,
          fmt::format("contradictory rules for {} {}: {} and {}", kb::syscall_name(k.nr),
                      kb::errno_name(k.err), describe(k.first), describe(k.second)),
          hint);
  }

  void settle() {
    auto& cells = out_.policy.cells;
    for (auto& [key, cand] : explicit_)
      cells.emplace(key, cand.cell);
    for (auto& [key, cand] : grouped_) {
      auto it = cells.find(key);
      if (it != cells.end()) {
        it->second.overridden = cand.cell.rule;
        continue;
      }
      cells.emplace(key, cand.cell);
    }
    for (const Conflict& k : conflicts_) {
      // A group-level disagreement that an explicit rule decides is settled.
      if (!k.first.group.empty() && explicit_.count({k.nr, k.err}))
        continue;
      report(k);
    }
  }

  void add_inject(int index) {
    const InjectSpec& in = out_.policy.spec.injects[index];
    // Like strace, an injection may fail with a number as well as a name: any errno a
    // program can see (1..511; 512 and above are the kernel's internal restart codes).
    auto number = parse_number(in.error.text);
    auto err = number && *number > 0 && *number <= static_cast<int>(FTSC_INJECT_ERRNO_MAX)
                   ? number
                   : errno_of(in.error);
    for (const Named& sc : in.syscalls) {
      std::string group;
      for (int nr : syscalls_of(sc, &group)) {
        if (!err)
          continue;
        InjectPlanEntry e;
        e.nr = nr;
        e.error = *err;
        e.first = in.first;
        e.last = in.last;
        e.step = in.step;
        e.probability = in.probability;
        e.seed = in.seed;
        e.spec = index;
        out_.policy.injects.push_back(e);
      }
    }
  }

  const kb::KnowledgeBase& kb_;
  Resolved out_;
  std::map<std::pair<int, int>, Candidate> explicit_;
  std::map<std::pair<int, int>, Candidate> grouped_;
  std::vector<Conflict> conflicts_;
};

}  // namespace

Resolved resolve(const PolicySpec& spec, const kb::KnowledgeBase& kb) {
  return Resolver(spec, kb).run();
}

}  // namespace ftsc::policy
