// SPDX-License-Identifier: Apache-2.0
/* efault_passes (guard): a call with a bad pointer gets EFAULT at once.
 *
 * EFAULT is a bug in the program, never a transient fault: the checker refuses
 * to retry it and engines never do (docs/design.md, guards). The scenario policy
 * retries read on another errno (EIO), so the engine traces read, sees the
 * failure and must pass it through. read(2) from a pipe that holds data, into
 * the address 1, fails with EFAULT and leaves the data in the pipe; a good
 * read afterwards gets it all. The runner checks the statistics: the read
 * EFAULT call was passed, never retried. */
#include "scenario.h"

#define DATA "sixteen bytes..."

int main(void) {
  sc_name = "efault_passes";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    sc_setup_error("pipe2: %s", strerror(errno));
  if (write(fds[1], DATA, sizeof DATA - 1) != (ssize_t)(sizeof DATA - 1))
    sc_setup_error("filling the pipe: %s", strerror(errno));

  /* Through a volatile, so that the compiler does not reject the bad pointer. */
  volatile uintptr_t bad_address = 1;
  void* const bad = (void*)bad_address;
  const ssize_t n = read(fds[0], bad, sizeof DATA - 1);
  const int err = errno;
  char good[sizeof DATA] = "";
  const ssize_t after = read(fds[0], good, sizeof DATA - 1);
  close(fds[0]);
  close(fds[1]);

  if (n != -1 || err != EFAULT)
    sc_fail("read into the address 1 returned %zd (%s), expected -1 with EFAULT", n,
            n < 0 ? sc_errno_name(err) : "no error");
  if (after != (ssize_t)(sizeof DATA - 1) || strcmp(good, DATA) != 0)
    sc_fail("the read after EFAULT got %zd bytes, expected the %zu bytes still in the pipe", after,
            sizeof DATA - 1);
  return SC_OK;
}
