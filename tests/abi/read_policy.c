// SPDX-License-Identifier: Apache-2.0
/*
 * A plain C reader of compiled policies: proves that C code (as the kernel
 * module will) can validate a block the C++ policy compiler wrote and look cells up.
 *
 *   read_policy FILE SYSCALL_NR ERRNO [ATTEMPT]
 * prints "valid", then "decision D schedule S delays N: d1 d2 ...", then
 * "inject E" for attempt ATTEMPT (default 1), or the validation error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "abi/compiled_policy.h"

int main(int argc, char** argv) {
  static struct ftsc_policy p; /* too large for the stack of a small program */
  FILE* f;
  size_t n;
  long nr, err;
  unsigned long long attempt = 1;
  uint8_t cell;
  int invalid;
  if (argc < 4) {
    fprintf(stderr, "usage: read_policy FILE SYSCALL_NR ERRNO [ATTEMPT]\n");
    return 2;
  }
  f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  n = fread(&p, 1, sizeof p, f);
  if (n == sizeof p && fgetc(f) != EOF)
    n++; /* longer than a policy */
  fclose(f);
  invalid = ftsc_policy_validate(&p, n);
  if (invalid != FTSC_POLICY_OK) {
    printf("invalid: %s\n", ftsc_policy_validate_message(invalid));
    return 1;
  }
  nr = strtol(argv[2], NULL, 10);
  err = strtol(argv[3], NULL, 10);
  if (argc > 4)
    attempt = strtoull(argv[4], NULL, 10);
  printf("valid\n");
  cell = ftsc_policy_cell(&p, nr, err);
  printf("decision %u schedule %u", FTSC_CELL_DECISION(cell), FTSC_CELL_SCHEDULE(cell));
  if (FTSC_CELL_DECISION(cell) == FTSC_RETRY) {
    const struct ftsc_schedule* s = &p.schedules[FTSC_CELL_SCHEDULE(cell)];
    uint32_t i;
    printf(" delays %u:", s->n_delays);
    for (i = 0; i < s->n_delays; i++)
      printf(" %llu", (unsigned long long)s->delay_ns[i]);
  }
  printf("\n");
  if (nr >= 0 && (unsigned long)nr < FTSC_NR_LIMIT)
    printf("flags 0x%x\n", p.syscalls[nr].flags);
  printf("inject %d\n", ftsc_policy_inject(&p, nr, attempt));
  return 0;
}
