// SPDX-License-Identifier: Apache-2.0
// kmod_module_file_test: `ftsc kmod load` without --module finds ftsc.ko as
// modprobe does, through the module index that depmod writes (libkmod), so
// DKMS's updates/dkms/ and any other place depmod indexed are found, in
// depmod's order. A module tree of the test's own (not the machine's): a
// stand-in ftsc.ko (fake_module.c: only the .modinfo section depmod reads),
// indexed by the real depmod. Skips without depmod (package kmod).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kmod/module_file.h"
#include "support/run_process.h"

namespace ftsc::kmod {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRelease = "6.1.0-0-ftsctest";

class ModuleFile : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* candidate : {"/usr/sbin/depmod", "/sbin/depmod"})
      if (access(candidate, X_OK) == 0)
        depmod_ = candidate;
    if (depmod_.empty())
      GTEST_SKIP() << "depmod is not installed (package kmod): the module index cannot be made";
    char tmpl[] = "/tmp/ftsc-module-file-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/lib/modules/" + kRelease;
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!root_.empty())
      fs::remove_all(root_);
  }
  void install_module(const std::string& relative) {
    fs::create_directories(fs::path(dir_ + "/" + relative).parent_path());
    fs::copy_file(FTSC_FAKE_MODULE, dir_ + "/" + relative);
  }
  void index() {
    auto r = test::run_process({depmod_, "-b", root_, kRelease});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(fs::exists(dir_ + "/modules.dep.bin"));
  }

  std::string depmod_, root_, dir_;
};

TEST_F(ModuleFile, TheIndexNamesTheModuleWhereverDepmodFoundIt) {
  install_module("kernel/misc/ftsc.ko");  // none of the usual places
  index();
  const auto paths = module_file_candidates(dir_);
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths[0], dir_ + "/kernel/misc/ftsc.ko");
}

TEST_F(ModuleFile, DkmsUpdatesComeBeforeExtraAsForModprobe) {
  install_module("extra/ftsc.ko");
  install_module("updates/dkms/ftsc.ko");
  index();
  const auto paths = module_file_candidates(dir_);
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths[0], dir_ + "/updates/dkms/ftsc.ko");
}

TEST_F(ModuleFile, WithoutAnIndexTheUsualPlacesAreTried) {
  // No depmod run: nothing indexed, the paths DKMS and modules_install use.
  const std::vector<std::string> want = {dir_ + "/updates/dkms/ftsc.ko", dir_ + "/updates/ftsc.ko",
                                         dir_ + "/extra/ftsc.ko"};
  EXPECT_EQ(module_file_candidates(dir_), want);
}

}  // namespace
}  // namespace ftsc::kmod
