// SPDX-License-Identifier: Apache-2.0
/* Processes of one run: the program opens /etc/hostname, forks a child that
 * opens it too and then execs this program again (`exec-child`), which opens
 * it a third time. Each open must succeed; the exit status says whether all
 * did (0) or which did not (1). Under `--inject openat:error=ENOENT:when=1`
 * and a policy that retries it, every process's first open is injected and
 * recovers, and one statistics table shows all three. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int open_once(const char* who) {
  int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "%s: open failed: %s\n", who, strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
    return open_once("exec'd child");
  if (open_once("parent") != 0)
    return 1;
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    if (open_once("forked child") != 0)
      _exit(1);
    execl("/proc/self/exe", argv[0], "exec-child", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "the child failed (status %d)\n", status);
    return 1;
  }
  printf("three processes opened\n");
  return 0;
}
