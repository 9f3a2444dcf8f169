// SPDX-License-Identifier: Apache-2.0
/* late_server: connect(2) to a loopback TCP server that starts listening
 * 150 ms later.
 *
 * The fault: nothing listens on the port yet, so the kernel answers the SYN
 * with a RST and connect fails with ECONNREFUSED. A helper child calls
 * listen(2) SC_LATE_MS after the scenario announced its call, accepts the
 * connection and sends "ok"; retried for longer than that, connect succeeds.
 *
 * No port race: the scenario binds the server socket to 127.0.0.1 port 0
 * itself (the kernel picks a free port) and the helper inherits that bound
 * socket. A bound TCP socket that does not listen refuses connections exactly
 * like a free port, but keeps the port reserved the whole time, so no other
 * test can take it and nothing else can answer on it. A failed connect leaves
 * the socket unconnected (TCP_CLOSE), so the very same call can run again. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "scenario.h"

struct server {
  const struct sc_gate* gate;
  int listen_fd;
};

static int serve_late(void* arg) {
  const struct server* s = (const struct server*)arg;
  if (sc_gate_wait(s->gate, 1) != 0)
    return SC_SETUP;
  sc_sleep_ms(SC_LATE_MS);
  if (listen(s->listen_fd, 1) != 0)
    return SC_SETUP;
  const int conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return SC_SETUP;
  return write(conn, "ok", 2) == 2 ? 0 : SC_SETUP;
}

int main(void) {
  sc_name = "late_server";
  const int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0)
    sc_setup_error("socket: %s", strerror(errno));
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(listen_fd, (struct sockaddr*)&addr, sizeof addr) != 0)
    sc_skip("cannot bind a port on 127.0.0.1: %s", strerror(errno));
  if (getsockname(listen_fd, (struct sockaddr*)&addr, &len) != 0)
    sc_setup_error("getsockname: %s", strerror(errno));
  const int port = ntohs(addr.sin_port);
  /* Can this process reach 127.0.0.1 at all (a network namespace whose
   * loopback is down binds, but every connect fails with ENETUNREACH)? A UDP
   * connect only picks the route: it succeeds at once where loopback works,
   * and no policy retries it. */
  const int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0 || connect(probe, (const struct sockaddr*)&addr, sizeof addr) != 0)
    sc_skip("cannot reach 127.0.0.1: %s", strerror(errno));
  close(probe);

  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    sc_setup_error("socket: %s", strerror(errno));

  struct sc_gate gate = sc_gate_open();
  struct server server = {&gate, listen_fd};
  const pid_t helper = sc_spawn_helper(serve_late, &server);
  close(gate.read_fd);
  close(listen_fd); /* the helper's copy keeps the port */

  sc_gate_pass(&gate);
  const int64_t start = sc_now_ns();
  const int rc = connect(fd, (const struct sockaddr*)&addr, sizeof addr);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);

  char reply[8] = "";
  const int read_err = rc == 0 ? sc_read_fd(fd, reply, sizeof reply) : 0;
  close(fd);
  sc_kill_and_reap(helper);

  if (rc != 0)
    sc_fail(
        "connect to 127.0.0.1:%d failed with %s after %lld ms (the server listens %d ms after "
        "the call)",
        port, sc_errno_name(err), (long long)ms, SC_LATE_MS);
  if (read_err != 0 || strcmp(reply, "ok") != 0)
    sc_fail("connect to 127.0.0.1:%d succeeded after %lld ms but the server's reply was '%s'", port,
            (long long)ms, reply);
  return SC_OK;
}
