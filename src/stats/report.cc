// SPDX-License-Identifier: Apache-2.0
#include "stats/report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::stats {
namespace {

uint64_t load(const uint64_t& counter) {
  return __atomic_load_n(&counter, __ATOMIC_RELAXED);
}

// Every counter of a row, with its JSON key and Prometheus family, in one
// place so that the formats cannot drift apart.
struct Counter {
  const char* key;  // JSON field, and the abi/stats.h name
  uint64_t StatsRow::*field;
  const char* metric;  // Prometheus family
  const char* help;
};
constexpr std::array<Counter, 11> kCounters = {{
    {"calls", &StatsRow::calls, "ftsc_failed_calls_total",
     "Calls whose first attempt failed, by syscall and the errno of that first failure."},
    {"attempts", &StatsRow::attempts, "ftsc_failed_call_attempts_total",
     "Attempts the failed calls made (first attempts and retries)."},
    {"retries", &StatsRow::retries, "ftsc_retries_total", "Re-executions of failed calls."},
    {"recovered", &StatsRow::recovered, "ftsc_recovered_calls_total",
     "Calls that succeeded after at least one retry."},
    {"gave_up", &StatsRow::gave_up, "ftsc_gave_up_calls_total",
     "Calls that were retried and still returned an error."},
    {"passed", &StatsRow::passed, "ftsc_passed_calls_total",
     "Failed calls returned at once: no rule, a never rule, or a guard."},
    {"would_retry", &StatsRow::would_retry, "ftsc_would_retry_calls_total",
     "Calls observe mode or --dry-run would have retried."},
    {"budget", &StatsRow::budget, "ftsc_budget_passed_calls_total",
     "Calls passed through because the retry budget was spent."},
    {"interrupted", &StatsRow::interrupted, "ftsc_interrupted_calls_total",
     "Calls whose wait a signal ended (part of gave_up)."},
    {"guard_unknown", &StatsRow::guard_unknown, "ftsc_guard_unknown_calls_total",
     "Failed calls not retried because a guard could not be checked (part of passed and "
     "gave_up)."},
    {"injected", &StatsRow::injected, "ftsc_injected_failures_total",
     "Attempts failed by injection instead of being executed."},
}};

// "160ms", "12.5ms", "1.23s", "2m05s": three significant digits, for people.
std::string human_duration(uint64_t ns) {
  if (ns == 0)
    return "0";
  if (ns < 1000)
    return fmt::format("{}ns", ns);
  if (ns >= 60'000'000'000ULL) {
    const uint64_t s = (ns + 500'000'000ULL) / 1'000'000'000ULL;
    if (s >= 3600)
      return fmt::format("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  double v = static_cast<double>(ns);
  const char* unit = "us";
  v /= 1e3;
  if (v >= 999.5) {
    v /= 1e3;
    unit = "ms";
  }
  if (v >= 999.5) {
    v /= 1e3;
    unit = "s";
  }
  std::string n = fmt::format("{:.{}f}", v, v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2);
  if (n.find('.') != std::string::npos) {
    while (n.back() == '0')
      n.pop_back();
    if (n.back() == '.')
      n.pop_back();
  }
  return n + unit;
}

// Exact decimal seconds: 160000000 -> "0.16".
std::string decimal_seconds(uint64_t ns) {
  std::string s = fmt::format("{}.{:09}", ns / 1'000'000'000ULL, ns % 1'000'000'000ULL);
  while (s.back() == '0')
    s.pop_back();
  if (s.back() == '.')
    s.pop_back();
  return s;
}

}  // namespace

std::string escape_prometheus_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

nlohmann::ordered_json counters_json(const StatsRow& r) {
  nlohmann::ordered_json j;
  for (const Counter& c : kCounters)
    j[c.key] = r.*c.field;
  j["wait_ns"] = r.wait_ns;
  j["in_flight"] = r.in_flight;
  return j;
}

}  // namespace

bool StatsRow::empty() const {
  for (const Counter& c : kCounters)
    if (this->*c.field != 0)
      return false;
  return wait_ns == 0 && in_flight == 0;
}

StatsRow& StatsRow::operator+=(const StatsRow& o) {
  for (const Counter& c : kCounters)
    this->*c.field += o.*c.field;
  wait_ns += o.wait_ns;
  in_flight += o.in_flight;
  return *this;
}

void StatsSnapshot::end_abandoned_calls() {
  for (StatsRow& r : rows) {
    r.gave_up += r.in_flight;
    r.interrupted += r.in_flight;
    r.in_flight = 0;
  }
}

StatsRow StatsSnapshot::total() const {
  StatsRow t;
  for (const StatsRow& r : rows)
    t += r;
  return t;
}

std::string stats_syscall_label(int nr) {
  std::string_view n = kb::syscall_name(nr);
  return n.empty() ? fmt::format("syscall_{}", nr) : std::string(n);
}

std::string stats_row_label(const StatsRow& r) {
  return r.async ? stats_syscall_label(r.nr) + " (async)" : stats_syscall_label(r.nr);
}

std::string stats_errno_label(int err) {
  std::string_view n = kb::errno_name(err);
  return n.empty() ? fmt::format("errno_{}", err) : std::string(n);
}

base::Result<StatsSnapshot> read_stats(const ftsc_stats& stats) {
  if (load(stats.magic) != FTSC_STATS_MAGIC)
    return base::Error{"not an ftsc statistics table (bad magic)",
                       {},
                       "pass the statistics mapping an ftsc engine wrote"};
  if (__atomic_load_n(&stats.version, __ATOMIC_RELAXED) != FTSC_STATS_VERSION ||
      __atomic_load_n(&stats.n_slots, __ATOMIC_RELAXED) != FTSC_STATS_SLOTS)
    return base::Error{
        fmt::format("statistics table has version {} with {} slots; this ftsc reads "
                    "version {} with {} slots",
                    stats.version, stats.n_slots, FTSC_STATS_VERSION, FTSC_STATS_SLOTS),
        {},
        "read it with the ftsc that wrote it"};
  StatsSnapshot s;
  s.dropped = load(stats.dropped);
  s.budget_trips = load(stats.budget_trips);
  for (const ftsc_stats_slot& slot : stats.slots) {
    const uint32_t key = __atomic_load_n(&slot.key, __ATOMIC_ACQUIRE);
    if (key == 0)
      continue;
    StatsRow r;
    r.nr = FTSC_STATS_KEY_NR(key);
    r.async = (r.nr & FTSC_STATS_ASYNC) != 0;
    r.nr &= ~FTSC_STATS_ASYNC;
    r.err = FTSC_STATS_KEY_ERRNO(key);
    r.calls = load(slot.calls);
    r.attempts = load(slot.attempts);
    r.retries = load(slot.retries);
    r.recovered = load(slot.recovered);
    r.gave_up = load(slot.gave_up);
    r.passed = load(slot.passed);
    r.would_retry = load(slot.would_retry);
    r.budget = load(slot.budget);
    r.interrupted = load(slot.interrupted);
    r.guard_unknown = load(slot.guard_unknown);
    r.injected = load(slot.injected);
    r.wait_ns = load(slot.wait_ns);
    r.in_flight = load(slot.in_flight);
    if (!r.empty())
      s.rows.push_back(r);
  }
  auto order = [](const StatsRow& r) {
    return std::make_tuple(stats_syscall_label(r.nr), r.nr, r.async, stats_errno_label(r.err),
                           r.err);
  };
  std::sort(s.rows.begin(), s.rows.end(),
            [&](const StatsRow& a, const StatsRow& b) { return order(a) < order(b); });
  return s;
}

std::string format_stats_table(const StatsSnapshot& s) {
  std::string out;
  const StatsRow total = s.total();
  if (s.rows.empty()) {
    out += "ftsc: no intercepted system call failed\n";
  } else {
    // Columns that are all zero in observe-only or budget-free runs stay out of the way.
    struct Column {
      const char* title;
      uint64_t StatsRow::*field;
    };
    std::vector<Column> cols = {{"calls", &StatsRow::calls},
                                {"retries", &StatsRow::retries},
                                {"recovered", &StatsRow::recovered},
                                {"gave up", &StatsRow::gave_up},
                                {"passed", &StatsRow::passed}};
    if (total.would_retry != 0)
      cols.push_back({"would retry", &StatsRow::would_retry});
    if (total.budget != 0)
      cols.push_back({"budget", &StatsRow::budget});
    if (total.in_flight != 0)
      cols.push_back({"in flight", &StatsRow::in_flight});
    cols.push_back({"injected", &StatsRow::injected});

    std::vector<std::vector<std::string>> cells;
    auto add_line = [&](std::string sc, std::string err, const StatsRow& r) {
      std::vector<std::string> line = {std::move(sc), std::move(err)};
      for (const Column& c : cols)
        line.push_back(fmt::format("{}", r.*c.field));
      line.push_back(human_duration(r.wait_ns));
      cells.push_back(std::move(line));
    };
    std::vector<std::string> header = {"syscall", "errno"};
    for (const Column& c : cols)
      header.emplace_back(c.title);
    header.emplace_back("waited");
    cells.push_back(header);
    for (const StatsRow& r : s.rows)
      add_line(stats_row_label(r), stats_errno_label(r.err), r);
    if (s.rows.size() > 1)
      add_line("total", "", total);

    std::vector<size_t> width(header.size(), 0);
    for (const auto& line : cells)
      for (size_t i = 0; i < line.size(); ++i)
        width[i] = std::max(width[i], line[i].size());
    out += "ftsc: retry summary\n";
    for (const auto& line : cells) {
      std::string text = " ";
      for (size_t i = 0; i < line.size(); ++i) {
        // Names align left, numbers right.
        if (i < 2)
          text += fmt::format(" {:<{}}", line[i], width[i]);
        else
          text += fmt::format("  {:>{}}", line[i], width[i]);
      }
      while (!text.empty() && text.back() == ' ')
        text.pop_back();
      out += text + "\n";
    }
  }
  if (s.budget_trips != 0)
    out += fmt::format(
        "ftsc: the retry budget ran out {} time{} (circuit breaker): until its window ended, "
        "failures went to the program without retries; raise the policy's budget if that was "
        "too early\n",
        s.budget_trips, s.budget_trips == 1 ? "" : "s");
  if (total.guard_unknown != 0)
    out += fmt::format(
        "ftsc: {} failed call{} not retried because ftsc could not check whether the error "
        "was the program's own protocol (a non-blocking fd, a socket timeout); -v says which "
        "guard and why\n",
        total.guard_unknown, total.guard_unknown == 1 ? " was" : "s were");
  if (s.dropped != 0)
    out += fmt::format(
        "ftsc: {} failed call{} not counted: the statistics table ({} syscall/errno pairs) was "
        "full\n",
        s.dropped, s.dropped == 1 ? " was" : "s were", FTSC_STATS_SLOTS);
  return out;
}

std::string format_stats_json(const StatsSnapshot& s) {
  nlohmann::ordered_json j;
  j["version"] = 1;  // the JSON format's, not the table's: fields are only ever added
  j["dropped"] = s.dropped;
  j["budget_trips"] = s.budget_trips;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const StatsRow& r : s.rows) {
    nlohmann::ordered_json row;
    row["syscall"] = stats_row_label(r);
    row["syscall_nr"] = r.nr;
    row["errno"] = stats_errno_label(r.err);
    row["errno_nr"] = r.err;
    row.update(counters_json(r));
    if (r.async)
      row["async"] = true;
    rows.push_back(std::move(row));
  }
  j["rows"] = std::move(rows);
  j["total"] = counters_json(s.total());
  return j.dump(2) + "\n";
}

