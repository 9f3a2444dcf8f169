// SPDX-License-Identifier: Apache-2.0
#include "cli/help.h"

#include <map>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace ftsc::cli {
namespace {

class UsageFormatter : public CLI::Formatter {
 public:
  void set(const CLI::App* app, std::vector<std::string> usage) { usage_[app] = std::move(usage); }

  std::string make_usage(const CLI::App* app, std::string name) const override {
    auto it = usage_.find(app);
    if (it == usage_.end())
      return CLI::Formatter::make_usage(app, std::move(name));
    std::string out;
    for (size_t i = 0; i < it->second.size(); ++i)
      out += fmt::format("{}{}\n", i == 0 ? "Usage: " : "       ", it->second[i]);
    return out;
  }

 private:
  std::map<const CLI::App*, std::vector<std::string>> usage_;
};

}  // namespace

void install_help_formatter(CLI::App& app) {
  app.formatter(std::make_shared<UsageFormatter>());
}

void set_usage(CLI::App* cmd, std::vector<std::string> usage, std::vector<std::string> examples) {
  auto formatter = std::dynamic_pointer_cast<UsageFormatter>(cmd->get_formatter());
  if (!formatter)
    throw std::logic_error("set_usage: install_help_formatter() was not called on the root");
  formatter->set(cmd, std::move(usage));
  if (examples.empty())
    return;
  std::string footer = examples.size() == 1 ? "Example:" : "Examples:";
  for (const std::string& e : examples)
    footer += "\n  " + e;
  cmd->footer(footer);
}

}  // namespace ftsc::cli
