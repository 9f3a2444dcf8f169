// SPDX-License-Identifier: Apache-2.0
// Not a module: an object file with only the .modinfo section a module has,
// which is all depmod reads to index it. kmod_module_file_test installs it as
// ftsc.ko in a module tree of its own and lets the real depmod index it.
__attribute__((section(".modinfo"), used)) static const char name[] = "name=ftsc";
__attribute__((section(".modinfo"), used)) static const char license[] = "license=GPL";
