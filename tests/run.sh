#!/usr/bin/env bash
# Runs every test tier NvmePS has on this machine and prints one closing line: "tests: N passed, N failed".
#   0. set-up: `dotnet tool restore` (PowerShell 7.6.10 from .config/dotnet-tools.json) and Pester from NuGet
#      (tools/pester/Pester.Restore.csproj, into the NuGet cache outside the tree)
#   1. format: `dotnet format --verify-no-changes` (the .editorconfig rules; one check in the closing line)
#   2. unit tests: `dotnet test NvmePS.sln` without the interop tests (trait Category=Interop); the cmdlet tests
#      run in real PowerShell runspaces (Microsoft.PowerShell.SDK)
#   3. Pester tier: every tests/Pester/*.Tests.ps1 in real pwsh (`dotnet pwsh`) against out/NvmePS
#   4. fuzz tier: tests/fuzz/run-fuzz.sh runs every fuzz target briefly under libFuzzer (NVMEPS_FUZZ_RUNS inputs,
#      default 20000, or NVMEPS_FUZZ_SECONDS, default 30), from the corpora in tests/fuzz/corpus; a crash or a hang fails it
#   5. interop tier: tests/interop/run-interop.sh boots a VM with a real Linux kernel (nvmet-tcp, nvme-tcp,
#      AF_MCTP) and runs the kernel sanity checks and tests/NvmePS.Interop.Tests inside it.
#      --unit-only (or NVMEPS_SKIP_INTEROP=1) leaves it out, and says so.
set -uo pipefail
cd "$(dirname "$0")/.."
unit_only=${NVMEPS_SKIP_INTEROP:-0}
[ "${1:-}" = "--unit-only" ] && unit_only=1
log=$(mktemp)
# What failed, by name, gathered from every tier and printed again just above the closing line: CI keeps only the
# tail of this output, and a count alone does not say which test to look at.
failures=$(mktemp) tiers=$(mktemp)
trap 'rm -f "$log" "$failures" "$tiers"' EXIT
tier_line() { echo "$1"; echo "  $1" >>"$tiers"; }
note_failures() { # $1 = tier; stdin = the lines naming what failed
  sed -e 's/^[[:space:]]*//' -e "s/^/  $1: /" | head -n 20 >>"$failures"
}

echo "==== set-up: PowerShell (dotnet tool restore) and Pester (from NuGet)"
setup_ok=1
dotnet tool restore || setup_ok=0
pester=""
if dotnet restore tools/pester/Pester.Restore.csproj -nologo -v q; then
  pester=$(dotnet msbuild tools/pester/Pester.Restore.csproj -nologo -getProperty:PesterManifest)
fi
[ -f "$pester" ] || setup_ok=0

echo "==== unit tests"
t0=$(date +%s)
dotnet test NvmePS.sln -c Release --filter "Category!=Interop" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
grep -E '^[[:space:]]+Failed [A-Za-z_]|: error [A-Z]+[0-9]+' "$log" | sort -u | note_failures unit
tier_line "unit: $passed passed, $failed failed ($(( $(date +%s) - t0 ))s)"

# After the build, so the check needs no restore of its own.
echo "==== format (dotnet format --verify-no-changes)"
dotnet format NvmePS.sln --verify-no-changes --no-restore -v q >"$log" 2>&1
frc=$?
head -n 40 "$log"
if [ "$frc" -eq 0 ]; then
  tier_line "format: 1 passed, 0 failed"; passed=$((passed + 1))
else
  tier_line "format: 0 passed, 1 failed (run 'dotnet format NvmePS.sln' and commit the result)"
  echo "dotnet format --verify-no-changes" | note_failures format; failed=$((failed + 1)); rc=1
fi

