#!/usr/bin/env bash
# The generated bash completion (completion/gen-completion.py) completes what
# the binary's --help lists: subcommands, every subcommand's options, and
# the values of an option whose metavariable lists them.
set -u
C=$SN_BUILDDIR/completion/stagenet
SN=$SN_STAGENET
[ -f "$C" ] || { echo "FAIL: $C not built"; exit 1; }
# shellcheck source=/dev/null
source "$C"
fails=0
# complete WORD... : COMPREPLY for the command line ending in the last word.
complete_line() {
	COMP_WORDS=(stagenet "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	compopt() { :; }
	_stagenet
}
expect() { # expect "DESC" WORD-IN-REPLY
	local w
	for w in "${COMPREPLY[@]}"; do [ "$w" = "$2" ] && return; done
	echo "FAIL: $1: '$2' not in (${COMPREPLY[*]})"
	fails=$((fails + 1))
}
subs=$("$SN" --help | awk '/Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ "$(echo "$subs" | wc -w)" -ge 5 ] || { echo "FAIL: subcommands: $subs"; exit 1; }
complete_line ""
for s in $subs; do expect "subcommands" "$s"; done
n=0
for s in $subs; do
	for o in $("$SN" "$s" --help | sed -n 's/^ *\(-[a-zA-Z], \)\?--\([a-z][a-z0-9-]*\).*/\2/p'); do
		complete_line "$s" "--${o:0:2}"
		if "$SN" "$s" --help | grep -q -- "--$o="; then expect "$s --${o:0:2}" "--$o="; else expect "$s --${o:0:2}" "--$o"; fi
		n=$((n + 1))
	done
done
complete_line back --platform ""
expect "back --platform" xen
complete_line back --platform = e
expect "back --platform=e" emu
complete_line stats --format ""
expect "stats --format" prometheus
[ $fails -eq 0 ] || exit 1
echo "completion: $n options of $(echo "$subs" | wc -w) subcommands, values of choice options"
