// SPDX-License-Identifier: Apache-2.0
#include "policy/effective_policy.h"

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include "abi/compiled_policy.h"
#include "kb/errno_table.h"
#include "kb/knowledge_base.h"
#include "kb/syscall_table.h"
#include "test_policy.h"

namespace ftsc::policy {
namespace {

using test::names;
using test::rule;

Resolved resolve_spec(const PolicySpec& spec) {
  return resolve(spec, kb::KnowledgeBase::builtin());
}

const base::Diagnostic* find_error(const Resolved& r, const std::string& needle) {
  for (const base::Diagnostic& d : r.diags)
    if (d.severity == base::Severity::kError && d.message.find(needle) != std::string::npos)
      return &d;
  return nullptr;
}

TEST(EffectivePolicy, ExpandsRulesIntoCells) {
  PolicySpec spec;
  spec.rules.push_back(rule({"openat", "open"}, {"ENOENT"}, {"EACCES"}));
  Resolved r = resolve_spec(spec);
  ASSERT_TRUE(r.diags.empty()) << base::format_diagnostic(r.diags.front());
  const EffectiveCell* c = r.policy.cell(SYS_openat, ENOENT);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->decision, CellDecision::kRetry);
  EXPECT_EQ(c->schedule, r.policy.default_schedule);
  EXPECT_EQ(r.policy.cell(SYS_open, EACCES)->decision, CellDecision::kNever);
  EXPECT_EQ(r.policy.cell(SYS_read, ENOENT), nullptr);
  EXPECT_EQ(r.policy.syscalls(), (std::vector<int>{SYS_open, SYS_openat}));
  EXPECT_EQ(r.policy.schedules[r.policy.default_schedule].delays,
            (std::vector<base::Nanos>{std::chrono::milliseconds(10), std::chrono::milliseconds(50),
                                      std::chrono::milliseconds(100)}));
}

TEST(EffectivePolicy, UnknownNamesAreErrorsWithSuggestions) {
  PolicySpec spec;
  RuleSpec r = rule({"opnat", "%fiel"}, {"ENOSPCE"}, {}, 7);
  spec.rules.push_back(r);
  Resolved res = resolve_spec(spec);
  const base::Diagnostic* sc = find_error(res, "unknown syscall 'opnat'");
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(sc->hint, "did you mean openat?");
  EXPECT_EQ(sc->where.line, 7);
  const base::Diagnostic* group = find_error(res, "unknown syscall group '%fiel'");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->hint, "did you mean %file?");
  const base::Diagnostic* err = find_error(res, "unknown errno 'ENOSPCE'");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->hint, "did you mean ENOSPC?");
  EXPECT_EQ(err->where.line, 8);
}

TEST(EffectivePolicy, ProgramBugErrnosCannotBeRetried) {
  for (const char* e : {"EFAULT", "EBADF", "ENOSYS"}) {
    PolicySpec spec;
    spec.rules.push_back(rule({"read"}, {e}));
    Resolved r = resolve_spec(spec);
    EXPECT_NE(find_error(r, std::string(e) + " is never retried"), nullptr) << e;
    EXPECT_EQ(r.policy.cell(SYS_read, *kb::errno_value(e)), nullptr);
  }
}

TEST(EffectivePolicy, ProgramBugErrnosMayBeListedAsNever) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {}, {"EFAULT"}));
  Resolved r = resolve_spec(spec);
  EXPECT_TRUE(r.diags.empty());
  EXPECT_EQ(r.policy.cell(SYS_read, EFAULT)->decision, CellDecision::kNever);
}

TEST(EffectivePolicy, SameErrnoInRetryAndNeverOfOneRuleIsContradictory) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"EIO"}, {"EIO"}));
  EXPECT_NE(find_error(resolve_spec(spec), "both `retry` and `never`"), nullptr);
}

TEST(EffectivePolicy, DisagreeingRulesAreContradictory) {
  PolicySpec spec;
  spec.rules.push_back(rule({"write"}, {"ENOSPC"}, {}, 1));
  spec.rules.push_back(rule({"write"}, {}, {"ENOSPC"}, 10));
  Resolved r = resolve_spec(spec);
  const base::Diagnostic* d = find_error(r, "contradictory rules for write ENOSPC");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->where.line, 12);
  EXPECT_NE(d->message.find("test.toml:2"), std::string::npos) << d->message;
}

TEST(EffectivePolicy, DifferentSchedulesForOneCellAreContradictory) {
  PolicySpec spec;
  spec.rules.push_back(rule({"write"}, {"ENOSPC"}));
  RuleSpec second = rule({"write"}, {"ENOSPC"}, {}, 5);
  second.backoff = BackoffSpec{};
  second.backoff->delays = {std::chrono::seconds(1)};
  spec.rules.push_back(second);
  EXPECT_NE(find_error(resolve_spec(spec), "contradictory rules for write ENOSPC"), nullptr);
}

