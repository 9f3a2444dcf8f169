// SPDX-License-Identifier: Apache-2.0
// Every libc function the preload library interposes, in one table.
//
// FTSC_PRELOAD_INTERPOSED(PLAIN, CHECKED, VARIADIC, ALLOC) expands one row
// per function with the macro of its kind:
//
//   PLAIN(ret, name, params, nr, args)
//       a syscall wrapper: makes syscall nr with the raw arguments args,
//       returns -1 (MAP_FAILED for mmap: the same bits) with errno on failure.
//   CHECKED(ret, name, params, forward, check, nr, args)
//       a fortified variant (_FORTIFY_SOURCE): when check does not hold, the
//       call goes to libc's own function with `forward`, which reports the
//       misuse as glibc does (__chk_fail, "invalid open call"); else as PLAIN.
//   VARIADIC(ret, name, params, last, prologue, nr, args)
//       as PLAIN for a function with `...`: prologue(last) declares the
//       variables args needs from the variable part (open's mode only with
//       O_CREAT or O_TMPFILE, mremap's new address only with MREMAP_FIXED).
//   ALLOC(name, params, forward, bytes, prologue, bootstrap, retryable)
//       an allocator returning NULL with errno: after prologue (realloc of a
//       block from the bootstrap arena), calls the real allocator
//       (dlsym(RTLD_NEXT)) with `forward`; `bootstrap` serves dlsym's own
//       allocations while it resolves; a NULL with ENOMEM for `bytes` is
//       retried when `retryable` holds (not for a zero size, an overflowing
//       calloc, or a realloc that frees).
//
// The syscall numbers and arguments are those glibc 2.36 itself passes on
// x86_64 (open is openat(AT_FDCWD, ...), send is sendto(..., NULL, 0), creat
// and rename are their own syscalls, renameat2 without flags is renameat), so
// that a policy means the same under every engine. syscall(2) itself, prctl
// (it tells the run time more), getsockopt (SO_ERROR read at the library's
// site, any other option by libc), poll and ppoll (libc's, looked at after),
// posix_memalign (it returns the errno) and free are written out in
// wrappers.cc and allocator.cc.
#pragma once

// socklen_t, without <sys/socket.h> (wrappers.cc explains why).
using ftsc_socklen = unsigned int;

// open's mode argument is read only when the flags need it, as glibc does.
#define FTSC_OPEN_NEEDS_MODE(flags) (((flags)&O_CREAT) != 0 || ((flags)&__O_TMPFILE) == __O_TMPFILE)

