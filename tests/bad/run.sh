#!/bin/sh
# tests/bad/run.sh BUILD_DIR - the broken streams of testdata/bad/.
#
#   1. Regenerates them with BUILD_DIR/tests/genbad into a temporary
#      directory and checks that testdata/bad/ is byte for byte the same,
#      so the committed files cannot drift from their generator
#      (testdata/bad/found/ holds fuzzer finds instead: tests/fuzz/run.sh).
#   2. For every line of testdata/bad/MANIFEST, runs
#      `migstream info --quiet FILE` and checks the exit status, that
#      standard output is empty and that standard error is exactly one line
#      "FILE: offset 0xHEX: ..." with the expected offset and a message that
#      contains the expected text and says no part twice in a row
#      ("configuration: configuration: ..."); nothing at all for a valid
#      variant.
#   3. Runs `migstream dump` and `dump --format analyze` on every file: the
#      exit status must be 0, 1 or 2 (no crash), and with 0 or 1 standard
#      output must be valid JSON (checked with python3 when it exists).
#
# Prints one line per failure and, last, "N passed, N failed".  Exit 0 only
# when nothing failed.
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

BIN=$O/migstream
GEN=$O/tests/genbad
DIR=testdata/bad
MAIN_SRC=testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig
NOVMDESC_SRC=testdata/streams/qemu-7.2/v7.2_pc-i440fx-5.2_plain-novmdesc.mig

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/migstream-bad.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

have_python=false
command -v python3 >/dev/null 2>&1 && have_python=true

# 1. The committed files are what the generator writes.
if [ ! -x "$GEN" ]; then
	fail "regenerate: $GEN is not built (make $GEN)"
elif ! "$GEN" "$MAIN_SRC" "$NOVMDESC_SRC" "$tmp/bad" 2>"$tmp/gen.err"; then
	fail "regenerate: $GEN failed: $(head -n 1 "$tmp/gen.err")"
elif ! diff -r -x found "$DIR" "$tmp/bad" >"$tmp/gen.diff" 2>&1; then
	fail "regenerate: $DIR differs from what $GEN writes"
	echo "    to regenerate: rm -rf $DIR &&"
	echo "        $GEN $MAIN_SRC $NOVMDESC_SRC $DIR"
	sed -n '1,20s/^/    /p' "$tmp/gen.diff"
else
	pass
fi

if [ ! -x "$BIN" ]; then
	fail "$BIN is not built"
	echo "$passed passed, $failed failed"
	exit 1
fi
if [ ! -f "$DIR/MANIFEST" ]; then
	fail "$DIR/MANIFEST is missing"
	echo "$passed passed, $failed failed"
	exit 1
fi

tab=$(printf '\t')
while IFS=$tab read -r name rc off msg; do
	case $name in
	'#'* | '') continue ;;
	esac
	f=$DIR/$name
	if [ ! -f "$f" ]; then
		fail "$name: listed in the MANIFEST but missing"
		continue
	fi

	# 2. info --quiet: exit status, offset and message.
	"$BIN" info --quiet "$f" >"$tmp/out" 2>"$tmp/err"
	got=$?
	why=
	nl=$(wc -l <"$tmp/err")
	line=$(head -n 1 "$tmp/err")
	if [ "$got" -ne "$rc" ]; then
		why="exit $got, expected $rc"
	elif [ -s "$tmp/out" ]; then
		why="--quiet printed on standard output"
	elif [ "$rc" -eq 0 ]; then
		[ -s "$tmp/err" ] && why="unexpected message"
	elif [ "$nl" -ne 1 ] || [ "$(tail -c 1 "$tmp/err" | wc -l)" -ne 1 ]; then
		why="standard error is not exactly one line"
	else
		case $line in
		"$f: offset 0x"*': '*)
			goff=${line#"$f: offset "}
			goff=${goff%%:*}
			if [ "$goff" != "$off" ]; then
				why="offset $goff, expected $off"
			else
				case $line in
				*"$msg"*) ;;
				*) why="message lacks '$msg'" ;;
				esac
			fi
			# "a: a: msg": a path or message part said twice.
			if [ -z "$why" ] && ! printf '%s\n' "$line" |
			    awk -F': ' '{ for (i = 2; i < NF; i++)
					    if ($i == $(i + 1)) exit 1 }'; then
				why="a part of the message is repeated"
			fi
			;;
		*)
			why="not of the form '$f: offset 0xHEX: ...'"
			;;
		esac
	fi
	if [ -n "$why" ]; then
		fail "info $name: $why"
		[ -s "$tmp/err" ] && sed -n '1,3s/^/    /p' "$tmp/err"
	else
		pass
	fi

	# 3. dump in both formats: no crash, JSON when it prints a document.
	for fmt in tree analyze; do
		"$BIN" dump --format "$fmt" "$f" >"$tmp/out" 2>"$tmp/err"
		got=$?
		why=
		case $got in
		0 | 1)
			if $have_python &&
			    ! python3 -c 'import json,sys; json.load(sys.stdin)' \
				    <"$tmp/out" >/dev/null 2>&1; then
				why="exit $got with output that is not JSON"
			fi
			;;
		2) ;;
		*) why="exit $got (crash?)" ;;
		esac
		if [ -n "$why" ]; then
			fail "dump --format $fmt $name: $why"
			sed -n '1,3s/^/    /p' "$tmp/err"
		else
			pass
		fi
	done
done <"$DIR/MANIFEST"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
