// SPDX-License-Identifier: Apache-2.0
/*
 * failing_calls [--name NAME] [--wait FIFO] ENOENT ECONNREFUSED CHILD_ENOENT
 *
 * Makes syscalls that really fail a known number of times, for the profiler's
 * tests: ENOENT times openat(2) of a file that does not exist, ECONNREFUSED
 * times connect(2) to a socket nobody listens on, then a child process
 * named "fc_child" makes CHILD_ENOENT more failing openat calls. --name
 * renames the process first (prctl PR_SET_NAME), --wait blocks until a byte
 * can be read from FIFO. Exits with status 3, so that tests see it passed on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char kMissing[] = "/nonexistent-ftsc-profile-test/file";

static int fail_openat(long n) {
  for (long i = 0; i < n; i++) {
    int fd = openat(AT_FDCWD, kMissing, O_RDONLY);
    if (fd >= 0 || errno != ENOENT) {
      fprintf(stderr, "failing_calls: openat did not fail with ENOENT\n");
      return 1;
    }
  }
  return 0;
}

/* A stream socket that nobody listens on, with no network needed: a Unix
 * socket bound to a name of the abstract namespace (unix(7)) that does not
 * listen refuses every connection, and keeps its name reserved meanwhile. */
static int fail_connect(long n) {
  int bound = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "ftsc-failing-calls-%d", (int)getpid());
  socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
  if (bound < 0 || bind(bound, (struct sockaddr*)&a, size) != 0) {
    perror("failing_calls: bind");
    exit(1);
  }
  for (long i = 0; i < n; i++) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&a, size) == 0 || errno != ECONNREFUSED) {
      fprintf(stderr, "failing_calls: connect did not fail with ECONNREFUSED\n");
      return 1;
    }
    close(s);
  }
  close(bound);
  return 0;
}

int main(int argc, char** argv) {
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
    if (strcmp(argv[i], "--name") == 0) {
      prctl(PR_SET_NAME, argv[i + 1]);
    } else if (strcmp(argv[i], "--wait") == 0) {
      int fd = open(argv[i + 1], O_RDONLY);
      char c;
      if (fd < 0 || read(fd, &c, 1) != 1) {
        perror("failing_calls: --wait");
        return 1;
      }
      close(fd);
    } else {
      break;
    }
  }
  if (argc - i != 3) {
    fprintf(stderr,
            "usage: failing_calls [--name NAME] [--wait FIFO] ENOENT ECONNREFUSED "
            "CHILD_ENOENT\n");
    return 2;
  }
  long enoent = atol(argv[i]), refused = atol(argv[i + 1]), child_enoent = atol(argv[i + 2]);
  if (fail_openat(enoent) || fail_connect(refused))
    return 1;
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, "fc_child");
    _exit(fail_openat(child_enoent));
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return 1;
  return 3;
}
