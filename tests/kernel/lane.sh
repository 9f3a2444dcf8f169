#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kernel lane: builds the ftsc module against Debian's kernel headers,
# boots Debian's kernel in QEMU (TCG) with a busybox initramfs that holds the
# module, the ftsc CLI and the test programs, runs the in-VM tests (vm-init.sh)
# and turns the serial console into one result per test for ctest.
#
#   lane.sh kernel DIR                   fetch Debian's kernel image into DIR
#   lane.sh module SRC_ROOT DIR KDIR_FILE VERSION
#                                        build ftsc.ko (MODULE_VERSION VERSION)
#                                        from SRC_ROOT into DIR
#   lane.sh dkms-index KO DIR            copy a DKMS-built ftsc.ko into DIR with the
#                                        module index (modules.*.bin) that depmod
#                                        writes for it as updates/dkms/ftsc.ko
#   lane.sh release                      print the kernel release of the headers
#   lane.sh initramfs OUT MANIFEST       pack the files MANIFEST lists
#   lane.sh boot LANE_DIR                boot, run every test, split the log
#                                        (exit 77 when QEMU cannot run here)
#   lane.sh result LANE_DIR NAME         print NAME's output, exit as it did
#                                        (77 when the boot was skipped)
#
# The kernel version comes from the linux-headers-amd64 metapackage that
# scripts/install-deps installs (its dependency names the versioned package),
# never from `uname -r`: the host runs another kernel. The image package of
# the same version is fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`, never installed. QEMU runs with no console on standard input
# and under `timeout -k`, so that the lane cannot hang.
set -euo pipefail

die() {
  echo "lane.sh: $*" >&2
  exit 1
}

# "6.1.0-56-amd64 6.1.192-2": the release and package version that the
# installed linux-headers-amd64 metapackage depends on.
kernel_release() {
  local depends pkg version
  depends=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) ||
    die "linux-headers-amd64 is not installed (scripts/install-deps installs it)"
  pkg=$(sed -n 's/.*\(linux-headers-[0-9][^ ,]*-amd64\).*/\1/p' <<<"$depends")
  version=$(sed -n 's/.*linux-headers-[0-9][^ ,]*-amd64 (= \([^)]*\)).*/\1/p' <<<"$depends")
  [ -n "$pkg" ] || die "cannot read the kernel version from linux-headers-amd64's dependency '$depends'"
  echo "${pkg#linux-headers-} ${version}"
}

# The uncompressed kernel inside a bzImage: Debian compresses it with xz
# (CONFIG_KERNEL_XZ), so the payload is the xz stream that starts at the first
# xz magic; what follows it is padding that --single-stream ignores.
extract_vmlinux() {
  local bzimage="$1" out="$2" offset
  offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bzimage" | head -n 1 | cut -d: -f1)
  [ -n "$offset" ] || die "$bzimage holds no xz stream (this script reads xz-compressed kernels only)"
  # (tail runs apart from the pipeline: it gets SIGPIPE when xz has its stream)
  xz -dc --single-stream <(tail -c +"$((offset + 1))" "$bzimage") >"$out.tmp" ||
    die "cannot decompress the kernel in $bzimage"
  [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] ||
    die "what $bzimage holds at offset $offset is not an ELF kernel"
  mv "$out.tmp" "$out"
}

cmd_kernel() {
  local dir="$1" release version
  read -r release version < <(kernel_release)
  mkdir -p "$dir"
  if [ -s "$dir/vmlinux" ] && [ "$(cat "$dir/release" 2>/dev/null)" = "$release" ]; then
    return 0
  fi
  rm -rf "$dir/deb" "$dir/root"
  mkdir -p "$dir/deb"
  local apt_opts=()
  # apt drops privileges to _apt for downloads, which cannot write here.
  if [ "$(id -u)" -eq 0 ]; then apt_opts=(-o APT::Sandbox::User=root); fi
  (cd "$dir/deb" && apt-get download "${apt_opts[@]}" "linux-image-$release=$version") ||
    die "cannot download linux-image-$release=$version (run apt-get update?)"
  dpkg-deb -x "$dir"/deb/linux-image-"$release"_*.deb "$dir/root"
  extract_vmlinux "$dir/root/boot/vmlinuz-$release" "$dir/vmlinux"
  cp "$dir/root/boot/config-$release" "$dir/config"
  # FUSE is a module in Debian's kernel; one scenario needs it.
  find "$dir/root/lib/modules/$release" -name fuse.ko -exec cp {} "$dir/fuse.ko" \;
  rm -rf "$dir/deb" "$dir/root"
  echo "$release" >"$dir/release"
}

