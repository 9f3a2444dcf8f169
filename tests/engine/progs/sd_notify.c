/* SPDX-License-Identifier: Apache-2.0 */
/* sd_notify: a Type=notify service's side of the protocol (sd_notify(3),
 * sd_watchdog_enabled(3)), written out so that the tests need no libsystemd.
 *
 * Prints "pid PID listen_pid VALUE watchdog_pid VALUE watchdog ENABLED\n"
 * (a variable that is not set shows as "-"; ENABLED is 1 when WATCHDOG_USEC
 * is set and WATCHDOG_PID is unset or names this process, as
 * sd_watchdog_enabled() decides). When NOTIFY_SOCKET is set, sends it the
 * datagram "READY=1\nSTATUS=serving as PID", then "WATCHDOG=1" when the watchdog is
 * enabled for it. Exits 0, or 2 when a datagram cannot be sent. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char* shown(const char* v) {
  return v != NULL ? v : "-";
}

/* Sends one datagram to NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace); 0 or -1. */
static int notify(const char* socket_name, const char* message) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = strlen(socket_name);
  if (len == 0 || len >= sizeof addr.sun_path)
    return -1;
  memcpy(addr.sun_path, socket_name, len);
  if (addr.sun_path[0] == '@')
    addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  ssize_t sent = sendto(fd, message, strlen(message), 0, (struct sockaddr*)&addr,
                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
  close(fd);
  return sent == (ssize_t)strlen(message) ? 0 : -1;
}

int main(void) {
  const char* listen_pid = getenv("LISTEN_PID");
  const char* watchdog_pid = getenv("WATCHDOG_PID");
  const char* watchdog_usec = getenv("WATCHDOG_USEC");
  char own[32];
  snprintf(own, sizeof own, "%d", (int)getpid());
  const int watchdog =
      watchdog_usec != NULL && (watchdog_pid == NULL || strcmp(watchdog_pid, own) == 0);
  printf("pid %s listen_pid %s watchdog_pid %s watchdog %d\n", own, shown(listen_pid),
         shown(watchdog_pid), watchdog);
  fflush(stdout);
  const char* socket_name = getenv("NOTIFY_SOCKET");
  if (socket_name == NULL)
    return 0;
  char ready[64];
  snprintf(ready, sizeof ready, "READY=1\nSTATUS=serving as %s", own);
  if (notify(socket_name, ready) != 0 || (watchdog && notify(socket_name, "WATCHDOG=1") != 0)) {
    perror("sd_notify: sendto");
    return 2;
  }
  return 0;
}
