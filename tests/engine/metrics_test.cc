// SPDX-License-Identifier: Apache-2.0
// `ftsc run --metrics`: a file that a Prometheus textfile collector can read
// at any moment. It is replaced whole every --metrics-interval while the
// command runs and once more at its end, its series carry the labels that keep
// writers apart, and the Prometheus client library's own parser reads it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

using namespace std::chrono_literals;

// Debian's python3 with python3-prometheus-client (scripts/install-deps), or why not.
constexpr const char* kPython = "/usr/bin/python3";

std::string prometheus_parser_missing() {
  ProcessResult r = run_process({kPython, "-c", "import prometheus_client.parser"});
  if (r.exit_code != 0)
    return "the Prometheus client library cannot be imported by " + std::string(kPython) +
           " (Debian package python3-prometheus-client): " + r.err;
  return "";
}

// Every sample of the file as "name{label=value,...} value", labels sorted,
// as prometheus_client's parser reads them; a parse error fails the process.
ProcessResult parse_with_client(const std::string& file) {
  return run_process({kPython, "-c",
                      "import sys\n"
                      "from prometheus_client.parser import text_string_to_metric_families\n"
                      "for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
                      "    for s in family.samples:\n"
                      "        labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))\n"
                      "        print('%s{%s} %g' % (s.name, labels, s.value))\n",
                      file});
}

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class Metrics : public ::testing::TestWithParam<const char*> {};

TEST_P(Metrics, ReplacedWholeWhileTheCommandRunsAndAtItsEnd) {
  if (std::string why = prometheus_parser_missing(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  const std::string metrics = dir.path() + "/ftsc.prom";
  const std::string missing = dir.path() + "/missing";
  // Eight failed opens 150 ms apart: the counters move while the command runs.
  const std::string script = "i=0; while [ $i -lt 8 ]; do cat " + missing +
                             " 2>/dev/null; sleep 0.15; i=$((i+1)); done; true";
  std::atomic<bool> done{false};
  ProcessResult r;
  std::thread runner([&] {
    r = run_ftsc({"run", "--engine", GetParam(), "--retry", "openat=ENOENT", "--backoff", "1ms",
                  "--metrics", metrics, "--metrics-interval", "40ms", "--metrics-instance",
                  "test-1", "--", "sh", "-c", script});
    done = true;
  });
  // A reader that polls as a collector would: every read must be a whole file.
  const std::regex failed(
      R"(ftsc_failed_calls_total\{[^}]*syscall="openat",errno="ENOENT"\} (\d+))");
  int reads = 0, partial = 0;
  std::set<long> seen;
  while (!done) {
    if (auto text = read_whole(metrics); text && !text->empty()) {
      ++reads;
      // The last family written is the budget trips counter; a whole file ends with it.
      const size_t last = text->rfind("\nftsc_budget_trips_total{");
      if (text->back() != '\n' || last == std::string::npos ||
          text->find('\n', last + 1) != text->size() - 1)
        ++partial;
      std::smatch m;
      if (std::regex_search(*text, m, failed))
        seen.insert(std::stol(m[1]));
    }
    std::this_thread::sleep_for(2ms);
  }
  runner.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(reads, 10);
  EXPECT_EQ(partial, 0) << "a reader saw a file being written";

  auto final_text = read_whole(metrics);
  ASSERT_TRUE(final_text);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*final_text, m, failed)) << *final_text;
  const long final_count = std::stol(m[1]);
  EXPECT_GE(final_count, 8);
  // The file moved while the command ran: a count between none and the last.
  EXPECT_TRUE(
      std::any_of(seen.begin(), seen.end(), [&](long v) { return v > 0 && v < final_count; }))
      << "counts seen while running: " << seen.size();

  ProcessResult parsed = parse_with_client(metrics);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.err;
  const std::string labels = "command=sh,engine=" + std::string(GetParam()) +
                             ",errno=ENOENT,instance=test-1,syscall=openat";
  EXPECT_TRUE(contains(
      parsed.out, "ftsc_failed_calls_total{" + labels + "} " + std::to_string(final_count) + "\n"))
      << parsed.out;
  EXPECT_TRUE(contains(parsed.out, "ftsc_retries_total{" + labels + "} ")) << parsed.out;
  EXPECT_TRUE(contains(parsed.out, "ftsc_budget_trips_total{command=sh,engine=" +
                                       std::string(GetParam()) + ",instance=test-1} 0\n"))
      << parsed.out;
  // Nothing but the file itself is left in its directory.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
    ++entries;
  EXPECT_EQ(entries, 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, Metrics, ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

TEST(MetricsCli, AnIntervalThatIsNoDurationIsAUsageError) {
  ProcessResult r = run_ftsc({"run", "--metrics", "/tmp/never-written.prom", "--metrics-interval",
                              "often", "--retry", "openat=ENOENT", "--", "true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--metrics-interval often")) << r.err;
  EXPECT_FALSE(std::filesystem::exists("/tmp/never-written.prom"));
}

}  // namespace
}  // namespace ftsc::test
