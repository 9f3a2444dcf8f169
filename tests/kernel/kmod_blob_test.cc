// SPDX-License-Identifier: Apache-2.0
// kmod_blob_test: the module never trusts what userspace writes. Runs in the
// VM as root with the module loaded: writes malformed compiled policies
// straight to /sys/kernel/security/ftsc/policy (bypassing the CLI, which
// would refuse most of them) and requires, for each one, that the write fails
// with the right errno, that the module's status names the reason, and that
// the policy loaded before stays loaded. A valid blob is accepted at the end,
// and a process without CAP_SYS_ADMIN cannot open the file at all. A blob
// that asks to hook the syscalls that are never retried (exit, exit_group,
// close, rt_sigreturn, restart_syscall) is accepted, but the module hooks
// none of them, and processes of its target exit without leaving a module
// reference or a call in flight behind.
// Exit 0 when every case behaves, 1 otherwise.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kb/knowledge_base.h"
#include "kmod/control.h"
#include "policy/compiler.h"
#include "policy/effective_policy.h"
#include "policy/source.h"

namespace {

constexpr const char* kPolicyText = R"(version = 1
[defaults]
backoff = ["10ms", "20ms"]
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
[target]
comm = "nobody-runs-me"
)";

int failures = 0;

ftsc::policy::CompiledPolicy valid_policy() {
  using namespace ftsc::policy;
  using ftsc::base::Diagnostic;
  using ftsc::base::format_diagnostic;
  using ftsc::base::has_errors;
  using ftsc::kb::KnowledgeBase;
  LoadedPolicy loaded = parse_policy_text(kPolicyText, "blob-test.toml");
  Resolved r = resolve(loaded.spec, KnowledgeBase::builtin());
  auto compiled = compile(r.policy, KnowledgeBase::builtin());
  if (has_errors(loaded.diags) || has_errors(r.diags) || !compiled) {
    fmt::print("FAIL: the test's own policy does not compile\n");
    std::exit(1);
  }
  return std::move(*compiled);
}

// One write of `bytes` to the policy file; the errno, or 0 when accepted.
int write_blob(const void* bytes, size_t size) {
  const std::string path = std::string(ftsc::kmod::kControlDir) + "/policy";
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  const ssize_t n = write(fd, bytes, size);
  const int err = n < 0 ? errno : 0;
  close(fd);
  return err;
}

ftsc::kmod::ModuleStatus status() {
  auto s = ftsc::kmod::Control().status();
  if (!s) {
    fmt::print("FAIL: cannot read the module's status: {}\n", s.error().message);
    std::exit(1);
  }
  return *s;
}

void check(bool ok, const std::string& what) {
  fmt::print("{} {}\n", ok ? "ok:  " : "FAIL:", what);
  if (!ok)
    ++failures;
}

// Writes a corrupted copy of the valid policy and checks the rejection.
void expect_rejected(const std::string& name, const std::function<void(ftsc_policy&)>& corrupt,
                     const std::string& reason, int want_errno = EINVAL) {
  ftsc::policy::CompiledPolicy p = valid_policy();
  corrupt(*p);
  const uint64_t before = status().policy_id;
  const int err = write_blob(p.get(), sizeof *p);
  const ftsc::kmod::ModuleStatus after = status();
  check(err == want_errno,
        fmt::format("{}: the write fails with {} (got {})", name, strerrorname_np(want_errno),
                    err ? strerrorname_np(err) : "success"));
  check(after.last_error.find(reason) != std::string::npos,
        fmt::format("{}: last_error '{}' names '{}'", name, after.last_error, reason));
  check(after.policy_id == before && after.policy_loaded,
        fmt::format("{}: the loaded policy stays (policy_id {})", name, after.policy_id));
}

// The module's reference count, as /sys/module/ftsc/refcnt shows it.
long module_refs() {
  std::ifstream in("/sys/module/ftsc/refcnt");
  long n = -1;
  in >> n;
  return n;
}

constexpr const char* kExitComm = "ftsc-exit-probe";

void on_signal(int) {}

// A child of the target that makes each never-retried syscall once: close,
// rt_sigreturn (returning from a handler), then exit from a second thread and
// exit_group from the first.
void run_exiting_child() {
  std::fflush(stdout);  // the child leaves without flushing: nothing printed twice
  const pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_NAME, kExitComm);
    close(dup(1));
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    pthread_t t;
    pthread_create(
        &t, nullptr,
        [](void*) -> void* {
          syscall(SYS_exit, 0);
          return nullptr;
        },
        nullptr);
    pthread_join(t, nullptr);
    syscall(SYS_exit_group, 0);
  }
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  check(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
        "a process of the target closed, returned from a handler, and exited");
}

