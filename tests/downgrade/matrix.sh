#!/bin/sh
# tests/downgrade/matrix.sh BUILD_DIR - migstream downgrade across real QEMU
# versions (make check-matrix); the last line is "N passed, N failed".
#
# Needs root and the QEMU 5.2 and 10.0 chroots under $LAB_ROOT (default
# ~/.cache/qemu-lab, made as ../shared/lab/setup.sh makes them); QEMU 7.2
# is the host's.  Without them every part is skipped with a note.
#
#  1. The 7.2 stream that QEMU 5.2 refuses for its unknown subsection
#     (testdata/crossload.json, v7.2_pc-i440fx-5.2_rom-kbd-queue) is
#     refused by the real 5.2 as it is, and loads after downgrade; the
#     guest runs on after cont.
#  2. The esp stream that 5.2 refuses for the section version loads with
#     --drop-section pciespscsi (downgrade alone refuses it: run.sh).
#  3. Live: QEMU 7.2 running the guest that leaves a PS/2 reply queued
#     migrates to QEMU 5.2 listening on loopback, through
#     `exec:migstream downgrade --target qemu-5.2 - - ...`; without the
#     downgrade the same migration fails.
#  4. Live: QEMU 10.0 (pc-q35-5.2, e1000, virtio-net, virtio-blk, EHCI,
#     AHCI, serial; running) migrates through downgrade to QEMU 5.2 and to
#     QEMU 7.2.
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
M=$top/$O/migstream
LAB=$top/tests/downgrade/qemu-lab.sh
T=$top/testdata/streams

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
	_d=$1
	shift
	if "$@"; then ok; else bad "$_d"; fi
}

have()
{
	QEMU_LAB_VERSION=$1 "$LAB" --version >/dev/null 2>&1
}
if [ "$(id -u)" != 0 ] || ! have 5.2 || ! have 10.0 ||
   ! command -v timeout >/dev/null 2>&1; then
	echo "note: needs root, timeout(1) and QEMU 5.2 and 10.0 under ${LAB_ROOT:-~/.cache/qemu-lab}: skipped"
	echo "0 passed, 0 failed"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dgmatrix.XXXXXX") || exit 2
