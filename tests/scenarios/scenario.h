// SPDX-License-Identifier: Apache-2.0
/* Helpers shared by the scenario programs (tests/scenarios/README.md).
 *
 * A scenario program makes one real fault happen and says how its operation
 * ended, by its exit status:
 *   0   the operation finally succeeded (or, for a guard scenario, the guard held)
 *   1   it did not; one line on stderr says why (SC_FAILED)
 *   2   the scenario could not be set up, so it proves nothing (SC_SETUP)
 *   77  it cannot run here; one line on stderr says why (ctest's SKIP_RETURN_CODE)
 *
 * The other side of a fault (the process that creates the late file, starts
 * the late server, frees the disk space) is a helper child. Helpers die with
 * the scenario (PR_SET_PDEATHSIG), and the scenario kills and reaps them before
 * it exits, so no process outlives a test.
 *
 * A helper does its part a fixed time *after* the scenario says it is about to
 * make its call (a byte on a gate pipe, written just before the call), never a
 * fixed time after the helper started: natively the call then always comes
 * first, however late the scheduler runs either process.
 *
 * Plain C, header only: the statically linked scenario uses it too. */
#ifndef FTSC_TESTS_SCENARIOS_SCENARIO_H
#define FTSC_TESTS_SCENARIOS_SCENARIO_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SC_OK 0
#define SC_FAILED 1
#define SC_SETUP 2
#define SC_SKIP 77

/* How long after the scenario's call the helper makes the fault go away. The
 * scenario policies retry for at least a second, so this leaves ample margin. */
#define SC_LATE_MS 150

/* The program's name in messages: "late_file: ...". */
static const char* sc_name = "scenario";

static inline void sc_vmessage(const char* prefix, const char* fmt, va_list ap) {
  char line[512];
  int n = snprintf(line, sizeof line, "%s: %s", sc_name, prefix);
  if (n < 0 || (size_t)n >= sizeof line)
    n = 0;
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  /* One write(2) per line: no stdio buffer and no allocation, so that a thread
   * or a process under a tight RLIMIT_AS can report, and lines never interleave. */
  size_t len = strlen(line);
  if (len + 1 < sizeof line) {
    line[len++] = '\n';
    line[len] = '\0';
  }
  ssize_t ignored = write(STDERR_FILENO, line, len);
  (void)ignored;
}

/* The operation failed (or a guard did not hold): exit 1 with the reason. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void sc_fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sc_vmessage("", fmt, ap);
  va_end(ap);
  exit(SC_FAILED);
}

/* The scenario could not be set up: exit 2, which no expectation accepts. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void sc_setup_error(const char* fmt,
                                                                                  ...) {
  va_list ap;
  va_start(ap, fmt);
  sc_vmessage("cannot set up the scenario: ", fmt, ap);
  va_end(ap);
  exit(SC_SETUP);
}

/* The scenario cannot run here: exit 77 with the reason. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void sc_skip(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sc_vmessage("skipped: ", fmt, ap);
  va_end(ap);
  exit(SC_SKIP);
}

/* "ENOENT" for ENOENT; "errno 4095" for what glibc cannot name. */
static inline const char* sc_errno_name(int err) {
  static __thread char unknown[32];
  const char* name = strerrorname_np(err);
  if (name)
    return name;
  snprintf(unknown, sizeof unknown, "errno %d", err);
  return unknown;
}

static inline int64_t sc_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t sc_ms_since(int64_t start_ns) {
  return (sc_now_ns() - start_ns) / 1000000;
}

/* Sleeps the whole time, whatever signals arrive. */
static inline void sc_sleep_ms(int64_t ms) {
  struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

/* A gate: the scenario opens it before it starts a helper, passes it (write
 * end) just before its call, and the helper waits at it (read end). */
struct sc_gate {
  int read_fd;
  int write_fd;
};

static inline struct sc_gate sc_gate_open(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    sc_setup_error("pipe2: %s", strerror(errno));
  struct sc_gate g = {fds[0], fds[1]};
  return g;
}

/* Says "my call comes now". Async-signal-safe, thread-safe. */
static inline void sc_gate_pass(const struct sc_gate* g) {
  char token = 'g';
  while (write(g->write_fd, &token, 1) != 1) {
    if (errno != EINTR)
      sc_setup_error("writing to the gate pipe: %s", strerror(errno));
  }
}

/* In the helper: waits until `count` calls were announced. Returns 0, or -1
 * when the scenario closed the gate without passing it (it failed early). */
static inline int sc_gate_wait(const struct sc_gate* g, int count) {
  for (int seen = 0; seen < count;) {
    char token;
    ssize_t n = read(g->read_fd, &token, 1);
    if (n == 1)
      seen++;
    else if (n == 0 || errno != EINTR)
      return -1;
  }
  return 0;
}

/* Forks a helper that runs fn(arg) and exits with its result. The helper gets
 * SIGKILL when the scenario's thread that forked it ends (all scenarios fork
 * from their main thread), so it never outlives the scenario. */
static inline pid_t sc_spawn_helper(int (*fn)(void*), void* arg) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0)
    sc_setup_error("fork: %s", strerror(errno));
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
      _exit(SC_SETUP); /* the scenario is already gone */
    _exit(fn(arg));
  }
  return pid;
}

