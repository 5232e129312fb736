#!/bin/sh
# tests/encode/run.sh BUILD_DIR - `dump --lossless`, `encode` and `set` on
# the real streams in testdata/streams:
#
#   - every stream goes through dump --lossless and encode and comes back
#     byte for byte, with page data inline and in a side file;
#   - edits: set and an edited document give the same bytes; values out
#     of range, of the wrong type and unknown paths are refused with the
#     path named, and no output file is left behind; inputs never change;
#   - real QEMU (tests/qemu/qmp_load.sh): a register changed with set is
#     what the loaded guest has; a re-encoded stream loads.  Skipped when
#     qemu-system-x86_64 is not installed.
#
# Prints one line per failure and ends with "N passed, N failed, N skipped".
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
case $O in
/*) bin=$O/migstream ;;
*) bin=$top/$O/migstream ;;
esac
if [ ! -x "$bin" ]; then
	echo "$0: $bin: not built" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/encode-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

passed=0
failed=0
skipped=0
ok()
{
	passed=$((passed + 1))
}
bad()
{
	echo "FAIL encode: $*"
	failed=$((failed + 1))
}
skip()
{
	echo "SKIP encode: $*"
	skipped=$((skipped + 1))
}

# sum FILE: a checksum to tell whether a file changed.
sum()
{
	cksum <"$1"
}

# The stream's bytes (decompressed for .mig.gz) in $tmp/orig.
original()
{
	case $1 in
	*.gz) gzip -dc "$1" >"$tmp/orig" ;;
	*) cp "$1" "$tmp/orig" ;;
	esac
}

# ---- 1. Round trip of every stream, inline and with a side file --------

for f in testdata/streams/*/*.mig testdata/streams/*/*.mig.gz; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	original "$f"
	before=$(sum "$f")
	# Inline page data.
	"$bin" dump --lossless "$f" >"$tmp/doc.json" 2>"$tmp/err"
	rc=$?
	if [ $rc -gt 1 ]; then
		bad "$b: dump --lossless exited $rc: $(cat "$tmp/err")"
	elif ! "$bin" encode "$tmp/doc.json" -o "$tmp/out.mig" 2>"$tmp/err"; then
		bad "$b: encode failed: $(cat "$tmp/err")"
	elif ! cmp -s "$tmp/orig" "$tmp/out.mig"; then
		bad "$b: inline round trip differs: $(cmp "$tmp/orig" "$tmp/out.mig" 2>&1)"
	else
		ok
	fi
	# Page data in a side file.
	"$bin" dump --lossless --ram-file "$tmp/doc.ram" "$f" >"$tmp/doc2.json" \
		2>"$tmp/err"
	rc=$?
	if [ $rc -gt 1 ]; then
		bad "$b: dump --lossless --ram-file exited $rc: $(cat "$tmp/err")"
	elif ! "$bin" encode "$tmp/doc2.json" -o "$tmp/out2.mig" 2>"$tmp/err"; then
		bad "$b: encode with a side file failed: $(cat "$tmp/err")"
	elif ! cmp -s "$tmp/orig" "$tmp/out2.mig"; then
		bad "$b: side-file round trip differs: $(cmp "$tmp/orig" "$tmp/out2.mig" 2>&1)"
	else
		ok
	fi
	[ "$(sum "$f")" = "$before" ] || bad "$b: the input changed"
	rm -f "$tmp/doc.json" "$tmp/doc2.json" "$tmp/doc.ram" "$tmp/out.mig" \
		"$tmp/out2.mig"
done

# XBZRLE pages (tests/ram/data), and every hand-made broken stream in
# testdata/bad: whatever dump --lossless could give a document for comes
# back byte for byte (a broken part as "rest").
for f in tests/ram/data/*.mig.gz; do
	[ -f "$f" ] || continue
	original "$f"
	if "$bin" dump --lossless "$f" 2>"$tmp/err" |
		"$bin" encode - -o "$tmp/out.mig" 2>>"$tmp/err" &&
		cmp -s "$tmp/orig" "$tmp/out.mig"; then
		ok
	else
		bad "$(basename "$f"): round trip: $(cat "$tmp/err")"
	fi
done
nbad=0
nfail=0
for f in testdata/bad/*; do
	[ -f "$f" ] || continue
	case $f in
	*.gz | *.xz | *.zst | *.bz2 | *.lzo | *.md | *.txt) continue ;;
	esac
	"$bin" dump --lossless "$f" >"$tmp/doc.json" 2>/dev/null
	[ -s "$tmp/doc.json" ] || continue
	nbad=$((nbad + 1))
	if ! "$bin" encode "$tmp/doc.json" -o "$tmp/out.mig" 2>"$tmp/err" ||
		! cmp -s "$f" "$tmp/out.mig"; then
		nfail=$((nfail + 1))
		echo "FAIL encode: testdata/bad/$(basename "$f"): $(cat "$tmp/err")"
	fi
done
if [ "$nfail" -eq 0 ] && [ "$nbad" -gt 0 ]; then
	ok
else
	bad "$nfail of $nbad broken streams did not round-trip"
fi

# From a pipe, and encode reading the document from standard input.
s72=testdata/streams/qemu-7.2/v7.2_pc-i440fx-7.2_plain.mig
if cat "$s72" | "$bin" dump --lossless - 2>"$tmp/err" |
	"$bin" encode - -o "$tmp/pipe.mig" 2>>"$tmp/err" &&
	cmp -s "$s72" "$tmp/pipe.mig"; then
	ok
else
	bad "pipe round trip of $s72: $(cat "$tmp/err")"
fi

# ---- 2. set --------------------------------------------------------------

before=$(sum "$s72")
mkdir "$tmp/o"
# In range: exactly the 8 bytes of the register change, at the offset said.
if "$bin" set "$s72" 'cpu.env.regs[0]=0x1234abcd' -o "$tmp/o/set.mig" \
	>"$tmp/out" 2>"$tmp/err" &&
	grep -q -F 'cpu.env.regs[0]: 0x0000000000000000 -> 0x000000001234abcd (offset 0x' "$tmp/out"; then
	off=$(sed -n 's/.*(offset 0x\([0-9a-f]*\)).*/\1/p' "$tmp/out")
	ndiff=$(cmp -l "$s72" "$tmp/o/set.mig" | wc -l)
	first=$(cmp -l "$s72" "$tmp/o/set.mig" | head -n 1 | awk '{ print $1 }')
	# cmp counts from 1; the value's last 4 bytes are the ones that change.
	if [ "$ndiff" -eq 4 ] && [ $((first - 1)) -eq $((0x$off + 4)) ]; then
		ok
	else
		bad "set changed $ndiff bytes from $first, expected 4 at 0x$off + 4"
	fi
