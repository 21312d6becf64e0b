#!/bin/bash
# Builds the cached, stagenet-independent part of the Xen lab in $1: a Debian
# bookworm dom0 root (minbase + Xen 4.17 toolstack) packed as a cpio, the Xen
# hypervisor, the uncompressed 6.1 kernel and its modules.  Debian packages
# only; the kernel and Xen come from the same suites as xen-utils so that the
# toolstack matches the hypervisor.  Exit 3 = the Debian archive is unreachable.
set -euo pipefail
OUT=$1
MIRROR=${MIRROR:?}
SECURITY=${SECURITY:?}
R=$OUT/dom0-root
X=$OUT/x
export DEBIAN_FRONTEND=noninteractive
rm -rf "$OUT"; mkdir -p "$OUT" "$X"

# busybox-static instead of busybox: the same binary then also serves the
# busybox-only domU.
if ! debootstrap --variant=minbase \
	--include=iproute2,bridge-utils,kmod,busybox-static,procps,iputils-ping,ca-certificates \
	bookworm "$R" "$MIRROR" > "$OUT/debootstrap.log" 2>&1; then
	tail -20 "$OUT/debootstrap.log" >&2
	/usr/lib/apt/apt-helper download-file "$MIRROR/dists/bookworm/Release" "$OUT/probe" \
		>/dev/null 2>&1 || exit 3
	exit 1
fi
cat > "$R/etc/apt/sources.list" <<EOS
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOS
cleanup() { umount "$R/proc" 2>/dev/null || true; }
mount -t proc proc "$R/proc"
trap cleanup EXIT
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
chroot "$R" apt-get update -q > "$OUT/apt.log" 2>&1 || { tail -5 "$OUT/apt.log" >&2; exit 3; }
# xen-utils-common's postinst says "Can't find hypervisor information": harmless
chroot "$R" apt-get install -y -q --no-install-recommends xen-utils-4.17 xenstore-utils \
	>> "$OUT/apt.log" 2>&1 || { tail -20 "$OUT/apt.log" >&2; exit 1; }
KPKG=$(chroot "$R" apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2; exit}')
mkdir -p "$R/tmp/debs"
(cd "$R/tmp/debs" && chroot "$R" sh -c "cd /tmp/debs && apt-get download -q $KPKG xen-hypervisor-4.17-amd64") \
	>> "$OUT/apt.log" 2>&1 || { tail -20 "$OUT/apt.log" >&2; exit 1; }
rm -f "$R/usr/sbin/policy-rc.d"
cleanup; trap - EXIT
dpkg-deb -x "$R"/tmp/debs/${KPKG}_*.deb "$X"
dpkg-deb -x "$R"/tmp/debs/xen-hypervisor-4.17-amd64_*.deb "$X"
{ echo "kernel: $(basename "$R"/tmp/debs/${KPKG}_*.deb)"
  echo "xen: $(basename "$R"/tmp/debs/xen-hypervisor-4.17-amd64_*.deb)"
  chroot "$R" dpkg-query -W xen-utils-4.17; } > "$OUT/versions.txt"
rm -rf "$R/tmp/debs"
KVER=${KPKG#linux-image-}
echo "$KVER" > "$OUT/kver"
zcat "$X/boot/xen-4.17-amd64.gz" > "$OUT/xen-4.17-amd64"   # ELF32 multiboot image
# The uncompressed ELF vmlinux (as scripts/extract-vmlinux does) saves the xz
# decompression under TCG: ~4 s in Xen's dom0 builder, ~6 s per xl create.
VZ=$X/boot/vmlinuz-$KVER
XZOFF=$(grep -abo $'\xfd7zXZ' "$VZ" | head -1 | cut -d: -f1)
tail -c +$((XZOFF + 1)) "$VZ" | xz -dc 2>/dev/null > "$OUT/vmlinux.elf" || true
[ "$(head -c 4 "$OUT/vmlinux.elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
	{ echo "vmlinux extraction failed" >&2; exit 1; }
MODDIR=$X/lib/modules/$KVER
depmod -b "$X" "$KVER"
# dom0: only the modules the lab loads (and their dependencies), with depmod.
# The chroot is usr-merged (/lib -> usr/lib).
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-netback bridge tun; do
	modprobe -d "$X" -S "$KVER" --show-depends $m | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r f; do
	rel=${f#$MODDIR/}
	mkdir -p "$R/usr/lib/modules/$KVER/$(dirname "$rel")"
	cp "$f" "$R/usr/lib/modules/$KVER/$rel"
done
cp "$MODDIR"/modules.order "$MODDIR"/modules.builtin* "$R/usr/lib/modules/$KVER/"
depmod -b "$R/usr" "$KVER"
# domU: flat .ko files for busybox insmod (none of these has dependencies
# except xenfs -> xen-privcmd, loaded in that order)
mkdir -p "$OUT/domu-modules"
for m in net/xen-netfront net/tun xen/xen-evtchn xen/xen-gntdev xen/xen-gntalloc xen/xen-privcmd xen/xenfs/xenfs; do
	cp "$MODDIR/kernel/drivers/$m.ko" "$OUT/domu-modules/"
done
# the domU kernel lives in dom0's /boot
mkdir -p "$R/boot" "$R/etc/xen"
cp "$OUT/vmlinux.elf" "$R/boot/domu-vmlinux"
# The dom0 root as one uncompressed cpio, minus what a test boot never reads.
(cd "$R" && find . -xdev \
   \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./var/cache/apt -o -path ./var/lib/apt/lists \
      -o -path ./usr/share/doc -o -path ./usr/share/man -o -path ./usr/share/locale -o -path ./usr/share/info \
      -o -path './usr/lib/python3*' -o -path ./usr/share/zoneinfo -o -path ./usr/lib/x86_64-linux-gnu/perl \
      -o -path ./usr/share/perl -o -path ./usr/lib/x86_64-linux-gnu/gconv -o -path ./usr/lib/udev/hwdb.bin \) -prune -o -print \
  | cpio -o -H newc --quiet) > "$OUT/dom0-base.cpio"
cp "$R/bin/busybox" "$OUT/busybox"
rm -rf "$R" "$X"
touch "$OUT/complete"
