// SPDX-License-Identifier: Apache-2.0
#include "campaign/classify.h"

namespace ftsc::campaign {

Outcome classify(const Observation& golden, const Observation& run) {
  if (run.timed_out)
    return Outcome::kHung;
  if (run.signaled)
    return Outcome::kCrashed;
  const bool data_same = run.stdout_digest == golden.stdout_digest &&
                         run.compare_digests == golden.compare_digests &&
                         run.check_passed.value_or(true);
  const bool status_same = run.exit_status == golden.exit_status;
  if (status_same && data_same && run.stderr_digest == golden.stderr_digest)
    return Outcome::kTolerated;
  if (run.exit_status == 0 && !data_same)
    return Outcome::kCorrupted;
  return Outcome::kHandled;
}

}  // namespace ftsc::campaign
