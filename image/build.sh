#!/usr/bin/env bash
# Builds the Targe appliance: a raw GPT disk image that boots under qemu (or on a PC with
# legacy BIOS) straight into `targe` as PID 1.
#
#   partition 1  targe-boot    FAT (EFI system partition type): syslinux for legacy BIOS
#                              (gptmbr.bin in the MBR, legacy-BIOS-bootable attribute) and
#                              for UEFI (\EFI\BOOT\BOOTX64.EFI), the Debian cloud kernel and
#                              the initramfs
#   partition 2  targe-config  ext4 labelled targe-config, mounted at /config; the first boot
#                              writes a default targe.conf there
#
# The root filesystem is the initramfs (cpio newc, zstd): /init -> /usr/bin/targe, the
# shared libraries it needs, the virtio modules with their load order, and rootfs/.
# No loop devices, no mounts, no root needed except to apt-get install missing tools.
#
# Output in $TARGE_IMAGE_DIR (default .build-image/): targe-appliance.img, plus vmlinuz
# and initrd.img for booting with -kernel/-initrd. Downloads are cached in its cache/.
# Env: TARGE_BIN (use this binary instead of building one), SWIFT_SCRATCH_PATH (where to
# build it; default .build), SOURCE_DATE_EPOCH (timestamps; default: the last commit's),
# KERNEL_PACKAGE (default linux-image-cloud-amd64).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${TARGE_IMAGE_DIR:-$ROOT/.build-image}
CACHE=$OUT/cache
# Where `swift build` puts the binary when TARGE_BIN is not given (make build's by default).
SCRATCH=${SWIFT_SCRATCH_PATH:-$ROOT/.build}
KERNEL_PACKAGE=${KERNEL_PACKAGE:-linux-image-cloud-amd64}
# What PID 1 loads; their dependencies come along (targe module-order reads depends=).
# button + evdev: the ACPI power button as an input device, for a clean power-off from
# the hypervisor (qemu's system_powerdown).
MODULES=(virtio_pci virtio_blk virtio_net button evdev)
BOOT_MIB=96
CONFIG_MIB=32
EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)}
export PATH=$PATH:/opt/swift/usr/bin:/usr/sbin:/sbin

say() { echo "image: $*" >&2; }
die() { echo "image: error: $*" >&2; exit 1; }

# ---- tools ----
declare -A TOOL_PACKAGE=(
  [sfdisk]=fdisk [mke2fs]=e2fsprogs [cpio]=cpio [mformat]=mtools [mcopy]=mtools
  [syslinux]=syslinux [zstd]=zstd [dpkg-deb]=dpkg [apt-get]=apt [strip]=binutils
)
missing=()
for tool in "${!TOOL_PACKAGE[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${TOOL_PACKAGE[$tool]}")
done
[ -f /usr/lib/syslinux/mbr/gptmbr.bin ] || missing+=(syslinux-common)
[ -f /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ] || missing+=(syslinux-efi)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ]; then
    say "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing packages; run: sudo apt-get install -y ${missing[*]}"
  fi
fi

mkdir -p "$CACHE"

# ---- the targe binary ----
if [ -n "${TARGE_BIN:-}" ]; then
  BIN=$TARGE_BIN
else
  say "building targe (release, static Swift stdlib)"
  (cd "$ROOT" && swift build -c release --product targe --static-swift-stdlib --scratch-path "$SCRATCH" >&2)
  BIN=$SCRATCH/release/targe
fi
[ -x "$BIN" ] || die "no targe binary at $BIN"

# ---- the kernel (Debian's cloud flavour: virtio as modules, ext4 built in) ----
# The metapackage names the current versioned package; fetch it again each build (it is
# tiny) so a kernel update is picked up, but keep using the cache when offline.
(cd "$CACHE" && apt-get download "$KERNEL_PACKAGE" >/dev/null 2>&1) || say "apt-get download $KERNEL_PACKAGE failed; using the cache"
META=$(ls -t "$CACHE/${KERNEL_PACKAGE}"_*.deb 2>/dev/null | head -1)
[ -n "$META" ] || die "no $KERNEL_PACKAGE .deb in $CACHE (and apt-get download failed)"
KPKG=$(dpkg-deb -f "$META" Depends | tr ',' '\n' | grep -o 'linux-image-[^ (]*' | head -1)
[ -n "$KPKG" ] || die "cannot tell the kernel package from $META"
if ! ls "$CACHE/${KPKG}"_*.deb >/dev/null 2>&1; then
  say "downloading $KPKG"
  (cd "$CACHE" && apt-get download "$KPKG" >/dev/null 2>&1) || die "apt-get download $KPKG failed"
fi
KDEB=$(ls -t "$CACHE/${KPKG}"_*.deb | head -1)
KDIR=$CACHE/${KPKG}
if [ ! -d "$KDIR/boot" ]; then
  rm -rf "$KDIR" && dpkg-deb -x "$KDEB" "$KDIR"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}
say "kernel $KVER"

# ---- the root filesystem ----
STAGE=$OUT/root
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -a "$ROOT/rootfs/." "$STAGE/"
rm -f "$STAGE/README"
for d in proc sys dev run tmp config root usr/bin lib/modules/targe; do mkdir -p "$STAGE/$d"; done
chmod 1777 "$STAGE/tmp"
chmod 0700 "$STAGE/root"
strip -o "$STAGE/usr/bin/targe" "$BIN"
ln -s usr/bin/targe "$STAGE/init"