TEST(EffectivePolicy, RepeatingTheSameDecisionIsFine) {
  PolicySpec spec;
  spec.rules.push_back(rule({"write"}, {"ENOSPC"}));
  spec.rules.push_back(rule({"write", "pwrite64"}, {"ENOSPC"}, {}, 5));
  EXPECT_TRUE(resolve_spec(spec).diags.empty());
}

TEST(EffectivePolicy, ExplicitRuleOverridesGroupRule) {
  PolicySpec spec;
  spec.rules.push_back(rule({"%file"}, {"ENOENT"}, {}, 1));
  spec.rules.push_back(rule({"unlink"}, {}, {"ENOENT"}, 10));
  Resolved r = resolve_spec(spec);
  ASSERT_TRUE(r.diags.empty()) << base::format_diagnostic(r.diags.front());
  const EffectiveCell* openat = r.policy.cell(SYS_openat, ENOENT);
  ASSERT_NE(openat, nullptr);
  EXPECT_EQ(openat->decision, CellDecision::kRetry);
  EXPECT_EQ(openat->group, "%file");
  const EffectiveCell* unlink = r.policy.cell(SYS_unlink, ENOENT);
  ASSERT_NE(unlink, nullptr);
  EXPECT_EQ(unlink->decision, CellDecision::kNever);
  EXPECT_EQ(unlink->rule, 1);
  EXPECT_EQ(unlink->overridden, 0);
}

TEST(EffectivePolicy, GroupConflictSettledByExplicitRule) {
  PolicySpec spec;
  spec.rules.push_back(rule({"%file"}, {"EINTR"}, {}, 1));
  spec.rules.push_back(rule({"%desc"}, {}, {"EINTR"}, 5));
  Resolved conflicting = resolve_spec(spec);
  ASSERT_TRUE(base::has_errors(conflicting.diags));
  const base::Diagnostic* d = find_error(conflicting, "contradictory rules");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->hint.find("add a rule that names"), std::string::npos);

  // Deciding every overlapping syscall explicitly settles it.
  const std::vector<int>* file = kb::KnowledgeBase::builtin().group("file");
  const std::vector<int>* desc = kb::KnowledgeBase::builtin().group("desc");
  ASSERT_TRUE(file && desc);
  RuleSpec decide;
  decide.where = {"test.toml", 20, 0};
  decide.origin = "[[rule]]";
  for (int nr : *file)
    if (std::find(desc->begin(), desc->end(), nr) != desc->end())
      decide.syscalls.push_back({std::string(kb::syscall_name(nr)), decide.where});
  ASSERT_FALSE(decide.syscalls.empty());
  decide.never = names({"EINTR"}, 21);
  spec.rules.push_back(decide);
  Resolved settled = resolve_spec(spec);
  EXPECT_FALSE(base::has_errors(settled.diags)) << base::format_diagnostic(settled.diags.front());
}

TEST(EffectivePolicy, SchedulesAreSharedAndLimited) {
  PolicySpec spec;
  RuleSpec a = rule({"write"}, {"ENOSPC"});
  RuleSpec b = rule({"read"}, {"EIO"}, {}, 5);
  a.backoff = b.backoff = BackoffSpec{};
  a.backoff->delays = b.backoff->delays = {std::chrono::milliseconds(5)};
  spec.rules = {a, b};
  Resolved r = resolve_spec(spec);
  ASSERT_TRUE(r.diags.empty());
  EXPECT_EQ(r.policy.schedules.size(), 2u);  // the default and the shared one
  EXPECT_EQ(r.policy.cell(SYS_write, ENOSPC)->schedule, r.policy.cell(SYS_read, EIO)->schedule);

  RuleSpec too_long = rule({"write"}, {"EIO"}, {}, 9);
  too_long.backoff = BackoffSpec{};
  too_long.backoff->delays.assign(33, std::chrono::milliseconds(1));
  spec.rules = {too_long};
  EXPECT_NE(find_error(resolve_spec(spec), "backoff has 33 delays"), nullptr);
}

TEST(EffectivePolicy, TooManySchedulesAndInjectionsAreErrors) {
  PolicySpec spec;
  for (int i = 0; i <= static_cast<int>(FTSC_SCHEDULES_MAX); ++i) {
    RuleSpec r = rule({"read"}, {"EIO"}, {}, i + 1);
    r.syscalls = names({kb::syscall_name(i).data()});
    r.backoff = BackoffSpec{};
    r.backoff->delays = {std::chrono::milliseconds(i + 1)};
    spec.rules.push_back(r);
  }
  Resolved schedules = resolve_spec(spec);
  const base::Diagnostic* d = find_error(schedules, "too many different backoff schedules");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->hint.find("share the [defaults] backoff"), std::string::npos);

  spec.rules.clear();
  InjectSpec in;
  in.syscalls = names({"%file"});
  in.error = {"EIO", {"p.toml", 3, 0}};
  spec.injects = {in};
  Resolved injects = resolve_spec(spec);
  d = find_error(injects, "too many injections");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->hint.find("inject fewer syscalls"), std::string::npos);
}

