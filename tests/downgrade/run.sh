#!/bin/sh
# tests/downgrade/run.sh BUILD_DIR - migstream downgrade on real streams
# and with the host's QEMU 7.2; the last line is "N passed, N failed".
#
#  1. Verdicts on real streams (cases.txt): rewritten, refused with the
#     blocker named, or unchanged; an unchanged output is byte-identical.
#  2. Every stream is unchanged for the QEMU version that wrote it.
#  3. Injection: a 7.2 stream given what 7.2 does not know (a subsection
#     at the top of a section, one inside another subsection, one inside
#     a struct, a SWITCHOVER_START command; and one inside virtio-net's
#     opaque virtio state) and the vmdesc to match.  The
#     real QEMU 7.2 refuses it; downgrade gives back the original stream
#     byte for byte (file and pipe), which QEMU 7.2 loads with the same
#     registers as the original.
#  4. Safety: refused or failed runs leave no output and no temporary
#     file; the input is never the output.
#  5. Live: QEMU 7.2 migrates to QEMU 7.2 listening on loopback TCP
#     through `exec:... migstream downgrade - - ...`: plain, and with the
#     injection made on the way; the destination loads it and runs on
#     after cont.
#
# Parts 3 and 5 are skipped (counted as passed, with a note) when
# qemu-system-x86_64 or timeout(1) is missing; $QEMU names another binary.
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
M=$top/$O/migstream
INJ=$top/$O/tests/downgrade/inject
T=testdata/streams
qemu=${QEMU:-qemu-system-x86_64}

passed=0
failed=0
ok()
{
	passed=$((passed + 1))
}
bad()
{
	failed=$((failed + 1))
	echo "FAIL: $*"
}
check()
{
	# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
	_d=$1
	shift
	if "$@"; then ok; else bad "$_d"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dgtest.XXXXXX") || exit 2
qmp_tmp=$tmp
. "$top/tests/downgrade/qmp.sh"
cleanup()
{
	for n in src dst; do qmp_stop "$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

# --- 1. verdicts -----------------------------------------------------------
while read -r stream target verdict what; do
	case $stream in '' | '#'*) continue ;; esac
	out=$tmp/case.mig
	rm -f "$out"
	"$M" downgrade --quiet --target "$target" "$T/$stream" -o "$out" \
		>"$tmp/case.txt" 2>&1
	rc=$?
	first=$(head -n 1 "$tmp/case.txt")
	case $verdict in
	rewritten)
		if [ $rc -eq 0 ] && [ -f "$out" ] &&
		   printf '%s\n' "$first" | grep -q 'rewritten to' &&
		   grep -q -F -- "$what" "$tmp/case.txt"; then
			ok
		else
			bad "$stream -> $target: expected rewritten ($what), rc $rc: $first"
		fi
		;;
	refused)
		if [ $rc -eq 1 ] && [ ! -e "$out" ] &&
		   printf '%s\n' "$first" | grep -q 'refused' &&
		   grep -q -E "^  $what" "$tmp/case.txt"; then
			ok
		else
			bad "$stream -> $target: expected refused by '$what', rc $rc: $first"
		fi
		;;
	unchanged)
		if [ $rc -eq 0 ] && cmp -s "$T/$stream" "$out" &&
		   printf '%s\n' "$first" | grep -q 'loads as it is'; then
			ok
		else
			bad "$stream -> $target: expected unchanged, rc $rc: $first"
		fi
		;;
	error)
		if [ $rc -eq 1 ] && [ ! -e "$out" ] &&
		   grep -q -F -- "$what" "$tmp/case.txt"; then
			ok
		else
			bad "$stream -> $target: expected an error naming '$what', rc $rc: $first"
		fi
		;;
	esac
done <tests/downgrade/cases.txt

