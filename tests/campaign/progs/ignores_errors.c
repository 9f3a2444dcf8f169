// SPDX-License-Identifier: Apache-2.0
// A program with the classic blunders a fault-injection campaign finds:
// it ignores what write(2) returns (a failed write loses a line silently and
// the program still exits 0: `corrupted`), it uses the FILE* fopen(3) returns
// without looking (a failed open is a crash: `crashed`), and the table it
// takes from malloc(3) is used without a NULL check too (glibc's malloc falls
// back from mmap to brk, so no single failed call makes it return NULL).
//   ignores_errors IN OUT   reads a count N from IN, writes N numbered lines to
//                           OUT, one write each, then the sum of a table to stdout
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: ignores_errors IN OUT\n");
    return 2;
  }
  FILE* in = fopen(argv[1], "r");
  char text[32];
  int lines = atoi(fgets(text, sizeof text, in));  // blunder: in may be NULL
  fclose(in);
  int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(argv[2]);
    return 1;
  }
  for (int i = 1; i <= lines; ++i) {
    char line[32];
    int n = snprintf(line, sizeof line, "line %d\n", i);
    (void)!write(fd, line, (size_t)n);  // blunder: the result is ignored
  }
  close(fd);
  // Large enough for malloc to map it (mmap), not to take it from the heap.
  size_t n = 1u << 20;
  unsigned* table = malloc(n * sizeof *table);
  for (size_t i = 0; i < n; ++i)  // blunder: table may be NULL
    table[i] = (unsigned)i;
  unsigned long long sum = 0;
  for (size_t i = 0; i < n; i += 4096)
    sum += table[i];
  printf("sum %llu\n", sum);
  return 0;
}