TEST(EffectivePolicy, RuleJitterAndDeadlineFallBackToDefaults) {
  PolicySpec spec;
  spec.default_jitter = 0.25;
  spec.default_deadline = std::chrono::seconds(1);
  RuleSpec own = rule({"write"}, {"ENOSPC"});
  own.jitter = 0.0;
  spec.rules = {own, rule({"read"}, {"EIO"}, {}, 5)};
  Resolved r = resolve_spec(spec);
  ASSERT_TRUE(r.diags.empty());
  const Schedule& w = r.policy.schedules[r.policy.cell(SYS_write, ENOSPC)->schedule];
  const Schedule& rd = r.policy.schedules[r.policy.cell(SYS_read, EIO)->schedule];
  EXPECT_EQ(w.jitter, 0.0);
  EXPECT_EQ(rd.jitter, 0.25);
  EXPECT_EQ(w.deadline, std::chrono::seconds(1));
}

TEST(EffectivePolicy, InjectionsExpandPerSyscall) {
  PolicySpec spec;
  InjectSpec in;
  in.syscalls = names({"openat", "open"});
  in.error = {"ENOENT", {}};
  in.first = 1;
  in.last = 2;
  spec.injects.push_back(in);
  Resolved r = resolve_spec(spec);
  ASSERT_TRUE(r.diags.empty());
  ASSERT_EQ(r.policy.injects.size(), 2u);
  EXPECT_EQ(r.policy.injects[0].nr, SYS_openat);
  EXPECT_EQ(r.policy.injects[0].error, ENOENT);
  EXPECT_EQ(r.policy.injects[1].last, 2u);

  in.error = {"ENOENTT", {"--inject", 0, 0}};
  spec.injects = {in};
  EXPECT_NE(find_error(resolve_spec(spec), "unknown errno 'ENOENTT'"), nullptr);
}

TEST(EffectivePolicy, TokensResolveByNameOrNumber) {
  EXPECT_EQ(resolve_syscall_token("openat"), SYS_openat);
  EXPECT_EQ(resolve_syscall_token("257"), 257);
  EXPECT_EQ(resolve_syscall_token("nosuchcall"), std::nullopt);
  EXPECT_EQ(resolve_syscall_token("999"), std::nullopt);
  EXPECT_EQ(resolve_errno_token("EWOULDBLOCK"), EAGAIN);
  EXPECT_EQ(resolve_errno_token("2"), 2);
  EXPECT_EQ(resolve_errno_token("0"), std::nullopt);
  EXPECT_EQ(resolve_errno_token("EBOGUS"), std::nullopt);
  // A number must be an errno glibc names: 41 is a hole in Linux's list, 300 and
  // 512 (ERESTARTSYS) are beyond it.
  EXPECT_EQ(resolve_errno_token("133"), 133);
  EXPECT_EQ(resolve_errno_token("41"), std::nullopt);
  EXPECT_EQ(resolve_errno_token("300"), std::nullopt);
  EXPECT_EQ(resolve_errno_token("512"), std::nullopt);
}

TEST(EffectivePolicy, UnnamedErrnoNumbersAreErrorsInRules) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"300"}));
  Resolved r = resolve_spec(spec);
  const base::Diagnostic* d = find_error(r, "unknown errno '300'");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->hint.find("between 1 and 133"), std::string::npos) << d->hint;
  EXPECT_NE(errno_hint("ENOSPCE").find("ENOSPC"), std::string::npos);
}

TEST(EffectivePolicy, InjectionsMayUseAnyKernelErrnoNumber) {
  PolicySpec spec;
  InjectSpec in;
  in.syscalls = names({"getppid"});
  in.error = {"300", {"--inject", 0, 0}};
  spec.injects = {in};
  Resolved r = resolve_spec(spec);
  ASSERT_TRUE(r.diags.empty());
  ASSERT_EQ(r.policy.injects.size(), 1u);
  EXPECT_EQ(r.policy.injects[0].error, 300);
  in.error = {"4096", {"--inject", 0, 0}};
  spec.injects = {in};
  EXPECT_NE(find_error(resolve_spec(spec), "unknown errno '4096'"), nullptr);
}

}  // namespace
}  // namespace ftsc::policy
