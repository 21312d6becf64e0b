#!/bin/sh
# One man page from the built binary's --help (README "Install"), so the page
# says what the option tables say:
#   help2man.sh HELP2MAN STAGENET OUT [SUBCOMMAND]
# Without SUBCOMMAND: stagenet(8); with one: stagenet-SUBCOMMAND(8), whose
# NAME line is the summary `stagenet --help` lists for it.
set -eu
h2m=$1 exe=$2 out=$3 sub=${4:-}
ver=$("$exe" --version | head -n1)
ver=${ver#stagenet }
if [ -z "$sub" ]; then
	exec "$h2m" --no-info --section=8 --source=stagenet \
		--name="userspace Xen netif (netfront and netback) with staging grants" \
		--version-string="stagenet $ver" --output="$out" "$exe"
fi
# The summary: the subcommand's entry in `stagenet --help`, wrapped lines
# joined (argp indents continuation lines past the name column).
summary=$("$exe" --help | awk -v s="$sub" '
	started && /^                    +[^ ]/ { sub(/^ +/, ""); text = text " " $0; next }
	started { exit }
	$1 == s { started = 1; $1 = ""; sub(/^ +/, ""); text = $0 }
	END { print text }')
[ -n "$summary" ] || { echo "help2man.sh: no summary for '$sub' in stagenet --help" >&2; exit 1; }
exec "$h2m" --no-info --section=8 --source=stagenet --name="$summary" \
	--version-string="stagenet-$sub $ver" --help-option="$sub --help" \
	--include="$(dirname "$0")/see-also.h2m" --output="$out" "$exe"
