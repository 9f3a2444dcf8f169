// SPDX-License-Identifier: Apache-2.0
// `ftsc profile` and `ftsc policy suggest` as real processes: a program that
// really fails a known number of times (progs/failing_calls.c) is profiled
// with eBPF and with ptrace, per command and system-wide, and the counts in
// the JSON must be exactly those failures.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "observe/profile_support.h"
#include "support/capabilities.h"
#include "support/run_process.h"

namespace ftsc::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::string kProg = std::string(FTSC_PROFILE_PROGS) + "/failing_calls";

ProcessResult ftsc(const std::vector<std::string>& args) {
  std::vector<std::string> argv{FTSC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

json load(const std::string& path) {
  return json::parse(slurp(path));
}

// The counts failing_calls 7 5 4 makes, as a profile of the command sees them.
void expect_command_counts(const json& p, const std::string& tracer) {
  EXPECT_EQ(p.at("tracer"), tracer);
  EXPECT_EQ(p.at("scope"), "command");
  EXPECT_EQ(p.at("exit_status"), 3);
  EXPECT_EQ(failures_of(p, "failing_calls", "openat", "ENOENT"), 7u);
  EXPECT_EQ(failures_of(p, "failing_calls", "connect", "ECONNREFUSED"), 5u);
  EXPECT_EQ(failures_of(p, "fc_child", "openat", "ENOENT"), 4u);
  EXPECT_EQ(calls_of(p, "connect"), 5u);
  // The command's own execve, not ftsc's: counting starts there.
  EXPECT_EQ(calls_of(p, "execve"), 1u);
  // The command and its child end with exit_group, which never returns.
  EXPECT_EQ(calls_of(p, "exit_group"), 2u);
}

TEST(ProfileCommand, EbpfCountsRealFailuresOfTheCommandAndItsChild) {
  if (std::string why = ebpf_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  std::string out = dir.path() + "/p.json";
  ProcessResult r = ftsc({"profile", "--tracer", "ebpf", "-o", out, "--", kProg, "7", "5", "4"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  expect_command_counts(load(out), "ebpf");
  EXPECT_NE(r.err.find("ftsc profile (ebpf)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ECONNREFUSED 5"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");  // stdout is the command's
}

TEST(ProfileCommand, PtraceCountsTheSame) {
  TempDir dir;
  std::string out = dir.path() + "/p.json";
  ProcessResult r = ftsc({"profile", "--tracer", "ptrace", "-o", out, "--", kProg, "7", "5", "4"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  expect_command_counts(load(out), "ptrace");
}

TEST(ProfileCommand, FallsBackToPtraceAndSaysSoWithoutRoot) {
  if (std::string why = unprivileged_user_missing(FTSC_BINARY); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  chmod(dir.path().c_str(), 0777);
  std::string out = dir.path() + "/p.json";
  ProcessResult r =
      run_process({find_program("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                   FTSC_BINARY, "profile", "-o", out, "--", kProg, "7", "5", "4"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("eBPF is unavailable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("profiling with ptrace instead"), std::string::npos) << r.err;
  expect_command_counts(load(out), "ptrace");
}

TEST(ProfileCommand, CommandThatDoesNotExist) {
  ProcessResult r = ftsc({"profile", "--", "/nonexistent/ftsc-no-such-program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot execute '/nonexistent/ftsc-no-such-program'"), std::string::npos)
      << r.err;
}

TEST(ProfileCommand, BadCommandLines) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"profile"}, "nothing to profile"},
      {{"profile", "--system", "--", "true"}, "exclude each other"},
      {{"profile", "--pid", "1", "--", "true"}, "need --system"},
      {{"profile", "--system", "--pid", "1", "--comm", "x"}, "exclude each other"},
      {{"profile", "--system", "--duration", "soon"}, "--duration 'soon'"},
      {{"profile", "--system", "--tracer", "ptrace"}, "needs eBPF"},
      {{"profile", "--tracer", "dtrace", "--", "true"}, "dtrace"},
      {{"profile", "--bogus", "--", "true"}, "bogus"},
  };
  for (const Case& c : cases) {
    ProcessResult r = ftsc(c.args);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(c.args, " ")) << "\n" << r.err;
    EXPECT_NE((r.err + r.out).find(c.message), std::string::npos)
        << fmt::format("{}", fmt::join(c.args, " ")) << "\n"
        << r.err;
  }
}

// A system profile runs in the background until Ctrl-C (SIGINT) or its duration.
class SystemProfile {
 public:
  SystemProfile(const TempDir& dir, std::vector<std::string> args)
      : json_(dir.path() + "/system.json"),
        bg_(
            [&] {
              std::vector<std::string> argv{FTSC_BINARY, "profile", "--system", "-o", json_};
              argv.insert(argv.end(), args.begin(), args.end());
              return argv;
            }(),
            dir.path() + "/out", dir.path() + "/err") {}
  bool ready() { return bg_.started() && bg_.wait_for_stderr("ftsc: profiling", seconds(30)); }
  Background& process() { return bg_; }
  json result() const { return load(json_); }

 private:
  std::string json_;
  Background bg_;
};

TEST(ProfileSystem, CommFilterCountsOnlyThatNameAndCtrlCStillWritesEverything) {
  if (std::string why = ebpf_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  std::string name = fmt::format("fcs{}", getpid() % 100000);
  SystemProfile profile(dir, {"--comm", name});
  ASSERT_TRUE(profile.ready()) << profile.process().err();
  ProcessResult w = run_process({kProg, "--name", name, "6", "4", "2"});
  ASSERT_EQ(w.exit_code, 3) << w.err;
  kill(profile.process().pid(), SIGINT);
  ASSERT_EQ(profile.process().wait(), 0) << profile.process().err();
  json p = profile.result();
  EXPECT_EQ(p.at("interrupted"), true);
  EXPECT_EQ(p.at("filter"), "comm " + name);
  EXPECT_EQ(failures_of(p, name, "openat", "ENOENT"), 6u);
  EXPECT_EQ(failures_of(p, name, "connect", "ECONNREFUSED"), 4u);
  EXPECT_EQ(failures_of(p, "fc_child", "openat", "ENOENT"), 0u);  // another name
  EXPECT_NE(profile.process().out().find("ECONNREFUSED 4"), std::string::npos)
      << profile.process().out();
}

TEST(ProfileSystem, WholeSystemForADuration) {
  if (std::string why = ebpf_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  std::string name = fmt::format("fcw{}", getpid() % 100000);
  SystemProfile profile(dir, {"--duration", "4s", "-q"});
  ASSERT_TRUE(profile.ready()) << profile.process().err();
  ProcessResult w = run_process({kProg, "--name", name, "5", "3", "2"});
  ASSERT_EQ(w.exit_code, 3) << w.err;
  ASSERT_EQ(profile.process().wait(), 0) << profile.process().err();
  json p = profile.result();
  EXPECT_EQ(p.at("interrupted"), false);
  EXPECT_GE(p.at("duration_s").get<double>(), 4.0);
  EXPECT_EQ(failures_of(p, name, "openat", "ENOENT"), 5u);
  EXPECT_EQ(failures_of(p, name, "connect", "ECONNREFUSED"), 3u);
  EXPECT_GE(failures_of(p, "fc_child", "openat", "ENOENT"), 2u);  // others may share the name
  EXPECT_EQ(profile.process().out(), "");                         // -q
}

TEST(ProfileSystem, PidFilterFollowsTheProcessAndItsChildren) {
  if (std::string why = ebpf_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  std::string fifo = dir.path() + "/go";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Background work({kProg, "--wait", fifo, "6", "2", "3"}, dir.path() + "/wout",
                  dir.path() + "/werr");
  ASSERT_TRUE(work.started());
  SystemProfile profile(dir, {"--pid", std::to_string(work.pid())});
  ASSERT_TRUE(profile.ready()) << profile.process().err();
  {
    std::ofstream go(fifo);
    go << 'g';
  }
  ASSERT_EQ(work.wait(), 3) << work.err();
  kill(profile.process().pid(), SIGINT);
  ASSERT_EQ(profile.process().wait(), 0) << profile.process().err();
  json p = profile.result();
  EXPECT_EQ(failures_of(p, "failing_calls", "openat", "ENOENT"), 6u);
  EXPECT_EQ(failures_of(p, "failing_calls", "connect", "ECONNREFUSED"), 2u);
  EXPECT_EQ(failures_of(p, "fc_child", "openat", "ENOENT"), 3u);
}

TEST(ProfileSystem, CgroupFilterCountsTheCgroupsTasks) {
  if (std::string why = ebpf_missing(); !why.empty())
    GTEST_SKIP() << why;
  std::string root;
  if (std::string why = cgroup2_missing(&root); !why.empty())
    GTEST_SKIP() << why;
  std::string cg = fmt::format("{}/ftsc-profile-test-{}", root, getpid());
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << cg << ": " << strerror(errno);
  TempDir dir;
  std::string fifo = dir.path() + "/go";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  {
    Background work({kProg, "--wait", fifo, "4", "3", "2"}, dir.path() + "/wout",
                    dir.path() + "/werr");
    ASSERT_TRUE(work.started());
    {
      std::ofstream procs(cg + "/cgroup.procs");
      procs << work.pid() << "\n";
    }
    SystemProfile profile(dir, {"--cgroup", cg});
    ASSERT_TRUE(profile.ready()) << profile.process().err();
    {
      std::ofstream go(fifo);
      go << 'g';
    }
    ASSERT_EQ(work.wait(), 3) << work.err();
    kill(profile.process().pid(), SIGINT);
    ASSERT_EQ(profile.process().wait(), 0) << profile.process().err();
    json p = profile.result();
    EXPECT_EQ(failures_of(p, "failing_calls", "openat", "ENOENT"), 4u);
    EXPECT_EQ(failures_of(p, "failing_calls", "connect", "ECONNREFUSED"), 3u);
    EXPECT_EQ(failures_of(p, "fc_child", "openat", "ENOENT"), 2u);
  }
  rmdir(cg.c_str());
}

TEST(ProfileLive, CountsOnATerminalOnly) {
  if (std::string why = ebpf_missing(); !why.empty())
    GTEST_SKIP() << why;
  if (std::string why = terminal_missing(); !why.empty())
    GTEST_SKIP() << why;
  std::string name = fmt::format("fcl{}", getpid() % 100000);
  std::string cmd =
      fmt::format("{} profile --system --duration 2500ms --comm {}", FTSC_BINARY, name);
  // script(1) gives ftsc a pseudo-terminal as stdout and stderr.
  ProcessResult tty = run_process({find_program("script"), "-qec", cmd, "/dev/null"});
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  // A line a second, rewritten in place (the poll loop wakes every 100 ms).
  EXPECT_TRUE(std::regex_search(
      tty.out, std::regex("\r\033\\[Kftsc profile: 1\\.[0-9]s, 0 calls, 0 failed")))
      << tty.out;
  EXPECT_TRUE(std::regex_search(tty.out, std::regex("\r\033\\[Kftsc profile: 2\\.[0-9]s")))
      << tty.out;
  // Not a terminal: no live line at all.
  ProcessResult piped = ftsc({"profile", "--system", "--duration", "1500ms", "--comm", name});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find("\033[K"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("ftsc profile: "), std::string::npos) << piped.err;
}

class ProfileInterrupt : public ::testing::TestWithParam<const char*> {};

TEST_P(ProfileInterrupt, SigintEndsTheCommandAndEveryOutputIsStillWritten) {
  const std::string tracer = GetParam();
  if (tracer == "ebpf")
    if (std::string why = ebpf_missing(); !why.empty())
      GTEST_SKIP() << why;
  TempDir dir;
  std::string out = dir.path() + "/p.json";
  Background bg({FTSC_BINARY, "profile", "--tracer", tracer, "-o", out, "--", "sh", "-c",
                 "echo started; exec /bin/sleep 60"},
                dir.path() + "/out", dir.path() + "/err");
  auto end = std::chrono::steady_clock::now() + seconds(30);
  while (bg.out().find("started") == std::string::npos && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // sleep is in nanosleep
  kill(bg.pid(), SIGINT);  // passed on to the command, which dies of it
  ASSERT_EQ(bg.wait(), 130) << tracer << ": " << bg.err();
  json p = load(out);
  EXPECT_EQ(p.at("exit_status"), 130) << tracer;
  EXPECT_EQ(p.at("interrupted"), true) << tracer;
  EXPECT_EQ(calls_of(p, "execve"), 2u) << tracer;  // sh, then sleep
  EXPECT_NE(bg.err().find("exit status 130, interrupted"), std::string::npos) << bg.err();
}

INSTANTIATE_TEST_SUITE_P(Tracers, ProfileInterrupt, ::testing::Values("ptrace", "ebpf"),
                         [](const ::testing::TestParamInfo<const char*>& tracer) {
                           return std::string(tracer.param);
                         });

TEST(ProfileReport, HeadlessChromiumShowsTheChartsOfARealProfile) {
  if (std::string why = chromium_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  std::string report = dir.path() + "/report.html";
  std::string out = dir.path() + "/p.json";
  ProcessResult r = ftsc({"profile", "--tracer", "ptrace", "-q", "--report", report, "-o", out,
                          "--", kProg, "7", "5", "4"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  std::string html = slurp(report);
  // Self-contained: nothing to fetch.
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  json p = load(out);
  size_t bars = 0;
  for (const auto& s : p.at("syscalls"))
    bars += (s.at("calls") > s.at("failures")) + (s.at("failures") > 0);
  ProcessResult dom = run_process(
      {"timeout", "120", find_program("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
       "--disable-quic", "--no-first-run", "--disable-background-networking",
       "--disable-component-update", "--disable-sync", "--user-data-dir=" + dir.path() + "/chr",
       "--window-size=1000,1600", "--dump-dom", "file://" + report});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // The browser laid out one bar per non-zero count of the chart.
  EXPECT_NE(dom.out.find(fmt::format("data-drawn-bars=\"{}\"", bars)), std::string::npos)
      << "expected " << bars << " bars\n"
      << dom.out.substr(0, 400);
  EXPECT_NE(dom.out.find("<title>connect failed: 5</title>"), std::string::npos);
  EXPECT_NE(dom.out.find("<title>openat ENOENT: 11</title>"), std::string::npos);  // 7 + 4
  EXPECT_NE(dom.out.find("<title>connect ECONNREFUSED: 5</title>"), std::string::npos);
  EXPECT_NE(dom.out.find("<td>fc_child</td><td class=\"n\">4</td>"), std::string::npos);
  EXPECT_NE(dom.out.find(fmt::format("<p id=\"summary\">{} calls, {} failed (",
                                     p.at("totals").at("calls").get<uint64_t>(),
                                     p.at("totals").at("failures").get<uint64_t>())),
            std::string::npos);
}

// auditd started by the test itself (PID 1 is no service manager here) with a
// configuration of its own that logs to a temporary file, and one audit rule
// narrowed to one executable; the destructor deletes the rule, stops the
// daemon and switches auditing off again when it was off.
class AuditSession {
 public:
  AuditSession(const TempDir& dir, const std::string& exe) : dir_(dir), exe_(exe) {}
  ~AuditSession() {
    if (rule_added_)
      run_process({auditctl_, "-d", "always,exit", "-F", "arch=b64", "-S", "all", "-F",
                   "exe=" + exe_, "-k", key()});
    if (daemon_) {
      kill(daemon_->pid(), SIGTERM);
      daemon_->wait();
    }
    if (was_disabled_)
      run_process({auditctl_, "-e", "0"});
  }

  // "" when auditd runs with the rule in place, else why not.
  std::string start() {
    if (geteuid() != 0)
      return "auditd needs root";
    auditd_ = find_program("auditd");
    auditctl_ = find_program("auditctl");
    if (auditd_.empty() || auditctl_.empty())
      return "auditd and auditctl are not in PATH (Debian: apt-get install auditd)";
    ProcessResult status = run_process({auditctl_, "-s"});
    if (status.exit_code != 0)
      return "the kernel's audit subsystem cannot be used here: " + status.err;
    if (status.out.find("\npid 0\n") == std::string::npos)
      return "an audit daemon already runs; the test leaves it alone";
    was_disabled_ = status.out.find("enabled 0\n") != std::string::npos;
    std::ofstream(dir_.path() + "/auditd.conf")
        << "local_events = yes\nwrite_logs = yes\nlog_file = " << log()
        << "\nlog_format = RAW\nflush = SYNC\nfreq = 0\nmax_log_file = 64\nnum_logs = 1\n"
           "max_log_file_action = IGNORE\nspace_left = 2\nspace_left_action = IGNORE\n"
           "admin_space_left = 1\nadmin_space_left_action = IGNORE\n"
           "disk_full_action = IGNORE\ndisk_error_action = IGNORE\n";
    daemon_.emplace(std::vector<std::string>{auditd_, "-n", "-c", dir_.path()},
                    dir_.path() + "/auditd.out", dir_.path() + "/auditd.err");
    auto end = std::chrono::steady_clock::now() + seconds(20);
    while (run_process({auditctl_, "-s"}).out.find("\npid 0\n") != std::string::npos) {
      if (std::chrono::steady_clock::now() > end)
        return "auditd did not start: " + daemon_->err();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ProcessResult add = run_process({auditctl_, "-a", "always,exit", "-F", "arch=b64", "-S", "all",
                                     "-F", "exe=" + exe_, "-k", key()});
    if (add.exit_code != 0)
      return "auditctl cannot add a rule: " + add.err;
    rule_added_ = true;
    return {};
  }

  // Deletes the rule and waits until auditd has written every record before
  // the deletion (records reach the log in order).
  bool finish() {
    run_process({auditctl_, "-d", "always,exit", "-F", "arch=b64", "-S", "all", "-F", "exe=" + exe_,
                 "-k", key()});
    rule_added_ = false;
    auto end = std::chrono::steady_clock::now() + seconds(30);
    while (slurp(log()).find("op=remove_rule") == std::string::npos) {
      if (std::chrono::steady_clock::now() > end)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  std::string log() const { return dir_.path() + "/audit.log"; }

 private:
  std::string key() const { return fmt::format("ftsc-profile-test-{}", getpid()); }
  const TempDir& dir_;
  std::string exe_;
  std::string auditd_, auditctl_;
  std::optional<Background> daemon_;
  bool rule_added_ = false;
  bool was_disabled_ = false;
};

TEST(ProfileFromAudit, ALogAuditdRecordedGivesTheSameCounts) {
  TempDir dir;
  AuditSession audit(dir, kProg);
  if (std::string why = audit.start(); !why.empty())
    GTEST_SKIP() << why;
  ProcessResult w = run_process({kProg, "5", "3", "2"});
  ASSERT_EQ(w.exit_code, 3) << w.err;
  ASSERT_TRUE(audit.finish()) << "auditd did not write the rule's removal to " << audit.log();
  std::string out = dir.path() + "/p.json";
  ProcessResult r = ftsc({"profile", "--from-audit", audit.log(), "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json p = load(out);
  EXPECT_EQ(p.at("tracer"), "audit");
  EXPECT_EQ(p.at("source"), audit.log());
  EXPECT_EQ(failures_of(p, "failing_calls", "openat", "ENOENT"), 5u);
  EXPECT_EQ(failures_of(p, "failing_calls", "connect", "ECONNREFUSED"), 3u);
  EXPECT_EQ(failures_of(p, "fc_child", "openat", "ENOENT"), 2u);
  EXPECT_EQ(calls_of(p, "connect"), 3u);
  EXPECT_NE(r.out.find("ftsc profile (audit): audit log " + audit.log()), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ECONNREFUSED 3"), std::string::npos) << r.out;
}

TEST(ProfileFromAudit, BadLogsSayWhatAndWhere) {
  TempDir dir;
  ProcessResult missing = ftsc({"profile", "--from-audit", dir.path() + "/absent.log"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot read audit log '" + dir.path() + "/absent.log'"),
            std::string::npos)
      << missing.err;
  std::string text = dir.write("notes.txt", "hello\nworld\n");
  ProcessResult not_audit = ftsc({"profile", "--from-audit", text});
  EXPECT_EQ(not_audit.exit_code, 1);
  EXPECT_NE(not_audit.err.find(text + ": not an audit log"), std::string::npos) << not_audit.err;
  std::string bad =
      dir.write("bad.log",
                "type=DAEMON_START msg=audit(1.0:1): op=start\n"
                "type=SYSCALL msg=audit(1.5:2): arch=c000003e success=no exit=-2 comm=\"x\"\n");
  ProcessResult malformed = ftsc({"profile", "--from-audit", bad});
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_NE(malformed.err.find(bad + ":2: SYSCALL record without syscall="), std::string::npos)
      << malformed.err;
  ProcessResult with_command = ftsc({"profile", "--from-audit", bad, "--", "true"});
  EXPECT_EQ(with_command.exit_code, 2) << with_command.err;
}

TEST(PolicySuggest, FromARealProfileAndPassesTheChecker) {
  TempDir dir;
  std::string out = dir.path() + "/p.json";
  std::string policy = dir.path() + "/p.toml";
  ProcessResult r =
      ftsc({"profile", "--tracer", "ptrace", "-q", "-o", out, "--", kProg, "3", "8", "1"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  ProcessResult s = ftsc({"policy", "suggest", out, "-o", policy});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::string toml = slurp(policy);
  // connect ECONNREFUSED is plausibly transient (a server still starting);
  // openat ENOENT is what probing code expects: never.
  EXPECT_NE(toml.find("syscalls = [\"connect\"]\nretry = [\"ECONNREFUSED\"]"), std::string::npos)
      << toml;
  EXPECT_NE(toml.find("syscalls = [\"openat\"]\nnever = [\"ENOENT\"]"), std::string::npos) << toml;
  EXPECT_NE(toml.find("ECONNREFUSED          8"), std::string::npos) << toml;
  EXPECT_NE(toml.find("ENOENT                4"), std::string::npos) << toml;  // 3 + the child's 1
  ProcessResult c = ftsc({"policy", "check", policy});
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_NE(c.out.find(": ok,"), std::string::npos) << c.out;
}

TEST(PolicySuggest, MalformedProfilesSayWhatAndWhere) {
  TempDir dir;
  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {"{\"ftsc_profile\": 1, \"syscalls\": [", "not JSON"},
      {"[1, 2]", "not an ftsc profile"},
      {"{\"ftsc_profile\": 9, \"syscalls\": [], \"processes\": []}", "version 9"},
      {"{\"ftsc_profile\": 1, \"syscalls\": [{\"syscall\": \"openat\", \"calls\": \"many\"}], "
       "\"processes\": []}",
       "syscalls[0].calls: expected a non-negative integer, got a string"},
      {"{\"ftsc_profile\": 1, \"syscalls\": [{\"syscall\": \"opnat\", \"calls\": 1}], "
       "\"processes\": []}",
       "syscalls[0].syscall: unknown syscall 'opnat'"},
      {"{\"ftsc_profile\": 1, \"syscalls\": [], \"processes\": [{\"comm\": \"x\", \"failed\": "
       "[{\"syscall\": \"openat\", \"errno\": \"ENOENTT\", \"count\": 1}]}]}",
       "processes[0].failed[0].errno: unknown errno 'ENOENTT'"},
      {"{\"ftsc_profile\": 1, \"syscalls\": [{\"syscall\": \"openat\", \"calls\": 5, "
       "\"errnos\": [{\"errno\": \"ENOENT\", \"count\": 2}]}], \"processes\": []}",
       "syscalls[0].errnos[0]: 2 ENOENT failures, but the processes list 0"},
      {"{\"ftsc_profile\": 1, \"processes\": []}", "missing field \"syscalls\""},
  };
  for (const Case& c : cases) {
    std::string file = dir.write("bad.json", c.text);
    ProcessResult r = ftsc({"policy", "suggest", file});
    EXPECT_EQ(r.exit_code, 1) << c.text;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.text << "\n" << r.err;
  }
  ProcessResult missing = ftsc({"policy", "suggest", dir.path() + "/absent.json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot read profile"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace ftsc::test
