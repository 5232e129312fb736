#!/bin/sh
# tests/fuzz/smoke.sh FUZZ_BUILD_DIR [SECONDS] - every libFuzzer harness for
# a short fixed time (default 20 s each, one at a time), from fresh seed
# corpora (tests/fuzz/seeds.sh).  Any finding (crash, oracle failure,
# leak, timeout of 25 s, more than 2 GiB) fails it; the input that did
# it is left in FUZZ_BUILD_DIR/fuzz-artifacts/ and the log's last lines
# are shown.  Reproduce with FUZZ_BUILD_DIR/tests/fuzz/replay_NAME FILE,
# or BUILD_DIR/tests/fuzz/replay_NAME from a gcc build.
#
# Prints one line per harness (time, executions, coverage) and, last,
# "N passed, N failed".
set -u
O=${1:-build-fuzz}
T=${2:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

passed=0
failed=0
art=$O/fuzz-artifacts
work=$O/fuzz-smoke
rm -rf "$work"
mkdir -p "$art" "$work"
if ! sh tests/fuzz/seeds.sh "$O" "$work/seeds" >"$work/seeds.log" 2>&1; then
	echo "FAIL: seeds: tests/fuzz/seeds.sh failed"
	sed -n '1,5s/^/    /p' "$work/seeds.log"
	echo "0 passed, 1 failed"
	exit 1
fi

for fz in "$O"/fuzz_*; do
	[ -x "$fz" ] || continue
	h=${fz##*/fuzz_}
	dict=tests/fuzz/$h.dict
	[ -f "$dict" ] || dict=tests/fuzz/stream.dict
	mkdir -p "$work/corpus-$h"
	"$fz" -max_total_time="$T" -timeout=25 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -dict="$dict" \
		-artifact_prefix="$art/$h-" \
		"$work/corpus-$h" "$work/seeds/$h" >"$work/$h.log" 2>&1
	rc=$?
	statval() {
		sed -n "s/^stat::$1: *//p" "$work/$h.log" | tail -n 1
	}
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/$h.log" | tail -n 1)
	line="fuzz_$h: ${T} s, $(statval number_of_executed_units) execs, ${cov:-cov: ?}, peak $(statval peak_rss_mb) MiB"
	if [ "$rc" -eq 0 ]; then
		echo "$line: ok"
		passed=$((passed + 1))
	else
		echo "FAIL: $line: exit $rc"
		grep -E 'ERROR|SUMMARY|oracle|runtime error|Test unit written' \
			"$work/$h.log" | head -n 8 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
