#!/usr/bin/env bash
# Coverage-guided fuzzing of the engine (issue 15 §1): SharpFuzz instruments NvmePS.Engine.dll, libFuzzer drives it
# through tests/fuzz/libfuzzer-dotnet.c, starting from the corpora kept in tests/fuzz/corpus/<target>.
#   usage: run-fuzz.sh [--runs N | --time SECONDS] [--jobs J] [--resume] [--merge] [--out DIR] <target>... | all
#   --runs N       inputs per target (default 100000); --time SECONDS stops a target earlier (both may be given)
#   --jobs J       J libFuzzer processes on one corpus (libFuzzer -jobs), N/J inputs each (rounded up, so at least N
#                  in all); their figures are summed
#   --resume       go on from the corpus an earlier run left in <out>/corpus/<target> (a long run in parts)
#   --merge        afterwards, minimise the corpus (libFuzzer -merge=1) back into tests/fuzz/corpus/<target>
# Prints one line per target: inputs, edges of the .NET code reached, crashes, hangs, peak memory of the target
# process, inputs per second. Exit status 1 when any target found a crash or a hang (the input is kept under
# <out>/findings/<target>/ and replays with: dotnet <out>/bin/NvmePS.Fuzz.dll replay <target> <file>; an earlier
# run's findings move to <out>/findings/<target>.<UTC time>, never deleted).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=100000 seconds= jobs=1 resume=0 merge=0 out="$root/out/fuzz" targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --time) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --resume) resume=1; shift ;;
    --merge) merge=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "[fuzz] --jobs takes a whole number from 1" >&2; exit 2; }

