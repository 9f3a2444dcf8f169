// SPDX-License-Identifier: Apache-2.0
// Where the ftsc module's file is, when `ftsc kmod load` is given no --module:
// found as modprobe finds a module. libkmod reads the running kernel's module
// index (modules.dep.bin in /lib/modules/RELEASE/, which depmod writes), so
// ftsc.ko is found wherever depmod's search order puts it first: updates/dkms/
// where DKMS installs it (the ftsc-dkms package), updates/, or extra/ where
// `make modules_install` does. A module that depmod has not indexed yet is
// found at those paths all the same.
#pragma once

#include <string>
#include <vector>

namespace ftsc::kmod {

// The paths to try, best first; none of them need exist. `modules_dir` is the
// module tree (default: /lib/modules/ of the running kernel's release).
std::vector<std::string> module_file_candidates(const std::string& modules_dir = {});

}  // namespace ftsc::kmod
