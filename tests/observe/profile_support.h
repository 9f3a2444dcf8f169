// SPDX-License-Identifier: Apache-2.0
// Helpers for the profiler's tests: an ftsc running in the background. (What
// the eBPF tests need, the probes of support/capabilities.h say.)
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace ftsc::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A process started without waiting; its stdout and stderr go to files.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& out_path,
             const std::string& err_path)
      : out_(out_path), err_(err_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Waits until stderr contains `text`; false after `timeout`.
  bool wait_for_stderr(const std::string& text, std::chrono::seconds timeout) const {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (slurp(err_).find(text) != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // The exit status (128+N when killed by signal N).
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
};

// The failures a profile's JSON lists for (comm, syscall, errno).
inline uint64_t failures_of(const nlohmann::json& profile, const std::string& comm,
                            const std::string& syscall, const std::string& err) {
  uint64_t n = 0;
  for (const auto& p : profile.at("processes")) {
    if (p.at("comm") != comm)
      continue;
    for (const auto& f : p.at("failed"))
      if (f.at("syscall") == syscall && f.at("errno") == err)
        n += f.at("count").get<uint64_t>();
  }
  return n;
}

// The calls a profile's JSON counts for a syscall.
inline uint64_t calls_of(const nlohmann::json& profile, const std::string& syscall) {
  for (const auto& s : profile.at("syscalls"))
    if (s.at("syscall") == syscall)
      return s.at("calls").get<uint64_t>();
  return 0;
}

}  // namespace ftsc::test
