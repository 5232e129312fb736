#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes tests/ram/data/v7.2_pc-i440fx-5.2_xbzrle.*: a real QEMU stream
with XBZRLE records, and the ground truth of the page they change.

Not run by the tests (they use the files it made); kept to show where the
files come from and to make them again.  Needs qemu-system-x86_64 (QEMU
7.2 on Debian 12) and gzip.

The guest boots a 512-byte boot sector that loops forever incrementing
words in the page it runs from (0x7000) and in the next one.  Migration
runs with the xbzrle capability, 200 kB/s and a 1 ms downtime limit, so
it cannot converge and keeps sending the dirty code page, as an XBZRLE
delta once the page is in the cache; after 15 s the limit goes up and
the migration completes.  Then pmemsave writes guest RAM as the source
holds it: page 0x7000 of the stream's final image must equal it.  (Under
TCG, pages written only by fast-path stores in a loop that never leaves
its translation block are not always marked dirty, so other pages may
differ between the stream and the source: QEMU's behaviour, not the
stream's.)

Usage: tests/ram/gen-xbzrle.py [OUTDIR]   (default tests/ram/data)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

NAME = "v7.2_pc-i440fx-5.2_xbzrle"


def boot_sector():
    code = bytes([
        0x31, 0xC0,                          # xor ax, ax
        0x8E, 0xD8,                          # mov ds, ax
        0xFF, 0x06, 0x00, 0x7A,              # loop: inc word [0x7a00]
        0xFF, 0x06, 0x80, 0x7A,              # inc word [0x7a80]
        0x81, 0x06, 0x10, 0x7B, 0x11, 0x11,  # add word [0x7b10], 0x1111
        0xFF, 0x06, 0xFE, 0x7F,              # inc word [0x7ffe]
        0xFF, 0x06, 0x00, 0x80,              # inc word [0x8000]
    ])
    code += bytes([0xEB, (4 - (len(code) + 2)) & 0xFF])  # jmp loop
    return code + bytes(510 - len(code)) + b"\x55\xaa" + bytes(512 * 63)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/ram/data"
    tmp = tempfile.mkdtemp()
    disk = os.path.join(tmp, "boot.img")
    mig = os.path.join(tmp, NAME + ".mig")
    mem = os.path.join(tmp, "mem.bin")
    with open(disk, "wb") as f:
        f.write(boot_sector())
    args = ["qemu-system-x86_64", "-machine", "pc-i440fx-5.2", "-accel",
            "tcg", "-m", "2", "-nodefaults", "-no-user-config", "-display",
            "none", "-drive", "file=%s,format=raw,if=ide,index=0" % disk,
            "-qmp", "stdio"]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)

    def cmd(name, **a):
        m = {"execute": name}
        if a:
            m["arguments"] = a
        p.stdin.write(json.dumps(m) + "\n")
        p.stdin.flush()
        while True:
            r = json.loads(p.stdout.readline())
            if "return" in r or "error" in r:
                if "error" in r:
                    sys.exit("%s: %s" % (name, r["error"]))
                return r["return"]

    p.stdout.readline()
    cmd("qmp_capabilities")
    time.sleep(1.0)
    cmd("migrate-set-capabilities",
        capabilities=[{"capability": "xbzrle", "state": True}])
    cmd("migrate-set-parameters", **{"max-bandwidth": 200000,
                                     "downtime-limit": 1})
    cmd("migrate", uri="exec:cat > " + mig)
    start = time.time()
    raised = False
    while True:
        st = cmd("query-migrate")
        if st.get("status") in ("completed", "failed"):
            break
        if not raised and time.time() - start > 15:
            cmd("migrate-set-parameters", **{"downtime-limit": 5000})
            raised = True
        time.sleep(0.2)
    if st["status"] != "completed":
        sys.exit("migration failed")
    print(json.dumps(st.get("xbzrle-cache"), indent=1))
    cmd("pmemsave", val=0, size=2 * 1024 * 1024, filename=mem)
    cmd("quit")
    p.wait()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, NAME + ".mig.gz"), "wb") as f:
        subprocess.run(["gzip", "-9n", "-c", mig], stdout=f, check=True)
    with open(mem, "rb") as f:
        f.seek(0x7000)
        page = f.read(4096)
    with open(os.path.join(outdir, NAME + ".page7000.bin"), "wb") as f:
        f.write(page)


if __name__ == "__main__":
    main()
