// SPDX-License-Identifier: Apache-2.0
// The allocator wrappers: the ALLOC rows of interposed.h, plus free and
// posix_memalign.
//
// glibc's malloc makes its mmap and brk calls inside libc, where no wrapper
// sees them, so the library retries the allocation itself: a NULL with
// ENOMEM is retried as the policy's mmap ENOMEM rule (or brk's) says, and
// counted under that syscall (runtime.cc, retry_allocation).
//
// The real allocator is the next definition after this library
// (dlsym(RTLD_NEXT)): glibc's, or a malloc library the program links. dlsym
// allocates (its error state), so while a thread resolves, that thread's
// allocations come from a small static arena; its blocks are never handed to
// the real free or realloc. The function pointers start at bootstrap
// functions that resolve and then call through, so that the hot path is the
// real call and one branch on its result.
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "preload/interposed.h"
#include "preload/runtime.h"

namespace ftsc::preload {
namespace {

// ---- the bootstrap arena ---------------------------------------------------

constexpr size_t kArenaSize = 64 * 1024;
constexpr size_t kHeader = 16;  // the block's size, kept before it
alignas(64) char g_arena[kArenaSize];
size_t g_arena_used = 0;  // bytes handed out, updated with __atomic builtins

__thread bool t_resolving __attribute__((tls_model("initial-exec"))) = false;

bool in_arena(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const auto base = reinterpret_cast<uintptr_t>(g_arena);
  return a >= base && a < base + kArenaSize;
}

size_t arena_block_size(const void* p) {
  return reinterpret_cast<const size_t*>(p)[-1];
}

// Blocks are never reused, and the arena starts zeroed (static storage).
void* arena_alloc(size_t n, size_t alignment) {
  if (alignment < kHeader)
    alignment = kHeader;
  if ((alignment & (alignment - 1)) != 0 || n > kArenaSize || alignment > kArenaSize) {
    errno = n > kArenaSize ? ENOMEM : EINVAL;
    return nullptr;
  }
  const auto base = reinterpret_cast<uintptr_t>(g_arena);
  size_t used = __atomic_load_n(&g_arena_used, __ATOMIC_RELAXED);
  for (;;) {
    const uintptr_t start = (base + used + kHeader + alignment - 1) & ~(alignment - 1);
    const size_t end = start - base + n;
    if (end > kArenaSize) {
      errno = ENOMEM;
      return nullptr;
    }
    if (__atomic_compare_exchange_n(&g_arena_used, &used, end, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      reinterpret_cast<size_t*>(start)[-1] = n;
      return reinterpret_cast<void*>(start);
    }
  }
}

bool multiplication_overflows(size_t a, size_t b) {
  size_t product;
  return __builtin_mul_overflow(a, b, &product);
}

void* arena_calloc(size_t n, size_t size) {
  if (multiplication_overflows(n, size)) {
    errno = ENOMEM;
    return nullptr;
  }
  return arena_alloc(n * size, kHeader);
}

void copy_bytes(void* to, const void* from, size_t n) {
  auto* t = static_cast<char*>(to);
  const auto* f = static_cast<const char*>(from);
  for (size_t i = 0; i < n; ++i)
    t[i] = f[i];
}

void* arena_realloc(void* old, size_t n) {
  void* p = arena_alloc(n, kHeader);
  if (p != nullptr && old != nullptr && in_arena(old)) {
    const size_t old_n = arena_block_size(old);
    copy_bytes(p, old, old_n < n ? old_n : n);
  }
  return p;
}

// ---- the real allocator ------------------------------------------------------

#define FTSC_DECLARE_POINTER(name, params, forward, bytes, prologue, bootstrap, retryable) \
  using name##_fn = void*(*)params;                                                        \
  void* bootstrap_##name params;                                                           \
  name##_fn g_##name = &bootstrap_##name;
#define FTSC_SKIP_SYSCALL(...)
FTSC_PRELOAD_INTERPOSED(FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL,
                        FTSC_DECLARE_POINTER)

using free_fn = void (*)(void*);
using posix_memalign_fn = int (*)(void**, size_t, size_t);
void bootstrap_free(void* p);
int bootstrap_posix_memalign(void** out, size_t alignment, size_t n);
free_fn g_free = &bootstrap_free;
posix_memalign_fn g_posix_memalign = &bootstrap_posix_memalign;

template <class Fn>
Fn load(Fn* pointer) {
  return __atomic_load_n(pointer, __ATOMIC_ACQUIRE);
}

template <class Fn>
void resolve_one(Fn* pointer, const char* name) {
  void* sym = next_symbol(name);
  Fn fn;
  static_assert(sizeof fn == sizeof sym);
  __builtin_memcpy(&fn, &sym, sizeof fn);
  __atomic_store_n(pointer, fn, __ATOMIC_RELEASE);
}

void resolve() {
  t_resolving = true;
#define FTSC_RESOLVE(name, params, forward, bytes, prologue, bootstrap, retryable) \
  resolve_one(&g_##name, #name);
  FTSC_PRELOAD_INTERPOSED(FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_RESOLVE)
  resolve_one(&g_posix_memalign, "posix_memalign");
  // free last: its bootstrap is what tells an unresolved allocator.
  resolve_one(&g_free, "free");
  t_resolving = false;
}

#define FTSC_DEFINE_BOOTSTRAP(name, params, forward, bytes, prologue, bootstrap, retryable) \
  void* bootstrap_##name params {                                                           \
    if (t_resolving)                                                                        \
      return bootstrap;                                                                     \
    resolve();                                                                              \
    return load(&g_##name) forward;                                                         \
  }
FTSC_PRELOAD_INTERPOSED(FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL,
                        FTSC_DEFINE_BOOTSTRAP)

void bootstrap_free(void* p) {
  if (t_resolving)
    return;  // a block of the real heap freed by dlsym itself: leaked, once
  resolve();
  free_fn real_free = load(&g_free);
  real_free(p);
}

int bootstrap_posix_memalign(void** out, size_t alignment, size_t n) {
  if (t_resolving) {
    void* p = arena_alloc(n, alignment);
    if (p == nullptr)
      return errno;
    *out = p;
    return 0;
  }
  resolve();
  return load(&g_posix_memalign)(out, alignment, n);
}

// One more attempt of an allocation, for retry_allocation().
template <class Attempt>
int run_attempt(void* attempt) {
  return (*static_cast<Attempt*>(attempt))();
}

template <class Attempt>
int retry(size_t bytes, Attempt attempt) {
  return retry_allocation(bytes, &run_attempt<Attempt>, &attempt);
}

// realloc of a block from the arena (dlsym's, during the bootstrap): the
// contents move to the real heap, the arena block is forgotten.
#define FTSC_REALLOC_ARENA_BLOCK(old, n)             \
  if (__builtin_expect(in_arena(old), 0)) {          \
    void* moved = n == 0 ? nullptr : malloc(n);      \
    if (moved != nullptr) {                          \
      const size_t old_n = arena_block_size(old);    \
      copy_bytes(moved, old, old_n < n ? old_n : n); \
    }                                                \
    return moved;                                    \
  }
#define FTSC_NOTHING

}  // namespace
}  // namespace ftsc::preload

#define FTSC_EXPORT extern "C" __attribute__((visibility("default")))
#define FTSC_UNPAREN(...) __VA_ARGS__

// The cold half of each allocator: NULL came back. Retried only for ENOMEM of
// a request that can succeed later. A failure leaves the last attempt's errno;
// a recovery leaves the errno the program had before the call (program_errno),
// as a successful allocation does: the failed attempts set it to ENOMEM.
#define FTSC_DEFINE_FAILED(name, params, forward, bytes, prologue, bootstrap, retryable)        \
  namespace ftsc::preload {                                                                     \
  namespace {                                                                                   \
  __attribute__((noinline, cold)) void* name##_failed(int program_errno, FTSC_UNPAREN params) { \
    if (!(retryable) || errno != ENOMEM)                                                        \
      return nullptr;                                                                           \
    void* result = nullptr;                                                                     \
    int err = retry(bytes, [&]() -> int {                                                       \
      result = load(&g_##name) forward;                                                         \
      return result != nullptr ? 0 : errno;                                                     \
    });                                                                                         \
    errno = err == 0 ? program_errno : err;                                                     \
    return err == 0 ? result : nullptr;                                                         \
  }                                                                                             \
  }                                                                                             \
  }
#define FTSC_DEFINE_ALLOC(name, params, forward, bytes, prologue, bootstrap, retryable) \
  FTSC_EXPORT void* name params {                                                       \
    using namespace ftsc::preload;                                                      \
    const int program_errno = errno;                                                    \
    prologue void* p = load(&g_##name) forward;                                         \
    if (__builtin_expect(p == nullptr, 0))                                              \
      return name##_failed(program_errno, FTSC_UNPAREN forward);                        \
    return p;                                                                           \
  }

FTSC_PRELOAD_INTERPOSED(FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_DEFINE_FAILED)
FTSC_PRELOAD_INTERPOSED(FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_SKIP_SYSCALL, FTSC_DEFINE_ALLOC)

FTSC_EXPORT void free(void* p) {
  using namespace ftsc::preload;
  if (__builtin_expect(in_arena(p), 0))
    return;  // never the real free's
  free_fn real_free = load(&g_free);
  real_free(p);
}

// Returns the errno instead of setting it, and leaves errno alone, as POSIX says.
FTSC_EXPORT int posix_memalign(void** out, size_t alignment, size_t n) {
  using namespace ftsc::preload;
  int rc = load(&g_posix_memalign)(out, alignment, n);
  if (__builtin_expect(rc == ENOMEM && n != 0, 0)) {
    const int saved = errno;
    rc = retry(n, [&]() -> int { return load(&g_posix_memalign)(out, alignment, n); });
    errno = saved;
  }
  return rc;
}

namespace ftsc::preload {

void resolve_allocator() {
  if (load(&g_free) == &bootstrap_free)
    resolve();
}

}  // namespace ftsc::preload
