// SPDX-License-Identifier: Apache-2.0
// The profile model, its JSON, the table and the policy suggestion, in-process.
#include <gtest/gtest.h>

#include "kb/knowledge_base.h"
#include "kb/syscall_table.h"
#include "policy/checker.h"
#include "policy/toml.h"
#include "profile/audit.h"
#include "profile/html.h"
#include "profile/json.h"
#include "profile/profile.h"
#include "profile/suggest.h"
#include "profile/table.h"

namespace ftsc::profile {
namespace {

int nr(const char* name) {
  return *kb::syscall_number(name);
}

Profile sample() {
  Profile p;
  p.tracer = "ebpf";
  p.scope = "command";
  p.command = {"./app", "--serve"};
  p.started = "2025-01-31T12:00:00Z";
  p.duration_s = 1.5;
  p.exit_status = 0;
  p.counts.calls = {{nr("openat"), 40}, {nr("connect"), 10}, {nr("read"), 100}, {nr("close"), 9}};
  p.counts.failures = {{"app", nr("openat"), ENOENT, 12},   {"app", nr("connect"), ECONNREFUSED, 6},
                       {"worker", nr("openat"), ENOENT, 3}, {"worker", nr("openat"), EMFILE, 1},
                       {"app", nr("read"), 512, 2},         {"app", nr("close"), EBADF, 1}};
  p.counts.normalize();
  return p;
}

TEST(ProfileData, SummariesSortByFailuresThenCalls) {
  std::vector<SyscallSummary> s = summarize_syscalls(sample().counts);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].nr, nr("openat"));
  EXPECT_EQ(s[0].failures, 16u);
  ASSERT_EQ(s[0].errnos.size(), 2u);
  EXPECT_EQ(s[0].errnos[0].err, ENOENT);
  EXPECT_EQ(s[0].errnos[0].count, 15u);
  EXPECT_DOUBLE_EQ(s[0].failure_ratio(), 16.0 / 40.0);
  EXPECT_EQ(s[1].nr, nr("connect"));
  EXPECT_EQ(s[2].nr, nr("read"));  // 2 failures
  EXPECT_EQ(s[3].nr, nr("close"));
  std::vector<ProcessSummary> procs = summarize_processes(sample().counts);
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0].comm, "app");
  EXPECT_EQ(procs[0].failures, 21u);
  EXPECT_EQ(procs[1].comm, "worker");
}

TEST(ProfileData, RestartCodesHaveTheKernelsNames) {
  EXPECT_EQ(profile_errno_label(512), "ERESTARTSYS");
  EXPECT_EQ(profile_errno_label(516), "ERESTART_RESTARTBLOCK");
  EXPECT_EQ(profile_errno_label(ENOENT), "ENOENT");
  EXPECT_EQ(profile_errno_label(4000), "errno_4000");
  EXPECT_EQ(profile_errno_value("ERESTARTNOHAND"), 514);
  EXPECT_EQ(profile_errno_value("errno_4000"), 4000);
  EXPECT_EQ(profile_errno_value("EWOULDBLOCK"), EAGAIN);
  EXPECT_FALSE(profile_errno_value("ENOPE"));
  EXPECT_TRUE(is_restart_code(513));
  EXPECT_FALSE(is_restart_code(EINTR));
}

TEST(ProfileJson, RoundTrips) {
  Profile p = sample();
  auto back = parse_profile_json(format_profile_json(p), "p.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, p);
}

TEST(ProfileJson, ErrorsNameThePath) {
  auto r = parse_profile_json(
      R"({"ftsc_profile": 1, "syscalls": [{"nr": 2, "calls": 1, "errnos": [{"errno": "ENOENT", "count": -1}]}], "processes": []})",
      "p.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "syscalls[0].errnos[0].count: expected a non-negative integer, got an integer");
  EXPECT_EQ(r.error().where.file, "p.json");
  auto twice = parse_profile_json(
      R"({"ftsc_profile": 1, "syscalls": [{"nr": 2, "calls": 1}, {"syscall": "open", "calls": 1}], "processes": []})",
      "p.json");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "syscalls[1]: syscall open is listed twice");
  auto syntax = parse_profile_json("{\n  \"ftsc_profile\": 1,\n  oops\n}", "p.json");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().message.find("line 3"), std::string::npos) << syntax.error().message;
}

TEST(ProfileAudit, SyscallRecordsBecomeCallsAndFailures) {
  std::string log =
      "type=DAEMON_START msg=audit(1700000000.000:1): op=start ver=3.0.9\n"
      "type=SYSCALL msg=audit(1700000000.250:2): arch=c000003e syscall=257 success=no exit=-2 "
      "a0=ffffff9c items=1 ppid=1 pid=10 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)\n"
      "type=CWD msg=audit(1700000000.250:2): cwd=\"/\"\n"
      "type=SYSCALL msg=audit(1700000000.500:3): arch=c000003e syscall=257 success=yes exit=3 "
      "comm=\"cat\"\n"
      // A name with a space is hex-encoded; the enriched format appends after 0x1d.
      "type=SYSCALL msg=audit(1700000001.000:4): arch=c000003e syscall=42 success=no exit=-111 "
      "comm=6D7920617070\x1d"
      "ARCH=x86_64 SYSCALL=connect\n"
      "type=SYSCALL msg=audit(1700000001.250:5): arch=40000003 syscall=5 success=no exit=-2 "
      "comm=\"old\"\n"
      "type=SYSCALL msg=audit(1700000001.500:6): arch=c000003e syscall=9 success=yes "
      "exit=140737488351232 comm=\"cat\"\n";
  auto p = parse_audit_log(log, "audit.log");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->tracer, "audit");
  EXPECT_EQ(p->started, "2023-11-14T22:13:20Z");
  EXPECT_DOUBLE_EQ(p->duration_s, 1.25);
  EXPECT_EQ(p->counts.calls, (std::map<int, uint64_t>{{257, 2}, {42, 1}, {9, 1}}));
  EXPECT_EQ(p->counts.uncounted, 1u);  // the 32-bit call
  std::vector<ProfileFailure> want = {{"cat", 257, ENOENT, 1}, {"my app", 42, ECONNREFUSED, 1}};
  EXPECT_EQ(p->counts.failures, want);
}