else
	bad "set in range: $(cat "$tmp/err" "$tmp/out")"
fi

# Several at once, a signed field, a bool and a buffer-typed subsection path.
if "$bin" set --quiet "$s72" 'cpu.env.eflags=0x202' 'pckbd.kbd.mode=0x61' \
	'cpu.env.segs[1].base=0xf0000' -o "$tmp/o/set2.mig" 2>"$tmp/err" &&
	[ ! -s "$tmp/err" ]; then
	ok
else
	bad "set of three fields: $(cat "$tmp/err")"
fi

# expect_refused NAME STATUS PATTERN ARGS...: set exits STATUS, says
# PATTERN on stderr, writes no output and leaves no temporary file.
expect_refused()
{
	name=$1 want=$2 pat=$3
	shift 3
	rm -f "$tmp/o/refused.mig"
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		bad "$name: exit $rc, expected $want: $(cat "$tmp/err")"
	elif ! grep -q -F -e "$pat" "$tmp/err"; then
		bad "$name: stderr lacks '$pat': $(cat "$tmp/err")"
	elif [ -e "$tmp/o/refused.mig" ]; then
		bad "$name: an output was written"
	elif ls -A "$tmp/o" | grep -q '^\.'; then
		bad "$name: a temporary file was left: $(ls -A "$tmp/o")"
	else
		ok
	fi
}

expect_refused "set out of range" 1 \
	"cpu.env.hflags: 0x100000000 does not fit uint32 (32 bits)" \
	set "$s72" 'cpu.env.hflags=0x100000000' -o "$tmp/o/refused.mig"
expect_refused "set int out of range" 1 \
	"cpu.env.fpuc: 65536 is out of range for uint16 (0 to 65535)" \
	set "$s72" 'cpu.env.fpuc=65536' -o "$tmp/o/refused.mig"
expect_refused "set wrong type" 1 \
	"cpu.env.fpuc: 'true' is not a number for uint16" \
	set "$s72" 'cpu.env.fpuc=true' -o "$tmp/o/refused.mig"
expect_refused "set bool" 1 "'2' is not a bool (true, false, 1 or 0)" \
	set "$s72" '0000:00:01.3/piix4_pm.smb.op_done=2' -o "$tmp/o/refused.mig"
expect_refused "set unknown path" 1 \
	"cpu.env.regz[0]: at '.env.regz[0]': no field 'env.regz'" \
	set "$s72" 'cpu.env.regz[0]=1' -o "$tmp/o/refused.mig"
