# tests/downgrade/qmp.sh - sourced: run QEMU processes and talk QMP to them,
# for the downgrade tests that migrate between two live QEMUs.
#
# Each process has a NAME and a file descriptor of its own (3 to 9): its
# QMP input is a fifo held open on that descriptor, its output a regular
# file that is grepped.  Every wait is bounded: QEMU runs under timeout(1)
# and every poll gives up after a fixed number of tries of 0.1 s.
#
#   qmp_start NAME FD BINARY ARG...   start BINARY ARG... -qmp stdio
#   qmp_send NAME JSON                send one command
#   qmp_wait NAME ERE TRIES           until the output matches ERE
#   qmp_status NAME                   query-status, prints the status
#   qmp_migration NAME TRIES          query-migrate until completed or
#                                     failed; prints the last status
#   qmp_alive NAME                    is the process still there
#   qmp_stop NAME                     quit, then kill what is left
#
# The caller sets $qmp_tmp (a scratch folder) and $qmp_limit (seconds a
# process may live, default 60).

qmp_limit=${qmp_limit:-60}
# QEMU may die while we write to it: that is a result, not a reason to die.
trap '' PIPE

qmp_start()
{
	_n=$1
	_fd=$2
	shift 2
	rm -f "$qmp_tmp/$_n.in"
	mkfifo "$qmp_tmp/$_n.in" || return 2
	: >"$qmp_tmp/$_n.out"
	timeout -k 5 "$qmp_limit" "$@" -qmp stdio <"$qmp_tmp/$_n.in" \
		>"$qmp_tmp/$_n.out" 2>"$qmp_tmp/$_n.err" &
	eval "qmp_pid_$_n=$!"
	eval "qmp_fd_$_n=$_fd"
	# Opening the fifo waits for QEMU to open it for reading.
	eval "exec $_fd>\"\$qmp_tmp/\$_n.in\""
	qmp_wait "$_n" '"QMP"' 100 || return 1
	qmp_send "$_n" '{"execute": "qmp_capabilities"}'
	qmp_wait "$_n" '"return": \{\}' 100
}

qmp_send()
{
	eval "_fd=\$qmp_fd_$1"
	eval "printf '%s\n' \"\$2\" >&$_fd" 2>/dev/null
}

# Alive: there, and not a zombie nobody waited for yet.
qmp_alive()
{
	eval "_p=\${qmp_pid_$1:-}"
	[ -n "$_p" ] && kill -0 "$_p" 2>/dev/null &&
		! grep -q '^[0-9]* ([^)]*) Z' "/proc/$_p/stat" 2>/dev/null
}

qmp_wait()
{
	_i=0
	while [ "$_i" -lt "$3" ]; do
		grep -q -E "$2" "$qmp_tmp/$1.out" && return 0
		qmp_alive "$1" || { grep -q -E "$2" "$qmp_tmp/$1.out"; return; }
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

qmp_status()
{
	: >"$qmp_tmp/$1.out"
	qmp_send "$1" '{"execute": "query-status"}'
	qmp_wait "$1" '"status": "' 50 || return 1
	sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p' "$qmp_tmp/$1.out" | tail -n 1
}

qmp_migration()
{
	_i=0
	_st=
	while [ "$_i" -lt "$2" ]; do
		qmp_alive "$1" || { echo died; return 1; }
		: >"$qmp_tmp/$1.out"
		qmp_send "$1" '{"execute": "query-migrate"}'
		qmp_wait "$1" '"return"' 20
		_st=$(sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p' "$qmp_tmp/$1.out" | tail -n 1)
		case $_st in
		completed) echo completed; return 0 ;;
		failed | cancelled) echo "$_st"; return 1 ;;
		esac
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "${_st:-none}"
	return 1
}

qmp_stop()
{
	eval "_p=\${qmp_pid_$1:-}"
	eval "_fd=\${qmp_fd_$1:-}"
	[ -n "$_p" ] || return 0
	qmp_send "$1" '{"execute": "quit"}'
	_i=0
	while qmp_alive "$1" && [ "$_i" -lt 30 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	[ -n "$_fd" ] && eval "exec $_fd>&-"
	eval "qmp_pid_$1="
}

# A TCP port on loopback that nothing listens on (a guess; the caller
# retries when QEMU cannot bind it).
qmp_port()
{
	echo $((20000 + ($$ * 7 + ${1:-0} * 131) % 30000))
}
