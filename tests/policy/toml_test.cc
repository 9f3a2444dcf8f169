// SPDX-License-Identifier: Apache-2.0
#include "policy/toml.h"

#include <string>

#include <gtest/gtest.h>

#include "policy/inject_grammar.h"
#include "policy/matrix.h"

namespace ftsc::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Strings = std::vector<std::string>;

ParsedPolicy parse(std::string_view text) {
  return parse_policy_toml(text, "p.toml");
}

std::vector<std::string> texts(const std::vector<Named>& names) {
  std::vector<std::string> out;
  for (const Named& n : names)
    out.push_back(n.text);
  return out;
}

std::string all_diags(const std::vector<base::Diagnostic>& diags) {
  std::string out;
  for (const base::Diagnostic& d : diags)
    out += base::format_diagnostic(d) + "\n";
  return out;
}

// The policy has a finding of `severity` at p.toml:line whose message contains
// `message` and whose hint contains `hint`.
void expect_finding(const ParsedPolicy& p, int line, std::string_view message,
                    std::string_view hint, base::Severity severity = base::Severity::kError) {
  for (const base::Diagnostic& d : p.diags) {
    if (d.severity != severity || d.message.find(message) == std::string::npos)
      continue;
    EXPECT_EQ(d.where.file, "p.toml");
    EXPECT_EQ(d.where.line, line) << base::format_diagnostic(d);
    EXPECT_NE(d.hint.find(hint), std::string::npos) << base::format_diagnostic(d);
    return;
  }
  ADD_FAILURE() << "no finding '" << message << "' among:\n" << all_diags(p.diags);
}

void expect_error(std::string_view text, int line, std::string_view message,
                  std::string_view hint) {
  SCOPED_TRACE(std::string(text));
  ParsedPolicy p = parse(text);
  EXPECT_TRUE(base::has_errors(p.diags));
  expect_finding(p, line, message, hint);
}

void expect_clean(const ParsedPolicy& p) {
  EXPECT_TRUE(p.diags.empty()) << all_diags(p.diags);
}

constexpr std::string_view kExample = R"(# An example.
version = 1
mode = "enforce"
inject = ["openat:error=ENOENT:when=1..2"]

[defaults]
backoff = ["10ms", "50ms", "100ms"]
jitter = 0.1
deadline = "2s"

[budget]
window = "10s"
max_wait = "2s"

[target]
cgroup = "/system.slice/app.service"
uid = 1000
comm = "app"
pid = 1234

[[rule]]
syscalls = ["mmap", "%memory"]
retry = ["ENOMEM"]
never = ["EINVAL"]
undecided = ["EINTR"]
backoff = ["10ms", "20ms"]
jitter = 0.2
deadline = "1s"

[[rule]]
syscalls = "write"
retry = ["ENOSPC", "EIO"]
backoff = { base = "10ms", factor = 2.0, cap = "1s", attempts = 6 }
)";

TEST(PolicyToml, EmptyPolicyHasTheDefaults) {
  ParsedPolicy p = parse("");
  expect_clean(p);
  EXPECT_EQ(p.spec.source, "p.toml");
  EXPECT_EQ(p.spec.mode, Mode::kEnforce);
  EXPECT_TRUE(p.spec.default_backoff == BackoffSpec::paper_default());
  EXPECT_EQ(p.spec.default_jitter, 0.0);
  EXPECT_FALSE(p.spec.default_deadline.has_value());
  EXPECT_EQ(p.spec.budget.window, seconds(10));
  EXPECT_EQ(p.spec.budget.max_wait, seconds(2));
  EXPECT_TRUE(p.spec.target.empty());
  EXPECT_TRUE(p.spec.rules.empty());
  EXPECT_TRUE(p.spec.injects.empty());
}

