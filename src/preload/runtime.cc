// SPDX-License-Identifier: Apache-2.0
// The preload library's run time: initialisation, the retry loop, waiting,
// guards, statistics.
//
// Why one file of this length: every piece of the library's state (the mode,
// the policy, the budget, the registry, the sandbox flag) is internal to this
// file, so that the compiler sees each access of the hot path and keeps a
// successful call at the syscall and one branch (bench/syscall_cost.sh); the
// sections below (initialisation, guards, cancellation points, waiting, the
// retry loop) share that state.
//
// How it works. `ftsc run --engine preload` starts the program with
// LD_PRELOAD naming this library, so the dynamic loader binds the program's
// (and its libraries') calls of read, openat, mmap, connect, malloc ... to the
// wrappers in wrappers.cc and allocator.cc instead of libc's. A wrapper makes
// the system call itself, at the library's one syscall site (syscall_site.h),
// and only looks further when the kernel returned an error: then the retry
// decision (decide/decide.h, the same code the ptrace supervisor and the
// kernel module run) decides,
// and this file waits and re-executes the call with its original arguments.
//
// Initialisation is lazy and race-free. The wrappers call through a function
// pointer, g_entry, that starts at bootstrap_entry(): the first call, made by
// the library's constructor or by anything that runs earlier (another
// library's constructor, an executable's .preinit_array, the loader), maps
// the policy named by FTSC_PRELOAD_POLICY read-only, validates it with
// ftsc_policy_validate(), maps the statistics table named by
// FTSC_PRELOAD_STATS shared, and switches g_entry to raw_syscall(), or to
// full_entry() when every attempt must be seen before it runs (the policy
// injects faults) or after (`ftsc run -v` logs each one). One thread
// initialises (a compare-and-swap on g_state); a call that meets an
// initialisation in progress on another thread runs untouched. A missing or
// invalid policy leaves the library inert: one line on stderr, and every call
// is the plain syscall.
//
// The hot path holds no lock, allocates nothing and never touches errno: a
// successful call costs the syscall and one branch on its result. Retry state
// lives on the stack (decide::CallState); the per-process state (the retry
// budget and the injection attempt counters) is lock-free and reset in a fork
// child (pthread_atfork); the statistics table is a MAP_SHARED mapping that
// every process of a run, forked or exec'd, adds to with atomic operations
// (abi/stats.h), and that `ftsc run` reads when the run is over.
//
// Waiting between attempts happens in the calling thread: all signals are
// blocked while the unit decides, and ppoll(2) sleeps with the program's own
// signal mask, so a signal that arrives during the decision or the sleep runs
// its handler and ends the wait at once (EINTR). The call then returns its
// last error, as docs/design.md requires; ignored signals and stop/continue do not
// end it (the kernel restarts ppoll with the remaining time).
//
// Under `ftsc run --engine auto` (FTSC_PRELOAD_ENGINE=auto) the ptrace
// supervisor traces the same processes, and exactly one layer handles each
// call. Once the policy is loaded, the library maps the syscall page
// (preload_interface.h) and makes all its own calls from the copy of its
// syscall function there, which the supervisor's seccomp filter lets through
// without a stop; calls it does not handle itself run from its own syscall
// instruction, where the filter traces them as it traces libc's internal
// calls, raw `syscall` instructions and static programs. The library leaves to
// the supervisor: everything before its initialisation finished (a call that
// meets it in progress, the loader's own calls), the syscalls the policy
// injects faults into (so that one layer counts their attempts), and the
// allocators' ENOMEM (the supervisor sees malloc's own mmap; retrying the
// malloc as well would multiply the attempts). When the page cannot be
// mapped, the library stays inactive and the supervisor handles everything.
//
// A program that confines itself with a seccomp filter of its own would
// judge the library's own calls too (the signal mask, the guards' fcntl and
// getsockopt, the wait's ppoll, the -v log) and might refuse them or kill
// the process for them. Once the library knows of such a filter (the
// wrappers of prctl and syscall see it installed; a process may start under
// it; else Seccomp_filters in /proc/thread-self/status grew, looked up on the
// failure path at most every 100 ms per thread), it steps aside: it makes
// none of those calls and handles none of the program's, which under `auto`
// then reach the supervisor from the library's own syscall instruction and
// alone pass through unretried (said once per run). A wait whose ppoll fails
// for any reason but a signal ends the call with its last error.
//
// It relies on ld.so(8)'s LD_PRELOAD (ignored for set-user-ID programs in
// secure mode), on glibc binding its exported functions through the PLT, and
// on memfd_create(2)/proc(5) for the files `ftsc run` passes. libc-internal
// calls (fopen's openat, getaddrinfo's connect, malloc's own mmap) reach it
// only through libc's patched syscall sites (patcher.cc), which call
// ftsc_preload_patched_dispatch() below; it cannot see raw `syscall`
// instructions of the program, or statically linked programs. The
// program's calls of cancellation points stay cancellation points, as in
// libc ("cancellation points" below); the library's own calls (guards,
// logging) are none.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "abi/compiled_policy.h"
#include "abi/stats.h"
#include "decide/retry_unit.h"
#include "preload/patcher.h"
#include "preload/preload_interface.h"
#include "preload/runtime.h"
#include "preload/syscall_site.h"

extern char** environ;
// ld.so's record of the initial stack: argc, then argv, NULL, then the
// environment (the System V ABI's process entry layout). Public since glibc 2.2.5.
extern "C" void* __libc_stack_end;

