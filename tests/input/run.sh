#!/bin/sh
# tests/input/run.sh BUILD_DIR - the command line on every kind of input:
#
#   - real libvirt save images (testdata/libvirt): info shows the wrapper
#     and the domain, dump has a "wrapper" key and otherwise the tree of
#     the bare stream cut out of the raw image;
#   - pipes in one pass and bounded memory: a stream of several hundred MiB
#     (a real stream with its RAM section repeated) piped into `info -` and
#     `dump -`, and the same from a file, each under 32 MiB of peak RSS
#     (/usr/bin/time -f %M); a FIFO and stdin read exactly once give the
#     same tree as the file;
#   - the progress line: on a terminal (script(1) gives one) a read longer
#     than a second shows it and clears it; never without a terminal, never
#     with --quiet.
#
# Prints "N passed, N failed" last; exit 0 only when nothing failed.
set -u
O=${1:-build}
cd "$(dirname "$0")/../.." || exit 2
BIN=$O/migstream
LC_ALL=C
export LC_ALL

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_input.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

ok()
{
	passed=$((passed + 1))
}

bad()
{
	echo "FAIL input: $*"
	failed=$((failed + 1))
}

# RSS limit in KiB for a read of any size.
RSS_MAX=32768
# Under AddressSanitizer (make asan) freed memory waits in quarantine and
# the shadow memory counts too: still a bound, a looser one.
if ldd "$BIN" 2>/dev/null | grep -q libasan; then
	RSS_MAX=131072
fi
# Repetitions of the RAM section: about 1.26 MiB each.
REPEAT=${INPUT_TEST_REPEAT:-250}
SRC=testdata/streams/qemu-7.2/v7.2_pc-i440fx-5.2_random.mig

# The dump without the keys that name the input.
tree()
{
	grep -v -e '^    "file": ' -e '^    "size": ' "$1"
}

# ---- libvirt save images --------------------------------------------

