// SPDX-License-Identifier: Apache-2.0
// Reading an ftsc_stats table and formatting it for people, JSON and Prometheus.
#include "stats/report.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <cerrno>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ftsc::stats {
namespace {

constexpr uint64_t kMs = 1'000'000;

std::unique_ptr<ftsc_stats> make_stats() {
  auto s = std::make_unique<ftsc_stats>();
  ftsc_stats_init(s.get());
  return s;
}

ftsc_stats_slot& slot(ftsc_stats& s, long nr, int err) {
  ftsc_stats_slot* p = ftsc_stats_slot_for(&s, nr, err);
  EXPECT_NE(p, nullptr);
  return *p;
}

// openat/ENOENT: 3 calls, 2 recovered, 1 gave up; read/EIO: passed; write/ENOSPC injected.
std::unique_ptr<ftsc_stats> sample() {
  auto s = make_stats();
  ftsc_stats_slot& o = slot(*s, SYS_openat, ENOENT);
  o.calls = 3;
  o.attempts = 9;
  o.retries = 6;
  o.recovered = 2;
  o.gave_up = 1;
  o.wait_ns = 160 * kMs;
  ftsc_stats_slot& r = slot(*s, SYS_read, EIO);
  r.calls = 4;
  r.attempts = 4;
  r.passed = 4;
  ftsc_stats_slot& w = slot(*s, SYS_write, ENOSPC);
  w.calls = 1;
  w.attempts = 2;
  w.retries = 1;
  w.recovered = 1;
  w.injected = 1;
  w.wait_ns = 1'234'567'890;
  ftsc_stats_slot& a = slot(*s, SYS_openat, EACCES);
  a.calls = 1;
  a.attempts = 1;
  a.passed = 1;
  slot(*s, SYS_close, EIO);  // claimed, never counted: not a row
  return s;
}

StatsSnapshot snapshot(const ftsc_stats& s) {
  base::Result<StatsSnapshot> r = read_stats(s);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : StatsSnapshot{};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

TEST(StatsReport, ReadsNonEmptyRowsSortedByName) {
  auto s = sample();
  s->dropped = 2;
  s->budget_trips = 1;
  StatsSnapshot snap = snapshot(*s);
  ASSERT_EQ(snap.rows.size(), 4u);
  // openat < read < write; within openat, EACCES < ENOENT.
  EXPECT_EQ(snap.rows[0].nr, SYS_openat);
  EXPECT_EQ(snap.rows[0].err, EACCES);
  EXPECT_EQ(snap.rows[1].nr, SYS_openat);
  EXPECT_EQ(snap.rows[1].err, ENOENT);
  EXPECT_EQ(snap.rows[2].nr, SYS_read);
  EXPECT_EQ(snap.rows[3].nr, SYS_write);
  EXPECT_EQ(snap.rows[1].attempts, 9u);
  EXPECT_EQ(snap.rows[1].wait_ns, 160 * kMs);
  EXPECT_EQ(snap.dropped, 2u);
  EXPECT_EQ(snap.budget_trips, 1u);
  StatsRow t = snap.total();
  EXPECT_EQ(t.calls, 9u);
  EXPECT_EQ(t.attempts, 16u);
  EXPECT_EQ(t.recovered, 3u);
  EXPECT_EQ(t.passed, 5u);
  EXPECT_EQ(t.injected, 1u);
  EXPECT_EQ(t.wait_ns, 160 * kMs + 1'234'567'890);
}

TEST(StatsReport, AnAsyncRowIsNamedApart) {
  auto s = make_stats();
  ftsc_stats_slot& now = slot(*s, SYS_connect, ECONNREFUSED);
  now.calls = now.attempts = now.passed = 1;
  ftsc_stats_slot& later = slot(*s, SYS_connect | FTSC_STATS_ASYNC, ECONNREFUSED);
  later.calls = later.recovered = later.retries = 1;
  later.attempts = 2;
  StatsSnapshot snap = snapshot(*s);
  ASSERT_EQ(snap.rows.size(), 2u);
  EXPECT_FALSE(snap.rows[0].async);
  EXPECT_TRUE(snap.rows[1].async);
  EXPECT_EQ(snap.rows[1].nr, SYS_connect);
  EXPECT_EQ(stats_row_label(snap.rows[1]), "connect (async)");
  EXPECT_NE(format_stats_table(snap).find("connect (async) ECONNREFUSED"), std::string::npos)
      << format_stats_table(snap);
  nlohmann::json j = nlohmann::json::parse(format_stats_json(snap));
  EXPECT_EQ(j["rows"][0]["syscall"], "connect");
  EXPECT_FALSE(j["rows"][0].contains("async"));
  EXPECT_EQ(j["rows"][1]["syscall"], "connect (async)");
  EXPECT_EQ(j["rows"][1]["syscall_nr"], SYS_connect);
  EXPECT_EQ(j["rows"][1]["async"], true);
  EXPECT_EQ(j["rows"][1]["recovered"], 1u);
  EXPECT_NE(format_stats_prometheus(snap).find(
                "ftsc_recovered_calls_total{syscall=\"connect (async)\",errno=\"ECONNREFUSED\"} 1"),
            std::string::npos);
}

TEST(StatsReport, RejectsWhatIsNotAStatsTable) {
  auto s = make_stats();
  s->magic = 0;
  base::Result<StatsSnapshot> r = read_stats(*s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad magic"), std::string::npos);
  EXPECT_FALSE(r.error().hint.empty());
  s = make_stats();
  s->version = 99;
  r = read_stats(*s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("version 99"), std::string::npos);
}

TEST(StatsReport, LabelsFallBackToNumbers) {
  EXPECT_EQ(stats_syscall_label(SYS_openat), "openat");
  EXPECT_EQ(stats_syscall_label(511), "syscall_511");
  EXPECT_EQ(stats_errno_label(ENOENT), "ENOENT");
  EXPECT_EQ(stats_errno_label(4000), "errno_4000");
}

TEST(StatsReport, TableForPeople) {
  auto s = sample();
  std::string text = format_stats_table(snapshot(*s));
  std::vector<std::string> l = lines(text);
  ASSERT_EQ(l.size(), 7u) << text;  // title, header, 4 rows, total
  EXPECT_EQ(l[0], "ftsc: retry summary");
  for (const char* col : {"syscall", "errno", "calls", "retries", "recovered", "gave up", "passed",
                          "injected", "waited"})
    EXPECT_NE(l[1].find(col), std::string::npos) << col;
  EXPECT_EQ(l[1].find("would retry"), std::string::npos);  // all zero: no column
  EXPECT_EQ(l[1].find("budget"), std::string::npos);
  EXPECT_NE(l[2].find("openat"), std::string::npos);
  EXPECT_NE(l[2].find("EACCES"), std::string::npos);
  EXPECT_NE(l[3].find("ENOENT"), std::string::npos);
  EXPECT_NE(l[3].find("160ms"), std::string::npos);
  EXPECT_NE(l[5].find("1.23s"), std::string::npos);
  EXPECT_NE(l[6].find("total"), std::string::npos);
  EXPECT_NE(l[6].find("1.39s"), std::string::npos);
  // Columns line up: every line has the same width up to the last column's end.
  EXPECT_EQ(l[1].size(), l[2].size());
  EXPECT_EQ(l[2].size(), l[6].size());
  EXPECT_EQ(text.find("budget"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(StatsReport, TableSaysWhenTheBudgetTrippedOrCallsWereDropped) {
  auto s = sample();
  slot(*s, SYS_read, EIO).budget = 3;
  slot(*s, SYS_read, EIO).would_retry = 1;
  s->budget_trips = 2;
  s->dropped = 1;
  std::string text = format_stats_table(snapshot(*s));
  std::vector<std::string> l = lines(text);
  EXPECT_NE(l[1].find("would retry"), std::string::npos);
  EXPECT_NE(l[1].find("budget"), std::string::npos);
  EXPECT_NE(text.find("retry budget ran out 2 times"), std::string::npos) << text;
  EXPECT_NE(text.find("1 failed call was not counted"), std::string::npos) << text;

  StatsSnapshot empty;
  EXPECT_EQ(format_stats_table(empty), "ftsc: no intercepted system call failed\n");
  empty.budget_trips = 1;
  EXPECT_NE(format_stats_table(empty).find("ran out 1 time (circuit breaker)"), std::string::npos);
}

TEST(StatsReport, CallsAbandonedInFlightEndAsInterruptedWhenTheRunIsOver) {
  auto s = sample();
  ftsc_stats_slot& r = slot(*s, SYS_read, EIO);
  r.calls += 2;
  r.in_flight = 2;
  StatsSnapshot live = snapshot(*s);
  const uint64_t gave_up = live.total().gave_up;
  const uint64_t interrupted = live.total().interrupted;
  EXPECT_EQ(live.total().in_flight, 2u);
  EXPECT_NE(format_stats_table(live).find("in flight"), std::string::npos);
  EXPECT_NE(format_stats_prometheus(live).find("# TYPE ftsc_failed_calls_in_flight gauge"),
            std::string::npos);
  live.end_abandoned_calls();
  EXPECT_EQ(live.total().in_flight, 0u);
  EXPECT_EQ(live.total().gave_up, gave_up + 2);
  EXPECT_EQ(live.total().interrupted, interrupted + 2);
  EXPECT_EQ(format_stats_table(live).find("in flight"), std::string::npos);
}

TEST(StatsReport, TableSaysWhenGuardsCouldNotBeChecked) {
  auto s = sample();
  slot(*s, SYS_read, EIO).guard_unknown = 1;
  std::string text = format_stats_table(snapshot(*s));
  EXPECT_NE(text.find("1 failed call was not retried because ftsc could not check whether the "
                      "error was the program's own protocol"),
            std::string::npos)
      << text;
}

TEST(StatsReport, OneRowHasNoTotalLine) {
  auto s = make_stats();
  ftsc_stats_slot& o = slot(*s, SYS_openat, ENOENT);
  o.calls = o.attempts = o.passed = 1;
  std::vector<std::string> l = lines(format_stats_table(snapshot(*s)));
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l[2].find("total"), std::string::npos);
}

TEST(StatsReport, JsonParsesBackWithStableFields) {
  auto s = sample();
  s->budget_trips = 1;
  s->dropped = 2;
  StatsSnapshot snap = snapshot(*s);
  nlohmann::json j = nlohmann::json::parse(format_stats_json(snap));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["dropped"], 2);
  EXPECT_EQ(j["budget_trips"], 1);
  ASSERT_EQ(j["rows"].size(), 4u);
  const nlohmann::json& row = j["rows"][1];
  EXPECT_EQ(row["syscall"], "openat");
  EXPECT_EQ(row["syscall_nr"], SYS_openat);
  EXPECT_EQ(row["errno"], "ENOENT");
  EXPECT_EQ(row["errno_nr"], ENOENT);
  std::set<std::string> keys;
  for (auto it = row.begin(); it != row.end(); ++it)
    keys.insert(it.key());
  EXPECT_EQ(keys, (std::set<std::string>{"syscall", "syscall_nr", "errno", "errno_nr", "calls",
                                         "attempts", "retries", "recovered", "gave_up", "passed",
                                         "would_retry", "budget", "interrupted", "guard_unknown",
                                         "injected", "wait_ns", "in_flight"}));
  // Every counter round-trips.
  for (size_t i = 0; i < snap.rows.size(); ++i) {
    const StatsRow& r = snap.rows[i];
    const nlohmann::json& jr = j["rows"][i];
    EXPECT_EQ(jr["calls"], r.calls);
    EXPECT_EQ(jr["attempts"], r.attempts);
    EXPECT_EQ(jr["retries"], r.retries);
    EXPECT_EQ(jr["recovered"], r.recovered);
    EXPECT_EQ(jr["gave_up"], r.gave_up);
    EXPECT_EQ(jr["passed"], r.passed);
    EXPECT_EQ(jr["injected"], r.injected);
    EXPECT_EQ(jr["wait_ns"], r.wait_ns);
  }
  EXPECT_EQ(j["total"]["calls"], 9);
  EXPECT_EQ(j["total"]["wait_ns"], 160 * kMs + 1'234'567'890);

  nlohmann::json empty = nlohmann::json::parse(format_stats_json(StatsSnapshot{}));
  EXPECT_TRUE(empty["rows"].is_array());
  EXPECT_TRUE(empty["rows"].empty());
}

TEST(StatsReport, PrometheusExpositionIsWellFormed) {
  auto s = sample();
  s->budget_trips = 3;
  std::string text = format_stats_prometheus(snapshot(*s));
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');

  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped))");
  const std::regex sample_line(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9]+(\.[0-9]+)?))re");
  std::map<std::string, int> types;
  std::set<std::string> finished;  // families whose samples are over
  std::string current;
  std::map<std::string, std::string> values;
  for (const std::string& l : lines(text)) {
    std::smatch m;
    if (std::regex_match(l, m, help)) {
      EXPECT_TRUE(types.find(m[1]) == types.end()) << "HELP after TYPE: " << l;
      continue;
    }
    if (std::regex_match(l, m, type)) {
      EXPECT_EQ(++types[m[1]], 1) << "second TYPE: " << l;
      if (!current.empty())
        finished.insert(current);
      current = m[1];
      if (current == "ftsc_failed_calls_in_flight") {  // the one gauge
        EXPECT_EQ(m[2], "gauge");
      } else {
        EXPECT_EQ(m[2], "counter");
        EXPECT_EQ(current.substr(current.size() - 6), "_total");
      }
      continue;
    }
    ASSERT_TRUE(std::regex_match(l, m, sample_line)) << "malformed line: " << l;
    EXPECT_EQ(m[1], current) << "sample outside its family: " << l;
    EXPECT_EQ(finished.count(m[1]), 0u);
    values[l.substr(0, l.rfind(' '))] = l.substr(l.rfind(' ') + 1);
  }
  for (const char* family :
       {"ftsc_failed_calls_total", "ftsc_failed_call_attempts_total", "ftsc_retries_total",
        "ftsc_recovered_calls_total", "ftsc_gave_up_calls_total", "ftsc_passed_calls_total",
        "ftsc_would_retry_calls_total", "ftsc_budget_passed_calls_total",
        "ftsc_interrupted_calls_total", "ftsc_guard_unknown_calls_total",
        "ftsc_injected_failures_total", "ftsc_wait_seconds_total", "ftsc_failed_calls_in_flight",
        "ftsc_dropped_failed_calls_total", "ftsc_budget_trips_total"})
    EXPECT_EQ(types[family], 1) << family;
  EXPECT_EQ(values[R"(ftsc_failed_calls_total{syscall="openat",errno="ENOENT"})"], "3");
  EXPECT_EQ(values[R"(ftsc_recovered_calls_total{syscall="write",errno="ENOSPC"})"], "1");
  EXPECT_EQ(values[R"(ftsc_wait_seconds_total{syscall="openat",errno="ENOENT"})"], "0.16");
  EXPECT_EQ(values[R"(ftsc_wait_seconds_total{syscall="write",errno="ENOSPC"})"], "1.23456789");
  EXPECT_EQ(values[R"(ftsc_wait_seconds_total{syscall="read",errno="EIO"})"], "0");
  EXPECT_EQ(values["ftsc_budget_trips_total"], "3");
  EXPECT_EQ(values["ftsc_dropped_failed_calls_total"], "0");
}

// The labels that keep writers apart come first on every series, escaped; the
// run-wide counters carry them alone.
TEST(StatsReport, PrometheusConstantLabels) {
  auto s = sample();
  std::string text = format_stats_prometheus(
      snapshot(*s), {{"engine", "auto"}, {"command", "my \"app\""}, {"instance", "a\nb"}});
  EXPECT_NE(text.find(R"(ftsc_failed_calls_total{engine="auto",command="my \"app\"",)"
                      R"(instance="a\nb",syscall="openat",errno="ENOENT"} 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(ftsc_budget_trips_total{engine="auto",command="my \"app\"",)"
                      R"(instance="a\nb"} 0)"),
            std::string::npos)
      << text;
}

