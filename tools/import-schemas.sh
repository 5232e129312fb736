#!/bin/sh
# tools/import-schemas.sh [VERSION...] - regenerate schemas/qemu-X.Y/x86_64.json
#
# For each QEMU version (default: 5.2 7.2 10.0) this runs the real Debian
# binary through the lab wrapper (../shared/lab/qemu.sh: 5.2 and 10.0 from
# their chroots, 7.2 from the host) for its -dump-vmstate output and its
# -machine help list, and feeds them with the vmdescs of the corpus streams
# of that version (testdata/streams/qemu-X.Y/*.mig) and the hand-written
# facts in schemas/curation.json to `migstream schema import`.  The result
# is deterministic: running it again on the same inputs changes nothing.
# schemas/README says where every input came from.
#
# Needs a built migstream (make) and, for the lab's chroots, root.
# Environment: QEMU_LAB (default ../shared/lab/qemu.sh next to the
# repository), MIGSTREAM (default build/migstream).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
lab=${QEMU_LAB:-$top/../shared/lab/qemu.sh}
bin=${MIGSTREAM:-build/migstream}
[ $# -gt 0 ] || set -- 5.2 7.2 10.0
if [ ! -x "$bin" ]; then
	echo "$0: $bin not found (run make first)" >&2
	exit 2
fi
if [ ! -x "$lab" ]; then
	echo "$0: $lab not found (set QEMU_LAB)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for v in "$@"; do
	dump=$tmp/qemu-$v.dump-vmstate.json
	machines=$tmp/qemu-$v.machine-help.txt
	# The dump does not depend on the machine type; any one will do.
	if ! "$lab" "$v" -machine pc-q35-5.2 -nodefaults -display none \
		-dump-vmstate "$dump" 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		exit 1
	fi
	"$lab" "$v" -machine help >"$machines"
	qv=$("$lab" "$v" --version | sed -n '1s/^QEMU emulator version //p')
	set --
	for s in testdata/streams/qemu-$v/*.mig; do
		set -- "$@" --stream "$s"
	done
	mkdir -p "schemas/qemu-$v"
	"$bin" schema import --dump-vmstate "$dump" --machine-help "$machines" \
		"$@" --curation schemas/curation.json --name "qemu-$v" \
		--qemu "$v" --qemu-version "$qv" --target x86_64 --basenames \
		--notes -o "schemas/qemu-$v/x86_64.json"
	echo "schemas/qemu-$v/x86_64.json: QEMU $qv"
done
