#!/bin/sh
# tests/fuzz/long.sh FUZZ_BUILD_DIR SECONDS NAME... - a long fuzzing
# session: each named harness for SECONDS, one after the other, from its
# kept corpus (tests/fuzz/corpus-NAME/, ignored by git, grows from run to
# run) and fresh seeds.  Runs at nice 10 so that other work on the
# machine keeps its share.  Start several at once for several cores.
#
# Logs go to FUZZ_BUILD_DIR/fuzz-long/NAME-UTCSTAMP.log; findings to
# FUZZ_BUILD_DIR/fuzz-artifacts/.  One line per harness, the same as
# smoke.sh's (time, executions, coverage, peak RSS), is printed and
# appended to FUZZ_BUILD_DIR/fuzz-long/summary, which is what the
# notes quote.
set -u
if [ $# -lt 3 ]; then
	echo "usage: $0 FUZZ_BUILD_DIR SECONDS NAME..." >&2
	exit 2
fi
O=$1
T=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

art=$O/fuzz-artifacts
logs=$O/fuzz-long
mkdir -p "$art" "$logs"
seeds=$logs/seeds.$$
trap 'rm -rf "$seeds"' EXIT
trap 'exit 2' HUP INT TERM
if ! sh tests/fuzz/seeds.sh "$O" "$seeds" >"$logs/seeds.$$.log" 2>&1; then
	echo "seeds: tests/fuzz/seeds.sh failed, see $logs/seeds.$$.log" >&2
	exit 2
fi
rm -f "$logs/seeds.$$.log"

status=0
for h in "$@"; do
	fz=$O/fuzz_$h
	if [ ! -x "$fz" ]; then
		echo "$fz: no such harness (make fuzz)" >&2
		status=2
		continue
	fi
	dict=tests/fuzz/$h.dict
	[ -f "$dict" ] || dict=tests/fuzz/stream.dict
	corpus=tests/fuzz/corpus-$h
	mkdir -p "$corpus"
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	log=$logs/$h-$stamp.log
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
	nice -n 10 "$fz" -max_total_time="$T" -timeout=25 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -dict="$dict" \
		-artifact_prefix="$art/$h-" "$corpus" "$seeds/$h" >"$log" 2>&1
	rc=$?
	stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	line="$stamp $rev fuzz_$h: ${T} s, $(stat number_of_executed_units) execs, ${cov:-cov: ?}, corpus $(find "$corpus/" -type f | wc -l) files, peak $(stat peak_rss_mb) MiB"
	if [ "$rc" -eq 0 ]; then
		line="$line: ok"
	else
		line="$line: FINDING (exit $rc, $log)"
		status=1
	fi
	echo "$line" | tee -a "$logs/summary"
done
exit $status
