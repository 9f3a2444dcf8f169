// SPDX-License-Identifier: Apache-2.0
/* A 32-bit program (built with -m32, no C library): exits with status 3
 * through the 32-bit entry point. */
void _start(void) {
  __asm__ volatile("movl $1, %eax\n movl $3, %ebx\n int $0x80");
  for (;;) {
  }
}
