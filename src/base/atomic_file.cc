// SPDX-License-Identifier: Apache-2.0
#include "base/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <fmt/format.h>

namespace ftsc::base {

Result<void> write_file_atomically(const std::string& path, std::string_view content) {
  // The temporary file beside the target, so that the rename stays in one
  // file system; its name starts with '.', which collectors skip.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmpl = dir + "." + base + ".XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0)
    return system_error(fmt::format("cannot create a file beside '{}'", path), errno,
                        "check that the directory exists and is writable");
  auto fail = [&](const char* what) {
    int err = errno;
    close(fd);
    unlink(name.data());
    return system_error(fmt::format("cannot {} '{}'", what, path), err);
  };
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return fail("write");
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0)
    return fail("set the mode of");
  if (close(fd) != 0) {
    int err = errno;
    unlink(name.data());
    return system_error(fmt::format("cannot write '{}'", path), err);
  }
  if (rename(name.data(), path.c_str()) != 0) {
    int err = errno;
    unlink(name.data());
    return system_error(fmt::format("cannot replace '{}'", path), err);
  }
  return {};
}

}  // namespace ftsc::base