TEST(PolicyToml, FullExample) {
  ParsedPolicy p = parse(kExample);
  expect_clean(p);
  const PolicySpec& s = p.spec;
  EXPECT_EQ(s.mode, Mode::kEnforce);
  EXPECT_EQ(s.mode_where.str(), "p.toml:3");

  ASSERT_EQ(s.injects.size(), 1u);
  EXPECT_EQ(s.injects[0].text, "openat:error=ENOENT:when=1..2");
  EXPECT_EQ(s.injects[0].where.line, 4);

  EXPECT_EQ(s.default_backoff.form, BackoffSpec::Form::kList);
  EXPECT_EQ(s.default_backoff.delays,
            (std::vector<base::Nanos>{milliseconds(10), milliseconds(50), milliseconds(100)}));
  EXPECT_EQ(s.default_backoff.where.line, 7);
  EXPECT_DOUBLE_EQ(s.default_jitter, 0.1);
  EXPECT_EQ(s.default_deadline, base::Nanos(seconds(2)));

  EXPECT_EQ(s.budget.window, seconds(10));
  EXPECT_EQ(s.budget.max_wait, seconds(2));
  EXPECT_EQ(s.budget.where.line, 11);

  EXPECT_EQ(s.target.cgroup, "/system.slice/app.service");
  EXPECT_EQ(s.target.uid, 1000u);
  EXPECT_EQ(s.target.comm, "app");
  EXPECT_EQ(s.target.pid, 1234);
  EXPECT_FALSE(s.target.all);
  EXPECT_EQ(s.target.where.line, 15);

  ASSERT_EQ(s.rules.size(), 2u);
  const RuleSpec& r = s.rules[0];
  EXPECT_EQ(r.origin, "[[rule]]");
  EXPECT_EQ(r.where.str(), "p.toml:21");
  EXPECT_EQ(texts(r.syscalls), (Strings{"mmap", "%memory"}));
  EXPECT_EQ(r.syscalls[1].where.line, 22);
  EXPECT_EQ(texts(r.retry), (Strings{"ENOMEM"}));
  EXPECT_EQ(r.retry[0].where.line, 23);
  EXPECT_EQ(texts(r.never), (Strings{"EINVAL"}));
  EXPECT_EQ(texts(r.undecided), (Strings{"EINTR"}));
  EXPECT_EQ(r.undecided[0].where.line, 25);
  ASSERT_TRUE(r.backoff.has_value());
  EXPECT_EQ(r.backoff->delays, (std::vector<base::Nanos>{milliseconds(10), milliseconds(20)}));
  EXPECT_EQ(r.backoff->where.line, 26);
  EXPECT_EQ(r.jitter, 0.2);
  EXPECT_EQ(r.deadline, base::Nanos(seconds(1)));

  const RuleSpec& w = s.rules[1];
  EXPECT_EQ(texts(w.syscalls), (Strings{"write"}));
  EXPECT_EQ(w.syscalls[0].where.line, 31);
  EXPECT_EQ(texts(w.retry), (Strings{"ENOSPC", "EIO"}));
  ASSERT_TRUE(w.backoff.has_value());
  EXPECT_EQ(w.backoff->form, BackoffSpec::Form::kExponential);
  EXPECT_EQ(w.backoff->base, milliseconds(10));
  EXPECT_EQ(w.backoff->factor, 2.0);
  EXPECT_EQ(w.backoff->cap, seconds(1));
  EXPECT_EQ(w.backoff->attempts, 6);
  EXPECT_EQ(w.backoff->expand(),
            (std::vector<base::Nanos>{milliseconds(10), milliseconds(20), milliseconds(40),
                                      milliseconds(80), milliseconds(160), milliseconds(320)}));
  EXPECT_FALSE(w.jitter.has_value());
  EXPECT_FALSE(w.deadline.has_value());
}

TEST(PolicyToml, ObserveModeAndSystemWideTarget) {
  ParsedPolicy p = parse("mode = \"observe\"\n[target]\nall = true\n");
  expect_clean(p);
  EXPECT_EQ(p.spec.mode, Mode::kObserve);
  EXPECT_TRUE(p.spec.target.all);
  EXPECT_FALSE(p.spec.target.empty());
}

TEST(PolicyToml, ExplicitAllFalseTargetsNothing) {
  ParsedPolicy p = parse("[target]\nall = false\nuid = 0\n");
  expect_clean(p);
  EXPECT_FALSE(p.spec.target.all);
  EXPECT_EQ(p.spec.target.uid, 0u);
}

TEST(PolicyToml, ExponentialDefaultsAndIntegers) {
  ParsedPolicy p = parse("[defaults]\nbackoff = { base = \"1ms\" }\njitter = 1\n");
  expect_clean(p);
  const BackoffSpec& b = p.spec.default_backoff;
  EXPECT_EQ(b.form, BackoffSpec::Form::kExponential);
  EXPECT_EQ(b.base, milliseconds(1));
  EXPECT_EQ(b.factor, 2.0);  // the documented defaults
  EXPECT_EQ(b.attempts, 3);
  EXPECT_EQ(b.cap, base::Nanos(0));
  EXPECT_EQ(b.expand(),
            (std::vector<base::Nanos>{milliseconds(1), milliseconds(2), milliseconds(4)}));
  EXPECT_EQ(p.spec.default_jitter, 1.0);

  ParsedPolicy q = parse("[defaults]\nbackoff = { base = \"5ms\", factor = 1, attempts = 2 }\n");
  expect_clean(q);
  EXPECT_EQ(q.spec.default_backoff.expand(),
            (std::vector<base::Nanos>{milliseconds(5), milliseconds(5)}));
}

TEST(PolicyToml, DottedKeysMakeTheSameTables) {
  ParsedPolicy p = parse("budget.window = \"20s\"\nbudget.max_wait = \"5s\"\n");
  expect_clean(p);
  EXPECT_EQ(p.spec.budget.window, seconds(20));
  EXPECT_EQ(p.spec.budget.max_wait, seconds(5));
}

TEST(PolicyToml, NamesMayBeNumbersAndNotApplicableIsKept) {
  ParsedPolicy p =
      parse("[[rule]]\nsyscalls = [9, \"mmap\"]\nretry = 12\nnot_applicable = [\"ENOTTY\"]\n");
  expect_clean(p);
  ASSERT_EQ(p.spec.rules.size(), 1u);
  EXPECT_EQ(texts(p.spec.rules[0].syscalls), (Strings{"9", "mmap"}));
  EXPECT_EQ(texts(p.spec.rules[0].retry), (Strings{"12"}));
  EXPECT_EQ(texts(p.spec.rules[0].not_applicable), (Strings{"ENOTTY"}));
}

