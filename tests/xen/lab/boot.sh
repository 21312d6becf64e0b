#!/bin/bash
# Boots Xen 4.17 + the lab dom0 under qemu-system-x86_64 (TCG, -cpu qemu64:
# -cpu max crashes dom0 under TCG) for one scenario, with a watchdog, and
# stamps every console line with host seconds since qemu started.
#   boot.sh BASE RUNDIR SCEN LOG [extra dom0 cmdline flags]
set -uo pipefail
BASE=$1 RUN=$2 SCEN=$3 LOG=$4 FLAGS=${5:-}
TIMEOUT=${XENLAB_BOOT_TIMEOUT:-600}
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M loglvl=all guest_loglvl=all"
DOM0_ARGS="console=hvc0 earlyprintk=xen loglevel=4 lab.scen=$SCEN $FLAGS"
T0=${EPOCHREALTIME/./}
stamp() {
	local l t
	while IFS= read -r l; do
		t=$(( ${EPOCHREALTIME/./} - T0 ))
		printf '%4d.%02d %s\n' $((t / 1000000)) $((t % 1000000 / 10000)) "${l%$'\r'}"
	done
}
# -no-reboot + dom0's poweroff ends qemu; timeout is the watchdog for a hang.
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64 -m 3072 -smp "${XENLAB_SMP:-2}" \
	-nographic -no-reboot -monitor none -serial stdio \
	-kernel "$BASE/xen-4.17-amd64" -append "$XEN_ARGS" \
	-initrd "$BASE/vmlinux.elf $DOM0_ARGS,$RUN/dom0-initrd.cpio" < /dev/null 2>&1 | stamp > "$LOG"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && echo "WATCHDOG: boot of scenario $SCEN killed after $TIMEOUT s" >> "$LOG"
exit "$rc"
