#!/bin/sh
# tests/ram/run.sh BUILD_DIR - `migstream dump --ram` and `--extract` from
# the command line, on real QEMU streams: the extracted guest memory holds
# what the sidecar says QEMU loaded, the page list and digests are there,
# DIR is never left half-written, nothing is overwritten without --force.
# Ends with "N passed, N failed".  Run from anywhere; needs gzip and cmp.
set -u
O=${1:-build}
cd "$(dirname "$0")/../.." || exit 2
case $O in
/*) bin=$O/migstream ;;
*) bin=$PWD/$O/migstream ;;
esac
S=testdata/streams
RANDOM72=$S/qemu-7.2/v7.2_pc-i440fx-5.2_random.mig
COMPRESS=$S/qemu-7.2/v7.2_pc-i440fx-5.2_mix-running-compress.mig
PLAIN72=$S/qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig
MAPPED=$S/qemu-10.0/v10.0_pc-i440fx-5.2_plain-mappedram.mig.gz
PLAIN10=$S/qemu-10.0/v10.0_pc-i440fx-5.2_plain.mig
XBZRLE=tests/ram/data/v7.2_pc-i440fx-5.2_xbzrle

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-ram.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

ok()
{
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok()
{
	failed=$((failed + 1))
	echo "FAIL - $1"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check()
{
	d=$1
	shift
	if "$@" >"$tmp/check.out" 2>"$tmp/check.err"; then
		ok "$d"
	else
		not_ok "$d"
		sed 's/^/    /' "$tmp/check.err"
	fi
}

# status WANT DESCRIPTION COMMAND...: passes when it exits with WANT.
status()
{
	want=$1 d=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$d"
	else
		not_ok "$d (exit $rc, want $want)"
		sed 's/^/    /' "$tmp/err"
	fi
}

# The dump document in state.json $1, without the "file" keys --extract
# adds to each RAM block: what `dump` prints.
strip_files()
{
	awk '
		/^ *"file": "ram\// { sub(/,$/, "", prev); next }
		NR > 1 { print prev }
		{ prev = $0 }
		END { print prev }
	' "$1"
}

# Files in $1 other than the expected results: temporaries left behind.
leftovers()
{
	find "$1" -name '.*' ! -name . -print
}

# --- extract: guest memory as QEMU loaded it -------------------------

x=$tmp/random
status 0 "extract the random stream" "$bin" dump --extract "$x" "$RANDOM72"
# Its sidecar: -device loader,file=files/random-1M.bin,addr=0x100000
check "pc.ram holds random-1M.bin at 0x100000" \
	cmp -n 1048576 -i 1048576:0 "$x/ram/pc.ram" testdata/files/random-1M.bin
check "pc.ram is 32 MiB" test "$(wc -c <"$x/ram/pc.ram")" -eq 33554432
check "state.json and desc.json are written" \
	test -s "$x/state.json" -a -s "$x/desc.json"
check "state.json names each block's file" \
	grep -q '"file": "ram/_rom@etc_acpi_tables"' "$x/state.json"
check "desc.json is the vmdesc, pretty-printed" \
	grep -q '^    "page_size": 4096,$' "$x/desc.json"
check "zero pages are holes" \
	test "$(du -k "$x/ram/pc.ram" | cut -f1)" -lt 2048
"$bin" dump "$RANDOM72" >"$tmp/dump.json"
strip_files "$x/state.json" >"$tmp/state.stripped"
check "the dump in state.json is what dump prints" \
	cmp "$tmp/dump.json" "$tmp/state.stripped"
cp "$x/state.json" "$tmp/state.before"
status 2 "a second extract refuses to overwrite" \
	"$bin" dump --extract "$x" "$RANDOM72"
check "...and says --force would" grep -q -e '--force' "$tmp/err"
check "...and leaves state.json as it was" cmp "$x/state.json" "$tmp/state.before"
rm "$x/state.json" "$x/desc.json"
status 2 "an existing block file is not overwritten either" \
	"$bin" dump --extract "$x" "$RANDOM72"
check "...and nothing new is written" test ! -e "$x/state.json"
check "...and no temporary file stays" test -z "$(leftovers "$x")"
status 0 "--force overwrites" "$bin" dump --extract "$x" --force "$RANDOM72"
check "...all of it" test -s "$x/state.json"
check "...leaving no temporary file" test -z "$(leftovers "$x")"

head -c 500000 "$RANDOM72" >"$tmp/cut.mig"
status 1 "an invalid stream fails the extract" \
	"$bin" dump --extract "$tmp/cut" "$tmp/cut.mig"
check "...and leaves no folder behind" test ! -e "$tmp/cut"
mkdir "$tmp/cut"
status 1 "an invalid stream fails the extract into a folder" \
	"$bin" dump --extract "$tmp/cut" "$tmp/cut.mig"
check "...and leaves it empty" test -z "$(ls -A "$tmp/cut")"

# --- COMPRESS_PAGE, mapped-ram, XBZRLE: real streams -----------------

status 0 "extract the compressed stream" \
	"$bin" dump --extract "$tmp/c" "$COMPRESS"
status 0 "extract the plain stream of the same QEMU" \
	"$bin" dump --extract "$tmp/p" "$PLAIN72"
check "compressed pages inflate to the same BIOS" \
	cmp "$tmp/c/ram/pc.bios" "$tmp/p/ram/pc.bios"

gzip -dc "$MAPPED" >"$tmp/mapped.mig"
status 0 "extract the mapped-ram stream from a pipe" \
	sh -c '"$1" dump --extract "$2" - <"$3"' sh "$bin" "$tmp/m" \
	"$tmp/mapped.mig"
status 0 "extract the plain stream of the same QEMU" \
	"$bin" dump --extract "$tmp/p10" "$PLAIN10"
check "mapped-ram pages give the same BIOS" \
	cmp "$tmp/m/ram/pc.bios" "$tmp/p10/ram/pc.bios"
check "mapped-ram pc.ram is 2 MiB" test "$(wc -c <"$tmp/m/ram/pc.ram")" -eq 2097152

gzip -dc "$XBZRLE.mig.gz" >"$tmp/xbzrle.mig"
status 0 "extract the XBZRLE stream" "$bin" dump --extract "$tmp/xb" "$tmp/xbzrle.mig"
check "XBZRLE deltas give the page the source held" \
	cmp -n 4096 -i 28672:0 "$tmp/xb/ram/pc.ram" "$XBZRLE.page7000.bin"

# --- --ram pages and --ram hash --------------------------------------

status 0 "dump --ram summary is plain dump" \
	sh -c '"$1" dump --ram summary "$2" >"$3/s1" && "$1" dump "$2" >"$3/s2" &&
	       cmp -s "$3/s1" "$3/s2"' sh "$bin" "$COMPRESS" "$tmp"
status 0 "dump --ram pages" "$bin" dump --ram pages "$COMPRESS"
n=$(grep -c '"kind": "compressed"' "$tmp/out")
want=$("$bin" info --json "$COMPRESS" | sed -n 's/.*"compressed_pages": \([0-9]*\).*/\1/p' | tail -n 1)
check "lists every compressed page ($n of $want)" test "$n" -eq "$want"
check "with block, address and record offset" \
	grep -q '{"block": "pc.ram", "addr": [0-9]*, "kind": "compressed", "offset": [0-9]*}' "$tmp/out"