TEST(PolicyToml, NamesAreNotValidatedHere) {
  // resolve() checks names (with suggestions); the parser keeps them and their lines.
  ParsedPolicy p = parse("[[rule]]\nsyscalls = [\"mmapp\"]\nretry = [\n  \"ENOMEMM\",\n]\n");
  expect_clean(p);
  ASSERT_EQ(p.spec.rules.size(), 1u);
  EXPECT_EQ(p.spec.rules[0].retry[0].text, "ENOMEMM");
  EXPECT_EQ(p.spec.rules[0].retry[0].where.str(), "p.toml:4");
  EXPECT_EQ(p.spec.rules[0].retry[0].where.column, 3);
}

TEST(PolicyToml, SyntaxError) {
  ParsedPolicy p = parse("version = 1\nmode = \"enforce\n");
  ASSERT_EQ(p.diags.size(), 1u);
  EXPECT_EQ(p.diags[0].where.line, 2);
  EXPECT_NE(p.diags[0].message.find("TOML syntax error"), std::string::npos) << p.diags[0].message;
  EXPECT_NE(p.diags[0].hint.find("strings need quotes"), std::string::npos);
  expect_error("a = [1,\n2\nb = 3", 3, "TOML syntax error: Error while parsing array", "lists");
  expect_error("[[rule]]\nsyscalls = [\"a\"]\nsyscalls = [\"b\"]\n", 3, "TOML syntax error",
               "docs/policy.md");
}

TEST(PolicyToml, UnknownKeysSuggestTheClosest) {
  expect_error("[[rules]]\nsyscalls = [\"a\"]\n", 1, "unknown key 'rules' in top level",
               "did you mean rule?");
  expect_error("[defaults]\nbackof = [\"1ms\"]\n", 2, "unknown key 'backof' in [defaults]",
               "did you mean backoff?");
  expect_error("[budget]\nmax_wiat = \"1s\"\n", 2, "unknown key 'max_wiat' in [budget]",
               "did you mean max_wait?");
  expect_error("[target]\ncgruop = \"/a\"\n", 2, "unknown key 'cgruop' in [target]",
               "did you mean cgroup?");
  expect_error("[[rule]]\nsyscall = \"read\"\nretry = [\"EIO\"]\n", 2,
               "unknown key 'syscall' in [[rule]]", "did you mean syscalls?");
  expect_error("[[rule]]\nsyscalls = \"read\"\nretyr = [\"EIO\"]\n", 3,
               "unknown key 'retyr' in [[rule]]", "did you mean retry?");
  expect_error("[defaults]\nbackoff = { base = \"1ms\", facter = 3 }\n", 2,
               "unknown key 'facter' in the exponential backoff", "did you mean factor?");
}

TEST(PolicyToml, UnknownKeysWithoutSuggestionListTheKnownOnes) {
  expect_error("colour = \"blue\"\n", 1, "unknown key 'colour'",
               "the keys of top level are version, mode, inject, defaults, budget, target, rule");
  expect_error("[budget]\nlimit = \"1s\"\n", 2, "unknown key 'limit' in [budget]",
               "the keys of [budget] are window, max_wait");
}

TEST(PolicyToml, MisplacedKeysSayWhereTheyBelong) {
  expect_error("[defaults]\nmode = \"observe\"\n", 2, "unknown key 'mode' in [defaults]",
               "'mode' belongs at the top level");
  expect_error("[defaults]\nwindow = \"1s\"\n", 2, "unknown key 'window'",
               "'window' belongs in [budget]");
  expect_error("jitter = 0.1\n", 1, "unknown key 'jitter' in top level",
               "'jitter' belongs in [defaults] or a [[rule]]");
  expect_error("[[rule]]\nsyscalls = \"a\"\nretry = \"EIO\"\nuid = 3\n", 4, "unknown key 'uid'",
               "'uid' belongs in [target]");
  expect_error("retry = [\"EIO\"]\n", 1, "unknown key 'retry' in top level",
               "'retry' belongs in a [[rule]]");
}