cmd_module() {
  local src="$1" dir="$2" kdir_file="$3" version="$4" release kdir
  read -r release _ < <(kernel_release)
  kdir="/usr/src/linux-headers-$release"
  [ -f "$kdir/Makefile" ] ||
    die "$kdir is missing: install linux-headers-$release (scripts/install-deps)"
  # Kbuild writes next to the sources: build a copy with the same layout.
  rm -rf "$dir/tree"
  mkdir -p "$dir/tree/kmod" "$dir/tree/src"
  cp "$src"/kmod/*.c "$src"/kmod/*.h "$src"/kmod/Kbuild "$dir/tree/kmod/"
  cp -r "$src/src/abi" "$dir/tree/src/"
  mkdir -p "$dir/tree/src/decide"
  cp "$src"/src/decide/decide.[ch] "$dir/tree/src/decide/"
  make -s -C "$kdir" M="$dir/tree/kmod" FTSC_VERSION="$version" modules >"$dir/build.log" 2>&1 || {
    cat "$dir/build.log" >&2
    die "building ftsc.ko against $kdir failed"
  }
  # Kbuild's own warnings fail the build like the userspace ones do.
  if grep -E 'warning:' "$dir/build.log" | grep -v 'Skipping BTF generation' >&2; then
    die "building ftsc.ko produced warnings (above)"
  fi
  cp "$dir/tree/kmod/ftsc.ko" "$dir/ftsc.ko"
  echo "$kdir" >"$kdir_file"
}

# A module that DKMS built (the ftsc-dkms package, scripts/test-packages), with
# the index depmod writes for it where DKMS installs it: the VM's test
# (vm/kmod_dkms.sh) puts both under /lib/modules/RELEASE/, where libkmod finds
# the module as modprobe would. Its kernel release must be the lane's.
cmd_dkms_index() {
  local ko="$1" dir="$2" release vermagic depmod
  read -r release _ < <(kernel_release)
  [ -f "$ko" ] || die "$ko is missing (scripts/test-packages writes it)"
  vermagic=$(modinfo -F vermagic "$ko") || die "cannot read $ko's vermagic"
  [ "${vermagic%% *}" = "$release" ] ||
    die "$ko was built for ${vermagic%% *}, the lane boots $release"
  depmod=$(command -v depmod || echo /sbin/depmod)
  rm -rf "$dir"
  mkdir -p "$dir/root/lib/modules/$release/updates/dkms"
  cp "$ko" "$dir/root/lib/modules/$release/updates/dkms/ftsc.ko"
  "$depmod" -b "$dir/root" "$release" 2>"$dir/depmod.log" ||
    { cat "$dir/depmod.log" >&2; die "depmod cannot index $ko"; }
  cp "$ko" "$dir/ftsc.ko"
  cp "$dir/root/lib/modules/$release"/modules.*.bin "$dir/"
  rm -rf "$dir/root"
}

# MANIFEST lines: "DEST SOURCE" (a file to copy; executables are stripped
# and their shared libraries copied to the same paths) or "DIR DEST".
cmd_initramfs() {
  local out="$1" manifest="$2" root
  root="$(dirname "$out")/root"
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,lib64,lib/x86_64-linux-gnu}
  cp /bin/busybox "$root/bin/busybox"
  local dest source
  while read -r dest source; do
    [ -z "$dest" ] || [ "${dest:0:1}" = "#" ] && continue
    if [ "$dest" = "DIR" ]; then
      mkdir -p "$root/$source"
      continue
    fi
    [ -e "$source" ] || die "initramfs: $source is missing (is the build complete?)"
    mkdir -p "$root/$(dirname "$dest")"
    if [ -x "$source" ] && [ "$(head -c 4 "$source" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      strip -o "$root/$dest" "$source" 2>/dev/null || cp "$source" "$root/$dest"
      chmod 755 "$root/$dest"
      local lib
      for lib in $(ldd "$source" 2>/dev/null | grep -o '/[^ ]*' || true); do
        [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"; }
      done
    else
      cp "$source" "$root/$dest"
      case "$dest" in init | *.sh) chmod 755 "$root/$dest" ;; esac
    fi
  done <"$manifest"
  # A loader cache, as on any Debian system: without one, the dynamic loader
  # probes library directories with openat calls that fail with ENOENT, and
  # policies that retry openat ENOENT would retry those.
  printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$root/etc/ld.so.conf"
  mkdir -p "$root/var/cache/ldconfig"
  if [ "$(id -u)" -eq 0 ]; then
    ldconfig -r "$root"
  else
    unshare -r ldconfig -r "$root"  # ldconfig -r chroots
  fi || die "ldconfig cannot build the initramfs' loader cache"
  (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$out.tmp"
  mv "$out.tmp" "$out"
}

# Boots the VM, runs every test, and splits the serial log into
# results/NAME.log and results/NAME.status, with a result `boot` of its own:
# did the VM run to the end of its test list? Fails only when QEMU cannot be
# run at all; the results say the rest.
cmd_boot() {
  local lane="$1" limit="${FTSC_KERNEL_TIMEOUT:-2400}"
  local log="$lane/serial.log" results="$lane/results"
  rm -rf "$results" "$log"
  mkdir -p "$results"
  # No QEMU that runs: every kernel.* test skips (77) with the reason.
  local qemu_said
  if ! qemu_said=$(qemu-system-x86_64 -version 2>&1); then
    echo "skipped: qemu-system-x86_64 cannot run here (scripts/install-deps installs" \
      "qemu-system-x86): $(head -n 1 <<<"$qemu_said")" | tee "$results/.skipped"
    exit 77
  fi
  local start=$SECONDS rc=0
  echo "lane.sh: booting $(cat "$lane/kernel/release") in qemu-system-x86_64 (TCG), at most ${limit}s"
  # No console on stdin (CI has none), output only to the serial log file,
  # power-off ends QEMU, and timeout ends everything that overstays.
  # Two vCPUs, run by one host thread (thread=single): with one thread per
  # vCPU, a vCPU could keep executing a stale translation of kernel text that
  # ftrace had just patched on the other (an int3 that text_poke_bp had
  # already replaced), looping on it forever under the unload stress.
  # Expedited RCU grace periods (rcupdate.rcu_expedited=1): the unload
  # stress waits for thousands of them (module insertion and removal, the
  # kprobe that finds kallsyms_lookup_name, and those within each tasks-RCU
  # grace period of unhooking), and an emulated CPU makes each normal one
  # slow; an expedited grace period is a grace period all the same (about 20 %
  # off a stress cycle). A 4 MiB kernel log buffer:
  # the stress logs two lines per cycle, and /init checks the log after each
  # test, which must still hold its first lines then.
  timeout -k 10 "$limit" qemu-system-x86_64 \
    -accel tcg,thread=single -m 1024 -smp 2 \
    -nodefaults -display none -no-reboot \
    -serial "file:$log" \
    -kernel "$lane/kernel/vmlinux" -initrd "$lane/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 oops=panic softlockup_panic=1 loglevel=3 log_buf_len=4M rcupdate.rcu_expedited=1 rdinit=/init" \
    </dev/null || rc=$?
  local took=$((SECONDS - start))
  echo "lane.sh: QEMU ended with status $rc after ${took}s"
  [ -e "$log" ] || die "QEMU wrote no serial log (status $rc)"
  # @@FTSC-BEGIN NAME / output / @@FTSC-END NAME STATUS MS, then @@FTSC-DONE
  awk -v dir="$results" '
    { sub(/\r$/, "") }
    /^@@FTSC-BEGIN / { name = $2; file = dir "/" name ".log"; printf "" > file; next }
    /^@@FTSC-END / {
      if (name != "") {
        print $3 > (dir "/" name ".status"); close(dir "/" name ".status")
        print "(" $4 " ms in the VM)" >> file; close(file)
      }
      name = ""; next
    }
    /^@@FTSC-DONE/ { print "done" > (dir "/.done"); next }
    { if (name != "") print >> file }
  ' "$log"
  {
    grep -a '^@@FTSC-VM' "$log" || true
    echo "QEMU ended with status $rc after ${took}s (limit ${limit}s)"
    if [ -e "$results/.done" ]; then
      echo "the VM ran every test and powered off"
    else
      [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
        echo "the VM did not finish within ${limit}s and was killed"
      echo "the VM did not reach the end of its tests; the serial log ends:"
      tail -n 60 "$log"
    fi
  } >"$results/boot.log"
  if [ -e "$results/.done" ]; then echo 0; else echo 1; fi >"$results/boot.status"
  cat "$results/boot.log"
  return 0
}

cmd_result() {
  local lane="$1" name="$2" results="$1/results"
  if [ -e "$results/.skipped" ]; then
    cat "$results/.skipped"
    exit 77
  fi
  if [ ! -e "$results/$name.status" ]; then
    echo "no result for $name: the VM did not run it or did not finish it."
    [ -e "$results/$name.log" ] && { echo "its output so far:"; cat "$results/$name.log"; }
    echo "the serial log ($lane/serial.log) ends:"
    tail -n 40 "$lane/serial.log" 2>/dev/null || true
    exit 1
  fi
  cat "$results/$name.log"
  exit "$(cat "$results/$name.status")"
}

[ $# -ge 1 ] || die "usage: lane.sh kernel|module|dkms-index|release|initramfs|boot|result ARGS..."
command="$1"
shift
case "$command" in
  kernel) cmd_kernel "$@" ;;
  module) cmd_module "$@" ;;
  dkms-index) cmd_dkms_index "$@" ;;
  release) kernel_release | cut -d' ' -f1 ;;
  initramfs) cmd_initramfs "$@" ;;
  boot) cmd_boot "$@" ;;
  result) cmd_result "$@" ;;
  *) die "unknown command '$command'" ;;
esac
