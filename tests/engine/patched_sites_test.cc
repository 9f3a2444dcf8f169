// SPDX-License-Identifier: Apache-2.0
// The preload library's patched syscall sites (src/preload/patcher.cc), under
// the engines that load it: libc's internal calls and a dlopen'ed library's
// `syscall` instruction are handled in-process, exactly once, and the
// patching survives what programs do (tests/engine/progs/patched_sites.c).
#include <stdlib.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

// The N of each "libc.so.6: patched N of M" line, in order.
std::vector<std::string> patched_counts(const std::string& err) {
  std::vector<std::string> counts;
  const std::string key = "libc.so.6: patched ";
  for (size_t at = err.find(key); at != std::string::npos; at = err.find(key, at + 1)) {
    const size_t from = at + key.size();
    counts.push_back(err.substr(from, err.find(" syscall sites", from) - from));
  }
  return counts;
}

std::string raw_openat_library() {
  return prog("libraw_openat.so");
}

class PatchedSites : public ::testing::TestWithParam<const char*> {
 protected:
  std::string engine() const { return GetParam(); }
  bool under_auto() const { return engine() == "auto"; }

  // ftsc run -v with openat=ENOENT retried twice, on patched_sites args.
  ProcessResult run_missing_open(const std::vector<std::string>& args, const std::string& stats) {
    std::vector<std::string> command = {
        "run",       "-v",      "--engine", engine(), "--retry", "openat=ENOENT",
        "--backoff", "1ms,1ms", "--stats",  stats,    "--"};
    command.push_back(prog("patched_sites"));
    command.insert(command.end(), args.begin(), args.end());
    return run_ftsc(command);
  }

  // The failures of openat the supervisor handled (none under preload).
  size_t supervisor_lines(const std::string& err) const {
    return count_lines(err, {"openat(", "= -ENOENT", "(ptrace)"});
  }
};

TEST_P(PatchedSites, LibcsInternalOpenIsRetriedInProcessOnce) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_missing_open({"fopen", dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "fopen: No such file or directory\n");
  EXPECT_TRUE(contains(r.err, "libc.so.6: patched ")) << r.err;
  EXPECT_EQ(supervisor_lines(r.err), 0u) << r.err;
  // One call, three attempts: a call handled by both layers would show more.
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "attempts"), 3u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
}

// Sets an environment variable of this process (and so of the ftsc it
// runs) for its scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

TEST_P(PatchedSites, PatchingCanBeTurnedOff) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ScopedEnv off("FTSC_PRELOAD_PATCH", "0");
  ProcessResult r = run_missing_open({"fopen", dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "fopen: No such file or directory\n");
  EXPECT_TRUE(contains(r.err, "FTSC_PRELOAD_PATCH=0: libc's syscall sites stay unpatched"))
      << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  if (under_auto()) {
    // fopen's openat is the supervisor's again.
    EXPECT_EQ(supervisor_lines(r.err), 3u) << r.err;
    EXPECT_EQ(counter(row, "attempts"), 3u) << row;
  } else {
    EXPECT_EQ(counter(row, "calls"), 0u) << row;  // out of the wrappers' reach
  }
}

TEST_P(PatchedSites, AProgramThatChangesItsOwnProtections) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_missing_open({"mprotect", dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "fopen: No such file or directory\n");
  EXPECT_EQ(counter(stats_row(stats, "openat", "ENOENT"), "attempts"), 3u);
  EXPECT_EQ(supervisor_lines(r.err), 0u) << r.err;
}

