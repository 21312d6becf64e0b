#!/usr/bin/env python3
"""Bash completion for stagenet, generated at build time from the built
binary's --help (the argp output of the option tables), so new options and
subcommands complete without editing anything:

  gen-completion.py STAGENET OUT

Subcommands come from `stagenet --help`, each one's options from
`stagenet SUB --help`; an argument whose metavariable lists its values
(--platform=emu|xen|auto) completes to them, FILE/DIR/D ones to paths."""
import re
import subprocess
import sys

OPT = re.compile(r"^\s+(?:-\w, )?--([\w-]+)(?:=(\S+))?")


def run(exe, *args):
    return subprocess.run([exe, *args], check=True, capture_output=True,
                          text=True).stdout


def subcommands(exe):
    subs, on = [], False
    for line in run(exe, "--help").splitlines():
        if line.strip() == "Subcommands:":
            on = True
            continue
        if on:
            m = re.match(r"^  ([a-z][\w-]*)\s", line)
            if m:
                subs.append(m.group(1))
            elif line and not line.startswith(" " * 20):
                on = False
    return subs


def options(exe, sub):
    out = []
    for line in run(exe, sub, "--help").splitlines():
        m = OPT.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def main(exe, path):
    subs = subcommands(exe)
    if not subs:
        sys.exit("gen-completion.py: no subcommands in `stagenet --help`")
    lines = [
        "# bash completion for stagenet; generated from `stagenet --help` by",
        "# completion/gen-completion.py at build time: do not edit.",
        "_stagenet()",
        "{",
        "    local cur=${COMP_WORDS[COMP_CWORD]} sub= i opts= vals= arg=",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        "        [[ ${COMP_WORDS[i]} != -* ]] && { sub=${COMP_WORDS[i]}; break; }",
        "    done",
        "    if [[ -z $sub ]]; then",
        "        COMPREPLY=($(compgen -W '%s --help --usage --version' -- \"$cur\"))" % " ".join(subs),
        "        return",
        "    fi",
        "    # --opt=value: complete the value (bash splits at '=' by COMP_WORDBREAKS).",
        "    local prev=${COMP_WORDS[COMP_CWORD-1]}",
        "    [[ $cur == = ]] && cur=",
        "    [[ $prev == = ]] && prev=${COMP_WORDS[COMP_CWORD-2]}",
        "    case $sub in",
    ]
    for sub in subs:
        opts = options(exe, sub)
        words = " ".join("--" + n + ("=" if a else "") for n, a in opts)
        lines.append("    %s)" % sub)
        lines.append("        opts='%s'" % words)
        lines.append("        case $prev in")
        for n, a in opts:
            if not a:
                continue
            if "|" in a and re.fullmatch(r"[\w|-]+", a):
                lines.append("        --%s) vals='%s' ;;" % (n, a.replace("|", " ")))
            elif a in ("FILE", "DIR", "D", "F", "PATH"):
                lines.append("        --%s) arg=file ;;" % n)
            else:
                lines.append("        --%s) arg=any ;;" % n)
        lines.append("        esac ;;")
    lines += [
        "    esac",
        "    if [[ -n $vals ]]; then",
        "        COMPREPLY=($(compgen -W \"$vals\" -- \"$cur\"))",
        "    elif [[ $arg == file ]]; then",
        "        COMPREPLY=($(compgen -f -- \"$cur\"))",
        "    elif [[ $arg == any ]]; then",
        "        COMPREPLY=()",
        "    else",
        "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
        "        [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace",
        "    fi",
        "}",
        "complete -F _stagenet stagenet",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


main(sys.argv[1], sys.argv[2])