expect_refused "set unknown section" 1 "no device section" \
	set "$s72" 'nosuch.x=1' -o "$tmp/o/refused.mig"
expect_refused "set an array" 1 "set one element" \
	set "$s72" 'cpu.env.regs=1' -o "$tmp/o/refused.mig"
expect_refused "set an element past the end" 1 "no element 16" \
	set "$s72" 'cpu.env.regs[16]=1' -o "$tmp/o/refused.mig"
expect_refused "set a buffer of the wrong length" 1 \
	"the size cannot change" \
	set "$s72" 'mc146818rtc.cmos_data=0011' \
	-o "$tmp/o/refused.mig"
expect_refused "set without PATH=VALUE" 2 "is not PATH=VALUE" \
	set "$s72" 'cpu.env.eip' -o "$tmp/o/refused.mig"
expect_refused "set into the input" 2 "is the input" \
	set "$s72" 'cpu.env.eip=1' -o "$s72"
[ "$(sum "$s72")" = "$before" ] && ok || bad "set changed its input"

# A refused set leaves an existing output as it was.
cp "$tmp/o/set.mig" "$tmp/o/keep.mig"
keep=$(sum "$tmp/o/keep.mig")
"$bin" set "$s72" 'cpu.env.eip=0x1ffffffffffffffff' -o "$tmp/o/keep.mig" \
	2>/dev/null
[ $? -eq 1 ] && [ "$(sum "$tmp/o/keep.mig")" = "$keep" ] && ok ||
	bad "a refused set touched the existing output"

# ---- 3. encode of an edited document ------------------------------------

"$bin" dump --lossless "$s72" >"$tmp/doc.json" 2>/dev/null
# edit_value NAME OLD NEW: the "value" line after field NAME's "name".
edit_value()
{
	sed "/\"name\": \"$1\"/,/\"value\"/ s/\"value\": $2\$/\"value\": $3/" \
		"$tmp/doc.json" >"$tmp/edited.json"
	! cmp -s "$tmp/doc.json" "$tmp/edited.json"
}

# An edit in range gives exactly what set gives.
if edit_value env.eip 65520 65521 &&
	"$bin" encode "$tmp/edited.json" -o "$tmp/o/enc.mig" 2>"$tmp/err" &&
	"$bin" set --quiet "$s72" 'cpu.env.eip=65521' -o "$tmp/o/set3.mig" &&
	cmp -s "$tmp/o/enc.mig" "$tmp/o/set3.mig"; then
	ok
else
	bad "edited document and set disagree: $(cat "$tmp/err")"
fi

expect_encode_refused()
{
	name=$1 pat=$2
	rm -f "$tmp/o/refused.mig"
	"$bin" encode "$tmp/edited.json" -o "$tmp/o/refused.mig" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 1 ]; then
		bad "$name: exit $rc, expected 1: $(cat "$tmp/err")"
	elif ! grep -q -F -e "$pat" "$tmp/err"; then
		bad "$name: stderr lacks '$pat': $(cat "$tmp/err")"
	elif [ -e "$tmp/o/refused.mig" ] || ls -A "$tmp/o" | grep -q '^\.'; then
		bad "$name: an output or a temporary file was left"
	else
		ok
	fi
}

edit_value env.hflags 64 4294967296 ||
	bad "cannot edit env.hflags in the document"
expect_encode_refused "encode out of range" \
	": cpu.env.hflags: 4294967296 is out of range for uint32 (0 to 4294967295)"
edit_value env.fpuc 895 '"0x37f0"' || bad "cannot edit env.fpuc"
"$bin" encode "$tmp/edited.json" -o "$tmp/o/hex.mig" 2>"$tmp/err" && ok ||
	bad "a 0x value in range was refused: $(cat "$tmp/err")"
edit_value env.fpuc 895 '"0x10000"' || bad "cannot edit env.fpuc"
expect_encode_refused "encode hex too wide" \
	"cpu.env.fpuc: 0x10000 does not fit uint16 (16 bits)"
edit_value env.fpuc 895 '"three"' || bad "cannot edit env.fpuc"
expect_encode_refused "encode wrong type" \
	"cpu.env.fpuc: 'three' is not a number for uint16"
edit_value env.fpuc 895 'false' || bad "cannot edit env.fpuc"
expect_encode_refused "encode wrong JSON type" \
	"cpu.env.fpuc: expected an integer for uint16, found false"
sed 's/"migstream_lossless": 1/"migstream_lossless": 9/' "$tmp/doc.json" \
	>"$tmp/edited.json"
"$bin" encode "$tmp/edited.json" -o "$tmp/o/refused.mig" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "lossless document version 9" "$tmp/err" && ok ||
	bad "an unknown document version: $(cat "$tmp/err")"
