#!/bin/sh
# tests/fuzz/seeds.sh BUILD_DIR OUTDIR - the seed corpora of the harnesses.
#
#   OUTDIR/stream/    testdata/bad/*.mig (every broken variant, all small
#                     or compact), testdata/libvirt/*.save (wrapped
#                     inputs), the reproducers in testdata/bad/found/, and
#                     compact and mini versions of the real streams below
#                     (BUILD_DIR/tests/fuzz/mkseeds says how they are cut)
#   OUTDIR/rewrite/   the same as stream/
#   OUTDIR/vmdesc/    device entries of the real streams with their payloads
#   OUTDIR/encode/    lossless documents of the mini streams
#   OUTDIR/diff/      pairs of mini streams, and each with itself
#   OUTDIR/schema/    small closed subsets of schemas/*/x86_64.json, and
#                     tests/schema/bad/*.json
#   OUTDIR/cond/      the distinct expressions of those schemas
#   OUTDIR/validate/  the compact and mini streams
#
# The real streams are one of each kind in testdata/: the three QEMU
# versions, i440fx and q35, no configuration, no footers, no vmdesc,
# postcopy, return path, switchover, compressed and XBZRLE pages,
# migrated while running.  The output depends only on testdata/.
set -eu
O=${1:-build}
OUT=${2:-$O/fuzz-seeds}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

S=testdata/streams
STREAMS="
	$S/qemu-7.2/v7.2_pc-q35-7.2_plain.mig
	$S/qemu-7.2/v7.2_pc-i440fx-5.2_mix.mig
	$S/qemu-7.2/v7.2_pc-i440fx-5.2_plain-noconfig.mig
	$S/qemu-7.2/v7.2_pc-i440fx-5.2_mix-running-compress.mig
	$S/qemu-7.2/v7.2_pc-i440fx-5.2_rom-kbd-queue.mig
	$S/qemu-5.2/v5.2_pc-i440fx-5.2_plain-nofooter.mig
	$S/qemu-5.2/v5.2_pc-i440fx-5.2_plain-novmdesc.mig
	$S/qemu-5.2/v5.2_pc-q35-5.2_heavy.mig
	$S/qemu-10.0/v10.0_pc-q35-10.0_mix.mig
	$S/qemu-10.0/v10.0_pc-q35-5.2_plain-postcopy.mig
	$S/qemu-10.0/v10.0_pc-q35-5.2_plain-returnpath.mig
	$S/qemu-10.0/v10.0_pc-q35-5.2_kvm-running.mig
	$S/qemu-10.0/v10.0_pc-i440fx-5.2_heavy.mig
	tests/ram/data/v7.2_pc-i440fx-5.2_xbzrle.mig.gz
"
MKSEEDS=$O/tests/fuzz/mkseeds
if [ ! -x "$MKSEEDS" ]; then
	echo "seeds.sh: $MKSEEDS is not built" >&2
	exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT/stream" "$OUT/rewrite" "$OUT/vmdesc" "$OUT/encode" "$OUT/diff" \
	"$OUT/schema" "$OUT/cond" "$OUT/validate"
have=
for f in $STREAMS schemas/*/x86_64.json; do
	[ -f "$f" ] && have="$have $f"
done
# $have is a list of paths without blanks: split it on purpose.
# shellcheck disable=SC2086
"$MKSEEDS" "$OUT" $have
cp testdata/bad/*.mig "$OUT/stream/"
for f in testdata/libvirt/*.save; do
	[ -f "$f" ] && cp "$f" "$OUT/stream/"
done
if [ -d testdata/bad/found ]; then
	for f in testdata/bad/found/*; do
		[ -f "$f" ] || continue
		case ${f##*/} in
		# Inputs that are slow by design (a cap reached from a few
		# bytes) would slow a fuzzer down; run.sh still replays them.
		MANIFEST | *-amplified.*) ;;
		stream-* | rewrite-*) cp "$f" "$OUT/stream/" ;;
		vmdesc-*) cp "$f" "$OUT/vmdesc/" ;;
		encode-*) cp "$f" "$OUT/encode/" ;;
		diff-*) cp "$f" "$OUT/diff/" ;;
		schema-*) cp "$f" "$OUT/schema/" ;;
		cond-*) cp "$f" "$OUT/cond/" ;;
		validate-*) cp "$f" "$OUT/validate/" ;;
		esac
	done
fi
for f in tests/schema/bad/*.json; do
	[ -f "$f" ] && cp "$f" "$OUT/schema/"
done
cp "$OUT"/stream/* "$OUT/rewrite/"
# validate reads streams as stream/ does, minus the broken variants.
cp "$OUT"/stream/*-mini.mig "$OUT"/stream/*-compact.mig "$OUT/validate/" \
	2>/dev/null
for d in stream rewrite vmdesc encode diff schema cond validate; do
	printf '%-8s %4d files, %7d KiB\n' "$d" "$(ls "$OUT/$d" | wc -l)" \
		"$(du -sk "$OUT/$d" | cut -f1)"
done
