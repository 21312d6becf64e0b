#!/bin/bash
# Builds the per-run part of the Xen lab: the domU initramfs (static busybox,
# Xen modules, the stagenet binary with its shared libraries, the domU
# scenario scripts) and the dom0 initramfs = cached base cpio + an overlay with
# /init, the scenario scripts, stagenet and the domU files.
# With PLATTEST (tests/xen/test_xen_platform) both images also carry that
# test, which the lab runs in dom0 and in a domU (scenario B).  The domU also
# gets this host's iproute2 `ip` (busybox ip cannot load XDP) and scenario D's
# XDP program, compiled here with clang against the libbpf headers.
#   build-run.sh BASE STAGENET OUT [PLATTEST]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=$1 SNBIN=$2 OUT=$3 PLATBIN=${4:-}
rm -rf "$OUT/domu-root" "$OUT/dom0-overlay"
mkdir -p "$OUT"

# the binary's shared-library closure, from this (Debian 12) host
IPBIN=$(command -v ip)
libs() { ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}'; }

# ---- domU ----
U=$OUT/domu-root
mkdir -p "$U"/{bin,proc,sys,dev,tmp,lab,opt/sn,lib/modules,lib64,lib/x86_64-linux-gnu}
cp "$BASE/busybox" "$U/bin/busybox"
cp "$BASE"/domu-modules/*.ko "$U/lib/modules/"
cp "$SNBIN" "$U/opt/sn/stagenet"
[ -z "$PLATBIN" ] || cp "$PLATBIN" "$U/opt/sn/test_xen_platform"
cp "$IPBIN" "$U/opt/sn/ip"
# asm/types.h lives in the multiarch include directory, which -target bpf
# does not search
clang -target bpf -O2 -g -I"/usr/include/$(gcc -print-multiarch)" \
	-c "$HERE/xdp_drop_icmp.c" -o "$U/lab/xdp_drop_icmp.o"
# glibc dlopen()s libgcc_s for thread exit/cancellation; ldd does not list it
for l in $(libs "$SNBIN" ${PLATBIN:+"$PLATBIN"} "$IPBIN" | sort -u) $(ldconfig -p | awk '$1 == "libgcc_s.so.1" && /x86-64/ {print $NF; exit}'); do
	case $l in
	*ld-linux*) cp -L "$l" "$U/lib64/$(basename "$l")" ;;
	*) cp -L "$l" "$U/lib/x86_64-linux-gnu/" ;;
	esac
done
install -m755 "$HERE/domu-init" "$U/init"
cp "$HERE"/domu-scen*.sh "$U/lab/"
(cd "$U" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/domu-initrd.cpio.gz"

# ---- dom0 overlay ----
O=$OUT/dom0-overlay
mkdir -p "$O"/{boot,etc/xen,etc/lab,opt/sn/lib,proc,sys,dev,run,tmp}
install -m755 "$HERE/dom0-init" "$O/init"
cp "$HERE"/dom0-scen*.sh "$HERE/vif-none" "$O/etc/lab/"
# scenario C3's reference capture (make-ref.sh), when the caller made one
[ -f "$OUT/c3-ref.pcap" ] && cp "$OUT/c3-ref.pcap" "$O/etc/lab/"
cp "$HERE/domu.cfg" "$O/etc/xen/domu.cfg"
cp "$OUT/domu-initrd.cpio.gz" "$O/boot/domu-initrd.cpio.gz"
cp "$SNBIN" "$O/opt/sn/stagenet"
[ -z "$PLATBIN" ] || cp "$PLATBIN" "$O/opt/sn/test_xen_platform"
# glibc stays the dom0's own (never mix a loader and a libc); the rest (libxen*,
# libpcap and what it pulls in) is what the binary was linked against.
for l in $(libs "$SNBIN" ${PLATBIN:+"$PLATBIN"} | sort -u); do
	case $(basename "$l") in
	ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*) ;;
	*) cp -L "$l" "$O/opt/sn/lib/" ;;
	esac
done
printf '#!/bin/sh\nLD_LIBRARY_PATH=/opt/sn/lib exec /opt/sn/stagenet "$@"\n' > "$O/opt/sn/sn"
chmod 755 "$O/opt/sn/sn"
(cd "$O" && find . | cpio -o -H newc --quiet) > "$OUT/dom0-overlay.cpio"
cat "$BASE/dom0-base.cpio" "$OUT/dom0-overlay.cpio" > "$OUT/dom0-initrd.cpio"
rm -rf "$U" "$O" "$OUT/dom0-overlay.cpio"
