#!/bin/sh
# tests/run.sh BUILD_DIR - run every test suite and print one closing line,
# "N passed, N failed", counting each cmocka test, each CLI golden case and
# each corpus check once.  Exit 0 only when nothing failed.
set -u
O=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

passed=0
failed=0
failures=""

note_fail()
{
	failed=$((failed + $2))
	failures="$failures $1"
}

# cmocka suites: one binary per module in $O/tests/.
for t in "$O"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	passed=$((passed + ${p:-0}))
	if [ -n "$f" ] && [ "$f" -gt 0 ]; then
		note_fail "$(basename "$t")" "$f"
	elif [ "$rc" -ne 0 ]; then
		# Crashed or failed before cmocka could count.
		note_fail "$(basename "$t")" 1
	fi
done

# Shell suites print "N passed, N failed" as their last line.
run_suite()
{
	name=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	last=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	if [ -z "$p" ]; then
		note_fail "$name" 1
		return
	fi
	passed=$((passed + p))
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		note_fail "$name" "$((f > 0 ? f : 1))"
	fi
}

for s in tests/cli/run.sh tests/bad/run.sh tests/ram/run.sh tests/diff/run.sh tests/input/run.sh tests/man/run.sh tests/encode/run.sh tests/fuzz/run.sh tests/sweep/run.sh tests/validate/run.sh tests/downgrade/run.sh tests/killsafe/run.sh; do
	[ -f "$s" ] && run_suite "$s" sh "$s" "$O"
done

echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
