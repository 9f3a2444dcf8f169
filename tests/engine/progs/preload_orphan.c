/* SPDX-License-Identifier: Apache-2.0 */
/* A helper that outlives its parent, as a daemon's does.
 *   preload_orphan FILE           forks the helper and exits at once;
 * the helper waits until it is orphaned (getppid() changes), then execs
 *   preload_orphan --orphan FILE  which waits 200 ms, opens /etc/passwd/x
 *                                 (ENOTDIR, which a policy may retry) and
 *                                 writes "new parent N" to FILE, N being
 *                                 the process that adopted it (getppid()). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000 * 1000};
  nanosleep(&t, NULL);
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--orphan") == 0) {
    pause_ms(200);
    int fd = open("/etc/passwd/x", O_RDONLY);
    if (fd >= 0 || errno != ENOTDIR)
      return 1;
    FILE* out = fopen(argv[2], "w");
    if (out == NULL)
      return 1;
    fprintf(out, "new parent %d\n", (int)getppid());
    return fclose(out) == 0 ? 0 : 1;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: preload_orphan FILE\n");
    return 2;
  }
  const pid_t parent = getpid();
  pid_t helper = fork();
  if (helper < 0)
    return 2;
  if (helper == 0) {
    for (int i = 0; i < 5000 && getppid() == parent; i++)
      pause_ms(1);
    execl(argv[0], argv[0], "--orphan", argv[1], (char*)NULL);
    _exit(127);
  }
  return 0;
}
