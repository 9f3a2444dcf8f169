// SPDX-License-Identifier: Apache-2.0
/* Makes a syscall through the 32-bit entry point (int 0x80, i386 getpid = 20)
 * and compares it with the native getpid: the filter must allow other
 * architectures' entry points, not kill the process. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  if (ret != (long)getpid()) {
    fprintf(stderr, "int 0x80 getpid returned %ld, getpid %ld\n", ret, (long)getpid());
    return 1;
  }
  printf("int 0x80 ok\n");
  return 0;
}
