// SPDX-License-Identifier: Apache-2.0
#include "kmod/control.h"
#include "base/unique_fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace ftsc::kmod {
namespace {

constexpr long kSecurityfsMagic = 0x73636673;  // "sfcs", linux/magic.h

base::Error error(std::string message, std::string hint = {}) {
  return base::Error{std::move(message), {}, std::move(hint)};
}

base::Error not_loaded_error() {
  struct statfs fs {};
  if (statfs(kSecurityfs, &fs) != 0 || static_cast<long>(fs.f_type) != kSecurityfsMagic)
    return error(fmt::format("securityfs is not mounted at {}", kSecurityfs),
                 fmt::format("mount it: mount -t securityfs securityfs {}", kSecurityfs));
  return error("the ftsc module is not loaded",
               "load a policy with `ftsc kmod load --module PATH/ftsc.ko POLICY`");
}

// The value of KEY=VALUE among the words of fields, or nullopt.
std::optional<std::string> value_of(const std::string& fields, const std::string& key) {
  const std::string prefix = key + "=";
  std::istringstream in(fields);
  for (std::string word; in >> word;)
    if (word.starts_with(prefix))
      return word.substr(prefix.size());
  return std::nullopt;
}

int int_value(const std::string& fields, const std::string& key) {
  const std::optional<std::string> v = value_of(fields, key);
  if (!v)
    throw std::invalid_argument(key);
  size_t used = 0;
  const int n = std::stoi(*v, &used);
  if (used != v->size())
    throw std::invalid_argument(key);
  return n;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

void sleep_ms(int ms) {
  const struct timespec ts = {ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

}  // namespace

std::string unescape_name(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto digit = [&](size_t k) { return text[k] >= '0' && text[k] <= '7'; };
    if (text[i] == '\\' && i + 3 < text.size() && digit(i + 1) && text[i + 1] <= '3' &&
        digit(i + 2) && digit(i + 3)) {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                               (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

base::Result<ModuleStatus> parse_status(const std::string& text) {
  ModuleStatus s;
  s.text = text;
  bool saw_module = false;
  std::set<std::string> seen;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ')
      value.erase(0, 1);
    // Every key but `call` comes once: a second one is a forged line (a name
    // printed unescaped by an older module) or a damaged file, never data.
    if (key != "call" && !seen.insert(key).second)
      return error(fmt::format("the module's status has a second '{}:' line: '{}'", key, line),
                   "the module and the ftsc CLI may come from different versions");
    try {
      if (key == "module") {
        saw_module = true;
      } else if (key == "version") {
        s.version = value;
      } else if (key == "policy") {
        s.policy_loaded = value == "loaded";
      } else if (key == "loads") {
        s.loads = std::stoull(value);
      } else if (key == "policy_id") {
        s.policy_id = std::stoull(value);
      } else if (key == "mode") {
        s.mode = value;
      } else if (key == "target") {
        s.target = value;
      } else if (key == "hooked") {
        s.hooked = words(value);
      } else if (key == "unhookable") {
        s.unhookable = words(value);
      } else if (key == "last_error") {
        s.last_error = value;
      } else if (key == "unhook_error") {
        s.unhook_error = std::stoi(value);
      } else if (key == "in_flight") {
        s.in_flight = std::stol(value);
      } else if (key == "call") {
        // The fields, then the task's name, last and escaped (\ooo).
        const size_t comm = value.find(" comm=");
        if (comm == std::string::npos)
          throw std::invalid_argument("comm");
        const std::string fields = value.substr(0, comm);
        InFlightCall c;
        c.pid = int_value(fields, "pid");
        c.tid = int_value(fields, "tid");
        c.comm = unescape_name(value.substr(comm + 6));
        c.syscall = value_of(fields, "syscall").value_or("");
        c.waiting = value_of(fields, "state") == "backoff";
        if (auto id = value_of(fields, "policy"))
          c.policy_id = std::stoull(*id);
        s.calls.push_back(std::move(c));
      }
    } catch (const std::exception&) {
      return error(fmt::format("cannot read the module's status line '{}'", line),
                   "the module and the ftsc CLI may come from different versions");
    }
  }
  if (!saw_module)
    return error("the module's status has no 'module:' line",
                 "the module and the ftsc CLI may come from different versions");
  if (static_cast<long>(s.calls.size()) > s.in_flight)
    return error(fmt::format("the module's status lists {} calls in flight but counts {}",
                             s.calls.size(), s.in_flight),
                 "the module and the ftsc CLI may come from different versions");
  return s;
}

std::string describe_calls(const std::vector<InFlightCall>& calls) {
  std::string out;
  for (const InFlightCall& c : calls) {
    // A name may hold any byte but NUL: control characters are shown as \ooo.
    std::string name;
    for (const char ch : c.comm) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f)
        name += fmt::format("\\{:03o}", u);
      else
        name += ch;
    }
    out += fmt::format("  pid {} ({}), thread {}, {} {}\n", c.pid, name, c.tid,
                       c.waiting ? "waiting to retry" : "inside", c.syscall);
  }
  return out;
}

bool Control::module_loaded() const {
  struct stat st {};
  return stat(dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

base::Result<void> Control::insert_module(const std::string& ko_path) const {
  const int fd = open(ko_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return base::system_error(fmt::format("cannot open the module '{}'", ko_path), err,
                              "build it with `make -C kmod` or give its path with --module");
  }
  base::UniqueFd owner(fd);
  if (syscall(SYS_finit_module, fd, "", 0) != 0) {
    const int err = errno;
    if (err == EEXIST)
      return {};  // loaded meanwhile
    std::string hint;
    switch (err) {
      case EPERM:
        hint =
            "inserting modules needs root (CAP_SYS_MODULE), and is refused when module loading "
            "is disabled (kernel.modules_disabled) or under lockdown";
        break;
      case EKEYREJECTED:
      case ENOKEY:
      case EBADMSG:
        hint =
            "the kernel requires signed modules (Secure Boot): sign ftsc.ko with a key it trusts";
        break;
      case ENOEXEC:
        hint = "ftsc.ko was built for another kernel: rebuild it against this kernel's headers";
        break;
      case ENOSYS:
        hint = "this kernel was built without module support";
        break;
      default:
        hint = "the kernel log (dmesg) may say more";
        break;
    }
    return base::system_error(fmt::format("the kernel refused the module '{}'", ko_path), err,
                              hint);
  }
  if (!module_loaded())
    return error(fmt::format("the module '{}' is loaded but {} did not appear", ko_path, dir_),
                 "is it the ftsc module? the kernel log (dmesg) may say more");
  return {};
}

base::Result<void> Control::write_file(const char* file, const char* what, const void* data,
                                       size_t size) const {
  if (!module_loaded())
    return not_loaded_error();
  const std::string p = path(file);
  const int fd = open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return base::system_error(
        fmt::format("cannot open {}", p), err,
        err == EACCES || err == EPERM ? "the module's control files are root's" : "");
  }
  base::UniqueFd owner(fd);
  const ssize_t n = write(fd, data, size);
  if (n < 0) {
    const int err = errno;
    base::Error e = base::system_error(fmt::format("the module rejected {}", what), err);
    if (auto st = status(); st && !st->last_error.empty())
      e.message = fmt::format("the module rejected {}: {}", what, st->last_error);
    return e;
  }
  if (static_cast<size_t>(n) != size)
    return error(fmt::format("the module took {} of {} bytes written to {}", n, size, p));
  return {};
}

base::Result<void> Control::load_policy(const ftsc_policy& policy) const {
  return write_file("policy", "the policy", &policy, sizeof policy);
}

base::Result<void> Control::detach() const {
  static constexpr char kDetach[] = "detach\n";
  return write_file("control", "the detach command", kDetach, sizeof kDetach - 1);
}

base::Result<ModuleStatus> Control::status() const {
  if (!module_loaded())
    return not_loaded_error();
  std::ifstream in(path("status"));
  if (!in) {
    const int err = errno;
    return base::system_error(
        fmt::format("cannot read {}", path("status")), err,
        err == EACCES || err == EPERM ? "the module's control files are root's" : "");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_status(text.str());
}

base::Result<std::unique_ptr<ftsc_stats>> Control::stats() const {
  if (!module_loaded())
    return not_loaded_error();
  const std::string p = path("stats");
  const int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return base::system_error(
        fmt::format("cannot open {}", p), err,
        err == EACCES || err == EPERM ? "the module's control files are root's" : "");
  }
  base::UniqueFd owner(fd);
  auto table = std::make_unique<ftsc_stats>();
  auto* bytes = reinterpret_cast<char*>(table.get());
  size_t got = 0;
  while (got < sizeof(ftsc_stats)) {
    const ssize_t n = read(fd, bytes + got, sizeof(ftsc_stats) - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      if (err == ENODATA)
        return error("no policy has been loaded since the module was inserted",
                     "load one with `ftsc kmod load POLICY`");
      return base::system_error(fmt::format("cannot read {}", p), err);
    }
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  if (got != sizeof(ftsc_stats))
    return error(fmt::format("{} holds {} bytes, expected {}", p, got, sizeof(ftsc_stats)),
                 "the module and the ftsc CLI may come from different versions");
  return table;
}

base::Result<RemoveOutcome> Control::remove_module(int wait_ms) const {
  RemoveOutcome out;
  if (!module_loaded()) {
    out.was_loaded = false;
    return out;
  }
  if (auto d = detach(); !d)
    return d.error();
  for (int waited = 0;; waited += 50) {
    if (syscall(SYS_delete_module, kModuleName, O_NONBLOCK) == 0) {
      out.removed = true;
      return out;
    }
    const int err = errno;
    if (err == ENOENT) {
      out.was_loaded = false;
      return out;
    }
    // In use: calls in flight hold it (EWOULDBLOCK; EBUSY while it is still
    // starting or going).
    if (err != EWOULDBLOCK && err != EBUSY)
      return base::system_error("cannot remove the ftsc module", err,
                                err == EPERM ? "removing modules needs root (CAP_SYS_MODULE)" : "");
    if (waited >= wait_ms)
      break;
    sleep_ms(50);
  }
  auto st = status();
  if (!st)
    return st.error();
  out.status = std::move(*st);
  return out;
}

}  // namespace ftsc::kmod
