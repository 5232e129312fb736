#!/bin/sh
# tests/fuzz/valgrind.sh BUILD_DIR - memcheck over the corpus test and the
# fuzz harnesses, with a build without sanitizers (`make valgrind`).
#
#   1. BUILD_DIR/tests/test_corpus: every real stream of testdata/ read
#      from a file and a pipe, dumped and compared with its analyze output.
#   2. Every harness replay (BUILD_DIR/tests/fuzz/replay_NAME) over the
#      reproducers in testdata/bad/found/ and the mini streams (every
#      seed runs under ASan in `make asan`; memcheck is slower).
#
# Any memcheck error or definite leak fails the run (valgrind exits 9).
# Prints one line per failure and, last, "N passed, N failed".
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

passed=0
failed=0
VG="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect"
if ! command -v valgrind >/dev/null 2>&1; then
	echo "FAIL: valgrind is not installed (tools/deps.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-vg.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# $VG is a command line: split on purpose.
# shellcheck disable=SC2086
if $VG "$O/tests/test_corpus" >"$tmp/corpus.log" 2>&1; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "FAIL: valgrind $O/tests/test_corpus"
	grep -E '==[0-9]+==|FAILED' "$tmp/corpus.log" | head -n 20 | sed 's/^/    /'
fi

sh tests/fuzz/seeds.sh "$O" "$tmp/seeds" >/dev/null 2>&1 || {
	echo "FAIL: tests/fuzz/seeds.sh failed"
	failed=$((failed + 1))
}
for replay in "$O"/tests/fuzz/replay_*; do
	[ -x "$replay" ] || continue
	h=${replay##*/replay_}
	set --
	# Every seed runs under ASan in `make asan` (tests/fuzz/run.sh);
	# memcheck is slow, so here the reproducers and the mini streams.
	for f in testdata/bad/found/"$h"-* "$tmp/seeds/$h"/*-mini.mig; do
		[ -f "$f" ] && set -- "$@" "$f"
	done
	[ $# -eq 0 ] && continue
	# shellcheck disable=SC2086
	if $VG "$replay" "$@" >"$tmp/replay.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: valgrind replay_$h ($# inputs)"
		grep -v ': ok$' "$tmp/replay.log" | head -n 20 | sed 's/^/    /'
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
