#!/usr/bin/env python3
"""examples/front_burst.c built the way a user of the installed library
builds it, `cc ... $(pkg-config --cflags --libs stagenet)` with pkg-config
pointed at a `meson install --destdir` tree (PKG_CONFIG_SYSROOT_DIR), never
the source or build tree; then run against `stagenet back --port gen` on an
emulated host: it receives COUNT frames and sends them back, and the
backend counts them delivered both ways."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snlib  # noqa: E402

COUNT = 2000


def main():
    src = os.environ["SN_SRCDIR"]
    cc = os.environ.get("CC", "cc").split()
    if not shutil.which("pkg-config"):
        snlib.skip("pkg-config not installed")
    tmp = snlib.tmpdir("example")
    h = None
    try:
        root, o = snlib.install_destdir(tmp)
        libdir = root + os.path.join(o["prefix"], o["libdir"])
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"),
                   PKG_CONFIG_SYSROOT_DIR=root)
        env.pop("PKG_CONFIG_LIBDIR", None)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "stagenet"], env=env,
                               check=True, capture_output=True, text=True).stdout.split()
        for f in flags:
            if f.startswith(("-I", "-L")) and (snlib.build_dir() in f or
                                             f[2:].startswith(src + "/")):
                snlib.fail("pkg-config points into the tree: %s" % f)
        if "-I%s" % (root + os.path.join(o["prefix"], o["includedir"])) not in flags:
            snlib.fail("pkg-config --cflags lacks the installed include dir: %r" % flags)
        exe = os.path.join(tmp, "front_burst")
        # A copy outside the tree, so no "..." include can reach the sources.
        csrc = os.path.join(tmp, "front_burst.c")
        shutil.copy(os.path.join(src, "examples/front_burst.c"), csrc)
        # A sanitized build installs a sanitized library, which only a
        # program built with the same runtime can load.
        san = o.get("b_sanitize", "none")
        san = [] if san in ("none", "") else ["-fsanitize=" + san]
        r = subprocess.run(cc + san + ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", exe,
                                       csrc] + flags, env=env, capture_output=True, text=True)
        if r.returncode:
            snlib.fail("build: %s\n%s" % (" ".join(cc + flags), r.stderr))
        needed = subprocess.run(["readelf", "-d", exe], check=True, capture_output=True,
                                text=True).stdout
        if "Shared library: [libstagenet.so.0]" not in needed:
            snlib.fail("the example does not link libstagenet.so.0:\n" + needed)
        print("built with: pkg-config --cflags --libs stagenet = %s" % " ".join(flags))

        h = snlib.Host(snlib.tmpdir("example-run"))
        r = h.run("vif-add", "--domid", "1", "--devid", "0")
        if r.returncode:
            snlib.fail("vif-add: " + r.stderr)
        back = h.spawn("back", ["back", "--port", "gen:size=300,count=%d" % COUNT])
        run_env = dict(h.env, LD_LIBRARY_PATH=libdir)
        ldd = subprocess.run(["ldd", exe], env=run_env, capture_output=True, text=True).stdout
        if (libdir + "/libstagenet.so.0") not in ldd:
            snlib.fail("ldd does not resolve to the installed library:\n" + ldd)
        # Lingers up to 60 s connected after its last send, so the backend
        # takes every frame off the ring; SIGINT ends it once it has.
        ex = h.spawn("front_burst", ["1", "0", str(COUNT), "emu", "60"], exe=exe,
                     env=run_env)
        want = "received %d sent %d" % (COUNT, COUNT)
        h.wait_for("the example's '%s'" % want,
                   lambda: want in h.log("front_burst") or ex.poll() is not None, 60)
        if want not in h.log("front_burst"):
            snlib.fail("example exited %s:\n%s" % (ex.poll(), h.log("front_burst")))

        def back_total():
            r = h.run("stats", "--format", "json", "back-1-0")
            return json.loads(r.stdout)[0]["total"] if r.returncode == 0 else {}
        h.wait_for("the backend to count %d frames each way" % COUNT,
                   lambda: back_total().get("tx_pkts") == COUNT, 30)
        st = back_total()
        if st["rx_pkts"] != COUNT or st["tx_pkts"] != COUNT:
            snlib.fail("backend counted rx_pkts=%d tx_pkts=%d, want %d each" %
                       (st["rx_pkts"], st["tx_pkts"], COUNT))
        rc = h.stop(ex)
        if rc:
            snlib.fail("example exited %d on SIGINT:\n%s" % (rc, h.log("front_burst")))
        if h.stop(back):
            snlib.fail("back exited non-zero:\n" + h.log("back"))
        print("example: %d frames from the backend and back; backend rx_pkts=tx_pkts=%d" %
              (COUNT, COUNT))
    finally:
        if h:
            h.close()
        shutil.rmtree(tmp, ignore_errors=True)


main()
