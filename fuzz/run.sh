#!/bin/sh
# run.sh FUZZER SEEDS SECONDS: fuzz for a fixed time from the seeds (new
# inputs go to a scratch directory, never into the tree). Any crash, leak
# or sanitizer report fails, with the fuzzer's report shown.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" -max_total_time="$3" -max_len=70000 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work" "$2" >"$work/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 60 "$work/log"
	ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null
else
	grep -E 'stat::number_of_executed_units|Done' "$work/log"
fi
exit $rc
