// SPDX-License-Identifier: Apache-2.0
// scenario_runner: runs one scenario of the table (scenarios.tsv, compiled in)
// natively or under one engine, and judges the run.
//
//   scenario_runner --ftsc PATH --bin-dir DIR --policy-dir DIR [--table FILE]
//                   [--timeout SECONDS] ENGINE SCENARIO
//   scenario_runner [--table FILE] --list
//
// ENGINE `native` runs DIR/scenario_NAME with the table's native arguments and
// expects what the table's `native` column says: `fail` (exit 1, and the
// message names the fault: the fault is real) or `pass` (exit 0). Any other
// engine runs
//
//   ftsc run --engine ENGINE --policy POLICY_DIR/NAME.toml [FLAGS] --stats TMP.json
//            -- DIR/scenario_NAME [ENGINE_ARGS]
//
// and expects exit 0 and the table's statistics checks on TMP.json, except
// under an engine the table says refuses the program: then ftsc must exit 1
// with the table's message before the program ever runs. Exit 77 from the
// scenario is a skip (the machine lacks what it needs), passed on as 77. The
// runner exits 0 (as expected), 1 (not), 77 (skipped) or 2 (usage).
//
// It is a plain executable with no dependency on the build tree beyond its
// flags, so the same table can run where the kernel module is tested (a VM).
//
// No process may outlive a run. The runner starts the command in a process
// group of its own and makes itself a child subreaper (PR_SET_CHILD_SUBREAPER),
// so that every descendant orphaned by the run (a helper a scenario did not
// reap, a traced process the engine let go) becomes the runner's child. When
// the command has ended, any such process fails the test ("left behind") and
// is killed. A command that does not end within --timeout is killed with its
// whole process group; if the runner itself dies, its child gets SIGKILL
// (PR_SET_PDEATHSIG), ftsc kills its traced program when it dies, and the
// scenarios' helpers die with the scenario.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace {

constexpr char kEmbeddedTable[] = {
#include "scenario_table.inc"
};

// The engines ctest knows, for a clear error on a typo. `native` is no engine
// but the baseline every scenario runs against first.
constexpr const char* kEngines[] = {"native", "ptrace", "preload", "auto", "kmod"};

constexpr int kPass = 0;
constexpr int kFail = 1;
constexpr int kUsage = 2;
constexpr int kSkip = 77;

void say(const std::string& line) {
  std::fputs(("scenario_runner: " + line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos)
      return out;
    start = at + sep.size();
  }
}

// A cell's items ("a && b"), trimmed, without empty ones.
std::vector<std::string> items(const std::string& cell) {
  std::vector<std::string> out;
  for (const std::string& i : split(cell, "&&"))
    if (!trim(i).empty())
      out.push_back(trim(i));
  return out;
}

std::vector<std::string> words(const std::string& cell) {
  std::vector<std::string> out;
  std::istringstream in(cell);
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

struct Scenario {
  std::string name;
  bool native_fails = false;
  std::vector<std::string> reason;
  std::vector<std::string> native_args;
  std::vector<std::string> engine_args;
  std::vector<std::string> ftsc_flags;
  std::vector<std::string> checks;
  std::vector<std::pair<std::string, std::string>> refused_by;  // engine, ftsc's message
};

std::optional<std::vector<Scenario>> parse_table(const std::string& text,
                                                 const std::string& origin) {
  std::vector<Scenario> table;
  std::istringstream in(text);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (trim(line).empty() || trim(line)[0] == '#')
      continue;
    auto bad = [&](const std::string& what) {
      say(fmt::format("{}:{}: {}", origin, line_no, what));
      return std::nullopt;
    };
    if (line.find(';') != std::string::npos)
      return bad("';' in the table (CMake reads the file as a list): use '&&' between items");
    std::vector<std::string> cells = split(line, "\t");
    if (cells.size() != 8)
      return bad(fmt::format("{} tab-separated cells, expected 8", cells.size()));
    for (std::string& c : cells) {
      c = trim(c);
      if (c == "-")
        c.clear();
    }
    Scenario s;
    s.name = cells[0];
    if (cells[1] != "fail" && cells[1] != "pass")
      return bad(fmt::format("native expectation '{}', expected fail or pass", cells[1]));
    s.native_fails = cells[1] == "fail";
    s.reason = items(cells[2]);
    if (s.native_fails && s.reason.empty())
      return bad("a scenario that fails natively needs the reason its message must show");
    s.native_args = words(cells[3]);
    s.engine_args = words(cells[4]);
    s.ftsc_flags = words(cells[5]);
    s.checks = items(cells[6]);
    for (const std::string& item : items(cells[7])) {
      const size_t colon = item.find(':');
      if (colon == std::string::npos)
        return bad(fmt::format("refused_by item '{}' is not 'ENGINE: message'", item));
      s.refused_by.emplace_back(trim(item.substr(0, colon)), trim(item.substr(colon + 1)));
    }
    table.push_back(std::move(s));
  }
  return table;
}

