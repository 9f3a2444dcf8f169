// SPDX-License-Identifier: Apache-2.0
// The -v line for one attempt of a call an engine handled, in the same words
// for every engine.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "decide/retry_unit.h"

namespace ftsc::stats {

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

}  // namespace ftsc::stats
