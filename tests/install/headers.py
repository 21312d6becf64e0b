#!/usr/bin/env python3
"""Every installed public header compiles alone, with only the installed
include directory on the path (no source tree), under -Wall -Wextra -Werror
and in both gnu11 and c11, from C; and pulls in what it uses."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snlib  # noqa: E402


def main():
    cc = os.environ.get("CC", "cc")
    tmp = snlib.tmpdir("headers")
    try:
        root, o = snlib.install_destdir(tmp)
        inc = root + os.path.join(o["prefix"], o["includedir"])
        hdrs = sorted(os.listdir(os.path.join(inc, "stagenet")))
        if len(hdrs) < 5:
            snlib.fail("installed headers: %r" % hdrs)
        bad = 0
        for h in hdrs:
            src = os.path.join(tmp, "one.c")
            with open(src, "w") as f:
                # Twice: the include guard must hold.
                f.write("#include <stagenet/%s>\n#include <stagenet/%s>\n"
                        "int main(void) { return 0; }\n" % (h, h))
            for std in ("gnu11", "c11"):
                r = subprocess.run([cc, "-std=" + std, "-Wall", "-Wextra", "-Werror",
                                    "-Wpedantic" if std == "c11" else "-Wshadow",
                                    "-fsyntax-only", "-I" + inc,
                                    src], capture_output=True, text=True)
                if r.returncode:
                    bad += 1
                    print("FAIL: stagenet/%s alone with -std=%s:\n%s" % (h, std, r.stderr))
        if bad:
            sys.exit(1)
        print("%d headers compile alone (gnu11, c11)" % len(hdrs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
