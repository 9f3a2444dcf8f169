// SPDX-License-Identifier: Apache-2.0
#include "launch/outcome.h"

#include <sys/wait.h>

#include <cerrno>

namespace ftsc::launch {

RunOutcome exec_failure(int err) {
  RunOutcome out;
  out.exec_failed = true;
  out.exec_errno = err;
  out.exit_code = err == ENOENT ? 127 : 126;
  return out;
}

RunOutcome outcome_of_status(int status) {
  RunOutcome out;
  if (WIFSIGNALED(status)) {
    out.signaled = true;
    out.term_signal = WTERMSIG(status);
    out.exit_code = 128 + out.term_signal;
  } else {
    out.exit_code = WEXITSTATUS(status);
  }
  return out;
}

}  // namespace ftsc::launch
