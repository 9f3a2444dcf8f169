// SPDX-License-Identifier: Apache-2.0
/* What the preload library's patching of syscall sites must survive. The
 * first argument picks the case:
 *   fopen FILE             fopen(FILE): libc's internal openat
 *   mprotect FILE          makes its own text writable and back, then fopen(FILE)
 *   signal restart|plain   fgets on a pipe (stdio's internal read) that a
 *                          SIGALRM handler fills, with or without SA_RESTART
 *   dlopen LIB FILE        dlopen(LIB) and its raw_openat(FILE): a `syscall`
 *                          instruction of a library loaded later
 *   threads LIB            threads start and read files while the main thread
 *                          dlopens and dlcloses LIB
 *   fork_exec FILE         fopen(FILE) in a child that exec'd this program,
 *                          then in the parent
 *   corrupt_exec FILE      damages the first record of the run's shared
 *                          analyses (FTSC_PRELOAD_ANALYSES), then fork_exec FILE
 *   children N CASE ARGS   runs this program with CASE ARGS N times, one
 *                          child after the other (fork, exec, wait)
 *   cancel                 a thread blocked in fgets (stdio's read) is
 *                          cancelled: its cleanup handler (frame-based, the
 *                          program is built with -fexceptions) must run
 * Each prints one line per result. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/preload_interface.h"

static void try_fopen(const char* label, const char* path) {
  FILE* f = fopen(path, "r");
  printf("%s: %s\n", label, f == NULL ? strerror(errno) : "ok");
  fflush(stdout);
  if (f != NULL)
    fclose(f);
}

static int g_pipe[2];

static void on_alarm(int sig) {
  (void)sig;
  char c = 'x';
  if (write(g_pipe[1], &c, 1) != 1)
    _exit(3);
}

static int signal_case(int restart) {
  if (pipe(g_pipe) != 0)
    return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval t = {{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &t, NULL);
  FILE* in = fdopen(g_pipe[0], "r");
  char line[8];
  /* Blocks in stdio's read until the handler writes. */
  if (fgets(line, 2, in) != NULL)
    printf("read: %s\n", line);
  else
    printf("read: %s\n", strerror(errno));
  return 0;
}

typedef long (*RawOpenat)(const char*);

static int dlopen_case(const char* lib, const char* path) {
  void* h = dlopen(lib, RTLD_NOW);
  if (h == NULL) {
    printf("dlopen: %s\n", dlerror());
    return 2;
  }
  RawOpenat raw = (RawOpenat)dlsym(h, "raw_openat");
  long r = raw(path);
  printf("raw_openat: %s\n", r < 0 ? strerror((int)-r) : "ok");
  return 0;
}

static void* reader(void* arg) {
  (void)arg;
  char buf[256];
  for (int i = 0; i < 200; ++i) {
    FILE* f = fopen("/proc/self/stat", "r");
    if (f == NULL || fread(buf, 1, sizeof buf, f) == 0)
      abort();
    fclose(f);
  }
  return NULL;
}

static int threads_case(const char* lib) {
  pthread_t t[16];
  int started = 0;
  for (int round = 0; round < 40; ++round) {
    if (started < 16 && pthread_create(&t[started], NULL, reader, NULL) == 0)
      ++started;
    void* h = dlopen(lib, RTLD_NOW);
    if (h == NULL || dlsym(h, "raw_openat") == NULL) {
      printf("dlopen: %s\n", dlerror());
      return 2;
    }
    dlclose(h);
  }
  for (int i = 0; i < started; ++i)
    pthread_join(t[i], NULL);
  printf("threads: %d ok\n", started);
  return 0;
}

static int g_cleaned;
static int g_cancel_pipe[2];

static void cleanup(void* arg) {
  (void)arg;
  g_cleaned = 1;
}

static void* blocked_reader(void* arg) {
  (void)arg;
  FILE* in = fdopen(g_cancel_pipe[0], "r");
  char line[8];
  pthread_cleanup_push(cleanup, NULL);
  if (in != NULL && fgets(line, sizeof line, in) == NULL)
    printf("fgets returned\n");
  pthread_cleanup_pop(0);
  return NULL;
}

static int cancel_case(void) {
  pthread_t t;
  if (pipe(g_cancel_pipe) != 0 || pthread_create(&t, NULL, blocked_reader, NULL) != 0)
    return 2;
  usleep(100000);
  pthread_cancel(t);
  void* result = NULL;
  pthread_join(t, &result);
  printf("cancelled: %d, cleanup ran: %d\n", result == PTHREAD_CANCELED, g_cleaned);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char* what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "corrupt_exec") == 0 && argc > 2) {
    /* The first byte of the first slot's first site's original bytes: a
     * later process must refuse the record and analyse libc itself. */
    const char* path = getenv(FTSC_PRELOAD_ANALYSES_ENV);
    int fd = path != NULL ? open(path, O_RDWR | O_CLOEXEC) : -1;
    const off_t at = (off_t)(FTSC_ANALYSES_HEADER + sizeof(struct ftsc_patch_analysis) +
                             offsetof(struct ftsc_patch_site, original));
    uint8_t byte = 0;
    if (fd < 0 || pread(fd, &byte, 1, at) != 1) {
      printf("corrupt: %s\n", strerror(errno));
      return 1;
    }
    byte ^= 0xff;
    if (pwrite(fd, &byte, 1, at) != 1) {
      printf("corrupt: %s\n", strerror(errno));
      return 1;
    }
    close(fd);
    what = "fork_exec";
  }
  if (strcmp(what, "fopen") == 0 && argc > 2) {
    try_fopen("fopen", argv[2]);
  } else if (strcmp(what, "mprotect") == 0 && argc > 2) {
    uintptr_t page = (uintptr_t)&main & ~(uintptr_t)4095;
    if (mprotect((void*)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) != 0 ||
        mprotect((void*)page, 4096, PROT_READ | PROT_EXEC) != 0)
      printf("mprotect: %s\n", strerror(errno));
    try_fopen("fopen", argv[2]);
  } else if (strcmp(what, "signal") == 0 && argc > 2) {
    return signal_case(strcmp(argv[2], "restart") == 0);
  } else if (strcmp(what, "dlopen") == 0 && argc > 3) {
    return dlopen_case(argv[2], argv[3]);
  } else if (strcmp(what, "threads") == 0 && argc > 2) {
    return threads_case(argv[2]);
  } else if (strcmp(what, "cancel") == 0) {
    return cancel_case();
  } else if (strcmp(what, "children") == 0 && argc > 3) {
    for (int i = 0; i < atoi(argv[2]); ++i) {
      pid_t child = fork();
      if (child == 0) {
        argv[2] = argv[0];
        execv(argv[0], argv + 2);
        _exit(127);
      }
      int status = 0;
      waitpid(child, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 1;
    }
  } else if (strcmp(what, "fork_exec") == 0 && argc > 2) {
    pid_t child = fork();
    if (child == 0) {
      execl(argv[0], argv[0], "fopen", argv[2], (char*)NULL);
      _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    try_fopen("parent fopen", argv[2]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  } else {
    fprintf(stderr,
            "usage: patched_sites "
            "fopen|mprotect|signal|dlopen|threads|fork_exec|corrupt_exec|cancel ...\n");
    return 2;
  }
  return 0;
}
