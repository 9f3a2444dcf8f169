// SPDX-License-Identifier: Apache-2.0
#include "policy/checker.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "kb/errno_table.h"
#include "kb/knowledge_base.h"
#include "test_policy.h"

namespace ftsc::policy {
namespace {

using test::names;
using test::rule;

std::vector<base::Diagnostic> check(const PolicySpec& spec) {
  return check_policy(spec, kb::KnowledgeBase::builtin()).diags;
}

// The finding whose message contains needle, of the given severity.
const base::Diagnostic* find(const std::vector<base::Diagnostic>& diags, base::Severity s,
                             const std::string& needle) {
  for (const base::Diagnostic& d : diags)
    if (d.severity == s && d.message.find(needle) != std::string::npos)
      return &d;
  return nullptr;
}

std::string dump(const std::vector<base::Diagnostic>& diags) {
  std::string out;
  for (const base::Diagnostic& d : diags)
    out += base::format_diagnostic(d) + "\n";
  return out;
}

TEST(Checker, CleanPolicyHasNoFindings) {
  PolicySpec spec;
  spec.rules.push_back(rule({"mmap"}, {"ENOMEM"}, {"EINVAL"}));
  spec.rules.push_back(rule({"read"}, {"EIO"}, {}, 5));
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_TRUE(d.empty()) << dump(d);
}

TEST(Checker, WarnsAboutErrnosTheManPageDoesNotDocument) {
  PolicySpec spec;
  spec.rules.push_back(rule({"mmap"}, {"EINTR"}, {}, 3));
  std::vector<base::Diagnostic> d = check(spec);
  const base::Diagnostic* w = find(d, base::Severity::kWarning, "does not document EINTR for mmap");
  ASSERT_NE(w, nullptr) << dump(d);
  EXPECT_EQ(w->where.line, 4);
  EXPECT_EQ(w->where.file, "test.toml");
  EXPECT_FALSE(base::has_errors(d));
}

TEST(Checker, WarnsAboutEintrRetries) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"EINTR"}));
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_NE(find(d, base::Severity::kWarning, "retrying EINTR for read"), nullptr) << dump(d);
}

TEST(Checker, WarnsThatEagainRetriesAreGuarded) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"EAGAIN"}));
  std::vector<base::Diagnostic> d = check(spec);
  const base::Diagnostic* w =
      find(d, base::Severity::kWarning, "EAGAIN retries for read are guarded");
  ASSERT_NE(w, nullptr) << dump(d);
  EXPECT_NE(w->message.find("O_NONBLOCK"), std::string::npos);
}

TEST(Checker, AliasesOfOneErrnoWarnOnce) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"EAGAIN", "EWOULDBLOCK"}));
  std::vector<base::Diagnostic> d = check(spec);
  size_t n = std::count_if(d.begin(), d.end(), [](const base::Diagnostic& x) {
    return x.message.find("EAGAIN retries for read are guarded") != std::string::npos;
  });
  EXPECT_EQ(n, 1u) << dump(d);
}

TEST(Checker, WarnsAboutCallsNotIdempotentOnFailure) {
  const kb::KnowledgeBase& kb = kb::KnowledgeBase::builtin();
  const kb::SyscallTraits* victim = nullptr;
  int err = 0;
  for (const kb::SyscallTraits& t : kb.syscalls())
    if (!t.idempotent_on_failure && !t.never_retry && !t.documented.empty()) {
      victim = &t;
      err = t.documented.back();
      break;
    }
  ASSERT_NE(victim, nullptr) << "the knowledge base marks no call as having side effects";
  PolicySpec spec;
  RuleSpec r;
  r.syscalls = names({victim->name.c_str()});
  r.retry = {{std::string(kb::errno_name(err)), {"test.toml", 2, 0}}};
  r.origin = "[[rule]]";
  spec.rules.push_back(r);
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_NE(find(d, base::Severity::kWarning, "may have had side effects"), nullptr) << dump(d);
}

TEST(Checker, WarnsAboutCallsThatWriteBackOnFailure) {
  PolicySpec spec;
  spec.rules.push_back(rule({"select"}, {"ENOMEM"}));
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_NE(find(d, base::Severity::kWarning, "writes memory even when it fails"), nullptr)
      << dump(d);
}

TEST(Checker, WarnsAboutUndecidedCells) {
  PolicySpec spec;
  RuleSpec r = rule({"mmap"}, {"ENOMEM"});
  r.undecided = names({"EAGAIN"}, 9);
  spec.rules.push_back(r);
  std::vector<base::Diagnostic> d = check(spec);
  const base::Diagnostic* w = find(d, base::Severity::kWarning, "undecided");
  ASSERT_NE(w, nullptr) << dump(d);
  EXPECT_EQ(w->where.line, 9);
}

TEST(Checker, WarnsWhenRetryingANeverRetriedCall) {
  PolicySpec spec;
  spec.rules.push_back(rule({"close"}, {"EIO"}));
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_NE(find(d, base::Severity::kWarning, "close is never retried"), nullptr) << dump(d);
}

TEST(Checker, GroupRulesWarnOncePerErrno) {
  PolicySpec spec;
  spec.rules.push_back(rule({"%file"}, {"EINTR"}));
  std::vector<base::Diagnostic> d = check(spec);
  int eintr = 0;
  for (const base::Diagnostic& x : d)
    if (x.message.find("retrying EINTR through %file changes") != std::string::npos)
      ++eintr;
  EXPECT_EQ(eintr, 1) << dump(d);
  EXPECT_EQ(find(d, base::Severity::kWarning, "does not document"), nullptr) << dump(d);
}

TEST(Checker, GroupRetryThatNoMemberDocumentsIsUseless) {
  PolicySpec spec;
  spec.rules.push_back(rule({"%memory"}, {"ECONNREFUSED"}));
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_NE(find(d, base::Severity::kWarning, "no syscall of %memory documents ECONNREFUSED"),
            nullptr)
      << dump(d);
}

TEST(Checker, ErrorsFromResolveAreKept) {
  PolicySpec spec;
  spec.rules.push_back(rule({"read"}, {"EFAULT"}));
  CheckResult r = check_policy(spec, kb::KnowledgeBase::builtin());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(find(r.diags, base::Severity::kError, "EFAULT is never retried"), nullptr);
}

TEST(Checker, NotesMatrixDashesTheManPageContradicts) {
  PolicySpec spec;
  RuleSpec r = rule({"read"}, {}, {"EINVAL"});
  r.not_applicable = names({"EINTR"}, 4);
  spec.rules.push_back(r);
  std::vector<base::Diagnostic> d = check(spec);
  EXPECT_NE(find(d, base::Severity::kNote, "marks EINTR as not applicable to read"), nullptr)
      << dump(d);
}

}  // namespace
}  // namespace ftsc::policy
