#!/bin/sh
# tests/diff/bench.sh [BUILD_DIR [MIB [DIR]]] - `migstream diff` on a pair of
# multi-GiB streams that differ in a known set of pages (tests/diff/genpair.c,
# default 4096 MiB of guest RAM, about 3.4 GiB per stream), against
# `cat A B > /dev/null` in the same run with the page cache warm.  Checks
# that diff reports exactly the RAM ranges genpair expects, then prints the
# median wall time of three runs of each, their ratio, and diff's peak RSS.
# Not part of `make check`: it writes two large files into DIR (default
# $TMPDIR or /tmp) and removes them afterwards.
set -u
O=${1:-build}
MIB=${2:-4096}
DIR=${3:-${TMPDIR:-/tmp}}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BIN=$O/migstream
[ -x "$BIN" ] || { echo "bench: $BIN is not built" >&2; exit 2; }
d=$(mktemp -d "$DIR/diff-bench.XXXXXX") || exit 2
trap 'rm -rf "$d"' EXIT
trap 'exit 2' HUP INT TERM

${CC:-cc} -std=c11 -O2 -o "$d/genpair" tests/diff/genpair.c || exit 2
echo "writing two streams of $MIB MiB of guest RAM into $d ..."
"$d/genpair" "$MIB" "$d/a.mig" "$d/b.mig" > "$d/expected" || exit 2
ls -l "$d/a.mig" "$d/b.mig"

# Wall seconds of "$@", output discarded.
secs()
{
	/usr/bin/time -f %e -o "$d/t" "$@" > /dev/null 2>&1
	tail -n 1 "$d/t"
}

median3()
{
	printf '%s\n' "$@" | sort -n | sed -n 2p
}

cat "$d/a.mig" "$d/b.mig" > /dev/null	# warm the page cache
"$BIN" diff --section ram "$d/a.mig" "$d/b.mig" > "$d/out"
if grep -E '^ram |^  0x' "$d/out" | cmp -s - "$d/expected"; then
	echo "RAM ranges: exactly as expected ($(sed -n 1p "$d/expected"))"
else
	echo "RAM ranges: NOT as expected:"
	grep -E '^ram |^  0x' "$d/out" | diff "$d/expected" -
	exit 1
fi

c1=$(secs sh -c "cat '$d/a.mig' '$d/b.mig'")
f1=$(secs "$BIN" diff "$d/a.mig" "$d/b.mig")
c2=$(secs sh -c "cat '$d/a.mig' '$d/b.mig'")
f2=$(secs "$BIN" diff "$d/a.mig" "$d/b.mig")
c3=$(secs sh -c "cat '$d/a.mig' '$d/b.mig'")
f3=$(secs "$BIN" diff "$d/a.mig" "$d/b.mig")
p1=$(secs sh -c "cat '$d/a.mig' | '$BIN' diff - '$d/b.mig'")
p2=$(secs sh -c "cat '$d/a.mig' | '$BIN' diff - '$d/b.mig'")
p3=$(secs sh -c "cat '$d/a.mig' | '$BIN' diff - '$d/b.mig'")
cat=$(median3 "$c1" "$c2" "$c3")
file=$(median3 "$f1" "$f2" "$f3")
pipe=$(median3 "$p1" "$p2" "$p3")
/usr/bin/time -f %M -o "$d/rss" "$BIN" diff "$d/a.mig" "$d/b.mig" > /dev/null
rss=$(tail -n 1 "$d/rss")
/usr/bin/time -f %M -o "$d/rss" "$BIN" diff --ram off "$d/a.mig" "$d/b.mig" > /dev/null
rss_off=$(tail -n 1 "$d/rss")

printf '%-34s %8s %8s\n' "" "seconds" "x cat"
printf '%-34s %8s %8s\n' "cat A B > /dev/null" "$cat" "1.00"
printf '%-34s %8s %8s\n' "diff A B (files)" "$file" \
	"$(echo "$file $cat" | awk '{ printf "%.2f", $1 / $2 }')"
printf '%-34s %8s %8s\n' "cat A | diff - B (pipe)" "$pipe" \
	"$(echo "$pipe $cat" | awk '{ printf "%.2f", $1 / $2 }')"
echo "peak RSS of diff: $rss KiB (with --ram off: $rss_off KiB)"