TEST(ProfileAudit, ErrorsNameTheLine) {
  auto r = parse_audit_log(
      "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=2 success=no "
      "exit=oops\n",
      "a.log");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where.str(), "a.log:1");
  EXPECT_EQ(r.error().message, "SYSCALL record with a bad exit value 'oops'");
  auto none = parse_audit_log("just text\n", "t.txt");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "not an audit log: no line starts with type=");
}

TEST(ProfileFormat, TableShowsEveryFailingSyscallAndTheProcesses) {
  std::string t = format_profile_table(sample(), 2);
  EXPECT_NE(t.find("ftsc profile (ebpf): command `./app --serve`, 1.50s, exit status 0"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("159 calls of 4 syscalls, 25 failed (15.7%), 4 syscalls with failures"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("openat      40      16  40.0%  ENOENT 15, EMFILE 1"), std::string::npos) << t;
  EXPECT_NE(t.find("read       100       2   2.0%  ERESTARTSYS 2"), std::string::npos) << t;
  EXPECT_NE(t.find("app          21  openat ENOENT 12, connect ECONNREFUSED 6, read ERESTARTSYS 2, "
                   "1 more"),
            std::string::npos)
      << t;
  std::string live = format_profile_live(sample().counts, 2.0, 200);
  EXPECT_EQ(live,
            "ftsc profile: 2.0s, 159 calls, 25 failed: openat ENOENT 15, connect ECONNREFUSED 6, "
            "read ERESTARTSYS 2");
  EXPECT_EQ(format_profile_live(sample().counts, 2.0, 40),
            "ftsc profile: 2.0s, 159 calls, 25 fai...");
}

TEST(ProfileHtml, SelfContainedWithEscapedNamesAndOneBarPerCount) {
  Profile p = sample();
  p.counts.failures.push_back({"<script>", nr("openat"), ENOENT, 1});
  p.counts.normalize();
  std::string html = format_profile_html(p);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("<td><script>"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;script&gt;</td>"), std::string::npos);
  // openat, connect, read, close: each failed and also succeeded.
  EXPECT_EQ(profile_html_bar_count(p), 8u);
  size_t bars = 0;
  for (size_t at = html.find("class=\"bar "); at != std::string::npos;
       at = html.find("class=\"bar ", at + 1))
    ++bars;
  EXPECT_EQ(bars, 8u);
  EXPECT_NE(html.find("<title>connect ECONNREFUSED: 6</title>"), std::string::npos);
  EXPECT_NE(html.find("<title>read succeeded: 98</title>"), std::string::npos);
}

TEST(PolicySuggest, TransientErrnosRetryOthersNeverAndTheCheckerAgrees) {
  const kb::KnowledgeBase& kb = kb::KnowledgeBase::builtin();
  std::string toml = suggest_policy(sample(), kb, {"p.json", false});
  EXPECT_NE(toml.find("[[rule]]\nsyscalls = [\"openat\"]\nretry = [\"EMFILE\"]\nnever = "
                      "[\"ENOENT\"]\n"),
            std::string::npos)
      << toml;
  EXPECT_NE(toml.find("syscalls = [\"connect\"]\nretry = [\"ECONNREFUSED\"]\n"), std::string::npos)
      << toml;
  // close is never retried; EBADF is a program bug; ERESTARTSYS is no errno.
  EXPECT_NE(toml.find("syscalls = [\"close\"]\nnever = [\"EBADF\"]\n"), std::string::npos) << toml;
  EXPECT_NE(toml.find("ERESTARTSYS"), std::string::npos);
  EXPECT_EQ(toml.find("syscalls = [\"read\"]"), std::string::npos) << toml;
  EXPECT_NE(toml.find("#   ENOENT               15  not transient for this call -> never"),
            std::string::npos)
      << toml;
  policy::ParsedPolicy parsed = policy::parse_policy_toml(toml, "suggested.toml");
  ASSERT_FALSE(base::has_errors(parsed.diags));
  policy::CheckResult checked = policy::check_policy(parsed.spec, kb);
  for (const base::Diagnostic& d : checked.diags)
    EXPECT_NE(d.severity, base::Severity::kError) << base::format_diagnostic(d);
  EXPECT_EQ(parsed.spec.mode, policy::Mode::kEnforce);
  std::string observe = suggest_policy(sample(), kb, {"p.json", true});
  EXPECT_EQ(policy::parse_policy_toml(observe, "o.toml").spec.mode, policy::Mode::kObserve);
}

TEST(PolicySuggest, NothingFailedMeansNoRules) {
  Profile p;
  p.tracer = "ptrace";
  p.scope = "command";
  p.command = {"true"};
  p.counts.calls = {{nr("read"), 3}};
  std::string toml = suggest_policy(p, kb::KnowledgeBase::builtin());
  EXPECT_EQ(toml.find("[[rule]]"), std::string::npos);
  EXPECT_NE(toml.find("nothing to retry"), std::string::npos) << toml;
  policy::ParsedPolicy parsed = policy::parse_policy_toml(toml, "s.toml");
  EXPECT_FALSE(base::has_errors(parsed.diags));
}

}  // namespace
}  // namespace ftsc::profile
