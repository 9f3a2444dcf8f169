// SPDX-License-Identifier: Apache-2.0
#include "profile/json.h"

#include <map>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kb/syscall_table.h"

namespace ftsc::profile {
namespace {

using nlohmann::json;

json errno_entry(int err, uint64_t count) {
  return json{{"errno", profile_errno_label(err)}, {"errno_nr", err}, {"count", count}};
}

// Reading: every accessor says where it was when something is wrong.
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  base::Error error(const std::string& path, const std::string& what) const {
    return base::Error{fmt::format("{}: {}", path, what), base::SourceLoc{std::string(file_), 0, 0},
                       "write the profile with `ftsc profile -o FILE`, or fix that field"};
  }

  static std::string type_of(const json& v) {
    if (v.is_number_unsigned() || v.is_number_integer())
      return "an integer";
    if (v.is_number())
      return "a number";
    return std::string(v.type_name() == std::string_view("string") ? "a string" : v.type_name());
  }

  base::Result<const json*> member(const json& obj, const std::string& path, const char* key,
                                   bool required) const {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required)
        return error(path, fmt::format("missing field \"{}\"", key));
      return static_cast<const json*>(nullptr);
    }
    return &*it;
  }

  base::Result<uint64_t> count(const json& obj, const std::string& path, const char* key) const {
    auto m = member(obj, path, key, true);
    if (!m)
      return m.error();
    const json& v = **m;
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      return error(path + "." + key,
                   fmt::format("expected a non-negative integer, got {}", type_of(v)));
    return v.get<uint64_t>();
  }

  base::Result<std::string> string(const json& obj, const std::string& path, const char* key,
                                   bool required) const {
    auto m = member(obj, path, key, required);
    if (!m)
      return m.error();
    if (*m == nullptr)
      return std::string();
    if (!(*m)->is_string())
      return error(path + "." + key, fmt::format("expected a string, got {}", type_of(**m)));
    return (*m)->get<std::string>();
  }

  base::Result<const json*> array(const json& obj, const std::string& path, const char* key) const {
    auto m = member(obj, path, key, true);
    if (!m)
      return m.error();
    if (!(*m)->is_array())
      return error(path + "." + key, fmt::format("expected an array, got {}", type_of(**m)));
    return *m;
  }

  // A syscall given as "nr" (authoritative) and/or "syscall" (a name).
  base::Result<int> syscall(const json& obj, const std::string& path, const char* name_key,
                            const char* nr_key) const {
    auto nr = member(obj, path, nr_key, false);
    if (!nr)
      return nr.error();
    if (*nr) {
      if (!(*nr)->is_number_integer() || (*nr)->get<int64_t>() < 0 ||
          (*nr)->get<int64_t>() > 100000)
        return error(path + "." + nr_key, "expected a syscall number");
      return static_cast<int>((*nr)->get<int64_t>());
    }
    auto name = string(obj, path, name_key, true);
    if (!name)
      return name.error();
    if (auto v = kb::syscall_number(*name))
      return *v;
    return error(path + "." + name_key, fmt::format("unknown syscall '{}'", *name));
  }

  base::Result<int> error_number(const json& obj, const std::string& path) const {
    auto nr = member(obj, path, "errno_nr", false);
    if (!nr)
      return nr.error();
    if (*nr) {
      if (!(*nr)->is_number_integer() || (*nr)->get<int64_t>() <= 0 || (*nr)->get<int64_t>() > 4095)
        return error(path + ".errno_nr", "expected an errno number (1-4095)");
      return static_cast<int>((*nr)->get<int64_t>());
    }
    auto name = string(obj, path, "errno", true);
    if (!name)
      return name.error();
    if (auto v = profile_errno_value(*name))
      return *v;
    return error(path + ".errno", fmt::format("unknown errno '{}'", *name));
  }

 private:
  std::string_view file_;
};

}  // namespace

