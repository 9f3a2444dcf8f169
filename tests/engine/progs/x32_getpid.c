/* SPDX-License-Identifier: Apache-2.0 */
/* Makes getpid through the x32 ABI: the 64-bit `syscall` instruction with bit
 * 30 of the number set (__X32_SYSCALL_BIT; x32 getpid = 39). The kernel runs
 * it when it has x32 enabled and fails it with ENOSYS otherwise; seccomp sees
 * it either way, as a call of another architecture than x86_64's. Prints which
 * of the two happened, so that a run under ftsc can be compared with a native
 * one; exits 1 if the answer is neither. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(0x40000000L | 39L) : "rcx", "r11", "memory");
  if (ret == (long)getpid()) {
    printf("x32 getpid ok\n");
    return 0;
  }
  if (ret == -38) { /* -ENOSYS */
    printf("x32 getpid: ENOSYS (x32 is off)\n");
    return 0;
  }
  fprintf(stderr, "x32 getpid returned %ld, getpid %ld\n", ret, (long)getpid());
  return 1;
}
