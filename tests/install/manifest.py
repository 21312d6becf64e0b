#!/usr/bin/env python3
"""`meson install --destdir` puts in place every file README "Install" lists:
the binary, libstagenet (shared with its soname, static), the public headers,
stagenet.pc, stagenet(8) and one page per subcommand `stagenet --help` lists,
the bash completion, both systemd units, the defaults and modprobe.d files;
each is in meson's install manifest (introspect --installed) and in the
destdir.  The shared library exports exactly the sn_ API the headers declare."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snlib  # noqa: E402


def subcommands():
    out = subprocess.run([snlib.stagenet(), "--help"], check=True, capture_output=True,
                         text=True).stdout
    subs, on = [], False
    for line in out.splitlines():
        if line.strip() == "Subcommands:":
            on = True
        elif on:
            m = re.match(r"^  ([a-z][\w-]*)\s", line)
            if m:
                subs.append(m.group(1))
            elif line and not line.startswith(" " * 20):
                break
    return subs


def main():
    src = os.environ["SN_SRCDIR"]
    tmp = snlib.tmpdir("install")
    try:
        root, o = snlib.install_destdir(tmp)
        prefix = o["prefix"]
        lib = os.path.join(prefix, o["libdir"])
        unitdir = o["systemdunitdir"] or os.path.join(prefix, "lib/systemd/system")
        modprobedir = o["modprobedir"] or os.path.join(prefix, "lib/modprobe.d")
        man8 = os.path.join(prefix, o["mandir"], "man8")
        subs = subcommands()
        if len(subs) < 5:
            snlib.fail("stagenet --help lists %d subcommands: %r" % (len(subs), subs))
        want = [os.path.join(prefix, o["bindir"], "stagenet"),
                os.path.join(lib, "libstagenet.so.0"),
                os.path.join(lib, "libstagenet.so"),
                os.path.join(lib, "libstagenet.a"),
                os.path.join(lib, "pkgconfig", "stagenet.pc"),
                os.path.join(prefix, o["datadir"], "bash-completion/completions/stagenet"),
                os.path.join(unitdir, "stagenet-back.service"),
                os.path.join(unitdir, "stagenet-host.service"),
                os.path.join(modprobedir, "stagenet.conf"),
                os.path.join(prefix, o["sysconfdir"], "default", "stagenet")]
        want += [os.path.join(prefix, o["includedir"], "stagenet", h)
                 for h in sorted(os.listdir(os.path.join(src, "include/stagenet")))
                 if h.endswith(".h")]
        if shutil.which("help2man"):
            want += [os.path.join(man8, "stagenet.8")]
            want += [os.path.join(man8, "stagenet-%s.8" % s) for s in subs]
        else:
            print("note: help2man not installed, man pages not checked")
        manifest = set(snlib.installed_map().values())
        # A .so symlink is not a build output: meson installs it beside
        # the real file without listing it.
        missing = [w for w in want if not os.path.lexists(root + w)]
        unlisted = [w for w in want if w not in manifest and not w.endswith((".so", ".so.0"))]
        if missing:
            snlib.fail("not installed: " + ", ".join(missing))
        if unlisted:
            snlib.fail("not in meson's install manifest: " + ", ".join(unlisted))
        print("installed: %d files checked" % len(want))

        so = root + os.path.join(lib, "libstagenet.so.0")
        dyn = subprocess.run(["readelf", "-d", so], check=True, capture_output=True,
                             text=True).stdout
        if "Library soname: [libstagenet.so.0]" not in dyn:
            snlib.fail("soname is not libstagenet.so.0:\n" + dyn)
        nm = subprocess.run(["nm", "-D", "--defined-only", so], check=True,
                            capture_output=True, text=True).stdout
        exported = {ln.split()[-1].split("@")[0] for ln in nm.splitlines()
                    if ln.split()[1] in "TDRBVW" and not ln.split()[-1].startswith("STAGENET_")}
        headers = [os.path.join(src, "include/stagenet", h)
                   for h in sorted(os.listdir(os.path.join(src, "include/stagenet")))]
        api = set(subprocess.run([sys.executable, os.path.join(src, "scripts/gen-symbols.py"),
                                  "--list", *headers], check=True, capture_output=True,
                                 text=True).stdout.split())
        if exported != api:
            snlib.fail("exported != declared: extra %s, missing %s" %
                       (sorted(exported - api), sorted(api - exported)))
        if not any(n.startswith("sn_front_") for n in api) or len(api) < 20:
            snlib.fail("the API list looks wrong: %r" % sorted(api))
        print("libstagenet.so.0 exports the %d declared sn_ symbols, nothing else" % len(api))

        unit = open(root + os.path.join(unitdir, "stagenet-back.service")).read()
        for line in ("After=xenstored.service xen-init-dom0.service",
                     "Wants=xenstored.service xen-init-dom0.service",
                     "Before=xendomains.service", "Restart=on-failure",
                     "EnvironmentFile=-/etc/default/stagenet",
                     "ExecStart=%s back --platform xen $STAGENET_BACK_OPTS" %
                     os.path.join(prefix, o["bindir"], "stagenet")):
            if not re.search(r"^" + re.escape(line), unit, re.M):
                snlib.fail("stagenet-back.service lacks '%s'" % line)
        conf = open(root + os.path.join(modprobedir, "stagenet.conf")).read()
        for line in ("blacklist xen-netback", "install xen-netback /bin/false"):
            if line not in conf.splitlines():
                snlib.fail("modprobe.d file lacks '%s'" % line)
        print("units and modprobe.d file: ok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
