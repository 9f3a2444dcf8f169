// SPDX-License-Identifier: Apache-2.0
// `ftsc campaign` as a real process on real programs: a program that ignores
// write's result and uses a NULL FILE* (progs/ignores_errors.c), `cp`, a
// program that hangs when a read fails (progs/waits_on_error.c); every test
// asserts the outcome classes the campaign found, from its JSON. And the
// errors a user meets: a command that cannot run, a --compare file that is
// never written, --jobs 0, an empty plan, a nondeterministic command.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "observe/profile_support.h"
#include "support/capabilities.h"
#include "support/run_process.h"

namespace ftsc::test {
namespace {

using nlohmann::json;

const std::string kProgs = FTSC_CAMPAIGN_PROGS;

ProcessResult ftsc(const std::vector<std::string>& args) {
  std::vector<std::string> argv{FTSC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

// The outcomes of the runs of one pass for syscall (and errno, if given).
std::multiset<std::string> outcomes(const json& c, int pass, const std::string& syscall,
                                    const std::string& err = "") {
  std::multiset<std::string> out;
  for (const json& r : c.at("runs"))
    if (r.at("pass") == pass && r.at("syscall") == syscall && (err.empty() || r.at("errno") == err))
      out.insert(r.value("outcome", "error"));
  return out;
}

size_t count_of(const json& c, int pass, const std::string& outcome) {
  size_t n = 0;
  for (const json& r : c.at("runs"))
    n += r.at("pass") == pass && r.value("outcome", "") == outcome;
  return n;
}

// Processes whose command line mentions `token` (the test's own directory).
std::vector<std::string> processes_naming(const std::string& token) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string cmdline = slurp(entry.path().string() + "/cmdline");
    if (cmdline.find(token) != std::string::npos)
      out.push_back(name + ": " + cmdline);
  }
  return out;
}

TEST(Campaign, IgnoredWriteIsCorruptedUntilTheDerivedPolicyAndANullFileCrashes) {
  TempDir dir;
  std::string in = dir.write("in", "8\n");
  std::string out = dir.path() + "/c.json";
  ProcessResult r = ftsc({"campaign", "--compare", "{}/out", "-o", out, "--",
                          kProgs + "/ignores_errors", in, "{}/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json c = json::parse(slurp(out));
  EXPECT_EQ(c.at("golden").at("exit_status"), 0);
  EXPECT_EQ(c.at("golden").at("calls").at("write"), 9u);  // 8 lines and the sum
  // A lost line with exit status 0: silent damage, at every occurrence tried.
  EXPECT_EQ(outcomes(c, 1, "write", "ENOSPC"),
            (std::multiset<std::string>{"corrupted", "corrupted", "corrupted"}));
  // ENOSPC is plausibly transient for write: the derived policy retries it.
  EXPECT_EQ(c.at("policy").at("source"), "derived");
  EXPECT_NE(c.at("policy").at("text").get<std::string>().find("retry = [\"ENOSPC\", \"EDQUOT\"]"),
            std::string::npos)
      << c.at("policy").at("text");
  EXPECT_EQ(outcomes(c, 2, "write", "ENOSPC"),
            (std::multiset<std::string>{"tolerated", "tolerated", "tolerated"}));
  // fopen(IN) failing: the program reads from a NULL FILE* and dies of SIGSEGV.
  bool null_file_crash = false;
  for (const json& run : c.at("runs"))
    if (run.at("pass") == 1 && run.at("syscall") == "openat" && run.value("signal", 0) == SIGSEGV)
      null_file_crash = true;
  EXPECT_TRUE(null_file_crash) << c.at("runs").dump(1);
  // The last mmap is malloc's table: glibc falls back to brk, the program never sees NULL.
  uint64_t last_mmap = c.at("golden").at("calls").at("mmap");
  for (const json& run : c.at("runs")) {
    if (run.at("pass") == 1 && run.at("syscall") == "mmap" && run.at("occurrence") == last_mmap) {
      EXPECT_EQ(run.at("outcome"), "tolerated") << run.dump();
    }
  }
  // Every run injected its fault exactly once.
  for (const json& run : c.at("runs"))
    EXPECT_EQ(run.at("injected"), 1u) << run.dump();
  // The table and the summary line.
  EXPECT_NE(r.out.find("SYSCALL            ERRNO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fmt::format("{} faults: ", c.at("plan_size").get<size_t>())),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("; with the policy: "), std::string::npos) << r.out;

  // The same policy, written by `ftsc policy suggest`, passes `ftsc policy check`.
  std::string policy = dir.path() + "/p.toml";
  ProcessResult s = ftsc({"policy", "suggest", out, "-o", policy});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::string text = slurp(policy);
  EXPECT_NE(text.find("#   ENOSPC         3 corrupted; plausibly transient -> retry"),
            std::string::npos)
      << text;
  ProcessResult check = ftsc({"policy", "check", policy});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST(Campaign, AGivenPolicyIsTheSecondPassAndTheReportPaintsItsMatrixInChromium) {
  TempDir dir;
  std::string in = dir.write("in", "4\n");
  std::string policy = dir.write("p.toml",
                                 "version = 1\n[[rule]]\nsyscalls = [\"write\"]\nretry = "
                                 "[\"ENOSPC\"]\nbackoff = [\"1ms\"]\n");
  std::string out = dir.path() + "/c.json";
  std::string report = dir.path() + "/r.html";
  ProcessResult r = ftsc({"campaign", "-q", "--syscalls", "write", "--errnos", "ENOSPC,EIO",
                          "--policy", policy, "--compare", "{}/out", "-o", out, "--report", report,
                          "--", kProgs + "/ignores_errors", in, "{}/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json c = json::parse(slurp(out));
  EXPECT_EQ(c.at("policy").at("source"), policy);
  // ENOSPC is retried: tolerated. EIO is not in the policy: still corrupted.
  EXPECT_EQ(outcomes(c, 1, "write", "ENOSPC"),
            (std::multiset<std::string>{"corrupted", "corrupted", "corrupted"}));
  EXPECT_EQ(outcomes(c, 2, "write", "ENOSPC"),
            (std::multiset<std::string>{"tolerated", "tolerated", "tolerated"}));
  EXPECT_EQ(outcomes(c, 2, "write", "EIO"),
            (std::multiset<std::string>{"corrupted", "corrupted", "corrupted"}));

  std::string html = slurp(report);
  EXPECT_EQ(html.find("http"), std::string::npos);  // self-contained
  EXPECT_EQ(html.find(" src="), std::string::npos);
  if (std::string why = chromium_missing(); !why.empty())
    GTEST_SKIP() << why;
  ProcessResult dom = run_process(
      {"timeout", "120", find_program("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
       "--disable-quic", "--no-first-run", "--disable-background-networking",
       "--disable-component-update", "--disable-sync", "--user-data-dir=" + dir.path() + "/chr",
       "--window-size=1100,1400", "--dump-dom", "file://" + report});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // Both matrices' two cells (write ENOSPC, write EIO) were laid out in their colour.
  EXPECT_NE(dom.out.find("data-painted-before=\"2\""), std::string::npos) << dom.out.substr(0, 400);
  EXPECT_NE(dom.out.find("data-painted-after=\"2\""), std::string::npos) << dom.out.substr(0, 400);
  EXPECT_NE(dom.out.find("title=\"write ENOSPC: 3 corrupted\">0/3</td>"), std::string::npos);
  EXPECT_NE(dom.out.find("title=\"write ENOSPC: 3 tolerated\">3/3</td>"), std::string::npos);
  EXPECT_NE(dom.out.find("<p id=\"summary\">6 faults: 0 tolerated, 0 handled, 0 crashed, 0 hung, "
                         "6 corrupted; with the policy: 3 tolerated"),
            std::string::npos);
}

TEST(Campaign, Sqlite3KeepsItsDatabaseIntactWhateverFails) {
  if (find_program("sqlite3").empty())
    GTEST_SKIP() << "sqlite3 is not in PATH";
  TempDir dir;
  std::string tmpl = dir.path() + "/tmpl";
  std::filesystem::create_directory(tmpl);
  ProcessResult made = run_process({"sqlite3", tmpl + "/t.db",
                                    "create table t(x integer, y text); insert into t values "
                                    "(1, 'a'), (2, 'b'), (3, 'c');"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string out = dir.path() + "/c.json";
  // integrity_check prints "ok" or the damage, and exits 0 either way.
  ProcessResult r =
      ftsc({"campaign", "-q", "--no-policy", "--syscalls", "pwrite64,pread64,write", "--workdir",
            tmpl, "--compare", "t.db", "--check",
            "test \"$(sqlite3 {}/t.db 'pragma integrity_check')\" = ok", "-o", out, "--", "sqlite3",
            "t.db", "insert into t values (4, 'd'); select count(*) from t;"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json c = json::parse(slurp(out));
  ASSERT_GT(c.at("runs").size(), 0u);
  for (const json& run : c.at("runs"))
    EXPECT_EQ(run.at("check_passed"), true) << run.dump();
  // A failed write of the database: sqlite3 says so and exits 1.
  for (const json& run : c.at("runs")) {
    if (run.at("syscall") != "pwrite64")
      continue;
    EXPECT_EQ(run.at("outcome"), "handled") << run.dump();
    EXPECT_NE(run.at("stderr_tail").get<std::string>().find("Error: "), std::string::npos);
  }
  // The result line lost on standard output, exit status 0: corrupted.
  EXPECT_EQ(outcomes(c, 1, "write", "ENOSPC"), (std::multiset<std::string>{"corrupted"}));
}

TEST(Campaign, ThePapersRaceIsFixedByItsPolicyWithAndWithoutInjectedFaults) {
  // tests/scenarios/paper_race.c: two threads take turns with 128 MiB blocks
  // under a lowered RLIMIT_AS; natively round 1's mmap fails with ENOMEM
  // because the other thread frees its block 150 ms late. Its scenario policy
  // retries mmap ENOMEM for up to a second. (The derived policy's schedule,
  // 10 + 50 + 100 ms, only just outlasts the race: on a loaded machine the
  // command under it does not behave the same twice, and the campaign says so
  // and makes no second pass.)
  TempDir dir;
  std::string out = dir.path() + "/c.json";
  std::string policy = std::string(FTSC_SOURCE_DIR) + "/examples/scenarios/paper_race.toml";
  ProcessResult r = ftsc({"campaign", "--syscalls", "mmap", "--errnos", "ENOMEM", "--timeout",
                          "60s", "--policy", policy, "-o", out, "--", FTSC_PAPER_RACE});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json c = json::parse(slurp(out));
  EXPECT_EQ(c.at("golden").at("exit_status"), 1);  // the race's own ENOMEM
  // Under the policy the command's own run succeeds: the second pass is
  // judged against that run.
  ASSERT_TRUE(c.at("golden").contains("with_policy")) << r.err;
  EXPECT_EQ(c.at("golden").at("with_policy").at("exit_status"), 0);
  EXPECT_NE(r.out.find("(the policy changes the fault-free run too: exit status 1 without it, 0 "
                       "with it;"),
            std::string::npos)
      << r.out;
  size_t first = 0;
  for (const json& run : c.at("runs")) {
    if (run.at("pass") == 1) {
      ++first;
      // Without the policy the race fails anyway (or the loader does): never tolerated.
      EXPECT_NE(run.at("outcome"), "corrupted") << run.dump();
    } else {
      EXPECT_EQ(run.at("outcome"), "tolerated") << run.dump();
    }
  }
  EXPECT_GE(first, 2u);
  EXPECT_EQ(count_of(c, 2, "tolerated"), first);
}

TEST(Campaign, CpReportsEveryFailureItMeets) {
  TempDir dir;
  std::string src = dir.write("src", std::string(200000, 'x'));
  std::string out = dir.path() + "/c.json";
  ProcessResult r = ftsc({"campaign", "-q", "--no-policy", "--compare", "{}/dst", "-o", out, "--",
                          "cp", src, "{}/dst"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // -q
  json c = json::parse(slurp(out));
  EXPECT_EQ(count_of(c, 1, "corrupted"), 0u) << c.at("runs").dump(1);
  EXPECT_GT(count_of(c, 1, "handled"), 0u);
  EXPECT_EQ(count_of(c, 2, "tolerated"), 0u);  // --no-policy: no second pass
  // Where cp itself meets the failure, it says so and exits 1.
  size_t said = 0;
  for (const json& run : c.at("runs")) {
    std::string tail = run.value("stderr_tail", "");
    // (A failed mapping of the loader's is the loader's message, exit status 127.)
    if (run.value("outcome", "") != "handled" || tail.rfind("cp: ", 0) != 0 ||
        tail.find("error while loading shared libraries") != std::string::npos)
      continue;
    EXPECT_EQ(run.at("exit_status"), 1) << run.dump();
    ++said;
  }
  EXPECT_GT(said, 0u) << c.at("runs").dump(1);
}

TEST(Campaign, AHungRunIsKilledWithItsChildrenAndTheWorkdirIsCopiedForEachRun) {
  TempDir dir;
  std::string tmpl = dir.path() + "/tmpl";
  std::filesystem::create_directory(tmpl);
  std::ofstream(tmpl + "/in") << "some input\n";
  std::string out = dir.path() + "/c.json";
  // The runs' directories under the test's own: their paths name this test's processes.
  ProcessResult r =
      run_process({"env", "TMPDIR=" + dir.path(), FTSC_BINARY, "campaign", "-q", "--no-policy",
                   "--jobs", "2", "--timeout", "1s", "--workdir", tmpl, "--syscalls", "read,openat",
                   "-o", out, "--", kProgs + "/waits_on_error", "{}/in"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json c = json::parse(slurp(out));
  EXPECT_EQ(c.at("options").at("timeout_s"), 1.0);
  // The program's own read (the last): it waits forever.
  uint64_t reads = c.at("golden").at("calls").at("read");
  bool hung = false;
  for (const json& run : c.at("runs"))
    if (run.at("syscall") == "read" && run.at("occurrence") == reads) {
      EXPECT_EQ(run.at("outcome"), "hung") << run.dump();
      EXPECT_LT(run.at("duration_s").get<double>(), 10.0);
      hung = true;
    }
  EXPECT_TRUE(hung) << c.at("runs").dump(1);
  // The run could not find in/ unless it ran in a copy of the template: open
  // failures are the program's, handled.
  EXPECT_GT(count_of(c, 1, "handled"), 0u);
  EXPECT_FALSE(std::filesystem::exists(tmpl + "/out"));
  // Nothing of any run is left: not the program, not its helper.
  EXPECT_EQ(processes_naming(dir.path() + "/ftsc-campaign-"), std::vector<std::string>{});
}

TEST(Campaign, CtrlCEndsCleanlyWithTheRunsDoneWritten) {
  TempDir dir;
  std::string tmpl = dir.path() + "/tmpl";
  std::filesystem::create_directory(tmpl);
  std::ofstream(tmpl + "/in") << "some input\n";
  std::string out = dir.path() + "/c.json";
  Background bg({"env", "TMPDIR=" + dir.path(), FTSC_BINARY, "campaign", "--jobs", "2", "--timeout",
                 "20s", "--workdir", tmpl, "--errnos", "EIO", "--occurrences", "5", "-o", out, "--",
                 kProgs + "/waits_on_error", "{}/in"},
                dir.path() + "/out", dir.path() + "/err");
  ASSERT_TRUE(bg.started());
  // Long enough for the golden runs and some faults on a loaded machine; the
  // run that hangs holds its slot for the 20 s timeout, so the campaign is
  // still going.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  kill(bg.pid(), SIGINT);
  ASSERT_EQ(bg.wait(), 130) << bg.err();
  json c = json::parse(slurp(out));
  EXPECT_EQ(c.at("interrupted"), true);
  EXPECT_LT(c.at("runs").size(), c.at("plan_size").get<size_t>());
  EXPECT_NE(bg.out().find("(interrupted: "), std::string::npos) << bg.out();
  EXPECT_EQ(processes_naming(dir.path() + "/ftsc-campaign-"), std::vector<std::string>{});
  // and the runs' directories are gone with ftsc.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().rfind("ftsc-campaign-", 0), std::string::npos)
        << entry.path();
}

TEST(CampaignErrors, ACommandThatCannotRun) {
  ProcessResult r = ftsc({"campaign", "--", "/nonexistent/prog"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ftsc: cannot execute '/nonexistent/prog'"), std::string::npos) << r.err;
}

TEST(CampaignErrors, ACompareFileTheCommandNeverWrites) {
  ProcessResult r = ftsc({"campaign", "--compare", "{}/never", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--compare {}/never: no such file after the golden run"), std::string::npos)
      << r.err;
}

TEST(CampaignErrors, JobsZeroIsAUsageError) {
  ProcessResult r = ftsc({"campaign", "--jobs", "0", "--", "true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--jobs"), std::string::npos) << r.err;
}

TEST(CampaignErrors, AnEmptyPlan) {
  ProcessResult r = ftsc({"campaign", "--syscalls", "accept4", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the fault plan is empty"), std::string::npos) << r.err;
}

TEST(CampaignErrors, ANondeterministicCommandIsRefused) {
  ProcessResult r = ftsc({"campaign", "--", "sh", "-c", "echo $$"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not behave the same in two golden runs: standard output differ"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--compare"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ftsc::test
