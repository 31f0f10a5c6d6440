#!/bin/bash
# Runs one fuzz target of the prebuilt test binaries of `make fuzz-bin` on a
# machine without Go: dist/fuzz holds PKG.test (PKG the package path with /
# as _), each package's folder with its testdata/fuzz seeds, and this
# script. The binary runs inside the package's folder, where Go's fuzzing
# looks for the seeds and writes a failing input.
#
#   fuzz-run.sh PKG:TARGET [FUZZTIME [WORKERS]]
#   fuzz-run.sh all [FUZZTIME [WORKERS]]
#
# FUZZTIME is a count of executions (10000000x, the default) or a duration
# (20s); WORKERS defaults to the number of CPUs. Targets are listed in the
# file `targets` beside the script. The cache of interesting inputs is
# FUZZCACHE (default: cache/ beside the script); MINIMIZETIME bounds the
# minimizing of each new input (default 10s; Go's is 60s, during which that
# worker counts no executions). Each run's whole output goes to
# logs/PKG.TARGET.log; the script prints its last execs line, the mean and
# the highest 3-second rate, and exits non-zero if a target failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FUZZTIME=${2:-10000000x}
WORKERS=${3:-$(nproc)}
CACHE=${FUZZCACHE:-$HERE/cache}
MINIMIZE=${MINIMIZETIME:-10s}

usage() {
	echo "usage: $(basename "$0") PKG:TARGET|all [FUZZTIME [WORKERS]]; targets:" >&2
	sed 's/^/  /' "$HERE/targets" >&2
	exit 2
}

# run PKG:TARGET fuzzes one target and prints its last execs line.
run() {
	local pkg=${1%%:*} name=${1##*:}
	local bin=$HERE/${pkg//\//_}.test log=$HERE/logs/${pkg//\//_}.$name.log
	[ -x "$bin" ] && [ -d "$HERE/$pkg" ] || { echo "$1: no $bin or $HERE/$pkg" >&2; return 1; }
	mkdir -p "$HERE/logs" "$CACHE"
	local start=$SECONDS rc=0
	(cd "$HERE/$pkg" && "$bin" -test.run '^$' -test.fuzz "^$name\$" -test.fuzztime "$FUZZTIME" \
		-test.parallel "$WORKERS" -test.fuzzcachedir "$CACHE" -test.fuzzminimizetime "$MINIMIZE") >"$log" 2>&1 || rc=$?
	# The last line's rate is that of its last interval: print the mean.
	local last execs peak secs=$((SECONDS - start))
	last=$(grep 'execs: ' "$log" | tail -n 1)
	execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
	# The last line's rate covers a part of 3 s: not in the peak.
	peak=$(grep 'execs: ' "$log" | head -n -1 | sed -n 's/.*execs: [0-9]* (\([0-9]*\)\/sec).*/\1/p' | sort -n | tail -n 1)
	echo "$1: ${last:-no execs line}; $WORKERS workers, $secs s, mean $((${execs:-0} / (secs > 0 ? secs : 1))) execs/s, peak ${peak:-0}/s"
	# With a duration, Go 1.26's coordinator may fail a target at the end
	# with "context deadline exceeded" and no failing input
	# (go.dev/issue/75804); a count of executions does not.
	if [ $rc != 0 ] && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input' "$log"; then
		echo "$1: ended by the fuzztime deadline race (go.dev/issue/75804), no failing input"
		rc=0
	fi
	if [ $rc != 0 ]; then
		echo "$1 FAILED (exit $rc); see $log:" >&2
		grep -E -- '--- FAIL|Failing input|go test -run|panic:' "$log" >&2
	fi
	return $rc
}

[ $# -ge 1 ] || usage
if [ "$1" = all ]; then
	status=0
	while read -r t; do
		run "$t" || status=1
	done <"$HERE/targets"
	exit $status
fi
grep -qx -- "$1" "$HERE/targets" || usage
run "$1"
