// SPDX-License-Identifier: Apache-2.0
// The syscall wrappers: the rows of interposed.h, each a function that makes
// its syscall at the library's syscall site and hands a failure to the run
// time (runtime.h explains the hot path).
//
// This file includes no libc header that declares the functions it defines
// (<unistd.h>, <fcntl.h>, <sys/mman.h>, <sys/socket.h> ...): their C++
// declarations carry exception specifications and attributes that a
// definition would have to repeat exactly. Constants come from the kernel's
// UAPI headers, types from <sys/types.h>; an extern "C" function's symbol
// does not depend on its parameter types, so `const void*` stands for
// `const struct sockaddr*` and the like.
#include <asm/socket.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <type_traits>

#include "preload/interposed.h"
#include "preload/runtime.h"
#include "preload/syscall_site.h"

namespace ftsc::preload {
namespace {

// A C argument as the kernel receives it in a 64-bit register: integers
// sign- or zero-extended by their type, as glibc's syscall macros do.
template <class T>
inline long to_register(T v) {
  if constexpr (std::is_pointer_v<T>)
    return static_cast<long>(reinterpret_cast<uintptr_t>(v));
  else
    return static_cast<long>(v);
}

template <class R>
inline R from_register(long r) {
  if constexpr (std::is_pointer_v<R>)
    return reinterpret_cast<R>(r);
  else
    return static_cast<R>(r);
}

// The hot path of every wrapper: the syscall and one branch on its result.
// A cancellation point acts on pthread_cancel as libc's function would
// (runtime.cc, "cancellation points"): in a single-threaded process, where
// only the thread itself can have asked, pthread_testcancel() before the
// call; in a multi-threaded one, asynchronous cancellation around the call
// of the library's own syscall instruction (the preload engine's), and
// call_cancellation_point() for anything else (auto's syscall page, the
// entries that initialise or inject).
template <class... A>
__attribute__((always_inline)) inline long call(bool cancellation_point, long nr, A... a) {
  static_assert(sizeof...(A) <= 6, "a syscall has at most six arguments");
  const long args[6] = {to_register(a)...};
  const EntryFn e = entry();
  long r;
  if (!cancellation_point) {
    r = e(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  } else if (__libc_single_threaded && (e == site() || e == &ftsc_preload_raw_syscall)) {
    pthread_testcancel();
    r = e(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  } else if (e == &ftsc_preload_raw_syscall) {
    int type = PTHREAD_CANCEL_DEFERRED;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
    r = e(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
    pthread_setcanceltype(type, &type);
  } else {
    r = call_cancellation_point(e, nr, args);
  }
  if (__builtin_expect(is_error(r), 0))
    r = on_failure(nr, r, args, e, cancellation_point);
  return r;
}

// Processes and stacks change under these; syscall(2) hands them to libc.
inline bool must_stay_with_libc(long nr) {
  return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork ||
         nr == SYS_rt_sigreturn;
}

// libc's own definition of a function this file defines, resolved once
// (dlsym(RTLD_NEXT)) into *cache.
template <class Fn>
inline Fn libc_function(Fn* cache, const char* name) {
  Fn fn = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (__builtin_expect(fn == nullptr, 0)) {
    void* sym = next_symbol(name);
    __builtin_memcpy(&fn, &sym, sizeof fn);
    __atomic_store_n(cache, fn, __ATOMIC_RELEASE);
  }
  return fn;
}

using LibcSyscallFn = long (*)(long, ...);
using LibcGetsockoptFn = int (*)(int, int, int, void*, ftsc_socklen*);
using LibcPollFn = int (*)(struct pollfd*, unsigned long, int);
using LibcPpollFn = int (*)(struct pollfd*, unsigned long, const void*, const void*);
using LibcPollChkFn = int (*)(struct pollfd*, unsigned long, int, size_t);
using LibcPpollChkFn = int (*)(struct pollfd*, unsigned long, const void*, const void*, size_t);
LibcSyscallFn g_libc_syscall = nullptr;
LibcGetsockoptFn g_libc_getsockopt = nullptr;
LibcPollFn g_libc_poll = nullptr;
LibcPpollFn g_libc_ppoll = nullptr;
LibcPollChkFn g_libc_poll_chk = nullptr;
LibcPpollChkFn g_libc_ppoll_chk = nullptr;

// Resolved by the constructor, so that a later call (in a signal handler, a
// vfork child) does not need dlsym.
LibcSyscallFn libc_syscall() {
  return libc_function(&g_libc_syscall, "syscall");
}
LibcGetsockoptFn libc_getsockopt() {
  return libc_function(&g_libc_getsockopt, "getsockopt");
}

// What poll's wrappers return: libc's result, and when fds are ready while a
// non-blocking connect is remembered, the outcome of its retries (runtime.h).
inline int after_poll(struct pollfd* fds, unsigned long n, int ready) {
  if (__builtin_expect(ready > 0 && __atomic_load_n(&g_async_connects, __ATOMIC_RELAXED) != 0, 0))
    return on_poll_result(fds, n, ready);
  return ready;
}

__attribute__((constructor)) void resolve_libc_syscall() {
  libc_syscall();
  libc_getsockopt();
  libc_function(&g_libc_poll, "poll");
  libc_function(&g_libc_ppoll, "ppoll");
  libc_function(&g_libc_poll_chk, "__poll_chk");
  libc_function(&g_libc_ppoll_chk, "__ppoll_chk");
}

}  // namespace
}  // namespace ftsc::preload

#define FTSC_EXPORT extern "C" __attribute__((visibility("default")))
#define FTSC_UNPAREN(...) __VA_ARGS__
// preadv's offset travels as two words (pos_l, pos_h), like glibc's LO_HI_LONG.
#define FTSC_HIGH_WORD(pos) (static_cast<uint64_t>(pos) >> 32)

#define FTSC_VA_OPEN_MODE(last)     \
  mode_t mode = 0;                  \
  if (FTSC_OPEN_NEEDS_MODE(last)) { \
    va_list ap;                     \
    va_start(ap, last);             \
    mode = va_arg(ap, mode_t);      \
    va_end(ap);                     \
  }
#define FTSC_VA_MREMAP_ADDRESS(last) \
  void* new_addr = nullptr;          \
  if ((last)&MREMAP_FIXED) {         \
    va_list ap;                      \
    va_start(ap, last);              \
    new_addr = va_arg(ap, void*);    \
    va_end(ap);                      \
  }
// glibc's ioctl passes the third register whatever the request: so do we.
#define FTSC_VA_IOCTL_ARGUMENT(last) \
  void* argument;                    \
  {                                  \
    va_list ap;                      \
    va_start(ap, last);              \
    argument = va_arg(ap, void*);    \
    va_end(ap);                      \
  }

#define FTSC_DEFINE_PLAIN(ret, name, params, nr, args)                                 \
  FTSC_EXPORT ret name params {                                                        \
    using namespace ftsc::preload;                                                     \
    return from_register<ret>(call(is_cancellation_point(nr), nr, FTSC_UNPAREN args)); \
  }
#define FTSC_DEFINE_CHECKED(ret, name, params, forward, check, nr, args)               \
  FTSC_EXPORT ret name params {                                                        \
    using namespace ftsc::preload;                                                     \
    if (__builtin_expect(!(check), 0))                                                 \
      return reinterpret_cast<ret(*) params>(next_symbol(#name)) forward;              \
    return from_register<ret>(call(is_cancellation_point(nr), nr, FTSC_UNPAREN args)); \
  }
#define FTSC_DEFINE_VARIADIC(ret, name, params, last, prologue, nr, args) \
  FTSC_EXPORT ret name params {                                           \
    using namespace ftsc::preload;                                        \
    prologue(last) return from_register<ret>(                             \
        call(is_cancellation_point(nr), nr, FTSC_UNPAREN args));          \
  }
#define FTSC_SKIP_ALLOC(name, params, forward, bytes, prologue, bootstrap, retryable)

FTSC_PRELOAD_INTERPOSED(FTSC_DEFINE_PLAIN, FTSC_DEFINE_CHECKED, FTSC_DEFINE_VARIADIC,
                        FTSC_SKIP_ALLOC)

// syscall(2): the number is an argument, and it reads all six argument
// registers whatever the call, as glibc's does. A seccomp filter installed
// through it confines the library too (on_program_filter()).
FTSC_EXPORT long syscall(long nr, ...) {
  using namespace ftsc::preload;
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (long& v : a)
    v = va_arg(ap, long);
  va_end(ap);
  if (__builtin_expect(must_stay_with_libc(nr), 0))
    return libc_syscall()(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  const long r = call(false, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (__builtin_expect(nr == SYS_seccomp, 0) && r >= 0 &&
      (a[0] == SECCOMP_SET_MODE_STRICT || a[0] == SECCOMP_SET_MODE_FILTER))
    on_program_filter();
  return r;
}

// getsockopt(2): any option but SO_ERROR goes to libc's own function, called
// through a pointer resolved once (two compares and a jump). SO_ERROR, the
// outcome of a non-blocking connect, is read as the other wrappers make
// their calls (the library's syscall site, which auto's filter lets through:
// no stop of the supervisor for a read the library answers), and a
// successful read while a non-blocking connect is remembered may retry that
// connect (runtime.cc, "non-blocking connects").
FTSC_EXPORT int getsockopt(int fd, int level, int name, void* value, ftsc_socklen* len) {
  using namespace ftsc::preload;
  if (__builtin_expect(level != SOL_SOCKET || name != SO_ERROR, 1))
    return libc_getsockopt()(fd, level, name, value, len);  // a tail call
  const int r = from_register<int>(call(false, SYS_getsockopt, fd, level, name, value, len));
  if (r == 0 && __atomic_load_n(&g_async_connects, __ATOMIC_RELAXED) != 0)
    return on_socket_error(fd, value, len);
  return r;
}

// poll(2) and ppoll(2), with their fortified variants, are libc's own: the
// library neither retries nor counts their failures. It only looks at their
// result while a non-blocking connect is remembered, so that a program that
// decides on POLLERR (curl) meets the connect's retried outcome; any other
// poll pays one compare and a load.
FTSC_EXPORT int poll(struct pollfd* fds, unsigned long n, int timeout) {
  using namespace ftsc::preload;
  return after_poll(fds, n, libc_function(&g_libc_poll, "poll")(fds, n, timeout));
}

FTSC_EXPORT int ppoll(struct pollfd* fds, unsigned long n, const void* timeout, const void* mask) {
  using namespace ftsc::preload;
  return after_poll(fds, n, libc_function(&g_libc_ppoll, "ppoll")(fds, n, timeout, mask));
}

FTSC_EXPORT int __poll_chk(struct pollfd* fds, unsigned long n, int timeout, size_t size) {
  using namespace ftsc::preload;
  return after_poll(fds, n, libc_function(&g_libc_poll_chk, "__poll_chk")(fds, n, timeout, size));
}

FTSC_EXPORT int __ppoll_chk(struct pollfd* fds, unsigned long n, const void* timeout,
                            const void* mask, size_t size) {
  using namespace ftsc::preload;
  return after_poll(fds, n,
                    libc_function(&g_libc_ppoll_chk, "__ppoll_chk")(fds, n, timeout, mask, size));
}

// prctl(2), for PR_SET_SECCOMP: glibc's reads four more argument registers
// whatever the option, and so does this one.
FTSC_EXPORT int prctl(int option, ...) {
  using namespace ftsc::preload;
  va_list ap;
  va_start(ap, option);
  unsigned long a[4];
  for (unsigned long& v : a)
    v = va_arg(ap, unsigned long);
  va_end(ap);
  const long r = call(false, SYS_prctl, option, a[0], a[1], a[2], a[3]);
  if (__builtin_expect(option == PR_SET_SECCOMP, 0) && r == 0)
    on_program_filter();
  return static_cast<int>(r);
}