// ---- running a process ----------------------------------------------------

struct Outcome {
  bool timed_out = false;
  std::vector<std::string> left_behind;  // descendants alive or unreaped after the command
  bool exited = false;
  int code = -1;    // exit status when exited
  int signal = 0;   // terminating signal otherwise
  std::string err;  // what it wrote to stderr
};

std::string describe(const Outcome& o) {
  if (o.timed_out)
    return "was killed after the timeout";
  if (o.exited)
    return fmt::format("exited {}", o.code);
  return fmt::format("was killed by signal {} ({})", o.signal, strsignal(o.signal));
}

std::string shell_words(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty())
      out += ' ';
    const bool plain =
        !a.empty() && a.find_first_of(" \t'\"\\$`*?[]{}()<>|&;!#~") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// "1234 (scenario_late_f)": a process as /proc/PID/stat names it.
std::string process_label(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string pid_text, comm;
  in >> pid_text >> comm;
  return fmt::format("{} {}", pid, comm.empty() ? "(gone)" : comm);
}

// The runner's children other than the command: descendants the run orphaned.
std::vector<pid_t> orphans() {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (!proc)
    return out;
  const pid_t self = getpid();
  while (const dirent* e = readdir(proc)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0)
      continue;
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string line;
    std::getline(in, line);
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos)
      continue;
    std::istringstream rest(line.substr(paren + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == self)
      out.push_back(pid);
  }
  closedir(proc);
  return out;
}

// After the command ended: kills and reaps whatever it left behind (its
// process group, and every orphan the subreaper inherited), and names them.
std::vector<std::string> reap_left_behind(pid_t group) {
  std::vector<std::string> left;
  std::vector<pid_t> named;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      if (std::find(named.begin(), named.end(), done) == named.end())
        left.push_back(fmt::format("{} (had exited, unreaped)", done));
      continue;
    }
    if (done < 0 && errno == EINTR)
      continue;
    if (done < 0)
      return left;  // ECHILD: nothing is left
    // Alive: name them, kill them, and reap them in the next rounds.
    for (const pid_t pid : orphans()) {
      if (std::find(named.begin(), named.end(), pid) == named.end()) {
        left.push_back(process_label(pid));
        named.push_back(pid);
      }
      kill(pid, SIGKILL);
    }
    kill(-group, SIGKILL);
    const struct timespec tick = {0, 5 * 1000 * 1000};
    nanosleep(&tick, nullptr);
  }
}