status 0 "dump --ram pages on the XBZRLE stream" \
	"$bin" dump --ram pages "$tmp/xbzrle.mig"
check "lists its deltas" grep -q '"kind": "xbzrle", "delta": [0-9]*' "$tmp/out"

status 0 "dump --ram hash" "$bin" dump --ram hash "$RANDOM72"
cp "$tmp/out" "$tmp/hash.file"
check "a digest per page: 8192 for pc.ram and 64 for pc.bios..." \
	test "$(grep -c -e '^                "zero",\{0,1\}$' -e '^                "[0-9a-f]\{16\}",\{0,1\}$' "$tmp/out")" -eq $((8192 + 32 + 64 + 32 + 1 + 1))
check "...256 of them not zero in pc.ram (random-1M.bin), 305 in all" \
	test "$(grep -c '^                "[0-9a-f]\{16\}"' "$tmp/out")" -eq 305
status 0 "dump --ram hash from a pipe" \
	sh -c '"$1" dump --ram hash - <"$2"' sh "$bin" "$RANDOM72"
check "...gives the same digests" \
	sh -c 'grep -v "\"file\":" "$1" >"$1.a"; grep -v "\"file\":" "$2" >"$2.a"; cmp -s "$1.a" "$2.a"' \
	sh "$tmp/hash.file" "$tmp/out"

# --- usage -----------------------------------------------------------

status 2 "--ram takes summary, pages or hash" "$bin" dump --ram all "$RANDOM72"
status 2 "--force needs --extract" "$bin" dump --force "$RANDOM72"
status 2 "--extract needs --format tree" \
	"$bin" dump --format analyze --extract "$tmp/analyze" "$RANDOM72"
check "...and makes no folder" test ! -e "$tmp/analyze"
status 2 "--cap takes QEMU's capability names" \
	"$bin" dump --cap x-ignore-shard "$RANDOM72"
check "...and says so" grep -q "unknown migration capability 'x-ignore-shard'" "$tmp/err"
status 1 "--cap x-ignore-shared where it was off is a stream error" \
	"$bin" info --cap x-ignore-shared "$RANDOM72"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