echo "==== Pester tier (real pwsh against out/NvmePS)"
if [ "$setup_ok" = 1 ]; then
  dotnet pwsh -NoProfile -NonInteractive -File tests/Pester/Invoke-PesterTier.ps1 -PesterManifest "$pester" 2>&1 | tee "$log"
  prc=${PIPESTATUS[0]}
  pp=$(sed -n 's/^pester.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n1)
  pf=$(sed -n 's/^pester.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n1)
  sed -n 's/^pester FAILED: //p' "$log" | note_failures pester
else
  echo "PESTER TIER DID NOT RUN: pwsh (dotnet tool restore) or Pester (dotnet restore tools/pester) could not be installed"
  prc=1 pp=0 pf=1
fi
pp=${pp:-0} pf=${pf:-0}
if [ "$prc" -ne 0 ] && [ "$pf" -eq 0 ]; then pf=1; fi
tier_line "pester: $pp passed, $pf failed"
passed=$((passed + pp)) failed=$((failed + pf))
[ "$prc" -ne 0 ] && rc=1

echo "==== fuzz tier (libFuzzer driving the SharpFuzz-instrumented engine: a short run of every target)"
# Each target starts from its corpus in tests/fuzz/corpus, so every input once found there is replayed too. The long
# runs (10 million inputs a target) are a command, not a test: see the README's reliability section.
# Each target stops at NVMEPS_FUZZ_RUNS inputs or after NVMEPS_FUZZ_SECONDS, whichever comes first: the stream
# targets reach slow paths (the host polling CSTS, for one) once coverage guidance finds them.
fuzz_runs=${NVMEPS_FUZZ_RUNS:-20000}
bash tests/fuzz/run-fuzz.sh --runs "$fuzz_runs" --time "${NVMEPS_FUZZ_SECONDS:-30}" all 2>&1 | tee "$log"
zrc=${PIPESTATUS[0]}
zp=$(awk 'NF == 7 && $1 != "target" && $2 > 0 && $4 == 0 && $5 == 0' "$log" | wc -l)
zf=$(awk 'NF == 7 && $1 != "target" && !($2 > 0 && $4 == 0 && $5 == 0)' "$log" | wc -l)
if [ "$zrc" -ne 0 ] && [ "$zf" -eq 0 ]; then zf=1; fi
awk 'NF == 7 && $1 != "target" && !($2 > 0 && $4 == 0 && $5 == 0) {print $1 ": " $2 " inputs, " $4 " crashes, " $5 " hangs"}' "$log" | note_failures fuzz
tier_line "fuzz: $zp passed, $zf failed"
passed=$((passed + zp)) failed=$((failed + zf))
[ "$zrc" -ne 0 ] && rc=1

if [ "$unit_only" = 1 ]; then
  echo "NOTE: interop tier (VM with real kernel peers) not requested; run tests/interop/run-interop.sh"
else
  echo "==== interop tier (VM with real Linux kernel peers)"
  t1=$(date +%s)
  bash tests/interop/run-interop.sh 2>&1 | tee "$log"
  irc=${PIPESTATUS[0]}
  ip=$(sed -n 's/^interop: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n1)
  ifl=$(sed -n 's/^interop: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n1)
  ip=${ip:-0} ifl=${ifl:-0}
  if [ "$irc" -ne 0 ] && [ "$ifl" -eq 0 ]; then ifl=1; fi
  [ "$ifl" -gt 0 ] && grep -E '^[[:space:]]*Failed [A-Za-z_]|^FAIL: |FAILED' "$log" | sort -u | note_failures interop
  echo "interop tier took $(( $(date +%s) - t1 ))s"
  echo "  interop: $ip passed, $ifl failed" >>"$tiers"   # run-interop.sh printed the line itself
  passed=$((passed + ip)) failed=$((failed + ifl))
  [ "$irc" -ne 0 ] && rc=1
fi
echo "==== summary"
cat "$tiers"
if [ -s "$failures" ]; then
  echo "what failed:"
  cat "$failures"
fi
echo "tests: $passed passed, $failed failed"
exit "$rc"
