#!/usr/bin/env bash
# Makes sure the Debian packages the tests use are installed: installs the
# missing ones when run as root on Debian, otherwise says what to install.
set -euo pipefail

# package:command-it-provides
needed=(
  "etcd-server:/usr/bin/etcd"
  "etcd-client:/usr/bin/etcdctl"
  "openssl:/usr/bin/openssl"
  "qemu-system-x86:/usr/bin/qemu-system-x86_64"
  "ipxe-qemu:/usr/lib/ipxe/qemu"
  "dnsmasq-base:/usr/sbin/dnsmasq"
  "cpio:/usr/bin/cpio"
  "udhcpc:/usr/sbin/udhcpc"
  "isc-dhcp-client:/usr/sbin/dhclient"
  "ipxe:/usr/lib/ipxe/ipxe.efi"
  "ignition:/usr/bin/ignition-validate"
  "curl:/usr/bin/curl"
  "qemu-utils:/usr/bin/qemu-img"
  "ovmf:/usr/share/OVMF/OVMF_CODE_4M.fd"
  "ipmitool:/usr/bin/ipmitool"
  "bird2:/usr/sbin/bird"
  "iputils-ping:/usr/bin/ping"
  "nftables:/usr/sbin/nft"
  "graphviz:/usr/bin/dot"
  "libxml2-utils:/usr/bin/xmllint"
  "serf:/usr/bin/serf"
)

missing=()
for entry in "${needed[@]}"; do
  pkg=${entry%%:*}
  cmd=${entry#*:}
  [ -e "$cmd" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "The tests need these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "Installing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting system services (e.g. a system etcd on :2379).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap 'if [ $created_policy -eq 1 ]; then rm -f "$policy"; fi' EXIT
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}
# Debian's serf package enables a system agent (serf.service) that would hold
# 7373/7946 at the next boot; the tests start their own agents on free ports.
if [[ " ${missing[*]} " == *" serf "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now serf.service >/dev/null 2>&1 || true
fi