printf '{"migstream_lossless": 1,' >"$tmp/edited.json"
expect_encode_refused "encode of broken JSON" "edited.json: line"
"$bin" encode "$tmp/doc.json" -o "$tmp/doc.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "is one of the inputs" "$tmp/err" && ok ||
	bad "encode over its own input: $(cat "$tmp/err")"

# The side file: found next to the document, checked by content.
mkdir "$tmp/side"
"$bin" dump --lossless --ram-file "$tmp/side/s.ram" "$s72" \
	>"$tmp/side/s.json" 2>/dev/null
(cd "$tmp" && "$bin" encode side/s.json -o o/side.mig 2>"$tmp/err") &&
	cmp -s "$s72" "$tmp/o/side.mig" && ok ||
	bad "a side file named by an absolute path: $(cat "$tmp/err")"
printf 'x' | dd of="$tmp/side/s.ram" bs=1 seek=100 conv=notrunc 2>/dev/null
"$bin" encode "$tmp/side/s.json" -o "$tmp/o/refused.mig" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "is not the one the document was made with" "$tmp/err" &&
	[ ! -e "$tmp/o/refused.mig" ] && ok ||
	bad "a changed side file: $(cat "$tmp/err")"

# ---- 4. Real QEMU --------------------------------------------------------

# The QEMU arguments of a sidecar .json ("args", one per line).
sidecar_args()
{
	sed -n '/"args": \[/,/\]/p' "$1" | sed -n 's/^ *"\(.*\)",\{0,1\}$/\1/p'
}

qemu_case()
{
	name=$1 stream=$2 sidecar=$3
	shift 3
	# shellcheck disable=SC2046
	QMP_SAVE=${QMP_SAVE:-} sh tests/qemu/qmp_load.sh "$stream" \
		"$tmp/regs" $(sidecar_args "$sidecar") >"$tmp/qout" 2>&1
	rc=$?
	case $rc in
	0) return 0 ;;
	77) skip "$name: qemu-system-x86_64 is not installed"; return 77 ;;
	*) bad "$name: qmp_load exited $rc: $(cat "$tmp/qout")"; return 1 ;;
	esac
}

# A register edited with set is what the guest has after loading, in full
# 64 bits (read back by migrating the loaded guest out again).
side=testdata/streams/qemu-7.2/v7.2_pc-i440fx-7.2_plain.json
"$bin" set --quiet "$s72" 'cpu.env.regs[0]=0x1234abcd' -o "$tmp/q.mig"
QMP_SAVE=$tmp/resaved.mig
if qemu_case "set register, load in QEMU 7.2" "$tmp/q.mig" "$side"; then
	if grep -q -E 'RAX=000000001234abcd|EAX=1234abcd' "$tmp/regs"; then
		ok
	else
		bad "loaded guest has $(grep -o -E '[RE]AX=[0-9a-f]*' "$tmp/regs"), expected RAX=000000001234abcd"
	fi
	"$bin" set "$tmp/resaved.mig" 'cpu.env.regs[0]=0' -o "$tmp/o/x.mig" \
		>"$tmp/out" 2>&1
	if grep -q -F 'cpu.env.regs[0]: 0x000000001234abcd ->' "$tmp/out"; then
		ok
	else
		bad "the guest QEMU migrated out again has: $(cat "$tmp/out")"
	fi
fi
QMP_SAVE=

# The harness sees a refusal: an "int32 equal" field set to a value the
# destination does not have makes QEMU fail the load as QEMU does.
"$bin" set --quiet "$s72" 'PCIBUS.nirq=5' -o "$tmp/neq.mig"
# shellcheck disable=SC2046
sh tests/qemu/qmp_load.sh "$tmp/neq.mig" "$tmp/regs" $(sidecar_args "$side") \
	>"$tmp/qout" 2>&1
case $? in
1) grep -q 'Failed to load PCIBUS:nirq' "$tmp/qout" && ok ||
	bad "QEMU refused PCIBUS.nirq=5 for another reason: $(cat "$tmp/qout")" ;;
77) skip "QEMU refusal: qemu-system-x86_64 is not installed" ;;
*) bad "QEMU did not refuse PCIBUS.nirq=5: $(cat "$tmp/qout")" ;;
esac

# An unedited stream that went through dump --lossless and encode loads.
q35=testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig
"$bin" dump --lossless "$q35" 2>/dev/null | "$bin" encode - -o "$tmp/rt.mig"
if qemu_case "re-encoded q35 stream loads in QEMU 7.2" "$tmp/rt.mig" \
	"${q35%.mig}.json"; then
	ok
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
