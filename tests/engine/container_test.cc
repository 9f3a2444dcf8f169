// SPDX-License-Identifier: Apache-2.0
//
// ftsc in a container with Docker's default seccomp profile and capabilities,
// reproduced around ftsc with Docker's capability set (setpriv(1)) and
// seccomp filters (support/refuse_syscalls.c):
// every syscall the profile allows only with CAP_SYS_ADMIN, CAP_SYS_PTRACE,
// CAP_SYS_MODULE, CAP_BPF or CAP_PERFMON (which a default container lacks)
// fails with EPERM, and clone3 with ENOSYS, as the profile has it (moby's
// profiles/seccomp/default.json). ptrace and process_vm_readv stay allowed: the
// profile allows them to everybody on kernels from 4.8 on. What each engine
// then does is what docs/containers.md says: the ptrace engine and auto run
// (tracing one's own children needs no capability), the guard that looks at
// a tracee's socket through pidfd_getfd cannot and fails closed, preload needs
// nothing, and the profiler falls back to ptrace and says why.
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"
#include "support/capabilities.h"

namespace ftsc::test {
namespace {

// Refused with EPERM by Docker's default profile to a container without the
// capabilities it names (the syscalls x86_64 has among its CAP_SYS_ADMIN,
// CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_BPF and CAP_PERFMON rules), and a few
// that no rule allows.
constexpr const char* kRefusedWithEperm =
    "kcmp,pidfd_getfd,process_madvise,"                                      // CAP_SYS_PTRACE
    "bpf,perf_event_open,fanotify_init,lookup_dcookie,mount,mount_setattr,"  // CAP_SYS_ADMIN
    "move_mount,open_tree,fsopen,fsconfig,fsmount,fspick,quotactl,quotactl_fd,setdomainname,"
    "sethostname,setns,syslog,umount2,unshare,"
    "init_module,finit_module,delete_module,"  // CAP_SYS_MODULE
    "userfaultfd,keyctl,add_key,request_key,kexec_load,kexec_file_load,pivot_root";  // none

// Docker's default capabilities (moby's oci/caps/defaults.go): root in the
// container has these and no other, CAP_SYS_PTRACE and CAP_SYS_ADMIN among
// those it lacks.
constexpr const char* kDockerBoundingSet =
    "-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,"
    "+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write";

// ftsc's arguments, run as a default container would run them: as root with
// Docker's capabilities only (setpriv(1) drops the rest from the bounding
// set, so that the exec leaves them out) under the profile's refusals. A
// user who is not root has none of the capabilities already.
std::vector<std::string> in_docker_default(const std::vector<std::string>& ftsc_args) {
  std::vector<std::string> argv;
  if (geteuid() == 0)
    argv = {"setpriv", "--bounding-set", kDockerBoundingSet, "--inh-caps", "-all", "--"};
  for (const char* a : {FTSC_REFUSE_SYSCALLS, "--errno", "ENOSYS", "clone3", "--",
                        FTSC_REFUSE_SYSCALLS, kRefusedWithEperm, "--", FTSC_BINARY})
    argv.emplace_back(a);
  argv.insert(argv.end(), ftsc_args.begin(), ftsc_args.end());
  return argv;
}

// "" when in_docker_default() can run a program here, else why not.
std::string docker_default_missing() {
  if (geteuid() == 0) {
    if (find_program("setpriv").empty())
      return "setpriv is not in PATH (Debian: apt-get install util-linux)";
    ProcessResult r = run_process(
        {"setpriv", "--bounding-set", kDockerBoundingSet, "--inh-caps", "-all", "--", "true"});
    if (r.exit_code != 0)
      return "setpriv cannot drop capabilities here: " + r.err;
  }
  ProcessResult r = run_process({FTSC_REFUSE_SYSCALLS, kRefusedWithEperm, "--", "true"});
  if (r.exit_code != 0)
    return "refuse_syscalls cannot install its filter here: " + r.err;
  return {};
}

class DockerDefault : public LeftoverCheckedEngineTest {
 protected:
  void SetUp() override {
    if (std::string why = docker_default_missing(); !why.empty())
      GTEST_SKIP() << why;
  }
};

TEST_P(DockerDefault, TheEngineRunsAndRetries) {
  // A call the policy retries recovers, exactly as outside a container.
  ProcessResult native = run_process({prog("three_opens"), "/etc/hostname"});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_process(
      in_docker_default({"run", "--engine", GetParam(), "--retry", "openat=ENOENT", "--backoff",
                         "10ms", "--inject", "openat:error=ENOENT:when=1", "--stats", stats, "--",
                         prog("three_opens"), "/etc/hostname"}));
  ASSERT_NE(r.exit_code, 125) << "ftsc could not set the run up:\n" << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // (under auto the program also shows the library's syscall page)
  EXPECT_EQ(r.out.substr(0, native.out.size()), native.out) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
}

TEST_P(DockerDefault, ASocketGuardFailsClosedOrIsCheckedInProcess) {
  // The program's own 300 ms receive timeout (SO_RCVTIMEO) is its protocol:
  // never retried. The supervisor cannot look at the socket without
  // pidfd_getfd: it does not retry (guard_unknown). The library, inside the
  // program, checks it with getsockopt, which the profile allows.
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_process(in_docker_default(
      {"run", "-v", "--engine", GetParam(), "--retry", "recvfrom,read=EAGAIN", "--backoff",
       "500ms,500ms,500ms", "--stats", stats, "--", prog("socket_timeout"), "300"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::stol(r.out), 1300) << "the program's own timeout was retried\n" << r.err;
  nlohmann::json row = stats_row(stats, "recvfrom", "EAGAIN");
  EXPECT_EQ(counter(row, "retries"), 0u) << row;
  EXPECT_EQ(counter(row, "passed"), 1u) << row;
  if (std::string(GetParam()) == "ptrace") {
    EXPECT_EQ(counter(row, "guard_unknown"), 1u) << row;
    EXPECT_TRUE(contains(r.err, "could not be checked (EPERM), so the call is not retried"))
        << r.err;
  } else {
    EXPECT_EQ(counter(row, "guard_unknown"), 0u) << row;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, DockerDefault, ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

TEST(DockerDefaultProfile, TheProfilerFallsBackToPtraceAndSaysWhy) {
  // eBPF needs bpf() and perf_event_open(), refused without CAP_BPF (or
  // CAP_SYS_ADMIN) and CAP_PERFMON: the profile of a command is taken with
  // ptrace instead, and counts the same calls.
  if (std::string why = docker_default_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  const std::string out = dir.path() + "/profile.json";
  ProcessResult r = run_process(
      in_docker_default({"profile", "-q", "-o", out, "--", prog("three_opens"), "/nonexistent"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // (as root the load is refused; otherwise ftsc does not try)
  EXPECT_TRUE(contains(r.err, "eBPF needs") && contains(r.err, "profiling with ptrace instead"))
      << r.err;
  std::ifstream in(out);
  nlohmann::json profile = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(profile.is_discarded()) << r.err;
  EXPECT_EQ(profile.value("tracer", ""), "ptrace") << profile.dump();
}

TEST(DockerDefaultProfile, WithoutCapSysAdminTheSupervisorSetsNoNewPrivs) {
  // seccomp(2) takes a filter from a process without CAP_SYS_ADMIN only with
  // no_new_privs: the supervisor sets it in the command, whose set-user-ID
  // helpers then run without their privileges. The preload engine installs
  // no filter and leaves it alone.
  if (std::string why = unprivileged_user_missing(FTSC_BINARY); !why.empty())
    GTEST_SKIP() << why;
  for (const char* engine : {"ptrace", "auto", "preload"}) {
    ProcessResult r =
        run_process({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", FTSC_BINARY,
                     "run", "--engine", engine, "--", "grep", "^NoNewPrivs:", "/proc/self/status"});
    EXPECT_EQ(r.exit_code, 0) << engine << ": " << r.err;
    const bool preload = std::string(engine) == "preload";
    EXPECT_EQ(r.out, preload ? "NoNewPrivs:\t0\n" : "NoNewPrivs:\t1\n") << engine << ": " << r.err;
  }
}

}  // namespace
}  // namespace ftsc::test