// Writes a blob that marks the never-retried syscalls as in the policy (and
// injected into), as only a hand-made blob can, targeting kExitComm.
bool never_hooked_case() {
  ftsc::policy::CompiledPolicy p = valid_policy();
  const int never[] = {SYS_close, SYS_exit, SYS_exit_group, SYS_rt_sigreturn, SYS_restart_syscall};
  p->target.flags = FTSC_TARGET_COMM;
  std::memset(p->target.comm, 0, sizeof p->target.comm);
  std::strcpy(p->target.comm, kExitComm);
  for (int nr : never) {
    p->syscalls[nr].flags = static_cast<uint16_t>((p->syscalls[nr].flags & ~FTSC_SC_NEVER_RETRY) |
                                                  FTSC_SC_IN_POLICY | FTSC_SC_INJECT);
    p->cells[nr][EINTR] = FTSC_CELL_MAKE(FTSC_RETRY, 0u);
  }
  check(ftsc_policy_validate(p.get(), sizeof *p) == FTSC_POLICY_OK,
        "the blob that hooks exit_group & co. passes the validator");
  check(write_blob(p.get(), sizeof *p) == 0, "... and the module takes it");
  const ftsc::kmod::ModuleStatus st = status();
  bool hooks_never = false;
  for (const std::string& h : st.hooked)
    hooks_never |= h == "close" || h == "exit" || h == "exit_group" || h == "rt_sigreturn" ||
                   h == "restart_syscall";
  check(!hooks_never, fmt::format("... but hooks none of the never-retried syscalls (hooked: {})",
                                  fmt::join(st.hooked, " ")));
  const long refs = module_refs();
  run_exiting_child();
  const long after = module_refs();
  check(
      after == refs,
      fmt::format("the module's reference count is {} after the process exited, as before", after));
  if (after != refs) {
    // A hooked exit_group left its record on a freed stack: reading the
    // status would walk it. Stop here.
    fmt::print("FAIL: a hooked exit left a module reference behind; stopping\n");
    return false;
  }
  const ftsc::kmod::ModuleStatus end = status();
  check(end.in_flight == 0, fmt::format("no call is in flight ({})", end.in_flight));
  return true;
}

}  // namespace

