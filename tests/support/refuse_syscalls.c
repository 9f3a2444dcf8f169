/* SPDX-License-Identifier: Apache-2.0 */
/* refuse_syscalls: runs a command on a machine that refuses some syscalls.
 *
 *   refuse_syscalls [--errno NAME] SYSCALL[,SYSCALL...] -- COMMAND [ARG...]
 *
 * Installs a seccomp filter (libseccomp, seccomp(2)) under which every named
 * syscall fails with the errno (EPERM unless --errno says otherwise, as
 * Docker's default profile refuses what it does not allow), then execs
 * COMMAND. Every other syscall is allowed, other architectures' entry points
 * included. The filter is inherited by every process the command starts and
 * stacks with the filters they install themselves (ftsc's among them), so a
 * test run under it meets the refusal exactly where a user in such a
 * container would: `refuse_syscalls bpf -- ftsc_profile_tests` proves that the
 * eBPF tests skip with their reason, `refuse_syscalls pidfd_getfd -- ftsc run
 * ...` shows what an engine does when its guard cannot look at a socket.
 *
 * Without CAP_SYS_ADMIN the kernel wants no_new_privs first (seccomp(2)); it
 * is set only then, so that set-user-ID programs keep working for root.
 * Exits 125 when it cannot install the filter, 126/127 when COMMAND cannot
 * run (as env(1) does). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void usage(void) {
  fprintf(stderr,
          "usage: refuse_syscalls [--errno NAME] SYSCALL[,SYSCALL...] -- COMMAND [ARG...]\n");
  exit(125);
}

/* "EPERM" or "1" -> 1; -1 when it is neither. */
static int errno_of(const char* text) {
  char* end = NULL;
  long n = strtol(text, &end, 10);
  if (*text != '\0' && *end == '\0' && n > 0 && n < 4096)
    return (int)n;
  for (int e = 1; e < 4096; ++e) {
    const char* name = strerrorname_np(e);
    if (name != NULL && strcmp(name, text) == 0)
      return e;
  }
  return -1;
}

int main(int argc, char** argv) {
  int err = EPERM;
  int i = 1;
  if (i + 1 < argc && strcmp(argv[i], "--errno") == 0) {
    err = errno_of(argv[i + 1]);
    if (err < 0) {
      fprintf(stderr, "refuse_syscalls: '%s' is no errno\n", argv[i + 1]);
      return 125;
    }
    i += 2;
  }
  if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0)
    usage();
  char* names = argv[i];
  char** command = &argv[i + 2];

  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL || seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW) != 0 ||
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0 ||
      seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1) != 0) { /* the kernel's errno */
    fprintf(stderr, "refuse_syscalls: cannot create a seccomp filter (libseccomp)\n");
    return 125;
  }
  for (char* name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
      fprintf(stderr, "refuse_syscalls: '%s' is no syscall of this architecture\n", name);
      return 125;
    }
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)err), nr, 0);
    if (rc != 0) {
      fprintf(stderr, "refuse_syscalls: cannot add a rule for %s: %s\n", name, strerror(-rc));
      return 125;
    }
  }
  int rc = seccomp_load(ctx);
  if (rc == -EACCES) {
    /* No CAP_SYS_ADMIN: the kernel accepts a filter only with no_new_privs. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
      rc = seccomp_load(ctx);
  }
  seccomp_release(ctx);
  if (rc != 0) {
    fprintf(stderr, "refuse_syscalls: cannot load the seccomp filter: %s\n", strerror(-rc));
    return 125;
  }
  execvp(command[0], command);
  int exec_err = errno;
  fprintf(stderr, "refuse_syscalls: cannot run %s: %s\n", command[0], strerror(exec_err));
  return exec_err == ENOENT ? 127 : 126;
}
