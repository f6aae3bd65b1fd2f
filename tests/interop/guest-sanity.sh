#!/bin/bash
# Kernel-only sanity tier, run INSIDE the interop VM (run-in-vm.sh). No NvmePS code involved:
# proves the harness end to end against the kernel's own peers.
#  1. Linux nvmet-tcp (configfs, file-backed namespace in tmpfs, buffered_io=1) on 127.0.0.1:4420
#     <- Linux nvme-tcp host via /dev/nvme-fabrics, digests off and on: random data written through
#     the block device is read back and compared, and compared against the target's backing file.
#  2. AF_MCTP: local EIDs on lo via rtnetlink; echo across the kernel; tag allocation ioctls.
#  3. dmesg shows no errors.
# Prints "sanity: N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
MCTP_UTIL=${MCTP_UTIL:?path to the mctp-util binary}
[ "${NVMEPS_IN_VM:-}" = 1 ] || { echo "guest-sanity.sh must run inside the interop VM (tests/interop/run-in-vm.sh)"; exit 2; }
passed=0 failed=0
ok()   { echo "PASS: $*"; passed=$((passed + 1)); }
bad()  { echo "FAIL: $*"; failed=$((failed + 1)); }
step() { echo "---- $*"; }

cfg=/sys/kernel/config/nvmet
nqn=nqn.2014-08.org.nvmexpress:nvmeps-sanity
hostnqn=nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000005a11
img=/tmp/nvmet-ns1.img
size_mib=64

setup_nvmet() {
  truncate -s ${size_mib}M "$img" || return 1
  mkdir "$cfg/subsystems/$nqn" || return 1
  echo 1 > "$cfg/subsystems/$nqn/attr_allow_any_host" || return 1
  mkdir "$cfg/subsystems/$nqn/namespaces/1" || return 1
  echo -n "$img" > "$cfg/subsystems/$nqn/namespaces/1/device_path" || return 1
  echo 1 > "$cfg/subsystems/$nqn/namespaces/1/buffered_io" || return 1
  echo 1 > "$cfg/subsystems/$nqn/namespaces/1/enable" || return 1
  mkdir "$cfg/ports/1" || return 1
  echo tcp > "$cfg/ports/1/addr_trtype"; echo ipv4 > "$cfg/ports/1/addr_adrfam"
  echo 127.0.0.1 > "$cfg/ports/1/addr_traddr"; echo 4420 > "$cfg/ports/1/addr_trsvcid"
  ln -s "$cfg/subsystems/$nqn" "$cfg/ports/1/subsystems/$nqn" || return 1
}

