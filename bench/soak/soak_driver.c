/* SPDX-License-Identifier: Apache-2.0 */
/*
 * soak_driver DIR CLIENTS SECONDS SERVER CLIENT: the soak's one command, which
 * bench/soak.sh runs under `ftsc run`, so that the server, the clients and the
 * driver itself are all under the same policy and injected faults.
 *
 * It starts the server (SERVER DIR FD) and waits until the server has written
 * its port and closed FD; counts the server's open fds; starts CLIENTS clients
 * (CLIENT PORT ID SECONDS DIR/client-ID.acked, their output in
 * DIR/client-ID.out) and waits for them; then waits until the server's fd
 * count is back to what it was (its connections closed), at most 30 s; stops
 * the server with SIGTERM and waits for it (its output in DIR/server.out).
 * It prints "driver ..." figures and exits 0 only if every process ended with
 * status 0 and the server's fds came back to their count.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "soak_seen.h"

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Starts argv with stdout on out_path (if not NULL); exits on failure. */
static pid_t start(char* const argv[], const char* out_path) {
  pid_t pid = fork();
  if (pid < 0) {
    perror("soak_driver: fork");
    exit(1);
  }
  if (pid == 0) {
    if (out_path) {
      int fd = -1;
      for (int i = 0; i < 100 && fd < 0; i++)
        fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || dup2(fd, 1) < 0)
        _exit(127);
      close(fd);
    }
    execv(argv[0], argv);
    perror(argv[0]);
    _exit(127);
  }
  return pid;
}

/* The number of open fds of pid, or -1, and what they are in list (if not
 * NULL). Tried again after an error: the driver's own openat and read meet
 * injected faults. */
static int count_fds(pid_t pid, char* list, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  for (int tries = 0; tries < 100; tries++) {
    DIR* d = opendir(path);
    if (!d) {
      if (errno == ENOENT)
        return -1;
      pause_ms(10);
      continue;
    }
    int n = 0;
    size_t used = 0;
    struct dirent* e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      n++;
      if (list && used < size) {
        char link[384], target[256];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        target[len < 0 ? 0 : len] = 0;
        int w = snprintf(list + used, size - used, " %s:%s", e->d_name, target);
        used += w < 0 ? 0 : (size_t)w;
      }
      errno = 0;
    }
    int failed = errno != 0;
    closedir(d);
    if (!failed)
      return n;
  }
  return -1;
}

static int status_ok(const char* what, int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 1;
  if (WIFEXITED(status))
    soak_print(2, "soak_driver: %s exited with %d\n", what, WEXITSTATUS(status));
  else
    soak_print(2, "soak_driver: %s killed by signal %d\n", what, WTERMSIG(status));
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: soak_driver DIR CLIENTS SECONDS SERVER CLIENT\n");
    return 2;
  }
  const char* dir = argv[1];
  int clients = atoi(argv[2]);
  char* seconds = argv[3];
  int ok = 1;

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    perror("soak_driver: pipe");
    return 1;
  }
  char fd_arg[16], path[4096];
  snprintf(path, sizeof path, "%s/server.out", dir);
  char* server_argv[] = {argv[4], (char*)dir, fd_arg, NULL};
  /* The write end must survive the exec: a copy without O_CLOEXEC. */
  int keep = dup(ready[1]);
  close(ready[1]);
  snprintf(fd_arg, sizeof fd_arg, "%d", keep);
  pid_t server = start(server_argv, path);
  close(keep);

  /* The port, then end of file once the server closed its end. */
  char port[16] = {0};
  size_t got = 0;
  int failures = 0;
  for (;;) {
    ssize_t r = read(ready[0], port + got, sizeof port - 1 - got);
    if (r == 0)
      break;
    if (r < 0) {
      if (++failures > 1000) {
        perror("soak_driver: reading the port");
        return 1;
      }
      pause_ms(1);
      continue;
    }
    got += (size_t)r;
    if (got == sizeof port - 1)
      break;
  }
  close(ready[0]);
  port[strcspn(port, "\n")] = 0;
  if (atoi(port) <= 0) {
    int status;
    waitpid(server, &status, 0);
    status_ok("soak_server", status);
    soak_print(2, "soak_driver: the server did not start\n");
    return 1;
  }
  char fds_start_list[4096] = "", fds_end_list[4096] = "";
  int fds_start = count_fds(server, fds_start_list, sizeof fds_start_list);

  pid_t pids[64];
  if (clients < 1 || clients > 64) {
    soak_print(2, "soak_driver: CLIENTS must be 1 to 64\n");
    return 2;
  }
  for (int i = 0; i < clients; i++) {
    char id[16], acked[4096], out[4096];
    snprintf(id, sizeof id, "%d", i);
    snprintf(acked, sizeof acked, "%s/client-%d.acked", dir, i);
    snprintf(out, sizeof out, "%s/client-%d.out", dir, i);
    char* client_argv[] = {argv[5], port, id, seconds, acked, NULL};
    pids[i] = start(client_argv, out);
  }
  soak_print(1, "driver started server=%d port=%s clients=%d\n", (int)server, port, clients);

  int done = 0;
  while (done < clients) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      perror("soak_driver: waitpid");
      return 1;
    }
    if (pid == server) {
      status_ok("soak_server (before the clients ended)", status);
      return 1;
    }
    for (int i = 0; i < clients; i++)
      if (pids[i] == pid) {
        char what[32];
        snprintf(what, sizeof what, "soak_client %d", i);
        ok &= status_ok(what, status);
        done++;
      }
  }

  int fds_end = count_fds(server, fds_end_list, sizeof fds_end_list);
  for (int i = 0; i < 300 && fds_end != fds_start; i++) {
    pause_ms(100);
    fds_end = count_fds(server, fds_end_list, sizeof fds_end_list);
  }
  if (fds_start < 0 || fds_end != fds_start) {
    soak_print(2, "soak_driver: the server has %d fds open, %d after it started\n", fds_end,
               fds_start);
    soak_print(2, "soak_driver: after start:%s\nsoak_driver: at the end:%s\n", fds_start_list,
               fds_end_list);
    ok = 0;
  }
  kill(server, SIGTERM);
  int status;
  while (waitpid(server, &status, 0) < 0)
    if (errno != EINTR) {
      perror("soak_driver: waitpid");
      return 1;
    }
  ok &= status_ok("soak_server", status);
  soak_print(1, "driver server_fds_start=%d server_fds_end=%d ok=%d\n", fds_start, fds_end, ok);
  return ok ? 0 : 1;
}
