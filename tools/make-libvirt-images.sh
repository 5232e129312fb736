#!/bin/sh
# Makes real libvirt save images for testdata/libvirt/: a tiny TCG domain
# (32 MiB, no disks, pc-i440fx-5.2, the host's qemu-system-x86_64) is
# started paused and saved with `virsh save` once per save_image_format
# that this libvirt supports (raw, gzip, bzip2, xz, lzop, zstd), with
# libvirtd restarted between formats.  Writes the images and a README with
# their provenance (package versions, the domain XML) to OUTDIR.
#
# Run as root on Debian 12.  Installs libvirt-daemon-system, libvirt-clients
# and the compression programs libvirt runs when they are missing, starts
# virtlogd and libvirtd itself (no systemd needed), and puts
# /etc/libvirt/qemu.conf back as it was when it is done.
#
# Usage: sh tools/make-libvirt-images.sh [OUTDIR]    (default testdata/libvirt)
set -eu

out=${1:-testdata/libvirt}
name=migstream-tiny
uuid=6d1f4c2a-3b5e-4f70-9a81-2c3d4e5f6a7b
formats='raw gzip bzip2 xz lzop zstd'
conf=/etc/libvirt/qemu.conf

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: run as root (it installs packages and starts libvirtd)" >&2
	exit 2
fi

pkgs='libvirt-daemon-system libvirt-clients qemu-system-x86 gzip bzip2 xz-utils lzop zstd'
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' ok installed$' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "$0: installing$missing" >&2
	apt-get update </dev/null || true
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends $missing </dev/null
fi

emulator=$(command -v qemu-system-x86_64)
work=$(mktemp -d "${TMPDIR:-/tmp}/libvirt-images.XXXXXX")
cp "$conf" "$work/qemu.conf.orig"

libvirtd_pid()
{
	cat /run/libvirtd.pid 2>/dev/null || true
}

stop_libvirtd()
{
	pid=$(libvirtd_pid)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
}

start_libvirtd()
{
	/usr/sbin/libvirtd -d
	for _ in $(seq 100); do
		virsh -c qemu:///system version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "$0: libvirtd did not come up" >&2
	return 1
}

cleanup()
{
	virsh -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
	virsh -c qemu:///system undefine "$name" >/dev/null 2>&1 || true
	stop_libvirtd
	# A virtlogd this script started goes too.
	if [ -n "$virtlogd_pid" ]; then
		kill "$virtlogd_pid" 2>/dev/null || true
	fi
	cp "$work/qemu.conf.orig" "$conf"
	rm -rf "$work"
}
virtlogd_pid=
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

# virtlogd collects QEMU's output; start it once if it is not running.
virtlogd_pid=
if ! pgrep -x virtlogd >/dev/null; then
	/usr/sbin/virtlogd -d
	sleep 0.2
	virtlogd_pid=$(cat /run/virtlogd.pid 2>/dev/null || true)
fi

# Container-friendly settings: no security driver, no cgroups and no
# private /dev (none of which change the saved state), and the format.
write_conf()
{
	cp "$work/qemu.conf.orig" "$conf"
	cat >>"$conf" <<EOF

# added by migstream's tools/make-libvirt-images.sh (restored afterwards)
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
save_image_format = "$1"
EOF
}

cat >"$work/domain.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-5.2'>hvm</type>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$emulator</emulator>
    <controller type='usb' model='none'/>
    <video>
      <model type='none'/>
    </video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF

mkdir -p "$out"
made=
skipped=
for fmt in $formats; do
	stop_libvirtd
	write_conf "$fmt"
	start_libvirtd
	virsh -c qemu:///system undefine "$name" >/dev/null 2>&1 || true
	virsh -c qemu:///system define "$work/domain.xml" >/dev/null
	virsh -c qemu:///system start --paused "$name" >/dev/null
	rm -f "$work/$fmt.save"
	if virsh -c qemu:///system save "$name" "$work/$fmt.save" \
		>"$work/$fmt.log" 2>&1; then
		cp "$work/$fmt.save" "$out/tiny-$fmt.save"
		chmod 644 "$out/tiny-$fmt.save"
		made="$made $fmt"
	else
		echo "$0: format $fmt: $(tr '\n' ' ' <"$work/$fmt.log")" >&2
		skipped="$skipped $fmt"
		virsh -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
	fi
	virsh -c qemu:///system undefine "$name" >/dev/null 2>&1 || true
done

libvirt_version=$(dpkg-query -W -f='${Version}' libvirt-daemon)
qemu_version=$(dpkg-query -W -f='${Version}' qemu-system-x86)
{
	cat <<EOF
# Real libvirt save images

Made by \`tools/make-libvirt-images.sh\` (run as root) on
$(date -u +%Y-%m-%d) with Debian $(cat /etc/debian_version):

- libvirt $libvirt_version (\`libvirt-daemon-system\`, QEMU driver,
  libvirtd started by the script, no systemd)
- QEMU $qemu_version (\`$emulator\`, TCG)
- images made:$made
- formats this libvirt refused:${skipped:- none}

Each image comes from a fresh start of the same persistent domain,
\`virsh start --paused\` then \`virsh save\`, with \`save_image_format\` in
\`/etc/libvirt/qemu.conf\` set to the format in the file name and libvirtd
restarted.  The guest never ran a single instruction, so its RAM is the
same in every image; device state can differ in what depends on the time
it was saved.  tests/unit/test_input.c checks that every image decodes to
the tree of the bare stream cut out of the raw image: exactly for the raw
image itself, and for the others with the same records, fields, RAM page
counts and offsets, only the values of the RTC (mc146818rtc: the time of
the save) differing.  tests/input/run.sh checks what \`migstream info\`
and \`dump\` print for them.

The layout (libvirt's src/qemu/qemu_saveimage.h): a 92-byte header
(magic "LibvirtQemudSave", then u32 words in host order: version 2,
data_len, was_running, format, cookieOffset, 14 unused), data_len bytes of
domain XML, save cookie and NUL padding, then the QEMU migration stream,
raw or compressed by the program the format names.

The domain XML given to \`virsh define\`:

\`\`\`xml
EOF
	cat "$work/domain.xml"
	echo '```'
} >"$out/README.md"
echo "made:$made${skipped:+ (refused:$skipped)} in $out"