TEST(PolicyToml, WrongTypesSayExpectedAndFound) {
  expect_error("mode = 1\n", 1, "'mode' must be a string, found an integer", "mode = ");
  expect_error("version = \"1\"\n", 1, "'version' must be an integer, found a string",
               "version = 1");
  expect_error("defaults = 3\n", 1, "'defaults' must be a table, found an integer", "[defaults]");
  expect_error("[defaults]\njitter = \"10%\"\n", 2, "'jitter' must be a number, found a string",
               "jitter = 0.1");
  expect_error("[defaults]\nbackoff = \"10ms\"\n", 2,
               "'backoff' must be an array of delays or an exponential table, found a string",
               "backoff = [\"10ms\", \"50ms\", \"100ms\"]");
  expect_error("[defaults]\nbackoff = [\"10ms\", 50]\n", 2,
               "'backoff' must be a duration string, found an integer", "\"50ms\"");
  expect_error("[defaults]\ndeadline = 2\n", 2, "'deadline' must be a duration string",
               "durations need a unit: write \"2ms\" or \"2s\"");
  expect_error("[defaults]\ndeadline = 2.5\n", 2,
               "'deadline' must be a duration string, found a floating-point number", "\"1.5s\"");
  expect_error("[target]\nuid = \"1000\"\n", 2, "'uid' must be an integer, found a string",
               "uid = 1000");
  expect_error("[target]\npid = 1.0\n", 2, "'pid' must be an integer", "pid = 1234");
  expect_error("[target]\nall = 1\n", 2, "'all' must be a boolean, found an integer", "all = true");
  expect_error("[target]\ncomm = [\"a\"]\n", 2, "'comm' must be a string, found an array",
               "comm = \"app\"");
  expect_error("[defaults]\nbackoff = { base = \"1ms\", attempts = 2.0 }\n", 2,
               "'attempts' must be an integer, found a floating-point number", "attempts = 6");
  expect_error("inject = 3\n", 1, "'inject' must be an array of strings", "inject = [");
  expect_error("inject = [\"openat:error=ENOENT\", 3]\n", 1,
               "'inject' must list strings, found an integer", "inject = [");
}

TEST(PolicyToml, WrongTypesInRules) {
  expect_error("[[rule]]\nsyscalls = true\nretry = [\"EIO\"]\n", 2,
               "'syscalls' must be a syscall name or an array of them, found a boolean",
               "syscalls = [\"openat\"]");
  expect_error("[[rule]]\nsyscalls = [\n  \"read\",\n  1.5,\n]\nretry = [\"EIO\"]\n", 4,
               "'syscalls' must list syscall names as strings, found a floating-point number",
               "syscalls = [\"openat\"]");
  expect_error("[[rule]]\nsyscalls = \"read\"\nnever = { a = 1 }\n", 3,
               "'never' must be an errno name or an array of them, found a table",
               "never = [\"ENOMEM\"]");
  expect_error("[rule]\nsyscalls = \"read\"\n", 1, "'rule' is a single table",
               "write [[rule]] (two brackets)");
  expect_error("rule = [1]\n", 1, "a rule must be a table, found an integer", "[[rule]]");
  expect_error("rule = \"x\"\n", 1, "'rule' must be an array of tables, found a string",
               "[[rule]]");
}

TEST(PolicyToml, MalformedDurationsUseTheDurationMessage) {
  expect_error("[defaults]\ndeadline = \"2 s\"\n", 2, "'deadline': malformed duration '2 s'",
               "write a number and a unit");
  expect_error("[defaults]\nbackoff = [\n  \"10ms\",\n  \"5 0ms\",\n]\n", 4,
               "malformed duration '5 0ms'", "e.g. '10ms'");
  expect_error("[budget]\nwindow = \"ten seconds\"\n", 2, "malformed duration 'ten seconds'",
               "units: ns, us, ms, s, m, h");
  expect_error("[budget]\nmax_wait = \"-1s\"\n", 2, "'max_wait': malformed duration '-1s'",
               "e.g. '10ms'");
  expect_error("[[rule]]\nsyscalls = \"a\"\nretry = \"EIO\"\ndeadline = \"1x\"\n", 4,
               "unknown unit 'x'", "units:");
  expect_error("[defaults]\nbackoff = { base = \"fast\" }\n", 2, "'base': malformed duration",
               "write a number and a unit");
  expect_error("[defaults]\nbackoff = { base = \"1ms\", cap = \"1\" }\n", 2,
               "'cap': malformed duration '1'", "unit");
}

TEST(PolicyToml, JitterOutsideZeroToOne) {
  expect_error("[defaults]\njitter = 1.5\n", 2, "'jitter' is 1.5, outside 0..1", "fraction");
  expect_error("[defaults]\njitter = -0.1\n", 2, "'jitter' is -0.1, outside 0..1", "fraction");
  expect_error("[defaults]\njitter = nan\n", 2, "outside 0..1", "fraction");
  expect_error("[[rule]]\nsyscalls = \"a\"\nretry = \"EIO\"\njitter = 2\n", 4,
               "'jitter' is 2, outside 0..1", "fraction");
}

TEST(PolicyToml, ExponentialRanges) {
  expect_error("[defaults]\nbackoff = { base = \"1ms\", factor = 0.5 }\n", 2,
               "'factor' is 0.5; it must be at least 1", "doubles");
  expect_error("[defaults]\nbackoff = { base = \"1ms\", factor = inf }\n", 2,
               "it must be at least 1", "factor");
  expect_error("[defaults]\nbackoff = { base = \"1ms\", attempts = 0 }\n", 2,
               "'attempts' is 0, outside 1..32", "number of retries");
  expect_error("[defaults]\nbackoff = { base = \"1ms\", attempts = 33 }\n", 2,
               "'attempts' is 33, outside 1..32", "number of retries");
  expect_error("[defaults]\nbackoff = { factor = 2.0 }\n", 2,
               "the exponential backoff has no 'base'", "base = \"10ms\"");
  expect_error("[defaults]\nbackoff = { base = \"1s\", cap = \"10ms\" }\n", 2,
               "'cap' (10ms) is shorter than 'base' (1s)", "at least base");
  expect_error("[defaults]\nbackoff = { base = \"1s\", cap = \"0s\" }\n", 2, "'cap' is zero",
               "leave cap out");
}