# Connects through /dev/nvme-fabrics; prints the controller name (nvmeN).
connect() {
  local opts="transport=tcp,traddr=127.0.0.1,trsvcid=4420,nqn=$1,hostnqn=$hostnqn$2" line
  exec 3<>/dev/nvme-fabrics || return 1
  echo "$opts" >&3 || { exec 3>&-; return 1; }
  read -r line <&3; exec 3>&-
  # line: instance=N,cntlid=M
  local inst=${line#instance=}; inst=${inst%%,*}
  [ -n "$inst" ] && echo "nvme$inst"
}

wait_for() { local i; for i in $(seq 1 100); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

# Boot-time noise under emulation (TSC calibration etc.) is not ours: judge only what is logged from here on.
dmesg_mark=$(dmesg --level=emerg,alert,crit,err,warn 2>/dev/null | wc -l)

step "nvmet-tcp target on 127.0.0.1:4420 ($nqn, ${size_mib} MiB file-backed namespace, buffered_io=1)"
if setup_nvmet; then ok "nvmet-tcp configured through configfs"; else bad "nvmet configfs setup"; fi

# Discovery through nvme-cli (an independent client of the kernel's discovery controller).
if command -v nvme >/dev/null; then
  disc=$(nvme discover -t tcp -a 127.0.0.1 -s 4420 --hostnqn "$hostnqn" 2>&1)
  if grep -q "subnqn: *$nqn" <<<"$disc" && grep -q "trsvcid: *4420" <<<"$disc"; then
    ok "peer=nvmet-tcp discovery (nvme-cli): log page lists $nqn at 127.0.0.1:4420"
  else bad "nvme discover output lacks $nqn: $disc"; fi
fi

for variant in "" ",hdr_digest,data_digest"; do
  label=${variant:-,no digests}; label=${label#,}
  step "kernel nvme-tcp host -> nvmet-tcp ($label)"
  ctrl=$(connect "$nqn" "$variant") || { bad "connect ($label)"; continue; }
  ok "connect ($label): controller $ctrl, state $(cat /sys/class/nvme/$ctrl/state 2>/dev/null)"
  # The controller's own namespace (nvme0 is the VM's local PCIe drive, so no global glob).
  bdev=""; for i in $(seq 1 100); do bdev=$(ls -d /sys/class/nvme/$ctrl/nvme*n1 2>/dev/null | head -n1); [ -n "$bdev" ] && break; sleep 0.1; done
  bdev=/dev/${bdev##*/}
  if [ "$bdev" != /dev/ ] && wait_for "$bdev"; then ok "block device $bdev appeared ($(cat /sys/block/${bdev#/dev/}/size) sectors)"; else bad "no block device for $ctrl"; fi
  # Transport attributes as the kernel reports them.
  echo "  transport=$(cat /sys/class/nvme/$ctrl/transport) address=$(cat /sys/class/nvme/$ctrl/address | tr '\n' ' ') subsysnqn=$(cat /sys/class/nvme/$ctrl/subsysnqn)"
  pat=/tmp/pattern.bin back=/tmp/readback.bin
  head -c 8M /dev/urandom > "$pat"
  off_mib=$(( RANDOM % 32 ))
  if dd if="$pat" of="$bdev" bs=1M seek=$off_mib oflag=direct conv=fsync status=none \
     && dd if="$bdev" of="$back" bs=1M skip=$off_mib count=8 iflag=direct status=none \
     && cmp "$pat" "$back"; then
    ok "peer=nvmet-tcp ($label): 8 MiB random data at ${off_mib} MiB written via $bdev and read back byte-identical"
  else bad "write/read-back mismatch via $bdev ($label)"; fi
  sync
  if dd if="$img" bs=1M skip=$off_mib count=8 status=none | cmp - "$pat"; then
    ok "peer=nvmet-tcp ($label): target backing file holds the same 8 MiB at offset ${off_mib} MiB"
  else bad "target backing file differs from what the host wrote ($label)"; fi
  # Small unaligned-to-MiB I/Os too (4 KiB blocks at random LBAs) -> in-capsule sized writes.
  # 4 KiB blocks 12000..15999 = 47..63 MiB: past the 8 MiB region above, inside the 64 MiB namespace.
  head -c 4096 /dev/urandom > /tmp/blk.bin; lba=$(( 12000 + RANDOM % 4000 ))
  if dd if=/tmp/blk.bin of="$bdev" bs=4096 seek=$lba oflag=direct status=none \
     && dd if="$bdev" bs=4096 skip=$lba count=1 iflag=direct status=none | cmp - /tmp/blk.bin; then
    ok "peer=nvmet-tcp ($label): 4 KiB at block $lba written and read back byte-identical"
  else bad "4 KiB round trip ($label)"; fi
  echo 1 > /sys/class/nvme/$ctrl/delete_controller
  for i in $(seq 1 50); do [ -e /sys/class/nvme/$ctrl ] || break; sleep 0.1; done
  if [ ! -e /sys/class/nvme/$ctrl ] && [ ! -e "$bdev" ]; then ok "delete_controller removed $ctrl and $bdev"; else bad "$ctrl still present after delete_controller"; fi
done

step "nvmet-tcp torn down (the tests after this tier's sanity find configfs as the kernel booted)"
rm -f "$cfg/ports/1/subsystems/$nqn"; rmdir "$cfg/ports/1"
echo 0 > "$cfg/subsystems/$nqn/namespaces/1/enable"; rmdir "$cfg/subsystems/$nqn/namespaces/1" "$cfg/subsystems/$nqn"
rm -f "$img"
left="$(ls -A "$cfg/subsystems")$(ls -A "$cfg/ports")"
if [ -z "$left" ]; then ok "configfs: no subsystem or port left"; else bad "configfs still holds: $left"; fi

step "AF_MCTP over lo: local EID 8"
# The kernel sources every message on lo from lo's FIRST local EID, so a reply to a second EID on lo would not
# match the requester's tag key (net/mctp/route.c): requester and responder share one EID here.
if "$MCTP_UTIL" addr add lo 8; then ok "RTM_NEWADDR family 45: EID 8 on lo"; else bad "MCTP address on lo"; fi
"$MCTP_UTIL" echo-server 0x7e 3 & srv=$!
sleep 0.3
if "$MCTP_UTIL" ping 8 0x7e 64 1 && "$MCTP_UTIL" ping 8 0x7e 1024 1 && "$MCTP_UTIL" ping 8 0x7e 4096 1; then
  ok "peer=kernel AF_MCTP: 64/1024/4096-byte messages echoed byte-identical, source EID and TO bit checked"
else bad "AF_MCTP echo over lo"; fi
wait $srv || bad "echo server exited with an error"
if "$MCTP_UTIL" alloc-tag 8; then ok "SIOCMCTPALLOCTAG / SIOCMCTPDROPTAG"; else bad "tag allocation ioctls"; fi
if ! "$MCTP_UTIL" route add 20 lo 2>/dev/null; then ok "route to lo refused by the kernel, as documented"; else echo "note: kernel accepted a route via lo"; "$MCTP_UTIL" route del 20 lo; fi
"$MCTP_UTIL" addr del lo 8 >/dev/null || bad "RTM_DELADDR EID 8 on lo"

step "kernel log"
errs=$(dmesg --level=emerg,alert,crit,err,warn 2>/dev/null | tail -n +$((dmesg_mark + 1)) | grep -v -e 'hrtimer: interrupt took' -e 'sched: RT throttling activated' -e 'Please enable CONFIG_NVME_MULTIPATH')
if [ -z "$errs" ]; then ok "dmesg: no warnings or errors"; else bad "dmesg has warnings/errors:"; echo "$errs"; fi

echo "sanity: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
