// SPDX-License-Identifier: Apache-2.0
// The preload library's one syscall site.
//
// Every system call the library makes, on behalf of the program (the first
// attempt and every retry) and for itself (mapping the policy, probing an
// fd's flags, sleeping between attempts), goes through raw_syscall(): one
// function holding the library's only `syscall` instruction, written in
// assembly (syscall_site_x86_64.cc). The result is the kernel's own: a value,
// or -errno for -4095..-1; errno is never touched, so the wrappers set it
// exactly when libc would.
//
// One site at one address is what lets the `auto` engine tell the library's
// calls from everything else: a seccomp filter can compare the instruction
// pointer of a syscall (seccomp_data.instruction_pointer) with it, as rr does
// with its syscall page, and let the library's calls through untraced. The
// filter is installed before the program's first exec, so that address must be
// fixed in advance: under `auto` the library copies the function to the
// syscall page (preload_interface.h) and switches g_site to the copy.
#pragma once

namespace ftsc::preload {

using SiteFn = long (*)(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

extern "C" {
// syscall(nr, a0, ..., a5) without libc: the kernel's result, errno untouched.
long ftsc_preload_raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
    __attribute__((visibility("hidden")));
// The address of the `syscall` instruction inside it, and the function's end.
extern const char ftsc_preload_syscall_instruction[] __attribute__((visibility("hidden")));
extern const char ftsc_preload_raw_syscall_end[] __attribute__((visibility("hidden")));
}

// Where the library's calls go: ftsc_preload_raw_syscall, or its copy on the
// syscall page under `auto` (set once, before the library handles any call).
extern SiteFn g_site __attribute__((visibility("hidden")));

inline SiteFn site() {
  return __atomic_load_n(&g_site, __ATOMIC_RELAXED);
}

inline long raw_syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                        long a5 = 0) {
  return site()(nr, a0, a1, a2, a3, a4, a5);
}

// Is r (a raw result) an error, -4095..-1?
inline bool is_error(long r) {
  return static_cast<unsigned long>(r) > static_cast<unsigned long>(-4096L);
}

}  // namespace ftsc::preload
