/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * What `ftsc run --engine preload` and the preload library agree on: the
 * library's file name and the environment variables that carry the engine
 * into every process of a run (inherited across fork and exec).
 *
 *   LD_PRELOAD            the library, prepended to any value the user had
 *   FTSC_PRELOAD_POLICY   a file holding a compiled policy (abi/compiled_policy.h),
 *                         mapped read-only; `ftsc run` passes a sealed memfd as
 *                         /proc/PID/fd/N, any `ftsc policy compile` output works too
 *   FTSC_PRELOAD_STATS    optional: a file holding a struct ftsc_stats (abi/stats.h)
 *                         that every process maps shared and counts into
 *   FTSC_PRELOAD_LOG      optional (`ftsc run -v`): a pipe (/proc/PID/fd/N) that
 *                         receives one struct ftsc_preload_log per attempt of a
 *                         call the library handles; ftsc prints them
 *   FTSC_PRELOAD_BUDGETS  with FTSC_PRELOAD_ENGINE=auto: a file of 64-bit words
 *                         (FTSC_BUDGET_WORDS of them), each the retry budget
 *                         state of one process, at the index
 *                         ftsc_budget_index() gives; the library maps the page
 *                         of its own word shared, the supervisor the whole
 *                         file, so that both layers charge one budget per process
 *   FTSC_PRELOAD_PIDNS    with FTSC_PRELOAD_BUDGETS: the inode of ftsc's pid
 *                         namespace (/proc/self/ns/pid), which ftsc_budget_index()
 *                         tells processes of other namespaces by
 *   FTSC_PRELOAD_PROCESSES  with the preload engine alone: a file where every
 *                         process that loads the library records itself
 *                         (struct ftsc_process_record), and whose first page
 *                         it keeps mapped shared for its whole life, so that
 *                         ftsc can wait for every process that may still count
 *                         without being their parent (launcher.cc)
 *   FTSC_PRELOAD_FILTERS  the number of seccomp filters the command starts
 *                         under (ftsc's own included under `auto`): a process
 *                         that runs under more has a filter of the program's,
 *                         which the library's own calls could meet
 *   FTSC_PRELOAD_ENGINE   "auto" when the ptrace supervisor (FTSC_SUPERVISOR_PID)
 *                         traces the run too (`ftsc run --engine auto`): the
 *                         library then makes its calls from the syscall page
 *                         below, which the supervisor's seccomp filter lets
 *                         through untraced, and leaves everything else to it
 *   FTSC_PRELOAD_ANALYSES optional: a file (a memfd, /proc/PID/fd/N) where the
 *                         first process of a run that analyses an object for
 *                         patching (patcher.cc) publishes the result, so that
 *                         the run's later processes patch without decoding
 *
 * Plain C, so that tools other than ftsc can set a run up.
 */
#ifndef FTSC_PRELOAD_PRELOAD_INTERFACE_H
#define FTSC_PRELOAD_PRELOAD_INTERFACE_H

#include <stdint.h>

#define FTSC_PRELOAD_LIBRARY_NAME "libftsc-preload.so"
#define FTSC_PRELOAD_POLICY_ENV "FTSC_PRELOAD_POLICY"
#define FTSC_PRELOAD_STATS_ENV "FTSC_PRELOAD_STATS"
#define FTSC_PRELOAD_LOG_ENV "FTSC_PRELOAD_LOG"

/* Exported by the library: 1 when it loaded a valid policy in this process
 * and handles calls, else 0. `ftsc run` looks it up (dlsym) to keep to one
 * layer when it runs inside a preload run. */
#define FTSC_PRELOAD_ACTIVE_SYMBOL "ftsc_preload_active"

#define FTSC_PRELOAD_BUDGETS_ENV "FTSC_PRELOAD_BUDGETS"
#define FTSC_PRELOAD_PIDNS_ENV "FTSC_PRELOAD_PIDNS"
/* PID_MAX_LIMIT on 64-bit Linux: no process id reaches it. */
#define FTSC_BUDGET_PIDS 4194304ul
/* The words of FTSC_PRELOAD_BUDGETS: one per process id of ftsc's pid
 * namespace, then as many for processes of other namespaces. */
#define FTSC_BUDGET_WORDS (2 * FTSC_BUDGET_PIDS)
/* ftsc_budget_index() of a process id out of range. */
#define FTSC_BUDGET_NONE (~(uint64_t)0)

/* The budget word of a process, computed alike by the library inside it
 * (getpid(), and the inode of /proc/self/ns/pid) and by the supervisor
 * outside (the inode of /proc/PID/ns/pid and the last field of NSpid in
 * /proc/PID/status), so that both charge one word whatever pid namespace the
 * process lives in. pidns: the inode of the process's pid namespace; run_pidns:
 * ftsc's (FTSC_PRELOAD_PIDNS); pid: the process id in its own namespace. In
 * ftsc's namespace that is the process id itself; elsewhere a word of the
 * second half chosen by the namespace and the id (two processes of other
 * namespaces may share one, which only makes their breaker trip sooner). */
static inline uint64_t ftsc_budget_index(uint64_t pidns, uint64_t run_pidns, uint64_t pid) {
  uint64_t h;

  if (pidns == run_pidns)
    return pid < FTSC_BUDGET_PIDS ? pid : FTSC_BUDGET_NONE;
  /* splitmix64's finaliser over both */
  h = pidns * 0x9e3779b97f4a7c15ull + pid;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return FTSC_BUDGET_PIDS + h % FTSC_BUDGET_PIDS;
}

/* The numbers of line `name` ("NSpid:", "Seccomp_filters:") of a
 * /proc/PID/status text: the last of them, or `otherwise` without the line. */
static inline uint64_t ftsc_status_field(const char* status, const char* name, uint64_t otherwise) {
  const char* c = status;
  uint64_t last = otherwise;
  int n = 0;

  while (name[n] != '\0')
    ++n;
  for (;;) {
    int i = 0;

    while (i < n && c[i] == name[i])
      ++i;
    if (i == n)
      break;
    while (*c != '\0' && *c != '\n')
      ++c;
    if (*c == '\0')
      return otherwise;
    ++c;
  }
  for (c += n; *c != '\0' && *c != '\n';) {
    uint64_t v = 0;
    int digits = 0;

    while (*c == ' ' || *c == '\t')
      ++c;
    while (*c >= '0' && *c <= '9') {
      v = v * 10 + (uint64_t)(*c++ - '0');
      ++digits;
    }
    if (digits == 0)
      break;
    last = v;
  }
  return last;
}

/* The process id in its own pid namespace: the last field of NSpid (Linux
 * 4.1), or `otherwise` without one. */
static inline uint64_t ftsc_status_nspid(const char* status, uint64_t otherwise) {
  return ftsc_status_field(status, "NSpid:", otherwise);
}

/* How many seccomp filters a thread runs under, from its status text:
 * Seccomp_filters (Linux 5.9), else 1 in filter mode (Seccomp: 2) and 0
 * otherwise; -1 without either line. */
static inline int ftsc_status_seccomp_filters(const char* status) {
  const uint64_t none = ~(uint64_t)0;
  uint64_t filters = ftsc_status_field(status, "Seccomp_filters:", none);

  if (filters != none)
    return (int)(filters < 0x7fffffff ? filters : 0x7fffffff);
  filters = ftsc_status_field(status, "Seccomp:", none);
  if (filters == none)
    return -1;
  return filters == 2 ? 1 : 0;
}
#define FTSC_PRELOAD_ENGINE_ENV "FTSC_PRELOAD_ENGINE"
#define FTSC_PRELOAD_ENGINE_AUTO "auto"

#define FTSC_PRELOAD_PROCESSES_ENV "FTSC_PRELOAD_PROCESSES"
#define FTSC_PRELOAD_FILTERS_ENV "FTSC_PRELOAD_FILTERS"

/* One process of a preload run (FTSC_PRELOAD_PROCESSES), written by the
 * process itself when its library starts and in each fork child. The file
 * is a first page whose first word counts the records claimed (an atomic
 * fetch-and-add; claims beyond FTSC_PROCESS_RECORDS are not written) and
 * whose second holds FTSC_REGISTRY_* flags, then the records. */
struct ftsc_process_record {
  uint64_t pidns;        /* the inode of its pid namespace (/proc/self/ns/pid), 0 if unknown */
  uint32_t pid;          /* its id in that namespace (getpid()) */
  uint32_t version;      /* FTSC_PROCESS_RECORD_VERSION, stored last (release) */
  int64_t registered_ns; /* CLOCK_BOOTTIME when it wrote the record: after it started */
  uint64_t reserved;
};
#define FTSC_PROCESS_RECORD_VERSION 1u
/* The registry's flags: a process of the run said that the program runs
 * under a seccomp filter of its own (said once per run). */
#define FTSC_REGISTRY_SANDBOX_SAID 1ull
#define FTSC_PROCESS_RECORDS 1048576ul
#define FTSC_PROCESS_REGISTRY_HEADER 4096ul
#define FTSC_PROCESS_REGISTRY_BYTES \
  (FTSC_PROCESS_REGISTRY_HEADER + FTSC_PROCESS_RECORDS * sizeof(struct ftsc_process_record))

#ifdef __cplusplus
static_assert(sizeof(struct ftsc_process_record) == 32, "ftsc_process_record layout changed");
#else
_Static_assert(sizeof(struct ftsc_process_record) == 32, "ftsc_process_record layout changed");
#endif

/* The syscall page of the `auto` engine (the technique of rr's syscall page):
 * one page at a fixed address, the same in every process and after every exec
 * whatever ASLR does, holding a copy of the library's syscall function. The
 * seccomp filter is installed before the command's first exec, long before
 * any library is loaded, so it can only know an address fixed in advance: it
 * allows every syscall whose instruction pointer (seccomp_data, the address
 * after the `syscall` instruction) is FTSC_SYSCALL_PAGE_ADDRESS +
 * FTSC_SYSCALL_PAGE_RETURN_OFFSET, and traces the policy's syscalls from
 * anywhere else. The address lies below the usual places of a 64-bit
 * process's mappings (the executable of a position-independent program near
 * 0x55..., libraries and the stack near 0x7f...); when something already
 * occupies it, the library stays inactive and the supervisor handles every
 * call. */
#define FTSC_SYSCALL_PAGE_ADDRESS 0x6ff00000ul
#define FTSC_SYSCALL_PAGE_SIZE 4096ul
/* Where the `syscall` instruction of ftsc_preload_raw_syscall starts
 * (checked when the library is assembled) and where it ends. */
#define FTSC_SYSCALL_PAGE_SYSCALL_OFFSET 27
#define FTSC_SYSCALL_PAGE_RETURN_OFFSET (FTSC_SYSCALL_PAGE_SYSCALL_OFFSET + 2)

/* The shared analyses (FTSC_PRELOAD_ANALYSES): a header page whose first
 * word counts the slots claimed (an atomic fetch-and-add; claims beyond
 * FTSC_ANALYSIS_SLOTS are not written) and whose second holds flags, then
 * the slots. A slot is one
 * object's analysis: a struct ftsc_patch_analysis, then n_records struct
 * ftsc_patch_site. Its writer stores `state` FTSC_ANALYSIS_READY last
 * (release); a reader copies the slot, checks the checksum over its copy
 * (FNV-1a 64 of the header with state and checksum zero, then the records),
 * the object's identity and every site's bytes, and otherwise analyses the
 * object itself. The file is sparse: only written pages take memory. */
#define FTSC_PRELOAD_ANALYSES_ENV "FTSC_PRELOAD_ANALYSES"
/* The header page's second word: flags. A process found a library loaded
 * later that nobody had analysed, without capstone to analyse it: the run's
 * next processes load capstone at start-up. */
#define FTSC_ANALYSES_LOAD_CAPSTONE 1ull
#define FTSC_ANALYSIS_VERSION 1u
#define FTSC_ANALYSIS_READY 0x52454459u /* "REDY" */
#define FTSC_ANALYSIS_SLOTS 256ul
#define FTSC_ANALYSIS_SLOT_BYTES (128ul * 1024)
#define FTSC_ANALYSES_HEADER 4096ul
#define FTSC_ANALYSES_BYTES (FTSC_ANALYSES_HEADER + FTSC_ANALYSIS_SLOTS * FTSC_ANALYSIS_SLOT_BYTES)
#define FTSC_ANALYSIS_VERDICTS 16

struct ftsc_patch_analysis {
  uint32_t state;   /* FTSC_ANALYSIS_READY once whole, stored last */
  uint32_t version; /* FTSC_ANALYSIS_VERSION */
  uint64_t checksum;
  /* The object's identity: its file (stat(2)) and its mapping. */
  uint64_t dev, ino, size;
  int64_t mtime_sec, mtime_nsec;
  uint64_t text_offset; /* the executable segment's start from the load base */
  uint64_t text_size;
  uint32_t build_id_size; /* its NT_GNU_BUILD_ID note, 0 if none */
  uint8_t build_id[32];
  uint32_t n_sites;                        /* bytes 0f 05 in the executable segment */
  uint32_t n_records;                      /* the patchable ones, recorded after this header */
  uint32_t flags;                          /* FTSC_ANALYSIS_MMAP_LEFT */
  uint32_t counts[FTSC_ANALYSIS_VERDICTS]; /* the other sites, by patcher.cc's verdict */
};
/* A site that loads mmap's number was left alone. */
#define FTSC_ANALYSIS_MMAP_LEFT 1u

/* One patchable site: its window [syscall_offset - window + 2,
 * syscall_offset + 2) from the executable segment's start, the instructions
 * it displaces (their lengths, and where a RIP-relative displacement sits in
 * each, 0 for none) and its bytes, which must be found there unchanged. */
struct ftsc_patch_site {
  uint32_t syscall_offset;
  uint8_t window;
  uint8_t n_displaced;
  int16_t nr; /* the number loaded right before, -1 if unknown */
  uint8_t length[3];
  uint8_t disp_offset[3];
  uint8_t original[24];
  uint8_t reserved[2];
};

#ifdef __cplusplus
static_assert(sizeof(struct ftsc_patch_analysis) == 184, "ftsc_patch_analysis layout changed");
static_assert(sizeof(struct ftsc_patch_site) == 40, "ftsc_patch_site layout changed");
#else
_Static_assert(sizeof(struct ftsc_patch_analysis) == 184, "ftsc_patch_analysis layout changed");
_Static_assert(sizeof(struct ftsc_patch_site) == 40, "ftsc_patch_site layout changed");
#endif

#define FTSC_PRELOAD_LOG_VERSION 2u

/* One attempt and the retry unit's decision on it, written to the log pipe
 * with one write(2): smaller than PIPE_BUF, so records never interleave. */
struct ftsc_preload_log {
  uint32_t version;    /* FTSC_PRELOAD_LOG_VERSION */
  int32_t tid;         /* the calling thread */
  int32_t nr;          /* syscall number */
  int32_t injected;    /* errno injected into this attempt, 0 for none */
  int64_t result;      /* the attempt's raw result (-errno on failure) */
  uint64_t args[2];    /* the first two arguments */
  uint8_t action;      /* decide::Action */
  uint8_t reason;      /* decide::Reason */
  uint16_t guard;      /* decide::Decision::guard */
  uint32_t retries;    /* retries decided so far */
  uint32_t n_delays;   /* the schedule's length */
  int32_t probe_error; /* decide::Decision::probe_error */
  int64_t delay_ns;    /* the wait before the next attempt */
};

#ifdef __cplusplus
static_assert(sizeof(struct ftsc_preload_log) == 64, "ftsc_preload_log layout changed");
#else
_Static_assert(sizeof(struct ftsc_preload_log) == 64, "ftsc_preload_log layout changed");
#endif

#endif /* FTSC_PRELOAD_PRELOAD_INTERFACE_H */
