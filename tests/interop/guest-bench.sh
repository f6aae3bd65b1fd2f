#!/bin/bash
# The interop benchmark, run INSIDE the VM (bench-interop.sh): on the guest's loopback,
#   A. the kernel nvme-tcp host (fio) -> Linux nvmet-tcp (null_blk namespace)
#   B. the kernel nvme-tcp host (fio) -> our controller (memory namespace)
#   C. our host (InteropBench) -> Linux nvmet-tcp (null_blk namespace)
# 4 KiB random read IOPS at QD 32 and 128 KiB sequential read throughput at QD 8, then the ratios to A.
# Software emulation slows everything: only the ratios mean anything.
set -uo pipefail
: "${NVMEPS_BENCH_DLL:?}" "${NVMEPS_IN_VM:?}"
secs=${NVMEPS_BENCH_SECONDS:-10}
cfg=/sys/kernel/config/nvmet
nqn_k=nqn.2014-08.org.nvmexpress:nvmeps-bench-nvmet
nqn_o=nqn.2014-08.org.nvmexpress:nvmeps-bench-ours
hostnqn=nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-00000000be9c
die() { echo "BENCH FAILED: $*"; exit 1; }

[ -b /dev/nullb0 ] || die "no /dev/nullb0 (CONFIG_BLK_DEV_NULL_BLK)"
mkdir "$cfg/subsystems/$nqn_k" && echo 1 > "$cfg/subsystems/$nqn_k/attr_allow_any_host" || die "nvmet subsystem"
mkdir "$cfg/subsystems/$nqn_k/namespaces/1" && echo -n /dev/nullb0 > "$cfg/subsystems/$nqn_k/namespaces/1/device_path" \
  && echo 1 > "$cfg/subsystems/$nqn_k/namespaces/1/enable" || die "nvmet namespace"
mkdir "$cfg/ports/1"; echo tcp > "$cfg/ports/1/addr_trtype"; echo ipv4 > "$cfg/ports/1/addr_adrfam"
echo 127.0.0.1 > "$cfg/ports/1/addr_traddr"; echo 4420 > "$cfg/ports/1/addr_trsvcid"
ln -s "$cfg/subsystems/$nqn_k" "$cfg/ports/1/subsystems/$nqn_k" || die "nvmet port"

connect() { # port nqn -> prints nvmeN
  local line; exec 3<>/dev/nvme-fabrics || return 1
  echo "transport=tcp,traddr=127.0.0.1,trsvcid=$1,nqn=$2,hostnqn=$hostnqn" >&3 || { exec 3>&-; return 1; }
  read -r line <&3; exec 3>&-; line=${line#instance=}; echo "nvme${line%%,*}"
}
blockdev_of() { # nvmeN -> its namespace 1 block device (nvme0 is the VM's local PCIe drive: no global glob)
  local i b; for i in $(seq 1 100); do for b in /sys/class/nvme/$1/nvme*n1; do [ -e "$b" ] && [ -e "/dev/${b##*/}" ] && { echo "/dev/${b##*/}"; return 0; }; done; sleep 0.1; done; return 1; }
fio_run() { # dev rw bs qd -> "iops bw_kib"
  fio --name=b --filename="$1" --rw="$2" --bs="$3" --iodepth="$4" --ioengine=libaio --direct=1 --runtime="$secs" --time_based \
      --size=512M --output-format=json 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin)["jobs"][0]["read"]; print(r["iops"], r["bw"])'
}
kernel_host_bench() { # label port nqn
  local c dev r1 r2
  c=$(connect "$2" "$3") || die "$1: connect"
  dev=$(blockdev_of "$c") || die "$1: no block device"
  r1=$(fio_run "$dev" randread 4k 32) || die "$1: fio randread"
  r2=$(fio_run "$dev" read 128k 8) || die "$1: fio read"
  echo 1 > "/sys/class/nvme/$c/delete_controller"; sleep 1
  echo "$1 ${r1%% *} $(awk '{printf "%.1f", $2/1024}' <<<"$r2")"
}

echo "==== A: kernel host (fio) -> nvmet-tcp"
A=$(kernel_host_bench A 4420 "$nqn_k"); echo "$A"

echo "==== B: kernel host (fio) -> our controller"
coproc SRV { exec dotnet "$NVMEPS_BENCH_DLL" serve 4421 "$nqn_o" 512; }
read -r -t 120 ready <&"${SRV[0]}"; [ "$ready" = READY ] || die "our controller did not start"
B=$(kernel_host_bench B 4421 "$nqn_o"); echo "$B"
eval "exec ${SRV[1]}>&-"; wait "$SRV_PID" 2>/dev/null

echo "==== C: our host -> nvmet-tcp"
out=$(dotnet "$NVMEPS_BENCH_DLL" host 4420 "$nqn_k" "$secs") || die "our host bench: $out"
iops=$(sed -n 's/.*iops_4k_randread_qd32=\([0-9.]*\).*/\1/p' <<<"$out"); mib=$(sed -n 's/.*mibps_128k_seqread_qd8=\([0-9.]*\).*/\1/p' <<<"$out")
C="C ${iops%.*} $mib"; echo "$C"

read -r _ a_iops a_mib <<<"$A"; read -r _ b_iops b_mib <<<"$B"; read -r _ c_iops c_mib <<<"$C"
echo
echo "interop benchmark (TCG guest, ${secs}s per run; ratios to A are what matter)"
printf '%-44s %14s %8s %16s %8s\n' "pair" "4K rr QD32 IOPS" "ratio" "128K seq MiB/s" "ratio"
printf '%-44s %14.0f %8s %16.1f %8s\n' "A kernel host -> nvmet-tcp (null_blk)" "$a_iops" "1.00" "$a_mib" "1.00"
printf '%-44s %14.0f %8.2f %16.1f %8.2f\n' "B kernel host -> our controller (memory)" "$b_iops" "$(bc -l <<<"$b_iops/$a_iops")" "$b_mib" "$(bc -l <<<"$b_mib/$a_mib")"
printf '%-44s %14.0f %8.2f %16.1f %8.2f\n' "C our host -> nvmet-tcp (null_blk)" "$c_iops" "$(bc -l <<<"$c_iops/$a_iops")" "$c_mib" "$(bc -l <<<"$c_mib/$a_mib")"
