#!/bin/bash
# bench/make-stream.sh: make the multi-GiB benchmark streams with real QEMU.
#
#   bench/make-stream.sh            make $BENCH_DIR/a.mig and $BENCH_DIR/b.mig
#   FORCE=1 bench/make-stream.sh    remake them even if they are up to date
#
# Two paused (-S) TCG guests of the same configuration (pc-i440fx-7.2,
# RAM_MIB of guest RAM, fixed RTC so device state is the same in both), most
# of their RAM filled with pseudo-random data through `-device loader`, are
# migrated with QMP `migrate "exec:cat > FILE"`:
#
#   a.mig  the reference VM
#   b.mig  the same VM with a known set of pages changed (expected-diff.txt)
#
# The random data is AES-128-CTR keystream (openssl enc, fixed key, one IV
# per chunk), the RTC is fixed and the migration parameters pin QEMU to a
# single precopy iteration (see make_stream), so with the same QEMU the
# streams come out byte for byte the same on every run (checked: two runs
# under different load gave the same sha256), 4035299637 bytes each with
# the defaults and QEMU 7.2.  The streams are written to BENCH_DIR,
# outside the repository; never commit them.
#
# Environment:
#   BENCH_DIR   scratch folder (default /var/tmp/migstream-bench)
#   RAM_MIB     guest RAM in MiB, >= 4096 (default 4096)
#   QEMU        QEMU binary (default qemu-system-x86_64, Debian 12's 7.2)
#   FORCE=1     remake the streams even when the stamp says they are current
#   KEEP_CHUNKS=1  keep the random chunk files (default: deleted at the end,
#               they are regenerated identically when needed)
#   CHECKSUM=1  record sha256 of each stream in its .json (about 10 s each)
#   MIGSTREAM   used to check each stream has one precopy iteration
#               (default build/migstream; without it only a.size == b.size)
#
# Needs: qemu-system-x86_64, openssl, bash 4 (coproc), coreutils.  QMP is
# spoken over the QEMU process's stdin/stdout (-qmp stdio) with a bash
# coprocess: no socat, no python.
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/var/tmp/migstream-bench}
RAM_MIB=${RAM_MIB:-4096}
QEMU=${QEMU:-qemu-system-x86_64}
MACHINE=pc-i440fx-7.2
CHUNK_MIB=256
# AES-128 key of the generator: "migstream-bench!" in hex.
KEY=6d696773747265616d2d62656e636821

die() { echo "make-stream: $*" >&2; exit 1; }
note() { echo "make-stream: $*" >&2; }

command -v "$QEMU" >/dev/null || die "no $QEMU (apt-get install qemu-system-x86)"
command -v openssl >/dev/null || die "no openssl (apt-get install openssl)"
[ "$RAM_MIB" -ge 4096 ] 2>/dev/null || die "RAM_MIB must be >= 4096"
[ $((RAM_MIB % CHUNK_MIB)) -eq 0 ] || die "RAM_MIB must be a multiple of $CHUNK_MIB"
case "$BENCH_DIR" in *"'"*|*' '*) die "BENCH_DIR may not hold quotes or spaces";; esac

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
# Not while bench/run.sh times these streams (nor twice at once).
exec 9>"$BENCH_DIR/.lock"
if ! flock -n 9; then
	note "waiting for the bench run that holds $BENCH_DIR/.lock"
	flock 9
fi
CHUNKS=$BENCH_DIR/chunks

