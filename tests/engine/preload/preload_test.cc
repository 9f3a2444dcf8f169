// SPDX-License-Identifier: Apache-2.0
// The preload engine as a user meets it: `ftsc run --engine preload` on real
// programs (tests/engine/progs/preload_*.c), and the library on its own.
// Retries of real faults are the scenario table's (tests/scenarios).
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

std::string library() {
  std::string ftsc = FTSC_BINARY;
  return ftsc.substr(0, ftsc.rfind('/')) + "/libftsc-preload.so";
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return out;
}

TEST(Preload, SaysItsCoverageIsPartial) {
  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "covers calls through libc, inside it too where it could patch"))
      << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
}

TEST(Preload, PassesExitStatusAndSignalsThrough) {
  EXPECT_EQ(run_ftsc({"run", "--engine", "preload", "--", "sh", "-c", "exit 7"}).exit_code, 7);
  EXPECT_EQ(run_ftsc({"run", "--engine", "preload", "--", "sh", "-c", "kill -TERM $$"}).exit_code,
            128 + 15);
  ProcessResult missing = run_ftsc({"run", "--engine", "preload", "--", "/nonexistent/program"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_TRUE(contains(missing.err, "cannot execute '/nonexistent/program'")) << missing.err;
}

TEST(Preload, SuccessfulCallsPreserveErrno) {
  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--retry",
                              "openat,read,write,mmap,socket=EINTR", "--", prog("preload_errno")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "errno preserved\n");
}

TEST(Preload, FailingOpenReturnsMinusOneAndErrno) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOENT", "--backoff", "1ms,1ms",
                "--stats", stats, "--", prog("preload_conventions"), "open"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "retries"), 2u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
}

TEST(Preload, InjectedMmapReturnsMapFailed) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--inject", "mmap:error=ENOMEM:when=1",
                              "--stats", stats, "--", prog("preload_conventions"), "mmap"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "mmap", "ENOMEM");
  EXPECT_EQ(counter(row, "injected"), 1u) << row;
  EXPECT_EQ(counter(row, "passed"), 1u) << row;
}

TEST(Preload, AllocatorsReturnNullAndAreRetriedUnderMmapsRule) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "mmap=ENOMEM", "--backoff", "1ms",
                "--stats", stats, "--", prog("preload_conventions"), "malloc"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // malloc, calloc, realloc, aligned_alloc and posix_memalign: malloc's own
  // mmap calls, at libc's patched sites, each retried once (glibc's malloc
  // tries mmap twice for a large block, before and after brk), as the ptrace
  // engine counts them; the allocation is not retried again on top.
  nlohmann::json row = stats_row(stats, "mmap", "ENOMEM");
  EXPECT_EQ(counter(row, "calls"), 10u) << row;
  EXPECT_EQ(counter(row, "retries"), 10u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 10u) << row;
}

TEST(Preload, WithoutPatchingAllocatorsAreRetriedThemselves) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  setenv("FTSC_PRELOAD_PATCH", "0", 1);  // ftsc and the command inherit it
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "mmap=ENOMEM", "--backoff", "1ms",
                "--stats", stats, "--", prog("preload_conventions"), "malloc"});
  unsetenv("FTSC_PRELOAD_PATCH");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Each of the five allocations retried once, under mmap's rule.
  nlohmann::json row = stats_row(stats, "mmap", "ENOMEM");
  EXPECT_EQ(counter(row, "calls"), 5u) << row;
  EXPECT_EQ(counter(row, "retries"), 5u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 5u) << row;
}

TEST(Preload, AnAllocationThatRecoveredLeavesErrnoAlone) {
  // malloc fails under a small RLIMIT_AS until another thread raises it: the
  // retry recovers, and errno is what the program had before the call, as
  // after any successful malloc.
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "mmap=ENOMEM", "--backoff",
                "50ms,100ms,200ms,400ms", "--stats", stats, "--", prog("preload_malloc_recovers")});
  EXPECT_EQ(r.out, "errno kept\n") << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "mmap", "ENOMEM");
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
}

TEST(Preload, InjectionRecoversThroughTheLibrary) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOENT", "--backoff",
                              "1ms,1ms,1ms", "--inject", "openat:error=ENOENT:when=1..2", "--stats",
                              stats, "--", prog("preload_errno")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "injected"), 2u) << row;
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
  EXPECT_TRUE(contains(r.err, "retry summary")) << r.err;
}

TEST(Preload, CallsBeforeMainAreHandled) {
  // The .preinit_array call runs before the library's constructor: it meets
  // the lazy initialisation, and takes the first injected failure.
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOENT", "--backoff",
                              "1ms", "--inject", "openat:error=ENOENT:when=1+", "--stats", stats,
                              "--", prog("preload_early")});
  // Every attempt is injected: both calls give up after their one retry.
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.out, "preinit: -1 (No such file or directory)")) << r.out;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 2u) << row;
  EXPECT_EQ(counter(row, "injected"), 4u) << row;

  ProcessResult ok = run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOENT",
                               "--backoff", "1ms", "--inject", "openat:error=ENOENT:when=1",
                               "--stats", stats, "--", prog("preload_early")});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "injected"), 1u) << row;
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
}

TEST(Preload, ForkAndExecChildrenKeepTheEngineAndShareStatistics) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOENT", "--backoff",
                              "1ms", "--inject", "openat:error=ENOENT:when=1", "--stats", stats,
                              "--", prog("preload_fork_exec")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "three processes opened\n");
  // Each process's first openat (counters restart in a fork child and after
  // exec) was injected and recovered.
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "injected"), 3u) << row;
  EXPECT_EQ(counter(row, "recovered"), 3u) << row;
}

