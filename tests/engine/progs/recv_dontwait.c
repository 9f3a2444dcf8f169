// SPDX-License-Identifier: Apache-2.0
/* recv with MSG_DONTWAIT on an empty socket: EAGAIN is the program's own
 * protocol (the flag says "do not block") and must come back at once, though
 * the policy retries recvfrom EAGAIN. Exits 0 when recv failed with EAGAIN. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("socketpair");
    return 2;
  }
  char c;
  ssize_t n = recv(sv[0], &c, 1, MSG_DONTWAIT);
  if (n < 0 && errno == EAGAIN)
    return 0;
  fprintf(stderr, "recv: %zd %s\n", n, n < 0 ? strerror(errno) : "");
  return 1;
}
