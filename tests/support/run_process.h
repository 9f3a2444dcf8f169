// SPDX-License-Identifier: Apache-2.0
// Runs a real process and captures what it printed and how it ended.
#pragma once

#include <string>
#include <vector>

namespace ftsc::test {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH when it has no slash) with argv (no shell), stdin from /dev/null
// or `input`, and returns its exit status and output. A program that cannot be started ends as
// in a shell: 127 when it does not exist, 126 when it cannot run, and err says why.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {});

// A fresh temporary directory, removed with its contents when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace ftsc::test