TEST(PolicyToml, DelayListLimits) {
  std::string list = "\"1ms\"";
  for (int i = 1; i < 32; ++i)
    list += ", \"1ms\"";
  ParsedPolicy ok = parse("[defaults]\nbackoff = [" + list + "]\n");
  expect_clean(ok);
  EXPECT_EQ(ok.spec.default_backoff.delays.size(), 32u);
  expect_error("[defaults]\nbackoff = [" + list + ", \"1ms\"]\n", 2,
               "'backoff' lists 33 delays; at most 32", "deadline");
  expect_error("[defaults]\nbackoff = []\n", 2, "'backoff' is an empty list",
               "list it under never");
  // A rejected schedule leaves the default in place.
  ParsedPolicy p = parse("[defaults]\nbackoff = []\n");
  EXPECT_TRUE(p.spec.default_backoff == BackoffSpec::paper_default());
}

TEST(PolicyToml, LongDelaysDrawAWarning) {
  ParsedPolicy p = parse("[defaults]\nbackoff = [\"10ms\", \"10m\"]\n");
  EXPECT_FALSE(base::has_errors(p.diags)) << all_diags(p.diags);
  expect_finding(p, 2, "'backoff' delay '10m' holds the failing call for 10m",
                 "for milliseconds write \"10ms\"", base::Severity::kWarning);
  EXPECT_EQ(p.spec.default_backoff.delays[1], std::chrono::minutes(10));
  ParsedPolicy q = parse("[defaults]\nbackoff = { base = \"2h\" }\n");
  expect_finding(q, 2, "'base' delay '2h'", "bound long waits with a deadline",
                 base::Severity::kWarning);
  expect_clean(parse("[defaults]\nbackoff = [\"59s\"]\n"));
}

TEST(PolicyToml, NoDurationIsLongerThanADay) {
  expect_clean(parse("[defaults]\ndeadline = \"24h\"\n"));
  expect_error("[defaults]\nbackoff = [\"10ms\", \"2562047h\"]\n", 2,
               "'backoff' is '2562047h', longer than 24h", "never held longer than a day");
  expect_error("[defaults]\ndeadline = \"25h\"\n", 2, "'deadline' is '25h', longer than 24h",
               "milliseconds");
  expect_error("[budget]\nwindow = \"1441m\"\n", 2, "'window' is '1441m'", "a day");
  expect_error(
      "[[rule]]\nsyscalls = \"read\"\nretry = \"EIO\"\n"
      "backoff = { base = \"10ms\", cap = \"100h\" }\n",
      4, "'cap' is '100h'", "a day");
}

TEST(PolicyToml, UncappedExponentialBackoffStopsGrowingAtADay) {
  ParsedPolicy p = parse(
      "[[rule]]\nsyscalls = \"read\"\nretry = \"EIO\"\n"
      "backoff = { base = \"1s\", factor = 1e308, attempts = 32 }\n");
  EXPECT_FALSE(base::has_errors(p.diags)) << all_diags(p.diags);
  expect_finding(p, 4, "without a 'cap' the delays grow to 24h (retry 32)", "set cap",
                 base::Severity::kWarning);
  ASSERT_EQ(p.spec.rules.size(), 1u);
  std::vector<base::Nanos> delays = p.spec.rules[0].backoff->expand();
  ASSERT_EQ(delays.size(), 32u);
  EXPECT_EQ(delays[0], seconds(1));
  EXPECT_EQ(delays[1], base::kMaxPolicyDuration);
  EXPECT_EQ(delays[31], base::kMaxPolicyDuration);
  // A cap, or delays that stay short, draw no warning.
  expect_clean(parse("[defaults]\nbackoff = { base = \"10ms\", factor = 2, attempts = 12 }\n"));
  expect_clean(parse(
      "[defaults]\nbackoff = { base = \"10ms\", factor = 10, cap = \"1s\", attempts = 9 }\n"));
}

TEST(PolicyToml, DeadlineMustBePositive) {
  expect_error("[defaults]\ndeadline = \"0s\"\n", 2, "'deadline' is zero", "leave deadline out");
}

