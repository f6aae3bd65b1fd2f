#!/bin/bash
# The interop tier as run INSIDE the VM (started by run-interop.sh through run-in-vm.sh): the kernel-only
# sanity checks, then the xunit interop tests from the assembly built on the host. Nothing is built here.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${NVMEPS_VM_OUT:?not inside run-in-vm.sh}" "${NVMEPS_INTEROP_DLL:?}" "${NVMEPS_INTEROP_TOOLS:?}"
export MCTP_UTIL="$NVMEPS_INTEROP_TOOLS/mctp-util"
rc=0
t0=$(date +%s)
if [ "${NVMEPS_INTEROP_SKIP_SANITY:-0}" != 1 ]; then
  echo "==== sanity tier (kernel peers only)"
  "$here/guest-sanity.sh" || rc=1
fi
t1=$(date +%s)
echo "==== xunit interop tests ($NVMEPS_INTEROP_DLL)"
filter=()
[ -n "${NVMEPS_INTEROP_FILTER:-}" ] && filter=(--filter "$NVMEPS_INTEROP_FILTER")
dotnet test "$NVMEPS_INTEROP_DLL" "${filter[@]}" \
  --logger "console;verbosity=detailed" --logger "trx;LogFileName=interop.trx" \
  --results-directory "$NVMEPS_VM_OUT" || rc=1
t2=$(date +%s)
echo "==== guest timings: sanity $((t1 - t0))s, xunit $((t2 - t1))s"
exit $rc
