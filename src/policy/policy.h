// SPDX-License-Identifier: Apache-2.0
// The policy as written: what a TOML file, the command-line rules (--retry,
// --backoff, --inject) or an imported retry matrix say, with where each piece
// came from. Names are kept as written; resolve() (effective_policy.h) checks
// them against the syscall table, the errno table and the knowledge base and
// computes the effective matrix that the compiler turns into the ABI block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "base/source_loc.h"

namespace ftsc::policy {

// A syscall, a %group, or an errno as written, with its position.
struct Named {
  std::string text;
  base::SourceLoc where;
};

// How long to wait before each retry.
struct BackoffSpec {
  enum class Form { kList, kExponential };
  Form form = Form::kList;
  std::vector<base::Nanos> delays;  // kList: the delays before retry 1, 2, ...
  // kExponential: delay i (from 0) = min(cap, base * factor^i), for `attempts` retries.
  base::Nanos base{0};
  double factor = 2.0;
  base::Nanos cap{0};
  int attempts = 0;
  base::SourceLoc where;

  // The paper's schedule: 10 ms, 50 ms, 100 ms.
  static BackoffSpec paper_default();
  // The delays this schedule produces, in order.
  std::vector<base::Nanos> expand() const;
  bool operator==(const BackoffSpec& o) const { return expand() == o.expand(); }
};

// One rule: these syscalls, on these errnos, retry (or never), with this schedule.
struct RuleSpec {
  std::vector<Named> syscalls;          // "openat", "%file"
  std::vector<Named> retry;             // errnos to retry
  std::vector<Named> never;             // errnos never to retry
  std::vector<Named> undecided;         // a matrix's `?` cells
  std::vector<Named> not_applicable;    // a matrix's `-` cells (informational)
  std::optional<BackoffSpec> backoff;   // else the policy's default
  std::optional<double> jitter;         // fraction 0..1; else the default
  std::optional<base::Nanos> deadline;  // else the default
  base::SourceLoc where;                // the rule's first line, or the flag
  std::string origin;                   // "[[rule]]", "--retry", "matrix row"
};

// Which processes the system-wide engine affects. Nothing unless stated.
struct TargetSpec {
  std::optional<std::string> cgroup;  // cgroup v2 path
  std::optional<uint32_t> uid;
  std::optional<int32_t> pid;  // a process (thread group) id
  std::optional<std::string> comm;
  bool all = false;  // explicit system-wide
  base::SourceLoc where;
  bool empty() const { return !cgroup && !uid && !pid && !comm && !all; }
};

// One --inject: SYSCALL[,SYSCALL...]:error=ERRNO[:when=FIRST[..LAST][+[STEP]]][:p=P][:seed=N]
struct InjectSpec {
  std::vector<Named> syscalls;
  Named error;
  uint32_t first = 1;          // attempts counted from 1, per syscall per process
  uint32_t last = UINT32_MAX;  // UINT32_MAX: no end
  uint32_t step = 1;
  std::optional<double> probability;  // 0..1
  uint64_t seed = 0;
  base::SourceLoc where;
  std::string text;  // as written, for messages
};

enum class Mode { kEnforce, kObserve };

// Circuit breaker: per process, at most max_wait spent waiting in any window.
struct BudgetSpec {
  base::Nanos window = std::chrono::seconds(10);
  base::Nanos max_wait = std::chrono::seconds(2);
  base::SourceLoc where;
};

struct PolicySpec {
  std::string source;  // the file, or "command line"
  Mode mode = Mode::kEnforce;
  base::SourceLoc mode_where;
  BackoffSpec default_backoff = BackoffSpec::paper_default();
  double default_jitter = 0.0;
  std::optional<base::Nanos> default_deadline;
  BudgetSpec budget;
  TargetSpec target;
  std::vector<RuleSpec> rules;
  std::vector<InjectSpec> injects;
};

const char* mode_name(Mode m);

// Whether two policies say the same: every field a policy file can express is
// compared; positions (where), source and rule origins are not. The round-trip
// tests and the fuzzer check parse(write(p)) against p with it.
bool equivalent_policies(const PolicySpec& a, const PolicySpec& b);

}  // namespace ftsc::policy
