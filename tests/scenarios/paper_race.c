// SPDX-License-Identifier: Apache-2.0
/* paper_race: the race of the paper's Section 5. Two threads take turns to
 * allocate 128 MiB with mmap(2), write every page, and free it again, while the
 * address space may hold only one such block at a time.
 *
 * The fault is real: the program lowers its own soft RLIMIT_AS (setrlimit(2);
 * lowering the soft limit needs no privilege) to what it uses now plus one
 * block plus less than another block, so the kernel refuses a second block
 * with ENOMEM (mm/mmap.c: may_expand_vm). The turns are arranged so that every
 * allocation after the first comes while the other thread still holds its
 * block: round r's thread announces its mmap, and round r-1's thread frees
 * its block SC_LATE_MS after that announcement. Natively, round 1's mmap fails
 * with ENOMEM; retried for longer than SC_LATE_MS, every round succeeds.
 *
 * The threads use only mmap, munmap, futexes (mutex, condition variable) and
 * nanosleep after the limit is set: nothing else may need address space. */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "scenario.h"

#define BLOCK_BYTES (128UL << 20)
#define ROUNDS 6 /* allocations, alternating between the two threads */
/* Room above one block for anything the process, its libraries or an engine
 * may still map after the limit is set; less than a block, so two never fit. */
#define SLACK_BYTES (64UL << 20)

struct race {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int started;   /* the limit is set; the threads may begin */
  int announced; /* the last round whose mmap is about to be called */
  int allocated; /* the last round whose block is allocated and written */
  int stop;      /* a round failed; everyone winds down */
  int failed_round;
  int failed_errno;
  long page_size;
};

static struct race race = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, -1, 0, -1, 0, 4096};

static void* take_turns(void* arg) {
  const int first_round = (int)(intptr_t)arg;
  pthread_mutex_lock(&race.mu);
  while (!race.started)
    pthread_cond_wait(&race.cv, &race.mu);
  pthread_mutex_unlock(&race.mu);

  for (int round = first_round; round < ROUNDS; round += 2) {
    /* My turn comes when the other thread holds the previous round's block. */
    pthread_mutex_lock(&race.mu);
    while (race.allocated < round - 1 && !race.stop)
      pthread_cond_wait(&race.cv, &race.mu);
    if (race.stop) {
      pthread_mutex_unlock(&race.mu);
      return NULL;
    }
    race.announced = round;
    pthread_cond_broadcast(&race.cv);
    pthread_mutex_unlock(&race.mu);

    char* block =
        mmap(NULL, BLOCK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) {
      const int err = errno;
      pthread_mutex_lock(&race.mu);
      race.stop = 1;
      race.failed_round = round;
      race.failed_errno = err;
      pthread_cond_broadcast(&race.cv);
      pthread_mutex_unlock(&race.mu);
      return NULL;
    }
    for (size_t off = 0; off < BLOCK_BYTES; off += (size_t)race.page_size)
      block[off] = (char)round;

    /* Hold the block until the next round's mmap was called, and a while more. */
    pthread_mutex_lock(&race.mu);
    race.allocated = round;
    pthread_cond_broadcast(&race.cv);
    const int next_comes = round + 1 < ROUNDS;
    while (next_comes && race.announced < round + 1 && !race.stop)
      pthread_cond_wait(&race.cv, &race.mu);
    pthread_mutex_unlock(&race.mu);
    if (next_comes)
      sc_sleep_ms(SC_LATE_MS);
    munmap(block, BLOCK_BYTES);
  }
  return NULL;
}

/* The address space in use now, from /proc/self/status (VmSize, kB). */
static unsigned long address_space_bytes(void) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f)
    sc_setup_error("cannot read /proc/self/status: %s", strerror(errno));
  char line[256];
  unsigned long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
      break;
  fclose(f);
  if (kb == 0)
    sc_setup_error("no VmSize in /proc/self/status");
  return kb * 1024;
}

int main(void) {
  sc_name = "paper_race";
  race.page_size = sysconf(_SC_PAGESIZE);

  /* Threads first: their stacks count too, and must exist before the limit. */
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) {
    const int err = pthread_create(&threads[i], NULL, take_turns, (void*)(intptr_t)i);
    if (err != 0)
      sc_setup_error("pthread_create: %s", strerror(err));
  }

  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0)
    sc_setup_error("getrlimit(RLIMIT_AS): %s", strerror(errno));
  const unsigned long in_use = address_space_bytes();
  const rlim_t soft = in_use + BLOCK_BYTES + SLACK_BYTES;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < soft)
    sc_skip("the hard RLIMIT_AS (%llu MiB) is below the %llu MiB this scenario needs",
            (unsigned long long)(limit.rlim_max >> 20), (unsigned long long)(soft >> 20));
  limit.rlim_cur = soft;
  if (setrlimit(RLIMIT_AS, &limit) != 0)
    sc_setup_error("setrlimit(RLIMIT_AS, %llu MiB): %s", (unsigned long long)(soft >> 20),
                   strerror(errno));

  pthread_mutex_lock(&race.mu);
  race.started = 1;
  pthread_cond_broadcast(&race.cv);
  pthread_mutex_unlock(&race.mu);
  for (int i = 0; i < 2; i++)
    pthread_join(threads[i], NULL);

  if (race.stop)
    sc_fail(
        "round %d of %d: mmap of %lu MiB failed with %s while the other thread still held its "
        "block (soft RLIMIT_AS %llu MiB: %lu MiB in use + one block + %lu MiB)",
        race.failed_round, ROUNDS, BLOCK_BYTES >> 20, sc_errno_name(race.failed_errno),
        (unsigned long long)(soft >> 20), in_use >> 20, SLACK_BYTES >> 20);
  printf(
      "paper_race: %d rounds of two threads taking turns with %lu MiB blocks: every "
      "allocation succeeded\n",
      ROUNDS, BLOCK_BYTES >> 20);
  return SC_OK;
}
