/* SPDX-License-Identifier: Apache-2.0 */
/*
 * soak_server DIR READY_FD: the soak's server. Listens on a loopback port
 * (chosen by the kernel; written to READY_FD, which is then closed), accepts
 * connections with accept4 and serves each in a thread of its own: it reads
 * records (soak_record.h), appends each to DIR/records.log with write and
 * fsync and inserts it into the SQLite database DIR/records.db, and
 * acknowledges it only after both stores have it. SIGTERM ends it: it stops
 * accepting, waits for its connections to end, closes the stores and prints
 * what it saw.
 *
 * It runs under `ftsc run` with injected faults. A failure ftsc gave up on
 * reaches the server like any error; the server then drops the connection
 * without acknowledging (the client reconnects and sends the record again),
 * and never stores a record twice:
 *   - the flat file: per client, the highest seq appended so far. A client
 *     sends seq N only once N-1 was acknowledged, so a record is either the
 *     next one (appended) or one the file already has (not appended again).
 *     A write that failed is undone with ftruncate to the last good length;
 *     a failed fsync is repeated before anything else is acknowledged.
 *   - SQLite: (client, seq) is the primary key and the insert is
 *     INSERT OR IGNORE; after an error the database is closed and opened
 *     again, so that SQLite recovers its journal.
 * One mutex orders the stores; fsync bounds the rate anyway.
 *
 * Every error it meets is counted per syscall and errno and printed at the
 * end as "seen SYSCALL ERRNO COUNT" lines, which the checker compares with
 * ftsc's statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "soak_record.h"
#include "soak_seen.h"

static volatile sig_atomic_t stopping;
static atomic_int connections;
static atomic_long records_stored, records_repeated, drops, sqlite_errors, sqlite_reopens;

static struct soak_seen seen = SOAK_SEEN_INIT;

/* The stores, under store_lock. */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static off_t log_len;    /* bytes of whole records in the file */
static off_t synced_len; /* bytes an fsync has covered */
static uint64_t appended_seq[SOAK_MAX_CLIENTS];
static sqlite3* db;
static sqlite3_stmt* insert_stmt;
static char log_path[4096], db_path[4096];

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

static void db_close(void) {
  if (insert_stmt)
    sqlite3_finalize(insert_stmt);
  insert_stmt = NULL;
  if (db)
    sqlite3_close(db);
  db = NULL;
}

static int db_open(void) {
  if (db)
    return 0;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_exec(db,
                   "PRAGMA synchronous=FULL;"
                   "CREATE TABLE IF NOT EXISTS records(client INTEGER NOT NULL, seq INTEGER NOT "
                   "NULL, crc INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY(client, seq));",
                   NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_prepare_v2(db,
                         "INSERT OR IGNORE INTO records(client, seq, crc, payload) VALUES(?,?,?,?)",
                         -1, &insert_stmt, NULL) != SQLITE_OK)
    goto fail;
  return 0;
fail:
  fprintf(stderr, "soak_server: sqlite %s: %s\n", db_path,
          db ? sqlite3_errmsg(db) : "out of memory");
  atomic_fetch_add(&sqlite_errors, 1);
  db_close();
  return -1;
}

/* Appends the record to the flat file unless the file has it, and makes the
 * file durable. */
static int log_append(const struct soak_header* h, const unsigned char* payload) {
  if (h->seq > appended_seq[h->client]) {
    if (h->seq != appended_seq[h->client] + 1) {
      fprintf(stderr, "soak_server: client %u sent seq %llu after %llu\n", h->client,
              (unsigned long long)h->seq, (unsigned long long)appended_seq[h->client]);
      return -1;
    }
    unsigned char buf[sizeof *h + SOAK_PAYLOAD_MAX];
    size_t n = sizeof *h + h->len, done = 0;
    memcpy(buf, h, sizeof *h);
    memcpy(buf + sizeof *h, payload, h->len);
    while (done < n) {
      ssize_t w = write(log_fd, buf + done, n - done);
      if (w < 0) {
        soak_seen_add(&seen, "write", errno);
        /* Whatever part of the record reached the file goes. */
        while (ftruncate(log_fd, log_len) != 0)
          if (errno != EINTR) {
            perror("soak_server: ftruncate records.log");
            exit(1);
          }
        return -1;
      }
      done += (size_t)w;
    }
    log_len += (off_t)n;
    appended_seq[h->client] = h->seq;
  }
  if (synced_len < log_len) {
    if (fsync(log_fd) != 0) {
      soak_seen_add(&seen, "fsync", errno);
      return -1;
    }
    synced_len = log_len;
  }
  return 0;
}

static int db_insert(const struct soak_header* h, const unsigned char* payload) {
  if (db_open() != 0)
    return -1;
  sqlite3_reset(insert_stmt);
  sqlite3_bind_int64(insert_stmt, 1, h->client);
  sqlite3_bind_int64(insert_stmt, 2, (sqlite3_int64)h->seq);
  sqlite3_bind_int64(insert_stmt, 3, h->crc);
  sqlite3_bind_blob(insert_stmt, 4, payload, (int)h->len, SQLITE_STATIC);
  int rc = sqlite3_step(insert_stmt);
  if (rc == SQLITE_DONE) {
    if (sqlite3_changes(db) == 0)
      atomic_fetch_add(&records_repeated, 1);
    sqlite3_reset(insert_stmt);
    return 0;
  }
  fprintf(stderr, "soak_server: insert (%u, %llu): %s\n", h->client, (unsigned long long)h->seq,
          sqlite3_errmsg(db));
  atomic_fetch_add(&sqlite_errors, 1);
  atomic_fetch_add(&sqlite_reopens, 1);
  db_close();
  return -1;
}

