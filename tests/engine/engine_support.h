// SPDX-License-Identifier: Apache-2.0
// What engine tests share: the helper programs and the --stats file.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ftsc::test {

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A helper program of tests/engine/progs.
// The lines of text that contain every one of `parts`.
inline size_t count_lines(const std::string& text, const std::vector<std::string>& parts) {
  size_t n = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? end : end - start);
    bool all = true;
    for (const std::string& p : parts)
      all = all && contains(line, p);
    n += all ? 1 : 0;
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return n;
}

inline std::string prog(const char* name) {
  return std::string(FTSC_ENGINE_PROGS) + "/" + name;
}

// The row of (syscall, errno) in a --stats file; an empty object when absent.
inline nlohmann::json stats_row(const std::string& file, const std::string& syscall,
                                const std::string& err) {
  std::ifstream in(file);
  nlohmann::json stats = nlohmann::json::parse(in, nullptr, false);
  if (stats.is_discarded() || !stats["rows"].is_array())
    return nlohmann::json::object();
  for (const nlohmann::json& row : stats["rows"])
    if (row.value("syscall", "") == syscall && row.value("errno", "") == err)
      return row;
  return nlohmann::json::object();
}

inline uint64_t counter(const nlohmann::json& row, const char* name) {
  return row.value(name, uint64_t{0});
}

// The fields of /proc/PID/stat after the command name: "STATE PPID ...";
// empty when the process is gone.
inline std::string stat_after_comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  size_t paren = stat.rfind(')');  // comm itself may hold ')'
  return paren == std::string::npos || paren + 2 >= stat.size() ? "" : stat.substr(paren + 2);
}

// Its state letter: 'T' stopped by a signal, 't' stopped by its tracer,
// 'Z' a zombie...; 0 when it is gone.
inline char state_of(pid_t pid) {
  std::string fields = stat_after_comm(pid);
  return fields.empty() ? '\0' : fields[0];
}

// The processes whose parent is this one.
inline std::vector<pid_t> children() {
  std::vector<pid_t> found;
  const std::string self = std::to_string(getpid());
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string fields = stat_after_comm(std::stoi(name));
    size_t ppid = fields.find(' ');
    if (ppid != std::string::npos && fields.compare(ppid + 1, self.size() + 1, self + " ") == 0)
      found.push_back(std::stoi(name));
  }
  return found;
}

// A test suite whose processes, ftsc's programs included, all end and are
// reaped: orphans come to this process (PR_SET_CHILD_SUBREAPER), whatever
// PID 1 does, and one still there after a grace period, running or stopped,
// is killed and fails the test. The parameter is the engine (--engine).
class LeftoverCheckedEngineTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void TearDown() override {
    using namespace std::chrono_literals;
    auto end = std::chrono::steady_clock::now() + 5s;
    pid_t pid = 0;
    while ((pid = waitpid(-1, nullptr, WNOHANG)) >= 0 && std::chrono::steady_clock::now() < end) {
      if (pid == 0)
        std::this_thread::sleep_for(10ms);
    }
    if (pid < 0)
      return;  // no child left
    for (pid_t child : children()) {
      ADD_FAILURE() << "process " << child << " (state " << state_of(child) << ") was left behind";
      kill(child, SIGKILL);
    }
    end = std::chrono::steady_clock::now() + 5s;
    while (waitpid(-1, nullptr, WNOHANG) >= 0 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(10ms);
  }
};

}  // namespace ftsc::test
