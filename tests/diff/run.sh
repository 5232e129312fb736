#!/bin/sh
# tests/diff/run.sh BUILD_DIR [--update] - the golden cases of `migstream diff`.
#
# Every directory tests/diff/cases/CASE/ holds:
#   cmd     a shell script (mostly one line), run by sh from the
#           repository root, with
#           $MIGSTREAM standing for the binary under test
#   stdout  its expected standard output
#   stderr  its expected standard error
#   rc      its expected exit status
# The three are compared exactly.  With --update the
# expected files are rewritten from what the binary does now; review the
# diff before committing it.
#
# Prints one line per failing case, with a unified diff, and, last,
# "N passed, N failed".  Exit 0 only when nothing failed.
set -u
O=${1:-build}
update=false
[ "${2:-}" = --update ] && update=true
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

MIGSTREAM=$O/migstream
export MIGSTREAM
# Cases that build a helper (genpair.c) use $CC.
CC=${CC:-cc}
export CC
# Messages and sorting must not depend on the caller's locale.
LC_ALL=C
export LC_ALL

passed=0
failed=0

if [ ! -x "$MIGSTREAM" ]; then
	echo "FAIL: $MIGSTREAM is not built"
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-diff.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

for dir in tests/diff/cases/*/; do
	dir=${dir%/}
	name=${dir#tests/diff/cases/}
	[ -f "$dir/cmd" ] || continue
	sh -c "$(cat "$dir/cmd")" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
	echo $? >"$tmp/rc"
	if $update; then
		for f in stdout stderr rc; do
			if ! cmp -s "$tmp/$f" "$dir/$f"; then
				cp "$tmp/$f" "$dir/$f"
				echo "updated: $name/$f"
			fi
		done
		passed=$((passed + 1))
		continue
	fi
	bad=
	for f in stdout stderr rc; do
		if [ ! -f "$dir/$f" ]; then
			bad="$bad $f"
			echo "FAIL: $name: $dir/$f is missing"
		elif ! cmp -s "$dir/$f" "$tmp/$f"; then
			[ -z "$bad" ] && echo "FAIL: $name: $(cat "$dir/cmd")"
			bad="$bad $f"
			diff -u "$dir/$f" "$tmp/$f" |
				sed -e "1s|^--- .*|--- $dir/$f (expected)|" \
				    -e "2s|^+++ .*|+++ $f (actual)|" |
				head -n 60
		fi
	done
	if [ -n "$bad" ]; then
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
