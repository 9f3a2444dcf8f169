/* recv on a socket with SO_RCVTIMEO: after the timeout it fails with EAGAIN,
 * which is the program's own protocol and must come back at once (the policy
 * retries recvfrom EAGAIN; the socket-timeout guard must stop it). Exits 0
 * when recv failed with EAGAIN. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("socketpair");
    return 2;
  }
  struct timeval tv = {0, 50000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  ssize_t n = recv(sv[0], &c, 1, 0);
  if (n < 0 && errno == EAGAIN)
    return 0;
  fprintf(stderr, "recv: %zd %s\n", n, n < 0 ? strerror(errno) : "");
  return 1;
}
