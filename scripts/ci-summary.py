#!/usr/bin/env python3
"""One closing line for CI: every stage's results added up.

Meson test runs (the plain, ASan+UBSan and TSan builds) are counted from
their testlog.json; the real-Xen stage from its own "N passed, N failed"
line; each fuzz harness counts as one pass when its log (BUILDDIR/fuzz-<h>.log,
written by fuzz/run.sh) ends with "fuzz: <h> clean", else as one failure
(libFuzzer prints its final stats on a crash too, so they prove nothing).
Usage: ci-summary.py [--xen-log FILE] [--fuzz-dir DIR] BUILDDIR...

--package-log FILE adds the Debian package check (`make check-package`)
from its "package: N passed, N failed" line; a log without one counts as
one failure.

--soak-log FILE adds the soak (`make soak`) from its own "N passed,
N failed" line; a log without one counts as one failure (the run died
before its verdict).
"""
import glob
import json
import os
import re
import sys


def meson_counts(builddir):
    path = os.path.join(builddir, "meson-logs", "testlog.json")
    ok = fail = skip = 0
    if not os.path.exists(path):
        return ok, fail, skip
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            res = json.loads(line).get("result", "")
            if res in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif res == "SKIP":
                skip += 1
            else:
                fail += 1
    return ok, fail, skip


def fuzz_clean(path):
    h = os.path.basename(path)[len("fuzz-"):-len(".log")]
    verdict = re.compile(r"^fuzz: %s (clean|FAILED)\b" % re.escape(h))
    last = None
    for line in open(path, errors="replace"):
        m = verdict.match(line)
        last = m.group(1) if m else last
    return last == "clean"


def main(argv):
    xen_log = fuzz_dir = None
    soak_log = None
    package_log = None
    dirs = []
    i = 0
    while i < len(argv):
        if argv[i] == "--xen-log":
            xen_log = argv[i + 1]
            i += 2
        elif argv[i] == "--soak-log":
            soak_log = argv[i + 1]
            i += 2
        elif argv[i] == "--package-log":
            package_log = argv[i + 1]
            i += 2
        elif argv[i] == "--fuzz-dir":
            fuzz_dir = argv[i + 1]
            i += 2
        else:
            dirs.append(argv[i])
            i += 1
    total = [0, 0, 0]
    for d in dirs:
        c = meson_counts(d)
        print(f"ci: {d}: {c[0]} passed, {c[1]} failed, {c[2]} skipped")
        total = [a + b for a, b in zip(total, c)]
    if fuzz_dir:
        logs = glob.glob(os.path.join(fuzz_dir, "fuzz-*.log"))
        clean = sum(1 for p in logs if fuzz_clean(p))
        print(f"ci: fuzz: {clean} harnesses ran clean of {len(logs)}")
        total[0] += clean
        total[1] += len(logs) - clean
    if xen_log and os.path.exists(xen_log):
        m = None
        for line in open(xen_log, errors="replace"):
            m = re.match(r"^(\d+) passed, (\d+) failed", line) or m
        if m:
            print(f"ci: real Xen: {m.group(1)} passed, {m.group(2)} failed")
            total[0] += int(m.group(1))
            total[1] += int(m.group(2))
    if soak_log:
        m = None
        if os.path.exists(soak_log):
            for line in open(soak_log, errors="replace"):
                m = re.match(r"^(\d+) passed, (\d+) failed", line) or m
        if m:
            print(f"ci: soak: {m.group(1)} passed, {m.group(2)} failed")
            total[0] += int(m.group(1))
            total[1] += int(m.group(2))
        else:
            print(f"ci: soak: no verdict line in {soak_log}: counted as 1 failed")
            total[1] += 1
    if package_log:
        m = None
        if os.path.exists(package_log):
            for line in open(package_log, errors="replace"):
                m = re.match(r"^package: (\d+) passed, (\d+) failed", line) or m
        if m:
            print(f"ci: package: {m.group(1)} passed, {m.group(2)} failed")
            total[0] += int(m.group(1))
            total[1] += int(m.group(2))
        else:
            print(f"ci: package: no verdict line in {package_log}: counted as 1 failed")
            total[1] += 1
    print(f"ci: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
