// SPDX-License-Identifier: Apache-2.0
// Retry statistics as people and machines read them: a snapshot of an
// ftsc_stats table (abi/stats.h; it may still be written while we read, so
// every counter is copied with an atomic load), formatted as a compact table
// for stderr, as JSON (--stats FILE) or as Prometheus text exposition (for
// node_exporter's textfile collector).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "abi/stats.h"
#include "base/result.h"

namespace ftsc::stats {

// One (syscall, errno) pair's counters; abi/stats.h says what each one means.
struct StatsRow {
  int nr = 0;
  int err = 0;
  // The calls whose outcome came later than the call (a non-blocking
  // connect's SO_ERROR, or a second connect): the row "connect (async)".
  bool async = false;
  uint64_t calls = 0;
  uint64_t attempts = 0;
  uint64_t retries = 0;
  uint64_t recovered = 0;
  uint64_t gave_up = 0;
  uint64_t passed = 0;
  uint64_t would_retry = 0;
  uint64_t budget = 0;
  uint64_t interrupted = 0;
  uint64_t guard_unknown = 0;
  uint64_t injected = 0;
  uint64_t wait_ns = 0;
  uint64_t in_flight = 0;  // a gauge: calls counted but not ended yet

  bool empty() const;
  StatsRow& operator+=(const StatsRow& o);
  bool operator==(const StatsRow&) const = default;
};

struct StatsSnapshot {
  std::vector<StatsRow> rows;  // non-empty rows, sorted by syscall name, then errno name
  uint64_t dropped = 0;        // calls not counted: the table was full
  uint64_t budget_trips = 0;   // times a process's retry budget ran out

  StatsRow total() const;  // every counter summed (nr and err 0)

  // Once every process of a run is gone: a call still in flight was ended by
  // its thread's death during a wait (exit_group, SIGKILL) where no engine
  // could count it, as the supervisor counts a thread that dies while it
  // waits: gave up, interrupted.
  void end_abandoned_calls();
};

// Copies the table. Fails when it is not an ftsc_stats table of this version.
base::Result<StatsSnapshot> read_stats(const ftsc_stats& stats);

// The syscall's name, or "syscall_NR" when libseccomp has none.
std::string stats_syscall_label(int nr);
// The row's syscall as the table, JSON and Prometheus name it: the
// syscall's label, and " (async)" after it for an async row.
std::string stats_row_label(const StatsRow& r);
// The errno's glibc name, or "errno_N" when glibc has none.
std::string stats_errno_label(int err);

// The summary for stderr: one line per row, a total line, and lines saying
// when the budget tripped or calls were not counted. Ends with a newline.
std::string format_stats_table(const StatsSnapshot& s);

// {"version":1,"dropped":N,"budget_trips":N,"rows":[{"syscall":"openat",
//  "syscall_nr":257,"errno":"ENOENT","errno_nr":2,"calls":N,...}],"total":{...}}
// An async row says "syscall":"connect (async)", "syscall_nr":42 and, after
// its counters, "async":true.
std::string format_stats_json(const StatsSnapshot& s);

// Labels every series of a run carries, in this order before syscall and errno
// (for example engine, command, instance), so that writers stay apart.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Prometheus text exposition format 0.0.4, named for what each counts: counters
// ftsc_failed_calls_total{...,syscall,errno} (calls whose first attempt failed),
// ftsc_failed_call_attempts_total, ftsc_retries_total, ftsc_recovered_calls_total, ...,
// ftsc_wait_seconds_total, the gauge ftsc_failed_calls_in_flight, and
// ftsc_dropped_failed_calls_total and ftsc_budget_trips_total with the constant labels only.
std::string format_stats_prometheus(const StatsSnapshot& s, const MetricLabels& constant = {});

// A label value as the exposition format wants it: \\, \" and \n escaped.
std::string escape_prometheus_label(std::string_view value);

}  // namespace ftsc::stats
