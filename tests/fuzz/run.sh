#!/bin/sh
# tests/fuzz/run.sh BUILD_DIR - the fuzzing regressions, without clang.
#
#   1. Every reproducer in testdata/bad/found/ (a crash, hang or oracle
#      failure a fuzzer found; MANIFEST lists them) through the command
#      its MANIFEST line names: the exit status must be the one listed,
#      and standard error one line holding the text listed.
#   2. Every harness, linked with tests/fuzz/replay.c
#      (BUILD_DIR/tests/fuzz/replay_NAME), over the reproducers named
#      after it and over the seed corpus tests/fuzz/seeds.sh makes from
#      testdata/: each must run to its end (its oracles hold).
#
# MANIFEST lines: NAME<TAB>EXIT<TAB>SUBSTRING<TAB>COMMAND, where COMMAND
# is a migstream command line with FILE for the reproducer; SUBSTRING "-"
# means standard error must be empty.  A file named
# HARNESS-*.* is replayed by that harness.
#
# Prints one line per failure and, last, "N passed, N failed".
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

BIN=$O/migstream
FOUND=testdata/bad/found
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# 1. Reproducers through the command line.
tab=$(printf '\t')
if [ -f "$FOUND/MANIFEST" ]; then
	while IFS=$tab read -r name rc msg cmd; do
		case $name in
		'#'* | '') continue ;;
		esac
		f=$FOUND/$name
		if [ ! -f "$f" ]; then
			fail "$name: listed in the MANIFEST but missing"
			continue
		fi
		# $cmd is a command line from the MANIFEST: split on purpose.
		# shellcheck disable=SC2086
		set -- $cmd
		args=
		for a in "$@"; do
			[ "$a" = FILE ] && a=$f
			args="$args $a"
		done
		# shellcheck disable=SC2086
		timeout 60 "$BIN" $args >"$tmp/out" 2>"$tmp/err"
		got=$?
		why=
		if [ "$got" -ne "$rc" ]; then
			why="exit $got, expected $rc"
		elif [ "$msg" = - ]; then
			[ -s "$tmp/err" ] && why="unexpected message"
		elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
			why="standard error is not one line"
		elif ! grep -qF -- "$msg" "$tmp/err"; then
			why="standard error lacks '$msg'"
		fi
		if [ -n "$why" ]; then
			fail "$name ($cmd): $why"
			sed -n '1,3s/^/    /p' "$tmp/err"
		else
			pass
		fi
	done <"$FOUND/MANIFEST"
fi

# 2. Harnesses over the reproducers and the seeds.
if [ -x "$O/tests/fuzz/mkseeds" ] &&
    sh tests/fuzz/seeds.sh "$O" "$tmp/seeds" >"$tmp/seeds.log" 2>&1; then
	pass
else
	fail "seeds: tests/fuzz/seeds.sh failed"
	sed -n '1,5s/^/    /p' "$tmp/seeds.log"
fi
for replay in "$O"/tests/fuzz/replay_*; do
	[ -x "$replay" ] || continue
	h=${replay##*/replay_}
	set --
	for f in "$FOUND/$h"-*; do
		[ -f "$f" ] && set -- "$@" "$f"
	done
	[ -d "$tmp/seeds/$h" ] && set -- "$@" "$tmp/seeds/$h"
	[ $# -eq 0 ] && continue
	if "$replay" "$@" >"$tmp/replay.out" 2>"$tmp/replay.err"; then
		pass
	else
		fail "replay_$h: stopped (exit $?) after" \
			"$(grep -c ': ok$' "$tmp/replay.out") inputs"
		sed -n '1,10s/^/    /p' "$tmp/replay.err"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