TEST(Preload, OrphansAreAdoptedAsWithoutFtscAndTheirCallsCounted) {
  // A helper that outlives the command is adopted by the process that would
  // adopt it without ftsc (this test process, a child subreaper), not by
  // ftsc: a daemon that waits for getppid() to change behaves as natively.
  // ftsc still waits for it, so its retried call, made after the command
  // ended and after an exec, is in the statistics.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto reap = [] {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  };
  TempDir dir;
  const std::string file = dir.path() + "/parent";
  const std::string adopted = "new parent " + std::to_string(getpid()) + "\n";
  auto read_file = [&] {
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  ProcessResult native = run_process({prog("preload_orphan"), file});
  reap();
  EXPECT_EQ(native.exit_code, 0);
  EXPECT_EQ(read_file(), adopted) << "natively";

  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOTDIR", "--backoff", "1ms",
                "--stats", stats, "--", prog("preload_orphan"), file});
  reap();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(), adopted) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOTDIR");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(Preload, StaticBinaryIsRefused) {
  // A minimal static ELF program (no PT_INTERP): exit(7).
  TempDir dir;
  const unsigned char code[] = {0xbf, 0x07, 0x00, 0x00, 0x00,  // mov $7, %edi
                                0xb8, 0x3c, 0x00, 0x00, 0x00,  // mov $60, %eax (exit)
                                0x0f, 0x05};                   // syscall
  const uint64_t base = 0x400000, code_at = 64 + 56, size = code_at + sizeof code;
  std::string elf(size, '\0');
  auto put = [&](size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      elf[at + i] = static_cast<char>(v >> (8 * i));
  };
  elf.replace(0, 4,
              "\x7f"
              "ELF");
  put(4, 2, 1);                // ELFCLASS64
  put(5, 1, 1);                // little-endian
  put(6, 1, 1);                // EV_CURRENT
  put(16, 2, 2);               // ET_EXEC
  put(18, 62, 2);              // EM_X86_64
  put(20, 1, 4);               // e_version
  put(24, base + code_at, 8);  // e_entry
  put(32, 64, 8);              // e_phoff
  put(52, 64, 2);              // e_ehsize
  put(54, 56, 2);              // e_phentsize
  put(56, 1, 2);               // e_phnum
  put(64, 1, 4);               // PT_LOAD
  put(68, 5, 4);               // PF_R | PF_X
  put(80, base, 8);            // p_vaddr
  put(88, base, 8);            // p_paddr
  put(96, size, 8);            // p_filesz
  put(104, size, 8);           // p_memsz
  put(112, 0x1000, 8);         // p_align
  elf.replace(code_at, sizeof code, reinterpret_cast<const char*>(code), sizeof code);
  std::string path = dir.write("static-exit7", elf);
  ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  ASSERT_EQ(run_process({path}).exit_code, 7) << "the hand-made static program does not run";

  ProcessResult r = run_ftsc({"run", "--engine", "preload", "--", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "is statically linked")) << r.err;
  EXPECT_TRUE(contains(r.err, "--engine ptrace")) << r.err;
  // Through a script's #! line too.
  std::string script = dir.write("script", "#!" + path + "\n");
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  ProcessResult s = run_ftsc({"run", "--engine", "preload", "--", script});
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_TRUE(contains(s.err, "is statically linked")) << s.err;
}

TEST(Preload, BadPolicyDisablesTheLibraryWithOneLine) {
  TempDir dir;
  // The right size, the wrong contents: validation, not the size check, refuses it.
  std::string bad = dir.write("bad.bin", std::string(162128, 'x'));
  for (const std::string& policy : {bad, dir.path() + "/missing.bin"}) {
    ProcessResult r = run_process(
        {"env", "LD_PRELOAD=" + library(), "FTSC_PRELOAD_POLICY=" + policy, prog("preload_errno")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "errno preserved\n");
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_TRUE(contains(r.err, "ftsc-preload: ")) << r.err;
    EXPECT_TRUE(contains(r.err, policy)) << r.err;
    EXPECT_TRUE(contains(r.err, "the program runs without ftsc")) << r.err;
  }
}

TEST(Preload, CompiledPolicyFileWorksWithoutFtscRun) {
  // Any `ftsc policy compile` output is a policy the library maps.
  TempDir dir;
  std::string policy = dir.path() + "/policy.bin";
  ASSERT_EQ(run_ftsc({"policy", "compile", "--retry", "openat=ENOENT", "--inject",
                      "openat:error=ENOENT:when=1", "-o", policy})
                .exit_code,
            0);
  ProcessResult r = run_process(
      {"env", "LD_PRELOAD=" + library(), "FTSC_PRELOAD_POLICY=" + policy, prog("preload_errno")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(Preload, OneLayerWhenNested) {
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "openat=ENOENT", "--", FTSC_BINARY, "run",
                "--retry", "openat=ENOENT", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "already running under ftsc (the preload engine)")) << r.err;
}

TEST(Preload, LibraryUnderThePtraceEngineStaysInactive) {
  // One layer per call: the supervisor already handles every process it traces.
  TempDir dir;
  std::string policy = dir.path() + "/policy.bin";
  ASSERT_EQ(run_ftsc({"policy", "compile", "--retry", "openat=ENOENT", "-o", policy}).exit_code, 0);
  // (--backoff: the loader's searches for the library fail with ENOENT too.)
  ProcessResult r = run_ftsc({"run", "--engine", "ptrace", "--retry", "openat=ENOENT", "--backoff",
                              "1ms", "--", "env", "LD_PRELOAD=" + library(),
                              "FTSC_PRELOAD_POLICY=" + policy, prog("preload_errno")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "already handles this process: the library stays inactive")) << r.err;
}

}  // namespace
}  // namespace ftsc::test
