// SPDX-License-Identifier: Apache-2.0
// The preload library's run time: what the wrappers (wrappers.cc,
// allocator.cc) call. runtime.cc explains the mechanism.
//
// A wrapper's hot path is
//
//   long r = entry()(nr, a0, ..., a5);   // normally raw_syscall itself
//   if (is_error(r)) r = on_failure(nr, r, args);
//   return r;                            // -1 with errno set, or the value
//
// so that a call that succeeds costs the syscall and one branch on its
// result. entry() starts as a function that initialises the library (calls
// made before its constructor ran), then becomes raw_syscall, or, when the
// policy injects faults, a function that counts attempts and injects before
// it executes.
#pragma once

#include <sys/syscall.h>

#include <cstddef>

struct pollfd;

namespace ftsc::preload {

using EntryFn = long (*)(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

// Read and written with __atomic builtins, not std::atomic: the wrappers'
// translation units must not include <atomic>, whose futex support pulls in
// <unistd.h> and its declarations of the very functions they define.
extern EntryFn g_entry __attribute__((visibility("hidden")));

inline EntryFn entry() {
  return __atomic_load_n(&g_entry, __ATOMIC_ACQUIRE);
}

// Is the libc function that makes syscall nr a cancellation point
// (pthreads(7))? glibc 2.36 makes exactly these calls with SYSCALL_CANCEL
// among the functions of interposed.h: read, write and their p/v variants,
// open, openat, creat, close, connect, accept, accept4, the send and recv
// families, fsync and fdatasync. Folded at compile time for a row's
// constant number; syscall(2) is no cancellation point whatever it makes.
constexpr bool is_cancellation_point(long nr) {
  switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
    case SYS_preadv:
    case SYS_pwritev:
    case SYS_openat:
    case SYS_creat:
    case SYS_close:
    case SYS_connect:
    case SYS_accept:
    case SYS_accept4:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_fsync:
    case SYS_fdatasync:
      return true;
    default:
      return false;
  }
}

// The first attempt of a call of a cancellation point (read, connect ...:
// wrappers.cc lists them) through the entry `used`, made as glibc's own
// functions make it: a pthread_cancel request that is pending, or that comes
// while the call blocks, ends the thread there (runtime.cc explains how).
long call_cancellation_point(EntryFn used, long nr, const long* args)
    __attribute__((visibility("hidden")));

// A call of syscall nr with the raw arguments args[6], made through the entry
// `used`, failed with result (-errno). Retries it as the policy says when the
// library handles nr and the call is its to retry, then returns what the
// wrapper returns: the successful result, or -1 with errno set to the last error.
// cancellation_point: the call is one, and so are its retries and the waits
// between them.
long on_failure(long nr, long result, const long* args, EntryFn used, bool cancellation_point)
    __attribute__((visibility("hidden"), noinline, cold));

// The program installed a seccomp filter of its own through the wrappers
// (prctl(PR_SET_SECCOMP) or syscall(SYS_seccomp) succeeded): the library
// stops making calls of its own and handling the program's (runtime.cc).
void on_program_filter() __attribute__((visibility("hidden")));

// Non-blocking connects the library may retry (runtime.cc, "non-blocking
// connects"): how many are remembered, 0 for most programs. The getsockopt
// wrapper reads it (__atomic, relaxed) only after a successful
// getsockopt(SOL_SOCKET, SO_ERROR), poll's wrappers after a poll that found
// fds ready, and the failure path; no other call looks at it.
extern int g_async_connects __attribute__((visibility("hidden")));

// The program's getsockopt(fd, SOL_SOCKET, SO_ERROR, value, len) succeeded
// while a non-blocking connect of fd may be remembered. When the value is an
// errno the policy retries connect with, reconnects fd as the rule says and
// writes the final outcome (0: connected) to value. Returns what the
// wrapper returns: 0.
int on_socket_error(int fd, void* value, const unsigned int* len)
    __attribute__((visibility("hidden"), noinline, cold));

// The program's poll or ppoll returned ready > 0 with fds[n] while a
// non-blocking connect may be remembered. A remembered fd that the program
// waits to become writable and that poll reports failed (POLLERR, POLLHUP)
// has its connect retried here, as the policy says, before the program sees
// the failure (curl decides on POLLERR without retrying); its revents become
// those of the final outcome. Returns the number of ready fds.
int on_poll_result(struct pollfd* fds, unsigned long n, int ready)
    __attribute__((visibility("hidden"), noinline, cold));

// One attempt of an allocation: 0 when it succeeded, else the errno it failed with.
using AllocationAttempt = int (*)(void* context);

// An allocation of `size` bytes failed with ENOMEM. Retries attempt(context)
// as the policy's mmap (or brk) ENOMEM rule says, and returns the errno of the
// last attempt (0: it succeeded). Without such a rule: ENOMEM at once.
int retry_allocation(size_t size, AllocationAttempt attempt, void* context)
    __attribute__((visibility("hidden"), noinline, cold));

// Does the library handle calls: initialised with a valid policy, and the
// program has not confined itself with a seccomp filter of its own?
bool library_active() __attribute__((visibility("hidden")));

// Does the library retry or inject syscall nr (what its dispatcher of
// patched sites hands on, the rest runs at the site)?
bool handles_syscall(long nr) __attribute__((visibility("hidden")));

// `ftsc run -v`: the library says what it did.
bool verbose() __attribute__((visibility("hidden")));

// Resolves the real allocator (allocator.cc); called by the constructor.
void resolve_allocator() __attribute__((visibility("hidden")));

// The next definition of a libc function after this library (dlsym(RTLD_NEXT)),
// for the few paths that hand a call to libc: fortify failures, syscall(2)
// of process-creating calls. Never null: a missing symbol aborts with a message.
void* next_symbol(const char* name) __attribute__((visibility("hidden")));

}  // namespace ftsc::preload