for img in testdata/libvirt/tiny-*.save; do
	[ -f "$img" ] || continue
	fmt=${img##*/tiny-}
	fmt=${fmt%.save}
	if "$BIN" info "$img" >"$tmp/info" 2>"$tmp/err" &&
	   grep -q "^wrapper       libvirt save image, version 2, format $fmt, was paused$" "$tmp/info" &&
	   grep -q '^domain        migstream-tiny, uuid 6d1f4c2a-3b5e-4f70-9a81-2c3d4e5f6a7b$' "$tmp/info" &&
	   grep -q '^read          to the end' "$tmp/info" && [ ! -s "$tmp/err" ]; then
		ok
	else
		bad "info $img"
		cat "$tmp/info" "$tmp/err"
	fi
	if "$BIN" info --json "$img" >"$tmp/json" &&
	   grep -q '"xml": "<domain type=' "$tmp/json" &&
	   grep -q '"name": "migstream-tiny"' "$tmp/json"; then
		ok
	else
		bad "info --json $img: no domain XML"
	fi
	# Through a pipe too.
	if cat "$img" | "$BIN" info - >"$tmp/info2" 2>&1 &&
	   grep -q "format $fmt" "$tmp/info2"; then
		ok
	else
		bad "info - < $img"
		cat "$tmp/info2"
	fi
done

# dump: the raw image gives the tree of the stream cut out of it, plus
# "wrapper"; vmdesc offsets are file offsets there, so they are left out.
raw=testdata/libvirt/tiny-raw.save
if [ -f "$raw" ]; then
	off=$("$BIN" info --json "$raw" |
		sed -n 's/^        "stream_offset": \([0-9]*\),*$/\1/p')
	tail -c +$((off + 1)) "$raw" >"$tmp/bare.mig"
	"$BIN" dump "$raw" >"$tmp/img.json"
	"$BIN" dump "$tmp/bare.mig" >"$tmp/bare.json"
	if grep -q '^    "wrapper": {' "$tmp/img.json" &&
	   ! grep -q '"wrapper"' "$tmp/bare.json"; then
		ok
	else
		bad "dump: a wrapper key for the image, none for the bare stream"
	fi
	# Drop the wrapper object and the vmdesc offset, compare the rest.
	awk '/^    "wrapper": \{/ { skip = 1 } skip && /^    \},?$/ { skip = 0; next } !skip' \
		"$tmp/img.json" | tree /dev/stdin |
		grep -v -e '^        "offset": ' >"$tmp/a"
	tree "$tmp/bare.json" | grep -v -e '^        "offset": ' >"$tmp/b"
	if cmp -s "$tmp/a" "$tmp/b"; then
		ok
	else
		bad "dump $raw differs from the bare stream in it"
		diff "$tmp/a" "$tmp/b" | head -20
	fi
fi

# ---- pipes: one pass, bounded memory ----------------------------------

# A big real-looking stream on stdout: SRC with its RAM PART repeated.
# The offsets come from dump --offsets of SRC.
"$BIN" dump --offsets "$SRC" >"$tmp/src.json" || bad "dump --offsets $SRC"
part=$(awk '/"record": "part"/ { p = 1 } p && /"offset":/ { gsub(/[^0-9]/, ""); o = $0 } p && /"size":/ { gsub(/[^0-9]/, ""); print o, $0; exit }' "$tmp/src.json")
part_off=${part% *}
part_len=${part#* }
head -c "$part_off" "$SRC" >"$tmp/head"
tail -c +$((part_off + 1)) "$SRC" | head -c "$part_len" >"$tmp/part"
tail -c +$((part_off + part_len + 1)) "$SRC" >"$tmp/tail"
gen()
{
	cat "$tmp/head"
	i=0
	while [ $i -lt "$REPEAT" ]; do
		cat "$tmp/part"
		i=$((i + 1))
	done
	cat "$tmp/tail"
}
size=$(($(wc -c <"$tmp/head") + REPEAT * part_len + $(wc -c <"$tmp/tail")))
pages1=$("$BIN" info --json "$SRC" | awk '/"ram": \{/ { r = 1 } r && /"pages":/ { gsub(/[^0-9]/, ""); print; exit }')

# Peak RSS of "$@" reading the generated stream from a pipe, in KiB.
rss_pipe()
{
	gen | /usr/bin/time -f %M -o "$tmp/rss" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	cat "$tmp/rss"
	return $rc
}

for cmd in info dump; do
	if kib=$(rss_pipe "$BIN" "$cmd" -) && [ ! -s "$tmp/err" ]; then
		echo "input: $cmd - of $((size >> 20)) MiB from a pipe: peak RSS $kib KiB"
		if [ "$kib" -le "$RSS_MAX" ]; then
			ok
		else
			bad "$cmd -: peak RSS $kib KiB over $RSS_MAX KiB"
		fi
	else
		bad "$cmd - of the generated stream failed"
		cat "$tmp/err"
	fi
done
# Every byte was read, and every page counted: the RAM part N times.
if "$BIN" info - <"$tmp/head" >/dev/null 2>&1; then
	bad "the head alone should be a truncated stream"
else
	ok
fi
gen | "$BIN" info --json - >"$tmp/big.json"
pages=$(awk '/"ram": \{/ { r = 1 } r && /"pages":/ { gsub(/[^0-9]/, ""); print; exit }' "$tmp/big.json")
if grep -q "^    \"size\": $size,\$" "$tmp/big.json" &&
   [ "$pages" = $((pages1 * REPEAT)) ]; then
	ok
else
	bad "info - of the generated stream: size or pages wrong ($pages, want $((pages1 * REPEAT)))"
fi

# The same stream from a file: mapped, and its pages given back behind.
gen >"$tmp/big.mig"
/usr/bin/time -f %M -o "$tmp/rss" "$BIN" info "$tmp/big.mig" >/dev/null 2>&1
kib=$(cat "$tmp/rss")
echo "input: info of a $((size >> 20)) MiB file: peak RSS $kib KiB"
if [ "$kib" -le "$RSS_MAX" ]; then
	ok
else
	bad "info FILE: peak RSS $kib KiB over $RSS_MAX KiB"
fi
# Compressed from a pipe: the decompressor's memory is bounded too.
gzip -1 -c "$tmp/big.mig" >"$tmp/big.mig.gz"
rm -f "$tmp/big.mig"
cat "$tmp/big.mig.gz" | /usr/bin/time -f %M -o "$tmp/rss" "$BIN" info - >"$tmp/out" 2>&1
kib=$(cat "$tmp/rss")
echo "input: info - of the same, gzip-compressed, from a pipe: peak RSS $kib KiB"
if [ "$kib" -le "$RSS_MAX" ] && grep -q '^read          to the end' "$tmp/out"; then
	ok
else
	bad "info - of a gzip stream: peak RSS $kib KiB, or not read to the end"
	head -5 "$tmp/out"
fi
rm -f "$tmp/big.mig.gz"

# Exactly once: stdin as a pipe, stdin as a file, a FIFO: one tree.
"$BIN" dump "$SRC" | tree /dev/stdin >"$tmp/f.json"
cat "$SRC" | "$BIN" dump - | tree /dev/stdin >"$tmp/p.json"
"$BIN" dump - <"$SRC" | tree /dev/stdin >"$tmp/s.json"
mkfifo "$tmp/fifo"
cat "$SRC" >"$tmp/fifo" &
writer=$!
"$BIN" dump "$tmp/fifo" | tree /dev/stdin >"$tmp/q.json"
wait $writer
wrc=$?
if cmp -s "$tmp/f.json" "$tmp/p.json" && cmp -s "$tmp/f.json" "$tmp/s.json" &&
   cmp -s "$tmp/f.json" "$tmp/q.json" && [ $wrc -eq 0 ]; then
	ok
else
	bad "dump from a pipe, stdin or a FIFO differs from the file"
fi

# ---- progress ----------------------------------------------------------

# A slow producer: half the stream, a pause, the rest.
slow()
{
	head -c $((size / 2)) "$1"
	sleep 1.5
	tail -c +$((size / 2 + 1)) "$1"
}
REPEAT=40
size=$(($(wc -c <"$tmp/head") + REPEAT * part_len + $(wc -c <"$tmp/tail")))
gen >"$tmp/mid.mig"

if command -v script >/dev/null 2>&1; then
	cat >"$tmp/slow.sh" <<EOF
slow()
{
	head -c $((size / 2)) "\$1"
	sleep 1.5
	tail -c +$((size / 2 + 1)) "\$1"
}
EOF
	script -qefc "sh -c '. $tmp/slow.sh; slow $tmp/mid.mig | $BIN info - >/dev/null'" \
		"$tmp/typescript" >/dev/null 2>&1 </dev/null
	if grep -q "migstream: [0-9.]* MiB, [0-9.]* [KMG]iB/s, section 'ram'" "$tmp/typescript" &&
	   grep -q "$(printf '\r\033\\[K')" "$tmp/typescript"; then
		ok
	else
		bad "no progress line on a terminal"
		od -c "$tmp/typescript" | head -10
	fi
	script -qefc "sh -c '. $tmp/slow.sh; slow $tmp/mid.mig | $BIN info --quiet -'" \
		"$tmp/typescript2" >/dev/null 2>&1 </dev/null
	if grep -q 'section' "$tmp/typescript2"; then
		bad "a progress line despite --quiet"
	else
		ok
	fi
else
	echo "input: script(1) missing, progress on a terminal not tested"
fi
slow "$tmp/mid.mig" | "$BIN" info - >/dev/null 2>"$tmp/err"
if [ -s "$tmp/err" ]; then
	bad "a progress line on a stderr that is no terminal"
	od -c "$tmp/err" | head -5
else
	ok
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
