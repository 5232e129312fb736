#!/bin/sh
# Checks that the commands and long options a migstream binary prints agree
# with the man pages (the idea of git's t0450):
#
#   - every command that `BIN help` lists has man/migstream-NAME.1, and every
#     man/migstream-NAME.1 belongs to a listed command;
#   - the SYNOPSIS of man/migstream-NAME.1 names every long option that
#     `BIN NAME --help` prints, and `BIN NAME --help` prints every long
#     option of that SYNOPSIS;
#   - the same between `BIN --help` and the SYNOPSIS of man/migstream.1.
#
# --help itself is left out of the comparison: every command accepts it
# and migstream.1 says so once.  `help` needs no page of its own either.
#
# Usage: sh tests/cli/help_consistency.sh BIN
# The man pages are found next to this script (../../man), or in $MANDIR.
# Exit 0 when everything agrees, 1 with one line per mismatch, 2 on usage.

if [ $# -ne 1 ]; then
	echo "usage: $0 BIN" >&2
	exit 2
fi
bin=$1
case $bin in
*/*) ;;
*) bin=./$bin ;;	# a bare name would be looked up in $PATH
esac
if [ ! -x "$bin" ]; then
	echo "$0: $bin: not an executable file" >&2
	exit 2
fi

here=$(dirname "$0")
case $here in
tests/cli) root= ;;
*/tests/cli) root=${here%tests/cli} ;;
*) root=$here/../../ ;;
esac
mandir=${MANDIR:-${root}man}
if [ ! -d "$mandir" ]; then
	echo "$0: $mandir: no such directory" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/help_consistency.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

fail=0
mismatch()
{
	echo "help_consistency: $*"
	fail=1
}

# Long options named in the text on standard input, one per line, sorted,
# without --help.
long_options()
{
	grep -o -e '--[A-Za-z0-9][A-Za-z0-9-]*' |
		grep -v -x -e '--help' |
		LC_ALL=C sort -u
}

# The SYNOPSIS section of man page $1, as text: font escapes removed and
# "\-" turned into "-".
synopsis()
{
	sed -n -e '/^\.S[Hh][ 	]*"*SYNOPSIS/,/^\.S[Hh]/p' "$1" |
		sed -e '1d' -e '/^\.S[Hh]/d' \
		    -e 's/\\f[BIRPC]//g' -e 's/\\f([A-Z][A-Z]//g' \
		    -e 's/\\f\[[^]]*\]//g' -e 's/\\&//g' -e 's/\\-/-/g' \
		    -e 's/\\(hy/-/g' -e 's/\\(en/-/g'
}

# Compares the long options of help text $2 with those of man page $3;
# $1 names the command in messages.
compare_options()
{
	name=$1 help=$2 page=$3
	long_options <"$help" >"$tmp/help.opts"
	synopsis "$page" >"$tmp/synopsis"
	if [ ! -s "$tmp/synopsis" ]; then
		mismatch "$page: no SYNOPSIS section"
		return
	fi
	long_options <"$tmp/synopsis" >"$tmp/man.opts"
	for opt in $(LC_ALL=C comm -23 "$tmp/help.opts" "$tmp/man.opts"); do
		mismatch "$name: '$opt' is in --help but not in the SYNOPSIS of $page"
	done
	for opt in $(LC_ALL=C comm -13 "$tmp/help.opts" "$tmp/man.opts"); do
		mismatch "$name: '$opt' is in the SYNOPSIS of $page but not in --help"
	done
}

# The command list: lines that start with two spaces under a line that
# ends in "commands:" (any case), up to the next line that is neither
# blank nor indented; their first word.  Without such a heading, every
# line that starts with two spaces counts.
"$bin" help >"$tmp/help" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	mismatch "'$bin help' exited with status $rc"
fi
if grep -q -i -e 'commands:[ 	]*$' "$tmp/help"; then
	awk '
		tolower($0) ~ /commands:[ \t]*$/ { on = 1; next }
		on && /^  / { print; next }
		on && /^[ \t]*$/ { next }
		on { on = 0 }
	' "$tmp/help" >"$tmp/cmdlines"
else
	grep -e '^  ' "$tmp/help" >"$tmp/cmdlines"
fi
awk '{ print $1 }' "$tmp/cmdlines" |
	grep -x -e '[a-z][a-z0-9-]*' |
	grep -v -x -e help |
	LC_ALL=C sort -u >"$tmp/commands"
if [ ! -s "$tmp/commands" ]; then
	mismatch "'$bin help' lists no command"
fi

# Command names are single words.
# shellcheck disable=SC2013
for cmd in $(cat "$tmp/commands"); do
	page=$mandir/migstream-$cmd.1
	if [ ! -f "$page" ]; then
		mismatch "$cmd: listed by '$bin help' but $page does not exist"
		continue
	fi
	"$bin" "$cmd" --help >"$tmp/cmdhelp" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		mismatch "$cmd: '$bin $cmd --help' exited with status $rc"
	fi
	compare_options "$cmd" "$tmp/cmdhelp" "$page"
done

for page in "$mandir"/migstream-*.1; do
	[ -f "$page" ] || continue
	cmd=${page##*/migstream-}
	cmd=${cmd%.1}
	if ! grep -q -x -e "$cmd" "$tmp/commands"; then
		mismatch "$cmd: $page exists but '$bin help' does not list '$cmd'"
	fi
done

# The program's own options: `BIN --help` against migstream.1.  Only the
# lines outside the command list count, so that a summary that happens to
# name an option is not taken for one.
page=$mandir/migstream.1
if [ -f "$page" ]; then
	"$bin" --help >"$tmp/tophelp" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		mismatch "'$bin --help' exited with status $rc"
	fi
	grep -v -F -x -f "$tmp/cmdlines" "$tmp/tophelp" >"$tmp/tophelp.own"
	compare_options migstream "$tmp/tophelp.own" "$page"
else
	mismatch "$page does not exist"
fi

exit $fail