// Runs argv with stdin from /dev/null, stdout shared, stderr into err_file.
Outcome run(const std::vector<std::string>& argv, const std::string& err_file, int timeout_s) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int err_fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (err_fd < 0 || null_fd < 0) {
    say(fmt::format("cannot open {} or /dev/null: {}", err_file, std::strerror(errno)));
    std::exit(kFail);
  }
  std::fflush(nullptr);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    say(fmt::format("prctl(PR_SET_CHILD_SUBREAPER): {}", std::strerror(errno)));
    std::exit(kFail);
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    say(fmt::format("fork: {}", std::strerror(errno)));
    std::exit(kFail);
  }
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent || setpgid(0, 0) != 0)
      _exit(127);
    dup2(null_fd, STDIN_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    dprintf(STDERR_FILENO, "scenario_runner: cannot execute %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(err_fd);
  close(null_fd);

  Outcome o;
  int status = 0;
  const int64_t deadline = now_ms() + int64_t{timeout_s} * 1000;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      break;
    if (done < 0 && errno != EINTR) {
      say(fmt::format("waitpid: {}", std::strerror(errno)));
      std::exit(kFail);
    }
    if (!o.timed_out && now_ms() > deadline) {
      o.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    const struct timespec tick = {0, 5 * 1000 * 1000};
    nanosleep(&tick, nullptr);
  }
  o.exited = WIFEXITED(status);
  o.code = o.exited ? WEXITSTATUS(status) : -1;
  o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  o.left_behind = reap_left_behind(pid);
  std::ifstream in(err_file);
  std::ostringstream text;
  text << in.rdbuf();
  o.err = text.str();
  return o;
}

void show_stderr(const std::string& err) {
  if (err.empty())
    return;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    std::fputs(("  | " + line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// ---- judging ----------------------------------------------------------------

// Processes that outlived the command fail every run, whatever else happened.
bool report_left_behind(const Outcome& o) {
  if (o.left_behind.empty())
    return false;
  std::string names;
  for (const std::string& p : o.left_behind)
    names += (names.empty() ? "" : ", ") + p;
  say("FAIL: processes outlived the command (killed now): " + names);
  return true;
}

// A command that did not end in time fails, whatever it left.
bool report_timeout(const Outcome& o) {
  if (!o.timed_out)
    return false;
  say("FAIL: the command did not end within the timeout; it was killed with its process group");
  report_left_behind(o);
  return true;
}

int judge_native(const Scenario& s, const Outcome& o) {
  if (report_timeout(o) || report_left_behind(o))
    return kFail;
  if (o.exited && o.code == kSkip) {
    say("SKIPPED natively: the scenario cannot run here (its reason is above)");
    return kSkip;
  }
  if (!s.native_fails) {
    if (o.exited && o.code == 0) {
      say("ok: passes natively, as expected");
      return kPass;
    }
    say(fmt::format("FAIL: natively the scenario {}; expected it to pass", describe(o)));
    return kFail;
  }
  if (!(o.exited && o.code == 1)) {
    say(fmt::format("FAIL: natively the scenario {}; expected exit 1 (the operation fails)",
                    describe(o)));
    return kFail;
  }
  for (const std::string& r : s.reason) {
    if (o.err.find(r) == std::string::npos) {
      say(
          fmt::format("FAIL: natively the scenario failed, but its message does not show '{}': "
                      "it failed for another reason than the fault",
                      r));
      return kFail;
    }
  }
  say("ok: fails natively for the expected reason, so the fault is real");
  return kPass;
}

struct Check {
  std::string syscall;  // empty for total
  std::string err;
  std::string counter;
  bool at_least = false;  // >= rather than ==
  uint64_t value = 0;
};

std::optional<Check> parse_check(const std::string& text) {
  Check c;
  std::string lhs;
  size_t op = text.find(">=");
  if (op != std::string::npos) {
    c.at_least = true;
  } else {
    op = text.find("==");
    if (op == std::string::npos)
      return std::nullopt;
  }
  lhs = text.substr(0, op);
  const std::string rhs = text.substr(op + 2);
  if (rhs.empty() || rhs.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  c.value = std::stoull(rhs);
  const std::vector<std::string> parts = split(lhs, ":");
  if (parts.size() == 2 && parts[0] == "total") {
    c.counter = parts[1];
  } else if (parts.size() == 3) {
    c.syscall = parts[0];
    c.err = parts[1];
    c.counter = parts[2];
  } else {
    return std::nullopt;
  }
  return c;
}

int judge_stats(const Scenario& s, const std::string& stats_file) {
  if (s.checks.empty())
    return kPass;
  std::ifstream in(stats_file);
  if (!in) {
    say(fmt::format("FAIL: ftsc wrote no statistics to {}", stats_file));
    return kFail;
  }
  nlohmann::json stats;
  try {
    stats = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    say(fmt::format("FAIL: the statistics in {} are not JSON: {}", stats_file, e.what()));
    return kFail;
  }
  const nlohmann::json& total = stats["total"];
  int result = kPass;
  for (const std::string& text : s.checks) {
    const std::optional<Check> c = parse_check(text);
    if (!c || !total.is_object() || !total.contains(c->counter)) {
      say(
          fmt::format("FAIL: the table's check '{}' is not SYSCALL:ERRNO:COUNTER or "
                      "total:COUNTER with == or >= and a number, COUNTER a field of the "
                      "statistics",
                      text));
      return kFail;
    }
    uint64_t actual = 0;
    if (c->syscall.empty()) {
      actual = total[c->counter].get<uint64_t>();
    } else if (stats["rows"].is_array()) {
      for (const nlohmann::json& row : stats["rows"])
        if (row.value("syscall", "") == c->syscall && row.value("errno", "") == c->err)
          actual = row.value(c->counter, uint64_t{0});
    }
    const bool ok = c->at_least ? actual >= c->value : actual == c->value;
    say(fmt::format("{} {}: {} is {}", ok ? "ok:  " : "FAIL:", text, c->counter, actual));
    if (!ok)
      result = kFail;
  }
  if (result != kPass)
    say("the statistics were:\n" + stats.dump(2));
  return result;
}

int judge_engine(const Scenario& s, const std::string& engine, const Outcome& o,
                 const std::string& stats_file) {
  if (report_timeout(o) || report_left_behind(o))
    return kFail;
  if (o.exited && o.code == kSkip) {
    say(fmt::format("SKIPPED under {}: the scenario cannot run here (its reason is above)",
                    engine));
    return kSkip;
  }
  if (!(o.exited && o.code == 0)) {
    say(fmt::format("FAIL: under `ftsc run --engine {}` the scenario {}; expected exit 0", engine,
                    describe(o)));
    return kFail;
  }
  say(fmt::format("ok: passes under the {} engine", engine));
  return judge_stats(s, stats_file);
}

// An engine that cannot run the program by design (preload and a static
// program) must say so and not run it: ftsc exits 1 with `message`, and no
// line of the scenario's own (they start with "NAME: ") shows it ran.
int judge_refusal(const Scenario& s, const std::string& engine, const std::string& message,
                  const Outcome& o) {
  if (report_timeout(o) || report_left_behind(o))
    return kFail;
  if (!(o.exited && o.code == 1)) {
    say(
        fmt::format("FAIL: `ftsc run --engine {}` {}; expected it to refuse the program with "
                    "exit 1",
                    engine, describe(o)));
    return kFail;
  }
  if (o.err.find(message) == std::string::npos) {
    say(fmt::format("FAIL: ftsc exited 1 but did not say '{}'", message));
    return kFail;
  }
  if (o.err.starts_with(s.name + ": ") || o.err.find("\n" + s.name + ": ") != std::string::npos) {
    say("FAIL: ftsc said it refuses the program, but the program ran (its message is above)");
    return kFail;
  }
  say(fmt::format("ok: the {} engine refuses the program and says why; it did not run", engine));
  return kPass;
}

struct Options {
  std::string ftsc;
  std::string bin_dir;
  std::string policy_dir;
  std::string table_file;
  int timeout_s = 50;
  bool list = false;
  std::string engine;
  std::string scenario;
};

[[noreturn]] void usage(const std::string& why) {
  say(why);
  std::fputs(
      "usage: scenario_runner --ftsc PATH --bin-dir DIR --policy-dir DIR [--table FILE]\n"
      "                       [--timeout SECONDS] ENGINE SCENARIO\n"
      "       scenario_runner [--table FILE] --list\n",
      stderr);
  std::exit(kUsage);
}

Options parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--ftsc")
      o.ftsc = value();
    else if (a == "--bin-dir")
      o.bin_dir = value();
    else if (a == "--policy-dir")
      o.policy_dir = value();
    else if (a == "--table")
      o.table_file = value();
    else if (a == "--timeout")
      o.timeout_s = std::atoi(value().c_str());
    else if (a == "--list")
      o.list = true;
    else if (a.starts_with("--"))
      usage("unknown option " + a);
    else
      positional.push_back(a);
  }
  if (o.list)
    return o;
  if (positional.size() != 2)
    usage("expected ENGINE and SCENARIO");
  o.engine = positional[0];
  o.scenario = positional[1];
  if (o.bin_dir.empty() || (o.engine != "native" && (o.ftsc.empty() || o.policy_dir.empty())))
    usage("--bin-dir is needed, and --ftsc and --policy-dir for an engine");
  if (o.timeout_s <= 0)
    usage("--timeout needs a positive number of seconds");
  return o;
}

// A directory for the run's stderr and statistics, removed at the end.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/ftsc-scenario-XXXXXX";
    if (!mkdtemp(templ.data())) {
      say(fmt::format("mkdtemp {}: {}", templ, std::strerror(errno)));
      std::exit(kFail);
    }
    path = templ;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  std::string table_text = kEmbeddedTable;
  std::string origin = "scenarios.tsv (compiled in)";
  if (!o.table_file.empty()) {
    std::ifstream in(o.table_file);
    if (!in)
      usage("cannot read the table " + o.table_file);
    std::ostringstream text;
    text << in.rdbuf();
    table_text = text.str();
    origin = o.table_file;
  }
  const std::optional<std::vector<Scenario>> table = parse_table(table_text, origin);
  if (!table)
    return kUsage;
  if (o.list) {
    for (const Scenario& s : *table)
      std::printf("%s\n", s.name.c_str());
    return kPass;
  }

  bool known_engine = false;
  for (const char* e : kEngines)
    known_engine = known_engine || o.engine == e;
  if (!known_engine)
    usage("unknown engine '" + o.engine + "' (native, ptrace, preload, auto, kmod)");
  const Scenario* s = nullptr;
  for (const Scenario& candidate : *table)
    if (candidate.name == o.scenario)
      s = &candidate;
  if (!s)
    usage("no scenario '" + o.scenario + "' in " + origin + " (--list shows them)");
  std::optional<std::string> refusal;
  for (const auto& [engine, message] : s->refused_by)
    if (engine == o.engine)
      refusal = message;

  ScratchDir scratch;
  const std::string program = o.bin_dir + "/scenario_" + s->name;
  const std::string stats_file = scratch.path + "/stats.json";
  std::vector<std::string> argv_run;
  if (o.engine == "native") {
    argv_run.push_back(program);
    argv_run.insert(argv_run.end(), s->native_args.begin(), s->native_args.end());
  } else {
    // Every engine runs through `ftsc run`; one that needs another launcher
    // (kmod loads a policy system-wide) changes this one place.
    argv_run = {o.ftsc,   "run",      "--engine",
                o.engine, "--policy", o.policy_dir + "/" + s->name + ".toml"};
    argv_run.insert(argv_run.end(), s->ftsc_flags.begin(), s->ftsc_flags.end());
    argv_run.insert(argv_run.end(), {"--stats", stats_file, "--", program});
    argv_run.insert(argv_run.end(), s->engine_args.begin(), s->engine_args.end());
  }
  say("$ " + shell_words(argv_run));
  const int64_t start = now_ms();
  const Outcome outcome = run(argv_run, scratch.path + "/stderr", o.timeout_s);
  show_stderr(outcome.err);
  say(fmt::format("{} after {} ms", describe(outcome), now_ms() - start));
  if (refusal)
    return judge_refusal(*s, o.engine, *refusal, outcome);
  return o.engine == "native" ? judge_native(*s, outcome)
                              : judge_engine(*s, o.engine, outcome, stats_file);
}
