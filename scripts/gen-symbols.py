#!/usr/bin/env python3
"""The public API of libstagenet: every function and extern object named sn_*
that include/stagenet/*.h declares (not static inline ones).

  gen-symbols.py --map OUT HEADER...   write the linker version script
  gen-symbols.py --list HEADER...      print the names, one a line

The shared library exports exactly these (src/meson.build links it with the
version script), so a new public function is exported by declaring it in a
public header, and nothing internal leaks by being non-static."""
import re
import sys


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # Preprocessor lines, with their continuations (the X-macro lists).
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text


def top_level_statements(text):
    """Text at brace depth 0, cut at ';' and at a '}' that returns to 0."""
    out, cur, depth = [], [], 0
    for ch in text:
        if ch == "{":
            depth += 1
            continue
        if ch == "}":
            depth -= 1
            if depth == 0:
                out.append("".join(cur) + "{}")
                cur = []
            continue
        if depth:
            continue
        if ch == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    return out


def symbols(paths):
    names = set()
    for p in paths:
        with open(p) as f:
            for st in top_level_statements(strip(f.read())):
                st = " ".join(st.split())
                if not st or st.startswith(("static ", "typedef ")):
                    continue
                if st.endswith("{}") and not re.search(r"\)\s*(__attribute__.*)?\{\}$", st):
                    continue  # a struct/enum/union definition
                m = re.match(r"extern\b.*?\b(sn_\w+)\s*(\[[^\]]*\])*\s*$", st)
                if m:
                    names.add(m.group(1))
                    continue
                m = re.search(r"\b(sn_\w+)\s*\(", st)
                if m:
                    names.add(m.group(1))
    return sorted(names)


def main(argv):
    if argv[:1] == ["--map"]:
        names = symbols(argv[2:])
        with open(argv[1], "w") as f:
            f.write("STAGENET_0 {\n  global:\n")
            for n in names:
                f.write(f"    {n};\n")
            f.write("  local:\n    *;\n};\n")
        return 0
    if argv[:1] == ["--list"]:
        print("\n".join(symbols(argv[1:])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
