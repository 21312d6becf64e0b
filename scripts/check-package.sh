#!/usr/bin/env bash
# `make check-package` (README "Install"): build the Debian packages from a
# copy of the tree (dpkg-buildpackage -b -us -uc, tests off: `make check`
# runs them), lintian with no errors, then unpack them into a scratch root
# and run what an administrator would: `stagenet --version`, `man -w
# stagenet`, the units and modprobe.d file in place, and the example built
# against libstagenet-dev with pkg-config.  Ends with
# "package: N passed, N failed" (also in OUTDIR/check.log, for
# scripts/ci-summary.py).
#   check-package.sh OUTDIR
set -uo pipefail
OUT=${1:-build-deb}
SRC=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fails=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
verdict() {
	echo "package: $pass passed, $fails failed"
	[ "$fails" -eq 0 ]
	exit
}

rm -rf "$OUT" && mkdir -p "$OUT/src/stagenet"
OUT=$(cd "$OUT" && pwd)
exec > >(tee "$OUT/check.log") 2>&1
# The tracked and new files as they are now (not only what is committed);
# the copy sits inside the checkout, so `git describe` still names the tree.
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$OUT/src/stagenet"
start=$(date +%s)
if (cd "$OUT/src/stagenet" &&
	DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$OUT/build.log" 2>&1; then
	ok "dpkg-buildpackage -b -us -uc ($(( $(date +%s) - start )) s)"
else
	tail -40 "$OUT/build.log"
	bad "dpkg-buildpackage (log: $OUT/build.log)"
	verdict
fi
changes=$(ls "$OUT"/src/stagenet_*.changes)
for p in stagenet libstagenet0 libstagenet-dev; do
	ls "$OUT"/src/${p}_*.deb >/dev/null 2>&1 && ok "package $p built" || bad "package $p missing"
done
if lintian --fail-on error --tag-display-limit 0 "$changes" >"$OUT/lintian.log" 2>&1; then
	ok "lintian: no errors ($(grep -c '^W:' "$OUT/lintian.log") warnings, log: $OUT/lintian.log)"
else
	cat "$OUT/lintian.log"
	bad "lintian reports errors"
fi
R=$OUT/root
mkdir -p "$R"
for d in "$OUT"/src/*.deb; do dpkg -x "$d" "$R"; done
v=$("$R/usr/bin/stagenet" --version) && [[ $v == "stagenet "*"(git "* ]] &&
	ok "installed stagenet --version: $v" || bad "stagenet --version: '$v'"
m=$(MANPATH=$R/usr/share/man man -w stagenet 2>&1)
[[ $m == "$R/usr/share/man/man8/stagenet.8"* ]] && ok "man -w stagenet: $m" || bad "man -w stagenet: '$m'"
m=$(MANPATH=$R/usr/share/man man -w stagenet-back 2>&1)
[[ $m == "$R/usr/share/man/man8/stagenet-back.8"* ]] && ok "man -w stagenet-back" || bad "man -w stagenet-back: '$m'"
for f in lib/systemd/system/stagenet-back.service lib/systemd/system/stagenet-host.service \
	lib/modprobe.d/stagenet.conf etc/default/stagenet \
	usr/share/bash-completion/completions/stagenet usr/include/stagenet/front.h \
	usr/share/doc/libstagenet-dev/examples/front_burst.c; do
	[ -e "$R/$f" ] && ok "/$f" || bad "/$f not in the packages"
done
grep -q '^ExecStart=/usr/bin/stagenet back' "$R/lib/systemd/system/stagenet-back.service" &&
	ok "stagenet-back.service runs /usr/bin/stagenet" || bad "stagenet-back.service ExecStart"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
if PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_PATH=$R/usr/lib/$ma/pkgconfig \
	sh -c 'cc -std=gnu11 -Wall -Wextra -Werror -o "$1/front_burst" "$2" $(pkg-config --cflags --libs stagenet)' \
	sh "$OUT" "$R/usr/share/doc/libstagenet-dev/examples/front_burst.c" 2>"$OUT/example.log" &&
	LD_LIBRARY_PATH=$R/usr/lib/$ma ldd "$OUT/front_burst" | grep -q "$R/usr/lib/$ma/libstagenet.so.0"; then
	ok "example built against libstagenet-dev with pkg-config, linked to libstagenet0"
else
	cat "$OUT/example.log"; bad "example against the packages"
fi
verdict
