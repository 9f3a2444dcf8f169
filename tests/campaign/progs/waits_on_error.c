// SPDX-License-Identifier: Apache-2.0
// A program that hangs when a read fails: it starts a helper process that
// waits, reads its input, and on a failed read waits for a signal that never
// comes (`hung`). The helper proves that a run leaves no process behind.
//   waits_on_error IN
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  pid_t helper = fork();
  if (helper < 0) {  // never kill(-1, ...) below: that is every process
    perror("fork");
    return 1;
  }
  if (helper == 0) {
    for (;;)
      pause();
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    kill(helper, SIGKILL);
    return 1;
  }
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0)
    pause();  // waits for data that never comes
  kill(helper, SIGKILL);
  waitpid(helper, NULL, 0);
  printf("read %zd bytes\n", n);
  return 0;
}
