/* SPDX-License-Identifier: Apache-2.0 */
/*
 * soak_client PORT ID SECONDS ACKED_FILE: one of the soak's clients. Sends
 * records 1, 2, 3 ... of client ID (soak_record.h) to the server on
 * 127.0.0.1:PORT, one at a time: it sends a record, waits for its
 * acknowledgement, appends the seq to ACKED_FILE and only then sends the next.
 * Any error (a failure ftsc gave up on, the server dropping the connection, a
 * wrong acknowledgement) closes the connection; the client connects again and
 * sends the same record again. After SECONDS it sends no new record, finishes
 * the one under way and prints what it did; it never runs longer than
 * SECONDS + 60 (an alarm ends it, which the driver reports). It also
 * closes its connection after every RECORDS_PER_CONNECTION records, so that
 * connect and accept4 are called often enough to meet their faults.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "soak_record.h"
#include "soak_seen.h"

#define RECORDS_PER_CONNECTION 5

static struct soak_seen seen = SOAK_SEEN_INIT;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    soak_seen_add(&seen, "socket", errno);
    return -1;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    soak_seen_add(&seen, "connect", errno);
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, (const char*)buf + done, n - done);
    if (w < 0) {
      soak_seen_add(&seen, "write", errno);
      return -1;
    }
    done += (size_t)w;
  }
  return 0;
}

static int recv_all(int fd, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, (char*)buf + done, n - done);
    if (r <= 0) {
      if (r < 0)
        soak_seen_add(&seen, "read", errno);
      return -1;
    }
    done += (size_t)r;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: soak_client PORT ID SECONDS ACKED_FILE\n");
    return 2;
  }
  int port = atoi(argv[1]);
  uint32_t id = (uint32_t)atoi(argv[2]);
  double seconds = atof(argv[3]);
  if (id >= SOAK_MAX_CLIENTS) {
    fprintf(stderr, "soak_client: ID must be below %u\n", SOAK_MAX_CLIENTS);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  alarm((unsigned)seconds + 60);

  int acked_fd = -1;
  for (int i = 0; i < 100 && acked_fd < 0; i++) {
    acked_fd = open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (acked_fd < 0) {
      soak_seen_add(&seen, "openat", errno);
      usleep(10000);
    }
  }
  if (acked_fd < 0) {
    perror(argv[4]);
    return 1;
  }

  const double end = now_s() + seconds;
  unsigned char buf[sizeof(struct soak_header) + SOAK_PAYLOAD_MAX];
  struct soak_header* h = (struct soak_header*)buf;
  /* reconnects: connections made after an error; resends: records sent again */
  long connects = 0, reconnects = 0, resends = 0;
  uint64_t seq = 1;
  int fd = -1;
  while (now_s() < end) {
    h->magic = SOAK_RECORD_MAGIC;
    h->client = id;
    h->seq = seq;
    h->len = soak_payload(id, seq, buf + sizeof *h);
    h->crc = soak_crc(h, buf + sizeof *h);
    /* Until this record is acknowledged. */
    for (int sent = 0, failed = 0;; failed = 1) {
      if (fd < 0) {
        fd = connect_to(port);
        if (fd < 0) {
          usleep(10000);
          continue;
        }
        connects++;
        reconnects += failed;
      }
      resends += sent++ > 0;
      struct soak_ack ack;
      if (send_all(fd, buf, sizeof *h + h->len) == 0 && recv_all(fd, &ack, sizeof ack) == 0 &&
          ack.magic == SOAK_ACK_MAGIC && ack.client == id && ack.seq == seq)
        break;
      close(fd);
      fd = -1;
    }
    if (soak_print(acked_fd, "%llu\n", (unsigned long long)seq) != 0) {
      perror("soak_client: acked file");
      return 1;
    }
    if (seq % RECORDS_PER_CONNECTION == 0) {
      close(fd);
      fd = -1;
    }
    seq++;
  }
  if (fd >= 0)
    close(fd);
  close(acked_fd);
  soak_print(1, "client %u acked=%llu connects=%ld reconnects=%ld resends=%ld\n", id,
             (unsigned long long)(seq - 1), connects, reconnects, resends);
  soak_seen_print(&seen, 1);
  return 0;
}
