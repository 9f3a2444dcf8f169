// SPDX-License-Identifier: Apache-2.0
// `ftsc run --metrics FILE`: the statistics as Prometheus text for a textfile
// collector (node_exporter's), replaced whole (base/atomic_file.h) every
// --metrics-interval while the command runs and once more when the run is
// over, so that a reader never sees a part and a long-running service's
// counters move while it runs. A thread of ftsc reads the engines' table
// (every counter with an atomic load, stats::read_stats) and writes the file;
// the engines never wait for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "abi/stats.h"
#include "stats/report.h"

namespace ftsc::cli {

class MetricsWriter {
 public:
  // path empty: writes nothing. interval zero: only the last write.
  MetricsWriter(std::string path, stats::MetricLabels labels, std::chrono::nanoseconds interval);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Starts writing table every interval, until finish().
  void start(const ftsc_stats& table);
  // Stops the periodic writes and writes the run's final snapshot; throws
  // UserError when the file cannot be written.
  void finish(const stats::StatsSnapshot& final);

 private:
  void stop();
  void loop(const ftsc_stats* table);

  std::string path_;
  stats::MetricLabels labels_;
  std::chrono::nanoseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ftsc::cli
