#!/bin/bash
# bench/idle.sh: what idle reclaim's checks cost the loop. N "lite"
# workspaces (bench/lite: a real sshd and a 200-responder in Jupyter's
# place) run under an idle timeout that does not end during the run;
# windows alternate between checks every CHECK seconds (each: Jupyter's
# status, the engine's process list, the decision) and checks off (a
# reload to idle_check_interval = 1h). In each window a loadgen asks for
# one workspace at a fixed rate (P3's light request) and wsd's own
# loop-lag histogram is read from /metrics before and after.
#
# Runs as root against the running engine with wslab-bench/lite:1 (built
# by bench/run.sh); its own wsd (instance idlebench, private socket).
# Writes bench/results/idle.txt and idle.json.
#
# usage: bench/idle.sh [--n N] [--check S] [--window S] [--rounds R]
#        (defaults 200, 5, 30, 2)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WSLAB_BENCH_BUILD:-$SRC/build-bench}
OUTDIR=${WSLAB_BENCH_OUT:-$SRC/bench/results}
IMAGE=wslab/offline:1
LITE_IMAGE=wslab-bench/lite:1
INSTANCE=idlebench
BARE_LABEL=wslab-bench.idle-none
N=200 CHECK=5 WINDOW=30 ROUNDS=2 RATE=200
while [ $# -gt 0 ]; do
	case $1 in
	--n) N=$2; shift ;;
	--check) CHECK=$2; shift ;;
	--window) WINDOW=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
. "$SRC/bench/lib.sh"
WSD=$BUILD/server/wsd
WSCTL=$BUILD/client/wsctl
LOADGEN=$BUILD/loadgen
T=
WSD_PID=
U=wsidle00

[ "$(id -u)" = 0 ] || die "run as root"
docker image inspect "$LITE_IMAGE" >/dev/null 2>&1 || die "$LITE_IMAGE missing: run bench/run.sh once"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target wsd wsctl >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$SRC/bench/loadgen.c" -o "$LOADGEN"

stop_wsd() {
	if [ -n "$WSD_PID" ]; then
		kill "$WSD_PID" 2>/dev/null || true
		wait "$WSD_PID" 2>/dev/null || true
		WSD_PID=
	fi
}
cleanup() {
	stop_wsd
	remove_ours
	[ -z "$T" ] || rm -rf "$T"
}
trap cleanup EXIT
remove_ours
T=$(mktemp -d /tmp/wslab-idlebench.XXXXXX)
chmod 755 "$T"
SOCK=$T/wsd.sock
mkdir -p "$OUTDIR"
id "$U" >/dev/null 2>&1 || useradd -m -s /bin/bash "$U"
home=$(getent passwd "$U" | cut -d: -f6)
[ -f "$home/.ssh/id_ed25519.pub" ] || {
	runuser -u "$U" -- mkdir -p -m 700 "$home/.ssh"
	runuser -u "$U" -- ssh-keygen -q -t ed25519 -N '' -f "$home/.ssh/id_ed25519"
}

conf() { # IDLE_CHECK_INTERVAL
	cat >"$T/wsd.conf.new" <<CONF
socket = $SOCK
state_dir = $T/state
home_root = $T/home
port_min = 28000
port_max = 28999
ready_timeout = 300s
instance = $INSTANCE
quota_gpus = unlimited
quota_workspaces = unlimited
quota_idle_timeout = 1d
idle_check_interval = $1
max_requests_per_user = 64
nvml_library = /nonexistent/libnvidia-ml.so.1
default_template = lite
[template lite]
image = $LITE_IMAGE
memory = 64m
shm = 16m
cpus = 0.5
pids_limit = 64
CONF
	mv "$T/wsd.conf.new" "$T/wsd.conf"
}
conf "$CHECK"
"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
WSD_PID=$!
for _ in $(seq 1 600); do [ -S "$SOCK" ] && break; sleep 0.01; done

log "$N lite workspaces, 16 starts at a time"
for k in $(seq 1 "$N"); do
	as "$U" "$WSCTL" start --name "$(printf 'i%04d' "$k")" >/dev/null 2>&1 &
	[ $((k % 16)) -ne 0 ] || wait "${!}" 2>/dev/null || true
done
for _ in $(seq 1 600); do
	r=$(as "$U" "$WSCTL" ls --json | jq '[.workspaces[] | select(.state == "ready")] | length')
	[ "$r" -ge "$N" ] && break
	sleep 1
done
log "$r ready"

