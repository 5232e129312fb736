#!/bin/bash
# bench/run.sh: time migstream on the multi-GiB streams of make-stream.sh
# against cat/cp of the same files, page cache warm, and check the targets
# of issues 3, 6 and 7.
#
#   bench/run.sh                    every group, 5 runs each
#   N=9 bench/run.sh file pipe      only the named groups, 9 runs
#
# Groups (baselines first; every command of a group runs once per round,
# interleaved with its baseline, so load changes hit both alike):
#   file     cat A > /dev/null | info A, dump A, dump --ram hash A
#   pipe     cat A | cat > /dev/null | cat A | info -, cat A | dump -
#   extract  cp A D2/ | dump --extract D A     (outputs removed + sync
#            between runs, untimed)
#   diff     cat A B > /dev/null | diff A B
#   rewrite  cp A D2/ | downgrade --target qemu-7.2 (a.mig loads in 7.2 as
#            it is, so this is downgrade's copy path: read, plan, write,
#            read back, fsync), set, encode, dump --lossless (each when the
#            command exists; outputs removed + sync between runs)
#
# Time is the median wall time (GNU time %e) over N runs; peak RSS is the
# largest ru_maxrss (GNU time %M) over the runs, of the biggest process of
# the pipeline (always migstream here).  File-backed pages of an mmap count
# in RSS, so a reader that maps the whole file and never lets go shows it.
#
# Environment:
#   BENCH_DIR   where a.mig and b.mig are (default /var/tmp/migstream-bench);
#               outputs go to $BENCH_DIR/out.XXXXXX (removed at the end);
#               runs on one BENCH_DIR take turns (flock $BENCH_DIR/.lock)
#   MIGSTREAM   the binary (default build/migstream of this checkout), or
#               "head" to build the last commit (git archive HEAD) in
#               $BENCH_DIR/src-COMMIT and time that
#   N           runs per command (default 5)
#   TIME        GNU time (default /usr/bin/time; Debian package "time")
#   MIGSTREAM_SCHEMA_PATH  schemas for downgrade (default: schemas/ of the
#               tree the binary was built from)
#
# Prints a Markdown table and writes it, with the raw times, to
# $BENCH_DIR/results-DATE.{md,tsv}.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
BENCH_DIR=${BENCH_DIR:-/var/tmp/migstream-bench}
MIGSTREAM=${MIGSTREAM:-$repo/build/migstream}
N=${N:-5}
TIME=${TIME:-/usr/bin/time}

die() { echo "run.sh: $*" >&2; exit 2; }
note() { echo "run.sh: $*" >&2; }

case "$BENCH_DIR" in *"'"*|*' '*) die "BENCH_DIR may not hold quotes or spaces";; esac
[ -f "$BENCH_DIR/a.mig" ] && [ -f "$BENCH_DIR/b.mig" ] ||
	die "no streams in $BENCH_DIR (run bench/make-stream.sh)"
# One run at a time per BENCH_DIR: concurrent runs would time each other's
# disk traffic (and share the streams); a second run waits here.
exec 9>"$BENCH_DIR/.lock"
if ! flock -n 9; then
	note "another bench run (or make-stream.sh) holds $BENCH_DIR/.lock; waiting"
	flock 9
fi

# MIGSTREAM=head: build the committed tree (git archive HEAD), apart from
# the working tree others may be editing, in $BENCH_DIR/src-COMMIT.
if [ "$MIGSTREAM" = head ]; then
	commit=$(git -C "$repo" rev-parse --short HEAD) || die "not a git checkout"
	src=$BENCH_DIR/src-$commit
	if [ ! -x "$src/build/migstream" ]; then
		rm -rf "$src" && mkdir -p "$src" &&
			git -C "$repo" archive HEAD | tar -x -C "$src" &&
			make -C "$src" -s build/migstream >&2 || die "cannot build HEAD in $src"
	fi
	MIGSTREAM=$src/build/migstream
fi
# downgrade finds its schemas here (the binary is run from a copy, so the
# lookup next to the source tree would miss them)
export MIGSTREAM_SCHEMA_PATH=${MIGSTREAM_SCHEMA_PATH:-${src:-$repo}/schemas}
[ -x "$TIME" ] && "$TIME" -f %e true >/dev/null 2>&1 ||
	die "no GNU time at $TIME (apt-get install time)"