# --- guest physical layout ------------------------------------------------
# pc-i440fx with >= 3.5 GiB of RAM and gigabyte alignment: guest RAM below
# 4 GiB is 0..3 GiB (pc.ram offsets 0..0xc0000000), the rest is mapped at
# 4 GiB (pc.ram offset = GPA - 0x40000000).  The first 256 MiB (BIOS, low
# memory) are left to QEMU; every 256 MiB chunk above is random data.
MIB=$((1 << 20))
LOW_END=$((3 << 30))
HIGH_START=$((4 << 30))
HIGH_END=$((HIGH_START + RAM_MIB * MIB - LOW_END))
CHUNK=$((CHUNK_MIB * MIB))
chunk_addrs=()
for ((a = CHUNK; a < LOW_END; a += CHUNK)); do chunk_addrs+=("$a"); done
for ((a = HIGH_START; a < HIGH_END; a += CHUNK)); do chunk_addrs+=("$a"); done
NCHUNKS=${#chunk_addrs[@]}

# ram offset (in the stream's pc.ram block) of a guest physical address
ramoff() { if [ "$1" -ge "$HIGH_START" ]; then echo $(($1 - HIGH_START + LOW_END)); else echo "$1"; fi; }
hex() { printf '0x%x' "$1"; }

# --- the changes that make b.mig ------------------------------------------
# Each is: kind GPA LENGTH.  All are page-aligned and inside one chunk
# (or, for "fill", inside the zero area below the first chunk).
#   rand  LENGTH bytes of other random data replace the chunk's
#   poke  8 bytes ("MIGSTRM!") written at GPA (one page differs)
#   zero  LENGTH bytes of zeros (random pages become zero pages)
#   fill  an extra loader of LENGTH random bytes in the zero area
#         (zero pages become data pages); only in b
CHANGES=(
	"rand $((0x41000000)) $((16 * MIB))"
	"poke $((0x92345800)) 8"
	"zero $((HIGH_START + 0x08000000)) $((64 << 10))"
	"fill $((0x08000000)) $((64 << 10))"
)

STAMP="v4 machine=$MACHINE ram=$RAM_MIB chunk=$CHUNK_MIB key=$KEY changes=${CHANGES[*]} qemu=$("$QEMU" --version | head -1)"

if [ -z "${FORCE:-}" ] && [ -f "$BENCH_DIR/a.mig" ] && [ -f "$BENCH_DIR/b.mig" ] &&
	[ "$(cat "$BENCH_DIR/stamp" 2>/dev/null)" = "$STAMP" ]; then
	note "$BENCH_DIR/a.mig and b.mig are up to date (FORCE=1 to remake)"
	exit 0
fi

# --- resources ------------------------------------------------------------
need_disk_mib=$((3 * RAM_MIB + 1024 + 1024))
avail_disk_mib=$(df -Pm "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
[ "$avail_disk_mib" -ge "$need_disk_mib" ] ||
	die "$BENCH_DIR has $avail_disk_mib MiB free, needs about $need_disk_mib MiB (chunks + two streams)"
# QEMU keeps the loader blobs (ROMs) besides guest RAM: about 2x RAM_MIB.
avail_mem_mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
[ "$avail_mem_mib" -ge $((2 * RAM_MIB + 512)) ] ||
	note "warning: only $avail_mem_mib MiB of memory available; QEMU will use about $((2 * RAM_MIB)) MiB"

# --- random chunks ----------------------------------------------------------
# gen FILE BYTES IV: AES-128-CTR keystream, deterministic.
gen() {
	local tmp=$1.tmp
	# openssl dies of SIGPIPE when head has enough: not an error here.
	{ openssl enc -aes-128-ctr -nosalt -K "$KEY" -iv "$3" -in /dev/zero 2>/dev/null || true; } |
		head -c "$2" > "$tmp"
	[ "$(stat -c %s "$tmp")" -eq "$2" ] || die "short chunk $1"
	mv "$tmp" "$1"
}
iv() { printf '%032x' "$1"; }

mkdir -p "$CHUNKS"
note "generating $NCHUNKS chunks of $CHUNK_MIB MiB in $CHUNKS"
for ((i = 0; i < NCHUNKS; i++)); do
	f=$CHUNKS/a-$i.bin
	[ -f "$f" ] && [ "$(stat -c %s "$f")" -eq "$CHUNK" ] || gen "$f" "$CHUNK" "$(iv "$i")"
done

# b's chunks: a copy of a's where a change falls, patched.
chunk_of() { # GPA -> index of the chunk holding it, or -1
	local i
	for ((i = 0; i < NCHUNKS; i++)); do
		if [ "$1" -ge "${chunk_addrs[i]}" ] && [ "$1" -lt $((chunk_addrs[i] + CHUNK)) ]; then
			echo "$i"; return
		fi
	done
	echo -1
}
declare -A b_file
for ((i = 0; i < NCHUNKS; i++)); do b_file[$i]=$CHUNKS/a-$i.bin; done
b_extra=()
expect=()
n=0
for c in "${CHANGES[@]}"; do
	read -r kind gpa len <<<"$c"
	n=$((n + 1))
	first=$((gpa & ~4095))
	last=$(((gpa + len + 4095) & ~4095))
	expect+=("$(hex "$(ramoff "$first")") $(hex "$(ramoff "$last")") $(((last - first) / 4096)) $kind gpa=$(hex "$gpa")")
	if [ "$kind" = fill ]; then
		f=$CHUNKS/b-fill-$n.bin
		gen "$f" "$len" "$(iv $((1000 + n)))"
		b_extra+=(-device "loader,file=$f,addr=$(hex "$gpa")")
		continue
	fi
	i=$(chunk_of "$gpa")
	[ "$i" -ge 0 ] || die "change $c is outside the random chunks"
	f=$CHUNKS/b-$i.bin
	if [ "${b_file[$i]}" != "$f" ]; then
		cp "$CHUNKS/a-$i.bin" "$f"
		b_file[$i]=$f
	fi
	off=$((gpa - chunk_addrs[i]))
	case $kind in
	rand) gen "$CHUNKS/patch-$n.bin" "$len" "$(iv $((1000 + n)))"
	      dd if="$CHUNKS/patch-$n.bin" of="$f" bs=4096 seek=$((off / 4096)) conv=notrunc status=none
	      rm -f "$CHUNKS/patch-$n.bin" ;;
	poke) printf 'MIGSTRM!' | dd of="$f" bs=1 seek="$off" conv=notrunc status=none ;;
	zero) dd if=/dev/zero of="$f" bs=4096 seek=$((off / 4096)) count=$((len / 4096)) conv=notrunc status=none ;;
	*) die "unknown change kind $kind" ;;
	esac
