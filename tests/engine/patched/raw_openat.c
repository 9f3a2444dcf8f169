// SPDX-License-Identifier: Apache-2.0
/* A library with a `syscall` instruction of its own, for the preload
 * library's patching of libraries loaded with dlopen: raw_openat(path)
 * opens path read-only with `mov $257, %eax; syscall` and returns the
 * kernel's result (a descriptor or -errno). */
long raw_openat(const char* path) {
  long r;
  __asm__ volatile("mov $257, %%eax\n\tsyscall"
                   : "=a"(r)
                   : "D"(-100L), "S"(path), "d"(0L)
                   : "rcx", "r11", "memory");
  return r;
}