TEST_P(PatchedSites, ASignalDuringAPatchedReadRunsItsHandlerAndRestarts) {
  ProcessResult r = run_ftsc({"run", "--engine", engine(), "--retry", "read=EIO", "--",
                              prog("patched_sites"), "signal", "restart"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "read: x\n");
}

TEST_P(PatchedSites, ASignalDuringAPatchedReadWithoutRestartEndsIt) {
  ProcessResult r = run_ftsc({"run", "--engine", engine(), "--retry", "read=EIO", "--",
                              prog("patched_sites"), "signal", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "read: Interrupted system call\n");
}

TEST_P(PatchedSites, ADlopenedLibrarysSyscallInstructionIsPatched) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_missing_open({"dlopen", raw_openat_library(), dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "raw_openat: No such file or directory\n");
  EXPECT_TRUE(contains(r.err, "libraw_openat.so: patched 1 of 1 syscall sites")) << r.err;
  EXPECT_EQ(supervisor_lines(r.err), 0u) << r.err;
  EXPECT_EQ(counter(stats_row(stats, "openat", "ENOENT"), "attempts"), 3u);
}

TEST_P(PatchedSites, ThreadsStartWhileALibraryIsPatched) {
  ProcessResult r = run_ftsc({"run", "--engine", engine(), "--retry", "read,openat=EIO", "--",
                              prog("patched_sites"), "threads", raw_openat_library()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "threads: 16 ok\n");
}

TEST_P(PatchedSites, AThreadCancelledInAPatchedReadUnwindsThroughIt) {
  // The stub's unwind information leads from the dispatcher back into libc's
  // read and fgets, so the thread's frame-based cleanup handler runs.
  ProcessResult r = run_ftsc(
      {"run", "--engine", engine(), "--retry", "read=EIO", "--", prog("patched_sites"), "cancel"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "cancelled: 1, cleanup ran: 1\n");
}

TEST_P(PatchedSites, ForkThenExecPatchesTheNewProgram) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_missing_open({"fork_exec", dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "fopen: No such file or directory\nparent fopen: No such file or directory\n");
  EXPECT_EQ(count_lines(r.err, {"libc.so.6: patched "}), 2u)
      << r.err;  // the program, the exec'd one
  // The program analysed libc; the exec'd one patched from its analysis, the same sites.
  EXPECT_EQ(count_lines(r.err, {"libc.so.6: patched ", "(shared analysis)"}), 1u) << r.err;
  EXPECT_EQ(patched_counts(r.err).size(), 2u) << r.err;
  EXPECT_EQ(patched_counts(r.err)[0], patched_counts(r.err)[1]) << r.err;
  EXPECT_EQ(supervisor_lines(r.err), 0u) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 2u) << row;
  EXPECT_EQ(counter(row, "attempts"), 6u) << row;
}

TEST_P(PatchedSites, ACorruptSharedAnalysisIsRefusedAndLibcAnalysedAgain) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_missing_open({"corrupt_exec", dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "fopen: No such file or directory\nparent fopen: No such file or directory\n");
  EXPECT_EQ(count_lines(r.err, {"libc.so.6: the run's shared analysis was refused", "checksum",
                                "analysed again"}),
            1u)
      << r.err;
  EXPECT_EQ(count_lines(r.err, {"(shared analysis)"}), 0u) << r.err;
  EXPECT_EQ(patched_counts(r.err).size(), 2u) << r.err;
  EXPECT_EQ(patched_counts(r.err)[0], patched_counts(r.err)[1]) << r.err;
  // The exec'd program's patched openat is handled in-process all the same.
  EXPECT_EQ(supervisor_lines(r.err), 0u) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 2u) << row;
  EXPECT_EQ(counter(row, "attempts"), 6u) << row;
}

TEST_P(PatchedSites, ALaterProcessPatchesADlopenedLibraryFromTheSharedAnalysis) {
  // Three children dlopen the library in turn. The first patched libc from
  // the program's analysis without loading capstone, so it cannot analyse the
  // library inside dlopen and leaves it; it tells the run, so the second loads
  // capstone at start-up and analyses it; the third patches it from that.
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_missing_open(
      {"children", "3", "dlopen", raw_openat_library(), dir.path() + "/missing"}, stats);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "raw_openat: No such file or directory\n"
            "raw_openat: No such file or directory\n"
            "raw_openat: No such file or directory\n");
  EXPECT_EQ(count_lines(r.err, {"libraw_openat.so: left unpatched", "capstone is not loaded"}), 1u)
      << r.err;
  EXPECT_EQ(count_lines(r.err, {"libraw_openat.so: patched 1 of 1 syscall sites"}), 2u) << r.err;
  EXPECT_EQ(
      count_lines(r.err, {"libraw_openat.so: patched 1 of 1 syscall sites (shared analysis)"}), 1u)
      << r.err;
  // The first child's raw openat: the supervisor's under auto, nobody's under preload.
  EXPECT_EQ(supervisor_lines(r.err), under_auto() ? 3u : 0u) << r.err;
  EXPECT_EQ(counter(stats_row(stats, "openat", "ENOENT"), "attempts"), under_auto() ? 9u : 6u);
}

INSTANTIATE_TEST_SUITE_P(Engines, PatchedSites, ::testing::Values("preload", "auto"),
                         [](const auto& param_info) { return std::string(param_info.param); });

}  // namespace
}  // namespace ftsc::test
