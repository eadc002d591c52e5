#!/usr/bin/env bash
# Builds the netboot test OS: Debian 12's current kernel (vmlinuz) and a tiny
# busybox initrd (initrd.gz) whose /init prints one marker line on the console
# and powers the machine off. Only Debian packages are used, fetched with
# `apt-get download` and unpacked with dpkg-deb; nothing is installed on the host.
#
# Usage: images/build-test-image.sh            (prints the two output paths)
# Env:   YAGURA_TEST_IMAGE_DIR  output and package cache (default: <repo>/.cache/test-image)
#
# Idempotent: when the outputs exist and were built from the same packages and
# the same version of this script and lib/debian.sh, it only prints their paths.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tool=build-test-image
# shellcheck source=images/lib/debian.sh
. "$here/lib/debian.sh"
out=${YAGURA_TEST_IMAGE_DIR:-$repo/.cache/test-image}
mkdir -p "$out/debs"
out=$(cd "$out" && pwd)
debs=$out/debs
# Test files that need the image run in parallel: one build at a time; the
# others wait here and then find the outputs current.
exec 9>"$out/.lock"
flock 9

for t in apt-get apt-cache dpkg-deb cpio gzip tar sha256sum; do
  command -v "$t" >/dev/null || die "missing $t (Debian packages: apt, dpkg, cpio, gzip, tar, coreutils)"
done

# One apt-cache call (about a second when apt keeps no binary cache) resolves
# the kernel package that linux-image-amd64 depends on, e.g.
# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)", and busybox-static's candidate version.
resolve() {
  apt-cache show --no-all-versions linux-image-amd64 busybox-static 2>/dev/null | awk '
    /^Package: / { pkg = $2 }
    pkg == "linux-image-amd64" && /^Depends: / {
      if (match($0, /linux-image-[0-9][^ ,]*-amd64 \(= [^)]*\)/)) {
        dep = substr($0, RSTART, RLENGTH); gsub(/[()=]/, "", dep); split(dep, d, " +"); kpkg = d[1]; kver = d[2]
      }
    }
    pkg == "busybox-static" && /^Version: / { bver = $2 }
    END { if (kpkg != "" && bver != "") print kpkg, kver, bver }'
}

apt_updated=0
resolved=$(resolve)
if [ -z "$resolved" ]; then
  [ "$(id -u)" -eq 0 ] || die "the apt package lists lack linux-image-amd64 or busybox-static; run 'sudo apt-get update' and try again"
  echo "build-test-image: apt-get update (package lists lack linux-image-amd64 or busybox-static)" >&2
  apt-get update -q >/dev/null || die "apt-get update failed"
  apt_updated=1
  resolved=$(resolve)
  [ -n "$resolved" ] || die "apt-cache cannot resolve linux-image-amd64 and busybox-static (is this Debian 12 with main enabled?)"
fi
read -r kpkg kver bver <<<"$resolved"

# Everything the output depends on; when it matches the stamp, there is nothing to do.
self_sum=$(cat "${BASH_SOURCE[0]}" "$here/lib/debian.sh" | sha256sum | cut -d' ' -f1)
want_stamp="$kpkg=$kver busybox-static=$bver script=$self_sum"
if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want_stamp" ]; then
  echo "$out/vmlinuz"
  echo "$out/initrd.gz"
  exit 0
fi

# apt-get download (lib/debian.sh) reuses a .deb already there for the same version.
kdeb=$(download "$kpkg" "$kver")
bdeb=$(download busybox-static "$bver")

work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The kernel: only /boot/vmlinuz-* is needed. The test OS loads no modules, so
# the ~400 MB of /lib/modules is not unpacked (dpkg-deb -x would write it all).
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
vmlinuz=$(find "$work/boot" -name 'vmlinuz-*' -print | head -n1)
[ -n "$vmlinuz" ] || die "$kdeb holds no /boot/vmlinuz-*"

# busybox-static: one static binary, unpacked with dpkg-deb -x.
dpkg-deb -x "$bdeb" "$work/busybox"
busybox=$work/busybox/bin/busybox
[ -x "$busybox" ] || die "$bdeb holds no /bin/busybox"

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,root,etc}
cp "$busybox" "$root/bin/busybox"
# Every applet as a symlink in /bin (PATH is just /bin); the static binary runs on the amd64 host.
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
# The kernel opens /dev/console before running /init; its built-in initramfs
# normally provides the node, but make sure when we may create device nodes.
if [ "$(id -u)" -eq 0 ]; then
  mknod -m 600 "$root/dev/console" c 5 1
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"

cat >"$root/init" <<'INIT'
#!/bin/sh
# Yagura netboot test OS: report who we are on the console, then power off
# (or keep a shell when the kernel command line has yagura.stay=1).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
exec </dev/console >/dev/console 2>&1
serial=$(cat /sys/class/dmi/id/product_serial 2>/dev/null)
cmdline=$(cat /proc/cmdline)
uptime=$(cut -d' ' -f1 /proc/uptime)
echo "YAGURA-TEST-OS booted serial=${serial:-unknown} uptime=${uptime}s cmdline=${cmdline}"
case " $cmdline " in
*" yagura.stay=1 "*)
  echo "YAGURA-TEST-OS staying up (yagura.stay=1): shell on the console"
  hostname yagura-test
  while true; do setsid cttyhack sh; done
  ;;
esac
echo "YAGURA-TEST-OS powering off"
sync
poweroff -f
INIT
chmod 755 "$root/init"

# A reproducible newc archive: sorted names, fixed mtimes, gzip without a timestamp.
pack_initrd "$root" "$work/initrd.gz"

cp "$vmlinuz" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.gz" "$out/initrd.gz"
echo "$want_stamp" >"$out/stamp"
echo "build-test-image: built from $kpkg $kver and busybox-static $bver" >&2
echo "$out/vmlinuz"
echo "$out/initrd.gz"