TEST(PolicyToml, BudgetRanges) {
  expect_error("[budget]\nwindow = \"0s\"\n", 2, "'window' is zero", "window = \"10s\"");
  expect_error("[budget]\nwindow = \"1s\"\nmax_wait = \"2s\"\n", 3,
               "'max_wait' (2s) is longer than 'window' (1s)", "at most window");
  // Against the default window.
  expect_error("[budget]\nmax_wait = \"11s\"\n", 2,
               "'max_wait' (11s) is longer than 'window' (10s)", "at most window");
  // Against the default max_wait (2s).
  expect_error("[budget]\nwindow = \"1s\"\n", 2,
               "'max_wait' (the default, 2s) is longer than 'window' (1s)", "at most window");
  ParsedPolicy p = parse("[budget]\nwindow = \"1m\"\nmax_wait = \"1m\"\n");
  expect_clean(p);
  EXPECT_EQ(p.spec.budget.window, std::chrono::minutes(1));
  EXPECT_EQ(p.spec.budget.where.line, 1);
}

TEST(PolicyToml, UnknownModeSuggests) {
  expect_error("mode = \"enforc\"\n", 1, "unknown mode 'enforc'", "did you mean enforce?");
  expect_error("mode = \"Observe\"\n", 1, "unknown mode 'Observe'", "did you mean observe?");
  expect_error("mode = \"strict\"\n", 1, "unknown mode 'strict'",
               "mode is \"enforce\" (retry) or \"observe\"");
}

TEST(PolicyToml, VersionMustBeOne) {
  expect_error("version = 2\n", 1, "unsupported policy version 2", "this ftsc reads version 1");
  expect_error("version = 0\n", 1, "unsupported policy version 0", "version = 1");
}

TEST(PolicyToml, TargetRanges) {
  expect_error("[target]\nuid = -1\n", 2, "uid -1 is out of range 0..4294967294", "id -u");
  expect_error("[target]\nuid = 4294967295\n", 2, "uid 4294967295 is out of range", "id -u");
  expect_error("[target]\npid = 0\n", 2, "pid 0 is out of range 1..4194304", "process id");
  expect_error("[target]\npid = 4194305\n", 2, "pid 4194305 is out of range", "process id");
  expect_error("[target]\ncomm = \"a-very-long-name\"\n", 2,
               "comm 'a-very-long-name' is 16 bytes long; the kernel keeps at most 15",
               "\"a-very-long-nam\"");
  expect_error("[target]\ncomm = \"a\\u0000b\"\n", 2, "comm contains a NUL character",
               "remove the \\u0000");
  ParsedPolicy ok =
      parse("[target]\ncomm = \"fifteen-bytes-x\"\nuid = 4294967294\npid = 4194304\n");
  expect_clean(ok);
  EXPECT_EQ(ok.spec.target.comm, "fifteen-bytes-x");
}

TEST(PolicyToml, CgroupMustBeAnAbsoluteShortPath) {
  expect_error("[target]\ncgroup = \"system.slice\"\n", 2,
               "cgroup 'system.slice' is not an absolute path", "\"/system.slice\"");
  std::string long_path = "/" + std::string(255, 'a');
  expect_error("[target]\ncgroup = \"" + long_path + "\"\n", 2,
               "cgroup path is 256 bytes long; at most 255", "shorter");
  ParsedPolicy ok = parse("[target]\ncgroup = \"" + long_path.substr(0, 255) + "\"\n");
  expect_clean(ok);
  ParsedPolicy mount = parse("[target]\ncgroup = \"/sys/fs/cgroup/app.slice\"\n");
  EXPECT_FALSE(base::has_errors(mount.diags));
  expect_finding(mount, 2, "looks like a mount path", "below the cgroup2 mount point",
                 base::Severity::kWarning);
  expect_error("[target]\ncgroup = \"/a\\u0000b\"\n", 2, "NUL", "remove");
}

TEST(PolicyToml, AllContradictsOtherCriteria) {
  expect_error("[target]\nuid = 1000\ncomm = \"app\"\nall = true\n", 4,
               "contradictory target: all = true and uid, comm are both given",
               "remove all = true");
}

TEST(PolicyToml, RuleWithoutSyscalls) {
  expect_error("[[rule]]\nretry = [\"EIO\"]\n", 1, "rule has no 'syscalls'",
               "syscalls = [\"openat\", \"%file\"]");
  expect_error("[[rule]]\nsyscalls = []\nretry = [\"EIO\"]\n", 2, "'syscalls' is an empty list",
               "name the syscalls");
}

TEST(PolicyToml, RuleWithoutErrnos) {
  expect_error("version = 1\n\n[[rule]]\nsyscalls = [\"read\"]\njitter = 0.5\n", 3,
               "rule names no errno", "retry = [\"ENOMEM\"]");
}

TEST(PolicyToml, EmptyStrings) {
  expect_error("[[rule]]\nsyscalls = [\"\"]\nretry = \"EIO\"\n", 2,
               "empty syscall name in 'syscalls'", "remove the empty string");
  expect_error("[[rule]]\nsyscalls = \"read\"\nretry = [\"EIO\", \"\"]\n", 3,
               "empty errno name in 'retry'", "remove the empty string");
  expect_error("mode = \"\"\n", 1, "'mode' is an empty string", "mode = \"enforce\"");
  expect_error("[target]\ncomm = \"\"\n", 2, "'comm' is an empty string", "comm = \"app\"");
  expect_error("[target]\ncgroup = \"\"\n", 2, "'cgroup' is an empty string", "cgroup = ");
  expect_error("inject = [\"\"]\n", 1, "empty string in 'inject'", "error=ERRNO");
  expect_error("[defaults]\ndeadline = \"\"\n", 2, "malformed duration ''", "unit");
}

