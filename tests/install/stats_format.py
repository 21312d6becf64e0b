#!/usr/bin/env python3
"""`stagenet stats --format json|prometheus` on a running backend that
received known traffic (two queues, 300 generated packets each): the
Prometheus output passes a strict text-exposition parser (below; and
`promtool check metrics` when installed), has one family per counter with
vif/queue/role labels and the right values; the JSON passes
`python3 -m json.tool` and carries the same numbers as the text output."""
import json
import math
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snlib  # noqa: E402

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LNAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_labels(s, where):
    """'{a="x",b="y"}' body -> dict; only \\\\, \\" and \\n escapes."""
    labels, i = {}, 0
    while i < len(s):
        m = re.match(r"([^=]*)=\"", s[i:])
        if not m or not LNAME.match(m.group(1)):
            raise ValueError("%s: bad label name at '%s'" % (where, s[i:]))
        key, i, val = m.group(1), i + m.end(), []
        while True:
            if i >= len(s):
                raise ValueError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("%s: bad escape \\%s" % (where, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: newline in label value" % where)
            else:
                val.append(c)
                i += 1
        if key in labels:
            raise ValueError("%s: label %s twice" % (where, key))
        labels[key] = "".join(val)
        if i < len(s):
            if s[i] != ",":
                raise ValueError("%s: expected ',' at '%s'" % (where, s[i:]))
            i += 1
    return labels


def parse_exposition(text):
    """Strict Prometheus text format 0.0.4: returns {family: {"type", "help",
    "samples": [(labels, value)]}}; raises ValueError on any violation."""
    if not text.endswith("\n"):
        raise ValueError("does not end with a newline")
    fams, order, seen = {}, [], set()

    def family(name):
        if name not in fams:
            fams[name] = {"type": None, "help": None, "samples": []}
            order.append(name)
        elif order[-1] != name:
            raise ValueError("family %s is not contiguous" % name)
        return fams[name]

    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line == "":
            raise ValueError("%s: empty line" % where)
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)\Z", line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.groups()
            if not NAME.match(name):
                raise ValueError("%s: bad metric name %s" % (where, name))
            f = family(name)
            if kind == "HELP":
                if f["help"] is not None:
                    raise ValueError("%s: second HELP for %s" % (where, name))
                if re.search(r"\\[^\\n]", rest):
                    raise ValueError("%s: bad escape in HELP" % where)
                f["help"] = rest
            else:
                if f["type"] is not None or f["samples"]:
                    raise ValueError("%s: TYPE for %s twice or after samples" % (where, name))
                if rest not in TYPES:
                    raise ValueError("%s: unknown type %s" % (where, rest))
                f["type"] = rest
            continue
        m = re.match(r"([^{ ]+)(?:\{(.*)\})? (\S+)(?: (-?\d+))?\Z", line)
        if not m:
            raise ValueError("%s: not a sample: %s" % (where, line))
        name, lab, val, ts = m.groups()
        if not NAME.match(name):
            raise ValueError("%s: bad metric name %s" % (where, name))
        labels = parse_labels(lab or "", where)
        if val not in ("NaN", "+Inf", "-Inf") and not re.match(
                r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z", val):
            raise ValueError("%s: bad value %s" % (where, val))
        f = family(name)
        key = tuple(sorted(labels.items()))
        if (name, key) in seen:
            raise ValueError("%s: duplicate series %s%r" % (where, name, key))
        seen.add((name, key))
        v = float(val)
        if f["type"] == "counter" and (v < 0 or math.isnan(v)):
            raise ValueError("%s: counter %s is %s" % (where, name, val))
        if ts is not None:
            raise ValueError("%s: timestamps are not for the textfile collector" % where)
        f["samples"].append((labels, v))
    return fams


def self_test():
    """The parser refuses what it must (so a pass below means something)."""
    good = '# HELP a_total x\n# TYPE a_total counter\na_total{q="0"} 1\n'
    parse_exposition(good)
    for bad in (good[:-1],                                        # no final newline
                good + "a_total{q=\"0\"} 2\n",                     # duplicate series
                good.replace("counter", "kounter"),                # bad type
                good.replace('q="0"', 'q="0",q="1"'),              # label twice
                good.replace('q="0"', 'q="\\x"'),                  # bad escape
                good.replace(" 1\n", " -1\n"),                     # negative counter
                good + "# TYPE b gauge\nb 1\na_total{q=\"1\"} 1\n",  # not contiguous
                good + "\n",                                        # empty line
                good.replace(" 1\n", " 1 123\n")):                 # timestamp
        try:
            parse_exposition(bad)
        except ValueError:
            continue
        snlib.fail("the parser accepted %r" % bad)


def main():
    self_test()
    h = snlib.Host(snlib.tmpdir("statsfmt"))
    try:
        r = h.run("vif-add", "--domid", "1", "--devid", "0", "--queues", "2")
        if r.returncode:
            snlib.fail("vif-add: " + r.stderr)
        back = h.spawn("back", ["back", "--port", "sink", "--quiet"])
        front = h.spawn("front", ["front", "--domid", "1", "--devid", "0", "--queues", "2",
                                  "--port", "gen:size=100,count=300", "--linger-ms", "100",
                                  "--staging", "off"])

        def js():
            r = h.run("stats", "--format", "json", "back-1-0")
            return json.loads(r.stdout) if r.returncode == 0 and r.stdout else []

        def got_all():
            d = js()
            return d and d[0]["total"]["tx_pkts"] >= 600
        h.wait_for("the backend's tx_pkts to reach 600", got_all, 60)
        rc = front.wait(30)
        if rc:
            snlib.fail("front exited %d:\n%s" % (rc, h.log("front")))

        r = h.run("stats", "--format", "prometheus")
        if r.returncode:
            snlib.fail("stats --format prometheus: " + r.stderr)
        prom = r.stdout
        try:
            fams = parse_exposition(prom)
        except ValueError as e:
            snlib.fail("prometheus output: %s\n%s" % (e, prom))
        names = list(js()[0]["total"].keys())
        if len(names) < 30 or "tx_pkts" not in names:
            snlib.fail("json counter names: %r" % names)
        for c in names:
            f = fams.get("stagenet_%s_total" % c)
            if not f or f["type"] != "counter" or not f["help"]:
                snlib.fail("no counter family (with HELP) for %s" % c)
            if len(f["samples"]) != 2 or {s[0]["queue"] for s in f["samples"]} != {"0", "1"}:
                snlib.fail("%s: samples %r (want queues 0 and 1 of back)" % (c, f["samples"]))
            for labels, _ in f["samples"]:
                if labels != {"vif": "vif1.0", "queue": labels["queue"], "role": "back"}:
                    snlib.fail("%s: labels %r" % (c, labels))
        if len(fams) != len(names):
            snlib.fail("%d families for %d counters" % (len(fams), len(names)))
        tx = {s[0]["queue"]: s[1] for s in fams["stagenet_tx_pkts_total"]["samples"]}
        if tx != {"0": 300.0, "1": 300.0}:
            snlib.fail("tx_pkts per queue %r, want 300 each" % tx)
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=prom, text=True,
                               capture_output=True)
            if p.returncode:
                snlib.fail("promtool: " + p.stdout + p.stderr)
            print("promtool check metrics: ok")
        print("prometheus: %d families, strict parse ok, tx_pkts 300+300" % len(fams))

        r = h.run("stats", "--format", "json")
        t = subprocess.run([sys.executable, "-m", "json.tool"], input=r.stdout, text=True,
                           capture_output=True)
        if r.returncode or t.returncode:
            snlib.fail("json: %s %s\n%s" % (r.stderr, t.stderr, r.stdout))
        doc = json.loads(r.stdout)
        if len(doc) != 1 or doc[0]["role"] != "back" or doc[0]["domid"] != 1 or \
                len(doc[0]["queues"]) != 2:
            snlib.fail("json blocks: %r" % doc)
        text = h.run("stats", "back-1-0").stdout
        tot = text.split("  total:\n", 1)[1]
        for line in tot.splitlines():
            k, v = line.split()
            if doc[0]["total"][k] < int(v):
                snlib.fail("json total %s=%d, text %s" % (k, doc[0]["total"][k], v))
        if doc[0]["total"]["tx_pkts"] != 600 or \
                sum(q["tx_pkts"] for q in doc[0]["queues"]) != 600:
            snlib.fail("json tx_pkts: %r" % doc[0]["total"])
        print("json: json.tool ok, totals match the text output")

        r = h.run("stats", "--format", "json", "--rate", "1", "back-1-0")
        if r.returncode != 2:
            snlib.fail("--rate with --format json exited %d, want 2" % r.returncode)
        if h.stop(back):
            snlib.fail("back exited non-zero:\n" + h.log("back"))
        r = h.run("stats", "--format", "prometheus")
        fams = parse_exposition(r.stdout)
        if any(f["samples"] for f in fams.values()):
            snlib.fail("samples after every daemon stopped:\n" + r.stdout)
    finally:
        h.close()


main()
