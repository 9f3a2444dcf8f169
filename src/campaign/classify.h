// SPDX-License-Identifier: Apache-2.0
// How a run is judged against the golden run (docs/campaign.md, "Outcomes").
//
// A timeout is `hung` and a signal `crashed`, whatever else. A run that left
// everything as the golden run did (exit status, standard output and error,
// every --compare file, and the --check) is `tolerated`. Otherwise an exit
// status of 0 with different output or files, or a failed check, is
// `corrupted`: the program says it succeeded and did not. A non-zero exit is
// `handled`: the program noticed and said so. Standard error is not "output"
// here: a run whose only difference is what it wrote to standard error (a
// warning) with its output and files intact is `handled`, not `corrupted`.
#pragma once

#include "campaign/campaign.h"

namespace ftsc::campaign {

Outcome classify(const Observation& golden, const Observation& run);

}  // namespace ftsc::campaign
