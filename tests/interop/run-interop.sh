#!/usr/bin/env bash
# The interop tier, run on the host: builds (or reuses) the guest kernel, the harness's C tools and the interop
# test assembly, boots the VM once, runs guest-tier.sh inside it, and prints one closing line:
#   interop: N passed, N failed
# When this machine cannot run the tier it prints "INTEROP TIER DID NOT RUN: <reason>" and fails.
#   usage: run-interop.sh [--filter XUNIT_FILTER] [--no-sanity] [--timeout S]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache_root=${NVMEPS_KERNEL_CACHE:-/var/cache/nvmeps}
timeout_s=1500
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) export NVMEPS_INTEROP_FILTER=$2; shift 2 ;;
    --no-sanity) export NVMEPS_INTEROP_SKIP_SANITY=1; shift ;;
    --timeout) timeout_s=$2; shift 2 ;;
    *) echo "run-interop: unknown argument $1" >&2; exit 2 ;;
  esac
done
did_not_run() {
  echo "" >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  echo "INTEROP TIER DID NOT RUN: $*" >&2
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  echo "interop: 0 passed, 1 failed"
  exit 1
}
t_start=$(date +%s)
command -v qemu-system-x86_64 >/dev/null || did_not_run "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
command -v gcc >/dev/null || did_not_run "gcc is not installed (apt-get install build-essential)"
[ -f /usr/src/linux-source-6.1.tar.xz ] || [ -n "${NVMEPS_KERNEL:-}" ] || did_not_run "no kernel source (apt-get install linux-source-6.1)"

kernel=${NVMEPS_KERNEL:-}
if [ -z "$kernel" ]; then
  kernel=$("$here/build-kernel.sh" | tail -n1) || did_not_run "the guest kernel failed to build"
fi
export NVMEPS_KERNEL=$kernel
t_kernel=$(date +%s)

# C tools, cached by source hash next to the kernel.
tools_key=$(cat "$here"/*.c | sha256sum | cut -c1-16)
tools="$cache_root/tools-$tools_key"
if ! [ -x "$tools/mctp-util" ] || ! [ -x "$tools/libnvme-mi-client" ]; then
  mkdir -p "$tools"
  gcc -O2 -Wall -Wextra -Werror -o "$tools/mctp-util.tmp" "$here/mctp-util.c" || did_not_run "mctp-util.c failed to compile"
  mv "$tools/mctp-util.tmp" "$tools/mctp-util"
  # libnvme-mi as a second MI client (Debian's libnvme-dev / libnvme1).
  gcc -O2 -Wall -Wextra -Werror -o "$tools/libnvme-mi-client.tmp" "$here/libnvme-mi-client.c" -lnvme-mi \
    || did_not_run "libnvme-mi-client.c failed to compile (apt-get install libnvme-dev)"
  mv "$tools/libnvme-mi-client.tmp" "$tools/libnvme-mi-client"
fi
export NVMEPS_INTEROP_TOOLS=$tools

echo "[run-interop] building the interop test assembly" >&2
build_log=$(mktemp)
if ! (cd "$repo" && dotnet build tests/NvmePS.Interop.Tests/NvmePS.Interop.Tests.csproj -c Release -nologo -v q >"$build_log" 2>&1); then
  cat "$build_log" >&2; rm -f "$build_log"
  echo "[run-interop] FAILED: the interop test project does not build" >&2
  echo "interop: 0 passed, 1 failed"; exit 1
fi
rm -f "$build_log"
export NVMEPS_INTEROP_DLL="$repo/tests/NvmePS.Interop.Tests/bin/Release/net10.0/NvmePS.Interop.Tests.dll"
t_build=$(date +%s)

out=$(mktemp -d /tmp/nvmeps-interop.XXXXXX)
"$here/run-in-vm.sh" --timeout "$timeout_s" --out "$out" "$here/guest-tier.sh"
vm_rc=$?
t_vm=$(date +%s)

if [ "$vm_rc" -eq 125 ] || ! [ -s "$out/status" ]; then
  tail -n 30 "$out/output.log" 2>/dev/null >&2
  did_not_run "the VM did not boot or did not report back (run-in-vm rc=$vm_rc; results kept in $out)"
fi
[ "$vm_rc" -eq 124 ] && echo "[run-interop] the VM timed out after ${timeout_s}s" >&2

log="$out/output.log"
s_pass=$(sed -n 's/^sanity: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n1)
s_fail=$(sed -n 's/^sanity: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n1)
if [ "${NVMEPS_INTEROP_SKIP_SANITY:-0}" != 1 ] && [ -z "$s_pass" ]; then s_pass=0 s_fail=1; fi
# VSTest summary for an assembly: "Total tests: N" then "Passed: N" / "Failed: N" / "Skipped: N" lines
# (absent when zero); for a project: "Passed!  - Failed: 0, Passed: 6, Skipped: 0, Total: 6".
x_pass=0 x_fail=0 x_skip=0 summary=""
if grep -q '^Total tests: ' "$log"; then
  summary=$(sed -n '/^Total tests: /,$p' "$log" | tr -d '\r')
  x_pass=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' <<<"$summary" | head -n1)
  x_fail=$(sed -n 's/^ *Failed: *\([0-9]*\).*/\1/p' <<<"$summary" | head -n1)
  x_skip=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' <<<"$summary" | head -n1)
elif summary=$(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n1) && [ -n "$summary" ]; then
  x_fail=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")
  x_pass=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
  x_skip=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
fi
x_pass=${x_pass:-0} x_fail=${x_fail:-0} x_skip=${x_skip:-0}
if [ -z "$summary" ]; then x_fail=1; echo "[run-interop] no xunit summary in the guest output" >&2; fi
if [ "${x_skip:-0}" -gt 0 ]; then
  echo "[run-interop] $x_skip interop test(s) SKIPPED inside the VM: counted as failures" >&2
  x_fail=$((x_fail + x_skip))
fi
passed=$(( ${s_pass:-0} + x_pass )) failed=$(( ${s_fail:-0} + x_fail ))
if [ "$vm_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "[run-interop] timings: kernel $((t_kernel - t_start))s, build $((t_build - t_kernel))s, VM $((t_vm - t_build))s, total $((t_vm - t_start))s; guest log: $out" >&2
echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