TEST(PolicyToml, NamesWithSurroundingSpaces) {
  expect_error("[[rule]]\nsyscalls = \" read\"\nretry = \"EIO \"\n", 2,
               "syscall name ' read' in 'syscalls' has surrounding spaces", "write \"read\"");
  expect_error("[[rule]]\nsyscalls = \" read\"\nretry = \"EIO \"\n", 3,
               "errno name 'EIO ' in 'retry' has surrounding spaces", "write \"EIO\"");
}

TEST(PolicyToml, InjectStrings) {
  ParsedPolicy p = parse(
      "inject = [\n  \"openat:error=ENOENT:when=1..2\",\n  "
      "\"read,write:error=EIO:p=0.5:seed=7\",\n]\n");
  expect_clean(p);
  ASSERT_EQ(p.spec.injects.size(), 2u);
  EXPECT_EQ(p.spec.injects[0].text, "openat:error=ENOENT:when=1..2");
  EXPECT_EQ(p.spec.injects[0].where.str(), "p.toml:2");
  EXPECT_EQ(texts(p.spec.injects[0].syscalls), (Strings{"openat"}));
  EXPECT_EQ(p.spec.injects[0].error.text, "ENOENT");
  EXPECT_EQ(p.spec.injects[1].where.str(), "p.toml:3");
  EXPECT_EQ(texts(p.spec.injects[1].syscalls), (Strings{"read", "write"}));
  ParsedPolicy one = parse("inject = \"openat:error=ENOENT\"\n");
  expect_clean(one);
  EXPECT_EQ(one.spec.injects.size(), 1u);
}

TEST(PolicyToml, RejectedInjectStringsKeepTheGrammarsMessage) {
  for (std::string_view bad : {"openat", "openat:error=", "openat:when=1", ":error=EIO"}) {
    SCOPED_TRACE(std::string(bad));
    auto direct = parse_inject_spec(bad, base::SourceLoc{"p.toml", 3, 11});
    ASSERT_FALSE(direct.ok()) << "the inject grammar accepts '" << bad << "'";
    ParsedPolicy p = parse("version = 1\n\ninject = [\"" + std::string(bad) + "\"]\n");
    ASSERT_EQ(p.diags.size(), 1u) << all_diags(p.diags);
    EXPECT_EQ(p.diags[0].where.line, 3);
    EXPECT_EQ(p.diags[0].message, direct.error().message);
    EXPECT_EQ(p.diags[0].hint, direct.error().hint);
    EXPECT_TRUE(p.spec.injects.empty());
  }
}

TEST(PolicyToml, ParsingContinuesAfterErrorsAndSortsThem) {
  ParsedPolicy p = parse(
      "mode = \"fast\"\n"              // 1
      "[defaults]\n"                   // 2
      "jitter = 3\n"                   // 3
      "[target]\n"                     // 4
      "comm = \"0123456789abcdef\"\n"  // 5
      "[[rule]]\n"                     // 6
      "syscalls = [\"read\"]\n"        // 7
      "retry = [\"\"]\n"               // 8
      "[[rule]]\n"                     // 9
      "syscalls = [\"write\"]\n"       // 10
      "retry = [\"EIO\"]\n"            // 11
      "deadline = \"soon\"\n");        // 12
  std::vector<int> lines;
  for (const base::Diagnostic& d : p.diags)
    lines.push_back(d.where.line);
  EXPECT_EQ(lines, (std::vector<int>{1, 3, 5, 8, 12})) << all_diags(p.diags);
  // What was valid is kept.
  ASSERT_EQ(p.spec.rules.size(), 2u);
  EXPECT_EQ(texts(p.spec.rules[1].retry), (Strings{"EIO"}));
  EXPECT_FALSE(p.spec.rules[1].deadline.has_value());
}

TEST(PolicyToml, FormattedDiagnosticNamesFileAndLine) {
  ParsedPolicy p = parse("[defaults]\nbackof = [\"1ms\"]\n");
  ASSERT_EQ(p.diags.size(), 1u);
  EXPECT_EQ(base::format_diagnostic(p.diags[0]),
            "p.toml:2: error: unknown key 'backof' in [defaults] (did you mean backoff?)");
}

TEST(PolicyToml, OddInputsDoNotCrash) {
  std::string nul("a = \"\0\"\n", 8);
  std::string deep(2000, '[');
  for (std::string_view text :
       {std::string_view("\xff\xfe"), std::string_view(nul), std::string_view(deep),
        std::string_view("[[rule]]\n[[rule]]\n"), std::string_view("rule = [[], {}]\n"),
        std::string_view("[target.all]\n"), std::string_view("inject = [[\"a\"]]\n")}) {
    ParsedPolicy p = parse(text);
    EXPECT_TRUE(base::has_errors(p.diags)) << text;
    for (const base::Diagnostic& d : p.diags) {
      EXPECT_GT(d.where.line, 0) << base::format_diagnostic(d);
      EXPECT_FALSE(d.hint.empty()) << base::format_diagnostic(d);
    }
  }
}