done

# --- QEMU and QMP -----------------------------------------------------------
QMP_ID=0
qmp_send() { # JSON-without-id ... ; prints the reply line
	QMP_ID=$((QMP_ID + 1))
	local id="ms-$QMP_ID" line
	printf '%s, "id": "%s"}\n' "${1%\}}" "$id" >&"${QEMU_CO[1]}"
	while :; do
		IFS= read -r -t "${QMP_TIMEOUT:-60}" line <&"${QEMU_CO[0]}" ||
			die "no QMP reply to $1 (see $QEMU_LOG)"
		case "$line" in
		*"\"id\": \"$id\""*) printf '%s\n' "$line"; return 0 ;;
		*'"event"'*) ;; # events are not replies
		*) note "QMP: $line" ;;
		esac
	done
}
qmp() { # like qmp_send, dies on an error reply
	local r
	r=$(qmp_send "$1")
	case "$r" in *'"error"'*) die "QMP $1: $r" ;; esac
	printf '%s\n' "$r"
}

# make_stream NAME LOADER-ARGS...
make_stream() {
	local name=$1; shift
	local out=$BENCH_DIR/$name.mig tmp=$BENCH_DIR/$name.mig.tmp
	# shellcheck disable=SC2054 # the commas are QEMU's, inside one word
	local args=(-machine "$MACHINE" -accel tcg -m "$RAM_MIB" -nodefaults -no-user-config
		-display none -rtc base=2020-01-01T00:00:00,clock=vm "$@" -S)
	QEMU_LOG=$BENCH_DIR/$name.qemu.log
	rm -f "$tmp"
	note "$name: starting QEMU ($RAM_MIB MiB guest, $(( $# / 2 )) loader devices)"
	sync	# no writeback of earlier files to stall QEMU's first 100 ms
	coproc QEMU_CO { exec "$QEMU" "${args[@]}" -qmp stdio 2>"$QEMU_LOG"; }
	local pid=$QEMU_CO_PID line
	IFS= read -r -t 120 line <&"${QEMU_CO[0]}" || die "QEMU did not greet (see $QEMU_LOG)"
	case "$line" in *'"QMP"'*) ;; *) die "unexpected greeting: $line" ;; esac
	qmp '{"execute": "qmp_capabilities"}' >/dev/null
	# A stream of a fixed size: QEMU ends a precopy iteration (one RAM
	# section record) after 50 ms or when the rate limit of the current
	# 100 ms window is used up, and completes (all remaining RAM in the
	# final record, no limit) once the pending RAM is below bandwidth x
	# downtime-limit.  With a window of WIN bytes (RAM/2048, 2 MiB for
	# 4 GiB, sent in a few ms) and the largest downtime-limit (2000 s),
	# the first iteration ends on the byte limit and the first bandwidth
	# estimate, after 100 ms, already lets the migration complete: one
	# iteration record.  That holds while the window takes under ~1 s and
	# its WIN bytes under 50 ms; on a machine so loaded that they do not,
	# an extra record (18 bytes) appears, which check_stream() catches.
	# Left to time alone, the count of iterations, and with it the size,
	# varied by kilobytes from run to run.
	local win=$((RAM_MIB * MIB / 2048))
	[ "$win" -ge "$MIB" ] || win=$MIB
	qmp "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": $((win * 10)), \"downtime-limit\": 2000000}}" >/dev/null
	local t0=$SECONDS
	qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > '$tmp'\"}}" >/dev/null
	local r status
	while :; do
		r=$(qmp '{"execute": "query-migrate"}')
		status=$(sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p' <<<"$r")
		case "$status" in
		completed) break ;;
		failed|cancelled) die "$name: migration $status: $r" ;;
		esac
		[ $((SECONDS - t0)) -lt 1800 ] || die "$name: migration still $status after 30 min"
		sleep 0.5
	done
	qmp_send '{"execute": "quit"}' >/dev/null || true
	wait "$pid" || die "QEMU exited with $? (see $QEMU_LOG)"
	mv "$tmp" "$out"
	local size sha=null
	size=$(stat -c %s "$out")
	[ -n "${CHECKSUM:-}" ] && sha="\"$(sha256sum "$out" | cut -d' ' -f1)\""
	note "$name: $out, $size bytes, $((SECONDS - t0)) s"
	{
		printf '{\n "stream": "%s",\n "qemu_version": "%s",\n' "$name.mig" "$("$QEMU" --version | head -1)"
		printf ' "machine": "%s",\n "ram_mib": %d,\n "size": %d,\n "sha256": %s,\n' "$MACHINE" "$RAM_MIB" "$size" "$sha"
		printf ' "migrate": "exec:cat > %s",\n "args": [' "$name.mig"
		local sep='' a
		for a in "${args[@]}"; do printf '%s"%s"' "$sep" "${a//$CHUNKS\//chunks/}"; sep=', '; done
		printf ']\n}\n'
	} > "$BENCH_DIR/$name.json"
}