# Shared libraries at the paths the dynamic loader looks in (ldd's closure, loader included).
ldd "$BIN" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
  mkdir -p "$STAGE$(dirname "$lib")"
  cp -L "$lib" "$STAGE$lib"
done

# Kernel modules, dependencies first, flat, with the order file PID 1 reads.
ORDER=$("$BIN" module-order --tree "$KDIR/lib/modules/$KVER" "${MODULES[@]}")
: > "$STAGE/lib/modules/targe/order"
for rel in $ORDER; do
  cp "$KDIR/lib/modules/$KVER/$rel" "$STAGE/lib/modules/targe/"
  basename "$rel" >> "$STAGE/lib/modules/targe/order"
done
say "modules: $(tr '\n' ' ' < "$STAGE/lib/modules/targe/order")"

# Reproducible archive: fixed times, owner root, sorted names.
find "$STAGE" -exec touch -h -d "@$EPOCH" {} +
INITRD=$OUT/initrd.img
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet) \
  | zstd -q -T1 -10 > "$INITRD.tmp"
mv "$INITRD.tmp" "$INITRD"
cp "$VMLINUZ" "$OUT/vmlinuz"

# ---- the disk ----
SECTOR=512
MIB=$((1024 * 1024 / SECTOR))
BOOT_START=$MIB
BOOT_SECTORS=$((BOOT_MIB * MIB))
CONFIG_START=$((BOOT_START + BOOT_SECTORS))
CONFIG_SECTORS=$((CONFIG_MIB * MIB))
TOTAL_MIB=$((1 + BOOT_MIB + CONFIG_MIB + 1))
IMG=$OUT/targe-appliance.img
rm -f "$IMG.tmp"
truncate -s "${TOTAL_MIB}M" "$IMG.tmp"

# Fixed identifiers so that the same inputs give the same image.
sfdisk --quiet "$IMG.tmp" <<EOF
label: gpt
label-id: 7A26E5C0-0000-4000-8000-746172676501
unit: sectors
first-lba: $MIB
start=$BOOT_START, size=$BOOT_SECTORS, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=7A26E5C0-0000-4000-8000-746172676502, name="targe-boot", attrs="LegacyBIOSBootable"
start=$CONFIG_START, size=$CONFIG_SECTORS, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=7A26E5C0-0000-4000-8000-746172676503, name="targe-config"
EOF

# Boot partition: FAT written in place with mtools (image@@offset), syslinux installed
# into it the same way, and syslinux's GPT-aware MBR code in the first 440 bytes.
BOOT_OFFSET=$((BOOT_START * SECTOR))
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=$EPOCH
mformat -i "$IMG.tmp@@$BOOT_OFFSET" -T "$BOOT_SECTORS" -h 64 -s 32 -H "$BOOT_START" -v TARGEBOOT -N 7a26e5c0 ::
cat > "$OUT/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT targe
PROMPT 0
TIMEOUT 0
LABEL targe
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0,115200 panic=10 quiet
EOF
touch -d "@$EPOCH" "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/syslinux.cfg"
for f in vmlinuz initrd.img syslinux.cfg; do
  mcopy -m -i "$IMG.tmp@@$BOOT_OFFSET" "$OUT/$f" "::$f"
done
# UEFI too: syslinux.efi at the removable-media path, reading the same syslinux.cfg.
mmd -i "$IMG.tmp@@$BOOT_OFFSET" ::EFI ::EFI/BOOT
mcopy -m -i "$IMG.tmp@@$BOOT_OFFSET" /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ::EFI/BOOT/BOOTX64.EFI
mcopy -m -i "$IMG.tmp@@$BOOT_OFFSET" /usr/lib/syslinux/modules/efi64/ldlinux.e64 ::EFI/BOOT/ldlinux.e64
mcopy -m -i "$IMG.tmp@@$BOOT_OFFSET" "$OUT/syslinux.cfg" ::EFI/BOOT/syslinux.cfg
syslinux --offset "$BOOT_OFFSET" --install "$IMG.tmp"
dd if=/usr/lib/syslinux/mbr/gptmbr.bin of="$IMG.tmp" bs=440 count=1 conv=notrunc status=none

# Config partition: ext4 with the label PID 1 looks for, built in place.
# It starts empty (the first boot writes targe.conf); without -d nothing carries the build
# host's file times in.
E2FSPROGS_FAKE_TIME=$EPOCH mke2fs -q -F -t ext4 -L targe-config -U 7a26e5c0-0000-4000-8000-746172676504 \
  -E "offset=$((CONFIG_START * SECTOR)),hash_seed=7a26e5c0-0000-4000-8000-746172676505" \
  "$IMG.tmp" "${CONFIG_MIB}M"
e2fsck -fn "$IMG.tmp?offset=$((CONFIG_START * SECTOR))" >/dev/null 2>&1 || die "the new config filesystem does not check clean"

mv "$IMG.tmp" "$IMG"
say "built $IMG ($TOTAL_MIB MiB; initramfs $(($(stat -c %s "$INITRD") / 1024)) KiB, kernel $(($(stat -c %s "$OUT/vmlinuz") / 1024)) KiB)"
