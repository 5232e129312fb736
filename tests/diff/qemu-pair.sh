#!/bin/sh
# tests/diff/qemu-pair.sh [BUILD_DIR [MIB [DIR]]] - a pair of multi-GiB
# streams written by the real QEMU on this machine (qemu-system-x86_64,
# TCG, paused with -S): guest RAM of MIB + 1024 MiB (default 2048 + 1024,
# at most 2560 + 1024 so that it stays below the PCI hole), MIB of random
# data loaded from 0x10000000 on with -device loader, once as is (A) and
# once with three known pieces changed (B):
#
#   file offset 0           1 byte      -> page 0x10000000
#   file offset 0x100800    4096 bytes  -> pages 0x10100000, 0x10101000
#   file offset 0x40000000  64 KiB      -> 0x50000000-0x5000ffff (16 pages)
#
# Checks that `migstream diff --section ram` reports exactly those ranges
# in pc.ram and nothing else in RAM, then times diff against
# `cat A B > /dev/null`.  Not part of `make check`: it needs QEMU, about
# 3 * MIB of disk in DIR (default $TMPDIR or /tmp), and a few minutes.
set -u
O=${1:-build}
MIB=${2:-2048}
DIR=${3:-${TMPDIR:-/tmp}}
QEMU=${QEMU:-qemu-system-x86_64}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BIN=$top/$O/migstream
[ -x "$BIN" ] || { echo "qemu-pair: $BIN is not built" >&2; exit 2; }
command -v "$QEMU" >/dev/null || { echo "qemu-pair: no $QEMU" >&2; exit 2; }
command -v python3 >/dev/null || { echo "qemu-pair: no python3" >&2; exit 2; }
d=$(mktemp -d "$DIR/diff-qemu.XXXXXX") || exit 2
trap 'rm -rf "$d"' EXIT
trap 'exit 2' HUP INT TERM

echo "making $MIB MiB of random data ..."
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$d/a.bin" || exit 2
cp "$d/a.bin" "$d/b.bin"
patch()	# OFFSET BYTES: invert every bit of those bytes of B
{
	python3 - "$d/b.bin" "$1" "$2" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(int(sys.argv[3]))
    f.seek(int(sys.argv[2]))
    f.write(bytes(x ^ 0xff for x in b))
EOF
}
patch 0 1
patch $((0x100800)) 4096
patch $((0x40000000)) 65536
# QEMU's loader reads a file in one read(2), which stops short of 2 GiB:
# one loader device per GiB.
(cd "$d" && split -b 1G -d a.bin a.part. && split -b 1G -d b.bin b.part. &&
	rm a.bin b.bin) || exit 2

# Migrates a paused guest holding the parts $1.* from 0x10000000 on to $2.
record()
{
	python3 - "$QEMU" "$1" "$2" "$((MIB + 1024))" <<'EOF'
import glob, json, os, socket, subprocess, sys, tempfile, time
qemu, prefix, out, mem = sys.argv[1:5]
sock = os.path.join(tempfile.mkdtemp(), "qmp")
loaders = []
for k, part in enumerate(sorted(glob.glob(prefix + ".*"))):
    loaders += ["-device", "loader,file=%s,addr=0x%x" %
                (part, 0x10000000 + k * (1 << 30))]
p = subprocess.Popen([qemu, "-machine", "pc-i440fx-5.2", "-accel", "tcg",
                      "-m", mem + "M", "-nodefaults", "-no-user-config",
                      "-display", "none", "-S"] + loaders +
                     ["-qmp", "unix:%s,server=on,wait=off" % sock])
for _ in range(600):
    if os.path.exists(sock):
        break
    time.sleep(0.1)
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
f = s.makefile("rw")
def cmd(c, **a):
    f.write(json.dumps({"execute": c, "arguments": a} if a
                       else {"execute": c}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
f.readline()
cmd("qmp_capabilities")
cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
cmd("migrate", uri="exec:cat > " + out)
while True:
    st = cmd("query-migrate")["return"].get("status")
    if st in ("completed", "failed", "cancelled"):
        break
    time.sleep(0.5)
cmd("quit")
p.wait()
sys.exit(0 if st == "completed" else 1)
EOF
}
echo "recording A and B with $QEMU ..."
record "$d/a.part" "$d/a.mig" || { echo "qemu-pair: migration A failed"; exit 1; }
record "$d/b.part" "$d/b.mig" || { echo "qemu-pair: migration B failed"; exit 1; }
ls -l "$d/a.mig" "$d/b.mig"

cat > "$d/expected" <<'EOF'
ram pc.ram: 19 of PAGES pages differ in 3 ranges
  0x10000000-0x10000fff  1 page
  0x10100000-0x10101fff  2 pages
  0x50000000-0x5000ffff  16 pages
EOF
sed -i "s/PAGES/$(( (MIB + 1024) * 256 ))/" "$d/expected"
"$BIN" diff --section ram "$d/a.mig" "$d/b.mig" > "$d/out"
if grep -E '^ram |^  0x' "$d/out" | cmp -s - "$d/expected"; then
	echo "RAM: exactly the changed ranges, nothing else"
else
	echo "RAM: NOT as expected:"
	grep -E '^ram |^  0x' "$d/out" | diff "$d/expected" -
	exit 1
fi
"$BIN" diff --stat "$d/a.mig" "$d/b.mig"

secs()
{
	/usr/bin/time -f %e -o "$d/t" "$@" > /dev/null 2>&1
	tail -n 1 "$d/t"
}
cat "$d/a.mig" "$d/b.mig" > /dev/null
for i in 1 2 3; do
	echo "cat $(secs sh -c "cat '$d/a.mig' '$d/b.mig'") s," \
	     "diff $(secs "$BIN" diff "$d/a.mig" "$d/b.mig") s"
done
/usr/bin/time -f "peak RSS of diff: %M KiB" "$BIN" diff "$d/a.mig" "$d/b.mig" \
	> /dev/null
