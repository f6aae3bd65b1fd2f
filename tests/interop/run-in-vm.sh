#!/usr/bin/env bash
# Runs one command inside a throw-away VM booted from the interop kernel (build-kernel.sh).
#   usage: run-in-vm.sh [--timeout SECONDS] [--mem MiB] [--cpus N] [--out DIR] [--] CMD [ARGS...]
# The guest has no network device. Its root is the host's / over virtio-9p, read-only, with a
# tmpfs overlay on top, so binaries built on the host (dotnet, test assemblies, python3, fio,
# nvme-cli) run unchanged. The command runs in the current directory with PATH, HOME and the
# DOTNET_*/NUGET_*/NVMEPS_* environment of the caller. Its output streams to this terminal;
# the guest's exit status becomes ours. The results share (--out, default a temp dir removed on
# exit) holds output.log, dmesg.txt and status afterwards, and is $NVMEPS_VM_OUT in the guest.
# Exit codes: the command's own; 124 timeout; 125 the VM failed to boot/report.
# Env: NVMEPS_KERNEL (a bzImage to use instead of build-kernel.sh's), NVMEPS_VM_ACCEL (kvm|tcg).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=600 mem=3072 cpus=2 out="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --out) out=$2; keep=1; shift 2 ;;
    --) shift; break ;;
    -*) echo "run-in-vm: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: run-in-vm.sh [--timeout S] [--mem MiB] [--cpus N] [--out DIR] CMD..." >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run-in-vm: qemu-system-x86_64 not installed" >&2; exit 125; }

kernel=${NVMEPS_KERNEL:-}
if [ -z "$kernel" ]; then kernel=$("$here/build-kernel.sh" | tail -n1); fi
[ -s "$kernel" ] || { echo "run-in-vm: no kernel image ($kernel)" >&2; exit 125; }

if [ -z "$out" ]; then out=$(mktemp -d /tmp/nvmeps-vm.XXXXXX); fi
mkdir -p "$out"; out=$(cd "$out" && pwd)
rm -f "$out/status" "$out/output.log" "$out/dmesg.txt" "$out/nvme-pci.img"
# Backing store of the guest's local PCIe NVMe controller (qemu's nvme device): 64 MiB of zeroes.
truncate -s 64M "$out/nvme-pci.img"
cleanup() { [ "$keep" = 1 ] || rm -rf "$out"; }
trap cleanup EXIT

# The command, quoted exactly as given, plus the caller's environment and directory.
{
  printf '%q ' "$@"; echo
} > "$out/cmd.sh"
# The repository is also shared on its own: where it lies under a directory the guest mounts a fresh tmpfs on
# (/tmp, /run, /dev/shm: a CI clone often does), the guest mounts this share there instead.
repo=$(cd "$here/../.." && pwd)
{
  printf 'export NVMEPS_VM_CWD=%q\n' "$PWD"
  printf 'export NVMEPS_VM_REPO=%q\n' "$repo"
  for v in PATH HOME LANG TERM; do
    [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
  done
  env | grep -E '^(DOTNET_|NUGET_|NVMEPS_)' | grep -vE '^NVMEPS_(KERNEL|VM_OUT|IN_VM)=' | cut -d= -f1 | while read -r v; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  echo 'export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1'
} > "$out/env.sh"

# /dev/kvm here is often a nested "PVM" device that cannot boot a stock kernel: use TCG then.
accel=${NVMEPS_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if [ -d /sys/module/kvm_pvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then accel=tcg; else accel=kvm; fi
fi
if [ "$accel" = kvm ]; then accel_args=(-accel kvm -cpu host); else accel_args=(-accel tcg,thread=multi -cpu max); fi

append="console=ttyS0 root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
append+=" init=$here/guest-init.sh panic=-1 loglevel=4 quiet nvmeps.vm=1 ipv6.disable_ipv6=0"

echo "[run-in-vm] accel=$accel cpus=$cpus mem=${mem}M kernel=$kernel timeout=${timeout_s}s" >&2
start=$(date +%s.%N)
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -nodefaults -no-user-config -nographic -no-reboot \
  "${accel_args[@]}" -smp "$cpus" -m "$mem" \
  -kernel "$kernel" -append "$append" \
  -chardev stdio,id=con,signal=off -serial chardev:con \
  -fsdev local,id=rootfs,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=rootfs,mount_tag=/dev/root \
  -fsdev local,id=outfs,path="$out",security_model=none \
  -device virtio-9p-pci,fsdev=outfs,mount_tag=nvmeps_out \
  -fsdev local,id=repofs,path="$repo",security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=repofs,mount_tag=nvmeps_repo \
  -device virtio-rng-pci \
  -drive file="$out/nvme-pci.img",if=none,id=nvmepci,format=raw \
  -device nvme,serial=NVMEPS-PCI-0001,drive=nvmepci \
  -nic none </dev/null
qrc=$?
set -e
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
  echo "[run-in-vm] TIMEOUT after ${timeout_s}s (qemu rc=$qrc)" >&2; exit 124
fi
if ! [ -s "$out/status" ]; then
  echo "[run-in-vm] the guest did not report an exit status (qemu rc=$qrc, ${elapsed}s)" >&2; exit 125
fi
rc=$(cat "$out/status")
printf '[run-in-vm] guest exit status %s, VM wall time %.1fs\n' "$rc" "$elapsed" >&2
exit "$rc"
