#!/usr/bin/env bash
# Interop benchmark (issue 5 §3): one VM run on the guest's loopback comparing the kernel host vs nvmet-tcp, the
# kernel host vs our controller, and our host vs nvmet-tcp (4 KiB random read QD 32, 128 KiB sequential read).
# Prints ratios; absolute numbers under software emulation mean little.  usage: bench-interop.sh [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export NVMEPS_BENCH_SECONDS=${1:-10}
(cd "$repo" && dotnet build tests/interop/bench/InteropBench.csproj -c Release -nologo -v q) >&2
export NVMEPS_BENCH_DLL="$here/bench/bin/Release/net10.0/InteropBench.dll"
exec "$here/run-in-vm.sh" --timeout 900 "$here/guest-bench.sh"