std::string format_stats_prometheus(const StatsSnapshot& s, const MetricLabels& constant) {
  std::string out;
  std::string common;  // the labels every series carries, each followed by a comma
  for (const auto& [name, value] : constant)
    common += fmt::format("{}=\"{}\",", name, escape_prometheus_label(value));
  std::vector<std::string> labels;
  labels.reserve(s.rows.size());
  for (const StatsRow& r : s.rows)
    labels.push_back(fmt::format("{{{}syscall=\"{}\",errno=\"{}\"}}", common,
                                 escape_prometheus_label(stats_row_label(r)),
                                 escape_prometheus_label(stats_errno_label(r.err))));
  const std::string run_labels =
      common.empty() ? "" : "{" + common.substr(0, common.size() - 1) + "}";
  auto family = [&](const char* name, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
  };
  for (const Counter& c : kCounters) {
    family(c.metric, c.help);
    for (size_t i = 0; i < s.rows.size(); ++i)
      out += fmt::format("{}{} {}\n", c.metric, labels[i], s.rows[i].*c.field);
  }
  family("ftsc_wait_seconds_total", "Time spent waiting between attempts, in seconds.");
  for (size_t i = 0; i < s.rows.size(); ++i)
    out += fmt::format("ftsc_wait_seconds_total{} {}\n", labels[i],
                       decimal_seconds(s.rows[i].wait_ns));
  out +=
      "# HELP ftsc_failed_calls_in_flight Failed calls not ended yet (waiting between "
      "attempts).\n"
      "# TYPE ftsc_failed_calls_in_flight gauge\n";
  for (size_t i = 0; i < s.rows.size(); ++i)
    out += fmt::format("ftsc_failed_calls_in_flight{} {}\n", labels[i], s.rows[i].in_flight);
  family("ftsc_dropped_failed_calls_total",
         "Failed calls not counted because the statistics table was full.");
  out += fmt::format("ftsc_dropped_failed_calls_total{} {}\n", run_labels, s.dropped);
  family("ftsc_budget_trips_total", "Times a process's retry budget ran out (circuit breaker).");
  out += fmt::format("ftsc_budget_trips_total{} {}\n", run_labels, s.budget_trips);
  return out;
}

}  // namespace ftsc::stats