TEST(PolicyToml, RoundTripOfTheExample) {
  ParsedPolicy first = parse(kExample);
  expect_clean(first);
  std::string written = write_policy_toml(first.spec);
  EXPECT_EQ(written.rfind("# ftsc policy", 0), 0u) << written;
  ParsedPolicy second = parse_policy_toml(written, "written.toml");
  expect_clean(second);
  EXPECT_TRUE(equivalent_policies(first.spec, second.spec)) << written;
  // Writing is stable: the same policy gives the same text (after the header naming the source).
  std::string again = write_policy_toml(second.spec);
  EXPECT_EQ(again.substr(again.find("version")), written.substr(written.find("version")));
}

TEST(PolicyToml, RoundTripOfDefaultsAndOddValues) {
  PolicySpec spec;
  spec.source = "command line";
  spec.mode = Mode::kObserve;
  spec.default_backoff.form = BackoffSpec::Form::kExponential;
  spec.default_backoff.base = base::Nanos(1234567);
  spec.default_backoff.factor = 1.1;
  spec.default_backoff.attempts = 32;
  spec.default_jitter = 0.3333333333333333;
  spec.default_deadline = milliseconds(1500);
  spec.budget.window = std::chrono::hours(1);
  spec.budget.max_wait = base::Nanos(1);
  spec.target.all = true;
  RuleSpec r;
  r.origin = "--retry";
  r.where = base::SourceLoc{"--retry", 0, 0};
  r.syscalls = {Named{"open\"at\\", {}}, Named{"%file\t\x01", {}}};
  r.retry = {Named{"ENOENT", {}}};
  r.jitter = 0.0;
  r.backoff = BackoffSpec{};
  r.backoff->delays = {base::Nanos(0), base::Nanos(1), std::chrono::hours(2)};
  spec.rules.push_back(r);
  RuleSpec only_na;
  only_na.syscalls = {Named{"ioctl", {}}};
  only_na.not_applicable = {Named{"EPIPE", {}}};
  spec.rules.push_back(only_na);

  std::string written = write_policy_toml(spec);
  EXPECT_NE(written.find("# from --retry"), std::string::npos) << written;
  ParsedPolicy back = parse(written);
  EXPECT_FALSE(base::has_errors(back.diags)) << all_diags(back.diags);  // 2h draws a warning
  EXPECT_TRUE(equivalent_policies(spec, back.spec)) << written;
  EXPECT_EQ(back.spec.rules[0].syscalls[0].text, "open\"at\\");
  EXPECT_EQ(back.spec.rules[0].syscalls[1].text, "%file\t\x01");
  EXPECT_EQ(back.spec.rules[0].origin, "[[rule]]");
}

TEST(PolicyToml, RoundTripOfInjects) {
  ParsedPolicy first =
      parse("inject = [\"openat:error=ENOENT:when=2..4+2\", \"read:error=EIO:p=0.25:seed=3\"]\n");
  expect_clean(first);
  ASSERT_EQ(first.spec.injects.size(), 2u);
  std::string written = write_policy_toml(first.spec);
  ParsedPolicy second = parse(written);
  expect_clean(second);
  EXPECT_TRUE(equivalent_policies(first.spec, second.spec)) << written;
  ASSERT_EQ(second.spec.injects.size(), 2u);
  EXPECT_EQ(second.spec.injects[1].text, "read:error=EIO:p=0.25:seed=3");
}

TEST(PolicyToml, RoundTripOfAnImportedMatrix) {
  auto spec = import_matrix(
      "Syscall \\ Error\tEINVAL\tEINTR\tENOMEM\nmmap\tn\t?\ty\nioctl\t-\t-\t-\n", "m.txt");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  std::string written = write_policy_toml(*spec);
  EXPECT_NE(written.find("# from matrix row at m.txt:2"), std::string::npos) << written;
  ParsedPolicy back = parse(written);
  expect_clean(back);
  EXPECT_TRUE(equivalent_policies(*spec, back.spec)) << written;
}

TEST(PolicyToml, EquivalenceNoticesDifferences) {
  ParsedPolicy a = parse(kExample);
  PolicySpec b = a.spec;
  EXPECT_TRUE(equivalent_policies(a.spec, b));
  b.rules[0].retry[0].text = "EAGAIN";
  EXPECT_FALSE(equivalent_policies(a.spec, b));
  b = a.spec;
  b.rules[1].backoff->cap = seconds(2);
  EXPECT_FALSE(equivalent_policies(a.spec, b));
  b = a.spec;
  b.target.comm.reset();
  EXPECT_FALSE(equivalent_policies(a.spec, b));
  b = a.spec;
  b.rules[0].where.line = 99;  // positions do not count
  EXPECT_TRUE(equivalent_policies(a.spec, b));
}

}  // namespace
}  // namespace ftsc::policy
