// SPDX-License-Identifier: Apache-2.0
// How a command ended, as every engine and the CLI say it: its exit status as a
// shell would give it (127 not found, 126 not executable, 128 + a signal).
#pragma once

namespace ftsc::launch {

// How the command ended.
struct RunOutcome {
  bool exec_failed = false;  // the command could not be executed (exit_code 127 or 126)
  int exec_errno = 0;
  bool signaled = false;  // the command died by signal term_signal
  int term_signal = 0;
  int exit_code = 0;  // the exit status, or 128 + signal
};

// The outcome of a command that could not be executed: 127 when it was not
// found, 126 otherwise, as a shell says.
RunOutcome exec_failure(int err);

// The outcome of a command whose wait(2) status is `status`.
RunOutcome outcome_of_status(int status);

}  // namespace ftsc::launch
