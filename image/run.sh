#!/usr/bin/env bash
# Boots the appliance image under qemu with the serial console on this terminal, the iSCSI
# port forwarded to 127.0.0.1:${PORT:-3260}, and a sparse 1 GiB data disk (data.img beside
# the image, created if absent) that the first-boot config shares as LUN 0. The forwarded
# address goes to the guest as an SMBIOS OEM string (org.targe.advertise=127.0.0.1:PORT):
# the first-boot config advertises it in SendTargets, where 10.0.2.15 would be unreachable.
#
# The disk boots by itself (syslinux, legacy BIOS). Env:
#   TARGE_IMAGE_DIR  where image/build.sh put the image (default .build-image/)
#   PORT             host port for iSCSI (default 3260)
#   ACCEL            auto (default): KVM if a probe boot proves it works (result cached in
#                    the image dir per host kernel and qemu version), else TCG; or tcg, kvm
#   BOOT             disk (default) or kernel: -kernel/-initrd from the image dir instead
#   FIRMWARE         bios (default, SeaBIOS) or uefi (OVMF, Debian package ovmf; needs MEM >= 320)
#   MEM              guest memory in MiB (default 256 with BIOS, 320 with UEFI)
#   QEMU_EXTRA       more qemu arguments (e.g. -no-reboot, as the tests use)
#   EXTRA_DISKS      more raw disk images to attach after the data disk (vdc, vdd, ...),
#                    separated by spaces; each must exist
# Console commands once it says "ready": status, restart, reboot, poweroff.
# Leave qemu with Ctrl-A X (the console is multiplexed with qemu's monitor).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${TARGE_IMAGE_DIR:-$ROOT/.build-image}
PORT=${PORT:-3260}
ACCEL=${ACCEL:-auto}
BOOT=${BOOT:-disk}
FIRMWARE=${FIRMWARE:-bios}
if [ "$FIRMWARE" = uefi ]; then MEM=${MEM:-320}; else MEM=${MEM:-256}; fi
IMG=$OUT/targe-appliance.img
DATA=$OUT/data.img

command -v qemu-system-x86_64 >/dev/null || {
  echo "qemu-system-x86_64 is missing (Debian package qemu-system-x86)" >&2; exit 1; }
[ -f "$IMG" ] || { echo "no image at $IMG; run make image first" >&2; exit 1; }
[ -f "$DATA" ] || truncate -s 1G "$DATA"

# /dev/kvm may be present and still broken (a software PVM device on some hosts aborts,
# hangs or crawls with stock kernels): only use it after a kernel has booted under it to
# its first panic (no initrd: "VFS: Unable to mount root fs") within a few seconds.
kvm_works() {
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  local log
  log=$(timeout 20 qemu-system-x86_64 -accel kvm -M q35 -m 128 -nodefaults -no-user-config -display none \
    -serial stdio -no-reboot -kernel "$OUT/vmlinuz" -append 'console=ttyS0 panic=-1' 2>&1) || return 1
  grep -q 'Kernel panic' <<<"$log"
}
if [ "$ACCEL" = auto ]; then
  probe_key="$(uname -r) $(qemu-system-x86_64 --version | head -1)"
  cache=$OUT/accel-probe
  if [ -f "$cache" ] && [ "$(sed -n 2p "$cache")" = "$probe_key" ]; then
    ACCEL=$(sed -n 1p "$cache")
  else
    echo "run: checking whether KVM works here (up to 20 s, once)" >&2
    if kvm_works; then ACCEL=kvm; else ACCEL=tcg; fi
    printf '%s\n%s\n' "$ACCEL" "$probe_key" > "$cache"
  fi
  echo "run: using $ACCEL" >&2
fi

args=(-accel "$ACCEL" -M q35 -m "$MEM" -nodefaults -no-user-config -display none -serial mon:stdio
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:3260"
  -smbios "type=11,value=org.targe.advertise=127.0.0.1:$PORT"
  -device virtio-net-pci,netdev=n0
  -drive "file=$IMG,format=raw,if=none,id=d0"
  -drive "file=$DATA,format=raw,if=none,id=d1")
if [ "$BOOT" = kernel ]; then
  args+=(-device virtio-blk-pci,drive=d0
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" -append 'console=ttyS0,115200 panic=10 quiet')
else
  args+=(-device virtio-blk-pci,drive=d0,bootindex=0)
fi
if [ "$FIRMWARE" = uefi ]; then
  code=/usr/share/OVMF/OVMF_CODE_4M.fd
  [ -f "$code" ] || { echo "no $code (Debian package ovmf)" >&2; exit 1; }
  [ -f "$OUT/efivars.fd" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$OUT/efivars.fd"
  args+=(-drive "if=pflash,format=raw,readonly=on,file=$code" -drive "if=pflash,format=raw,file=$OUT/efivars.fd")
fi
# The data disk after the boot disk: vda is the boot disk, vdb the data disk.
args+=(-device virtio-blk-pci,drive=d1)
n=2
for disk in ${EXTRA_DISKS:-}; do
  [ -f "$disk" ] || { echo "no disk image at $disk (EXTRA_DISKS)" >&2; exit 1; }
  args+=(-drive "file=$disk,format=raw,if=none,id=d$n" -device "virtio-blk-pci,drive=d$n")
  n=$((n + 1))
done
# shellcheck disable=SC2206
args+=(${QEMU_EXTRA:-})
exec qemu-system-x86_64 "${args[@]}"
