#!/bin/sh
# tests/downgrade/qemu-lab.sh ARGS... - run qemu-system-x86_64 of QEMU
# $QEMU_LAB_VERSION (5.2, 7.2 or 10.0) with ARGS, as a drop-in for the
# binary (QEMU=tests/downgrade/qemu-lab.sh for tests/qemu/qmp_load.sh).
#
# 7.2 is the host's qemu-system-x86_64 ($HOST_QEMU).  5.2 and 10.0 come
# from the Debian chroots under $LAB_ROOT (default ~/.cache/qemu-lab:
# bullseye for 5.2, trixie for 10.0), made as ../shared/lab/setup.sh makes
# them.  The chroot is not entered: in a private mount namespace its /usr
# and ld.so.cache are bind-mounted over the host's, so every host path
# (streams, /tmp, the current folder) and standard input and output pass
# through unchanged.  Needs root for that (unshare --mount).  exec all the
# way: this script's process id becomes QEMU's.
#
# Exit 127 when the version asked for is not installed (tests skip).
set -eu
LAB_ROOT=${LAB_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-lab}
ver=${QEMU_LAB_VERSION:-7.2}
case $ver in
5.2) suite=bullseye ;;
7.2) suite=bookworm ;;
10.0) suite=trixie ;;
*)
	echo "$0: unknown QEMU version '$ver' (5.2, 7.2 or 10.0)" >&2
	exit 2
	;;
esac
root=$LAB_ROOT/$suite
if [ "$ver" = 7.2 ] && [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
	exec "${HOST_QEMU:-qemu-system-x86_64}" "$@"
fi
if [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
	echo "$0: QEMU $ver is not installed in $root" >&2
	exit 127
fi
exec unshare --mount --propagation private /bin/sh -c '
	root=$1
	shift
	mount --bind "$root/etc/ld.so.cache" /etc/ld.so.cache || exit 126
	mount --bind "$root/usr" /usr || exit 126
	exec /usr/bin/qemu-system-x86_64 "$@"
' qemu-lab "$root" "$@"