[ -x "$MIGSTREAM" ] || die "no $MIGSTREAM (make, or set MIGSTREAM)"

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(file pipe extract diff rewrite)

# The commands run under sh -c with these in the environment; their
# outputs go to a folder of this run's own.
O=$(mktemp -d "$BENCH_DIR/out.XXXXXX") || die "cannot make a folder in $BENCH_DIR"
export O
trap 'rm -rf "$O"' EXIT
# A copy of the binary, so that a rebuild during the run changes nothing.
cp "$MIGSTREAM" "$O/migstream" || die "cannot copy $MIGSTREAM"
if [ -n "${commit:-}" ]; then
	tree="commit $commit (git archive HEAD)"
else
	tree="working tree at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)$(git -C "$repo" diff --quiet HEAD -- src include 2>/dev/null || echo " + uncommitted changes in src/")"
fi
ms_id="$MIGSTREAM, sha256 $(sha256sum "$MIGSTREAM" | cut -c1-12), built $(date -r "$MIGSTREAM" '+%Y-%m-%d %H:%M'), $tree"
export MS=$O/migstream A=$BENCH_DIR/a.mig B=$BENCH_DIR/b.mig
export D=$O/extract D2=$O/copy OUT=$O/out.mig J=$O/lossless.json R=$O/lossless.ram
mkdir -p "$O"

has_cmd() { "$MS" "$1" --help >/dev/null 2>&1; }

# guest pages in a.mig (for diff's memory bound: 16 bytes per page each)
ram_mib=$(sed -n 's/.*"ram_mib": *\([0-9]*\).*/\1/p' "$BENCH_DIR/a.json" 2>/dev/null)
ram_mib=${ram_mib:-4096}
pages=$((ram_mib * 256))
diff_rss_mib=$((32 + (2 * 16 * pages) / (1 << 20)))

# --- rows -------------------------------------------------------------------
# row NAME GROUP BASELINE RATIO RSS_MIB OKRC 'SH COMMAND' 'LABEL'
#   BASELINE "-" for a baseline row; RATIO/RSS_MIB "-" for no target.
rows=()
declare -A r_group r_base r_ratio r_rss r_ok r_cmd r_label r_prep
row() {
	rows+=("$1"); r_group[$1]=$2; r_base[$1]=$3; r_ratio[$1]=$4; r_rss[$1]=$5
	r_ok[$1]=$6; r_cmd[$1]=$7; r_label[$1]=$8; r_prep[$1]=${9:-}
}
clean='rm -rf "$D" "$D2" "$OUT" && mkdir -p "$D2" && sync'
skipped=()

row cat      file  -   -   -  0 'cat "$A" > /dev/null' 'cat A > /dev/null'
row info     file  cat 1.2 32 0 '"$MS" info "$A" > /dev/null' 'migstream info A'
row dump     file  cat 1.2 32 0 '"$MS" dump "$A" > /dev/null' 'migstream dump A'
row dumphash file  cat -   32 0 '"$MS" dump --ram hash "$A" > /dev/null' 'migstream dump --ram hash A'

row catpipe  pipe  -       -   -  0 'cat "$A" | cat > /dev/null' 'cat A | cat > /dev/null'
row infop    pipe  catpipe 1.2 32 0 'cat "$A" | "$MS" info - > /dev/null' 'cat A | migstream info -'
row dumpp    pipe  catpipe 1.2 32 0 'cat "$A" | "$MS" dump - > /dev/null' 'cat A | migstream dump -'

row cp       extract -  -  -  0 'cp "$A" "$D2/"' 'cp A D2/' "$clean"
row extract  extract cp 2  32 0 '"$MS" dump --extract "$D" "$A" > /dev/null' 'migstream dump --extract D A' "$clean"

row catab    diff  -     -   -              0   'cat "$A" "$B" > /dev/null' 'cat A B > /dev/null'
row diff     diff  catab 2.5 "$diff_rss_mib" 0,1 '"$MS" diff "$A" "$B" > /dev/null' 'migstream diff A B'

