# shellcheck shell=bash
# Helpers shared by the image builders: resolving Debian packages with
# apt-cache and fetching them with `apt-get download` into a cache dir.
# Nothing is installed on the host and nothing is fetched from anywhere else.
#
# The caller sets `tool` (its name, for messages) and `debs` (the .deb cache
# dir) before using these, and `apt_updated=0`.

die() {
  echo "$tool: $*" >&2
  exit 1
}

need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || die "missing $t (install the Debian package that provides it)"
  done
}

# Runs apt-get update once, as root; without root, tells the user to.
apt_update_once() {
  [ "${apt_updated:-0}" -eq 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || die "the apt package lists are missing or stale; run 'sudo apt-get update' and try again"
  echo "$tool: apt-get update" >&2
  apt-get update -q >/dev/null || die "apt-get update failed"
  apt_updated=1
}

# The kernel package linux-image-amd64 depends on, and its version:
# prints e.g. "linux-image-6.1.0-56-amd64 6.1.192-2".
kernel_package() {
  apt-cache show --no-all-versions linux-image-amd64 2>/dev/null | awk '
    /^Depends: / {
      if (match($0, /linux-image-[0-9][^ ,]*-amd64 \(= [^)]*\)/)) {
        dep = substr($0, RSTART, RLENGTH); gsub(/[()=]/, "", dep); split(dep, d, " +"); print d[1], d[2]; exit
      }
    }'
}

# The candidate versions of the given packages and, transitively, of the
# library packages they depend on (Depends and Pre-Depends whose names start
# with lib, or zlib1g; the first of alternatives): prints "package version"
# lines. Non-library dependencies (adduser, ucf, debconf...) are maintainer-
# script helpers a netboot image does not need. One apt-cache call per level.
library_closure() {
  local todo="$*" seen=" " next kind pkg value out
  while [ -n "$todo" ]; do
    next=""
    # shellcheck disable=SC2086 # $todo is a list of package names
    out=$(apt-cache show --no-all-versions $todo 2>/dev/null | awk '
      /^Package: / { p = $2 }
      /^Version: / { print "V", p, $2 }
      /^(Depends|Pre-Depends): / {
        sub(/^[^:]*: /, ""); n = split($0, deps, /, */)
        for (i = 1; i <= n; i++) { split(deps[i], alt, / *\| */); d = alt[1]; sub(/[ (].*/, "", d); sub(/:.*/, "", d); print "D", p, d }
      }')
    for pkg in $todo; do
      seen="$seen$pkg "
      grep -q "^V $pkg " <<<"$out" || return 1
    done
    while read -r kind pkg value; do
      case $kind in
      V) echo "$pkg $value" ;;
      D) case $value in
        lib* | zlib1g) case "$seen $next " in *" $value "*) ;; *) next="$next $value" ;; esac ;;
        esac ;;
      esac
    done <<<"$out"
    todo=${next# }
  done
}

# The .deb of pkg=ver in $debs, fetched with apt-get download when absent
# (a file already there for the same version is reused; older ones go).
download() {
  local pkg=$1 ver=$2 deb
  deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*.deb" -print | while read -r f; do
    [ "$(dpkg-deb -f "$f" Version)" = "$ver" ] && echo "$f"
  done | head -n1)
  if [ -z "$deb" ]; then
    find "$debs" -maxdepth 1 -name "${pkg}_*.deb" -delete
    echo "$tool: apt-get download $pkg=$ver" >&2
    if ! (cd "$debs" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1); then
      # Stale package lists name a version the mirror no longer has.
      if [ "${apt_updated:-0}" -eq 0 ] && [ "$(id -u)" -eq 0 ]; then apt-get update -q >/dev/null || true; fi
      (cd "$debs" && apt-get download -q "$pkg=$ver") >&2 || die "apt-get download $pkg=$ver failed (try 'apt-get update')"
    fi
    deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*.deb" -print | head -n1)
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $debs"
  fi
  echo "$deb"
}

# Writes a reproducible gzip'd newc archive of directory $1 to $2: sorted
# names, zero mtimes, root-owned, gzip without a timestamp.
pack_initrd() {
  local root=$1 archive=$2
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
    gzip -n -9 >"$archive"
}
