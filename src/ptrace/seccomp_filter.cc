// SPDX-License-Identifier: Apache-2.0
#include "ptrace/seccomp_filter.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <memory>
#include <utility>

#include <fmt/format.h>

namespace ftsc::ptrace {
namespace {

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

base::Error filter_error(std::string_view what, int err) {
  return base::system_error(fmt::format("cannot build the seccomp filter: {}", what), err);
}

// libseccomp's program as BPF instructions (seccomp_export_bpf writes to an fd).
base::Result<std::vector<sock_filter>> export_program(scmp_filter_ctx ctx) {
  int fd = memfd_create("ftsc-filter", MFD_CLOEXEC);
  if (fd < 0)
    return filter_error("memfd_create", errno);
  std::vector<sock_filter> program;
  int rc = seccomp_export_bpf(ctx, fd);
  struct stat st {};
  if (rc == 0 && fstat(fd, &st) != 0)
    rc = -errno;
  if (rc == 0) {
    program.resize(static_cast<size_t>(st.st_size) / sizeof(sock_filter));
    const size_t bytes = program.size() * sizeof(sock_filter);
    if (program.empty() || bytes != static_cast<size_t>(st.st_size) ||
        pread(fd, program.data(), bytes, 0) != static_cast<ssize_t>(bytes))
      rc = -EIO;
  }
  close(fd);
  if (rc != 0)
    return filter_error("exporting libseccomp's program", -rc);
  return program;
}

}  // namespace

base::Result<Filter> build_filter(const ftsc_policy& policy, uint64_t untraced_ip) {
  std::unique_ptr<void, ContextDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (ctx == nullptr)
    return base::Error{"cannot create a seccomp filter (libseccomp)", {}, {}};
  // Calls through other architectures' entry points are not ours to judge:
  // allow them instead of libseccomp's default (kill).
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
  for (unsigned nr = 0; rc == 0 && nr < FTSC_NR_LIMIT; ++nr) {
    bool watch = policy.syscalls[nr].flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT);
    // ptrace is watched to explain why a program that uses it fails here.
    if (watch || nr == SYS_ptrace)
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_TRACE(kFilterMarker), static_cast<int>(nr), 0);
  }
  const unsigned watched = FTSC_SC_IN_POLICY | FTSC_SC_INJECT;
  if (rc == 0 && ftsc_policy_retries_async_connect(&policy, SYS_connect) &&
      !(policy.syscalls[SYS_getsockopt].flags & watched))
    // Only the SO_ERROR reads, where a non-blocking connect's outcome shows;
    // level and optname are C ints: their low 32 bits, as the kernel reads them.
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_TRACE(kFilterMarker), SCMP_SYS(getsockopt), 2,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, SOL_SOCKET),
                          SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, SO_ERROR));
  if (rc != 0)
    return filter_error("adding the rules", -rc);
  auto program = export_program(ctx.get());
  if (!program)
    return program.error();

  Filter filter;
  filter.program = std::move(*program);
  if (untraced_ip != 0) {
    // Every `return TRACE` of libseccomp's program becomes a jump to a block
    // appended at its end: if (instruction_pointer == untraced_ip) return
    // ALLOW; return TRACE. Syscalls outside the policy never reach the block,
    // so their result stays a constant ALLOW, which the kernel caches per
    // syscall number (seccomp's action cache, Linux 5.11) and then skips the
    // filter for them; a filter that read the instruction pointer first would
    // run for every syscall. BPF loads 32-bit words; x86_64 is little-endian.
    constexpr uint32_t ip = offsetof(struct seccomp_data, instruction_pointer);
    const uint32_t trace = SECCOMP_RET_TRACE | kFilterMarker;
    const size_t block = filter.program.size();
    for (size_t i = 0; i < block; ++i) {
      sock_filter& insn = filter.program[i];
      if (insn.code == (BPF_RET | BPF_K) && insn.k == trace)
        insn = BPF_STMT(BPF_JMP | BPF_JA, static_cast<uint32_t>(block - (i + 1)));
    }
    const auto low = static_cast<uint32_t>(untraced_ip);
    const auto high = static_cast<uint32_t>(untraced_ip >> 32);
    const sock_filter check[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, low, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, high, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, trace),
    };
    filter.program.insert(filter.program.end(), std::begin(check), std::end(check));
  }
  if (filter.program.size() > BPF_MAXINSNS)
    return base::Error{fmt::format("the seccomp filter has {} instructions, more than the "
                                   "kernel's {}",
                                   filter.program.size(), BPF_MAXINSNS),
                       {},
                       {}};
  return filter;
}

int load_filter(const Filter& filter) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(filter.program.size());
  prog.filter = const_cast<sock_filter*>(filter.program.data());
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  if (rc != 0 && errno == EACCES) {
    // Without CAP_SYS_ADMIN in its user namespace the kernel wants no_new_privs.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return errno;
    rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  }
  return rc == 0 ? 0 : errno;
}

}  // namespace ftsc::ptrace