# --- 2. every stream is unchanged for its own QEMU -------------------------
for dir in "$T"/qemu-*; do
	target=$(basename "$dir")
	for s in "$dir"/*.mig; do
		# Made with -global settings the machine type does not have.
		case $s in *noconfig* | *nofooter*) continue ;; esac
		rm -f "$tmp/same.mig"
		if "$M" downgrade --quiet --json --target "$target" "$s" \
			-o "$tmp/same.mig" >"$tmp/same.json" 2>&1 &&
		   cmp -s "$s" "$tmp/same.mig" &&
		   grep -q '"verdict": "unchanged"' "$tmp/same.json" &&
		   grep -q '"dropped": \[\]' "$tmp/same.json"; then
			ok
		else
			bad "$s -> $target: not unchanged: $(head -c 300 "$tmp/same.json")"
		fi
	done
done

# --- 3. injection, and the real QEMU 7.2 -----------------------------------
SRC=$T/qemu-7.2/v7.2_pc-q35-7.2_plain.mig
ARGS="-machine pc-q35-7.2 -accel tcg -m 32 -nodefaults -no-user-config -display none"
SPECS="sub,ps2kbd,ps2kbd/migstream-test nested,fw_cfg,fw_cfg/dma,fw_cfg/dma/migstream-test struct,pckbd,kbd,pckbd/migstream-test cmd,11"
INJECTED=$tmp/injected.mig
# shellcheck disable=SC2086
check "inject" "$INJ" "$SRC" "$INJECTED" $SPECS

# The plan: three subsections and a command, each named with its size.
"$M" downgrade --target qemu-7.2 --dry-run "$INJECTED" >"$tmp/plan.txt" 2>&1
check "dry run: exit 0" [ $? -eq 0 ]
check "dry run: writes nothing" [ ! -e "$tmp/none.mig" ]
for w in 'subsection ps2kbd{ps2kbd/migstream-test} at 0x4b043, 31 bytes' \
	 'subsection fw_cfg{fw_cfg/dma}{fw_cfg/dma/migstream-test} at 0x45eef, 35 bytes' \
	 'subsection pckbd.kbd{pckbd/migstream-test} at 0x4b1e0, 30 bytes' \
	 "command 'switchover-start' (0xb, 5 bytes)" \
	 'would be rewritten (dry run: nothing written)'; do
	check "dry run names: $w" grep -q -F -- "$w" "$tmp/plan.txt"
done
"$M" downgrade --target qemu-7.2 --json --dry-run "$INJECTED" >"$tmp/plan.json"
check "json plan: 3 dropped, refuses nothing" \
	sh -c "[ \$(grep -c '\"kind\": \"subsection\"' '$tmp/plan.json') -eq 3 ] &&
	       grep -q '\"blockers\": \[\]' '$tmp/plan.json' &&
	       grep -q '\"kind\": \"command\"' '$tmp/plan.json'"

OUT=$tmp/downgraded.mig
"$M" downgrade --quiet --target qemu-7.2 "$INJECTED" -o "$OUT" >/dev/null
check "downgrade: exit 0" [ $? -eq 0 ]
check "downgrade gives the original back, byte for byte" cmp -s "$SRC" "$OUT"
cat "$INJECTED" | "$M" downgrade --target qemu-7.2 - - >"$tmp/piped.mig" \
	2>"$tmp/piped.txt"
check "pipe: exit 0" [ $? -eq 0 ]
check "pipe: the same bytes as the file" cmp -s "$OUT" "$tmp/piped.mig"
check "pipe: the report goes to stderr" grep -q -F 'ps2kbd{ps2kbd/migstream-test}' "$tmp/piped.txt"
check "input untouched" sh -c "! cmp -s '$INJECTED' '$OUT'"

# Inside opaque state: a virtio subsection 7.2 does not know, at the end
# of virtio-net's "virtio" field (validate finds it by its header there).
VSRC=$T/qemu-7.2/v7.2_pc-q35-5.2_mix.mig
VARGS="-machine pc-q35-5.2 -accel tcg -m 32 -nodefaults -no-user-config -display none -device e1000,romfile=,mac=52:54:00:12:34:01 -device virtio-net-pci,romfile=,mac=52:54:00:12:34:02 -drive if=none,id=disk0,file=$tmp/disk0.raw,format=raw -device virtio-blk-pci,drive=disk0 -device usb-ehci,id=ehci -device usb-tablet,bus=ehci.0 -device ich9-ahci,id=ahci1 -chardev null,id=ser1 -device isa-serial,chardev=ser1,index=1"
cp testdata/files/disk0.raw "$tmp/disk0.raw"
VINJ=$tmp/virtio-injected.mig
check "inject into virtio state" "$INJ" "$VSRC" "$VINJ" \
	opaque,0000:00:02.0/virtio-net,virtio,virtio/migstream-test
"$M" downgrade --quiet --target qemu-7.2 "$VINJ" -o "$tmp/virtio-out.mig" \
	>"$tmp/virtio.txt" 2>&1
check "virtio: the subsection in the opaque field is cut" \
	grep -q -F 'subsection 0000:00:02.0/virtio-net.virtio{virtio/migstream-test} at 0x8888f, 31 bytes' "$tmp/virtio.txt"
check "virtio: the original back, byte for byte" cmp -s "$VSRC" "$tmp/virtio-out.mig"

# --- 4. safety -------------------------------------------------------------
"$M" downgrade --quiet --target qemu-7.2 "$INJECTED" -o "$INJECTED" >/dev/null 2>&1
check "input as output: exit 2" [ $? -eq 2 ]
echo keep >"$tmp/existing.mig"
"$M" downgrade --quiet --target qemu-5.2 $T/qemu-7.2/v7.2_pc-q35-5.2_esp.mig \
	-o "$tmp/existing.mig" >/dev/null 2>&1
check "refused: exit 1" [ $? -eq 1 ]
check "refused: existing output untouched" grep -q keep "$tmp/existing.mig"
mkdir "$tmp/ro"
chmod 555 "$tmp/ro"
if [ "$(id -u)" != 0 ]; then
	"$M" downgrade --quiet --target qemu-7.2 "$INJECTED" -o "$tmp/ro/x.mig" >/dev/null 2>&1
	check "unwritable folder: exit 2" [ $? -eq 2 ]
fi
head -c 300000 "$INJECTED" >"$tmp/cut.mig"
"$M" downgrade --quiet --target qemu-7.2 "$tmp/cut.mig" -o "$tmp/cutout.mig" >/dev/null 2>&1
check "truncated input: exit 1, nothing written" \
	sh -c "[ $? -eq 1 ] && [ ! -e '$tmp/cutout.mig' ]"
check "no temporary file left" sh -c "! ls -a '$tmp' | grep -q '^\.'[a-z]"
"$M" downgrade --target qemu-7.2 "$INJECTED" >/dev/null 2>&1
check "no output named: exit 2" [ $? -eq 2 ]
"$M" downgrade --target qemu-7.2 --drop-section nosuch --dry-run "$INJECTED" \
	>/dev/null 2>"$tmp/nosuch.txt"
check "--drop-section of no section: exit 2, named" \
	sh -c "[ $? -eq 2 ] && grep -q nosuch '$tmp/nosuch.txt'"
"$M" downgrade --quiet --target qemu-5.2 --drop-section pciespscsi \
	$T/qemu-7.2/v7.2_pc-q35-5.2_esp.mig -o "$tmp/noesp.mig" >"$tmp/noesp.txt" 2>&1
check "--drop-section makes the esp stream loadable" \
	sh -c "[ $? -eq 0 ] && grep -q -F 'section 0000:00:01.0/pciespscsi at' '$tmp/noesp.txt'"

# --- 5. real QEMU 7.2 ------------------------------------------------------
if ! command -v "$qemu" >/dev/null 2>&1 || ! command -v timeout >/dev/null 2>&1; then
	echo "note: $qemu or timeout(1) missing: QEMU tests skipped"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi
export QEMU="$qemu"
cd testdata || exit 2
# shellcheck disable=SC2086
sh ../tests/qemu/qmp_load.sh "$INJECTED" "$tmp/regs0.txt" $ARGS >"$tmp/load0.txt" 2>&1
rc=$?
check "QEMU 7.2 refuses the injected stream (rc $rc)" [ $rc -eq 1 ]
check "QEMU 7.2 says why: the command" grep -q 'MIG_CMD 0xb unknown' "$tmp/load0.txt"
# shellcheck disable=SC2086
sh ../tests/qemu/qmp_load.sh "../$SRC" "$tmp/regs1.txt" $ARGS >/dev/null 2>&1
# shellcheck disable=SC2086
sh ../tests/qemu/qmp_load.sh "$OUT" "$tmp/regs2.txt" $ARGS >"$tmp/load2.txt" 2>&1
rc=$?
check "QEMU 7.2 loads the downgraded stream (rc $rc)" [ $rc -eq 0 ]
check "with the original's registers" cmp -s "$tmp/regs1.txt" "$tmp/regs2.txt"
# shellcheck disable=SC2086
sh ../tests/qemu/qmp_load.sh "$VINJ" "$tmp/regs3.txt" $VARGS >"$tmp/load3.txt" 2>&1
rc=$?
check "QEMU 7.2 refuses the virtio injection (rc $rc)" [ $rc -eq 1 ]
check "QEMU 7.2 says why: virtio" grep -q 'Failed to load virtio-net:virtio' "$tmp/load3.txt"
# shellcheck disable=SC2086
sh ../tests/qemu/qmp_load.sh "$tmp/virtio-out.mig" "$tmp/regs4.txt" $VARGS >"$tmp/load4.txt" 2>&1
rc=$?
check "QEMU 7.2 loads it after downgrade (rc $rc)" [ $rc -eq 0 ]
cd "$top" || exit 2

# Live: source and destination QEMU 7.2 on loopback.  The exec: command
# runs send.sh, which runs the pipeline with its output on a TCP socket.
cat >"$tmp/send.sh" <<EOF
#!/bin/sh
# QEMU's stream on stdin -> [inject] -> migstream downgrade -> TCP
port=\$1
mode=\$2
if [ "\$mode" = inject ]; then
	cat >"$tmp/live-src.mig"
	"$INJ" "$tmp/live-src.mig" "$tmp/live-inj.mig" $SPECS || exit 1
	exec <"$tmp/live-inj.mig"
fi
exec bash -c '"\$0" downgrade --target qemu-7.2 - - 2>"$tmp/live-\$1.txt" >/dev/tcp/127.0.0.1/\$1' "$M" "\$port"
EOF
live()
{
	mode=$1
	try=0
	while :; do
		port=$(qmp_port $try)
		# shellcheck disable=SC2086
		qmp_start dst 5 "$qemu" $ARGS -S -incoming "tcp:127.0.0.1:$port" && break
		qmp_stop dst
		try=$((try + 1))
		if [ $try -ge 5 ]; then
			bad "live $mode: destination does not start: $(cat "$tmp/dst.err")"
			return
		fi
	done
	# shellcheck disable=SC2086
	if ! qmp_start src 4 "$qemu" $ARGS -S; then
		bad "live $mode: source does not start: $(cat "$tmp/src.err")"
		qmp_stop dst
		return
	fi
	qmp_send src "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:sh $tmp/send.sh $port $mode\"}}"
	st=$(qmp_migration src 300)
	check "live $mode: source completes ($st)" [ "$st" = completed ]
	st=$(qmp_migration dst 300)
	check "live $mode: destination loads it ($st; $(tail -n 2 "$tmp/dst.err" | tr '\n' ' '))" [ "$st" = completed ]
	qmp_send dst '{"execute": "cont"}'
	sleep 1
	st=$(qmp_status dst)
	check "live $mode: the guest runs on after cont ($st)" [ "$st" = running ]
	if [ "$mode" = inject ]; then
		check "live inject: the pipe dropped the injected state" \
			grep -q -F 'ps2kbd{ps2kbd/migstream-test}' "$tmp/live-$port.txt"
	fi
	qmp_stop src
	qmp_stop dst
}
live plain
live inject

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
