#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The module as the ftsc-dkms package installs it, in the VM: DKMS built
# /ftsc/dkms/ftsc.ko against Debian's headers on the host (scripts/test-packages),
# and the host's depmod indexed it as /lib/modules/RELEASE/updates/dkms/ftsc.ko
# (the index files are in /ftsc/dkms/). Put in place here, `ftsc kmod load`
# without --module finds it through the index as modprobe would (libkmod),
# inserts it, and its version is ftsc's own. Skips (77) when the lane was
# built without a DKMS-built module (FTSC_KERNEL_DKMS_MODULE).
. /ftsc/tests/lib.sh
if [ ! -e /ftsc/dkms/ftsc.ko ]; then
  echo "skipped: no DKMS-built module in this lane (scripts/test-packages builds one; configure" \
    "build-kernel with -DFTSC_KERNEL_DKMS_MODULE=PATH)"
  exit 77
fi
unload_module
modules=/lib/modules/$(uname -r)
mkdir -p "$modules/updates/dkms"
cp /ftsc/dkms/modules.* "$modules/"
cp /ftsc/dkms/ftsc.ko "$modules/updates/dkms/ftsc.ko"
P=/tmp/dkms.toml
cat >$P <<'TOML'
version = 1
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
[target]
comm = "ftscprobe"
TOML

run_expect 0 ftsc kmod status
output_has "module: not loaded"
output_has "module_file: $modules/updates/dkms/ftsc.ko"
run_expect 0 ftsc kmod load $P
output_has "inserted the kernel module $modules/updates/dkms/ftsc.ko"
output_lacks "warning: the loaded module is version"
version=$(ftsc --version | sed -n 's/^ftsc //p')
[ -n "$version" ] || fail "ftsc --version says no version"
[ "$(cat /sys/module/ftsc/version)" = "$version" ] ||
  fail "/sys/module/ftsc/version is '$(cat /sys/module/ftsc/version)', ftsc is $version"
echo "ok: /sys/module/ftsc/version is $version"
run_expect 0 ftsc kmod status
output_has "version: $version"
status_has "policy: loaded"
run_expect 0 ftsc kmod unload
output_has "the module removed"
rm -rf "$modules"
echo "kmod.dkms: ok"
