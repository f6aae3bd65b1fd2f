#!/bin/bash
# PID 1 of the NvmePS interop VM (see run-in-vm.sh). The root is the host's / over virtio-9p,
# read-only; a tmpfs overlay makes it writable. Mounts what the tests need, brings lo up, runs
# the command the host left in the nvmeps_out share, reports its exit status there and on the
# serial console, saves dmesg, and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BB=/bin/busybox
out=/run/nvmeps-out

die() {
  echo "NVMEPS-GUEST-INIT-FAILED: $*" >/dev/console 2>&1 || echo "NVMEPS-GUEST-INIT-FAILED: $*"
  $BB poweroff -f; sleep 5; echo o >/proc/sysrq-trigger; sleep 60
}

if [ "${1:-}" != stage2 ]; then
  mount -t proc proc /proc || die "mount /proc"
  mount -t tmpfs -o mode=0755,size=75% tmpfs /run || die "tmpfs on /run"
  mkdir -p /run/ovl/upper /run/ovl/work /run/ovl/root
  mount -t overlay overlay -o lowerdir=/,upperdir=/run/ovl/upper,workdir=/run/ovl/work /run/ovl/root \
    || die "overlay over the 9p root"
  mkdir -p /run/ovl/root/.oldroot
  cd /run/ovl/root || die "cd overlay"
  pivot_root . .oldroot || die "pivot_root"
  exec /bin/bash "$0" stage2 </dev/console >/dev/console 2>&1
fi

# ---- stage 2: running on the overlay root
mount -t proc proc /proc || die "proc"
mount -t sysfs sysfs /sys || die "sysfs"
mount -t devtmpfs devtmpfs /dev || die "devtmpfs"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run || die "tmpfs /run"
mount -t configfs configfs /sys/kernel/config || die "configfs"
mount -t tmpfs -o mode=1777 tmpfs /tmp || die "tmpfs /tmp"
umount -l /.oldroot 2>/dev/null || true
mkdir -p "$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 nvmeps_out "$out" || die "results share"
$BB hostname nvmeps-vm
ip link set lo up || die "lo up"
ln -sf /proc/self/fd /dev/fd 2>/dev/null || true

[ -r "$out/cmd.sh" ] || die "no command in the results share"
[ -r "$out/env.sh" ] && . "$out/env.sh"
# A repository under /tmp, /run or /dev/shm is hidden by the tmpfs mounted there above: mount its own share in
# its place, read-only underneath and writable through an overlay (tests write results next to their assemblies).
if [ -n "${NVMEPS_VM_REPO:-}" ] && [ ! -d "$NVMEPS_VM_REPO" ]; then
  mkdir -p /run/nvmeps-repo/lower /run/nvmeps-repo/upper /run/nvmeps-repo/work "$NVMEPS_VM_REPO"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro nvmeps_repo /run/nvmeps-repo/lower || die "repository share"
  mount -t overlay overlay -o lowerdir=/run/nvmeps-repo/lower,upperdir=/run/nvmeps-repo/upper,workdir=/run/nvmeps-repo/work \
    "$NVMEPS_VM_REPO" || die "overlay over the repository share"
fi
export NVMEPS_IN_VM=1 NVMEPS_VM_OUT="$out"
cd "${NVMEPS_VM_CWD:-/}" || cd /
echo "NVMEPS-GUEST-READY uptime=$(cut -d' ' -f1 /proc/uptime)s cpus=$(nproc) kernel=$(uname -r)"
/bin/bash "$out/cmd.sh" 2>&1 | tee "$out/output.log"
rc=${PIPESTATUS[0]}
dmesg > "$out/dmesg.txt" 2>&1 || true
echo "$rc" > "$out/status"
sync
echo "NVMEPS-GUEST-EXIT=$rc"
$BB poweroff -f
sleep 5; echo o > /proc/sysrq-trigger; sleep 60
