// SPDX-License-Identifier: Apache-2.0
/* A statically linked program (see tests/CMakeLists.txt): no dynamic loader,
 * so no preload library. Calls getppid() and says so. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("getppid: %s\n", getppid() > 0 ? "ok" : "failed");
  return 0;
}
