// SPDX-License-Identifier: Apache-2.0
#include "cli/metrics.h"

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "cli/common.h"

namespace ftsc::cli {

MetricsWriter::MetricsWriter(std::string path, stats::MetricLabels labels,
                             std::chrono::nanoseconds interval)
    : path_(std::move(path)), labels_(std::move(labels)), interval_(interval) {}

MetricsWriter::~MetricsWriter() {
  stop();
}

void MetricsWriter::start(const ftsc_stats& table) {
  if (path_.empty() || interval_.count() <= 0 || thread_.joinable())
    return;
  thread_ = std::thread([this, t = &table] { loop(t); });
}

void MetricsWriter::loop(const ftsc_stats* table) {
  bool said = false;  // a failed write is said once, the run goes on
  std::unique_lock lock(mutex_);
  for (;;) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; }))
      return;
    auto snapshot = stats::read_stats(*table);
    if (!snapshot)
      continue;
    auto written =
        base::write_file_atomically(path_, stats::format_stats_prometheus(*snapshot, labels_));
    if (!written && !said) {
      fmt::print(stderr, "ftsc: {} (the run goes on; tried again every interval)\n",
                 written.error().message);
      said = true;
    }
  }
}

void MetricsWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void MetricsWriter::finish(const stats::StatsSnapshot& final) {
  stop();
  if (path_.empty())
    return;
  auto written = base::write_file_atomically(path_, stats::format_stats_prometheus(final, labels_));
  if (!written)
    throw UserError{written.error().message, written.error().hint};
}

}  // namespace ftsc::cli
