// SPDX-License-Identifier: Apache-2.0
// What a fault-injection campaign is: the golden run it compares against, the
// faults of its plan (one syscall failing with one errno at one occurrence),
// and every run with its outcome. The model the runner fills in and every
// output (table, JSON, HTML report, the suggested policy) reads.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftsc::campaign {

// How a run ended, compared with the golden run, best first.
enum class Outcome {
  kTolerated,  // same exit status, output, error output, files; the check passes
  kHandled,    // noticed and reported: a non-zero exit (no signal), or only the error output
               // differs while the output and files are intact
  kHung,       // still running at the timeout
  kCrashed,    // killed by a signal
  kCorrupted,  // exit status 0 but different output or files, or the check fails
};
inline constexpr size_t kOutcomes = 5;
// Worst first, as the table shows them.
inline constexpr std::array<Outcome, kOutcomes> kWorstFirst = {
    Outcome::kCorrupted, Outcome::kCrashed, Outcome::kHung, Outcome::kHandled, Outcome::kTolerated};
std::string_view outcome_name(Outcome o);
std::optional<Outcome> outcome_from_name(std::string_view name);
// How bad: 0 (tolerated) to 4 (corrupted).
int severity(Outcome o);

// One fault: attempt `occurrence` (counted from 1, per syscall per process, as
// `--inject when=K` counts) of syscall nr fails with err, without being executed.
struct Fault {
  int nr = 0;
  int err = 0;
  uint64_t occurrence = 1;
  bool operator==(const Fault&) const = default;
};
std::string fault_label(const Fault& f);  // "write ENOSPC #3"

// What one execution of the command left behind, as the classifier compares it.
struct Observation {
  bool timed_out = false;
  bool signaled = false;
  int term_signal = 0;
  int exit_status = 0;  // 128 + signal when signaled
  std::string stdout_digest;
  std::string stderr_digest;
  std::map<std::string, std::string> compare_digests;  // --compare path -> digest ("" missing)
  std::optional<bool> check_passed;                    // --check, when given
};

// The golden run: the command as it is.
struct Golden {
  Observation observed;
  double duration_s = 0;
  std::map<int, uint64_t> calls;  // syscall nr -> calls in the whole process tree
};

// One run of the plan.
struct Run {
  int pass = 1;  // 1: the fault alone; 2: the fault under the policy
  Fault fault;
  Outcome outcome = Outcome::kTolerated;
  int exit_status = 0;
  int term_signal = 0;  // 0: not killed by a signal
  double duration_s = 0;
  uint64_t injected = 0;  // how many times the engine injected the fault
  std::optional<bool> check_passed;
  std::string stderr_tail;
  std::string error;  // the run could not be made (ftsc's own failure); outcome then meaningless
};

// Runs per outcome.
struct Tally {
  std::array<uint64_t, kOutcomes> n{};
  uint64_t total() const;
  uint64_t operator[](Outcome o) const { return n[static_cast<size_t>(o)]; }
  void add(Outcome o) { ++n[static_cast<size_t>(o)]; }
};

struct Campaign {
  std::vector<std::string> command;
  std::string started;  // UTC, ISO 8601
  Golden golden;
  std::vector<std::string> compare;  // as given
  std::string check;                 // as given
  double timeout_s = 0;
  unsigned jobs = 1;
  uint64_t seed = 0;
  size_t planned = 0;  // faults before --max-runs sampling
  std::vector<Fault> plan;
  std::vector<Run> runs;      // pass 1, then pass 2, each in plan order
  std::string policy_source;  // "derived", a file name, or "" for no second pass
  std::string policy_text;    // the policy of the second pass
  // The second pass's reference: the command under the policy, no fault.
  std::optional<Observation> with_policy;
  bool interrupted = false;  // ended by Ctrl-C or SIGTERM: runs are those done

  Tally tally(int pass) const;
};

// "N faults: a tolerated, b handled, c crashed, d hung, e corrupted; with the policy: ...".
std::string format_summary(const Campaign& c);

}  // namespace ftsc::campaign