int main() {
  const ftsc::kmod::Control control;
  if (!control.module_loaded()) {
    fmt::print("FAIL: the ftsc module is not loaded\n");
    return 1;
  }
  ftsc::policy::CompiledPolicy base = valid_policy();
  check(write_blob(base.get(), sizeof *base) == 0, "a valid policy is accepted");

  // Lengths: one write of exactly the block, nothing else.
  {
    const uint64_t before = status().policy_id;
    check(write_blob(base.get(), sizeof *base - 1) == EINVAL, "a short blob is refused (EINVAL)");
    check(status().last_error.find("one write of 162128 bytes") != std::string::npos,
          "... and the reason gives the expected size: " + status().last_error);
    std::vector<char> longer(sizeof *base + 8, 0);
    std::memcpy(longer.data(), base.get(), sizeof *base);
    check(write_blob(longer.data(), longer.size()) == EINVAL, "a long blob is refused (EINVAL)");
    std::vector<char> zeros(sizeof *base, 0);
    check(write_blob(zeros.data(), zeros.size()) == EINVAL, "a block of zeros is refused");
    check(status().last_error.find("bad magic") != std::string::npos,
          "... as not a compiled policy: " + status().last_error);
    check(status().policy_id == before, "the loaded policy stays through all of these");
  }
  // A blob split over two writes: the first is short and refused.
  {
    const std::string path = std::string(ftsc::kmod::kControlDir) + "/policy";
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    const auto* bytes = reinterpret_cast<const char*>(base.get());
    const ssize_t first = write(fd, bytes, 4096);
    check(first < 0 && errno == EINVAL, "the first part of a split blob is refused");
    close(fd);
  }

  expect_rejected(
      "bad magic", [](ftsc_policy& p) { p.magic ^= 1; }, "bad magic");
  expect_rejected(
      "bad version", [](ftsc_policy& p) { p.version = FTSC_POLICY_VERSION + 1; },
      "another ABI version");
  expect_rejected(
      "bad size field", [](ftsc_policy& p) { p.size -= 8; }, "size field is wrong");
  expect_rejected(
      "too many schedules", [](ftsc_policy& p) { p.n_schedules = FTSC_SCHEDULES_MAX + 1; },
      "count out of range");
  expect_rejected(
      "too many injections", [](ftsc_policy& p) { p.n_injects = 1000; }, "count out of range");
  expect_rejected(
      "schedule with too many delays",
      [](ftsc_policy& p) { p.schedules[0].n_delays = FTSC_DELAYS_MAX + 1; },
      "backoff schedule is out of range");
  expect_rejected(
      "jitter above 100 %", [](ftsc_policy& p) { p.schedules[0].jitter_ppm = 2000000; },
      "backoff schedule is out of range");
  expect_rejected(
      "cell naming a missing schedule",
      [](ftsc_policy& p) { p.cells[257][2] = FTSC_CELL_MAKE(FTSC_RETRY, 63u); },
      "refers to a schedule that does not exist");
  expect_rejected(
      "injection of syscall 4000",
      [](ftsc_policy& p) {
        p.n_injects = 1;
        p.injects[0] = ftsc_inject{4000, 2, 0, 1, 1, 1, 0, 0};
      },
      "injection is out of range");
  expect_rejected(
      "injection with step 0",
      [](ftsc_policy& p) {
        p.n_injects = 1;
        p.injects[0] = ftsc_inject{257, 2, 0, 1, 5, 0, 0, 0};
      },
      "injection is out of range");
  expect_rejected(
      "injection of errno 512 (ERESTARTSYS)",
      [](ftsc_policy& p) {
        p.n_injects = 1;
        p.injects[0] = ftsc_inject{257, 512, 0, 1, 1, 1, 0, 0};
        p.syscalls[257].flags |= FTSC_SC_INJECT;
      },
      "errno is not 1..511");
  expect_rejected(
      "injection of errno 4095",
      [](ftsc_policy& p) {
        p.n_injects = 1;
        p.injects[0] = ftsc_inject{257, 4095, 0, 1, 1, 1, 0, 0};
        p.syscalls[257].flags |= FTSC_SC_INJECT;
      },
      "errno is not 1..511");
  constexpr uint64_t kDay = 86'400'000'000'000ull;
  expect_rejected(
      "a delay of a day and a nanosecond",
      [](ftsc_policy& p) { p.schedules[0].delay_ns[0] = kDay + 1; }, "longer than one day");
  expect_rejected(
      "a delay of 2^64 - 1 ns", [](ftsc_policy& p) { p.schedules[0].delay_ns[1] = ~0ull; },
      "longer than one day");
  expect_rejected(
      "a deadline of two days", [](ftsc_policy& p) { p.schedules[0].deadline_ns = 2 * kDay; },
      "longer than one day");
  expect_rejected(
      "a budget window of a year", [](ftsc_policy& p) { p.budget_window_ns = 365 * kDay; },
      "longer than one day");
  expect_rejected(
      "a budget of two days", [](ftsc_policy& p) { p.budget_max_wait_ns = 2 * kDay; },
      "longer than one day");
  expect_rejected(
      "all = true with a comm",
      [](ftsc_policy& p) { p.target.flags = FTSC_TARGET_ALL | FTSC_TARGET_COMM; },
      "combines 'all' with other criteria");
  expect_rejected(
      "all = true with a cgroup",
      [](ftsc_policy& p) {
        p.target.flags = FTSC_TARGET_ALL | FTSC_TARGET_CGROUP;
        std::strcpy(p.target.cgroup, "/");
      },
      "combines 'all' with other criteria");
  expect_rejected(
      "fd argument 9", [](ftsc_policy& p) { p.syscalls[0].fd_arg = 9; },
      "syscall entry is out of range");
  expect_rejected(
      "unterminated comm", [](ftsc_policy& p) { std::memset(p.target.comm, 'x', FTSC_COMM_LEN); },
      "target section is malformed");
  expect_rejected(
      "unknown target flag", [](ftsc_policy& p) { p.target.flags |= 1u << 20; },
      "target section is malformed");
  expect_rejected(
      "invalid uid",
      [](ftsc_policy& p) {
        p.target.flags = FTSC_TARGET_UID;
        p.target.uid = 0xffffffffu;
      },
      "target uid 4294967295 is not a valid user id");
  expect_rejected(
      "negative pid",
      [](ftsc_policy& p) {
        p.target.flags = FTSC_TARGET_PID;
        p.target.pid = -5;
      },
      "target pid -5 is not a process id");
  expect_rejected(
      "relative cgroup",
      [](ftsc_policy& p) {
        p.target.flags = FTSC_TARGET_CGROUP;
        std::strcpy(p.target.cgroup, "system.slice");
      },
      "is not an absolute path");
  expect_rejected(
      "missing cgroup",
      [](ftsc_policy& p) {
        p.target.flags = FTSC_TARGET_CGROUP;
        std::strcpy(p.target.cgroup, "/no/such/group");
      },
      "does not exist", ENOENT);

  // Never-retried syscalls stay unhooked whatever the blob says.
  if (!never_hooked_case())
    return 1;

  // The valid blob again: accepted, a new policy_id, no error left.
  const uint64_t before = status().policy_id;
  check(write_blob(base.get(), sizeof *base) == 0, "the valid policy is accepted again");
  check(status().policy_id == before + 1 && status().last_error.empty(),
        "... as a new load, and last_error is cleared");

  // Without CAP_SYS_ADMIN: no access, whatever the file mode says.
  std::fflush(stdout);
  const pid_t child = fork();
  if (child == 0) {
    if (setresuid(1000, 1000, 1000) != 0)
      _exit(3);
    const int err = write_blob(base.get(), sizeof *base);
    _exit(err == EACCES || err == EPERM ? 0 : 1);
  }
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  check(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
        "an unprivileged process cannot write a policy");

  fmt::print("{}\n", failures == 0 ? "every malformed blob was rejected"
                                   : fmt::format("{} check(s) failed", failures));
  return failures == 0 ? 0 : 1;
}
