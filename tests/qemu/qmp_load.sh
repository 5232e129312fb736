#!/bin/sh
# tests/qemu/qmp_load.sh - load a migration stream into a real QEMU and
# print what `info registers` says about the loaded guest.  (A guest in
# long mode shows RAX=...; one in real or protected mode, as a paused
# guest at reset is, shows EAX=... with 8 hex digits.)
#
# Usage: sh tests/qemu/qmp_load.sh STREAM REGS_OUT QEMU_ARG...
#
# Starts qemu-system-x86_64 QEMU_ARG... -S -incoming defer -qmp stdio,
# talks QMP to it through a pair of files (a fifo for its standard input,
# a regular file for its output): qmp_capabilities, then migrate-incoming
# with "exec:cat STREAM", then query-migrate until the migration is
# completed or failed, then human-monitor-command "info registers", whose
# answer goes to REGS_OUT, then (with $QMP_SAVE set to a file name)
# migrate "exec:cat > $QMP_SAVE", then quit.  Every wait is bounded: QEMU runs
# under timeout(1), and each poll gives up after a fixed number of tries.
#
# Exit status: 0 the stream loaded (REGS_OUT written), 1 QEMU refused it
# (its error output is printed), 2 the harness failed (timeout, QEMU
# died), 77 qemu-system-x86_64 or timeout(1) is not installed (skip).
# $QEMU overrides the binary; $QEMU_TIMEOUT (seconds, default 60) the
# bound on the whole run; $QMP_CAPS and $QMP_URI are described below.

set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 STREAM REGS_OUT QEMU_ARG..." >&2
	exit 2
fi
stream=$1
regs=$2
shift 2
qemu=${QEMU:-qemu-system-x86_64}
limit=${QEMU_TIMEOUT:-60}

command -v "$qemu" >/dev/null 2>&1 || exit 77
command -v timeout >/dev/null 2>&1 || exit 77
if [ ! -r "$stream" ]; then
	echo "$0: $stream: cannot read" >&2
	exit 2
fi
case $stream in
/*) ;;
*) stream=$(pwd)/$stream ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qmp_load.XXXXXX") || exit 2
qpid=
cleanup()
{
	exec 3>&- 2>/dev/null
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	[ -n "${QMP_KEEP:-}" ] && cp "$tmp/out" "$QMP_KEEP"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
# QEMU may die while we write to it: report that, do not die of SIGPIPE.
trap '' PIPE

mkfifo "$tmp/in" || exit 2
: >"$tmp/out"
timeout -k 5 "$limit" "$qemu" "$@" -S -incoming defer -qmp stdio \
	<"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
qpid=$!
# Opening the fifo for writing waits for QEMU to open it for reading.
exec 3>"$tmp/in"

send()
{
	printf '%s\n' "$1" >&3 2>/dev/null
}

alive()
{
	kill -0 "$qpid" 2>/dev/null
}

# wait_for PATTERN TRIES: until the output matches PATTERN (grep -E),
# polling every 0.1 s at most TRIES times.  1 when it never did.
wait_for()
{
	n=0
	while [ "$n" -lt "$2" ]; do
		grep -q -E "$1" "$tmp/out" && return 0
		alive || { grep -q -E "$1" "$tmp/out"; return; }
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

fail()
{
	echo "qmp_load: $1" >&2
	[ -s "$tmp/err" ] && sed 's/^/qemu: /' "$tmp/err" >&2
	exit "${2:-2}"
}

wait_for '"QMP"' 100 || fail "no QMP greeting from $qemu"
send '{"execute": "qmp_capabilities"}'
wait_for '"return": \{\}' 100 || fail "qmp_capabilities got no answer"
# Capabilities the stream needs ($QMP_CAPS, names separated by spaces) are
# set first; a QEMU that refuses one refuses the stream (exit 1).
if [ -n "${QMP_CAPS:-}" ]; then
	caps=
	for c in $QMP_CAPS; do
		caps="${caps:+$caps, }{\"capability\": \"$c\", \"state\": true}"
	done
	: >"$tmp/out"
	send "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": [$caps]}}"
	wait_for '"return": \{\}|"error"' 100 ||
		fail "migrate-set-capabilities got no answer"
	if grep -q '"error"' "$tmp/out"; then
		echo "qmp: migrate-set-capabilities: $(sed -n 's/.*"desc": "\([^"]*\)".*/\1/p' "$tmp/out" | head -n 1)" >&2
		exit 1
	fi
fi
# $QMP_URI replaces "exec:cat STREAM" (e.g. file: for mapped-ram).
uri=${QMP_URI:-"exec:cat $stream"}
send "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"$uri\"}}"

# query-migrate until completed or failed (at most 30 s).
n=0
status=
while [ "$n" -lt 300 ]; do
	if ! alive; then
		status=died
		break
	fi
	send '{"execute": "query-migrate"}'
	sleep 0.1
	if grep -q -E '"status": "completed"' "$tmp/out"; then
		status=completed
		break
	fi
	if grep -q -E '"status": "failed"' "$tmp/out"; then
		status=failed
		break
	fi
	n=$((n + 1))
done
case $status in
completed) ;;
failed | died) fail "QEMU did not load $stream (migration $status)" 1 ;;
*) fail "the incoming migration did not finish in 30 s" ;;
esac

send '{"execute": "human-monitor-command", "arguments": {"command-line": "info registers"}}'
# Long mode prints RAX=, real and protected mode EAX=.
wait_for '[RE]AX=' 100 || fail "no answer to info registers"
grep -o -E '"return": "[^"]*[RE]AX=[^"]*"' "$tmp/out" >"$regs" ||
	fail "cannot find the register dump in the QMP output"

# Optionally migrate the loaded guest out again, to read back what QEMU
# took in at full width (info registers shows 32 bits outside long mode).
if [ -n "${QMP_SAVE:-}" ]; then
	case $QMP_SAVE in
	/*) save=$QMP_SAVE ;;
	*) save=$(pwd)/$QMP_SAVE ;;
	esac
	: >"$tmp/out"
	send "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $save\"}}"
	n=0
	status=
	while [ "$n" -lt 300 ] && alive; do
		send '{"execute": "query-migrate"}'
		sleep 0.1
		if grep -q -E '"status": "completed"' "$tmp/out"; then
			status=completed
			break
		fi
		grep -q -E '"status": "failed"' "$tmp/out" && break
		n=$((n + 1))
	done
	[ "$status" = completed ] || fail "migrating the loaded guest out to $save did not complete"
fi
send '{"execute": "quit"}'
n=0
while alive && [ "$n" -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
exit 0