row cpw      rewrite -   -   -  0 'cp "$A" "$D2/"' 'cp A D2/' "$clean"
row cpsync   rewrite -   -   -  0 'cp "$A" "$D2/" && sync "$D2/a.mig"' 'cp A D2/ && sync D2/a.mig' "$clean"
if has_cmd downgrade; then
	row downgrade rewrite cpw 1.5 32 0 '"$MS" downgrade --quiet --target qemu-7.2 "$A" -o "$OUT" > /dev/null' 'migstream downgrade --target qemu-7.2 A -o OUT' "$clean"
else
	skipped+=("downgrade: no such command in $MIGSTREAM yet")
fi
if has_cmd set; then
	row set  rewrite cpw 1.5 32 0 '"$MS" set --quiet -o "$OUT" "$A" "cpu.env.regs[0]=0x1234" > /dev/null' 'migstream set -o OUT A cpu.env.regs[0]=0x1234' "$clean"
else
	skipped+=("set: no such command in $MIGSTREAM yet")
fi
if has_cmd encode; then
	# (its own outputs: encode's input J/R is made once per group, untimed)
	row lossless rewrite cpw -   32 0 '"$MS" dump --lossless --ram-file "$O/l2.ram" "$A" > "$O/l2.json"' 'migstream dump --lossless --ram-file R A > J' "rm -f \"\$O/l2.ram\" \"\$O/l2.json\" && $clean"
	row encode   rewrite cpw 1.5 32 0 '"$MS" encode --ram-file "$R" -o "$OUT" "$J"' 'migstream encode --ram-file R -o OUT J' "$clean"
else
	skipped+=("encode: no such command in $MIGSTREAM yet")
fi

# --- measuring --------------------------------------------------------------
declare -A times rsses rss_max fails
tf=$O/time.out

measure() { # NAME: one run
	local name=$1 rc t m
	[ -z "${r_prep[$name]}" ] || sh -c "${r_prep[$name]}"
	"$TIME" -f '%e %M' -o "$tf" sh -c "${r_cmd[$name]}"
	rc=$?
	read -r t m < <(tail -n 1 "$tf")
	case ",${r_ok[$name]}," in
	*",$rc,"*) ;;
	*) fails[$name]="exit $rc"; note "${r_label[$name]}: exit $rc" ;;
	esac
	times[$name]="${times[$name]:-} $t"
	rsses[$name]="${rsses[$name]:-} $m"
	[ "${m:-0}" -le "${rss_max[$name]:-0}" ] || rss_max[$name]=$m
}

