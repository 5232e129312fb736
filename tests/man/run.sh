#!/bin/sh
# tests/man/run.sh BUILD_DIR - the man pages are clean under man --warnings,
# and --help, the man SYNOPSIS and the command table agree.
set -u
O=${1:-build}
cd "$(dirname "$0")/../.." || exit 2
passed=0
failed=0

for f in man/*.1 man/*.5; do
	[ -f "$f" ] || continue
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -l -Tutf8 "$f" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		echo "FAIL man --warnings $f:"
		printf '%s\n' "$out"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done

if sh tests/cli/help_consistency.sh "$O/migstream"; then
	passed=$((passed + 1))
else
	echo "FAIL help_consistency"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
