// SPDX-License-Identifier: Apache-2.0
// Whether the preload library can load into a program, and where the library
// is. A program the dynamic loader does not run (a static or 32-bit one, or a
// script whose interpreter is one) cannot have the library; `ftsc run` says so
// before it starts anything, and `auto` gives such a program to the ptrace
// engine alone.
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "launch/spawn.h"
#include "preload/launcher.h"
#include "preload/preload_interface.h"

namespace ftsc::preload {
namespace {

base::Result<void> check_file(const std::string& argv0, const std::string& path, int depth) {
  base::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return {};  // exec reports it
  char head[256] = {};
  ssize_t n = pread(fd.get(), head, sizeof head, 0);
  if (n < 4)
    return {};
  if (head[0] == '#' && head[1] == '!' && depth < 4) {
    std::string_view line(head + 2, static_cast<size_t>(n) - 2);
    line = line.substr(0, line.find('\n'));
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos)
      return {};
    line.remove_prefix(start);
    std::string interpreter(line.substr(0, line.find_first_of(" \t")));
    return check_file(argv0, interpreter, depth + 1);
  }
  if (std::memcmp(head, ELFMAG, SELFMAG) != 0)
    return {};  // not ELF: exec (or its shell fallback) decides
  const std::string what =
      path == argv0 ? fmt::format("'{}'", argv0) : fmt::format("'{}' (run by '{}')", path, argv0);
  Elf64_Half machine;
  std::memcpy(&machine, head + offsetof(Elf64_Ehdr, e_machine), sizeof machine);
  if (head[EI_CLASS] == ELFCLASS64 && machine != EM_X86_64)
    return {};  // a program of another machine: exec says why
  if (head[EI_CLASS] != ELFCLASS64)
    return base::Error{fmt::format("{} is not a 64-bit program: the preload library cannot load "
                                   "into it",
                                   what),
                       {},
                       "no engine of `ftsc run` retries a 32-bit program's calls (policies name "
                       "x86_64 syscalls); --engine ptrace runs it without retries"};
  Elf64_Ehdr eh;
  std::memcpy(&eh, head, sizeof eh);
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    return {};
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    off_t at = static_cast<off_t>(eh.e_phoff + i * sizeof ph);
    if (pread(fd.get(), &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph))
      return {};
    if (ph.p_type == PT_INTERP)
      return {};
  }
  return base::Error{
      fmt::format("{} is statically linked: the preload engine works only in dynamically linked "
                  "programs (it is loaded by the dynamic loader)",
                  what),
      {},
      "use --engine ptrace, which handles static programs"};
}

}  // namespace

base::Result<std::string> find_library() {
  if (const char* env = getenv("FTSC_PRELOAD_LIBRARY"); env != nullptr && *env != '\0') {
    if (access(env, R_OK) != 0)
      return base::system_error(fmt::format("cannot use FTSC_PRELOAD_LIBRARY={}", env), errno);
    return std::string(env);
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return base::system_error("cannot find the ftsc binary (/proc/self/exe)", errno);
  std::string dir(exe, static_cast<size_t>(n));
  dir.resize(dir.rfind('/'));
  const std::string candidates[] = {
      dir + "/" FTSC_PRELOAD_LIBRARY_NAME,
      dir + "/" FTSC_PRELOAD_INSTALL_DIR_FROM_BIN "/" FTSC_PRELOAD_LIBRARY_NAME,
  };
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), R_OK) == 0) {
      char resolved[PATH_MAX];
      const std::string c = realpath(candidate.c_str(), resolved) != nullptr ? resolved : candidate;
      // LD_PRELOAD separates entries with ':' and spaces.
      if (c.find_first_of(": \t") != std::string::npos)
        return base::Error{
            fmt::format("the preload library's path '{}' contains ':' or a space, which "
                        "LD_PRELOAD cannot hold",
                        c),
            {},
            "install ftsc in a directory without them, or set FTSC_PRELOAD_LIBRARY"};
      return c;
    }
  }
  return base::Error{fmt::format("cannot find {} next to {} or in {}", FTSC_PRELOAD_LIBRARY_NAME,
                                 std::string(exe, static_cast<size_t>(n)),
                                 dir + "/" FTSC_PRELOAD_INSTALL_DIR_FROM_BIN),
                     {},
                     "reinstall ftsc, set FTSC_PRELOAD_LIBRARY, or use --engine ptrace"};
}

base::Result<void> check_loadable(const std::string& argv0) {
  auto path = launch::find_program(argv0);
  if (!path)
    return {};  // the exec reports it
  return check_file(argv0, *path, 0);
}

bool active_in_this_process() {
  using ActiveFn = int (*)();
  void* sym = dlsym(RTLD_DEFAULT, FTSC_PRELOAD_ACTIVE_SYMBOL);
  if (sym == nullptr)
    return false;
  ActiveFn fn;
  std::memcpy(&fn, &sym, sizeof fn);
  return fn() != 0;
}

}  // namespace ftsc::preload