namespace ftsc::preload {
namespace {

enum InitState : int { kNotStarted, kInitialising, kInitialised };
enum Mode : int {
  kUninitialised,  // no policy yet: calls run untouched
  kDisabled,       // no usable policy: calls run untouched for good
  kFast,           // the policy has no injections: raw first attempt, retry on failure
  kFull,           // injections or a -v log: every watched call goes through full_entry()
};

std::atomic<int> g_state{kNotStarted};
std::atomic<int> g_mode{kUninitialised};
const ftsc_policy* g_policy = nullptr;  // published by g_mode's release store
bool g_auto = false;                    // under `auto`: the supervisor traces this process too
EntryFn g_fast = nullptr;               // the entry of kFast: g_site (see on_failure())
ftsc_stats* g_stats = nullptr;
char g_log_path[256];  // FTSC_PRELOAD_LOG (ftsc run -v); empty: no log
// The policy retries connect with an errno a non-blocking connect's SO_ERROR
// can hold ("non-blocking connects" below).
bool g_async_retries = false;

// Per process, reset in a fork child. Under `auto` the budget is the
// process's word in FTSC_PRELOAD_BUDGETS instead, which the supervisor charges too.
constinit decide::RetryBudget g_budget;
decide::RetryBudget* g_shared_budget = nullptr;
char g_budgets_path[256];
uint64_t g_run_pidns = 0;  // FTSC_PRELOAD_PIDNS: ftsc's pid namespace; 0 when not given
// FTSC_PRELOAD_PROCESSES: the registry's first page, kept mapped shared for
// the process's life (ftsc waits while any process maps it; a fork child
// inherits it), and the file's name, for the records.
uint64_t* g_registry = nullptr;
char g_registry_path[256];

// The program's own seccomp filters (sandboxed() explains).
int g_filters_at_start = -1;  // the command's (FTSC_PRELOAD_FILTERS); -1: unknown, no look-ups
std::atomic<bool> g_sandboxed{false};
constexpr int64_t kFilterLookNs = 100'000'000;
__thread int64_t t_filters_looked_ns __attribute__((tls_model("initial-exec"))) = 0;
constinit decide::AttemptCounters g_counters;

// ---- small, async-signal-safe helpers ----------------------------------

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

long as_arg(const void* p) {
  return static_cast<long>(reinterpret_cast<uintptr_t>(p));
}

// One line for stderr, built without stdio or allocation.
class Line {
 public:
  Line& text(const char* s) {
    while (s != nullptr && *s != '\0' && n_ < sizeof buf_ - 1)
      buf_[n_++] = *s++;
    return *this;
  }
  Line& number(long v) {
    char digits[24];
    int k = 0;
    unsigned long u = v < 0 ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
    do {
      digits[k++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0 && k < 24);
    if (v < 0)
      text("-");
    while (k > 0 && n_ < sizeof buf_ - 1)
      buf_[n_++] = digits[--k];
    return *this;
  }
  Line& hex(unsigned long v) {
    char digits[16];
    int k = 0;
    do {
      digits[k++] = "0123456789abcdef"[v % 16];
      v /= 16;
    } while (v != 0 && k < 16);
    text("0x");
    while (k > 0 && n_ < sizeof buf_ - 1)
      buf_[n_++] = digits[--k];
    return *this;
  }
  Line& error(int err) {
    const char* name = strerrorname_np(err);
    return name != nullptr ? text(name) : text("errno ").number(err);
  }
  // Writes the line and a newline to fd 2 in one write(2).
  void say() {
    buf_[n_++] = '\n';
    raw_syscall(SYS_write, 2, as_arg(buf_), static_cast<long>(n_));
  }

 private:
  char buf_[512];
  size_t n_ = 0;
};

Line message() {
  Line l;
  l.text("ftsc-preload: [pid ").number(raw_syscall(SYS_getpid)).text("] ");
  return l;
}

// ---- initialisation --------------------------------------------------------

// Maps the file at path (its whole length, which must be `size`), or returns
// null and says why in `why`.
void* map_file(const char* path, size_t size, bool writable, Line& why) {
  long fd =
      raw_syscall(SYS_openat, AT_FDCWD, as_arg(path), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (is_error(fd)) {
    why.text("cannot open it: ").error(static_cast<int>(-fd));
    return nullptr;
  }
  struct stat st {};
  long r = raw_syscall(SYS_fstat, fd, as_arg(&st));
  void* map = nullptr;
  if (is_error(r)) {
    why.text("cannot stat it: ").error(static_cast<int>(-r));
  } else if (static_cast<uint64_t>(st.st_size) != size) {
    why.text("it has ")
        .number(static_cast<long>(st.st_size))
        .text(" bytes, not ")
        .number(static_cast<long>(size));
  } else {
    long m = raw_syscall(SYS_mmap, 0, static_cast<long>(size),
                         writable ? PROT_READ | PROT_WRITE : PROT_READ,
                         writable ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    if (is_error(m))
      why.text("cannot map it: ").error(static_cast<int>(-m));
    else
      map = reinterpret_cast<void*>(m);
  }
  raw_syscall(SYS_close, fd);
  return map;
}

// The environment. libc sets environ in its own initialiser, which runs
// after an executable's .preinit_array functions: a call from one of those
// finds the environment the kernel put on the initial stack instead.
char** environment() {
  if (environ != nullptr)
    return environ;
  const auto* sp = static_cast<const long*>(__libc_stack_end);
  if (sp == nullptr || sp[0] < 0)
    return nullptr;
  return reinterpret_cast<char**>(const_cast<long*>(sp)) + 1 + sp[0] + 1;
}

const char* find_env(char** env, const char* name) {
  size_t len = strlen(name);
  for (char** e = env; *e != nullptr; ++e)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
      return *e + len + 1;
  return nullptr;
}

// The number of seccomp filters the calling thread runs under
// (ftsc_status_seccomp_filters() of /proc/thread-self/status), -1 if unknown.
int filters_of_this_thread() {
  long fd =
      raw_syscall(SYS_openat, AT_FDCWD, as_arg("/proc/thread-self/status"), O_RDONLY | O_CLOEXEC);
  if (is_error(fd))
    return -1;
  char status[4096];
  long n = raw_syscall(SYS_read, fd, as_arg(status), sizeof status - 1);
  raw_syscall(SYS_close, fd);
  if (is_error(n))
    return -1;
  status[n] = '\0';
  return ftsc_status_seccomp_filters(status);
}

// The ptrace engine's supervisor of this process, when FTSC_SUPERVISOR_PID
// names one and /proc/self/status confirms it traces us; else 0.
long enclosing_supervisor(char** env) {
  const char* claimed = find_env(env, "FTSC_SUPERVISOR_PID");  // ptrace::kSupervisorEnv
  if (claimed == nullptr)
    return 0;
  long pid = 0;
  for (const char* c = claimed; *c >= '0' && *c <= '9' && pid < (1l << 31); ++c)
    pid = pid * 10 + (*c - '0');
  long fd = raw_syscall(SYS_openat, AT_FDCWD, as_arg("/proc/self/status"), O_RDONLY | O_CLOEXEC);
  if (pid <= 0 || is_error(fd))
    return 0;
  char status[4096];
  long n = raw_syscall(SYS_read, fd, as_arg(status), sizeof status - 1);
  raw_syscall(SYS_close, fd);
  if (is_error(n))
    return 0;
  status[n] = '\0';
  const char* line = strstr(status, "\nTracerPid:");
  if (line == nullptr)
    return 0;
  long tracer = 0;
  for (const char* c = line + 11; *c != '\0' && *c != '\n'; ++c)
    if (*c >= '0' && *c <= '9')
      tracer = tracer * 10 + (*c - '0');
  return tracer == pid ? pid : 0;
}

// Maps the syscall page (preload_interface.h) and copies the library's syscall
// function onto it: the copy, or null with the reason in `why`.
SiteFn map_syscall_page(Line& why) {
  const char* from = reinterpret_cast<const char*>(&ftsc_preload_raw_syscall);
  if (ftsc_preload_syscall_instruction - from != FTSC_SYSCALL_PAGE_SYSCALL_OFFSET) {
    why.text(
        "the library's syscall instruction is not where the filter expects it (a build "
        "defect)");
    return nullptr;
  }
  const long address = static_cast<long>(FTSC_SYSCALL_PAGE_ADDRESS);
  const long size = static_cast<long>(FTSC_SYSCALL_PAGE_SIZE);
  long m = raw_syscall(SYS_mmap, address, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (m == -EEXIST) {
    why.text("the address is taken by another mapping");
    return nullptr;
  }
  if (is_error(m)) {
    why.text("cannot map it: ").error(static_cast<int>(-m));
    return nullptr;
  }
  if (m != address) {  // a kernel older than 4.17 takes MAP_FIXED_NOREPLACE as a hint
    raw_syscall(SYS_munmap, m, size);
    why.text("the address is taken by another mapping");
    return nullptr;
  }
  char* to = reinterpret_cast<char*>(m);
  for (const char* c = from; c < ftsc_preload_raw_syscall_end; ++c)
    *to++ = *c;
  long r = raw_syscall(SYS_mprotect, m, size, PROT_READ | PROT_EXEC);
  if (is_error(r)) {
    raw_syscall(SYS_munmap, m, size);
    why.text("cannot make it executable: ").error(static_cast<int>(-r));
    return nullptr;
  }
  return reinterpret_cast<SiteFn>(m);
}

// Maps the page of FTSC_PRELOAD_BUDGETS that holds this process's budget word
// (ftsc_budget_index(): the supervisor finds the same word from outside).
// False, with the reason in `why`, when it cannot.
bool map_shared_budget(Line& why) {
  const long pid = raw_syscall(SYS_getpid);
  uint64_t pidns = g_run_pidns;
  struct stat ns {};
  if (g_run_pidns != 0 &&
      !is_error(raw_syscall(SYS_newfstatat, AT_FDCWD, as_arg("/proc/self/ns/pid"), as_arg(&ns), 0)))
    pidns = ns.st_ino;
  const uint64_t index = ftsc_budget_index(pidns, g_run_pidns, static_cast<uint64_t>(pid));
  if (pid <= 0 || index >= FTSC_BUDGET_WORDS) {
    why.text("process id out of range");
    return false;
  }
  const long offset = static_cast<long>(index) * 8;
  const long page_offset = offset & ~4095l;
  long fd = raw_syscall(SYS_openat, AT_FDCWD, as_arg(g_budgets_path), O_RDWR | O_CLOEXEC);
  if (is_error(fd)) {
    why.text("cannot open it: ").error(static_cast<int>(-fd));
    return false;
  }
  long m = raw_syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page_offset);
  raw_syscall(SYS_close, fd);
  if (is_error(m)) {
    why.text("cannot map it: ").error(static_cast<int>(-m));
    return false;
  }
  g_shared_budget =
      decide::RetryBudget::at(reinterpret_cast<uint64_t*>(m + (offset - page_offset)));
  return true;
}

// The process's record in the registry of the run's processes
// (preload_interface.h), through fd. False, with the reason in `why`, when it
// cannot write one.
bool record_process(long fd, Line& why) {
  const uint64_t i = __atomic_fetch_add(g_registry, 1, __ATOMIC_RELAXED);
  if (i >= FTSC_PROCESS_RECORDS) {
    why.text("more processes than it has records for");
    return false;
  }
  const long offset =
      static_cast<long>(FTSC_PROCESS_REGISTRY_HEADER + i * sizeof(ftsc_process_record));
  const long page_offset = offset & ~4095l;
  long m = raw_syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page_offset);
  if (is_error(m)) {
    why.text("cannot map it: ").error(static_cast<int>(-m));
    return false;
  }
  auto* record = reinterpret_cast<ftsc_process_record*>(m + (offset - page_offset));
  struct stat ns {};
  const bool known =
      !is_error(raw_syscall(SYS_newfstatat, AT_FDCWD, as_arg("/proc/self/ns/pid"), as_arg(&ns), 0));
  record->pidns = known ? ns.st_ino : 0;
  record->pid = static_cast<uint32_t>(raw_syscall(SYS_getpid));
  struct timespec now {};
  clock_gettime(CLOCK_BOOTTIME, &now);
  record->registered_ns = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  __atomic_store_n(&record->version, FTSC_PROCESS_RECORD_VERSION, __ATOMIC_RELEASE);
  raw_syscall(SYS_munmap, m, 4096);
  return true;
}

// Maps the registry's first page (once: a fork child inherits it) and
// records this process. False, with the reason in `why`, when it cannot.
bool join_registry(Line& why) {
  long fd = raw_syscall(SYS_openat, AT_FDCWD, as_arg(g_registry_path), O_RDWR | O_CLOEXEC);
  if (is_error(fd)) {
    why.text("cannot open it: ").error(static_cast<int>(-fd));
    return false;
  }
  bool ok = true;
  if (g_registry == nullptr) {
    long m = raw_syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (is_error(m)) {
      why.text("cannot map it: ").error(static_cast<int>(-m));
      ok = false;
    } else {
      g_registry = reinterpret_cast<uint64_t*>(m);
    }
  }
  ok = ok && record_process(fd, why);
  raw_syscall(SYS_close, fd);
  return ok;
}

void say_not_registered(Line& why) {
  why.text("; ftsc may end its run before this process ends and miss what it counts").say();
}

decide::RetryBudget* process_budget() {
  return g_shared_budget != nullptr ? g_shared_budget : &g_budget;
}

// Maps the policy and the statistics. Every problem is one line on stderr.
Mode load(char** env) {
  const char* policy_path = find_env(env, FTSC_PRELOAD_POLICY_ENV);
  if (policy_path == nullptr || *policy_path == '\0') {
    message()
        .text(FTSC_PRELOAD_POLICY_ENV)
        .text(
            " is not set: the library stays inactive (start programs with "
            "`ftsc run --engine preload`)")
        .say();
    return kDisabled;
  }
  const char* engine = find_env(env, FTSC_PRELOAD_ENGINE_ENV);
  const bool auto_engine = engine != nullptr && strcmp(engine, FTSC_PRELOAD_ENGINE_AUTO) == 0;
  const long supervisor = enclosing_supervisor(env);
  if (auto_engine && supervisor == 0) {
    message()
        .text(FTSC_PRELOAD_ENGINE_ENV
              "=" FTSC_PRELOAD_ENGINE_AUTO
              " but no ftsc supervisor traces this process: the library stays inactive")
        .say();
    return kDisabled;
  }
  if (!auto_engine && supervisor != 0) {
    // One layer handles each call (docs/design.md): the supervisor sees them all.
    message()
        .text("the ptrace engine (pid ")
        .number(supervisor)
        .text(") already handles this process: the library stays inactive")
        .say();
    return kDisabled;
  }
  Line line = message();
  line.text("policy ").text(policy_path).text(": ");
  void* map = map_file(policy_path, sizeof(ftsc_policy), false, line);
  if (map == nullptr) {
    line.text("; the program runs without ftsc").say();
    return kDisabled;
  }
  const auto* policy = static_cast<const ftsc_policy*>(map);
  int invalid = ftsc_policy_validate(policy, sizeof(ftsc_policy));
  if (invalid != FTSC_POLICY_OK) {
    line.text(ftsc_policy_validate_message(invalid)).text("; the program runs without ftsc").say();
    raw_syscall(SYS_munmap, as_arg(map), sizeof(ftsc_policy));
    return kDisabled;
  }
  if (auto_engine) {
    Line why = message();
    why.text("the syscall page at ").hex(FTSC_SYSCALL_PAGE_ADDRESS).text(": ");
    SiteFn page = map_syscall_page(why);
    if (page == nullptr) {
      why.text("; the library stays inactive and the supervisor handles every call").say();
      raw_syscall(SYS_munmap, as_arg(map), sizeof(ftsc_policy));
      return kDisabled;
    }
    g_auto = true;
    __atomic_store_n(&g_site, page, __ATOMIC_RELEASE);
    const char* budgets = find_env(env, FTSC_PRELOAD_BUDGETS_ENV);
    if (budgets != nullptr && strlen(budgets) < sizeof g_budgets_path) {
      memcpy(g_budgets_path, budgets, strlen(budgets) + 1);
      const char* pidns = find_env(env, FTSC_PRELOAD_PIDNS_ENV);
      for (const char* c = pidns; c != nullptr && *c >= '0' && *c <= '9'; ++c)
        g_run_pidns = g_run_pidns * 10 + static_cast<uint64_t>(*c - '0');
      Line budget_why = message();
      budget_why.text("retry budget ").text(g_budgets_path).text(": ");
      if (!map_shared_budget(budget_why))
        budget_why.text("; this process's budget is not shared with the supervisor").say();
    }
  }
  g_policy = policy;
  g_async_retries = ftsc_policy_retries_async_connect(policy, SYS_connect) != 0;

  const char* stats_path = find_env(env, FTSC_PRELOAD_STATS_ENV);
  if (stats_path != nullptr && *stats_path != '\0') {
    Line stats_line = message();
    stats_line.text("statistics ").text(stats_path).text(": ");
    auto* stats =
        static_cast<ftsc_stats*>(map_file(stats_path, sizeof(ftsc_stats), true, stats_line));
    if (stats != nullptr &&
        (stats->magic != FTSC_STATS_MAGIC || stats->version != FTSC_STATS_VERSION ||
         stats->n_slots != FTSC_STATS_SLOTS)) {
      stats_line.text("not an ftsc statistics table of this version");
      raw_syscall(SYS_munmap, as_arg(stats), sizeof(ftsc_stats));
      stats = nullptr;
    }
    if (stats == nullptr)
      stats_line.text("; retrying without counting").say();
    g_stats = stats;
  }
  const char* processes = find_env(env, FTSC_PRELOAD_PROCESSES_ENV);
  if (processes != nullptr && strlen(processes) < sizeof g_registry_path) {
    memcpy(g_registry_path, processes, strlen(processes) + 1);
    Line why = message();
    why.text("process registry ").text(g_registry_path).text(": ");
    if (!join_registry(why))
      say_not_registered(why);
  }
  const char* filters = find_env(env, FTSC_PRELOAD_FILTERS_ENV);
  if (filters != nullptr && *filters >= '0' && *filters <= '9') {
    g_filters_at_start = 0;
    for (const char* c = filters; *c >= '0' && *c <= '9' && g_filters_at_start < 1000000; ++c)
      g_filters_at_start = g_filters_at_start * 10 + (*c - '0');
  } else {
    g_filters_at_start = filters_of_this_thread();
  }
  const char* log_path = find_env(env, FTSC_PRELOAD_LOG_ENV);
  if (log_path != nullptr && strlen(log_path) < sizeof g_log_path)
    memcpy(g_log_path, log_path, strlen(log_path) + 1);
  // A log shows every attempt, successes included: all calls take the full path.
  return policy->n_injects > 0 || g_log_path[0] != '\0' ? kFull : kFast;
}

long bootstrap_entry(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long full_entry(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

// Says once per run (the registry's flag; once per process without it) that
// the library stopped retrying. Under `auto` there is nothing to say: the
// supervisor goes on, and says that it parks the process's backoffs.
void say_sandboxed() {
  if (g_auto)
    return;
  if (g_registry != nullptr &&
      (__atomic_fetch_or(&g_registry[1], FTSC_REGISTRY_SANDBOX_SAID, __ATOMIC_RELAXED) &
       FTSC_REGISTRY_SANDBOX_SAID) != 0)
    return;
  message()
      .text(
          "the program runs under a seccomp filter of its own, which the library's own calls "
          "(signal mask, guards, waits) could meet, refused or killed: ftsc retries none of its "
          "calls from here on; --engine auto retries them from outside the program")
      .say();
}

// The library stops handling calls: they go to its own syscall instruction,
// which the supervisor of `auto` traces (alone: the plain call). Once.
void step_aside() {
  if (g_sandboxed.exchange(true, std::memory_order_acq_rel))
    return;
  __atomic_store_n(&g_entry, &ftsc_preload_raw_syscall, __ATOMIC_RELEASE);
  forget_handled_syscalls();
  if (g_mode.load(std::memory_order_acquire) >= kFast)
    say_sandboxed();
}

// Does the calling thread run under a seccomp filter of the program's? Known
// at once when the program installed it through the wrappers or the process
// started under it, else looked up (at most every kFilterLookNs per thread).
bool sandboxed() {
  if (g_sandboxed.load(std::memory_order_acquire))
    return true;
  if (g_filters_at_start < 0)
    return false;
  const int64_t now = now_ns();
  if (t_filters_looked_ns != 0 && now - t_filters_looked_ns < kFilterLookNs)
    return false;
  t_filters_looked_ns = now;
  if (filters_of_this_thread() <= g_filters_at_start)
    return false;
  step_aside();
  return true;
}

// Returns whether the library handles calls (a valid policy is loaded).
bool initialise() {
  int state = g_state.load(std::memory_order_acquire);
  if (state != kInitialised) {
    int expected = kNotStarted;
    if (!g_state.compare_exchange_strong(expected, kInitialising, std::memory_order_acq_rel))
      return expected == kInitialised && g_mode.load(std::memory_order_acquire) >= kFast;
    char** env = environment();
    if (env == nullptr) {
      // No environment yet: try again on the next call.
      g_state.store(kNotStarted, std::memory_order_release);
      return false;
    }
    Mode mode = load(env);
    EntryFn e = &ftsc_preload_raw_syscall;
    if (mode == kFull) {
      e = &full_entry;
    } else if (mode == kFast) {
      e = g_site;
      g_fast = e;
    }
    // Started under a filter of the program's (exec'd by a confined
    // process), or the program installed one meanwhile.
    const bool confined =
        mode >= kFast &&
        (g_sandboxed.load(std::memory_order_acquire) ||
         (g_filters_at_start >= 0 && filters_of_this_thread() > g_filters_at_start));
    if (confined) {
      g_sandboxed.store(true, std::memory_order_release);
      e = &ftsc_preload_raw_syscall;
    }
    g_mode.store(mode, std::memory_order_release);
    __atomic_store_n(&g_entry, e, __ATOMIC_RELEASE);
    if (g_sandboxed.load(std::memory_order_acquire))  // step_aside() on another thread meanwhile
      __atomic_store_n(&g_entry, &ftsc_preload_raw_syscall, __ATOMIC_RELEASE);
    g_state.store(kInitialised, std::memory_order_release);
    if (confined)
      say_sandboxed();
  }
  return g_mode.load(std::memory_order_acquire) >= kFast;
}

// Does the library retry or inject syscall nr? Alone, what the ptrace engine
// would trace; under `auto`, not the syscalls with injections, which it
// leaves to the supervisor. Nothing once the program confined itself.
bool handles(long nr) {
  if (nr < 0 || static_cast<unsigned long>(nr) >= FTSC_NR_LIMIT ||
      g_sandboxed.load(std::memory_order_acquire))
    return false;
  const uint32_t flags = g_policy->syscalls[nr].flags;
  if (g_auto)
    return (flags & FTSC_SC_INJECT) == 0 && (flags & FTSC_SC_IN_POLICY) != 0;
  return (flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT)) != 0;
}

// ---- guards and waiting ------------------------------------------------------

// The guards' run-time facts, asked of the kernel through the syscall site.
// A check that fails (the fd closed by another thread meanwhile, fcntl or
// getsockopt refused by the program's own seccomp filter) answers its errno:
// the guard then counts as holding and the call is not retried.
class InProcessProbe final : public decide::GuardProbe {
 public:
  int fd_nonblocking(int fd) override {
    long flags = raw_syscall(SYS_fcntl, fd, F_GETFL);
    if (is_error(flags))
      return static_cast<int>(flags);
    return (flags & O_NONBLOCK) != 0 ? kHolds : kClear;
  }
  int socket_timeout(int fd, bool send) override {
    struct timeval tv {};
    socklen_t len = sizeof tv;
    long r = raw_syscall(SYS_getsockopt, fd, SOL_SOCKET, send ? SO_SNDTIMEO : SO_RCVTIMEO,
                         as_arg(&tv), as_arg(&len));
    if (r == -ENOTSOCK)
      return kClear;  // not a socket: no socket timeout
    if (is_error(r))
      return static_cast<int>(r);
    return tv.tv_sec != 0 || tv.tv_usec != 0 ? kHolds : kClear;
  }
};

// ---- cancellation points --------------------------------------------------

// glibc's cancellation points (read, connect, fsync ...: wrappers.cc lists
// them) make their syscall with SYSCALL_CANCEL (glibc 2.36,
// sysdeps/unix/sysdep.h): in a multi-threaded process the thread switches to
// asynchronous cancellation around the syscall, so that a pthread_cancel
// request that is pending acts at once (the switch itself acts on it), and
// one that comes while the call blocks interrupts it with glibc's
// cancellation signal, whose handler unwinds the thread from there. A
// single-threaded process skips the switch. The library's attempts do the
// same with public means: pthread_setcanceltype() around the syscall, and
// pthread_testcancel() before it in a single-threaded process, where only
// the thread itself can have asked.
//
// The unwinding starts in the signal handler and walks the frames it
// interrupted. The syscall page of `auto` has no unwind information (it is a
// copy made at run time), where the unwinder stops and glibc jumps to the
// innermost pthread_cleanup_push() buffer instead; so an attempt made on the
// page registers one (the non-exception form of pthread_cleanup_push, which
// this library compiles to), from which the unwinding goes on through the
// library's and the program's frames, running every cleanup handler and C++
// destructor of the program.
//
// Only the syscalls are cancellation points, never the library's own work:
// a retried call restores the deferred type after each attempt and wait, and
// the retry loop (drive()) registers a cleanup buffer that ends the call in
// the statistics and restores the program's signal mask when a cancellation
// unwinds through it.

void nothing_to_clean(void*) {}

long at_site(SiteFn site, long nr, const long* a) {
  return site(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// One attempt of a cancellation point's call at `site`.
long cancellable_attempt(SiteFn site, long nr, const long* a) {
  if (__libc_single_threaded) {
    pthread_testcancel();
    return at_site(site, nr, a);
  }
  int type = PTHREAD_CANCEL_DEFERRED;
  if (site == &ftsc_preload_raw_syscall) {  // unwind information: nothing to add
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
    const long r = at_site(site, nr, a);
    pthread_setcanceltype(type, &type);
    return r;
  }
  long r;
  pthread_cleanup_push(&nothing_to_clean, nullptr);
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
  r = at_site(site, nr, a);
  pthread_setcanceltype(type, &type);
  pthread_cleanup_pop(0);
  return r;
}

// One attempt of the program's call at `site`.
long attempt_at(SiteFn site, bool cancellation_point, long nr, const long* a) {
  return cancellation_point ? cancellable_attempt(site, nr, a) : at_site(site, nr, a);
}

// ---- waiting -----------------------------------------------------------------

// The guards' facts in a process confined by a filter of the program's: not
// asked (fcntl or getsockopt could be refused or kill it), so a guard that
// needs them counts as holding.
class UnaskedProbe final : public decide::GuardProbe {
 public:
  int fd_nonblocking(int) override { return -ECANCELED; }
  int socket_timeout(int, bool) override { return -ECANCELED; }
};

// Sleeps ns unless a signal handler runs first (kSignalled), or says that it
// could not sleep at all (kFailed). Signals are blocked from the decision on
// and ppoll(2) restores the program's mask only while it sleeps, so a signal
// that arrived after the failure ends the wait too.
// program_mask: the mask to sleep with, or null to keep the current one.
// cancellation_point: the wait is one (the call it is part of is).
enum class Wait { kSlept, kSignalled, kFailed };
Wait sleep_unless_signalled(int64_t ns, const uint64_t* program_mask, bool cancellation_point,
                            int64_t* waited) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  const int64_t start = now_ns();
  const long a[6] = {0, 0, as_arg(&ts), as_arg(program_mask), sizeof(uint64_t), 0};
  long r = cancellation_point ? cancellable_attempt(g_site, SYS_ppoll, a)
                              : at_site(g_site, SYS_ppoll, a);
  *waited = now_ns() - start;
  if (r == -EINTR)
    return Wait::kSignalled;
  // Refused (a seccomp filter) or failed otherwise: no wait took place.
  return is_error(r) ? Wait::kFailed : Wait::kSlept;
}

// Blocks every signal while a retry is decided and hands the program's own
// mask to the sleep; release() (or the end of its scope) restores it.
class SignalGate {
 public:
  SignalGate() = default;
  ~SignalGate() { release(); }
  SignalGate(const SignalGate&) = delete;
  SignalGate& operator=(const SignalGate&) = delete;
  void block() {
    uint64_t all = ~uint64_t{0};
    blocked_ = !is_error(
        raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, as_arg(&all), as_arg(&saved_), sizeof saved_));
  }
  void release() {
    if (blocked_)
      raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, as_arg(&saved_), 0, sizeof saved_);
    blocked_ = false;
  }
  bool blocked() const { return blocked_; }
  // The program's own mask while signals are blocked, else null.
  const uint64_t* program_mask() const { return blocked_ ? &saved_ : nullptr; }

 private:
  uint64_t saved_ = 0;
  bool blocked_ = false;
};

// ---- the retry loop ----------------------------------------------------------

// `ftsc run -v`: one record per attempt to ftsc's log pipe, which ftsc formats.
void log_attempt(const decide::SyscallArgs& args, long result, int injected,
                 const decide::CallState& call, const decide::Decision& d) {
  if (g_log_path[0] == '\0' || sandboxed())
    return;
  ftsc_preload_log record{};
  record.version = FTSC_PRELOAD_LOG_VERSION;
  record.tid = static_cast<int32_t>(raw_syscall(SYS_gettid));
  record.nr = static_cast<int32_t>(args.nr);
  record.injected = injected;
  record.result = result;
  record.args[0] = args.args[0];
  record.args[1] = args.args[1];
  record.action = static_cast<uint8_t>(d.action);
  record.reason = static_cast<uint8_t>(d.reason);
  record.retries = call.retries;
  const uint8_t cell = ftsc_policy_cell(g_policy, args.nr, call.last_errno);
  if (FTSC_CELL_SCHEDULE(cell) < g_policy->n_schedules)
    record.n_delays = g_policy->schedules[FTSC_CELL_SCHEDULE(cell)].n_delays;
  record.delay_ns = d.delay_ns;
  record.guard = d.guard;
  record.probe_error = d.probe_error;
  long fd = raw_syscall(SYS_openat, AT_FDCWD, as_arg(g_log_path), O_WRONLY | O_CLOEXEC);
  if (is_error(fd))
    return;
  raw_syscall(SYS_write, fd, as_arg(&record), sizeof record);
  raw_syscall(SYS_close, fd);
}

// A call in drive(), as a cancellation that unwinds through it finds it.
struct CallInFlight {
  const decide::RetryUnit* unit;
  decide::CallState* call;
  const decide::SyscallArgs* args;
  SignalGate* gate;
  int64_t wait_start;  // when the current wait began; 0 outside waits
};

// The thread is cancelled in an attempt or a wait of the call: the program's
// signal mask comes back, and the call ends as one whose wait a signal ended.
void end_cancelled_call(void* in_flight) {
  auto* c = static_cast<CallInFlight*>(in_flight);
  c->gate->release();
  if (c->call->first_errno == 0 || (c->call->flags & FTSC_CALL_ENDED) != 0)
    return;
  const int64_t waited = c->wait_start != 0 ? now_ns() - c->wait_start : 0;
  decide::Decision end = c->unit->on_interrupted(*c->call, waited);
  log_attempt(*c->args, -c->call->last_errno, 0, *c->call, end);
}

// The loop of drive(). in_flight: what a cancellation must find, or null.
template <class Execute>
long drive_loop(decide::RetryUnit& unit, decide::CallState& call, SignalGate& gate,
                const decide::SyscallArgs& args, bool injects, bool have_first, long first,
                bool cancellation_point, CallInFlight* in_flight, Execute& execute) {
  const ftsc_policy& policy = *g_policy;
  const long nr = args.nr;
  InProcessProbe asked;
  UnaskedProbe unasked;
  long result = first;
  for (;;) {
    int injected = 0;
    if (!have_first) {
      injected = injects ? unit.inject(call, g_counters.next(nr)) : 0;
      result = injected != 0 ? -injected : execute();
      if (call.attempts == 0 && !is_error(result)) {
        // The common case: nothing failed, nothing to count.
        log_attempt(args, result, 0, call, decide::Decision{});
        return result;
      }
    }
    have_first = false;
    // Only a failure the policy may retry leads to calls of the library's
    // own (the signal mask, the guards, the wait); the others pay for no
    // more than the decision. A process under a seccomp filter of the
    // program's makes none of them: its guards count as holding, and a
    // retry cannot wait.
    const bool may_retry = is_error(result) &&
                           FTSC_CELL_DECISION(ftsc_policy_cell(&policy, nr, -result)) == FTSC_RETRY;
    const bool confined = may_retry && sandboxed();
    if (may_retry && !confined && !unit.observing())
      gate.block();
    decide::GuardProbe& probe = confined ? static_cast<decide::GuardProbe&>(unasked) : asked;
    decide::Decision d = unit.on_result(call, args, result, probe, now_ns());
    log_attempt(args, result, injected, call, d);
    if (d.action == decide::Action::kReturn)
      return result;
    if (confined) {
      decide::Decision end = unit.on_cannot_wait(call, 0);
      log_attempt(args, result, 0, call, end);
      return result;
    }
    if (d.delay_ns > 0) {
      if (!gate.blocked())
        gate.block();
      int64_t waited = 0;
      if (in_flight != nullptr)
        in_flight->wait_start = now_ns();
      const Wait wait =
          sleep_unless_signalled(d.delay_ns, gate.program_mask(), cancellation_point, &waited);
      if (in_flight != nullptr)
        in_flight->wait_start = 0;
      if (wait != Wait::kSlept) {
        // A signal ended the wait, or there was none (the ppoll was
        // refused): the call ends with its last error, not with retries
        // that wait for nothing.
        decide::Decision end = wait == Wait::kSignalled ? unit.on_interrupted(call, waited)
                                                        : unit.on_cannot_wait(call, waited);
        log_attempt(args, result, 0, call, end);
        return result;
      }
      unit.on_waited(call, waited);
    }
    gate.release();
  }
}

// Runs a call to its end as the retry decision says (decide/retry_unit.h's loop).
// first: the result of the first attempt when the caller already made it
// (have_first), execute(): one more attempt. Returns the final raw result.
// cancellation_point: the call is one (its attempts and waits are).
template <class Execute>
long drive(const decide::SyscallArgs& args, bool may_inject, bool have_first, long first,
           bool cancellation_point, Execute execute) {
  const ftsc_policy& policy = *g_policy;
  const long nr = args.nr;
  decide::RetryUnit unit(policy, g_stats);
  decide::CallState call;
  unit.begin_call(call, nr, process_budget(),
                  static_cast<uint64_t>(now_ns()) ^ reinterpret_cast<uintptr_t>(&call));
  const bool injects = may_inject && nr >= 0 && static_cast<unsigned long>(nr) < FTSC_NR_LIMIT &&
                       (policy.syscalls[nr].flags & FTSC_SC_INJECT) != 0;
  SignalGate gate;
  if (!cancellation_point)
    return drive_loop(unit, call, gate, args, injects, have_first, first, false, nullptr, execute);
  CallInFlight in_flight{&unit, &call, &args, &gate, 0};
  // The cleanup reads in_flight after a longjmp: its stores must not wait in registers.
  asm volatile("" : : "r"(&in_flight) : "memory");
  long result;
  pthread_cleanup_push(&end_cancelled_call, &in_flight);
  result =
      drive_loop(unit, call, gate, args, injects, have_first, first, true, &in_flight, execute);
  pthread_cleanup_pop(0);
  return result;
}

decide::SyscallArgs make_args(long nr, const long* a) {
  decide::SyscallArgs args;
  args.nr = nr;
  for (int i = 0; i < 6; ++i)
    args.args[i] = static_cast<uint64_t>(a[i]);
  return args;
}

// An attempt of the call at the current site (the syscall page under `auto`).
long attempt(bool cancellation_point, long nr, const long* a) {
  return attempt_at(__atomic_load_n(&g_site, __ATOMIC_RELAXED), cancellation_point, nr, a);
}

// ---- non-blocking connects -------------------------------------------------
//
// A program that connects a non-blocking socket (curl, Python's
// create_connection with a timeout, every event loop) gets EINPROGRESS from
// connect, waits until the socket is writable with poll or epoll, and learns
// the outcome from getsockopt(fd, SOL_SOCKET, SO_ERROR): that call succeeds,
// and the errno (ECONNREFUSED from a server that does not listen yet) is its
// value. No call fails, so the retry loop above sees nothing.
//
// The library closes that gap for the policy's connect rules. When connect
// answers EINPROGRESS (already the failure path) for an AF_INET or AF_INET6
// address and the policy retries connect with some errno, it remembers the
// fd, the socket's identity (st_dev and st_ino from fstat(2): a closed fd
// whose number came back for another socket, or a dup2 over it, does not
// match) and the address, in a fixed table of kAsyncSlots slots claimed with
// compare-and-swap. The getsockopt wrapper looks further only after a
// successful SO_ERROR read while the table holds something. When the value
// is an errno E and the entry matches, E is the outcome of the connect call,
// and retry_async_connect() runs the retry loop for it as drive_loop() would
// (the same decision, guards, budget, deadline, observe mode and statistics,
// counted under connect and E): it waits the rule's next delay, brings the
// socket back to unconnected with an AF_UNSPEC connect (a TCP socket whose
// connect failed stays "connecting" on Linux, so connecting it again answers
// ECONNABORTED first; an AF_UNSPEC connect disconnects it and answers 0, also
// while an attempt is in progress), connects it again to the remembered
// address, waits for that attempt with ppoll (POLLOUT, with the program's
// signal mask; bounded by the time left until the rule's deadline, else by
// kAttemptWaitNs: an attempt that has not ended by then is aborted with
// AF_UNSPEC and counts as ETIMEDOUT), reads SO_ERROR and decides again. The
// program's value is the final outcome: 0 and a connected socket, or the
// last errno. A signal that runs a handler during a wait or an attempt ends
// the call with the last errno, the attempt aborted.
//
// A program that learns the outcome by calling connect again on the same fd
// (Perl's and Ruby's socket libraries) gets E from that connect; the same
// loop runs for it, so that connect answers 0 or the last errno, never an
// EINPROGRESS the program does not expect.
//
// Fail closed: no slot free, an fstat that fails, an identity that does not
// match, a connection whose handshake had completed (an established
// connection reset later reads ECONNRESET too; never_established()), a
// program with a seccomp filter of its own: no retry, the program sees what
// the kernel said. An entry is
// forgotten when SO_ERROR is read (whatever its value), when its fd number
// is remembered again, or when a full table finds its socket gone. Not
// covered: a program that never reads SO_ERROR and learns of the failure
// from its first send or recv; connects made inside libc or by a raw
// syscall instruction (the ptrace engine does not do this yet).

constexpr int kAsyncSlots = 64;
constexpr int64_t kAttemptWaitNs = FTSC_CONNECT_ATTEMPT_WAIT_NS;
enum SlotState : int { kSlotFree, kSlotBusy, kSlotReady };

struct AsyncConnect {
  int state;  // SlotState, with __atomic builtins
  int fd;
  // 0 while the connect is in flight. Else the library has read the
  // connect's outcome from SO_ERROR itself (poll reported POLLERR) and this
  // is the errno the program has yet to learn: its SO_ERROR read, its
  // connect again, its poll and its first send or recv on the fd tell it.
  int pending;
  uint64_t dev;
  uint64_t ino;
  uint32_t len;
  struct sockaddr_storage addr;
};

AsyncConnect g_async_table[kAsyncSlots];

bool socket_identity(int fd, uint64_t* dev, uint64_t* ino) {
  struct stat st {};
  if (is_error(raw_syscall(SYS_fstat, fd, as_arg(&st))) || !S_ISSOCK(st.st_mode))
    return false;
  *dev = st.st_dev;
  *ino = st.st_ino;
  return true;
}

bool same_socket(const AsyncConnect& c) {
  uint64_t dev = 0, ino = 0;
  return socket_identity(c.fd, &dev, &ino) && dev == c.dev && ino == c.ino;
}

// Whether fd's connection never completed its handshake: the peer never
// acknowledged its SYN (tcp_info's tcpi_bytes_acked counts the SYN once it
// is: 1 on an established connection, 0 after a refused or timed-out
// connect, as read on this kernel). A connection that was established and
// then reset also reads ECONNRESET from SO_ERROR; reconnecting it would
// change the program's protocol, so only a handshake that never completed is
// retried. Unknown (not TCP, an older kernel): false, no retry.
bool never_established(int fd) {
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (is_error(raw_syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, as_arg(&info), as_arg(&len))))
    return false;
  if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked)
    return false;
  return info.tcpi_bytes_acked == 0;
}

// The remembered connect c may be retried: the library may make its own calls
// (the program has no seccomp filter of its own), the fd is still the socket
// that was connected, and its handshake never completed.
bool may_retry_connect(const AsyncConnect& c) {
  return !sandboxed() && same_socket(c) && never_established(c.fd);
}

bool claim(AsyncConnect& s, int from) {
  return __atomic_compare_exchange_n(&s.state, &from, kSlotBusy, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

void release_slot(AsyncConnect& s) {
  __atomic_store_n(&s.state, kSlotFree, __ATOMIC_RELEASE);
  __atomic_fetch_sub(&g_async_connects, 1, __ATOMIC_RELAXED);
}

// A slot to remember fd in, claimed (kSlotBusy): fd's own entry, a free one,
// or one whose socket is gone. Null when the table is full.
AsyncConnect* slot_for(int fd) {
  for (AsyncConnect& s : g_async_table)
    if (__atomic_load_n(&s.state, __ATOMIC_ACQUIRE) == kSlotReady && s.fd == fd &&
        claim(s, kSlotReady))
      return &s;
  for (AsyncConnect& s : g_async_table)
    if (claim(s, kSlotFree)) {
      __atomic_fetch_add(&g_async_connects, 1, __ATOMIC_RELAXED);
      return &s;
    }
  for (AsyncConnect& s : g_async_table)
    if (claim(s, kSlotReady)) {
      if (!same_socket(s))
        return &s;
      __atomic_store_n(&s.state, kSlotReady, __ATOMIC_RELEASE);
    }
  return nullptr;
}

// Puts c (taken out of the table) back in, if a slot is free. False when
// the table is full.
bool keep(const AsyncConnect& c) {
  AsyncConnect* s = slot_for(c.fd);
  if (s == nullptr)
    return false;
  s->fd = c.fd;
  s->pending = c.pending;
  s->dev = c.dev;
  s->ino = c.ino;
  s->len = c.len;
  memcpy(&s->addr, &c.addr, c.len);
  __atomic_store_n(&s->state, kSlotReady, __ATOMIC_RELEASE);
  return true;
}

// connect(fd, addr, len) answered EINPROGRESS: remember it if a later
// SO_ERROR may be retried.
void remember_connect(const long* a) {
  const int fd = static_cast<int>(a[0]);
  const auto* addr = reinterpret_cast<const void*>(a[1]);
  const auto len = static_cast<uint32_t>(a[2]);
  if (!g_async_retries || addr == nullptr || len < sizeof(sa_family_t) ||
      len > sizeof(sockaddr_storage))
    return;
  sa_family_t family = AF_UNSPEC;
  memcpy(&family, addr, sizeof family);
  uint64_t dev = 0, ino = 0;
  if ((family != AF_INET && family != AF_INET6) || sandboxed() || !socket_identity(fd, &dev, &ino))
    return;
  AsyncConnect* s = slot_for(fd);
  if (s == nullptr)
    return;  // a full table: this connect is not retried
  s->fd = fd;
  s->pending = 0;
  s->dev = dev;
  s->ino = ino;
  s->len = len;
  memcpy(&s->addr, addr, len);
  __atomic_store_n(&s->state, kSlotReady, __ATOMIC_RELEASE);
}

// Is a connect of fd remembered?
bool remembers_connect(int fd) {
  if (__atomic_load_n(&g_async_connects, __ATOMIC_RELAXED) == 0)
    return false;
  for (const AsyncConnect& s : g_async_table)
    if (__atomic_load_n(&s.state, __ATOMIC_ACQUIRE) == kSlotReady && s.fd == fd)
      return true;
  return false;
}

// Takes fd's entry out of the table into *out. False when there is none.
bool take_connect(int fd, AsyncConnect* out) {
  if (__atomic_load_n(&g_async_connects, __ATOMIC_RELAXED) == 0)
    return false;
  for (AsyncConnect& s : g_async_table)
    if (__atomic_load_n(&s.state, __ATOMIC_ACQUIRE) == kSlotReady && s.fd == fd &&
        claim(s, kSlotReady)) {
      if (s.fd != fd) {  // remembered anew between the look and the claim
        __atomic_store_n(&s.state, kSlotReady, __ATOMIC_RELEASE);
        continue;
      }
      memcpy(out, &s, sizeof s);
      release_slot(s);
      return true;
    }
  return false;
}

// Aborts a connection attempt: the socket is unconnected again.
long disconnect(int fd) {
  struct sockaddr unspec {};
  unspec.sa_family = AF_UNSPEC;
  return raw_syscall(SYS_connect, fd, as_arg(&unspec), sizeof unspec);
}

// One more attempt of the remembered connect: disconnect, connect, wait up to
// limit_ns for the outcome, read it. The raw result (0 or -errno);
// *signalled when a signal handler ended the wait (the attempt aborted).
long reconnect(const AsyncConnect& c, int64_t limit_ns, const uint64_t* program_mask,
               bool* signalled) {
  long r = disconnect(c.fd);
  if (is_error(r))
    return r;
  r = raw_syscall(SYS_connect, c.fd, as_arg(&c.addr), c.len);
  if (r != -EINPROGRESS)
    return r;  // done at once: connected, or refused
  struct pollfd p {};
  p.fd = c.fd;
  p.events = POLLOUT;
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(limit_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(limit_ns % 1'000'000'000);
  r = raw_syscall(SYS_ppoll, as_arg(&p), 1, as_arg(&ts), as_arg(program_mask), sizeof(uint64_t));
  if (r == -EINTR)
    *signalled = true;
  if (r <= 0) {
    disconnect(c.fd);
    return r == 0 ? -ETIMEDOUT : r;
  }
  int err = 0;
  socklen_t len = sizeof err;
  r = raw_syscall(SYS_getsockopt, c.fd, SOL_SOCKET, SO_ERROR, as_arg(&err), as_arg(&len));
  if (is_error(r))
    return r;
  return err == 0 ? 0 : -static_cast<long>(err);
}

// How long the next attempt may take: until the deadline of the rule for
// the last errno, else kAttemptWaitNs.
int64_t attempt_limit(const decide::CallState& call) {
  const uint8_t cell = ftsc_policy_cell(g_policy, SYS_connect, call.last_errno);
  const unsigned schedule = FTSC_CELL_SCHEDULE(cell);
  if (schedule >= g_policy->n_schedules || g_policy->schedules[schedule].deadline_ns == 0)
    return kAttemptWaitNs;
  const int64_t left = static_cast<int64_t>(g_policy->schedules[schedule].deadline_ns) -
                       (now_ns() - call.first_failure_ns);
  return left > 1'000'000 ? left : 1'000'000;
}

// The remembered connect c ended with errno err: retries it as the policy
// says. The final raw result, 0 or -errno.
long retry_async_connect(const AsyncConnect& c, int err) {
  const ftsc_policy& policy = *g_policy;
  decide::RetryUnit unit(policy, g_stats);
  decide::CallState call;
  unit.begin_call(call, SYS_connect, process_budget(),
                  static_cast<uint64_t>(now_ns()) ^ reinterpret_cast<uintptr_t>(&call));
  unit.mark_async(call);  // counted as "connect (async)"
  decide::SyscallArgs args;
  args.nr = SYS_connect;
  args.args[0] = static_cast<uint64_t>(c.fd);
  args.args[1] = reinterpret_cast<uintptr_t>(&c.addr);
  args.args[2] = c.len;
  SignalGate gate;
  InProcessProbe asked;
  UnaskedProbe unasked;
  long result = -static_cast<long>(err);
  for (;;) {
    const bool may_retry = is_error(result) && FTSC_CELL_DECISION(ftsc_policy_cell(
                                                   &policy, SYS_connect, -result)) == FTSC_RETRY;
    const bool confined = may_retry && sandboxed();
    if (may_retry && !confined && !unit.observing())
      gate.block();
    decide::GuardProbe& probe = confined ? static_cast<decide::GuardProbe&>(unasked) : asked;
    decide::Decision d = unit.on_result(call, args, result, probe, now_ns());
    log_attempt(args, result, 0, call, d);
    if (d.action == decide::Action::kReturn)
      return result;
    if (confined) {
      decide::Decision end = unit.on_cannot_wait(call, 0);
      log_attempt(args, result, 0, call, end);
      return result;
    }
    if (!gate.blocked())
      gate.block();
    if (d.delay_ns > 0) {
      int64_t waited = 0;
      const Wait wait = sleep_unless_signalled(d.delay_ns, gate.program_mask(), false, &waited);
      if (wait != Wait::kSlept) {
        decide::Decision end = wait == Wait::kSignalled ? unit.on_interrupted(call, waited)
                                                        : unit.on_cannot_wait(call, waited);
        log_attempt(args, result, 0, call, end);
        return result;
      }
      unit.on_waited(call, waited);
    }
    if (!same_socket(c)) {
      // The program closed the socket while the library waited (another
      // thread did): nothing is connected on its behalf any more.
      decide::Decision end = unit.on_cannot_wait(call, 0);
      log_attempt(args, result, 0, call, end);
      return result;
    }
    bool signalled = false;
    const long next = reconnect(c, attempt_limit(call), gate.program_mask(), &signalled);
    if (signalled) {
      decide::Decision end = unit.on_interrupted(call, 0);
      log_attempt(args, result, 0, call, end);
      return result;
    }
    result = next;
    gate.release();
  }
}

// A connect of fd failed with result: is it the outcome of a remembered
// non-blocking connect of fd (the program asks by connecting again)? Then
// the entry is taken, and *out is what the connect answers: the outcome
// after the retries, or the errno the library read for the program (the
// kernel answers ECONNABORTED to a connect after a failed one's SO_ERROR was
// read). EINPROGRESS and EALREADY are not an outcome.
bool connect_outcome(int fd, long result, long* out) {
  AsyncConnect c;
  if (result == -EINPROGRESS || result == -EALREADY || !take_connect(fd, &c))
    return false;
  if (c.pending != 0) {
    if (!same_socket(c))
      return false;
    *out = -static_cast<long>(c.pending);
    return true;
  }
  if (result == -EISCONN || !may_retry_connect(c))
    return false;
  *out = retry_async_connect(c, static_cast<int>(-result));
  return true;
}

// A call on fd failed with result: if the library read a failed connect's
// errno from SO_ERROR on the program's behalf, the program's first send,
// recv, read or write learns it (the kernel, its error read, answers EPIPE or
// ENOTCONN), as it would have without the library.
bool pending_connect_error(long nr, int fd, long result, long* out) {
  if (__atomic_load_n(&g_async_connects, __ATOMIC_RELAXED) == 0 ||
      (result != -EPIPE && result != -ENOTCONN))
    return false;
  switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
    case SYS_sendto:
    case SYS_recvfrom:
    case SYS_sendmsg:
    case SYS_recvmsg:
      break;
    default:
      return false;
  }
  AsyncConnect c;
  if (!take_connect(fd, &c))
    return false;
  if (c.pending == 0 || !same_socket(c)) {
    keep(c);
    return false;
  }
  *out = -static_cast<long>(c.pending);
  return true;
}

long full(long nr, const long* a, bool cancellation_point);

// The first calls. Their wrappers see bootstrap_entry as the entry they used,
// so on_failure() does not retry them again: a call made here is complete.
long bootstrap(long nr, const long* a, bool cancellation_point) {
  initialise();
  EntryFn e = entry();
  if (e == &bootstrap_entry)  // another thread is initialising: run the call untouched
    return attempt_at(&ftsc_preload_raw_syscall, cancellation_point, nr, a);
  if (e == g_fast && handles(nr))
    return drive(make_args(nr, a), false, false, 0, cancellation_point,
                 [&] { return attempt(cancellation_point, nr, a); });
  if (e == &full_entry)
    return full(nr, a, cancellation_point);
  return attempt_at(e, cancellation_point, nr, a);
}

long bootstrap_entry(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  const long a[6] = {a0, a1, a2, a3, a4, a5};
  return bootstrap(nr, a, false);
}

// The entry when the policy injects: every attempt of a watched syscall is
// counted and may be failed without running, so the whole call goes through
// drive(). Its final result is complete; on_failure() only sets errno.
// A call the library does not handle runs from the library's own syscall
// instruction, where the supervisor of `auto` traces it.
long full(long nr, const long* a, bool cancellation_point) {
  if (!handles(nr))
    return attempt_at(&ftsc_preload_raw_syscall, cancellation_point, nr, a);
  bool have_first = false;
  long first = 0;
  if (nr == SYS_connect && remembers_connect(static_cast<int>(a[0]))) {
    // Maybe a second connect of a remembered fd, whose failure is the first
    // one's outcome: this attempt is made before drive(), uninjected.
    first = attempt(cancellation_point, nr, a);
    long outcome = 0;
    if (is_error(first) && connect_outcome(static_cast<int>(a[0]), first, &outcome))
      return outcome;
    have_first = true;
  }
  const long r = drive(make_args(nr, a), true, have_first, first, cancellation_point,
                       [&] { return attempt(cancellation_point, nr, a); });
  if (nr == SYS_connect && r == -EINPROGRESS)
    remember_connect(a);
  return r;
}

long full_entry(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  const long a[6] = {a0, a1, a2, a3, a4, a5};
  return full(nr, a, false);
}

// The syscall whose ENOMEM rule governs the allocator: mmap, else brk (glibc's
// malloc uses both, out of the wrappers' reach); -1 when neither is watched.
long allocation_syscall(const ftsc_policy& p) {
  auto retries = [&](long nr) {
    return FTSC_CELL_DECISION(ftsc_policy_cell(&p, nr, ENOMEM)) == FTSC_RETRY;
  };
  if (retries(SYS_mmap))
    return SYS_mmap;
  if (retries(SYS_brk))
    return SYS_brk;
  if (p.syscalls[SYS_mmap].flags & FTSC_SC_IN_POLICY)
    return SYS_mmap;  // counted as it would be under the ptrace engine
  if (p.syscalls[SYS_brk].flags & FTSC_SC_IN_POLICY)
    return SYS_brk;
  return -1;
}

void reset_after_fork() {
  g_budget.reset();
  g_counters.reset();
  if (sandboxed())
    return;  // no calls of the library's own under the program's filter
  if (g_shared_budget != nullptr) {
    // The inherited mapping holds the parent's word: map the child's own.
    const auto word = reinterpret_cast<uintptr_t>(g_shared_budget);
    raw_syscall(SYS_munmap, static_cast<long>(word & ~uintptr_t{4095}), 4096);
    g_shared_budget = nullptr;
    Line why = message();
    why.text("retry budget ").text(g_budgets_path).text(": ");
    if (!map_shared_budget(why))
      why.text("; this process's budget is not shared with the supervisor").say();
  }
  if (g_registry != nullptr) {
    Line why = message();
    why.text("process registry ").text(g_registry_path).text(": ");
    if (!join_registry(why))
      say_not_registered(why);
  }
}

__attribute__((constructor)) void preload_constructor() {
  initialise();
  resolve_allocator();
  pthread_atfork(nullptr, nullptr, &reset_after_fork);
  patch_syscall_sites();
}

}  // namespace

EntryFn g_entry = &bootstrap_entry;
int g_async_connects = 0;

void on_program_filter() {
  step_aside();
}

long call_cancellation_point(EntryFn used, long nr, const long* args) {
  if (used == &bootstrap_entry)
    return bootstrap(nr, args, true);
  if (used == &full_entry)
    return full(nr, args, true);
  return cancellable_attempt(used, nr, args);  // a syscall site
}

namespace {

// The raw final result of a call whose first attempt, made through `used`,
// failed with result (on_failure() without errno).
long retry_failed(long nr, long result, const long* args, EntryFn used, bool cancellation_point) {
  // Only a first attempt made by the fast entry is this function's to retry:
  // bootstrap_entry() and full_entry() return complete calls, and a call made
  // before the library was ready is the supervisor's under `auto`.
  long outcome = 0;
  if (used == g_fast && g_mode.load(std::memory_order_acquire) == kFast &&
      pending_connect_error(nr, static_cast<int>(args[0]), result, &outcome)) {
    result = outcome;
  } else if (used == g_fast && g_mode.load(std::memory_order_acquire) == kFast && handles(nr)) {
    if (nr == SYS_connect && connect_outcome(static_cast<int>(args[0]), result, &outcome))
      result = outcome;
    else
      result = drive(make_args(nr, args), false, true, result, cancellation_point,
                     [&] { return attempt(cancellation_point, nr, args); });
    if (nr == SYS_connect && result == -EINPROGRESS)
      remember_connect(args);
  }
  return result;
}

}  // namespace

long on_failure(long nr, long result, const long* args, EntryFn used, bool cancellation_point) {
  result = retry_failed(nr, result, args, used, cancellation_point);
  if (is_error(result)) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

int on_socket_error(int fd, void* value, const unsigned int* len) {
  AsyncConnect c;
  if (g_mode.load(std::memory_order_acquire) < kFast || !handles(SYS_connect) ||
      !take_connect(fd, &c))
    return 0;
  int err = 0;
  if (len == nullptr || *len < sizeof err)
    return 0;
  memcpy(&err, value, sizeof err);
  if (c.pending != 0) {
    // The library read this connect's outcome for the program (poll).
    if (err == 0 && same_socket(c))
      memcpy(value, &c.pending, sizeof c.pending);
    return 0;
  }
  if (err <= 0 || err >= decide::kFirstKernelInternalErrno || !may_retry_connect(c))
    return 0;
  const long result = retry_async_connect(c, err);
  err = is_error(result) ? static_cast<int>(-result) : 0;
  memcpy(value, &err, sizeof err);
  return 0;
}

int on_poll_result(struct pollfd* fds, unsigned long n, int ready) {
  if (g_mode.load(std::memory_order_acquire) < kFast || !handles(SYS_connect) || sandboxed())
    return ready;
  bool changed = false;
  for (unsigned long i = 0; i < n; ++i) {
    struct pollfd& p = fds[i];
    if ((p.events & POLLOUT) == 0 || (p.revents & (POLLERR | POLLHUP)) == 0 ||
        !remembers_connect(p.fd))
      continue;
    AsyncConnect c;
    if (!take_connect(p.fd, &c))
      continue;
    if (c.pending != 0) {  // read before: the program has yet to learn it
      if (same_socket(c)) {
        p.revents |= POLLERR;
        keep(c);
      }
      continue;
    }
    if (!same_socket(c))
      continue;  // another socket now: the entry is stale
    int err = 0;
    socklen_t len = sizeof err;
    if (is_error(
            raw_syscall(SYS_getsockopt, p.fd, SOL_SOCKET, SO_ERROR, as_arg(&err), as_arg(&len))) ||
        err == 0) {
      keep(c);  // nothing read: the outcome stays the program's to read
      continue;
    }
    if (err < 0 || err >= decide::kFirstKernelInternalErrno) {
      c.pending = err > 0 ? err : EIO;
      keep(c);
      continue;
    }
    const long result = may_retry_connect(c) ? retry_async_connect(c, err) : -err;
    if (is_error(result) && same_socket(c)) {
      c.pending = static_cast<int>(-result);
      keep(c);  // in the slot just freed, unless other threads filled the table
    }
    struct pollfd now {};
    now.fd = p.fd;
    now.events = p.events;
    struct timespec zero {};
    if (is_error(raw_syscall(SYS_ppoll, as_arg(&now), 1, as_arg(&zero), 0, 0)))
      now.revents = POLLERR;
    p.revents = static_cast<short>(now.revents | (is_error(result) ? POLLERR : 0));
    changed = true;
  }
  if (!changed)
    return ready;
  int count = 0;
  for (unsigned long i = 0; i < n; ++i)
    count += fds[i].revents != 0;
  return count;
}

int retry_allocation(size_t size, AllocationAttempt attempt, void* context) {
  // Under `auto` the supervisor has already retried the allocator's own
  // mmap, and so has a patched site of libc (patcher.h).
  if (!initialise() || g_auto || sandboxed() || allocator_calls_patched())
    return ENOMEM;
  const long nr = allocation_syscall(*g_policy);
  if (nr < 0)
    return ENOMEM;
  decide::SyscallArgs args;
  args.nr = nr;
  if (nr == SYS_mmap) {
    const uint64_t mmap_args[6] = {
        0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~uint64_t{0}, 0};
    for (int i = 0; i < 6; ++i)
      args.args[i] = mmap_args[i];
  }
  long result = drive(args, false, true, -ENOMEM, false, [&] {
    int err = attempt(context);
    return err == 0 ? 0L : -static_cast<long>(err);
  });
  return is_error(result) ? static_cast<int>(-result) : 0;
}

bool library_active() {
  // The flag only: sandboxed() would spend the calling thread's next look at
  // its filters (at most one per kFilterLookNs), which the first failure needs.
  return initialise() && !g_sandboxed.load(std::memory_order_acquire);
}

bool handles_syscall(long nr) {
  return initialise() && handles(nr);
}

bool verbose() {
  return g_log_path[0] != '\0';
}

void* next_symbol(const char* name) {
  void* sym = dlsym(RTLD_NEXT, name);
  if (sym == nullptr) {
    message().text("libc has no ").text(name).text(" to hand the call to").say();
    raw_syscall(SYS_kill, raw_syscall(SYS_getpid), SIGABRT);
    raw_syscall(SYS_exit_group, 127);
  }
  return sym;
}

}  // namespace ftsc::preload

// A patched site of libc or of a dlopen'ed library (patcher.cc): the call
// is handled as a wrapper handles it, and its raw result goes back to the
// site, which sets errno itself. libc has already made it a cancellation
// point when it is one (glibc 2.36 switches to asynchronous cancellation
// around the syscall of a multi-threaded process). A syscall the library does
// not handle runs from its own syscall instruction, where `auto`'s filter
// traces it as it traced libc's.
extern "C" long ftsc_preload_patched_dispatch(const long* frame) {
  using namespace ftsc::preload;
  const long nr = frame[0];
  const long* a = frame + 1;
  if (!handles(nr))
    return ftsc_preload_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  const bool cancellation_point = is_cancellation_point(nr) && !__libc_single_threaded;
  const EntryFn e = entry();
  long r;
  if (!cancellation_point || e == &ftsc_preload_raw_syscall)
    r = e(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  else
    r = call_cancellation_point(e, nr, a);
  if (__builtin_expect(is_error(r), 0))
    r = retry_failed(nr, r, a, e, cancellation_point);
  return r;
}

extern "C" __attribute__((visibility("default"))) int ftsc_preload_active(void) {
  return ftsc::preload::initialise() ? 1 : 0;
}
