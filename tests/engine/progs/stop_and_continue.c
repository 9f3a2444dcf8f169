/* Stops itself (SIGSTOP), is continued by its parent shell... here: a child
 * sends SIGCONT after 100 ms. Job control must keep working under a tracer. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t self = getpid();
  pid_t child = fork();
  if (child == 0) {
    usleep(100000);
    kill(self, SIGCONT);
    _exit(0);
  }
  raise(SIGSTOP);
  waitpid(child, NULL, 0);
  printf("continued\n");
  return 0;
}
