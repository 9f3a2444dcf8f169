// SPDX-License-Identifier: Apache-2.0
// x86_64 specifics of the syscall ABI as a tracer sees it (ptrace(2),
// syscall(2)): the syscall number arrives in rax and is kept in orig_rax, the
// six arguments in rdi, rsi, rdx, r10, r8, r9, the result comes back in rax,
// and `syscall` is a 2-byte instruction that leaves rip just after itself, so
// rewinding rip by 2 makes the thread execute it again.
#pragma once

#include <sys/user.h>

#include <cstdint>

namespace ftsc::arch {

using Regs = struct user_regs_struct;

inline constexpr uint64_t kSyscallInsnSize = 2;  // 0f 05

inline long syscall_nr(const Regs& r) {
  return static_cast<long>(r.orig_rax);
}
inline long result(const Regs& r) {
  return static_cast<long>(r.rax);
}
inline uint64_t ip(const Regs& r) {
  return r.rip;
}

inline uint64_t arg(const Regs& r, int i) {
  switch (i) {
    case 0:
      return r.rdi;
    case 1:
      return r.rsi;
    case 2:
      return r.rdx;
    case 3:
      return r.r10;
    case 4:
      return r.r8;
    case 5:
      return r.r9;
    default:
      return 0;
  }
}

inline void set_arg(Regs& r, int i, uint64_t v) {
  switch (i) {
    case 0:
      r.rdi = v;
      break;
    case 1:
      r.rsi = v;
      break;
    case 2:
      r.rdx = v;
      break;
    case 3:
      r.r10 = v;
      break;
    case 4:
      r.r8 = v;
      break;
    case 5:
      r.r9 = v;
      break;
    default:
      break;
  }
}

inline void set_result(Regs& r, long value) {
  r.rax = static_cast<uint64_t>(value);
}

// At a syscall-exit stop: make the thread run `syscall` again on resume, with
// number nr (the registers hold the arguments).
inline void rewind_to_syscall(Regs& r, long nr) {
  r.rip -= kSyscallInsnSize;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = static_cast<uint64_t>(nr);
}

// At a syscall-entry or seccomp stop: do not run the call (the kernel skips
// number -1); the result is set at the exit stop.
inline void skip_syscall(Regs& r) {
  r.orig_rax = static_cast<uint64_t>(-1L);
}

}  // namespace ftsc::arch
