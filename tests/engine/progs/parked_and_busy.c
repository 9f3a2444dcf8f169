/* SPDX-License-Identifier: Apache-2.0 */
/* parked_and_busy MISSING: a program with a seccomp filter of its own (so
 * that the ptrace engine parks its backoffs in the supervisor) where one
 * thread waits in a long backoff (open of MISSING, which the policy retries)
 * while another makes 200 traced calls (open and close of /dev/null). Prints
 * how many milliseconds those 200 calls took; exits 0 when they all
 * succeeded. The waiting thread is still parked when the program exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static const char* missing;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void* waiter(void* arg) {
  (void)arg;
  int fd = open(missing, O_RDONLY); /* parked in its backoff until the program exits */
  if (fd >= 0)
    close(fd);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2)
    return 2;
  missing = argv[1];
  struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_fprog prog = {1, allow};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp");
    return 2;
  }
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  struct timespec settle = {0, 100 * 1000000L};
  nanosleep(&settle, NULL);
  long start = now_ms();
  for (int i = 0; i < 200; ++i) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) {
      perror("open /dev/null");
      return 1;
    }
    close(fd);
  }
  printf("%ld\n", now_ms() - start);
  fflush(stdout);
  _exit(0);
}