static int store(const struct soak_header* h, const unsigned char* payload) {
  pthread_mutex_lock(&store_lock);
  int rc = log_append(h, payload);
  if (rc == 0)
    rc = db_insert(h, payload);
  pthread_mutex_unlock(&store_lock);
  if (rc == 0)
    atomic_fetch_add(&records_stored, 1);
  return rc;
}

/* 1: all of it, 0: the peer closed first, -1: an error. */
static int read_all(int fd, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, (char*)buf + done, n - done);
    if (r == 0)
      return 0;
    if (r < 0) {
      soak_seen_add(&seen, "read", errno);
      return -1;
    }
    done += (size_t)r;
  }
  return 1;
}

static int write_all(int fd, const void* buf, size_t n) {
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

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  unsigned char payload[SOAK_PAYLOAD_MAX];
  struct soak_header h;
  for (;;) {
    int r = read_all(fd, &h, sizeof h);
    if (r <= 0) {
      if (r < 0)
        atomic_fetch_add(&drops, 1);
      break;
    }
    if (h.magic != SOAK_RECORD_MAGIC || h.client >= SOAK_MAX_CLIENTS || h.len == 0 ||
        h.len > SOAK_PAYLOAD_MAX) {
      fprintf(stderr, "soak_server: malformed record header\n");
      atomic_fetch_add(&drops, 1);
      break;
    }
    if (read_all(fd, payload, h.len) != 1 || soak_crc(&h, payload) != h.crc) {
      atomic_fetch_add(&drops, 1);
      break;
    }
    if (store(&h, payload) != 0) {
      atomic_fetch_add(&drops, 1);
      break;
    }
    struct soak_ack ack = {SOAK_ACK_MAGIC, h.client, h.seq};
    if (write_all(fd, &ack, sizeof ack) != 0) {
      atomic_fetch_add(&drops, 1);
      break;
    }
  }
  close(fd);
  atomic_fetch_sub(&connections, 1);
  return NULL;
}

/* Set-up steps meet injected faults too: each is tried a few times. */
#define SETUP_TRIES 20

static int open_log(void) {
  for (int i = 0; i < SETUP_TRIES; i++) {
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd >= 0) {
      struct stat st;
      if (fstat(log_fd, &st) != 0)
        return -1;
      log_len = synced_len = st.st_size;
      return 0;
    }
    soak_seen_add(&seen, "openat", errno);
    usleep(10000);
  }
  perror("soak_server: records.log");
  return -1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: soak_server DIR READY_FD\n");
    return 2;
  }
  int ready_fd = atoi(argv[2]);
  snprintf(log_path, sizeof log_path, "%s/records.log", argv[1]);
  snprintf(db_path, sizeof db_path, "%s/records.db", argv[1]);

  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (open_log() != 0)
    return 1;
  int opened = 0;
  for (int i = 0; i < SETUP_TRIES && !opened; i++)
    opened = db_open() == 0;
  if (!opened)
    return 1;

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (lfd < 0 || bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 64) != 0 ||
      getsockname(lfd, (struct sockaddr*)&addr, &len) != 0) {
    perror("soak_server: listen on 127.0.0.1");
    return 1;
  }
  char port[16];
  int n = snprintf(port, sizeof port, "%u\n", ntohs(addr.sin_port));
  int sent = 0;
  for (int i = 0; i < SETUP_TRIES && !sent; i++)
    sent = write(ready_fd, port, (size_t)n) == n;
  close(ready_fd);
  if (!sent)
    return 1;

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  long accepted = 0;
  while (!stopping) {
    /* poll with a timeout, so that SIGTERM between the check and the wait
     * is noticed soon. */
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0)
      continue;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR)
        soak_seen_add(&seen, "accept4", errno);
      continue;
    }
    accepted++;
    atomic_fetch_add(&connections, 1);
    pthread_t t;
    if (pthread_create(&t, &attr, serve, (void*)(intptr_t)fd) != 0) {
      close(fd);
      atomic_fetch_sub(&connections, 1);
    }
  }
  close(lfd);
  /* The clients are gone; a connection still open ends at its next read. */
  for (int i = 0; i < 3000 && atomic_load(&connections) > 0; i++)
    usleep(10000);
  int left = atomic_load(&connections);
  pthread_mutex_lock(&store_lock);
  db_close();
  close(log_fd);
  pthread_mutex_unlock(&store_lock);

  soak_print(1,
             "server accepted=%ld stored=%ld repeated=%ld drops=%ld sqlite_errors=%ld "
             "sqlite_reopens=%ld connections_left=%d\n",
             accepted, atomic_load(&records_stored), atomic_load(&records_repeated),
             atomic_load(&drops), atomic_load(&sqlite_errors), atomic_load(&sqlite_reopens), left);
  soak_seen_print(&seen, 1);
  return left == 0 ? 0 : 1;
}
