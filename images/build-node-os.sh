#!/usr/bin/env bash
# Builds the Yagura node OS: Debian 12's current kernel (vmlinuz) and an initrd
# (initrd.gz) with static busybox, Debian's `ignition` binary, BIRD 2 (bird,
# birdc), serf, the shared libraries they need, and the kernel modules for
# common virtual and Intel NICs. Its /init gets an address by DHCP, fetches and
# applies the machine's Ignition config, brings up node0 and the uplinks the
# config describes, starts BIRD and serf and reports its node checks in serf
# tags (see docs/node-os.md). Only Debian packages are
# used, fetched with `apt-get download` and unpacked with dpkg-deb; nothing is
# installed on the host.
#
# Usage: images/build-node-os.sh            (prints the two output paths)
# Env:   YAGURA_NODE_OS_DIR  output and package cache (default: <repo>/.cache/node-os)
#
# Idempotent: when the outputs exist, no apt package list changed since they
# were built and this script and its inputs are unchanged, it only prints
# their paths; otherwise it resolves the package versions again and rebuilds
# when any differs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tool=build-node-os
# shellcheck source=images/lib/debian.sh
. "$here/lib/debian.sh"

out=${YAGURA_NODE_OS_DIR:-$repo/.cache/node-os}
debs=$out/debs
mkdir -p "$debs"
out=$(cd "$out" && pwd)
debs=$out/debs
# Test files that need the image run in parallel: one build at a time; the
# others wait here and then find the outputs current.
exec 9>"$out/.lock"
flock 9

need_tools apt-get apt-cache dpkg-deb cpio gzip tar sha256sum find
apt_updated=0

# NICs the initrd can drive (Debian builds them as modules), plus node0's dummy.
MODULES="e1000 e1000e virtio_net virtio_pci dummy"
# What the image is made of besides the kernel; their library dependencies follow.
ROOTS="busybox-static ignition bird2 serf"

print_outputs() {
  echo "$out/vmlinuz"
  echo "$out/initrd.gz"
}

inputs_sum=$(cat "${BASH_SOURCE[0]}" "$here/lib/debian.sh" "$here/node-os/init" "$here/node-os/udhcpc.script" | sha256sum | cut -d' ' -f1)
current() {
  [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ] && [ -f "$out/stamp" ]
}
# Fast path (no apt-cache calls): same inputs, and apt's package lists are
# older than the stamp, so resolving again would name the same versions.
if current && grep -qx "inputs=$inputs_sum" "$out/stamp" &&
  [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -newer "$out/stamp" -print -quit 2>/dev/null)" ]; then
  print_outputs
  exit 0
fi

resolve() {
  local kernel
  kernel=$(kernel_package) || return 1
  [ -n "$kernel" ] || return 1
  echo "$kernel"
  # shellcheck disable=SC2086 # a list of package names
  library_closure $ROOTS
}
if ! packages=$(resolve); then
  apt_update_once
  packages=$(resolve) || die "apt-cache cannot resolve linux-image-amd64 and $ROOTS (is this Debian 12 with main enabled?)"
fi
want_stamp=$(printf '%s\n' "$packages" | LC_ALL=C sort | sed 's/ /=/'; echo "inputs=$inputs_sum")
if current && [ "$(cat "$out/stamp")" = "$want_stamp" ]; then
  touch "$out/stamp"
  print_outputs
  exit 0
fi

work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
sys=$work/sys # every package unpacked, as a sysroot the binaries are resolved in
root=$work/root
mkdir -p "$sys" "$root"

kdeb=""
while read -r pkg ver; do
  deb=$(download "$pkg" "$ver")
  case $pkg in
  linux-image-*) kdeb=$deb ;;
  *) dpkg-deb -x "$deb" "$sys" ;;
  esac
done <<<"$packages"