median() { # numbers... -> median
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

loads=() checks=()
for g in "${groups[@]}"; do
	members=()
	for name in "${rows[@]}"; do [ "${r_group[$name]}" = "$g" ] && members+=("$name"); done
	[ ${#members[@]} -gt 0 ] || die "unknown group $g"
	# Warm the page cache (and, for encode, make its input once).
	cat "$A" "$B" > /dev/null
	if [ "$g" = rewrite ] && [ -n "${r_cmd[encode]:-}" ]; then
		note "rewrite: making the lossless document for encode (untimed)"
		"$MS" dump --lossless --ram-file "$R" "$A" > "$J" || note "dump --lossless failed"
	fi
	sync	# no writeback of earlier output left to slow this group
	note "$g: ${#members[@]} commands x $N runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
	loads+=("$g: $(cut -d' ' -f1 /proc/loadavg)")
	for ((i = 1; i <= N; i++)); do
		for name in "${members[@]}"; do
			measure "$name"
		done
	done
	loads[-1]+=" -> $(cut -d' ' -f1 /proc/loadavg)"
	if [ "$g" = diff ] && [ -f "$BENCH_DIR/expected-diff.txt" ]; then
		# Untimed: does diff report exactly the ranges make-stream.sh changed?
		want=$(grep -v '^#' "$BENCH_DIR/expected-diff.txt" | while read -r s0 e0 n0 _; do
			printf '0x%x-0x%x %d\n' "$((s0))" "$((e0 - 1))" "$n0"; done | sort)
		got=$("$MS" diff --color never "$A" "$B" 2>/dev/null |
			sed -n 's/^ *\(0x[0-9a-f]*\)-\(0x[0-9a-f]*\) *\([0-9]*\) pages*$/\1 \2 \3/p' |
			while read -r s0 e0 n0; do printf '0x%x-0x%x %d\n' "$((s0))" "$((e0))" "$n0"; done | sort)
		if [ -n "$want" ] && [ "$want" = "$got" ]; then
			checks+=("diff A B reports exactly the $(wc -l <<<"$want") page ranges of expected-diff.txt")
		else
			checks+=("MISMATCH: diff A B ranges [$(tr '\n' ' ' <<<"$got")] vs expected [$(tr '\n' ' ' <<<"$want")]")
		fi
	fi
	rm -rf "$D" "$D2" "$OUT" "$O/l2.json" "$O/l2.ram"
done
rm -rf "$D" "$D2" "$OUT" "$J" "$R"

# --- table ------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
md=$BENCH_DIR/results-$stamp.md
tsv=$BENCH_DIR/results-$stamp.tsv
size_a=$(stat -c %s "$A")
{
	echo "a.mig: $size_a bytes ($(awk -v s="$size_a" 'BEGIN { printf "%.2f GiB", s / 2^30 }')), $N runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load at start/end of each group: ${loads[*]}"
	echo "migstream: $ms_id ($("$MS" --version 2>/dev/null | head -1))"
	echo
	echo "| command | median s | ratio | target | peak RSS MiB | RSS target | result |"
	echo "|---|---:|---:|---:|---:|---:|---|"
} > "$md"
printf 'name\tgroup\tlabel\tbaseline\ttimes\tmedian\tratio\tpeak_rss_kib\trss_kib_per_run\n' > "$tsv"
declare -A med
all_pass=1
for g in "${groups[@]}"; do
	for name in "${rows[@]}"; do
		[ "${r_group[$name]}" = "$g" ] || continue
		# shellcheck disable=SC2086
		med[$name]=$(median ${times[$name]})
		rss_mib=$(awk -v k="${rss_max[$name]:-0}" 'BEGIN { printf "%.1f", k / 1024 }')
		base=${r_base[$name]}
		ratio=- result=baseline target=- rsst=-
		if [ "$base" != - ]; then
			ratio=$(awk -v a="${med[$name]}" -v b="${med[$base]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
			result=PASS
			if [ "${r_ratio[$name]}" != - ]; then
				target="≤ ${r_ratio[$name]}× \`${r_label[$base]}\`"
				awk -v r="$ratio" -v t="${r_ratio[$name]}" 'BEGIN { exit !(r + 0 <= t + 0) }' || result="FAIL (time)"
			else
				target="(info) vs \`${r_label[$base]}\`"
				result=info
			fi
			if [ "${r_rss[$name]}" != - ]; then
				rsst="≤ ${r_rss[$name]}"
				if awk -v m="$rss_mib" -v t="${r_rss[$name]}" 'BEGIN { exit !(m + 0 > t + 0) }'; then
					case $result in FAIL*) result="FAIL (time, RSS)" ;; *) result="FAIL (RSS)" ;; esac
				fi
			fi
		fi
		[ -z "${fails[$name]:-}" ] || result="ERROR (${fails[$name]})"
		case $result in FAIL*|ERROR*) all_pass=0 ;; esac
		# a | inside a Markdown table cell must be escaped
		echo "| \`${r_label[$name]//|/\\|}\` | ${med[$name]} | $ratio | ${target//|/\\|} | $rss_mib | $rsst | $result |" >> "$md"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$g" "${r_label[$name]}" "$base" \
			"${times[$name]# }" "${med[$name]}" "$ratio" "${rss_max[$name]:-0}" "${rsses[$name]# }" >> "$tsv"
	done
done
for c in "${checks[@]}"; do echo "- check: $c" >> "$md"; done
for s in "${skipped[@]}"; do echo "- skipped: $s" >> "$md"; done
rm -rf "$O"
cat "$md"
note "results in $md and $tsv"
[ "$all_pass" = 1 ]
