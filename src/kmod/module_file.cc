// SPDX-License-Identifier: Apache-2.0
#include "kmod/module_file.h"

#include <libkmod.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdarg>
#include <memory>

#include <fmt/format.h>

#include "kmod/control.h"

namespace ftsc::kmod {
namespace {

struct ContextUnref {
  void operator()(kmod_ctx* ctx) const { kmod_unref(ctx); }
};
struct ListUnref {
  void operator()(kmod_list* list) const { kmod_module_unref_list(list); }
};
struct ModuleUnref {
  void operator()(kmod_module* module) const { kmod_module_unref(module); }
};

// Library code never prints: libkmod's messages (a missing index, say) go nowhere.
void quiet(void*, int, const char*, int, const char*, const char*, va_list) {}

// What modprobe would load for the name: the index's path of each module the
// lookup yields (an alias could name several); a built-in module has none.
std::vector<std::string> indexed_paths(const std::string& modules_dir) {
  std::vector<std::string> out;
  std::unique_ptr<kmod_ctx, ContextUnref> ctx(kmod_new(modules_dir.c_str(), nullptr));
  if (!ctx)
    return out;
  kmod_set_log_fn(ctx.get(), quiet, nullptr);
  kmod_list* found = nullptr;
  if (kmod_module_new_from_lookup(ctx.get(), kModuleName, &found) != 0)
    return out;
  std::unique_ptr<kmod_list, ListUnref> list(found);
  for (kmod_list* it = list.get(); it != nullptr; it = kmod_list_next(list.get(), it)) {
    std::unique_ptr<kmod_module, ModuleUnref> module(kmod_module_get_module(it));
    const char* path = module ? kmod_module_get_path(module.get()) : nullptr;
    if (path != nullptr && *path != '\0')
      out.emplace_back(path);
  }
  return out;
}

}  // namespace

std::vector<std::string> module_file_candidates(const std::string& modules_dir) {
  std::string dir = modules_dir;
  if (dir.empty()) {
    struct utsname u {};
    if (uname(&u) != 0)
      return {};
    dir = fmt::format("/lib/modules/{}", u.release);
  }
  std::vector<std::string> out = indexed_paths(dir);
  // depmod's default search order: updates/ (DKMS's updates/dkms/ first), then extra/.
  for (const char* sub : {"updates/dkms/ftsc.ko", "updates/ftsc.ko", "extra/ftsc.ko"}) {
    std::string path = dir + "/" + sub;
    if (std::find(out.begin(), out.end(), path) == out.end())
      out.push_back(std::move(path));
  }
  return out;
}

}  // namespace ftsc::kmod
