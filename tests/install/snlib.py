"""Shared by the tests/install scripts: the build's install into a private
destdir (meson's own install, so what is checked is what `meson install`
does), and an emulated host with a backend for traffic tests.  Every wait is
bounded; every process started is stopped in close()."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def build_dir():
    return os.environ["SN_BUILDDIR"]


def stagenet():
    return os.environ["SN_STAGENET"]


def meson_cmd():
    return os.environ.get("SN_MESON", "meson").split()


def installed_map():
    """meson's install manifest: built or source file -> install path."""
    out = subprocess.run(meson_cmd() + ["introspect", "--installed", build_dir()],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def install_destdir(tmp):
    """meson install --destdir tmp/root; returns (root, prefix)."""
    root = os.path.join(tmp, "root")
    subprocess.run(meson_cmd() + ["install", "-C", build_dir(), "--destdir", root,
                                  "--no-rebuild", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    opts = json.loads(subprocess.run(
        meson_cmd() + ["introspect", "--buildoptions", build_dir()],
        check=True, capture_output=True, text=True).stdout)
    o = {x["name"]: x["value"] for x in opts}
    return root, o


def tmpdir(tag):
    return tempfile.mkdtemp(prefix="sn-%s-" % tag)


class Host:
    """`stagenet host` in a private directory, with SN_RUNDIR beside it."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        os.makedirs(os.path.join(tmp, "run"), exist_ok=True)
        os.makedirs(os.path.join(tmp, "host"), exist_ok=True)
        self.env = dict(os.environ, SN_RUNDIR=os.path.join(tmp, "run"))
        out = open(os.path.join(tmp, "host.out"), "w")
        self.host = subprocess.Popen([stagenet(), "host", "--dir", os.path.join(tmp, "host")],
                                     stdout=out, stderr=subprocess.STDOUT, env=self.env)
        path = None
        for _ in range(200):
            with open(os.path.join(tmp, "host.out")) as f:
                for line in f:
                    if line.startswith("XENSTORED_PATH="):
                        path = line.strip().split("=", 1)[1]
            if path:
                break
            time.sleep(0.05)
        if not path:
            self.close()
            fail("stagenet host did not print XENSTORED_PATH")
        self.env["XENSTORED_PATH"] = path

    def run(self, *args, timeout=60):
        return subprocess.run([stagenet(), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def spawn(self, name, args, exe=None, env=None):
        out = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen([exe or stagenet(), *args], stdout=out, stderr=subprocess.STDOUT,
                             env=env or self.env)
        self.procs.append(p)
        return p

    def log(self, name):
        with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
            return f.read()

    def wait_for(self, what, cond, secs=30):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.05)
        fail("timed out waiting for " + what)

    def stop(self, p, secs=10):
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(secs)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def close(self):
        for p in reversed(self.procs):
            self.stop(p)
        self.stop(self.host)
        shutil.rmtree(self.tmp, ignore_errors=True)