std::string format_profile_json(const Profile& p) {
  json j;
  j["ftsc_profile"] = kProfileJsonVersion;
  j["tracer"] = p.tracer;
  j["scope"] = p.scope;
  if (!p.command.empty())
    j["command"] = p.command;
  if (!p.filter.empty())
    j["filter"] = p.filter;
  if (!p.source.empty())
    j["source"] = p.source;
  if (!p.started.empty())
    j["started"] = p.started;
  j["duration_s"] = p.duration_s;
  j["interrupted"] = p.interrupted;
  if (p.exit_status)
    j["exit_status"] = *p.exit_status;
  j["totals"] = json{{"calls", p.counts.total_calls()},
                     {"failures", p.counts.total_failures()},
                     {"dropped", p.counts.dropped},
                     {"uncounted", p.counts.uncounted}};
  json syscalls = json::array();
  for (const SyscallSummary& s : summarize_syscalls(p.counts)) {
    json errnos = json::array();
    for (const ErrnoCount& e : s.errnos)
      errnos.push_back(errno_entry(e.err, e.count));
    syscalls.push_back(json{{"syscall", profile_syscall_label(s.nr)},
                            {"nr", s.nr},
                            {"calls", s.calls},
                            {"failures", s.failures},
                            {"failure_ratio", s.failure_ratio()},
                            {"errnos", std::move(errnos)}});
  }
  j["syscalls"] = std::move(syscalls);
  json processes = json::array();
  for (const ProcessSummary& ps : summarize_processes(p.counts)) {
    json failed = json::array();
    for (const ProcessSummary::Item& i : ps.items) {
      json e = errno_entry(i.err, i.count);
      e["syscall"] = profile_syscall_label(i.nr);
      e["nr"] = i.nr;
      failed.push_back(std::move(e));
    }
    processes.push_back(
        json{{"comm", ps.comm}, {"failures", ps.failures}, {"failed", std::move(failed)}});
  }
  j["processes"] = std::move(processes);
  return j.dump(2) + "\n";
}