// abi/stats.h: pairs whose key would alias another pair or wrap to the free marker.
TEST(StatsReport, SlotsOnlyForPairsTheKeyCanHold) {
  auto s = make_stats();
  EXPECT_EQ(ftsc_stats_slot_for(s.get(), -1, 5), nullptr);
  EXPECT_EQ(ftsc_stats_slot_for(s.get(), 0xfffff, 0xfff), nullptr);  // the key would wrap to 0
  EXPECT_EQ(ftsc_stats_slot_for(s.get(), 5, 4096), nullptr);         // would alias (6, 0)
  EXPECT_EQ(ftsc_stats_slot_for(s.get(), 5, -1), nullptr);
  ftsc_stats_slot* edge = ftsc_stats_slot_for(s.get(), 0xffffe, 0xfff);
  ASSERT_NE(edge, nullptr);
  EXPECT_EQ(FTSC_STATS_KEY_NR(edge->key), 0xffffe);
  EXPECT_EQ(FTSC_STATS_KEY_ERRNO(edge->key), 0xfff);
  EXPECT_EQ(s->dropped, 0u);
}

TEST(StatsReport, PrometheusLabelValuesAreEscaped) {
  EXPECT_EQ(escape_prometheus_label("openat"), "openat");
  EXPECT_EQ(escape_prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace ftsc::stats
