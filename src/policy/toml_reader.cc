// SPDX-License-Identifier: Apache-2.0
// The TOML policy language. toml++ does the syntax (and stops at the first
// syntax error, with its position); this file walks the document and checks
// its structure: known keys per table, value types, durations, ranges and the
// combinations that cannot work. It keeps going after a finding so that one
// run reports as many as it can, each with file:line (toml++ keeps a source
// position for every key, value and array element) and a hint. Syscall and
// errno names are kept as written, with their position: resolve() checks them
// against the tables and settles contradictions between rules.
//
// Why one file of this length: the reader is one walk over one document (a
// class whose methods read each table and share its diagnostics list); the
// writer (toml_writer.cc) and the policy's equality (policy.cc) live apart.
#include "base/text.h"
#include "policy/toml.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <toml++/toml.h>

#include "abi/compiled_policy.h"
#include "base/did_you_mean.h"
#include "base/toml_util.h"
#include "policy/inject_grammar.h"

namespace ftsc::policy {
namespace {

using namespace std::string_view_literals;

constexpr std::array kTopKeys = {"version"sv, "mode"sv,   "inject"sv, "defaults"sv,
                                 "budget"sv,  "target"sv, "rule"sv};
constexpr std::array kDefaultsKeys = {"backoff"sv, "jitter"sv, "deadline"sv};
constexpr std::array kBudgetKeys = {"window"sv, "max_wait"sv};
constexpr std::array kTargetKeys = {"cgroup"sv, "uid"sv, "comm"sv, "pid"sv, "all"sv};
constexpr std::array kRuleKeys = {"syscalls"sv,       "retry"sv,   "never"sv,  "undecided"sv,
                                  "not_applicable"sv, "backoff"sv, "jitter"sv, "deadline"sv};
constexpr std::array kExponentialKeys = {"base"sv, "factor"sv, "cap"sv, "attempts"sv};

constexpr int kMaxDelays = static_cast<int>(FTSC_DELAYS_MAX);
constexpr size_t kMaxComm = FTSC_COMM_LEN - 1;      // TASK_COMM_LEN with its NUL
constexpr size_t kMaxCgroup = FTSC_CGROUP_LEN - 1;  // with its NUL
constexpr int64_t kMaxUid = 4294967294;             // (uid_t)-1 means "no uid" to the kernel
constexpr int64_t kMaxPid = 4194304;                // PID_MAX_LIMIT on 64-bit kernels

constexpr std::string_view kDurationExample =
    "write a duration as a string, e.g. \"10ms\" or \"1.5s\"";

constexpr std::string_view kInjectForm =
    "write SYSCALL[,SYSCALL...]:error=ERRNO[:when=FIRST[..LAST][+STEP]][:p=P][:seed=N]";

// Where a key belongs when it is written in the wrong table.
std::string misplaced_hint(std::string_view key, std::string_view table) {
  auto in = [&](auto const& keys) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  if (table != "top level" && in(kTopKeys))
    return fmt::format("'{}' belongs at the top level", key);
  if (table != "[defaults]" && in(kDefaultsKeys))
    return fmt::format("'{}' belongs in [defaults] or a [[rule]]", key);
  if (table != "[budget]" && in(kBudgetKeys))
    return fmt::format("'{}' belongs in [budget]", key);
  if (table != "[target]" && in(kTargetKeys))
    return fmt::format("'{}' belongs in [target]", key);
  if (table != "[[rule]]" && in(kRuleKeys))
    return fmt::format("'{}' belongs in a [[rule]]", key);
  return {};
}

bool has_surrounding_space(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  return !s.empty() && (space(s.front()) || space(s.back()));
}

class PolicyReader {
 public:
  PolicyReader(std::string_view file, std::vector<base::Diagnostic>& diags)
      : file_(file), diags_(diags) {}

