// SPDX-License-Identifier: Apache-2.0
#include "policy/report.h"

#include <sys/syscall.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "kb/knowledge_base.h"
#include "test_policy.h"

namespace ftsc::policy {
namespace {

using test::names;
using test::rule;

EffectivePolicy effective(const PolicySpec& spec) {
  Resolved r = resolve(spec, kb::KnowledgeBase::builtin());
  EXPECT_TRUE(r.diags.empty());
  return r.policy;
}

std::string explain(const PolicySpec& spec, int nr, int err) {
  return explain_cell(effective(spec), kb::KnowledgeBase::builtin(), nr, err);
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(PolicyReport, ShowPrintsTheMatrix) {
  PolicySpec spec;
  spec.source = "p.toml";
  spec.rules.push_back(rule({"openat"}, {"ENOENT"}, {"EACCES"}));
  spec.rules.push_back(rule({"mmap"}, {"ENOMEM", "EINTR"}, {}, 5));
  std::string t = render_policy_table(effective(spec), kb::KnowledgeBase::builtin());
  EXPECT_TRUE(contains(t, "policy p.toml: mode enforce")) << t;
  // Header and rows line up: errnos by value (ENOENT 2, EINTR 4, ENOMEM 12, EACCES 13).
  EXPECT_TRUE(contains(t, "syscall  ENOENT  EINTR   ENOMEM  EACCES")) << t;
  EXPECT_TRUE(contains(t, "mmap     .       retry*  retry")) << t;
  EXPECT_TRUE(contains(t, "openat   retry   .       .       never")) << t;
  EXPECT_TRUE(contains(t, "*: the man page does not document")) << t;
  EXPECT_TRUE(contains(t, "default: 10ms, 50ms, 100ms (3 retries, 160ms of waiting at most)")) << t;
  EXPECT_TRUE(contains(t, "target (kmod engine): none")) << t;
}

TEST(PolicyReport, ExplainRetryNamesRuleScheduleAndGuards) {
  PolicySpec spec;
  spec.rules.push_back(rule({"%file"}, {"ENOENT"}, {}, 3));
  std::string e = explain(spec, SYS_openat, ENOENT);
  EXPECT_TRUE(contains(e, "openat ENOENT: retried\n")) << e;
  EXPECT_TRUE(contains(e, "retry, test.toml:4 ([[rule]], through %file)")) << e;
  EXPECT_TRUE(contains(e, "10ms, 50ms, 100ms")) << e;
  EXPECT_TRUE(contains(e, "none applies to ENOENT")) << e;
  EXPECT_TRUE(contains(e, "documents ENOENT")) << e;
}

TEST(PolicyReport, ExplainGuardedProtocolErrno) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"EAGAIN"}));
  std::string e = explain(spec, SYS_read, EAGAIN);
  EXPECT_TRUE(contains(e, "read EAGAIN: retried, unless a guard holds")) << e;
  EXPECT_TRUE(contains(e, "O_NONBLOCK")) << e;
}

// A connect rule covers non-blocking connects, and says what bounds each
// new attempt's wait: the rule's deadline, else the default of 5 s.
TEST(PolicyReport, ExplainConnectCoversNonBlockingConnects) {
  PolicySpec spec;
  spec.rules.push_back(rule({"connect"}, {"ECONNREFUSED"}));
  std::string e = explain(spec, SYS_connect, ECONNREFUSED);
  EXPECT_TRUE(contains(e, "a non-blocking connect that ends with ECONNREFUSED")) << e;
  EXPECT_TRUE(contains(e, "at most 5s for its outcome (no deadline: the default)")) << e;

  spec.rules.back().deadline = std::chrono::milliseconds(1500);
  e = explain(spec, SYS_connect, ECONNREFUSED);
  EXPECT_TRUE(contains(e, "at most 1.5s for its outcome (the rule's deadline)")) << e;
  // Not for an errno of connect's own protocol, nor for another syscall.
  spec.rules.push_back(rule({"connect", "openat"}, {"EAGAIN", "ENOENT"}));
  EXPECT_FALSE(contains(explain(spec, SYS_connect, EAGAIN), "non-blocking connect")) << e;
  EXPECT_FALSE(contains(explain(spec, SYS_openat, ENOENT), "non-blocking connect")) << e;
}

TEST(PolicyReport, ExplainEachNonRetryReason) {
  PolicySpec spec;
  RuleSpec r = rule({"read", "close"}, {"EIO"}, {"EINVAL"});
  r.undecided = names({"ENOMEM"});
  spec.rules.push_back(r);
  EXPECT_TRUE(contains(explain(spec, SYS_close, EIO), "close EIO: never retried"));
  EXPECT_TRUE(contains(explain(spec, SYS_read, EFAULT), "always means a bug"));
  EXPECT_TRUE(contains(explain(spec, SYS_read, EINVAL), "read EINVAL: not retried\n"));
  EXPECT_TRUE(contains(explain(spec, SYS_read, ENOMEM), "not retried (undecided)"));
  EXPECT_TRUE(contains(explain(spec, SYS_write, EIO), "no rule names this"));
  EXPECT_TRUE(contains(explain(spec, SYS_read, 512), "passed through untouched"));
}

TEST(PolicyReport, ExplainNamesTheNotApplicableCell) {
  PolicySpec spec;
  RuleSpec r = rule({"ioctl"}, {}, {"EINVAL"});
  r.not_applicable = names({"ENOMEM"});
  r.where = {"m.tsv", 8, 0};
  spec.rules.push_back(r);
  std::string e = explain(spec, SYS_ioctl, ENOMEM);
  EXPECT_TRUE(contains(e, "ioctl ENOMEM: not retried\n")) << e;
  EXPECT_TRUE(contains(e, "the rule at m.tsv:8 marks ENOMEM as not applicable (`-`)")) << e;
  EXPECT_TRUE(contains(explain(spec, SYS_read, ENOMEM), "no rule names this")) << e;
}

TEST(PolicyReport, ExplainObserveModeAndOverride) {
  PolicySpec spec;
  spec.mode = Mode::kObserve;
  spec.rules.push_back(rule({"%file"}, {}, {"ENOENT"}, 1));
  spec.rules.push_back(rule({"openat"}, {"ENOENT"}, {}, 10));
  std::string e = explain(spec, SYS_openat, ENOENT);
  EXPECT_TRUE(contains(e, "would-retry (observe mode never retries)")) << e;
  EXPECT_TRUE(contains(e, "overrides:")) << e;
}

TEST(PolicyReport, MatrixExport) {
  PolicySpec spec;
  RuleSpec r = rule({"write"}, {"ENOSPC"}, {"EINVAL"});
  r.undecided = names({"EINTR"});
  spec.rules.push_back(r);
  MatrixTable m = to_matrix(effective(spec));
  ASSERT_EQ(m.rows.size(), 1u);
  ASSERT_EQ(m.errnos.size(), 3u);  // EINTR 4, EINVAL 22, ENOSPC 28
  EXPECT_EQ(m.errnos[0].text, "EINTR");
  EXPECT_EQ(m.rows[0].syscall.text, "write");
  EXPECT_EQ(m.rows[0].cells, (std::vector<char>{'?', 'n', 'y'}));
}

}  // namespace
}  // namespace ftsc::policy
