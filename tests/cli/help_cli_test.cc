// SPDX-License-Identifier: Apache-2.0
// `ftsc VERB --help` shows the verb's real usage line and examples, and
// `ftsc policy errnos` lists names the policy parser accepts.
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"

namespace ftsc::test {
namespace {

struct VerbUsage {
  std::vector<std::string> verb;
  std::string usage;  // the first line after "Usage: "
};

void PrintTo(const VerbUsage& v, std::ostream* os) {
  *os << v.usage;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

class VerbHelp : public testing::TestWithParam<VerbUsage> {};

TEST_P(VerbHelp, ShowsItsUsageLineAndExamplesOfItself) {
  const VerbUsage& v = GetParam();
  std::vector<std::string> args = v.verb;
  args.push_back("--help");
  ProcessResult r = run_ftsc(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> lines = lines_of(r.out);
  std::string usage;
  size_t examples_at = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (usage.empty() && lines[i].starts_with("Usage: "))
      usage = lines[i].substr(7);
    if (lines[i] == "Example:" || lines[i] == "Examples:")
      examples_at = i;
  }
  EXPECT_EQ(usage, v.usage) << r.out;
  ASSERT_LT(examples_at + 1, lines.size()) << "no examples in:\n" << r.out;
  // Each example is a command line of this verb (an indented "ftsc VERB ...").
  std::string prefix = "  ftsc " + (v.verb.empty() ? "" : joined(v.verb) + " ");
  size_t examples = 0;
  for (size_t i = examples_at + 1; i < lines.size() && lines[i].starts_with("  "); ++i) {
    EXPECT_TRUE(lines[i].starts_with(prefix) || lines[i] + " " == prefix)
        << "example '" << lines[i] << "' is not of `ftsc " << joined(v.verb) << "`";
    ++examples;
  }
  EXPECT_GE(examples, 1u);
  EXPECT_LE(examples, 4u) << "an example or two, not a manual";
}

INSTANTIATE_TEST_SUITE_P(
    EveryVerb, VerbHelp,
    testing::Values(
        VerbUsage{{}, "ftsc VERB [OPTIONS] [ARGS...]"},
        VerbUsage{{"run"}, "ftsc run [OPTIONS] -- COMMAND [ARGS...]"},
        VerbUsage{{"profile"}, "ftsc profile [OPTIONS] -- COMMAND [ARGS...]"},
        VerbUsage{{"policy"}, "ftsc policy SUBCOMMAND [OPTIONS] [ARGS...]"},
        VerbUsage{{"policy", "check"}, "ftsc policy check [OPTIONS] [FILE]"},
        VerbUsage{{"policy", "show"}, "ftsc policy show [OPTIONS] [FILE]"},
        VerbUsage{{"policy", "explain"}, "ftsc policy explain [OPTIONS] FILE SYSCALL ERRNO"},
        VerbUsage{{"policy", "import"}, "ftsc policy import [--table N] [-o FILE] MATRIX"},
        VerbUsage{{"policy", "export"}, "ftsc policy export [OPTIONS] [-o FILE] [FILE]"},
        VerbUsage{{"policy", "compile"}, "ftsc policy compile [OPTIONS] -o FILE [FILE]"},
        VerbUsage{{"policy", "groups"}, "ftsc policy groups [GROUP]"},
        VerbUsage{{"policy", "suggest"}, "ftsc policy suggest [--observe] [-o FILE] PROFILE"},
        VerbUsage{{"policy", "syscalls"}, "ftsc policy syscalls"},
        VerbUsage{{"policy", "errnos"}, "ftsc policy errnos"},
        VerbUsage{{"kmod"}, "ftsc kmod SUBCOMMAND [OPTIONS] [ARGS...]"},
        VerbUsage{{"kmod", "load"}, "ftsc kmod load [OPTIONS] [FILE]"},
        VerbUsage{{"kmod", "status"}, "ftsc kmod status"},
        VerbUsage{{"kmod", "stats"}, "ftsc kmod stats [--json|--prometheus]"},
        VerbUsage{{"kmod", "unload"}, "ftsc kmod unload [--keep-module] [--wait SECONDS]"}),
    [](const testing::TestParamInfo<VerbUsage>& param) {
      std::string name = param.param.verb.empty() ? "ftsc" : "";
      for (const std::string& w : param.param.verb)
        name += (name.empty() ? "" : "_") + w;
      return name;
    });

// The usage a wrong command line points to is the same line.
TEST(VerbHelp, RunWithoutCommandQuotesTheUsageLine) {
  ProcessResult r = run_ftsc({"run", "--retry", "openat=ENOENT"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("ftsc run [OPTIONS] -- COMMAND [ARGS...]"), std::string::npos) << r.err;
}

// Every name `ftsc policy errnos` lists (canonical and aliases) is one the
// policy parser accepts, and the well-known ones are there with their numbers.
TEST(PolicyErrnos, ListsNamesThePolicyAccepts) {
  ProcessResult r = run_ftsc({"policy", "errnos"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> names;
  bool enomem = false, ewouldblock = false;
  for (const std::string& line : lines_of(r.out)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream in(line);
    std::string name, number;
    in >> name >> number;
    ASSERT_TRUE(name.starts_with("E")) << line;
    names.push_back(name);
    enomem |= name == "ENOMEM" && number == "12";
    ewouldblock |= name == "EWOULDBLOCK" && number == "11" &&
                   line.find("alias of EAGAIN") != std::string::npos;
  }
  EXPECT_TRUE(enomem) << r.out;
  EXPECT_TRUE(ewouldblock) << r.out;
  EXPECT_GT(names.size(), 100u);
  std::string all;
  for (const std::string& n : names)
    all += (all.empty() ? "" : ",") + n;
  ProcessResult check = run_ftsc({"policy", "check", "--retry", "read=" + all});
  EXPECT_EQ(check.out.find("unknown errno"), std::string::npos) << check.out;
}

}  // namespace
}  // namespace ftsc::test
