#!/bin/sh
# tests/validate/run.sh BUILD_DIR [VERSION...] - does `migstream validate`
# predict what a real QEMU does with a stream?
#
#   1. crossload: every recorded real load of testdata/crossload.json
#      (BUILD_DIR/tests/validate/crossload), with its agreement table.
#   2. the command line: exit statuses, --json, the matrix.
#   3. real QEMU: each stream below, as recorded and damaged on purpose
#      (a section's version raised, an unknown subsection appended at the
#      top and inside virtio state, a footer id changed, the stream cut
#      short, the machine name changed, an unknown RAM record flag and an
#      unknown command inserted), is checked with `validate --target
#      qemu-VERSION` and loaded into that QEMU (tests/qemu/qmp_load.sh,
#      started with the stream's own arguments as its sidecar gives them);
#      the verdicts must agree, and for a refusal QEMU's first error line
#      must be one validate says it prints.
#
# VERSIONs default to 7.2, the host's QEMU (Debian 12); `make check-matrix`
# passes 5.2 7.2 10.0, which tests/validate/qemu.sh runs from the Debian
# chroots under $LAB_ROOT.  A QEMU that is not there is skipped, and so is
# KVM without /dev/kvm.  Every QEMU run is bounded ($QEMU_TIMEOUT, 60 s).
#
# Last line: "N passed, N failed, N skipped".
set -u
O=${1:-build}
[ $# -gt 0 ] && shift
versions=${*:-7.2}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
bin=$top/$O/migstream
td=$top/testdata

passed=0
failed=0
skipped=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "skip: $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/validate.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# ------------------------------------------------------------------ 1
if [ -x "$O/tests/validate/crossload" ]; then
	"$O/tests/validate/crossload" testdata schemas >"$tmp/xl" 2>&1
	cat "$tmp/xl"
	last=$(tail -n 1 "$tmp/xl")
	p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	if [ -z "$p" ]; then
		bad "crossload did not finish"
	else
		passed=$((passed + p))
		failed=$((failed + f))
	fi
else
	bad "$O/tests/validate/crossload is not built"
fi

# ------------------------------------------------------------------ 2
s72=testdata/streams/qemu-7.2/v7.2_pc-i440fx-5.2_rom-kbd-queue.mig
expect_rc()
{
	want=$1
	shift
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok
	else
		bad "migstream $* exited $rc, expected $want: $(head -c 300 "$tmp/err")"
	fi
}
expect_rc 0 validate --target qemu-7.2 "$s72"
expect_rc 1 validate --target qemu-5.2 "$s72"
expect_rc 1 validate --target qemu-5.2 --target qemu-10.0 "$s72"
expect_rc 2 validate "$s72"
expect_rc 2 validate --target qemu-1.0 "$s72"
expect_rc 2 validate --target qemu-7.2
expect_rc 2 validate --target qemu-7.2 --global migration.foo=on "$s72"
expect_rc 2 validate --target qemu-7.2 "$tmp/no-such-file.mig"
expect_rc 1 validate --target qemu-5.2 - <"$s72"
grep -q 'unknown-subsection' "$tmp/out" && ok ||
	bad "validate of a pipe: no unknown-subsection in: $(head -c 300 "$tmp/out")"
expect_rc 1 validate --json --target qemu-5.2 --target qemu-7.2 "$s72"
if grep -q '"verdict": "refuses"' "$tmp/out" && grep -q '"verdict": "loads"' "$tmp/out" &&
	{ ! command -v python3 >/dev/null 2>&1 ||
	  python3 -c 'import json,sys; a=json.load(sys.stdin); assert len(a) == 2' <"$tmp/out"; }; then
	ok
else
	bad "validate --json with two targets: $(head -c 300 "$tmp/out")"
fi
expect_rc 1 validate --target qemu-5.2 --target qemu-7.2 --target qemu-10.0 \
	"$s72" testdata/streams/qemu-10.0/v10.0_pc-q35-10.0_plain.mig
if grep -q '^v7.2_pc-i440fx-5.2_rom-kbd-queue.mig  *refuses \[1\] unknown-subsection  *loads  *loads' "$tmp/out" &&
	grep -q 'qemu-system-x86_64: error while loading state for instance 0x0 of device .ps2kbd.' "$tmp/out"; then
	ok
else
	bad "the matrix: $(cat "$tmp/out")"
fi

# The examples of man/migstream-validate.1.
expect_rc 0 validate --target qemu-7.2 --global migration.send-section-footer=off \
	testdata/streams/qemu-5.2/v5.2_pc-i440fx-5.2_plain-nofooter.mig
expect_rc 1 validate --target qemu-7.2 \
	testdata/streams/qemu-5.2/v5.2_pc-i440fx-5.2_plain-nofooter.mig
grep -q 'footer-missing' "$tmp/out" && ok || bad "no footer-missing: $(head -c 300 "$tmp/out")"
# Every check in the table is described in the man page (the .BR lines
# of its Checks subsection).
"$bin" validate --list-checks >"$tmp/checks"
sed -n '/^\.SS Checks/,/^\.SH/p' man/migstream-validate.1 | grep '^\.BR' |
	sed 's/\\-/-/g' >"$tmp/mancheck"
n=0
for id in $(awk '{ print $1 }' "$tmp/checks"); do
	n=$((n + 1))
	grep -q -w -F -e "$id" "$tmp/mancheck" ||
		bad "check $id is not described in man/migstream-validate.1"
done
[ "$n" -gt 20 ] && ok || bad "validate --list-checks printed $n checks"
# Broken streams: an answer, never a crash.
for f in testdata/bad/*.mig; do
	[ -f "$f" ] || continue
	"$bin" validate --quiet --target qemu-7.2 "$f" >/dev/null 2>&1
	rc=$?
	[ "$rc" -le 2 ] || bad "validate $f exited $rc"
done
ok

# ------------------------------------------------------------------ 3
# Damaged streams are made by damage(1) in $tmp.
damage=$O/tests/validate/damage

# The sidecar of a stream: its QEMU arguments, machine, -global and
# -machine options, and the capabilities its destination must set.
sidecar_of() { printf '%s\n' "$top/$1" | sed 's/\.mig\(\.gz\)\{0,1\}$/.json/'; }
# A one-line "KEY": [] is empty; else the lines up to the closing "]".
sidecar_list() { sed -n "/^ \"$2\": \[\$/,/^ \]/p" "$1" | sed -n 's/^  *"\(.*\)",\{0,1\}$/\1/p'; }
sidecar_args() { sidecar_list "$1" args; }
sidecar_str() { sed -n "s/^ \"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" "$1"; }
sidecar_globals() { sidecar_list "$1" globals; }
sidecar_caps() { sed -n '/"incoming": {/,/"uri"/p' "$1" | sed -n 's/^ *"\([a-z-]*\)": true,\{0,1\}$/\1/p'; }

# qemu_case VERSION NAME STREAM SIDECAR: validate, load, compare.
qemu_case()
{
	ver=$1 name=$2 stream=$3 side=$4
	machine=$(sidecar_str "$side" machine)
	mopts=$(sidecar_str "$side" machine_opts)
	set -- --target "qemu-$ver" --machine "$machine${mopts:+,$mopts}"
	for g in $(sidecar_globals "$side"); do
		set -- "$@" --global "$g"
	done
	"$bin" validate "$@" "$stream" >"$tmp/v.out" 2>"$tmp/v.err"
	vrc=$?
	case $vrc in
	0) predicted=loads ;;
	1) predicted=refuses ;;
	*) bad "$ver $name: validate exited $vrc: $(head -c 300 "$tmp/v.err")"; return ;;
	esac
	if grep -q -- '-accel kvm\|"kvm"' "$side" && [ ! -w /dev/kvm ]; then
		skip "$ver $name: needs /dev/kvm"
		return
	fi
	case $stream in
	/*) ;;
	*) stream=$top/$stream ;;
	esac
	case $stream in
	*.gz) gzip -dc "$stream" >"$tmp/plain.mig"; stream=$tmp/plain.mig ;;
	esac
	uri=
	grep -q '"uri": "file:' "$side" && uri="file:$stream"
	# shellcheck disable=SC2046
	(cd "$td" && QEMU="$tmp/qemu-$ver" QMP_CAPS="$(sidecar_caps "$side" | tr '\n' ' ')" \
		QMP_URI="$uri" sh "$top/tests/qemu/qmp_load.sh" "$stream" "$tmp/regs" \
		$(sidecar_args "$side")) >"$tmp/q.out" 2>&1
	qrc=$?
	case $qrc in
	0) actual=loads ;;
	1) actual=refuses ;;
	77) skip "$ver $name: no QEMU $ver"; return ;;
	*)
		if grep -q 'unsupported machine type' "$tmp/q.out"; then
			actual=refuses
		elif grep -q "is not installed" "$tmp/q.out"; then
			skip "$ver $name: no QEMU $ver"
			return
		else
			bad "$ver $name: the QEMU harness failed ($qrc): $(tail -n 5 "$tmp/q.out")"
			return
		fi
		;;
	esac
	if [ "$predicted" != "$actual" ]; then
		bad "$ver $name: validate says $predicted, QEMU $ver $actual: $(grep -E '^qemu: |^qmp: ' "$tmp/q.out" | head -n 3) / $(sed -n 's/^  stops at: //p' "$tmp/v.out")"
		return
	fi
	if [ "$actual" = refuses ]; then
		# QEMU's first error line, without the program name.
		line=$(sed -n 's/^qemu: qemu-system-x86_64: //p; s/^qmp: //p' "$tmp/q.out" |
			grep -v '^warning: ' | head -n 1)
		if [ -n "$line" ] && ! grep -q -F -- "$line" "$tmp/v.out"; then
			bad "$ver $name: QEMU said '$line'; validate: $(sed -n 's/^  stops at: //p' "$tmp/v.out"): $(grep -m 3 'qemu-system-x86_64: ' "$tmp/v.out")"
			return
		fi
	fi
	echo "ok: $ver $name: $actual${line:+ ($line)}"
	line=
	ok
}

# damaged NAME BASE OP [ARG]...: damage testdata stream BASE, then qemu_case.
damaged()
{
	dname=$1 base=$2
	shift 2
	for ver in $versions; do
		if ! "$damage" "testdata/streams/$base" "$tmp/$dname.mig" "$@" 2>"$tmp/d.err"; then
			bad "damage $dname: $(cat "$tmp/d.err")"
			return
		fi
		qemu_case "$ver" "$dname" "$tmp/$dname.mig" \
			"$(sidecar_of "testdata/streams/$base")"
	done
}

for ver in $versions; do
	printf '#!/bin/sh\nexec sh "%s/tests/validate/qemu.sh" %s "$@"\n' "$top" "$ver" \
		>"$tmp/qemu-$ver"
	chmod +x "$tmp/qemu-$ver"
done

if [ ! -x "$damage" ]; then
	bad "$damage is not built"
else
	# make check loads a set that covers every kind of stream; the
	# matrix (and VALIDATE_ALL=1) loads them all.
	if [ -n "${VALIDATE_ALL:-}" ] || [ "$versions" != 7.2 ]; then
		set -- testdata/streams/qemu-*/*.mig testdata/streams/qemu-*/*.mig.gz
	else
		set --
		for n in qemu-5.2/v5.2_pc-q35-5.2_heavy qemu-5.2/v5.2_pc-i440fx-5.2_mix \
			qemu-5.2/v5.2_pc-q35-5.2_esp qemu-5.2/v5.2_pc-i440fx-5.2_plain-nofooter \
			qemu-7.2/v7.2_pc-i440fx-5.2_heavy qemu-7.2/v7.2_pc-q35-7.2_mix \
			qemu-7.2/v7.2_pc-i440fx-5.2_rom-kbd-queue qemu-7.2/v7.2_pc-q35-5.2_kvm-running \
			qemu-7.2/v7.2_pc-i440fx-5.2_plain-noconfig qemu-7.2/v7.2_pc-i440fx-5.2_mix-running-compress \
			qemu-10.0/v10.0_pc-q35-5.2_heavy qemu-10.0/v10.0_pc-q35-5.2_nicrom \
			qemu-10.0/v10.0_pc-q35-5.2_esp qemu-10.0/v10.0_pc-q35-10.0_mix \
			qemu-10.0/v10.0_pc-i440fx-5.2_plain-noconfig qemu-10.0/v10.0_pc-i440fx-5.2_plain-novmdesc \
			qemu-10.0/v10.0_pc-q35-5.2_plain-postcopy qemu-10.0/v10.0_pc-q35-5.2_plain-returnpath; do
			set -- "$@" "testdata/streams/$n.mig"
		done
		set -- "$@" testdata/streams/qemu-10.0/v10.0_pc-i440fx-5.2_plain-mappedram.mig.gz
	fi
	for ver in $versions; do
		for f in "$@"; do
			[ -f "$f" ] || continue
			qemu_case "$ver" "$(basename "$f")" "$f" "$(sidecar_of "$f")"
		done
	done
	# Bases on machine types that 5.2, 7.2 and 10.0 all have.
	p72=qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig
	m72=qemu-7.2/v7.2_pc-q35-5.2_mix.mig
	m52=qemu-5.2/v5.2_pc-q35-5.2_mix.mig
	damaged version-port92 "$p72" version port92
	damaged version-virtio-net "$m72" version 0000:00:02.0/virtio-net
	damaged subsection-port92 "$p72" subsection port92 port92/x-unknown
	damaged subsection-virtio "$m72" virtio-subsection 0000:00:02.0/virtio-net virtio/x-unknown
	damaged subsection-virtio-net "$m52" virtio-subsection 0000:00:02.0/virtio-net virtio-net-device/x-unknown
	damaged rename-port92 "$p72" rename port92 port93
	damaged footer-port92 "$p72" footer port92
	damaged truncate-cpu "$p72" truncate cpu
	damaged machine "$p72" machine pc-i440fx-5.1
	damaged machine-prefix "$p72" machine pc-i440fx
	damaged ram-flush "$p72" ram-flush
	damaged command-switchover "$p72" command 11
	damaged command-unknown "$p72" command 0x30
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
