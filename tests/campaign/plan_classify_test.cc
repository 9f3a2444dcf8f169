// SPDX-License-Identifier: Apache-2.0
// The campaign's pure parts in-process: the fault plan (candidate errnos,
// occurrences, the seeded sample), the classification of a run against the
// golden run, the JSON round trip, and the derived policy, which must pass the
// policy pipeline without errors.
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include <gtest/gtest.h>

#include "campaign/classify.h"
#include "campaign/json.h"
#include "campaign/plan.h"
#include "campaign/suggest.h"
#include "campaign/table.h"
#include "policy/checker.h"
#include "policy/effective_policy.h"
#include "policy/source.h"

namespace ftsc::campaign {
namespace {

const kb::KnowledgeBase& kb() {
  return kb::KnowledgeBase::builtin();
}

TEST(CampaignPlan, OccurrencesAreTheFirstTheLastAndSomeBetween) {
  EXPECT_EQ(occurrences_of(0, 1), std::vector<uint64_t>{});
  EXPECT_EQ(occurrences_of(1, 3), (std::vector<uint64_t>{1}));
  EXPECT_EQ(occurrences_of(2, 3), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(occurrences_of(9, 1), (std::vector<uint64_t>{1, 5, 9}));
  EXPECT_EQ(occurrences_of(9, 0), (std::vector<uint64_t>{1, 9}));
  EXPECT_EQ(occurrences_of(100, 3), (std::vector<uint64_t>{1, 26, 51, 75, 100}));
  EXPECT_EQ(occurrences_of(4, 10), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(CampaignPlan, DefaultErrnosAreDocumentedAndTransient) {
  const kb::SyscallTraits* write = kb().syscall(SYS_write);
  ASSERT_NE(write, nullptr);
  std::vector<int> errs = candidate_errnos(*write, {});
  EXPECT_NE(std::find(errs.begin(), errs.end(), ENOSPC), errs.end());
  EXPECT_EQ(std::find(errs.begin(), errs.end(), EBADF), errs.end());  // documented, a bug
  for (int e : errs) {
    EXPECT_TRUE(write->documents(e)) << e;
    EXPECT_TRUE(write->is_transient(e)) << e;
  }
  PlanOptions all;
  all.all_errnos = true;
  std::vector<int> every = candidate_errnos(*write, all);
  EXPECT_NE(std::find(every.begin(), every.end(), EBADF), every.end());
  PlanOptions given;
  given.errnos = {EIO, EINTR, EIO};
  EXPECT_EQ(candidate_errnos(*write, given), (std::vector<int>{EINTR, EIO}));
}

TEST(CampaignPlan, OneFaultPerSyscallErrnoAndOccurrenceButNotTheCommandsOwnExec) {
  std::map<int, uint64_t> calls{{SYS_write, 9}, {SYS_execve, 1}, {SYS_exit_group, 1}};
  PlanOptions o;
  o.errnos = {ENOSPC};
  Plan p = make_plan(calls, kb(), o);
  ASSERT_EQ(p.faults.size(), 4u) << "write #1 #5 #9 and exit_group #1; execve #1 is ftsc's start";
  EXPECT_EQ(p.faults[0], (Fault{SYS_write, ENOSPC, 1}));
  EXPECT_EQ(p.faults[2], (Fault{SYS_write, ENOSPC, 9}));
  EXPECT_EQ(p.faults[3].nr, SYS_exit_group);
  o.syscalls = {SYS_write};
  EXPECT_EQ(make_plan(calls, kb(), o).faults.size(), 3u);
}

TEST(CampaignPlan, SamplingIsBoundedDeterministicAndCoversCellsFirst) {
  std::map<int, uint64_t> calls{{SYS_write, 1000}, {SYS_read, 1000}, {SYS_openat, 1000}};
  PlanOptions o;
  o.occurrences = 20;
  Plan full = make_plan(calls, kb(), o);
  o.max_runs = 12;
  Plan a = make_plan(calls, kb(), o);
  Plan b = make_plan(calls, kb(), o);
  EXPECT_GT(full.faults.size(), 12u);
  EXPECT_EQ(a.planned, full.faults.size());
  ASSERT_EQ(a.faults.size(), 12u);
  EXPECT_EQ(a.faults, b.faults);
  // Every (syscall, errno) cell is in the sample before any gets a second run.
  std::set<std::pair<int, int>> cells_full, cells_sample;
  for (const Fault& f : full.faults)
    cells_full.insert({f.nr, f.err});
  for (const Fault& f : a.faults)
    cells_sample.insert({f.nr, f.err});
  EXPECT_EQ(cells_sample.size(), std::min<size_t>(cells_full.size(), 12));
  o.seed = 7;
  EXPECT_NE(make_plan(calls, kb(), o).faults, a.faults);
}

Observation golden() {
  Observation g;
  g.exit_status = 0;
  g.stdout_digest = "out";
  g.stderr_digest = "err";
  g.compare_digests = {{"f", "data"}};
  return g;
}

TEST(CampaignClassify, EachOutcome) {
  Observation g = golden();
  EXPECT_EQ(classify(g, g), Outcome::kTolerated);
  Observation r = g;
  r.timed_out = true;
  EXPECT_EQ(classify(g, r), Outcome::kHung);
  r = g;
  r.signaled = true;
  r.exit_status = 139;
  EXPECT_EQ(classify(g, r), Outcome::kCrashed);
  r = g;
  r.exit_status = 1;
  r.stderr_digest = "message";
  EXPECT_EQ(classify(g, r), Outcome::kHandled);
  r = g;
  r.compare_digests["f"] = "short";
  EXPECT_EQ(classify(g, r), Outcome::kCorrupted);
  r = g;
  r.stdout_digest = "other";
  EXPECT_EQ(classify(g, r), Outcome::kCorrupted);
  r = g;
  r.check_passed = false;
  EXPECT_EQ(classify(g, r), Outcome::kCorrupted);
  // A warning on standard error with the output intact: noticed and reported.
  r = g;
  r.stderr_digest = "warning";
  EXPECT_EQ(classify(g, r), Outcome::kHandled);
  // A non-zero exit that leaves bad data behind is still reported to the caller.
  r = g;
  r.exit_status = 1;
  r.compare_digests["f"] = "short";
  EXPECT_EQ(classify(g, r), Outcome::kHandled);
}

Campaign sample_campaign() {
  Campaign c;
  c.command = {"prog", "{}/out"};
  c.golden.calls = {{SYS_write, 9}, {SYS_openat, 3}};
  c.golden.observed.exit_status = 0;
  c.plan = {{SYS_write, ENOSPC, 1}, {SYS_write, ENOSPC, 9}, {SYS_openat, EBADF, 1}};
  auto run = [](Fault f, Outcome o, int pass) {
    Run r;
    r.pass = pass;
    r.fault = f;
    r.outcome = o;
    r.exit_status = o == Outcome::kHandled ? 1 : 0;
    r.injected = 1;
    r.stderr_tail = o == Outcome::kHandled ? "prog: Bad file descriptor\n" : "";
    return r;
  };
  c.runs = {run(c.plan[0], Outcome::kTolerated, 1), run(c.plan[1], Outcome::kCorrupted, 1),
            run(c.plan[2], Outcome::kHandled, 1)};
  return c;
}

TEST(CampaignJson, RoundTrip) {
  Campaign c = sample_campaign();
  c.policy_source = "derived";
  c.policy_text = "version = 1\n";
  c.runs.push_back(c.runs[1]);
  c.runs.back().pass = 2;
  c.runs.back().outcome = Outcome::kTolerated;
  std::string text = format_campaign_json(c);
  ASSERT_TRUE(is_campaign_json(text));
  EXPECT_FALSE(is_campaign_json("{\"ftsc_profile\": 1}"));
  auto back = parse_campaign_json(text, "c.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->command, c.command);
  EXPECT_EQ(back->golden.calls, c.golden.calls);
  EXPECT_EQ(back->plan, c.plan);
  ASSERT_EQ(back->runs.size(), 4u);
  EXPECT_EQ(back->runs[1].outcome, Outcome::kCorrupted);
  EXPECT_EQ(back->runs[2].stderr_tail, "prog: Bad file descriptor\n");
  EXPECT_EQ(back->tally(2)[Outcome::kTolerated], 1u);
  EXPECT_EQ(format_summary(*back), format_summary(c));
  EXPECT_FALSE(parse_campaign_json("{\"ftsc_campaign\": 9}", "c.json"));
}

TEST(CampaignTable, WorstCellsFirstAndTheSummaryLine) {
  Campaign c = sample_campaign();
  std::vector<Cell> cells = cells_of(c);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].nr, SYS_write);  // corrupted before handled
  EXPECT_EQ(cells[0].worst(1), Outcome::kCorrupted);
  EXPECT_EQ(format_summary(c), "3 faults: 1 tolerated, 1 handled, 0 crashed, 0 hung, 1 corrupted");
}

TEST(CampaignSuggest, RetriesTransientCellsThatWereNotToleratedAndPassesTheChecker) {
  Campaign c = sample_campaign();
  ASSERT_TRUE(derives_rules(c, kb()));
  std::string toml = suggest_campaign_policy(c, kb());
  EXPECT_NE(toml.find("syscalls = [\"write\"]\nretry = [\"ENOSPC\"]"), std::string::npos) << toml;
  EXPECT_NE(toml.find("#   ENOSPC         1 corrupted, 1 tolerated; plausibly transient"),
            std::string::npos)
      << toml;
  // EBADF is a bug, never a retry: a comment only.
  EXPECT_EQ(toml.find("retry = [\"EBADF\"]"), std::string::npos);
  policy::LoadedPolicy loaded = policy::parse_policy_text(toml, "derived.toml");
  EXPECT_TRUE(loaded.diags.empty());
  policy::Resolved resolved = policy::resolve(loaded.spec, kb());
  for (const auto& d : resolved.diags)
    ADD_FAILURE() << d.message;
  // Everything tolerated: nothing to derive.
  Campaign fine = sample_campaign();
  for (campaign::Run& r : fine.runs)
    r.outcome = Outcome::kTolerated;
  EXPECT_FALSE(derives_rules(fine, kb()));
}

}  // namespace
}  // namespace ftsc::campaign
