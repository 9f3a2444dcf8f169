/* SPDX-License-Identifier: Apache-2.0 */
/* socket_activated: a socket-activated server, as sd_listen_fds(3) expects
 * one to be started (by systemd or systemd-socket-activate(1)).
 *
 * It takes its listening sockets only when LISTEN_PID names its own pid, as
 * sd_listen_fds() does, and checks what a service manager promises: fds 3 to
 * 3+LISTEN_FDS-1 are open, listening sockets that survived the exec (not
 * close-on-exec), and no other socket is open (ftsc leaked or copied none of
 * its own). Then it serves one client on fd 3: it writes
 * "served by PID fds N names NAMES\n" and exits 0. Any check that fails is
 * said on standard error, with exit status 2. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char* what) {
  fprintf(stderr, "socket_activated: %s\n", what);
  return 2;
}

/* The number of sockets among the open fds. */
static int open_sockets(void) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL)
    return -1;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    int fd = atoi(e->d_name);
    struct stat st;
    if (fd != dirfd(dir) && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
      ++n;
  }
  closedir(dir);
  return n;
}

int main(void) {
  const char* pid = getenv("LISTEN_PID");
  const char* fds = getenv("LISTEN_FDS");
  const char* names = getenv("LISTEN_FDNAMES");
  if (pid == NULL || fds == NULL)
    return fail("LISTEN_PID or LISTEN_FDS is not set");
  char own[32];
  snprintf(own, sizeof own, "%d", (int)getpid());
  if (strcmp(pid, own) != 0) {
    fprintf(stderr, "socket_activated: LISTEN_PID is %s, not this process's pid %s\n", pid, own);
    return 2;
  }
  const int n = atoi(fds);
  if (n < 1)
    return fail("LISTEN_FDS names no socket");
  for (int fd = 3; fd < 3 + n; ++fd) {
    const int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
      return fail("a listening fd is not open");
    if (flags & FD_CLOEXEC)
      return fail("a listening fd is close-on-exec");
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
      return fail("a listening fd is not a listening socket");
  }
  const int sockets = open_sockets();
  if (sockets != n) {
    fprintf(stderr, "socket_activated: %d sockets are open, LISTEN_FDS says %d\n", sockets, n);
    return 2;
  }
  int client = accept(3, NULL, NULL);
  if (client < 0)
    return fail("accept failed");
  char reply[256];
  int len = snprintf(reply, sizeof reply, "served by %s fds %d names %s\n", own, n,
                     names != NULL ? names : "-");
  if (write(client, reply, (size_t)len) != len)
    return fail("write failed");
  close(client);
  return 0;
}
