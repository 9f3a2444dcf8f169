// SPDX-License-Identifier: Apache-2.0
// Guards and the retry budget, the same under every engine, seen in the
// statistics of real runs.
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"
#include "support/capabilities.h"

namespace ftsc::test {
namespace {

class Guards : public ::testing::TestWithParam<const char*> {};

TEST_P(Guards, NonBlockingFlagAndSocketTimeoutAreTheProgramsProtocol) {
  // MSG_DONTWAIT (the flags argument) and SO_RCVTIMEO (the socket): EAGAIN is
  // passed at once although the policy retries recvfrom EAGAIN.
  TempDir dir;
  for (const char* program : {"recv_dontwait", "socket_timeout"}) {
    // The ptrace engine reads a tracee's socket timeout through a copy of its
    // fd (pidfd_getfd), which a container's seccomp profile may refuse.
    if (std::string(program) == "socket_timeout" && std::string(GetParam()) == "ptrace")
      if (std::string why = pidfd_getfd_missing(); !why.empty())
        GTEST_SKIP() << "recv_dontwait passed; the socket_timeout half needs pidfd_getfd, "
                        "which fails here: "
                     << why;
    std::string stats = dir.path() + "/" + program + ".json";
    ProcessResult r = run_ftsc({"run", "--engine", GetParam(), "--retry", "recvfrom=EAGAIN",
                                "--stats", stats, "--", prog(program)});
    EXPECT_EQ(r.exit_code, 0) << program << ": " << r.err;
    nlohmann::json row = stats_row(stats, "recvfrom", "EAGAIN");
    EXPECT_EQ(counter(row, "passed"), 1u) << program << ": " << row;
    EXPECT_EQ(counter(row, "retries"), 0u) << program << ": " << row;
    EXPECT_EQ(counter(row, "guard_unknown"), 0u) << program << ": " << row;  // seen, not assumed
  }
}

// A guard that cannot be checked counts as holding: the program's own
// timeout comes back after its 300 ms, not after the retries (which would
// take over 1.8 s with this schedule), and the statistics and -v say why.
// Real refusals: ftsc itself runs under a seccomp filter that refuses
// pidfd_getfd (as Docker's default profile does without CAP_SYS_PTRACE), so
// the supervisor cannot look at the tracee's socket; or one that refuses
// getsockopt, so no engine can. A program that sandboxes itself (refusing
// getsockopt and fcntl) gets its timeout at once too: the supervisor looks
// from outside, and the library, which would meet the program's filter,
// hands its calls to the supervisor under auto and retries none alone.
TEST_P(Guards, AGuardThatCannotBeCheckedFailsClosed) {
  const std::string engine = GetParam();
  TempDir dir;
  struct Case {
    const char* name;
    std::vector<std::string> prefix;  // what runs ftsc
    std::vector<std::string> program;
    std::vector<std::string> blind;      // engines whose layer cannot check
    std::vector<std::string> uncounted;  // engines where no layer handles the call
  };
  const std::vector<Case> cases = {
      {"pidfd_getfd refused to ftsc",
       {FTSC_REFUSE_SYSCALLS, "pidfd_getfd", "--"},
       {prog("socket_timeout"), "300"},
       {"ptrace"},
       {}},
      {"getsockopt refused to ftsc and the program",
       {FTSC_REFUSE_SYSCALLS, "getsockopt", "--"},
       {prog("socket_timeout"), "300"},
       {"ptrace", "preload", "auto"},
       {}},
      {"getsockopt refused by the program's own filter",
       {},
       {prog("socket_timeout"), "300", "sandbox"},
       {},
       {"preload"}},
  };
  auto among = [&](const std::vector<std::string>& engines) {
    return std::find(engines.begin(), engines.end(), engine) != engines.end();
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Where the machine itself refuses pidfd_getfd, the supervisor is blind
    // in every case: the case that needs it to see cannot be made here.
    if (engine == "ptrace" && !among(c.blind))
      if (std::string why = pidfd_getfd_missing(); !why.empty())
        GTEST_SKIP() << "the case '" << c.name << "' needs the supervisor to see the socket "
                     << "through pidfd_getfd, which fails here: " << why;
    std::string stats = dir.path() + "/stats.json";
    std::vector<std::string> argv = c.prefix;
    argv.push_back(FTSC_BINARY);
    for (const char* a :
         {"run", "-v", "--engine", engine.c_str(), "--retry", "recvfrom,read=EAGAIN", "--backoff",
          "500ms,500ms,500ms", "--stats", stats.c_str(), "--"})
      argv.emplace_back(a);
    argv.insert(argv.end(), c.program.begin(), c.program.end());
    ProcessResult r = run_process(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const long took_ms = std::stol(r.out);
    EXPECT_GE(took_ms, 250) << r.err;
    EXPECT_LT(took_ms, 1300) << "the program's own timeout was retried\n" << r.err;
    nlohmann::json row = stats_row(stats, "recvfrom", "EAGAIN");
    EXPECT_EQ(counter(row, "retries"), 0u) << row;
    if (among(c.uncounted)) {
      EXPECT_EQ(counter(row, "calls"), 0u) << row;
      EXPECT_TRUE(contains(r.err, "ftsc retries none of its calls from here on")) << r.err;
      continue;
    }
    EXPECT_EQ(counter(row, "calls"), 1u) << row;
    EXPECT_EQ(counter(row, "passed"), 1u) << row;
    if (among(c.blind)) {
      EXPECT_EQ(counter(row, "guard_unknown"), 1u) << row;
      EXPECT_TRUE(contains(r.err, "recvfrom(") && contains(r.err, "guard_unknown: whether ") &&
                  contains(r.err, "could not be checked (EPERM), so the call is not retried"))
          << r.err;
      EXPECT_TRUE(contains(r.err, "1 failed call was not retried because ftsc could not check"))
          << r.err;
    } else {
      EXPECT_EQ(counter(row, "guard_unknown"), 0u) << row;
      EXPECT_FALSE(contains(r.err, "guard_unknown")) << r.err;
    }
  }
}

TEST_P(Guards, BudgetStopsARetryStorm) {
  // Budget windows are aligned to multiples of their length on the monotonic
  // clock, so a run that crosses a boundary gets a fresh budget: a day-long
  // window keeps this run inside one.
  TempDir dir;
  std::string policy = dir.write("budget.toml",
                                 "[defaults]\n"
                                 "backoff = [\"40ms\", \"40ms\", \"40ms\", \"40ms\", \"40ms\"]\n"
                                 "[budget]\n"
                                 "window = \"24h\"\n"
                                 "max_wait = \"100ms\"\n"
                                 "[[rule]]\n"
                                 "syscalls = [\"openat\"]\n"
                                 "retry = [\"ENOENT\"]\n");
  std::string stats = dir.path() + "/stats.json";
  std::string missing = dir.path() + "/missing";
  // Three opens of a file that never appears: the first spends the budget
  // (two retries, the third would exceed it), the others pass through at once.
  ProcessResult r = run_ftsc({"run", "--engine", GetParam(), "--policy", policy, "--stats", stats,
                              "--", "cat", missing, missing, missing});
  EXPECT_EQ(r.exit_code, 1);  // cat could not open them
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  // At least cat's three opens; under ptrace also the opens inside libc
  // (locale files) that the preload engine cannot see.
  EXPECT_GE(counter(row, "budget"), 3u) << row;
  EXPECT_EQ(counter(row, "retries"), 2u) << row;  // 40 ms + 40 ms, then the budget is spent
  EXPECT_TRUE(contains(r.err, "the retry budget ran out")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, Guards, ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