a_loaders=() b_loaders=()
for ((i = 0; i < NCHUNKS; i++)); do
	a_loaders+=(-device "loader,file=$CHUNKS/a-$i.bin,addr=$(hex "${chunk_addrs[i]}")")
	b_loaders+=(-device "loader,file=${b_file[$i]},addr=$(hex "${chunk_addrs[i]}")")
done
rm -f "$BENCH_DIR/stamp"
# RAM section records of a stream: 3 (setup, one iteration, completion)
# when QEMU did as planned.  Needs migstream; without it, the two streams
# are only checked to have the same size (b trades as many zero pages for
# data pages as the other way round, so a good pair is always equal).
MIGSTREAM=${MIGSTREAM:-$(dirname "$0")/../build/migstream}
ram_records() {
	[ -x "$MIGSTREAM" ] || { echo 3; return; }
	"$MIGSTREAM" info "$1" 2>/dev/null |
		sed -n 's/^ *[0-9]* *ram  .*RAM, \([0-9]*\) records*$/\1/p' | head -1
}
for name in a b; do
	for try in 1 2 3; do
		if [ "$name" = a ]; then
			make_stream a "${a_loaders[@]}"
		else
			make_stream b "${b_loaders[@]}" "${b_extra[@]}"
		fi
		n=$(ram_records "$BENCH_DIR/$name.mig")
		[ "$n" != 3 ] || break
		note "$name: $n RAM records instead of 3 (the machine is too busy for QEMU's first 100 ms); again ($try)"
	done
	[ "$n" = 3 ] || die "$name: could not get a stream with one precopy iteration"
done
[ "$(stat -c %s "$BENCH_DIR/a.mig")" = "$(stat -c %s "$BENCH_DIR/b.mig")" ] ||
	die "a.mig and b.mig differ in size: an extra iteration record in one of them; run again"

{
	echo "# pages of block pc.ram that differ between a.mig and b.mig"
	echo "# start end(exclusive) pages kind guest-physical-address"
	printf '%s\n' "${expect[@]}"
} > "$BENCH_DIR/expected-diff.txt"
echo "$STAMP" > "$BENCH_DIR/stamp"
[ -n "${KEEP_CHUNKS:-}" ] || rm -rf "$CHUNKS"
note "done: $BENCH_DIR/a.mig $BENCH_DIR/b.mig, expected differences in $BENCH_DIR/expected-diff.txt"
