#!/bin/sh
# tests/validate/qemu.sh VERSION ARGS... - run qemu-system-x86_64 of QEMU
# VERSION (5.2, 7.2 or 10.0) with ARGS.
#
# 7.2 is the host's (Debian 12) binary unless $LAB_ROOT has a bookworm
# chroot.  5.2 and 10.0 come from Debian chroots under $LAB_ROOT (default
# ~/.cache/qemu-lab: bullseye for 5.2, trixie for 10.0), made with
# debootstrap and the distribution's qemu-system-x86 package.  The chroot's
# binary is not run with chroot(2): in a private mount namespace its /usr
# (binary, libraries, firmware, ROMs) is bind-mounted over the host's, so
# every host path (streams, disk images, the current directory) and the
# standard streams (-qmp stdio) work unchanged.  That needs root.  exec is
# used all the way, so this script's process id becomes QEMU's.
#
# Exit status 127 when the version is not installed.
set -eu
lab=${LAB_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-lab}
if [ $# -lt 1 ]; then
	echo "usage: $0 5.2|7.2|10.0 [ARG]..." >&2
	exit 2
fi
ver=$1
shift
case $ver in
5.2) suite=bullseye ;;
7.2) suite=bookworm ;;
10.0) suite=trixie ;;
*)
	echo "$0: unknown QEMU version '$ver' (5.2, 7.2 or 10.0)" >&2
	exit 2
	;;
esac
root=$lab/$suite
if [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
	if [ "$ver" = 7.2 ] && command -v qemu-system-x86_64 >/dev/null 2>&1; then
		exec qemu-system-x86_64 "$@"
	fi
	echo "$0: QEMU $ver is not installed in $root" >&2
	exit 127
fi
exec unshare --mount --propagation private /bin/sh -c '
	root=$1
	shift
	mount --bind "$root/etc/ld.so.cache" /etc/ld.so.cache || exit 126
	mount --bind "$root/usr" /usr || exit 126
	exec /usr/bin/qemu-system-x86_64 "$@"
' qemu-validate "$root" "$@"