/* Waits for a child and returns its wait status. */
static inline int sc_reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      sc_setup_error("waitpid(%d): %s", (int)pid, strerror(errno));
  }
  return status;
}

/* Ends a helper whose work is done or no longer wanted, and reaps it. */
static inline void sc_kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  (void)sc_reap(pid);
}

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it. */
static inline void sc_make_temp_dir(char* out, size_t size) {
  const char* base = getenv("TMPDIR");
  if (!base || !*base)
    base = "/tmp";
  int n = snprintf(out, size, "%s/ftsc-%s-XXXXXX", base, sc_name);
  if (n < 0 || (size_t)n >= size)
    sc_setup_error("temporary directory name too long under %s", base);
  if (!mkdtemp(out))
    sc_setup_error("mkdtemp %s: %s", out, strerror(errno));
}

/* Creates `path` with `content` so that it appears at once, complete: written
 * under another name first, then renamed. Returns 0 or an errno. */
static inline int sc_create_file_atomically(const char* path, const char* content) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return ENAMETOOLONG;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  size_t len = strlen(content);
  if (write(fd, content, len) != (ssize_t)len) {
    int err = errno ? errno : EIO;
    close(fd);
    return err;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0)
    return errno;
  return 0;
}

/* Reads a whole small file into buf (NUL-terminated). Returns 0 or an errno. */
static inline int sc_read_fd(int fd, char* buf, size_t size) {
  size_t used = 0;
  while (used + 1 < size) {
    ssize_t n = read(fd, buf + used, size - 1 - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    if (n == 0)
      break;
    used += (size_t)n;
  }
  buf[used] = '\0';
  return 0;
}

/* The helper of the late-file scenarios: waits until `calls` calls were
 * announced at the gate, then SC_LATE_MS later creates every path (each with
 * its own path as content, so that the opener can check what it read). */
struct sc_late_files {
  const struct sc_gate* gate;
  int calls;
  int n_paths;
  const char* paths[4];
};

static inline int sc_late_files_helper(void* arg) {
  const struct sc_late_files* late = (const struct sc_late_files*)arg;
  if (sc_gate_wait(late->gate, late->calls) != 0)
    return SC_SETUP;
  sc_sleep_ms(SC_LATE_MS);
  for (int i = 0; i < late->n_paths; i++) {
    int err = sc_create_file_atomically(late->paths[i], late->paths[i]);
    if (err != 0) {
      char line[512];
      int n = snprintf(line, sizeof line, "%s: helper: cannot create %s: %s\n", sc_name,
                       late->paths[i], strerror(err));
      ssize_t ignored = write(STDERR_FILENO, line, n > 0 ? (size_t)n : 0);
      (void)ignored;
      return SC_SETUP;
    }
  }
  return 0;
}

/* Removes what the late-file helper may have left (the file, or its temporary). */
static inline void sc_remove_late_file(const char* path) {
  char tmp[4096];
  unlink(path);
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) < sizeof tmp)
    unlink(tmp);
}

static inline int sc_write_text(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  const size_t len = strlen(text);
  const int ok = write(fd, text, len) == (ssize_t)len;
  close(fd);
  return ok ? 0 : -1;
}

/* Enters a mount namespace of its own, with / made private so that no mount
 * propagates back: what the scenario mounts then vanishes with it and its
 * helpers (fork them afterwards). Without CAP_SYS_ADMIN it tries a user
 * namespace too (the user becomes root inside, which may mount a tmpfs).
 * Returns 0, or -1 with the reason in `why`. Single-threaded callers only. */
static inline int sc_enter_private_mounts(char* why, size_t size) {
  if (unshare(CLONE_NEWNS) != 0) {
    const int err = errno;
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    char map[64];
    int in_user_ns = err == EPERM && unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0;
    if (in_user_ns) {
      snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
      in_user_ns = sc_write_text("/proc/self/setgroups", "deny") == 0 &&
                   sc_write_text("/proc/self/uid_map", map) == 0;
      snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
      in_user_ns = in_user_ns && sc_write_text("/proc/self/gid_map", map) == 0;
    }
    if (!in_user_ns) {
      snprintf(why, size,
               "cannot enter a mount namespace of its own (unshare(CLONE_NEWNS): %s; needs "
               "CAP_SYS_ADMIN or unprivileged user namespaces)",
               strerror(err));
      return -1;
    }
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    snprintf(why, size, "cannot make / private in a new mount namespace: %s", strerror(errno));
    return -1;
  }
  return 0;
}

#endif /* FTSC_TESTS_SCENARIOS_SCENARIO_H */