#define FTSC_PRELOAD_INTERPOSED(PLAIN, CHECKED, VARIADIC, ALLOC)                                   \
  /* the read/write families */                                                                    \
  PLAIN(ssize_t, read, (int fd, void* buf, size_t n), SYS_read, (fd, buf, n))                      \
  PLAIN(ssize_t, write, (int fd, const void* buf, size_t n), SYS_write, (fd, buf, n))              \
  PLAIN(ssize_t, pread, (int fd, void* buf, size_t n, off_t pos), SYS_pread64, (fd, buf, n, pos))  \
  PLAIN(ssize_t, pread64, (int fd, void* buf, size_t n, off_t pos), SYS_pread64,                   \
        (fd, buf, n, pos))                                                                         \
  PLAIN(ssize_t, pwrite, (int fd, const void* buf, size_t n, off_t pos), SYS_pwrite64,             \
        (fd, buf, n, pos))                                                                         \
  PLAIN(ssize_t, pwrite64, (int fd, const void* buf, size_t n, off_t pos), SYS_pwrite64,           \
        (fd, buf, n, pos))                                                                         \
  PLAIN(ssize_t, readv, (int fd, const void* iov, int count), SYS_readv, (fd, iov, count))         \
  PLAIN(ssize_t, writev, (int fd, const void* iov, int count), SYS_writev, (fd, iov, count))       \
  PLAIN(ssize_t, preadv, (int fd, const void* iov, int count, off_t pos), SYS_preadv,              \
        (fd, iov, count, pos, FTSC_HIGH_WORD(pos)))                                                \
  PLAIN(ssize_t, preadv64, (int fd, const void* iov, int count, off_t pos), SYS_preadv,            \
        (fd, iov, count, pos, FTSC_HIGH_WORD(pos)))                                                \
  PLAIN(ssize_t, pwritev, (int fd, const void* iov, int count, off_t pos), SYS_pwritev,            \
        (fd, iov, count, pos, FTSC_HIGH_WORD(pos)))                                                \
  PLAIN(ssize_t, pwritev64, (int fd, const void* iov, int count, off_t pos), SYS_pwritev,          \
        (fd, iov, count, pos, FTSC_HIGH_WORD(pos)))                                                \
  CHECKED(ssize_t, __read_chk, (int fd, void* buf, size_t n, size_t size), (fd, buf, n, size),     \
          n <= size, SYS_read, (fd, buf, n))                                                       \
  CHECKED(ssize_t, __pread_chk, (int fd, void* buf, size_t n, off_t pos, size_t size),             \
          (fd, buf, n, pos, size), n <= size, SYS_pread64, (fd, buf, n, pos))                      \
  CHECKED(ssize_t, __pread64_chk, (int fd, void* buf, size_t n, off_t pos, size_t size),           \
          (fd, buf, n, pos, size), n <= size, SYS_pread64, (fd, buf, n, pos))                      \
  /* open, openat, creat: 64-bit and fortified variants */                                         \
  VARIADIC(int, open, (const char* path, int flags, ...), flags, FTSC_VA_OPEN_MODE, SYS_openat,    \
           (AT_FDCWD, path, flags, mode))                                                          \
  VARIADIC(int, open64, (const char* path, int flags, ...), flags, FTSC_VA_OPEN_MODE, SYS_openat,  \
           (AT_FDCWD, path, flags, mode))                                                          \
  VARIADIC(int, openat, (int dir, const char* path, int flags, ...), flags, FTSC_VA_OPEN_MODE,     \
           SYS_openat, (dir, path, flags, mode))                                                   \
  VARIADIC(int, openat64, (int dir, const char* path, int flags, ...), flags, FTSC_VA_OPEN_MODE,   \
           SYS_openat, (dir, path, flags, mode))                                                   \
  CHECKED(int, __open_2, (const char* path, int flags), (path, flags),                             \
          !FTSC_OPEN_NEEDS_MODE(flags), SYS_openat, (AT_FDCWD, path, flags))                       \
  CHECKED(int, __open64_2, (const char* path, int flags), (path, flags),                           \
          !FTSC_OPEN_NEEDS_MODE(flags), SYS_openat, (AT_FDCWD, path, flags))                       \
  CHECKED(int, __openat_2, (int dir, const char* path, int flags), (dir, path, flags),             \
          !FTSC_OPEN_NEEDS_MODE(flags), SYS_openat, (dir, path, flags))                            \
  CHECKED(int, __openat64_2, (int dir, const char* path, int flags), (dir, path, flags),           \
          !FTSC_OPEN_NEEDS_MODE(flags), SYS_openat, (dir, path, flags))                            \
  PLAIN(int, creat, (const char* path, mode_t mode), SYS_creat, (path, mode))                      \
  PLAIN(int, creat64, (const char* path, mode_t mode), SYS_creat, (path, mode))                    \
  PLAIN(int, close, (int fd), SYS_close, (fd))                                                     \
  /* memory */                                                                                     \
  PLAIN(void*, mmap, (void* addr, size_t len, int prot, int flags, int fd, off_t pos), SYS_mmap,   \
        (addr, len, prot, flags, fd, pos))                                                         \
  PLAIN(void*, mmap64, (void* addr, size_t len, int prot, int flags, int fd, off_t pos), SYS_mmap, \
        (addr, len, prot, flags, fd, pos))                                                         \
  PLAIN(int, munmap, (void* addr, size_t len), SYS_munmap, (addr, len))                            \
  PLAIN(int, mprotect, (void* addr, size_t len, int prot), SYS_mprotect, (addr, len, prot))        \
  VARIADIC(void*, mremap, (void* old_addr, size_t old_len, size_t new_len, int flags, ...), flags, \
           FTSC_VA_MREMAP_ADDRESS, SYS_mremap, (old_addr, old_len, new_len, flags, new_addr))      \
  /* sockets */                                                                                    \
  PLAIN(int, socket, (int domain, int type, int protocol), SYS_socket, (domain, type, protocol))   \
  PLAIN(int, connect, (int fd, const void* addr, ftsc_socklen len), SYS_connect, (fd, addr, len))  \
  PLAIN(int, accept, (int fd, void* addr, ftsc_socklen* len), SYS_accept, (fd, addr, len))         \
  PLAIN(int, accept4, (int fd, void* addr, ftsc_socklen* len, int flags), SYS_accept4,             \
        (fd, addr, len, flags))                                                                    \
  PLAIN(ssize_t, send, (int fd, const void* buf, size_t n, int flags), SYS_sendto,                 \
        (fd, buf, n, flags, 0, 0))                                                                 \
  PLAIN(ssize_t, sendto,                                                                           \
        (int fd, const void* buf, size_t n, int flags, const void* addr, ftsc_socklen len),        \
        SYS_sendto, (fd, buf, n, flags, addr, len))                                                \
  PLAIN(ssize_t, sendmsg, (int fd, const void* msg, int flags), SYS_sendmsg, (fd, msg, flags))     \
  PLAIN(ssize_t, recv, (int fd, void* buf, size_t n, int flags), SYS_recvfrom,                     \
        (fd, buf, n, flags, 0, 0))                                                                 \
  PLAIN(ssize_t, recvfrom,                                                                         \
        (int fd, void* buf, size_t n, int flags, void* addr, ftsc_socklen* len), SYS_recvfrom,     \
        (fd, buf, n, flags, addr, len))                                                            \
  PLAIN(ssize_t, recvmsg, (int fd, void* msg, int flags), SYS_recvmsg, (fd, msg, flags))           \
  CHECKED(ssize_t, __recv_chk, (int fd, void* buf, size_t n, size_t size, int flags),              \
          (fd, buf, n, size, flags), n <= size, SYS_recvfrom, (fd, buf, n, flags, 0, 0))           \
  CHECKED(ssize_t, __recvfrom_chk,                                                                 \
          (int fd, void* buf, size_t n, size_t size, int flags, void* addr, ftsc_socklen* len),    \
          (fd, buf, n, size, flags, addr, len), n <= size, SYS_recvfrom,                           \
          (fd, buf, n, flags, addr, len))                                                          \
  /* durability */                                                                                 \
  PLAIN(int, fsync, (int fd), SYS_fsync, (fd))                                                     \
  PLAIN(int, fdatasync, (int fd), SYS_fdatasync, (fd))                                             \
  /* names in directories */                                                                       \
  PLAIN(int, rename, (const char* from, const char* to), SYS_rename, (from, to))                   \
  PLAIN(int, renameat, (int from_dir, const char* from, int to_dir, const char* to), SYS_renameat, \
        (from_dir, from, to_dir, to))                                                              \
  PLAIN(int, renameat2,                                                                            \
        (int from_dir, const char* from, int to_dir, const char* to, unsigned flags),              \
        flags == 0 ? SYS_renameat : SYS_renameat2, (from_dir, from, to_dir, to, flags))            \
  PLAIN(int, unlink, (const char* path), SYS_unlink, (path))                                       \
  PLAIN(int, unlinkat, (int dir, const char* path, int flags), SYS_unlinkat, (dir, path, flags))   \
  PLAIN(int, mkdir, (const char* path, mode_t mode), SYS_mkdir, (path, mode))                      \
  PLAIN(int, mkdirat, (int dir, const char* path, mode_t mode), SYS_mkdirat, (dir, path, mode))    \
  PLAIN(int, rmdir, (const char* path), SYS_rmdir, (path))                                         \
  /* devices */                                                                                    \
  VARIADIC(int, ioctl, (int fd, unsigned long request, ...), request, FTSC_VA_IOCTL_ARGUMENT,      \
           SYS_ioctl, (fd, request, argument))                                                     \
  /* the allocator (glibc's malloc calls mmap and brk itself, out of reach) */                     \
  ALLOC(malloc, (size_t n), (n), n, FTSC_NOTHING, arena_alloc(n, 16), n != 0)                      \
  ALLOC(calloc, (size_t n, size_t size), (n, size), n* size, FTSC_NOTHING, arena_calloc(n, size),  \
        n != 0 && size != 0 && !multiplication_overflows(n, size))                                 \
  ALLOC(realloc, (void* old, size_t n), (old, n), n, FTSC_REALLOC_ARENA_BLOCK(old, n),             \
        arena_realloc(old, n), n != 0)                                                             \
  ALLOC(aligned_alloc, (size_t alignment, size_t n), (alignment, n), n, FTSC_NOTHING,              \
        arena_alloc(n, alignment), n != 0)                                                         \
  ALLOC(memalign, (size_t alignment, size_t n), (alignment, n), n, FTSC_NOTHING,                   \
        arena_alloc(n, alignment), n != 0)
