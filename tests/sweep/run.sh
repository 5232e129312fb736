#!/bin/sh
# tests/sweep/run.sh BUILD_DIR - the deterministic mutation sweep
# (BUILD_DIR/tests/sweep/sweep; its header says what it checks).
#
# It mutates real streams of testdata/ (one of each QEMU version, small
# and whole, and the mini versions tests/fuzz/seeds.sh makes of streams
# with compressed pages, XBZRLE pages, postcopy, no footers, no vmdesc)
# and runs every command on each mutation; and a small schema made from
# schemas/qemu-7.2, through the schema commands.
#
#   SWEEP_N=5000   mutations (default 1000: about four minutes on 2 cores)
#   SWEEP_SEED=7   another deterministic set (default 1)
#   SWEEP_KEEP=1   keep every mutation in the work folder
#   SWEEP_DIR=DIR  the work folder (default: a temporary one, removed)
#   SWEEP_FIRST=I  start at mutation I (to make a failing one again)
#
# Under AddressSanitizer (a binary linked with libasan) the address-space
# limit is off (ASan reserves terabytes it never uses) and sanitizer
# reports exit with 99, which the sweep counts as a crash.
#
# Prints the sweep's failures and, last, "N passed, N failed".
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

BIN=$top/$O/migstream
SWEEP=$O/tests/sweep/sweep
N=${SWEEP_N:-1000}
SEED=${SWEEP_SEED:-1}

for f in "$BIN" "$SWEEP" "$O/tests/fuzz/mkseeds"; do
	if [ ! -x "$f" ]; then
		echo "FAIL: $f is not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-sweep.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

mem=512
if ldd "$BIN" 2>/dev/null | grep -q libasan; then
	mem=0
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99:allocator_may_return_null=1
	UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=99:print_stacktrace=1
	export ASAN_OPTIONS UBSAN_OPTIONS
fi

if ! sh tests/fuzz/seeds.sh "$O" "$tmp/seeds" >"$tmp/seeds.log" 2>&1; then
	echo "FAIL: tests/fuzz/seeds.sh failed"
	sed -n '1,5s/^/    /p' "$tmp/seeds.log"
	echo "0 passed, 1 failed"
	exit 1
fi
S=testdata/streams
M=$tmp/seeds/stream
set -- \
	"$S/qemu-7.2/v7.2_pc-q35-7.2_plain.mig" \
	"$M/v7.2_pc-q35-7.2_plain-mini.mig" \
	"$M/v5.2_pc-i440fx-5.2_plain-nofooter-mini.mig" \
	"$M/v10.0_pc-q35-10.0_mix-mini.mig" \
	"$M/v7.2_pc-i440fx-5.2_mix-running-compress-mini.mig" \
	"$M/v7.2_pc-i440fx-5.2_xbzrle-mini.mig" \
	"$M/v10.0_pc-q35-5.2_plain-postcopy-mini.mig" \
	"$M/v5.2_pc-i440fx-5.2_plain-novmdesc-mini.mig" \
	"$M/v7.2_pc-i440fx-5.2_plain-noconfig-compact.mig" \
	"$S/qemu-5.2/v5.2_pc-i440fx-5.2_plain-nofooter.mig" \
	"$M/v10.0_pc-q35-5.2_plain-returnpath-compact.mig" \
	"$S/qemu-10.0/v10.0_pc-q35-5.2_plain-postcopy.mig" \
	"$tmp/seeds/schema/qemu-7.2-3.json"
keep=
[ -n "${SWEEP_KEEP:-}" ] && keep=-k
out=${SWEEP_DIR:-$tmp/work}
"$SWEEP" -n "$N" -i "${SWEEP_FIRST:-0}" -s "$SEED" -t 10 -m "$mem" $keep \
	"$BIN" "$out" "$@"
