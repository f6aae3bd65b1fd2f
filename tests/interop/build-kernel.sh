#!/usr/bin/env bash
# Builds the interop guest kernel from Debian's linux-source-6.1 package: `make tinyconfig`,
# merge kernel.config, verify every requested option really is =y, `make bzImage`.
# The image is cached outside the work tree, keyed by the hash of the fragment plus the
# source package version, so later runs skip the build entirely.
#   usage: build-kernel.sh [--print-path]   (prints the cached bzImage path on stdout, last line)
# Env: NVMEPS_KERNEL_CACHE (default /var/cache/nvmeps), NVMEPS_KBUILD_DIR (default /var/tmp/nvmeps-kbuild),
#      NVMEPS_KBUILD_JOBS (default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
frag="$here/kernel.config"
tarball=/usr/src/linux-source-6.1.tar.xz
cache_root=${NVMEPS_KERNEL_CACHE:-/var/cache/nvmeps}
kbuild_root=${NVMEPS_KBUILD_DIR:-/var/tmp/nvmeps-kbuild}
jobs=${NVMEPS_KBUILD_JOBS:-2}

log() { echo "[build-kernel] $*" >&2; }
die() { echo "[build-kernel] FATAL: $*" >&2; exit 1; }

[ -f "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c '%s-%Y' "$tarball")
# The key covers the fragment's meaningful lines and the exact source version.
key=$( { grep -E '^CONFIG_' "$frag" | sort; echo "linux-source-6.1=$srcver"; } | sha256sum | cut -c1-16)
out_dir="$cache_root/kernel-$key"
image="$out_dir/bzImage"

if [ -s "$image" ]; then
  log "cached: $image"
  echo "$image"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.kernel-$key.lock"
log "waiting for build lock"; flock 9
if [ -s "$image" ]; then log "cached (built meanwhile): $image"; echo "$image"; exit 0; fi

for t in make gcc bc bison flex cpio; do command -v $t >/dev/null || die "missing tool $t"; done
[ -e /usr/include/libelf.h ] || die "libelf-dev missing"
[ -e /usr/include/openssl/ssl.h ] || die "libssl-dev missing"

start=$(date +%s)
work="$kbuild_root/$key"
rm -rf "$work"; mkdir -p "$work"
log "unpacking $tarball into $work"
tar -C "$work" -xf "$tarball"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -n1)
[ -n "$src" ] || die "no linux-source-* directory in the tarball"
cd "$src"
# tinyconfig must run without -j in a fresh tree.
log "make tinyconfig"
make -s tinyconfig >/dev/null
log "merging $frag"
scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null
make -s olddefconfig >/dev/null
# Fail loudly when Kconfig dropped anything we asked for (unmet dependency, renamed symbol).
missing=0
while IFS= read -r line; do
  case "$line" in CONFIG_*=*) ;; *) continue ;; esac
  if ! grep -qxF "$line" .config; then
    got=$(grep -E "^(# )?${line%%=*}[= ]" .config || echo "(absent)")
    echo "[build-kernel] option not honoured: wanted $line, got: $got" >&2
    missing=$((missing + 1))
  fi
done < "$frag"
[ "$missing" -eq 0 ] || die "$missing requested option(s) did not end up in .config"
grep -q '^CONFIG_MODULES=y' .config && die "CONFIG_MODULES=y: the guest must not need modules"
log "config verified ($(grep -c '^CONFIG_.*=y' .config) options =y); make -j$jobs bzImage"
nice -n 19 make -s -j"$jobs" bzImage KBUILD_BUILD_HOST=nvmeps KBUILD_BUILD_USER=ci >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; die "kernel build failed (log: $work/build.log)"; }
mkdir -p "$out_dir"
cp .config "$out_dir/config"
cp arch/x86/boot/bzImage "$image.tmp"
mv "$image.tmp" "$image"
echo "linux-source-6.1=$srcver built $(date -u +%FT%TZ) in $(( $(date +%s) - start ))s" > "$out_dir/INFO"
cd /; rm -rf "$work"
log "built $image ($(stat -c %s "$image") bytes) in $(( $(date +%s) - start ))s"
echo "$image"
