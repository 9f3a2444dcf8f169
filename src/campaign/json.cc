// SPDX-License-Identifier: Apache-2.0
#include "campaign/json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kb/syscall_table.h"
#include "profile/profile.h"

namespace ftsc::campaign {
namespace {

using nlohmann::json;

json tally_json(const Tally& t) {
  json j = json::object();
  for (Outcome o : kWorstFirst)
    j[std::string(outcome_name(o))] = t[o];
  j["total"] = t.total();
  return j;
}

}  // namespace

std::string format_campaign_json(const Campaign& c) {
  json j;
  j["ftsc_campaign"] = kCampaignJsonVersion;
  j["command"] = c.command;
  j["started"] = c.started;
  j["interrupted"] = c.interrupted;
  json g;
  g["exit_status"] = c.golden.observed.exit_status;
  g["duration_s"] = c.golden.duration_s;
  g["stdout_digest"] = c.golden.observed.stdout_digest;
  g["stderr_digest"] = c.golden.observed.stderr_digest;
  g["compare"] = c.golden.observed.compare_digests;
  json calls = json::object();
  for (const auto& [nr, n] : c.golden.calls)
    calls[profile::profile_syscall_label(nr)] = n;
  g["calls"] = calls;
  if (c.with_policy)
    g["with_policy"] = {{"exit_status", c.with_policy->exit_status},
                        {"stdout_digest", c.with_policy->stdout_digest},
                        {"stderr_digest", c.with_policy->stderr_digest},
                        {"compare", c.with_policy->compare_digests}};
  j["golden"] = g;
  j["options"] = {{"compare", c.compare},
                  {"check", c.check},
                  {"timeout_s", c.timeout_s},
                  {"jobs", c.jobs},
                  {"seed", c.seed}};
  j["planned"] = c.planned;
  j["plan_size"] = c.plan.size();
  j["policy"] = {{"source", c.policy_source}, {"text", c.policy_text}};
  json runs = json::array();
  for (const Run& r : c.runs) {
    json x;
    x["pass"] = r.pass;
    x["syscall"] = profile::profile_syscall_label(r.fault.nr);
    x["errno"] = profile::profile_errno_label(r.fault.err);
    x["occurrence"] = r.fault.occurrence;
    if (!r.error.empty()) {
      x["error"] = r.error;
    } else {
      x["outcome"] = outcome_name(r.outcome);
      x["exit_status"] = r.exit_status;
      if (r.term_signal != 0)
        x["signal"] = r.term_signal;
      x["injected"] = r.injected;
      if (r.check_passed)
        x["check_passed"] = *r.check_passed;
      x["stderr_tail"] = r.stderr_tail;
    }
    x["duration_s"] = r.duration_s;
    runs.push_back(x);
  }
  j["runs"] = runs;
  j["summary"] = {{"first_pass", tally_json(c.tally(1))}};
  if (!c.policy_source.empty())
    j["summary"]["with_policy"] = tally_json(c.tally(2));
  j["summary"]["line"] = format_summary(c);
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

bool is_campaign_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() && j.contains("ftsc_campaign");
}

base::Result<Campaign> parse_campaign_json(std::string_view text, std::string_view file) {
  json j = json::parse(text, nullptr, false);
  auto bad = [&](const std::string& what) {
    return base::Error{
        fmt::format("{}: {}", file, what), {}, "give the JSON that `ftsc campaign -o FILE` wrote"};
  };
  if (!j.is_object())
    return bad("not JSON");
  if (j.value("ftsc_campaign", 0) != kCampaignJsonVersion)
    return bad(fmt::format("ftsc_campaign: version {} expected", kCampaignJsonVersion));
  Campaign c;
  try {
    c.command = j.at("command").get<std::vector<std::string>>();
    c.started = j.value("started", "");
    c.interrupted = j.value("interrupted", false);
    const json& g = j.at("golden");
    auto observation = [](const json& o) {
      Observation x;
      x.exit_status = o.at("exit_status").get<int>();
      x.stdout_digest = o.value("stdout_digest", "");
      x.stderr_digest = o.value("stderr_digest", "");
      x.compare_digests = o.value("compare", std::map<std::string, std::string>{});
      return x;
    };
    c.golden.observed = observation(g);
    if (g.contains("with_policy"))
      c.with_policy = observation(g.at("with_policy"));
    c.golden.duration_s = g.at("duration_s").get<double>();
    for (const auto& [name, n] : g.at("calls").items())
      if (auto nr = kb::syscall_number(name))
        c.golden.calls[*nr] = n.get<uint64_t>();
    c.policy_source = j.at("policy").at("source").get<std::string>();
    c.policy_text = j.at("policy").at("text").get<std::string>();
    c.planned = j.value("planned", size_t{0});
    size_t i = 0;
    for (const json& x : j.at("runs")) {
      Run r;
      auto where = [&](const char* key) { return fmt::format("runs[{}].{}", i, key); };
      r.pass = x.at("pass").get<int>();
      auto nr = kb::syscall_number(x.at("syscall").get<std::string>());
      if (!nr)
        return bad(where("syscall") + ": unknown syscall");
      auto err = profile::profile_errno_value(x.at("errno").get<std::string>());
      if (!err)
        return bad(where("errno") + ": unknown errno");
      r.fault = {*nr, *err, x.at("occurrence").get<uint64_t>()};
      if (x.contains("error")) {
        r.error = x.at("error").get<std::string>();
      } else {
        auto o = outcome_from_name(x.at("outcome").get<std::string>());
        if (!o)
          return bad(where("outcome") + ": unknown outcome");
        r.outcome = *o;
        r.exit_status = x.at("exit_status").get<int>();
        r.term_signal = x.value("signal", 0);
        r.injected = x.value("injected", uint64_t{0});
        if (x.contains("check_passed"))
          r.check_passed = x.at("check_passed").get<bool>();
        r.stderr_tail = x.value("stderr_tail", "");
      }
      r.duration_s = x.value("duration_s", 0.0);
      if (r.pass == 1 && (c.plan.empty() || !(c.plan.back() == r.fault)))
        c.plan.push_back(r.fault);
      c.runs.push_back(std::move(r));
      ++i;
    }
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return c;
}

}  // namespace ftsc::campaign
