#!/usr/bin/env python3
"""The man pages and --help agree: for stagenet(8) and every subcommand that
`stagenet --help` lists, the long options (and their short names) a page
documents are exactly those `stagenet SUB --help` prints, and the metavariable
of each option is the same; every subcommand has its page and the page's
NAME line is its summary."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snlib  # noqa: E402

HELP_OPT = re.compile(r"^\s+(?:(-\w), )?--([\w-]+)(?:=(\S+))?")


def help_opts(args):
    out = subprocess.run([snlib.stagenet(), *args, "--help"], check=True,
                         capture_output=True, text=True).stdout
    opts = {}
    for line in out.splitlines():
        m = HELP_OPT.match(line)
        if m:
            opts[m.group(2)] = (m.group(1), m.group(3))
    return opts, out


def unroff(s):
    s = s.replace("\\-", "-").replace("\\,", "").replace("\\/", "")
    return re.sub(r"\\f[BIRP]", "", s)


def man_opts(path):
    """help2man writes each option as '.TP' and then its tag line."""
    lines = open(path).read().splitlines()
    opts = {}
    for i, line in enumerate(lines[:-1]):
        if line != ".TP":
            continue
        tag = unroff(lines[i + 1])
        m = re.match(r"^(?:(-\w), )?--([\w-]+)(?:=(\S+))?$", tag)
        if m:
            opts[m.group(2)] = (m.group(1), m.group(3))
    name = ""
    for i, line in enumerate(lines):
        if line == ".SH NAME":
            name = unroff(lines[i + 1])
    return opts, name


def subcommand_summaries(top_help):
    subs, on, cur = {}, False, None
    for line in top_help.splitlines():
        if line.strip() == "Subcommands:":
            on = True
        elif on:
            m = re.match(r"^  ([a-z][\w-]*)\s+(.*)", line)
            if m:
                cur = m.group(1)
                subs[cur] = m.group(2).strip()
            elif line.startswith(" " * 20) and cur:
                subs[cur] += " " + line.strip()
            else:
                on = False
    return subs


def main():
    mandir = os.path.join(snlib.build_dir(), "man")
    if not os.path.exists(os.path.join(mandir, "stagenet.8")):
        snlib.skip("no man pages built (help2man not installed; make deps installs it)")
    top, top_help = help_opts([])
    subs = subcommand_summaries(top_help)
    if len(subs) < 5:
        snlib.fail("stagenet --help lists %r" % subs)
    bad = []
    pages = [("stagenet.8", [], None)] + [("stagenet-%s.8" % s, [s], subs[s]) for s in subs]
    for page, args, summary in pages:
        path = os.path.join(mandir, page)
        if not os.path.exists(path):
            bad.append("%s: missing (subcommand '%s' has no man page)" % (page, args[0]))
            continue
        want, _ = help_opts(args)
        got, name = man_opts(path)
        if got != want:
            bad.append("%s: man %r != --help %r" % (page, sorted(got.items()),
                                                   sorted(want.items())))
        if summary and name != "stagenet-%s - %s" % (args[0], summary):
            bad.append("%s: NAME '%s', --help says '%s'" % (page, name, summary))
        if len(want) < 3:
            bad.append("%s: only %r in --help" % (page, want))
        print("%s: %d options agree" % (page, len(want)))
    if bad:
        snlib.fail("\n".join(bad))


main()
