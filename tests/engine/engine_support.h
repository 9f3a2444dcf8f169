// What engine tests share: the helper programs and the --stats file.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace ftsc::test {

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A helper program of tests/engine/progs.
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

}  // namespace ftsc::test