log() { echo "[fuzz] $*" >&2; }
command -v clang-14 >/dev/null || { echo "[fuzz] FATAL: clang-14 missing (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
# The driver, rebuilt when its source changes.
driver="$out/libfuzzer-dotnet-$(sha256sum "$here/libfuzzer-dotnet.c" | cut -c1-12)"
if [ ! -x "$driver" ]; then
  log "building the libFuzzer driver"
  clang-14 -O2 -Wall -Wextra -Werror -fsanitize=fuzzer "$here/libfuzzer-dotnet.c" -o "$driver"
fi

# The targets, with the engine instrumented in place (a fresh copy each run: SharpFuzz refuses to instrument twice).
cd "$root"
dotnet tool restore >/dev/null
rm -rf "$out/bin"
dotnet publish tests/fuzz/NvmePS.Fuzz -c Release -o "$out/bin" -nologo -v quiet >/dev/null
dotnet sharpfuzz "$out/bin/NvmePS.Engine.dll" >/dev/null
fuzz=(dotnet "$out/bin/NvmePS.Fuzz.dll")
if [ "${targets[0]}" = all ]; then
  mapfile -t targets < <("${fuzz[@]}" list | cut -f1)
fi

status=0
printf '%-18s %12s %7s %7s %6s %10s %10s\n' target inputs edges crashes hangs peak_MiB inputs/s
for t in "${targets[@]}"; do
  max_len=$("${fuzz[@]}" list | awk -F'\t' -v t="$t" '$1 == t { print $2 }')
  [ -n "$max_len" ] || { echo "[fuzz] no target '$t'" >&2; exit 2; }
  work="$out/corpus/$t" findings="$out/findings/$t"
  if [ -n "$(ls -A "$findings" 2>/dev/null)" ]; then
    # An earlier run's crash inputs are evidence: kept beside this run's, never deleted.
    kept="$findings.$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$findings" "$kept"
    log "$t: the findings of an earlier run are kept in $kept"
  fi
  rm -rf "$findings"; mkdir -p "$findings"
  if [ $resume = 0 ] || [ ! -d "$work" ]; then
    rm -rf "$work"; mkdir -p "$work"
    [ -d "$here/corpus/$t" ] && cp "$here/corpus/$t"/* "$work"/ 2>/dev/null || true
  else
    log "$t: going on from the $(find "$work" -maxdepth 1 -type f | wc -l) inputs an earlier run left in $work"
  fi
  # libFuzzer rereads the corpus directory every second by default, in its fuzzing thread: with 70,000 files in a
  # stream target's corpus, four jobs ran no faster than two (616 inputs/s), and 860 with -reload=60.
  limit=(-runs="$(( (runs + jobs - 1) / jobs ))" -reload=60)
  [ -n "$seconds" ] && limit+=(-max_total_time="$seconds")
  # With jobs, libFuzzer writes each job's output to fuzz-<n>.log in its working directory; they all share the corpus.
  [ "$jobs" -gt 1 ] && limit+=(-jobs="$jobs" -workers="$jobs")
  rm -rf "$out/$t.jobs"; mkdir -p "$out/$t.jobs"
  started=$(date +%s.%N)
  set +e
  (cd "$out/$t.jobs" && NVMEPS_FUZZ_COMMAND="dotnet $out/bin/NvmePS.Fuzz.dll run $t" "$driver" "${limit[@]}" -max_len="$max_len" \
    -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$findings/" "$work") >"$out/$t.log" 2>&1
  rc=$?
  set -e
  elapsed=$(echo "$(date +%s.%N) - $started" | bc)
  # One figure line per process: inputs summed, edges and peak memory the largest of any one process. After a finding
  # the bridge ends without its own line: libFuzzer's count stands in for it.
  logs=("$out/$t.log")
  if [ "$jobs" -gt 1 ]; then
    shopt -s nullglob
    jobs_logs=("$out/$t.jobs"/fuzz-*.log)
    shopt -u nullglob
    if [ ${#jobs_logs[@]} -gt 0 ]; then
      logs=("${jobs_logs[@]}")
      cat "${jobs_logs[@]}" >>"$out/$t.log"
    fi
  fi
  # A hang the target itself bounds (FuzzHangException) reaches libFuzzer as a crash; libFuzzer's own -timeout as one.
  crashes=$(find "$findings" -name 'crash-*' | wc -l)
  hangs=$(find "$findings" -name 'timeout-*' | wc -l)
  inputs= edges= peak=
  for l in "${logs[@]}"; do
    if grep -aq 'FuzzHangException' "$l" && [ "$crashes" -gt 0 ]; then crashes=$((crashes - 1)); hangs=$((hangs + 1)); fi
    stats=$(grep -a '^NVMEPS-FUZZ ' "$l" | tail -1 || true)
    n=$(sed -n 's/.*inputs=\([0-9]*\).*/\1/p' <<<"$stats")
    [ -n "$n" ] || n=$(grep -a 'stat::number_of_executed_units' "$l" | tail -1 | awk '{print $2}' || true)
    e=$(sed -n 's/.*edges=\([0-9]*\).*/\1/p' <<<"$stats")
    p=$(sed -n 's/.*child_peak_rss_kib=\(-\?[0-9]\+\).*/\1/p' <<<"$stats")
    inputs=$(( ${inputs:-0} + ${n:-0} ))
    [ "${e:-0}" -gt "${edges:-0}" ] && edges=$e
    [ "${p:-0}" -gt "${peak:-0}" ] && peak=$p
  done
  printf '%-18s %12s %7s %7s %6s %10s %10.0f\n' "$t" "${inputs:-0}" "${edges:-0}" "$crashes" "$hangs" "$(( ${peak:-0} / 1024 ))" \
    "$(echo "${inputs:-0} / $elapsed" | bc -l)"
  if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    status=1
    log "$t: libFuzzer exit $rc; log $out/$t.log; findings in $findings"
    grep -a -m3 -E 'Exception|ERROR' "$out/$t.log" >&2 || true
  fi
  if [ $merge = 1 ] && [ $rc -eq 0 ]; then
    mkdir -p "$here/corpus/$t.new"
    NVMEPS_FUZZ_COMMAND="dotnet $out/bin/NvmePS.Fuzz.dll run $t" "$driver" -merge=1 -max_len="$max_len" -timeout=30 \
      "$here/corpus/$t.new" "$work" >"$out/$t.merge.log" 2>&1
    # Inputs that once were findings stay, whatever the merge thinks of their coverage: they are regression tests.
    find "$here/corpus/$t" -maxdepth 1 -name 'crash-*' -exec cp {} "$here/corpus/$t.new"/ \; 2>/dev/null || true
    rm -rf "$here/corpus/$t"; mv "$here/corpus/$t.new" "$here/corpus/$t"
    log "$t: corpus minimised to $(ls "$here/corpus/$t" | wc -l) inputs"
  fi
done
exit $status