# lag: the loop-lag histogram's sum and count, from /metrics.
lag() {
	curl -s --unix-socket "$SOCK" http://wsd/metrics |
		awk '/^wslab_event_loop_lag_seconds_sum/ {s = $2} /^wslab_event_loop_lag_seconds_count/ {c = $2}
		     /^wslab_engine_request_duration_seconds_count\{operation="top"\}/ {t = $2}
		     END {printf "%s %s %s\n", s, c, (t == "" ? 0 : t)}'
}
checks() { grep -c 'idle check' "$T/wsd.log" || true; }
window() { # TAG
	local a b
	a=$(lag)
	as "$U" "$LOADGEN" -s "$SOCK" -c 4 -d "$WINDOW" -r "$RATE" /v1/workspaces/i0001 >"$T/$1.$r_i.json"
	b=$(lag)
	echo "$a $b" >"$T/$1.$r_i.lag"
}
reload_to() {
	conf "$1"
	kill -HUP "$WSD_PID"
	sleep 2
}
for r_i in $(seq 1 "$ROUNDS"); do
	reload_to "$CHECK"
	log "round $r_i: checks every $CHECK s"
	window on
	reload_to 3600
	log "round $r_i: checks off"
	window off
done

summary() { # TAG -> "p50 p99 max lag_avg_ms tops"
	local p50=0 p99=0 max=0 lsum=0 lcnt=0 tops=0
	for f in "$T/$1".*.json; do
		p50=$(jq -r --argjson a "$p50" '[.p50_ms, $a] | max' "$f")
		p99=$(jq -r --argjson a "$p99" '[.p99_ms, $a] | max' "$f")
		max=$(jq -r --argjson a "$max" '[.max_ms, $a] | max' "$f")
	done
	for f in "$T/$1".*.lag; do
		read -r s0 c0 t0 s1 c1 t1 <"$f"
		lsum=$(awk -v a="$lsum" -v x="$s0" -v y="$s1" 'BEGIN {print a + y - x}')
		lcnt=$(awk -v a="$lcnt" -v x="$c0" -v y="$c1" 'BEGIN {print a + y - x}')
		tops=$(awk -v a="$tops" -v x="$t0" -v y="$t1" 'BEGIN {print a + y - x}')
	done
	awk -v p50="$p50" -v p99="$p99" -v max="$max" -v s="$lsum" -v c="$lcnt" -v t="$tops" \
		'BEGIN {printf "%.3f %.3f %.3f %.3f %d\n", p50, p99, max, (c > 0 ? 1000 * s / c : 0), t}'
}
read -r ON50 ON99 ONMAX ONLAG ONTOPS < <(summary on)
read -r OFF50 OFF99 OFFMAX OFFLAG OFFTOPS < <(summary off)
{
	printf 'wslab idle bench %s, commit %s\n' "$(date -u +%FT%TZ)" "$(git -C "$SRC" rev-parse --short HEAD)"
	printf 'machine: %s cores, load average %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%d lite workspaces under an idle timeout; %d rounds of %d s windows, show of one workspace at %d/s\n' \
		"$r" "$ROUNDS" "$WINDOW" "$RATE"
	printf '%-34s %-28s %-22s %s\n' "" "show p50 / p99 / max (ms)" "loop lag mean (ms)" "engine top calls"
	printf '%-34s %-28s %-22s %s\n' "checks every $CHECK s (asked $((r / CHECK))/s)" "$ON50 / $ON99 / $ONMAX" "$ONLAG" \
		"$ONTOPS ($(awk -v t="$ONTOPS" -v d=$((ROUNDS * WINDOW)) 'BEGIN {printf "%.1f", t / d}')/s)"
	printf '%-34s %-28s %-22s %s\n' "checks off (1 h)" "$OFF50 / $OFF99 / $OFFMAX" "$OFFLAG" \
		"$OFFTOPS ($(awk -v t="$OFFTOPS" -v d=$((ROUNDS * WINDOW)) 'BEGIN {printf "%.1f", t / d}')/s)"
} | tee "$OUTDIR/idle.txt"
jq -n --argjson n "$r" --argjson check "$CHECK" --argjson on50 "$ON50" --argjson on99 "$ON99" \
	--argjson onlag "$ONLAG" --argjson ontops "$ONTOPS" --argjson off50 "$OFF50" --argjson off99 "$OFF99" \
	--argjson offlag "$OFFLAG" --argjson offtops "$OFFTOPS" \
	'{workspaces: $n, check_interval_s: $check,
	  on: {p50_ms: $on50, p99_ms: $on99, loop_lag_mean_ms: $onlag, top_calls: $ontops},
	  off: {p50_ms: $off50, p99_ms: $off99, loop_lag_mean_ms: $offlag, top_calls: $offtops}}' \
	>"$OUTDIR/idle.json"