  base::SourceLoc loc(const toml::source_region& r) const {
    return base::SourceLoc{file_, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
  }
  base::SourceLoc loc(const toml::node& n) const { return loc(n.source()); }

  void error(base::SourceLoc where, std::string message, std::string hint) {
    diags_.push_back(base::Diagnostic{base::Severity::kError, std::move(where), std::move(message),
                                      std::move(hint)});
  }
  void warning(base::SourceLoc where, std::string message, std::string hint) {
    diags_.push_back(base::Diagnostic{base::Severity::kWarning, std::move(where),
                                      std::move(message), std::move(hint)});
  }

  void wrong_type(const toml::node& n, std::string_view key, std::string_view expected,
                  std::string hint) {
    error(loc(n), fmt::format("'{}' must be {}, found {}", key, expected, base::toml_type_name(n)),
          std::move(hint));
  }

  // Every key of `t` that is not in `known` is reported, with a suggestion.
  template <size_t N>
  void check_keys(const toml::table& t, std::string_view table_name,
                  const std::array<std::string_view, N>& known) {
    std::vector<std::string_view> candidates(known.begin(), known.end());
    for (auto&& [key, value] : t) {
      (void)value;
      std::string_view k = key.str();
      if (std::find(known.begin(), known.end(), k) != known.end())
        continue;
      std::string hint = base::did_you_mean(k, candidates);
      if (hint.empty())
        hint = misplaced_hint(k, table_name);
      if (hint.empty())
        hint = fmt::format("the keys of {} are {}", table_name, fmt::join(known, ", "));
      error(loc(key.source()), fmt::format("unknown key '{}' in {}", base::shown(k), table_name),
            std::move(hint));
    }
  }

  // A table under `key`, or nullptr (reported) when it is something else.
  const toml::table* table_at(const toml::table& parent, std::string_view key) {
    const toml::node* n = parent.get(key);
    if (n == nullptr)
      return nullptr;
    if (const toml::table* t = n->as_table())
      return t;
    wrong_type(*n, key, "a table",
               fmt::format("write [{}] on a line of its own, then its keys", key));
    return nullptr;
  }

  std::optional<std::string> string_value(const toml::node& n, std::string_view key,
                                          std::string_view example) {
    const auto* s = n.as_string();
    if (s == nullptr) {
      wrong_type(n, key, "a string", fmt::format("write it in quotes, e.g. {} = {}", key, example));
      return std::nullopt;
    }
    if (s->get().empty()) {
      error(loc(n), fmt::format("'{}' is an empty string", key),
            fmt::format("write a value, e.g. {} = {}", key, example));
      return std::nullopt;
    }
    return s->get();
  }

  std::optional<base::Nanos> duration_value(const toml::node& n, std::string_view key) {
    const auto* s = n.as_string();
    if (s == nullptr) {
      std::string hint(kDurationExample);
      if (const auto* i = n.as_integer())
        hint = fmt::format("durations need a unit: write \"{}ms\" or \"{}s\"", i->get(), i->get());
      wrong_type(n, key, "a duration string", std::move(hint));
      return std::nullopt;
    }
    auto d = base::parse_duration(s->get());
    if (!d) {
      error(loc(n), fmt::format("'{}': {}", key, d.error().message), d.error().hint);
      return std::nullopt;
    }
    if (*d > base::kMaxPolicyDuration) {
      error(loc(n),
            fmt::format("'{}' is '{}', longer than {}, the longest duration a policy takes", key,
                        s->get(), base::format_duration(base::kMaxPolicyDuration)),
            "retry delays are usually milliseconds; a call is never held longer than a day");
      return std::nullopt;
    }
    return *d;
  }

  // A number (an integer is accepted where a fraction is expected: jitter = 0).
  std::optional<double> number_value(const toml::node& n, std::string_view key,
                                     std::string_view example) {
    if (auto i = n.as_integer())
      return static_cast<double>(i->get());
    if (auto f = n.as_floating_point())
      return f->get();
    wrong_type(n, key, "a number", fmt::format("write e.g. {} = {}", key, example));
    return std::nullopt;
  }

  std::optional<double> fraction_value(const toml::node& n, std::string_view key) {
    auto v = number_value(n, key, "0.1");
    if (!v)
      return std::nullopt;
    if (!(*v >= 0.0 && *v <= 1.0)) {
      error(loc(n), fmt::format("'{}' is {}, outside 0..1", key, *v),
            fmt::format("{} is a fraction of each delay: 0.1 draws delays within +-10%", key));
      return std::nullopt;
    }
    return *v;
  }

  // One name: a string (or an integer: resolve() accepts numbers too).
  std::optional<Named> name_value(const toml::node& n, std::string_view key,
                                  std::string_view what) {
    if (auto i = n.as_integer())
      return Named{std::to_string(i->get()), loc(n)};
    const auto* s = n.as_string();
    if (s == nullptr) {
      error(loc(n),
            fmt::format("'{}' must list {} names as strings, found {}", key, what,
                        base::toml_type_name(n)),
            fmt::format("write e.g. {} = [\"{}\"]", key, what == "syscall" ? "openat" : "ENOMEM"));
      return std::nullopt;
    }
    const std::string& text = s->get();
    if (text.empty()) {
      error(loc(n), fmt::format("empty {} name in '{}'", what, key),
            "remove the empty string or write a name");
      return std::nullopt;
    }
    if (has_surrounding_space(text)) {
      error(
          loc(n),
          fmt::format("{} name '{}' in '{}' has surrounding spaces", what, base::shown(text), key),
          fmt::format("write \"{}\"", base::shown(std::string(base::trim(text)))));
      return std::nullopt;
    }
    return Named{text, loc(n)};
  }

  // A string or an array of strings. Returns nullopt when the value is no list at all.
  std::optional<std::vector<Named>> names_value(const toml::node& n, std::string_view key,
                                                std::string_view what) {
    std::vector<Named> out;
    if (const toml::array* a = n.as_array()) {
      for (const toml::node& e : *a) {
        if (auto named = name_value(e, key, what))
          out.push_back(std::move(*named));
      }
      return out;
    }
    if (n.is_string() || n.is_integer()) {
      if (auto named = name_value(n, key, what))
        out.push_back(std::move(*named));
      return out;
    }
    wrong_type(
        n, key, fmt::format("{} {} name or an array of them", what == "errno" ? "an" : "a", what),
        fmt::format("write e.g. {} = [\"{}\"]", key, what == "syscall" ? "openat" : "ENOMEM"));
    return std::nullopt;
  }

  // "10m" is ten minutes, easily written for "10ms": a delay that long is
  // almost always a slip, and it would hold the failing call for all of it.
  void warn_long_delay(const toml::node& n, std::string_view key, base::Nanos d) {
    if (d < std::chrono::minutes(1))
      return;
    std::string_view text = n.as_string()->get();
    std::string hint =
        text.ends_with("m") && !text.ends_with("ms")
            ? fmt::format("'m' means minutes; for milliseconds write \"{}s\"", text)
            : std::string(
                  "retry delays are usually milliseconds; bound long waits with a deadline");
    warning(loc(n),
            fmt::format("'{}' delay '{}' holds the failing call for {} before it is retried", key,
                        text, base::format_duration(d)),
            std::move(hint));
  }

  std::optional<BackoffSpec> backoff_value(const toml::node& n) {
    if (const toml::array* a = n.as_array())
      return backoff_list(n, *a);
    if (const toml::table* t = n.as_table())
      return backoff_exponential(n, *t);
    wrong_type(n, "backoff", "an array of delays or an exponential table",
               "write backoff = [\"10ms\", \"50ms\", \"100ms\"] or backoff = { base = \"10ms\", "
               "factor = 2.0, cap = \"1s\", attempts = 6 }");
    return std::nullopt;
  }

  std::optional<BackoffSpec> backoff_list(const toml::node& n, const toml::array& a) {
    BackoffSpec b;
    b.form = BackoffSpec::Form::kList;
    b.where = loc(n);
    bool ok = true;
    if (a.empty()) {
      error(loc(n), "'backoff' is an empty list: a schedule needs at least one delay",
            "write e.g. backoff = [\"10ms\", \"50ms\", \"100ms\"]; to never retry an errno, "
            "list it under never");
      return std::nullopt;
    }
    if (a.size() > static_cast<size_t>(kMaxDelays)) {
      error(loc(n),
            fmt::format("'backoff' lists {} delays; at most {} retries are allowed", a.size(),
                        kMaxDelays),
            "shorten the list, or bound the time with a deadline");
      ok = false;
    }
    for (const toml::node& e : a) {
      auto d = duration_value(e, "backoff");
      if (d)
        warn_long_delay(e, "backoff", *d);
      if (d)
        b.delays.push_back(*d);
      else
        ok = false;
    }
    if (!ok)
      return std::nullopt;
    return b;
  }

  std::optional<BackoffSpec> backoff_exponential(const toml::node& n, const toml::table& t) {
    check_keys(t, "the exponential backoff", kExponentialKeys);
    BackoffSpec b;
    b.form = BackoffSpec::Form::kExponential;
    b.where = loc(n);
    b.factor = 2.0;
    b.attempts = 3;
    bool ok = true;
    if (const toml::node* base = t.get("base")) {
      auto d = duration_value(*base, "base");
      if (d)
        warn_long_delay(*base, "base", *d);
      if (d)
        b.base = *d;
      else
        ok = false;
    } else {
      error(loc(n), "the exponential backoff has no 'base'",
            "write e.g. backoff = { base = \"10ms\", factor = 2.0, cap = \"1s\", attempts = 6 }");
      ok = false;
    }
    if (const toml::node* factor = t.get("factor")) {
      auto f = number_value(*factor, "factor", "2.0");
      if (!f) {
        ok = false;
      } else if (!std::isfinite(*f) || *f < 1.0) {
        error(loc(*factor), fmt::format("'factor' is {}; it must be at least 1", *f),
              "each delay is the previous one times factor: 1 keeps it constant, 2 doubles it");
        ok = false;
      } else {
        b.factor = *f;
      }
    }
    if (const toml::node* cap = t.get("cap")) {
      auto d = duration_value(*cap, "cap");
      if (!d) {
        ok = false;
      } else if (d->count() == 0) {
        error(loc(*cap), "'cap' is zero",
              "leave cap out for no upper bound, or give the longest delay");
        ok = false;
      } else {
        b.cap = *d;
      }
    }
    if (const toml::node* attempts = t.get("attempts")) {
      const auto* i = attempts->as_integer();
      if (i == nullptr) {
        wrong_type(*attempts, "attempts", "an integer", "write e.g. attempts = 6");
        ok = false;
      } else if (i->get() < 1 || i->get() > kMaxDelays) {
        error(loc(*attempts), fmt::format("'attempts' is {}, outside 1..{}", i->get(), kMaxDelays),
              "attempts is the number of retries, each after one delay");
        ok = false;
      } else {
        b.attempts = static_cast<int>(i->get());
      }
    }
    if (ok && b.cap.count() > 0 && b.cap < b.base) {
      error(loc(*t.get("cap")),
            fmt::format("'cap' ({}) is shorter than 'base' ({})", base::format_duration(b.cap),
                        base::format_duration(b.base)),
            "cap bounds the growing delays; make it at least base");
      ok = false;
    }
    if (!ok)
      return std::nullopt;
    if (b.cap.count() == 0) {
      std::vector<base::Nanos> delays = b.expand();
      if (delays.back() >= std::chrono::minutes(1))
        warning(loc(n),
                fmt::format("without a 'cap' the delays grow to {} (retry {})",
                            base::format_duration(delays.back()), delays.size()),
                "set cap to the longest delay, e.g. cap = \"1s\"");
    }
    return b;
  }

  std::optional<base::Nanos> deadline_value(const toml::node& n) {
    auto d = duration_value(n, "deadline");
    if (!d)
      return std::nullopt;
    if (d->count() == 0) {
      error(loc(n), "'deadline' is zero: no retry could ever start",
            "leave deadline out for no bound, or give the longest time to spend retrying a call");
      return std::nullopt;
    }
    return d;
  }

  void read_mode(const toml::node& n, PolicySpec& spec) {
    auto s = string_value(n, "mode", "\"enforce\"");
    if (!s)
      return;
    spec.mode_where = loc(n);
    if (*s == "enforce") {
      spec.mode = Mode::kEnforce;
    } else if (*s == "observe") {
      spec.mode = Mode::kObserve;
    } else {
      std::string hint = base::did_you_mean(*s, {"enforce", "observe"});
      if (hint.empty())
        hint = "mode is \"enforce\" (retry) or \"observe\" (decide and count, never retry)";
      error(loc(n), fmt::format("unknown mode '{}'", base::shown(*s)), std::move(hint));
    }
  }

  void read_version(const toml::node& n) {
    const auto* i = n.as_integer();
    if (i == nullptr) {
      wrong_type(n, "version", "an integer", "write version = 1");
      return;
    }
    if (i->get() != 1)
      error(loc(n), fmt::format("unsupported policy version {}", i->get()),
            "this ftsc reads version 1; write version = 1 or leave it out");
  }

  void read_injects(const toml::node& n, PolicySpec& spec) {
    auto one = [&](const toml::node& e) {
      const auto* s = e.as_string();
      if (s == nullptr) {
        error(loc(e), fmt::format("'inject' must list strings, found {}", base::toml_type_name(e)),
              "write e.g. inject = [\"openat:error=ENOENT:when=1..2\"]");
        return;
      }
      if (s->get().empty()) {
        error(loc(e), "empty string in 'inject'", std::string(kInjectForm));
        return;
      }
      base::SourceLoc where = loc(e);
      auto spec_or = parse_inject_spec(s->get(), where);
      if (!spec_or) {
        const base::Error& err = spec_or.error();
        base::SourceLoc w = err.where.line > 0 ? err.where : where;
        error(std::move(w), err.message, err.hint.empty() ? std::string(kInjectForm) : err.hint);
        return;
      }
      InjectSpec inject = std::move(*spec_or);
      if (inject.text.empty())
        inject.text = s->get();
      spec.injects.push_back(std::move(inject));
    };
    if (const toml::array* a = n.as_array()) {
      for (const toml::node& e : *a)
        one(e);
    } else if (n.is_string()) {
      one(n);
    } else {
      wrong_type(n, "inject", "an array of strings",
                 "write e.g. inject = [\"openat:error=ENOENT:when=1..2\"]");
    }
  }

  void read_defaults(const toml::table& t, PolicySpec& spec) {
    check_keys(t, "[defaults]", kDefaultsKeys);
    if (const toml::node* n = t.get("backoff")) {
      if (auto b = backoff_value(*n))
        spec.default_backoff = std::move(*b);
    }
    if (const toml::node* n = t.get("jitter")) {
      if (auto j = fraction_value(*n, "jitter"))
        spec.default_jitter = *j;
    }
    if (const toml::node* n = t.get("deadline")) {
      if (auto d = deadline_value(*n))
        spec.default_deadline = *d;
    }
  }

  void read_budget(const toml::table& t, PolicySpec& spec) {
    check_keys(t, "[budget]", kBudgetKeys);
    spec.budget.where = loc(t);
    bool window_ok = true;
    bool wait_ok = true;
    const toml::node* window = t.get("window");
    const toml::node* max_wait = t.get("max_wait");
    if (window != nullptr) {
      auto d = duration_value(*window, "window");
      if (!d) {
        window_ok = false;
      } else if (d->count() <= 0) {
        error(loc(*window), "'window' is zero",
              "the budget counts waiting within a window: give it a length, e.g. window = \"10s\"");
        window_ok = false;
      } else {
        spec.budget.window = *d;
      }
    }
    if (max_wait != nullptr) {
      auto d = duration_value(*max_wait, "max_wait");
      if (d)
        spec.budget.max_wait = *d;
      else
        wait_ok = false;
    }
    if (window_ok && wait_ok && spec.budget.max_wait > spec.budget.window) {
      const toml::node* at = max_wait != nullptr ? max_wait : window;
      error(loc(*at),
            fmt::format("'max_wait' ({}{}) is longer than 'window' ({})",
                        max_wait != nullptr ? "" : "the default, ",
                        base::format_duration(spec.budget.max_wait),
                        base::format_duration(spec.budget.window)),
            "a process cannot wait longer than the window in which the waiting is counted; "
            "make max_wait at most window");
    }
  }

  void read_target(const toml::table& t, PolicySpec& spec) {
    check_keys(t, "[target]", kTargetKeys);
    TargetSpec& target = spec.target;
    target.where = loc(t);
    std::vector<std::string_view> others;
    if (const toml::node* n = t.get("cgroup")) {
      others.push_back("cgroup");
      if (auto s = string_value(*n, "cgroup", "\"/system.slice/app.service\"")) {
        if (s->front() != '/') {
          error(
              loc(*n), fmt::format("cgroup '{}' is not an absolute path", base::shown(*s)),
              fmt::format("write the cgroup v2 path from the root, e.g. \"/{}\"", base::shown(*s)));
        } else if (s->size() > kMaxCgroup) {
          error(loc(*n),
                fmt::format("cgroup path is {} bytes long; at most {} are allowed", s->size(),
                            kMaxCgroup),
                "target a shorter ancestor cgroup");
        } else if (s->find('\0') != std::string::npos) {
          error(loc(*n), "cgroup path contains a NUL character", "remove the \\u0000");
        } else {
          if (s->starts_with("/sys/fs/cgroup"))
            warning(
                loc(*n), fmt::format("cgroup '{}' looks like a mount path", base::shown(*s)),
                "write the path below the cgroup2 mount point, e.g. \"/system.slice/app.service\"");
          target.cgroup = std::move(*s);
        }
      }
    }
    if (const toml::node* n = t.get("uid")) {
      others.push_back("uid");
      if (const auto* i = n->as_integer()) {
        if (i->get() < 0 || i->get() > kMaxUid)
          error(loc(*n), fmt::format("uid {} is out of range 0..{}", i->get(), kMaxUid),
                "write a user id as `id -u NAME` prints it");
        else
          target.uid = static_cast<uint32_t>(i->get());
      } else {
        wrong_type(*n, "uid", "an integer", "write a numeric user id, e.g. uid = 1000");
      }
    }
    if (const toml::node* n = t.get("pid")) {
      others.push_back("pid");
      if (const auto* i = n->as_integer()) {
        if (i->get() < 1 || i->get() > kMaxPid)
          error(loc(*n), fmt::format("pid {} is out of range 1..{}", i->get(), kMaxPid),
                "write the process id (thread group id) of a running process");
        else
          target.pid = static_cast<int32_t>(i->get());
      } else {
        wrong_type(*n, "pid", "an integer", "write a numeric process id, e.g. pid = 1234");
      }
    }
    if (const toml::node* n = t.get("comm")) {
      others.push_back("comm");
      if (auto s = string_value(*n, "comm", "\"app\"")) {
        if (s->size() > kMaxComm) {
          error(loc(*n),
                fmt::format("comm '{}' is {} bytes long; the kernel keeps at most {}",
                            base::shown(*s), s->size(), kMaxComm),
                fmt::format("write the name as /proc/PID/comm shows it: \"{}\"",
                            base::shown(s->substr(0, kMaxComm))));
        } else if (s->find('\0') != std::string::npos) {
          error(loc(*n), "comm contains a NUL character", "remove the \\u0000");
        } else {
          target.comm = std::move(*s);
        }
      }
    }
    if (const toml::node* n = t.get("all")) {
      if (const auto* b = n->as_boolean()) {
        target.all = b->get();
        if (target.all && !others.empty())
          error(loc(*n),
                fmt::format("contradictory target: all = true and {} are both given",
                            fmt::join(others, ", ")),
                "remove all = true to affect only the processes the other criteria select, or "
                "remove the other criteria to affect every process");
      } else {
        wrong_type(*n, "all", "a boolean", "write all = true");
      }
    }
  }

  void read_rules(const toml::node& n, PolicySpec& spec) {
    const toml::array* a = n.as_array();
    if (a == nullptr) {
      if (n.is_table())
        error(loc(n), "'rule' is a single table; rules are an array of tables",
              "write [[rule]] (two brackets) before each rule");
      else
        wrong_type(n, "rule", "an array of tables", "write [[rule]] before each rule");
      return;
    }
    for (const toml::node& e : *a) {
      const toml::table* t = e.as_table();
      if (t == nullptr) {
        error(loc(e), fmt::format("a rule must be a table, found {}", base::toml_type_name(e)),
              "write [[rule]] followed by syscalls = [...] and retry = [...]");
        continue;
      }
      read_rule(*t, spec);
    }
  }

  void read_rule(const toml::table& t, PolicySpec& spec) {
    check_keys(t, "[[rule]]", kRuleKeys);
    RuleSpec rule;
    rule.where = loc(t);
    rule.origin = "[[rule]]";
    bool has_syscalls = false;
    if (const toml::node* n = t.get("syscalls")) {
      has_syscalls = true;
      if (auto names = names_value(*n, "syscalls", "syscall")) {
        rule.syscalls = std::move(*names);
        const toml::array* a = n->as_array();
        if (a != nullptr && a->empty())
          error(loc(*n), "'syscalls' is an empty list",
                "name the syscalls this rule is about, e.g. syscalls = [\"openat\", \"%file\"]");
      }
    }
    if (!has_syscalls)
      error(rule.where, "rule has no 'syscalls'",
            "add e.g. syscalls = [\"openat\", \"%file\"]: syscall names or %group names");
    bool has_errno_list = false;
    auto list = [&](std::string_view key, std::vector<Named>& out) {
      if (const toml::node* n = t.get(key)) {
        has_errno_list = true;
        if (auto names = names_value(*n, key, "errno"))
          out = std::move(*names);
      }
    };
    list("retry", rule.retry);
    list("never", rule.never);
    list("undecided", rule.undecided);
    list("not_applicable", rule.not_applicable);
    if (!has_errno_list)
      error(rule.where, "rule names no errno: it has no retry, never or undecided list",
            "add retry = [\"ENOMEM\"], never = [...] or undecided = [...]");
    if (const toml::node* n = t.get("backoff"))
      rule.backoff = backoff_value(*n);
    if (const toml::node* n = t.get("jitter"))
      rule.jitter = fraction_value(*n, "jitter");
    if (const toml::node* n = t.get("deadline"))
      rule.deadline = deadline_value(*n);
    spec.rules.push_back(std::move(rule));
  }

  void read(const toml::table& root, PolicySpec& spec) {
    check_keys(root, "top level", kTopKeys);
    if (const toml::node* n = root.get("version"))
      read_version(*n);
    if (const toml::node* n = root.get("mode"))
      read_mode(*n, spec);
    if (const toml::node* n = root.get("inject"))
      read_injects(*n, spec);
    if (const toml::table* t = table_at(root, "defaults"))
      read_defaults(*t, spec);
    if (const toml::table* t = table_at(root, "budget"))
      read_budget(*t, spec);
    if (const toml::table* t = table_at(root, "target"))
      read_target(*t, spec);
    if (const toml::node* n = root.get("rule"))
      read_rules(*n, spec);
  }

 private:
  std::string file_;
  std::vector<base::Diagnostic>& diags_;
};

}  // namespace

ParsedPolicy parse_policy_toml(std::string_view text, std::string_view file) {
  ParsedPolicy out;
  out.spec.source = std::string(file);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    const toml::source_region& r = e.source();
    out.diags.push_back(base::Diagnostic{
        base::Severity::kError,
        base::SourceLoc{std::string(file), static_cast<int>(r.begin.line),
                        static_cast<int>(r.begin.column)},
        fmt::format("TOML syntax error: {}", e.description()),
        "strings need quotes, lists are [\"a\", \"b\"], tables start with [name] or [[rule]]; "
        "see docs/policy.md"});
    return out;
  }
  PolicyReader reader(file, out.diags);
  reader.read(root, out.spec);
  std::stable_sort(
      out.diags.begin(), out.diags.end(), [](const base::Diagnostic& a, const base::Diagnostic& b) {
        return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
      });
  return out;
}

}  // namespace ftsc::policy
