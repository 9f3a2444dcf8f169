// What both engines report about a run in the same words: how the command
// ended (RunOutcome), and the -v line for one attempt of a handled call.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "decide/retry_unit.h"

namespace ftsc::core {

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

// One attempt of a call an engine handled, as -v logs it.
struct AttemptLog {
  long tid = 0;
  long nr = -1;
  uint64_t arg0 = 0, arg1 = 0;
  long result = 0;            // the kernel's result of the attempt (-errno on failure)
  decide::Decision decision;  // what the retry decision said
  uint32_t retries = 0;       // retries decided so far in the call
  uint32_t n_delays = 0;      // retries the schedule allows
  bool injected = false;      // the attempt was injected
  std::string layer;          // under `auto`: the engine that handled it ("preload", "ptrace")
};

// "ftsc: [pid 123] mmap(0, 134217728, ...) = -ENOMEM, retry 1/3 in 10ms\n",
// with " (LAYER)" before the newline when the layer is named. A call that
// succeeded at its first attempt, without injection, is not worth a line: "".
std::string format_attempt_log(const AttemptLog& a);

}  // namespace ftsc::core