# The kernel and the NIC drivers' directories only: -x of the whole package
# would write ~400 MB of modules.
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' \
  './lib/modules/*/kernel/drivers/net/*' './lib/modules/*/kernel/drivers/virtio/*' \
  './lib/modules/*/kernel/drivers/ptp/*' './lib/modules/*/kernel/drivers/pps/*' './lib/modules/*/kernel/net/core/*'
vmlinuz=$(find "$work/boot" -name 'vmlinuz-*' -print | head -n1)
[ -n "$vmlinuz" ] || die "$kdeb holds no /boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}

# ---- the root file system ----
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc/selinux,lib/x86_64-linux-gnu,lib64,usr/share/udhcpc}
busybox=$sys/bin/busybox
[ -x "$busybox" ] || die "busybox-static holds no /bin/busybox"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
if [ "$(id -u)" -eq 0 ]; then
  mknod -m 600 "$root/dev/console" c 5 1
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

# Debian's ignition package ships the binary for its dracut module only.
install -m 755 "$sys/usr/lib/dracut/modules.d/30ignition/ignition" "$root/usr/bin/ignition"
install -m 755 "$sys/usr/sbin/bird" "$sys/usr/sbin/birdc" "$root/usr/sbin/"
install -m 755 "$sys/usr/bin/serf" "$root/usr/bin/serf"
# Ignition's files stage always relabels what it wrote for SELinux: it needs
# /etc/selinux/config to name a policy type and runs setfiles. This kernel has
# no SELinux policy loaded, so setfiles is a no-op that reads the path list.
printf 'SELINUX=disabled\nSELINUXTYPE=targeted\n' >"$root/etc/selinux/config"
printf '#!/bin/sh\n# No SELinux in the Yagura node OS: Ignition'"'"'s relabel step has nothing to do.\ncat >/dev/null\n' >"$root/usr/sbin/setfiles"
chmod 755 "$root/usr/sbin/setfiles"

# Shared libraries: the ELF interpreter from libc6 lists what each binary
# loads (ldd's own method) with only the unpacked packages on its path; a
# library that resolves anywhere else is missing from the packages.
libpath=$sys/lib/x86_64-linux-gnu:$sys/usr/lib/x86_64-linux-gnu
interp=$sys/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -x "$interp" ] || die "libc6 holds no /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
cp -L "$interp" "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
for bin in usr/bin/ignition usr/sbin/bird usr/sbin/birdc usr/bin/serf; do
  listing=$("$interp" --inhibit-cache --library-path "$libpath" --list "$root/$bin") || die "cannot list the libraries of /$bin: $listing"
  while read -r soname arrow path _; do
    # The vDSO has no file; the interpreter (listed by its absolute path) is in already.
    [ "$arrow" = "=>" ] && [ "${soname#/}" = "$soname" ] || continue
    case $path in
    "$sys"/*) cp -L "$path" "$root/lib/x86_64-linux-gnu/$soname" ;;
    *) die "/$bin needs $soname, which none of the packages ($ROOTS and their libraries) provide (found: $path)" ;;
    esac
  done <<<"$listing"
done

# Kernel modules, dependencies first (read from each module's .modinfo).
moddir=$work/lib/modules/$kver
ordered=" "
add_module() {
  local name=$1 file dep
  case "$ordered" in *" $name "*) return 0 ;; esac
  file=$(find "$moddir" \( -name "$name.ko" -o -name "${name//_/-}.ko" \) -print | head -n1)
  [ -n "$file" ] || die "kernel module $name is not in $kdeb (looked under drivers/net, virtio, ptp, pps and net/core)"
  for dep in $(tr '\0' '\n' <"$file" | sed -n 's/^depends=//p' | tr ',' ' '); do
    add_module "$dep"
  done
  mkdir -p "$root/lib/modules/$kver"
  cp "$file" "$root/lib/modules/$kver/$name.ko"
  echo "$name" >>"$root/lib/modules/load-order"
  ordered="$ordered$name "
}
for module in $MODULES; do add_module "$module"; done

install -m 755 "$here/node-os/init" "$root/init"
install -m 755 "$here/node-os/udhcpc.script" "$root/usr/share/udhcpc/default.script"
mkdir -p "$root/etc/yagura"
printf '%s\n' "$packages" | LC_ALL=C sort >"$root/etc/yagura/packages"
# What the node reports in its os-version serf tag: the kernel and a digest of every package and input.
echo "node-os-$kver-$(printf '%s\n' "$want_stamp" | sha256sum | cut -c1-12)" >"$root/etc/yagura/os-version"

pack_initrd "$root" "$work/initrd.gz"
cp "$vmlinuz" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.gz" "$out/initrd.gz"
echo "$want_stamp" >"$out/stamp"
echo "$tool: built from $(printf '%s\n' "$packages" | head -n1) and $(($(wc -l <<<"$packages") - 1)) packages ($ROOTS and their libraries); initrd $(du -h "$out/initrd.gz" | cut -f1)" >&2
print_outputs
