#!/bin/sh
# mkmanifest.sh - regenerate testdata/streams/MANIFEST from the stream sidecars.
#
# Usage: tools/mkmanifest.sh           write testdata/streams/MANIFEST
#        tools/mkmanifest.sh --check   regenerate into a temporary file and
#                                      fail if it differs from MANIFEST
#        tools/mkmanifest.sh --stdout  print the manifest instead of writing it
#
# Needs only POSIX sh, awk, od, sort, gzip -dc and sha256sum (GNU coreutils);
# no python. The sidecar JSON is read with a small awk scanner that relies on
# the layout the corpus tool wrote: one "key": value pair per line, nesting
# shown by indentation (json.dump with indent=1). A sidecar rewritten in
# another layout (for example on a single line) would not be read correctly;
# the script then stops on a missing field rather than guessing.
#
# One line per stream, tab separated, sorted by path:
#   path  sha256  size  has_vmdesc  vmdesc_offset  json_len  expect
# path          relative to testdata/streams/ (the folder of MANIFEST)
# sha256, size  of the stream itself; for a .mig.gz file, of its decompressed
#               content (the bytes QEMU wrote), as in the sidecar
# has_vmdesc    1 if a vmdesc trailer follows QEMU_VM_EOF, else 0
# vmdesc_offset offset of the 0x06 (QEMU_VM_VMDESCRIPTION) byte, or -
# json_len      length of the JSON text, which starts at vmdesc_offset + 5
#               and runs to the end of the stream, or -
# expect        complete  | the stream should be read to its last byte
#               truncated | QEMU stopped writing midway (10.0 plain-noconfig)
#               issue3    | needs a feature not implemented yet (no stream
#                           at present: mapped-ram and compress decode since
#                           issue 3); the corpus test skips such streams
#
# Besides writing the list, the script checks each stream against its
# sidecar (sha256, size) and, where there is a vmdesc, that the byte at the
# offset is 0x06, that the be32 after it equals the JSON length, and that the
# JSON ends exactly at the end of the stream. Any mismatch is fatal.

set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
sdir="$here/testdata/streams"
mode="write"
case "${1-}" in
    "") ;;
    --check) mode=check ;;
    --stdout) mode=stdout ;;
    *) echo "usage: $0 [--check|--stdout]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

die() { echo "mkmanifest: $*" >&2; exit 1; }

# Print: set version size sha256 has_vmdesc vmdesc.offset vmdesc.length
# stream_compressed, tab separated, "-" for absent or null values.
sidecar_fields() {
    awk '
    function val(s) {
        sub(/,[ \t]*$/, "", s)
        if (s ~ /^".*"$/) s = substr(s, 2, length(s) - 2)
        return s
    }
    {
        if (match($0, /^ *"[^"]*": /) == 0) next
        ind = match($0, /[^ ]/) - 1
        line = $0
        sub(/^ *"/, "", line)
        k = line; sub(/".*/, "", k)
        v = line; sub(/^[^"]*": /, "", v)
        path[ind] = k
        full = k
        for (i = ind - 1; i >= 1; i--) if (i in path) { full = path[i] "." full; break }
        if (v ~ /^[{[]/) next
        f[full] = val(v)
    }
    END {
        n = split("set version size sha256 has_vmdesc vmdesc.offset vmdesc.length stream_compressed", want, " ")
        out = ""
        for (i = 1; i <= n; i++) {
            x = (want[i] in f) ? f[want[i]] : "-"
            if (x == "null" || x == "") x = "-"
            out = out (i > 1 ? "\t" : "") x
        }
        print out
    }' "$1"
}

out="$tmp/MANIFEST"
: > "$tmp/unsorted"
found=0
for sc in "$sdir"/qemu-*/*.json; do
    [ -f "$sc" ] || continue
    found=$((found + 1))
    base=${sc%.json}
    if [ -f "$base.mig" ]; then
        mig="$base.mig"
    elif [ -f "$base.mig.gz" ]; then
        mig="$base.mig.gz"
    else
        die "no stream for sidecar ${sc#"$sdir"/}"
    fi
    rel=${mig#"$sdir"/}

    tab=$(printf '\t')
    IFS=$tab read -r set ver ssize ssha has voff vlen comp <<EOF
$(sidecar_fields "$sc")
EOF
    if [ "$ssize" = - ] || [ "$ssha" = - ] || [ "$set" = - ]; then
        die "$rel: sidecar lacks set/size/sha256"
    fi

    case "$mig" in
        *.gz) gzip -dc "$mig" > "$tmp/raw"; raw="$tmp/raw"
              [ "$comp" = gzip ] || die "$rel: .gz file but sidecar says stream_compressed=$comp" ;;
        *)    raw="$mig" ;;
    esac
    sha=$(sha256sum < "$raw" | awk '{print $1}')
    size=$(wc -c < "$raw" | tr -d ' ')
    [ "$sha" = "$ssha" ] || die "$rel: sha256 $sha, sidecar says $ssha"
    [ "$size" = "$ssize" ] || die "$rel: size $size, sidecar says $ssize"

    case "$has" in
        true)
            if [ "$voff" = - ] || [ "$vlen" = - ]; then
                die "$rel: has_vmdesc but no vmdesc offset/length"
            fi
            # od prints five decimal numbers; word splitting is wanted here.
            # shellcheck disable=SC2046
            set -- $(od -An -tu1 -j "$voff" -N 5 "$raw")
            [ $# -eq 5 ] || die "$rel: cannot read 5 bytes at vmdesc offset $voff"
            [ "$1" -eq 6 ] || die "$rel: byte at $voff is $1, not 6"
            be32=$(( ($2 << 24) | ($3 << 16) | ($4 << 8) | $5 ))
            [ "$be32" -eq "$vlen" ] || die "$rel: vmdesc length field $be32, sidecar says $vlen"
            [ $((voff + 5 + vlen)) -eq "$size" ] ||
                die "$rel: vmdesc JSON ends at $((voff + 5 + vlen)), stream size $size"
            hv=1 ;;
        false)
            [ "$voff" = - ] || die "$rel: has_vmdesc false but vmdesc offset $voff"
            hv=0; voff=-; vlen=- ;;
        *) die "$rel: has_vmdesc is '$has'" ;;
    esac

    case "$set" in
        plain-noconfig) if [ "$ver" = 10.0 ]; then expect=truncated; else expect=complete; fi ;;
        *) expect=complete ;;
    esac

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$rel" "$sha" "$size" "$hv" "$voff" "$vlen" "$expect" >> "$tmp/unsorted"
done
[ "$found" -gt 0 ] || die "no sidecars under testdata/streams/qemu-*/"

LC_ALL=C sort "$tmp/unsorted" > "$out"

case $mode in
    write)  cp "$out" "$sdir/MANIFEST"
            echo "mkmanifest: wrote $found entries to testdata/streams/MANIFEST" >&2 ;;
    stdout) cat "$out" ;;
    check)  if cmp -s "$out" "$sdir/MANIFEST"; then
                echo "mkmanifest: MANIFEST is up to date ($found entries)" >&2
            else
                diff "$sdir/MANIFEST" "$out" >&2 || true
                die "MANIFEST is stale; run tools/mkmanifest.sh"
            fi ;;
esac
