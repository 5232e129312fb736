#!/bin/sh
# tests/killsafe/run.sh BUILD_DIR - the commands that write files, killed.
#
# Runs every writing command that `migstream help` lists (encode, encode
# from a side file, set, downgrade) on a real stream and kills it with
# SIGKILL after a delay chosen from a fixed sequence (KILLSAFE_N trials
# per command and case, default 8, spread over the time an undisturbed
# run takes), with and without an earlier output in place.  After each
# kill:
#
#   - the input files are unchanged;
#   - the output is absent, or the earlier output byte for byte, or the
#     complete output an undisturbed run writes;
#   - nothing else is in the output's folder: no partial file, no
#     temporary file.
#
# Part of `make check` (tests/run.sh), and `make killsafe` on its own.
# src/lib/writer.c writes an unnamed file (O_TMPFILE) in the output's
# folder and links it into place at commit, so a kill leaves nothing; on
# a file system without O_TMPFILE it falls back to a named temporary file
# that nothing can remove after SIGKILL, and this test then fails there
# (run it with TMPDIR on such a file system to see).
#
# Prints one line per failure and, last, "N passed, N failed".
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

BIN=$top/$O/migstream
N=${KILLSAFE_N:-8}
SRC=testdata/streams/qemu-7.2/v7.2_pc-i440fx-5.2_random.mig
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

if [ ! -x "$BIN" ]; then
	echo "FAIL: $BIN is not built"
	echo "0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-killsafe.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# The inputs: the stream, its lossless document inline and with a side file.
cp "$SRC" "$tmp/in.mig"
"$BIN" dump --lossless "$tmp/in.mig" >"$tmp/doc.json" || exit 2
"$BIN" dump --lossless --ram-file "$tmp/side.ram" "$tmp/in.mig" \
	>"$tmp/side.json" || exit 2
(cd "$tmp" && cksum in.mig doc.json side.json side.ram) >"$tmp/inputs.sum"
printf 'an earlier output\n' >"$tmp/prev"
help=$("$BIN" help)

# Milliseconds since an arbitrary origin (GNU date).
now_ms() { date +%s%3N; }

# trial NAME DELAY_MS PREV CMD...: CMD writes $tmp/out/out.mig.
trial()
{
	name=$1 delay=$2 prev=$3
	shift 3
	rm -rf "$tmp/out"
	mkdir "$tmp/out"
	[ "$prev" = yes ] && cp "$tmp/prev" "$tmp/out/out.mig"
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	why=
	if ! (cd "$tmp" && cksum in.mig doc.json side.json side.ram) |
	    cmp -s - "$tmp/inputs.sum"; then
		why="an input changed"
	fi
	for f in "$tmp/out"/* "$tmp/out"/.[!.]*; do
		[ -e "$f" ] || continue
		[ "${f##*/}" = out.mig ] && continue
		why="${why:+$why; }left '${f##*/}' in the output folder"
	done
	if [ -e "$tmp/out/out.mig" ] &&
	    ! cmp -s "$tmp/out/out.mig" "$tmp/expect" &&
	    ! { [ "$prev" = yes ] && cmp -s "$tmp/out/out.mig" "$tmp/prev"; }; then
		why="${why:+$why; }the output is neither complete nor the earlier one ($(wc -c <"$tmp/out/out.mig") bytes)"
	fi
	if [ -n "$why" ]; then
		fail "$name killed after $delay ms (earlier output: $prev): $why"
	else
		pass
	fi
}

# command NAME CMD...: an undisturbed run, then the killed ones.
command()
{
	name=$1
	shift
	rm -rf "$tmp/out"
	mkdir "$tmp/out"
	t0=$(now_ms)
	if ! "$@" >/dev/null 2>"$tmp/err"; then
		fail "$name: an undisturbed run fails: $(head -n 1 "$tmp/err")"
		return
	fi
	t1=$(now_ms)
	cp "$tmp/out/out.mig" "$tmp/expect"
	span=$(((t1 - t0) * 13 / 10 + 5))
	i=0
	while [ "$i" -lt "$N" ]; do
		# Delays spread over the run, in a fixed order (seed i).
		delay=$(((i * 7919 + 13) % span))
		trial "$name" "$delay" no "$@"
		trial "$name" "$delay" yes "$@"
		i=$((i + 1))
	done
}

has() { printf '%s\n' "$help" | grep -q "^  $1 "; }

if has encode; then
	command encode "$BIN" encode -o "$tmp/out/out.mig" "$tmp/doc.json"
	command "encode (side file)" "$BIN" encode -o "$tmp/out/out.mig" \
		"$tmp/side.json"
fi
if has set; then
	command set "$BIN" set --quiet -o "$tmp/out/out.mig" "$tmp/in.mig" \
		timer.cpu_ticks_offset=0x1
fi
if has downgrade; then
	command downgrade "$BIN" downgrade --quiet --target qemu-5.2 \
		-o "$tmp/out/out.mig" "$tmp/in.mig"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
