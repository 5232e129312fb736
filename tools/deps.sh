#!/bin/sh
# Checks that the Debian packages migstream's build and tests need are
# installed.  All present: prints nothing, exits 0.  Some missing: as root,
# installs them with apt-get and exits with its status; otherwise prints the
# apt-get line to run and exits 1, so that make stops.
#
# Usage: sh tools/deps.sh

# One package per line; what follows '#' says why it is needed.
PACKAGES='
	build-essential	# gcc, make and the C library headers (gcc + make also do)
	pkg-config	# the Makefile asks it for the jansson and cmocka flags
	libjansson-dev	# JSON: vmdesc parsing and every JSON output
	libcmocka-dev	# the unit tests in tests/unit
	zlib1g-dev	# COMPRESS_PAGE records and gzip-compressed streams
	libxxhash-dev	# per-page digests (dump --ram hash, diff)
	liblzma-dev	# xz-compressed streams and libvirt save images
	libzstd-dev	# zstd-compressed streams and libvirt save images
	libbz2-dev	# bzip2-compressed streams and libvirt save images
	liblzo2-dev	# lzop-compressed streams and libvirt save images
	lzop		# tests: makes the lzop inputs the reader must decode
	xz-utils	# tests: makes xz inputs
	zstd		# tests: makes zstd inputs
	bzip2		# tests: makes bzip2 inputs
	time		# tests: /usr/bin/time -f %M measures peak memory (pipes)
	bsdutils	# tests: script(1) gives the progress test a terminal
	gzip		# the corpus test unpacks analyze outputs with gzip -dc
	qemu-system-x86	# QEMU 7.2 on Debian 12: tests that load real streams
	man-db		# man --warnings: lints the pages in man/
	groff-base	# the troff that man uses to format them
	clang		# make fuzz: the libFuzzer harnesses in tests/fuzz/
	libclang-rt-14-dev	# libFuzzer and the clang sanitizer runtimes
	valgrind	# make valgrind: memcheck over the corpus and harnesses
'

# True when Debian package $1 is installed ("install ok installed", or
# "hold ok installed" for a held one).
installed()
{
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	case $status in
	*" ok installed") return 0 ;;
	esac
	return 1
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "migstream: dpkg-query not found: not a Debian system, not" \
	     "checking packages" >&2
	exit 0
fi

missing=
for pkg in $(printf '%s\n' "$PACKAGES" | sed 's/#.*//'); do
	installed "$pkg" && continue
	# A compiler and make are enough without the whole metapackage.
	if [ "$pkg" = build-essential ] && installed gcc && installed make; then
		continue
	fi
	missing="${missing:+$missing }$pkg"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "migstream: installing Debian packages: $missing" >&2
	if ! apt-get update </dev/null; then
		echo "migstream: apt-get update failed; trying the install" \
		     "with the package lists at hand" >&2
	fi
	# $missing is a list of package names: split it on purpose.
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends $missing </dev/null
	exit $?
fi

echo "migstream: missing Debian packages: $missing" >&2
echo "  sudo apt-get install -y $missing" >&2
exit 1
