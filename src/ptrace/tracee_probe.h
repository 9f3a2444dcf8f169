// SPDX-License-Identifier: Apache-2.0
//
// Run-time guard checks on a traced thread's file descriptors: O_NONBLOCK
// from /proc/TID/fdinfo (proc(5)), socket timeouts through a duplicate of the
// fd taken with pidfd_getfd(2). A check that cannot be made (fdinfo
// unreadable, the fd gone between the two stops, pidfd_open or pidfd_getfd
// refused, as Docker's default seccomp profile refuses pidfd_getfd without
// CAP_SYS_PTRACE) answers the errno, and the guard counts as holding.
#pragma once

#include <sys/types.h>

#include "decide/retry_unit.h"

namespace ftsc::ptrace {

class TraceeProbe final : public decide::GuardProbe {
 public:
  TraceeProbe(pid_t tid, pid_t tgid) : tid_(tid), tgid_(tgid) {}
  int fd_nonblocking(int fd) override;
  int socket_timeout(int fd, bool send) override;

 private:
  pid_t tid_;
  pid_t tgid_;
};

}  // namespace ftsc::ptrace