base::Result<Profile> parse_profile_json(std::string_view text, std::string_view file) {
  Reader r(file);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto colon = what.find("] "); colon != std::string::npos)
      what = what.substr(colon + 2);
    return base::Error{fmt::format("not JSON: {}", what), base::SourceLoc{std::string(file), 0, 0},
                       "give a profile written by `ftsc profile -o FILE`"};
  }
  if (!j.is_object() || !j.contains("ftsc_profile"))
    return base::Error{"not an ftsc profile: no \"ftsc_profile\" field at the top level",
                       base::SourceLoc{std::string(file), 0, 0},
                       "give a profile written by `ftsc profile -o FILE`"};
  const json& version = j["ftsc_profile"];
  if (!version.is_number_integer() || version.get<int64_t>() != kProfileJsonVersion)
    return r.error("ftsc_profile", fmt::format("version {} is not supported (this ftsc reads {})",
                                               version.dump(), kProfileJsonVersion));
  Profile p;
  for (auto [field, key] : {std::pair{&p.tracer, "tracer"}, std::pair{&p.scope, "scope"},
                            std::pair{&p.filter, "filter"}, std::pair{&p.source, "source"},
                            std::pair{&p.started, "started"}}) {
    auto v = r.string(j, "profile", key, false);
    if (!v)
      return v.error();
    *field = *v;
  }
  if (auto it = j.find("command"); it != j.end()) {
    if (!it->is_array())
      return r.error("command", "expected an array of strings");
    for (const json& a : *it) {
      if (!a.is_string())
        return r.error("command", "expected an array of strings");
      p.command.push_back(a.get<std::string>());
    }
  }
  if (auto it = j.find("duration_s"); it != j.end()) {
    if (!it->is_number() || it->get<double>() < 0)
      return r.error("duration_s", "expected a non-negative number of seconds");
    p.duration_s = it->get<double>();
  }
  if (auto it = j.find("interrupted"); it != j.end()) {
    if (!it->is_boolean())
      return r.error("interrupted", "expected true or false");
    p.interrupted = it->get<bool>();
  }
  if (auto it = j.find("exit_status"); it != j.end()) {
    if (!it->is_number_integer())
      return r.error("exit_status", "expected an integer");
    p.exit_status = it->get<int>();
  }
  if (auto it = j.find("totals"); it != j.end() && it->is_object()) {
    for (auto [field, key] :
         {std::pair{&p.counts.dropped, "dropped"}, std::pair{&p.counts.uncounted, "uncounted"}}) {
      if (!it->contains(key))
        continue;
      auto v = r.count(*it, "totals", key);
      if (!v)
        return v.error();
      *field = *v;
    }
  }

  // Calls per syscall, and the errnos they list (checked against the processes).
  auto syscalls = r.array(j, "profile", "syscalls");
  if (!syscalls)
    return syscalls.error();
  std::map<std::pair<int, int>, std::pair<uint64_t, std::string>> listed;
  for (size_t i = 0; i < (*syscalls)->size(); ++i) {
    const json& s = (**syscalls)[i];
    std::string path = fmt::format("syscalls[{}]", i);
    if (!s.is_object())
      return r.error(path, "expected an object");
    auto nr = r.syscall(s, path, "syscall", "nr");
    if (!nr)
      return nr.error();
    auto calls = r.count(s, path, "calls");
    if (!calls)
      return calls.error();
    if (p.counts.calls.count(*nr))
      return r.error(path, fmt::format("syscall {} is listed twice", profile_syscall_label(*nr)));
    p.counts.calls[*nr] = *calls;
    if (!s.contains("errnos"))
      continue;
    auto errnos = r.array(s, path, "errnos");
    if (!errnos)
      return errnos.error();
    uint64_t failures = 0;
    for (size_t k = 0; k < (*errnos)->size(); ++k) {
      const json& e = (**errnos)[k];
      std::string epath = fmt::format("{}.errnos[{}]", path, k);
      if (!e.is_object())
        return r.error(epath, "expected an object");
      auto err = r.error_number(e, epath);
      if (!err)
        return err.error();
      auto count = r.count(e, epath, "count");
      if (!count)
        return count.error();
      listed[{*nr, *err}] = {*count, epath};
      failures += *count;
    }
    if (failures > *calls)
      return r.error(path,
                     fmt::format("{} failures in its errnos but only {} calls", failures, *calls));
  }

  // Failures per process name: the detail the errnos above summarize.
  auto processes = r.array(j, "profile", "processes");
  if (!processes)
    return processes.error();
  std::map<std::pair<int, int>, uint64_t> summed;
  for (size_t i = 0; i < (*processes)->size(); ++i) {
    const json& ps = (**processes)[i];
    std::string path = fmt::format("processes[{}]", i);
    if (!ps.is_object())
      return r.error(path, "expected an object");
    auto comm = r.string(ps, path, "comm", true);
    if (!comm)
      return comm.error();
    auto failed = r.array(ps, path, "failed");
    if (!failed)
      return failed.error();
    for (size_t k = 0; k < (*failed)->size(); ++k) {
      const json& f = (**failed)[k];
      std::string fpath = fmt::format("{}.failed[{}]", path, k);
      if (!f.is_object())
        return r.error(fpath, "expected an object");
      auto nr = r.syscall(f, fpath, "syscall", "nr");
      if (!nr)
        return nr.error();
      auto err = r.error_number(f, fpath);
      if (!err)
        return err.error();
      auto count = r.count(f, fpath, "count");
      if (!count)
        return count.error();
      p.counts.failures.push_back({*comm, *nr, *err, *count});
      summed[{*nr, *err}] += *count;
    }
  }
  for (const auto& [key, c] : listed) {
    auto it = summed.find(key);
    uint64_t by_processes = it == summed.end() ? 0 : it->second;
    if (by_processes != c.first)
      return r.error(c.second, fmt::format("{} {} failures, but the processes list {}", c.first,
                                           profile_errno_label(key.second), by_processes));
  }
  for (const auto& [key, c] : summed) {
    if (!listed.count(key))
      return r.error(
          "processes",
          fmt::format("{} failed with {} but syscalls[] does not list that errno",
                      profile_syscall_label(key.first), profile_errno_label(key.second)));
  }
  p.counts.normalize();
  return p;
}

}  // namespace ftsc::profile