qmp_tmp=$tmp
qmp_limit=120
. "$top/tests/downgrade/qmp.sh"
cleanup()
{
	for n in src dst; do qmp_stop "$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

# QEMU of version $1 as one command (a wrapper script in $tmp).
qemu_of()
{
	f=$tmp/qemu-$1
	printf '#!/bin/sh\nQEMU_LAB_VERSION=%s exec "%s" "$@"\n' "$1" "$LAB" >"$f"
	chmod +x "$f"
	echo "$f"
}
Q52=$(qemu_of 5.2)
Q72=$(qemu_of 7.2)
Q100=$(qemu_of 10.0)
COMMON="-accel tcg -m 32 -nodefaults -no-user-config -display none"
KBD_ARGS="-machine pc-i440fx-5.2 $COMMON -option-rom files/rom-kbd-queue.rom"
ESP_ARGS="-machine pc-q35-5.2 $COMMON -device am53c974"
MIX_ARGS="-machine pc-q35-5.2 $COMMON -device e1000,romfile=,mac=52:54:00:12:34:01 -device virtio-net-pci,romfile=,mac=52:54:00:12:34:02 -drive if=none,id=disk0,file=$tmp/disk0.raw,format=raw -device virtio-blk-pci,drive=disk0 -device usb-ehci,id=ehci -device usb-tablet,bus=ehci.0 -device ich9-ahci,id=ahci1 -chardev null,id=ser1 -device isa-serial,chardev=ser1,index=1"
cp testdata/files/disk0.raw "$tmp/disk0.raw"

# load VERSION_QEMU STREAM ARGS...: loads STREAM from a file into a
# paused QEMU, then cont; prints the migration status, then the run
# status 1 s after cont.
load()
{
	bin=$1
	stream=$2
	shift 2
	# shellcheck disable=SC2068
	if ! qmp_start dst 5 "$bin" $@ -S -incoming defer; then
		echo "nostart"
		return
	fi
	qmp_send dst "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"exec:cat $stream\"}}"
	st=$(qmp_migration dst 300)
	if [ "$st" = completed ]; then
		qmp_send dst '{"execute": "cont"}'
		sleep 1
		st="$st $(qmp_status dst)"
	fi
	echo "$st"
	qmp_stop dst
}

cd testdata || exit 2

# --- 1. rom-kbd-queue: 7.2 -> 5.2 from a file --------------------------------
KBD=$T/qemu-7.2/v7.2_pc-i440fx-5.2_rom-kbd-queue.mig
st=$(load "$Q52" "$KBD" $KBD_ARGS)
check "5.2 refuses the 7.2 rom-kbd-queue stream as it is ($st)" [ "$st" != "completed running" ]
"$M" downgrade --quiet --target qemu-5.2 "$KBD" -o "$tmp/kbd.mig" >"$tmp/kbd.txt"
check "downgrade rom-kbd-queue for 5.2" grep -q 'ps2kbd/command_reply_queue' "$tmp/kbd.txt"
st=$(load "$Q52" "$tmp/kbd.mig" $KBD_ARGS)
check "5.2 loads it after downgrade and runs on ($st; $(tail -n 2 "$tmp/dst.err" | tr '\n' ' '))" [ "$st" = "completed running" ]

# --- 2. esp: dropping the section the versions disagree on -----------------
for v in 7.2 10.0; do
	ESP=$T/qemu-$v/v${v}_pc-q35-5.2_esp.mig
	"$M" downgrade --quiet --target qemu-5.2 --drop-section pciespscsi "$ESP" \
		-o "$tmp/esp.mig" >/dev/null
	check "downgrade $v esp with --drop-section" [ $? -eq 0 ]
	st=$(load "$Q52" "$tmp/esp.mig" $ESP_ARGS)
	check "5.2 loads the $v esp stream without the am53c974 state ($st; $(tail -n 2 "$tmp/dst.err" | tr '\n' ' '))" [ "$st" = "completed running" ]
done

# --- 3, 4. live ------------------------------------------------------------
cat >"$tmp/send.sh" <<EOF
#!/bin/sh
# QEMU's stream on stdin -> [migstream downgrade --target \$2] -> TCP \$1
if [ "\$2" = none ]; then
	exec bash -c 'cat >/dev/tcp/127.0.0.1/\$0' "\$1"
fi
exec bash -c '"\$0" downgrade --target "\$2" - - 2>"$tmp/live-\$1.txt" >/dev/tcp/127.0.0.1/\$1' "$M" "\$1" "\$2"
EOF

# A QEMU of the lab runs with the chroot's /usr in place of the host's, and
# so do its exec: commands, where the host's migstream and its libraries
# are not.  Its exec: command therefore only writes the stream into a fifo
# (/tmp is shared), and the pipeline runs here, outside, reading it.
fifo_pipeline()
{
	rm -f "$tmp/live.fifo"
	mkfifo "$tmp/live.fifo" || return 1
	bash -c '"$0" downgrade --target "$2" - - <"$3" 2>"$4" >/dev/tcp/127.0.0.1/$1' \
		"$M" "$1" "$2" "$tmp/live.fifo" "$tmp/live-$1.txt" &
	fifo_pid=$!
}

# live NAME SRC_QEMU DST_QEMU TARGET SETTLE ARGS...: the source runs the
# guest for SETTLE seconds, then migrates; the destination must complete
# and run on after cont (TARGET none: no downgrade, must fail).  A source
# from the lab (not the host's 7.2) goes through fifo_pipeline.
live()
{
	name=$1
	sq=$2
	dq=$3
	target=$4
	settle=$5
	shift 5
	try=0
	while :; do
		port=$(qmp_port $try)
		# shellcheck disable=SC2068
		qmp_start dst 5 "$dq" $@ -S -incoming "tcp:127.0.0.1:$port" && break
		qmp_stop dst
		try=$((try + 1))
		if [ $try -ge 5 ]; then
			bad "live $name: destination does not start: $(cat "$tmp/dst.err")"
			return
		fi
	done
	# shellcheck disable=SC2068
	if ! qmp_start src 4 "$sq" $@; then
		bad "live $name: source does not start: $(cat "$tmp/src.err")"
		qmp_stop dst
		return
	fi
	sleep "$settle"
	fifo_pid=
	if [ "$sq" = "$Q72" ]; then
		uri="exec:sh $tmp/send.sh $port $target"
	else
		fifo_pipeline "$port" "$target"
		uri="exec:cat >$tmp/live.fifo"
	fi
	qmp_send src "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"$uri\"}}"
	sst=$(qmp_migration src 600)
	dst=$(qmp_migration dst 300)
	if [ "$target" = none ]; then
		check "live $name: fails without downgrade ($dst)" [ "$dst" != completed ]
	else
		check "live $name: source completes ($sst)" [ "$sst" = completed ]
		check "live $name: destination loads it ($dst; $(tail -n 2 "$tmp/dst.err" | tr '\n' ' '))" [ "$dst" = completed ]
		qmp_send dst '{"execute": "cont"}'
		sleep 1
		st=$(qmp_status dst)
		check "live $name: the guest runs on after cont ($st)" [ "$st" = running ]
	fi
	[ -n "$fifo_pid" ] && wait "$fifo_pid"
	cp "$tmp/live-$port.txt" "$tmp/live-$name.txt" 2>/dev/null
	qmp_stop src
	qmp_stop dst
}

live kbd-7.2-to-5.2-raw "$Q72" "$Q52" none 1 $KBD_ARGS
live kbd-7.2-to-5.2 "$Q72" "$Q52" qemu-5.2 1 $KBD_ARGS
check "live kbd: the pipe dropped ps2kbd/command_reply_queue" \
	grep -q 'ps2kbd{ps2kbd/command_reply_queue}' "$tmp/live-kbd-7.2-to-5.2.txt"
live mix-10.0-to-5.2 "$Q100" "$Q52" qemu-5.2 1 $MIX_ARGS
live mix-10.0-to-7.2 "$Q100" "$Q72" qemu-7.2 1 $MIX_ARGS

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
