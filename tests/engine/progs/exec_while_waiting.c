// SPDX-License-Identifier: Apache-2.0
/* A thread makes a directory whose parent does not exist (the test's policy
 * retries the ENOENT after a long delay); meanwhile the main thread replaces
 * the program with execve, which ends the waiting thread. Exits 7 from the
 * new program. */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static int ready[2];

static void* maker(void* arg) {
  (void)arg;
  (void)!write(ready[1], "r", 1);
  mkdir("/nonexistent/ftsc-test", 0700);
  return 0;
}

int main(void) {
  char c;
  pthread_t t;
  if (pipe(ready) != 0 || pthread_create(&t, 0, maker, 0) != 0)
    return 2;
  if (read(ready[0], &c, 1) != 1)
    return 2;
  usleep(300 * 1000); /* the thread is in its first backoff by now */
  execl("/bin/sh", "sh", "-c", "exit 7", (char*)0);
  return 1;
}
