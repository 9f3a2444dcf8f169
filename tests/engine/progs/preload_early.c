// SPDX-License-Identifier: Apache-2.0
/* Calls before main: one from the executable's .preinit_array, which the
 * loader runs before any shared library's initialiser (the preload library's
 * constructor included), and one from a constructor. Each opens
 * /etc/hostname; main reports both results and exits 0 when both opened. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int preinit_fd = -2;
static int preinit_errno;
static int constructor_fd = -2;
static int constructor_errno;

static void before_libraries(int argc, char** argv, char** envp) {
  (void)argc;
  (void)argv;
  (void)envp;
  preinit_fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  preinit_errno = errno;
}

__attribute__((section(".preinit_array"),
               used)) static void (*const preinit)(int, char**, char**) = before_libraries;

__attribute__((constructor)) static void before_main(void) {
  constructor_fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  constructor_errno = errno;
}

int main(void) {
  printf("preinit: %d (%s), constructor: %d (%s)\n", preinit_fd,
         preinit_fd < 0 ? strerror(preinit_errno) : "ok", constructor_fd,
         constructor_fd < 0 ? strerror(constructor_errno) : "ok");
  return preinit_fd >= 0 && constructor_fd >= 0 ? 0 : 1;
}
