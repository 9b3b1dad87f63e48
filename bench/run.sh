#!/bin/bash
# bench/run.sh: wsd's cost over the bare engine, measured side by side.
#
#   P1  start overhead: `wsctl start` until ready vs a bare `docker run` of the
#       same container (same limits, mounts, entrypoint contract) followed by
#       the same readiness check; alternating pairs, ratio median and spread
#   P2  16 users start at once through wsd vs 16 bare runs at once (wall time)
#   P3  GET /v1/workspaces latency (p50/p99) while the P2 starts run, for a
#       user owning every workspace of the population
#   P4  requests/s of list and show with 64 keep-alive connections
#   P5  wsd's VmRSS idle and with the population
#   P6  wsd killed with SIGKILL and restarted: time until every running
#       workspace is adopted and ready again
#   S   a class starts at once (bench/storm.sh): N users through wsd with
#       boots paced, with pacing off, and N bare runs at once: per-user
#       p50/p95 and wall
#   K   P3 and P5 again with 1,000 workspace records: the offline
#       population of P3-P6 is replaced by "lite" workspaces (bench/lite: the
#       offline image with the real sshd and a static HTTP responder in
#       Jupyter's place, ~9 MB each instead of ~80) until wsd holds 1,000;
#       then list latency during 16 concurrent starts (wsd and bare, as in
#       P3) and VmRSS
#
# Runs as root against the running engine with the image wslab/offline:1.
# Builds a release wsd into build-bench/, runs it with instance = bench on a
# private socket and state dir, and touches only containers labelled
# wslab.instance=bench or wslab-bench.bare. Users wsbench00..wsbench16 are
# created when missing and kept. Prints a table and writes
# bench/results/latest.json and bench/results/latest.txt.
#
# usage: bench/run.sh [--quick] [--pairs N] [--population N] [--rounds N] [--records N]
#   --quick         3 pairs, population 8, 4 concurrent starts, 1 round, short loads,
#                   40 records
#   --pairs N       P1 pairs (default 10)
#   --population N  workspaces owned by wsbench00 during P3-P6 (default 184, so
#                   that P6 restarts with 200; fewer when MemAvailable would
#                   drop under 6 GiB: the machine is shared)
#   --rounds N      P2 rounds; rounds alternate wsd-first and bare-first (default 4)
#   --records N     workspace records for phase K (default 1000)
#   --storm N       users of phase S (default 40, quick 8; 0 skips it)
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WSLAB_BENCH_BUILD:-$SRC/build-bench}
OUTDIR=${WSLAB_BENCH_OUT:-$SRC/bench/results}
IMAGE=wslab/offline:1
INSTANCE=bench
BARE_LABEL=wslab-bench.bare
WSD_PORT_MIN=27000
WSD_PORT_MAX=29999
BARE_PORT_BASE=26000
MEM=1g
SHM=128m
CPUS=1
PIDS=4096

QUICK=0
PAIRS=10
POP=184
MIN_AVAIL_KB=$((6 * 1024 * 1024)) # the population stops growing below this MemAvailable
CONC=16
ROUNDS=4
LOAD_S=5
RECORDS=1000
STORM=40
LITE_IMAGE=wslab-bench/lite:1
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 PAIRS=3 POP=8 CONC=4 ROUNDS=1 LOAD_S=2 RECORDS=40 STORM=8 ;;
	--storm) STORM=$2; shift ;;
	--records) RECORDS=$2; shift ;;
	--pairs) PAIRS=$2; shift ;;
	--population) POP=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	-h | --help) sed -n '2,35p' "$0"; exit 0 ;;
	*) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done

# Helpers (log, now, sub, as, remove_ours, bare runs, stats): bench/lib.sh.
. "$SRC/bench/lib.sh"

WSD=$BUILD/server/wsd
WSCTL=$BUILD/client/wsctl
LOADGEN=$BUILD/loadgen
READY=$BUILD/ready
T=
WSD_PID=
BG_PIDS=()



cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$WSD_PID" ]; then
		kill "$WSD_PID" 2>/dev/null || true
		wait "$WSD_PID" 2>/dev/null || true
	fi
	remove_ours
	if [ -n "$T" ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$T"; fi
}

# ---------------------------------------------------------------- setup

[ "$(id -u)" = 0 ] || die "run as root (makes users, talks to the engine)"
for tool in docker curl jq ssh-keygen runuser setpriv cmake cc awk; do
	command -v "$tool" >/dev/null || die "missing $tool"
done
timeout 10 docker info >/dev/null 2>&1 || die "no engine answers (docker info)"
docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE missing (templates/offline/build.sh)"

log "building release binaries in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target wsd wsctl >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes "$SRC/bench/loadgen.c" -o "$LOADGEN"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes "$SRC/bench/ready.c" -o "$READY"

# The lite image, rebuilt when its inputs or the offline image change.
LITE_INPUTS=$( (cat "$SRC/bench/lite/ok200.c" "$SRC/bench/lite/Dockerfile" \
	"$SRC/bench/lite/wslab-lite-entrypoint"; docker image inspect -f '{{.Id}}' "$IMAGE") |
	sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "org.wslab.inputs"}}' "$LITE_IMAGE" 2>/dev/null)" != "$LITE_INPUTS" ]; then
	log "building $LITE_IMAGE"
	lctx=$(mktemp -d)
	cc -O2 -static -Wall -Wextra -Werror "$SRC/bench/lite/ok200.c" -o "$lctx/ok200"
	cp "$SRC/bench/lite/Dockerfile" "$SRC/bench/lite/wslab-lite-entrypoint" "$lctx/"
	printf 'LABEL org.wslab.inputs="%s"\n' "$LITE_INPUTS" >>"$lctx/Dockerfile"
	DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$IMAGE" -t "$LITE_IMAGE" "$lctx" >/dev/null 2>&1 ||
		die "cannot build $LITE_IMAGE"
	rm -rf "$lctx"
fi

# S: the storm runs first, on an idle machine, with its own wsd and users.
if [ "$STORM" -gt 0 ]; then
	log "S: $STORM users at once (bench/storm.sh)"
	WSLAB_BENCH_BUILD=$BUILD WSLAB_BENCH_OUT=$OUTDIR "$SRC/bench/storm.sh" --n "$STORM" >/dev/null
fi

trap cleanup EXIT
trap 'exit 130' INT TERM
remove_ours

T=$(mktemp -d /tmp/wslab-bench.XXXXXX)
chmod 755 "$T"
SOCK=$T/wsd.sock
mkdir -p "$OUTDIR" "$T/bare" "$T/lat"

user_name() { printf 'wsbench%02d' "$1"; }
make_user() {
	local u=$1 home
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
	home=$(getent passwd "$u" | cut -d: -f6)
	if [ ! -f "$home/.ssh/id_ed25519.pub" ]; then
		runuser -u "$u" -- mkdir -p -m 700 "$home/.ssh"
		runuser -u "$u" -- ssh-keygen -q -t ed25519 -N '' -f "$home/.ssh/id_ed25519"
	fi
}
for i in $(seq 0 $((CONC + 1))); do make_user "$(user_name "$i")"; done
U0=$(user_name 0)       # owns the population
US=$(user_name $((CONC + 1))) # owns one workspace: a student's view of a full registry
chmod 777 "$T/lat" # the load generators run as U0 and US and write their latencies here


cat >"$T/wsd.conf" <<CONF
socket = $SOCK
state_dir = $T/state
home_root = $T/home
port_min = $WSD_PORT_MIN
port_max = $WSD_PORT_MAX
ready_timeout = 180s
stop_timeout = 2s
log_level = info
instance = $INSTANCE
quota_gpus = unlimited
quota_workspaces = unlimited
static_gpus =
nvml_library = /nonexistent/libnvidia-ml.so.1
[template offline]
image = $IMAGE
memory = $MEM
shm = $SHM
cpus = $CPUS
pids_limit = $PIDS
[template lite]
image = $LITE_IMAGE
memory = 64m
shm = 16m
cpus = 0.5
pids_limit = 64
CONF

start_wsd() {
	rm -f "$SOCK"
	"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 600); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$WSD_PID" 2>/dev/null || break
		sleep 0.01
	done
	tail -n 20 "$T/wsd.log" >&2
	die "wsd did not start"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$WSD_PID/status"; }
# cpu_s: wsd's CPU time so far (user + system, all threads), in seconds.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$WSD_PID/stat"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$WSD_PID/status"; }
# anon_kb: the private part of VmRSS (heap, stacks); the rest is mapped files
# (wsd and its shared libraries' code, shared with every process using them).
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$WSD_PID/status"; }
# priv_kb: pages only wsd maps (Private_Clean + Private_Dirty of smaps_rollup).
priv_kb() { awk '/^Private_(Clean|Dirty):/ { k += $2 } END { print k }' "/proc/$WSD_PID/smaps_rollup"; }

# api_root PATH: GET as root (an admin) on the bench socket.
api_root() { curl -sf --max-time 5 --unix-socket "$SOCK" "http://wsd$1"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# The engine is shared: when someone restarts it during the run, every
# number after that is suspect. Checked at each phase and reported.
DOCKERD_PID=$(pidof dockerd | cut -d' ' -f1 || true)
ENGINE_RESTARTED=false
engine_check() {
	if [ "$(pidof dockerd | cut -d' ' -f1 || true)" != "$DOCKERD_PID" ]; then
		[ "$ENGINE_RESTARTED" = true ] || log "WARNING: the engine was restarted during the run ($1)"
		ENGINE_RESTARTED=true
	fi
}
T_BEGIN=$(now)
start_wsd
sleep 1
RSS_IDLE=$(rss_kb)
ANON_IDLE=$(anon_kb)
PRIV_IDLE=$(priv_kb)
log "wsd up (pid $WSD_PID), idle VmRSS $RSS_IDLE kB"

# ---------------------------------------------------------------- P1

log "P1: $PAIRS alternating pairs (wsctl start vs bare docker run)"
P1_ROWS=()
P1_FAIL=0
for i in $(seq 1 "$PAIRS"); do
	for side in $( ((i % 2)) && echo "wsd bare" || echo "bare wsd"); do
		t0=$(now)
		if [ "$side" = wsd ]; then
			wsd_once "$U0" p1 || P1_FAIL=$((P1_FAIL + 1))
			w=$(sub "$(now)" "$t0")
			wsd_stop "$U0" p1
		else
			bare_prepare 0 "$U0"
			t0=$(now)
			bare_run 0 "$U0" || P1_FAIL=$((P1_FAIL + 1))
			b=$(sub "$(now)" "$t0")
			bare_rm 0
		fi
	done
	r=$(awk -v w="$w" -v b="$b" 'BEGIN { printf "%.3f", w / b }')
	P1_ROWS+=("$i $w $b $r")
	log "  pair $i: wsd $w s, bare $b s, ratio $r"
done
read -r P1_MED P1_MIN P1_MAX P1_Q1 P1_Q3 < <(printf '%s\n' "${P1_ROWS[@]}" | cut -d' ' -f4 | stats)
read -r P1_WMED _ < <(printf '%s\n' "${P1_ROWS[@]}" | cut -d' ' -f2 | stats)
read -r P1_BMED _ < <(printf '%s\n' "${P1_ROWS[@]}" | cut -d' ' -f3 | stats)

engine_check "before population"
# ---------------------------------------------------------------- population

log "population: $POP workspaces owned by $U0, 8 starts at a time"
T0=$(now)
POP_FAIL=0
for b in $(seq 1 8 "$POP"); do
	if [ "$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)" -lt "$MIN_AVAIL_KB" ]; then
		log "  stopping at $((b - 1)) workspaces: MemAvailable under 6 GiB"
		break
	fi
	pids=()
	for k in $(seq "$b" $((b + 7))); do
		[ "$k" -le "$POP" ] || break
		wsd_once "$U0" "$(printf 'pop%03d' "$k")" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || POP_FAIL=$((POP_FAIL + 1)); done
done
POP_S=$(sub "$(now)" "$T0")
POP_READY=$(as "$U0" "$WSCTL" ls --json | jq '[.workspaces[] | select(.state == "ready")] | length')
log "  $POP_READY ready in $POP_S s ($POP_FAIL failed)"
RSS_POP=$(rss_kb)

# ---------------------------------------------------------------- P2 + P3

# p2_wsd ROUND: CONC users start at once through wsd; prints wall seconds.
p2_wsd() {
	local i pids=() t0 fails=0
	t0=$(now)
	for i in $(seq 1 "$CONC"); do
		wsd_once "$(user_name "$i")" p2 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
	echo "$(sub "$(now)" "$t0") $fails"
}
p2_wsd_clear() {
	local i pids=()
	for i in $(seq 1 "$CONC"); do
		wsd_stop "$(user_name "$i")" p2 &
		pids+=($!)
	done
	wait "${pids[@]}"
}
p2_bare() {
	local i pids=() t0 fails=0
	for i in $(seq 1 "$CONC"); do bare_prepare "$i" "$(user_name "$i")"; done
	t0=$(now)
	for i in $(seq 1 "$CONC"); do
		bare_run "$i" "$(user_name "$i")" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
	echo "$(sub "$(now)" "$t0") $fails"
}
p2_bare_clear() {
	local i pids=()
	for i in $(seq 1 "$CONC"); do
		bare_rm "$i" &
		pids+=($!)
	done
	wait "${pids[@]}" # never a bare `wait`: wsd is a child too
}

# Latency probes: one keep-alive connection each, 100 lists a second,
# one as the owner of the population (each reply carries all of its
# workspaces), one as a user with a single workspace (wsd still walks every
# record to find it). setpriv execs, so the pid is the load generator's
# (runuser would stay the parent and keep the signal from it).
probe() { # USER FILE [DURATION]; run it with & (it execs)
	exec setpriv --reuid="$1" --regid="$1" --init-groups "$LOADGEN" -s "$SOCK" -c 1 -d "${3:-0}" \
		-r 100 -o "$2.lat" /v1/workspaces >"$2.json"
}
probe_start() { # TAG
	probe "$U0" "$T/lat/p3_$1" &
	PROBE_PIDS=("$!")
	probe "$US" "$T/lat/p3s_$1" &
	PROBE_PIDS+=("$!")
	BG_PIDS+=("${PROBE_PIDS[@]}")
	sleep 0.2
}
probe_stop() {
	kill -TERM "${PROBE_PIDS[@]}"
	wait "${PROBE_PIDS[@]}" || true
}

wsd_once "$US" solo || die "cannot start the workspace of $US"
log "P3 baseline: list latency with no starts running"
probe "$U0" "$T/lat/p3_idle" "$LOAD_S" &
p=$!
probe "$US" "$T/lat/p3s_idle" "$LOAD_S" &
wait "$p" "$!"

log "P2: $ROUNDS round(s) of $CONC concurrent starts, wsd and bare alternating"
P2_ROWS=()
CPU_ROWS=()
P2_FAIL_WSD=0
P2_FAIL_BARE=0
KEPT=0
: >"$T/lat/p3_wsd.lat"
: >"$T/lat/p3_bare.lat"
: >"$T/lat/p3s_wsd.lat"
: >"$T/lat/p3s_bare.lat"
for r in $(seq 1 "$ROUNDS"); do
	order="wsd bare"
	[ $((r % 2)) = 0 ] && order="bare wsd"
	for side in $order; do
		probe_start "${side}_$r"
		c0=$(cpu_s)
		if [ "$side" = wsd ]; then
			read -r w wf < <(p2_wsd)
			P2_FAIL_WSD=$((P2_FAIL_WSD + wf))
		else
			read -r b bf < <(p2_bare)
			P2_FAIL_BARE=$((P2_FAIL_BARE + bf))
		fi
		probe_stop
		CPU_ROWS+=("$side $(sub "$(cpu_s)" "$c0")")
		engine_check "P2 $side round $r"
		cat "$T/lat/p3_${side}_$r.lat" >>"$T/lat/p3_$side.lat"
		cat "$T/lat/p3s_${side}_$r.lat" >>"$T/lat/p3s_$side.lat"
		RSS_P2=$(rss_kb)
		if [ "$side" = bare ]; then
			p2_bare_clear
		elif [ "$r" = "$ROUNDS" ] && [ "$order" = "bare wsd" ]; then
			KEPT=1 # the last batch of all stays up for P4-P6
		else
			p2_wsd_clear
		fi
	done
	ratio=$(awk -v w="$w" -v b="$b" 'BEGIN { printf "%.3f", w / b }')
	P2_ROWS+=("$r $w $b $ratio")
	log "  round $r: wsd $w s ($wf failed), bare $b s ($bf failed), ratio $ratio"
done
# P4-P6 run with the P2 workspaces up too (started again, untimed).
[ "$KEPT" = 1 ] || p2_wsd >/dev/null
read -r P2_MED P2_MIN P2_MAX _ < <(printf '%s\n' "${P2_ROWS[@]}" | cut -d' ' -f4 | stats)
# wsd's CPU time per batch: its whole cost for CONC starts (plus the probes'
# lists, which run during both kinds of batch).
CPU_WSD=$(printf '%s\n' "${CPU_ROWS[@]}" | awk '$1 == "wsd" { s += $2; n++ } END { printf "%.2f", s / n }')
CPU_BARE=$(printf '%s\n' "${CPU_ROWS[@]}" | awk '$1 == "bare" { s += $2; n++ } END { printf "%.2f", s / n }')

pcts() { # latencies on stdin -> "n p50 p99 max"
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "0 0 0 0"; exit }
		i50 = int(0.50 * (NR - 1) + 0.5) + 1; i99 = int(0.99 * (NR - 1) + 0.5) + 1
		printf "%d %.3f %.3f %.3f\n", NR, a[i50], a[i99], a[NR] }'
}
read -r P3_N P3_P50 P3_P99 P3_MAX < <(pcts <"$T/lat/p3_wsd.lat")
read -r P3B_N P3B_P50 P3B_P99 P3B_MAX < <(pcts <"$T/lat/p3_bare.lat")
read -r P3I_N P3I_P50 P3I_P99 P3I_MAX < <(pcts <"$T/lat/p3_idle.lat")
read -r S3_N S3_P50 S3_P99 S3_MAX < <(pcts <"$T/lat/p3s_wsd.lat")
read -r S3B_N S3B_P50 S3B_P99 S3B_MAX < <(pcts <"$T/lat/p3s_bare.lat")
read -r S3I_N S3I_P50 S3I_P99 S3I_MAX < <(pcts <"$T/lat/p3s_idle.lat")
P3_ERR=$(cat "$T"/lat/p3*_*.json | jq -s 'map(.errors) | add')
NWS=$(api_root /v1/admin/workspaces | jq '.workspaces | length')
NREADY=$(api_root /v1/admin/workspaces | jq '[.workspaces[] | select(.state == "ready")] | length')
LIST_BYTES=$(as "$U0" curl -s --unix-socket "$SOCK" http://wsd/v1/workspaces | wc -c)
log "  P3: list of $POP_READY workspaces ($LIST_BYTES bytes) during wsd starts:" \
	"p50 $P3_P50 ms, p99 $P3_P99 ms over $P3_N requests"

engine_check "before P4"
# ---------------------------------------------------------------- P4

log "P4: throughput, 64 connections, ${LOAD_S} s each"
lg() { as "$1" "$LOADGEN" -s "$SOCK" -c 64 -d "$LOAD_S" "${@:2}"; }
P4_LIST=$(lg "$U0" /v1/workspaces)
P4_LIST1=$(lg "$(user_name 1)" /v1/workspaces)
P4_SHOW=$(lg "$U0" /v1/workspaces/pop001)
RSS_LOAD=$(rss_kb)
ANON_LOAD=$(anon_kb)
PRIV_LOAD=$(priv_kb)
HWM=$(hwm_kb)

engine_check "before P6"
# ---------------------------------------------------------------- P6

N6=$NREADY
log "P6: SIGKILL wsd with $N6 ready workspaces, restart, wait until all are ready"
ENGINE_LIST_MS=$(curl -s -o /dev/null -w '%{time_total}' --unix-socket /var/run/docker.sock \
	"http://d/containers/json?filters=%7B%22label%22%3A%5B%22wslab.instance%3D$INSTANCE%22%5D%7D" |
	awk '{ printf "%.1f", $1 * 1000 }')
kill -9 "$WSD_PID"
wait "$WSD_PID" 2>/dev/null || true
WSD_PID=
T0=$(now)
start_wsd
T_SOCK=$(sub "$(now)" "$T0")
T_READY=
for _ in $(seq 1 3000); do
	n=$(api_root /v1/admin/workspaces 2>/dev/null |
		jq '[.workspaces[] | select(.state == "ready")] | length' 2>/dev/null || echo 0)
	if [ "$n" -ge "$N6" ]; then
		T_READY=$(sub "$(now)" "$T0")
		break
	fi
	sleep 0.02
done
[ -n "$T_READY" ] || T_READY=-1
log "  socket after $T_SOCK s, all $N6 ready after $T_READY s"
RSS_RESTART=$(rss_kb)

engine_check "before K"
# ---------------------------------------------------------------- K: 1,000 records

# The offline workspaces of the population (~80 MB each) make room for
# lite ones (~9 MB): the P2 users' and U0's go; US's one stays.
log "K: stopping the $POP_READY + $CONC offline workspaces of P3-P6"
p2_wsd_clear
for b in $(seq 1 16 "$POP"); do
	pids=()
	for k in $(seq "$b" $((b + 15))); do
		[ "$k" -le "$POP" ] || break
		wsd_stop "$U0" "$(printf 'pop%03d' "$k")" &
		pids+=($!)
	done
	wait "${pids[@]}"
done
NOW_WS=$(api_root /v1/admin/workspaces | jq '.workspaces | length')
NEED=$((RECORDS - NOW_WS))
log "K: $NEED lite workspaces owned by $U0 to reach $RECORDS records, 16 starts at a time"
T0=$(now)
K_FAIL=0
k=0
while [ "$k" -lt "$NEED" ]; do
	if [ "$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)" -lt $((4 * 1024 * 1024)) ]; then
		log "  stopping at $k: MemAvailable under 4 GiB"
		break
	fi
	pids=()
	for _ in $(seq 1 16); do
		[ "$k" -lt "$NEED" ] || break
		k=$((k + 1))
		as "$U0" "$WSCTL" start --template lite --name "$(printf 'lite%04d' "$k")" >/dev/null 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || K_FAIL=$((K_FAIL + 1)); done
done
K_POP_S=$(sub "$(now)" "$T0")
K_WS=$(api_root /v1/admin/workspaces | jq '.workspaces | length')
K_OWN=$(as "$U0" "$WSCTL" ls --json | jq '.workspaces | length')
log "  $K_WS workspace records ($K_OWN of $U0) after $K_POP_S s, $K_FAIL failed"
if [ "$K_WS" -lt "$RECORDS" ]; then
	log "  fewer than asked; wsd's last warnings:"
	grep -E ' (warn|error) ' "$T/wsd.log" | tail -n 8 >&2 || true
fi
sleep 2 # past the trim after the last start
RSS_K=$(rss_kb)
ANON_K=$(anon_kb)
K_BYTES=$(as "$U0" curl -s --unix-socket "$SOCK" http://wsd/v1/workspaces | wc -c)
probe "$U0" "$T/lat/k_idle" "$LOAD_S" &
p=$!
probe "$US" "$T/lat/ks_idle" "$LOAD_S" &
wait "$p" "$!"
for side in wsd bare; do
	probe "$U0" "$T/lat/k_$side" &
	PROBE_PIDS=("$!")
	probe "$US" "$T/lat/ks_$side" &
	PROBE_PIDS+=("$!")
	BG_PIDS+=("${PROBE_PIDS[@]}")
	sleep 0.2
	if [ "$side" = wsd ]; then read -r KW KWF < <(p2_wsd); else read -r KB KBF < <(p2_bare); fi
	probe_stop
	RSS_K2=$(rss_kb)
	if [ "$side" = wsd ]; then p2_wsd_clear; else p2_bare_clear; fi
done
read -r K_N K_P50 K_P99 K_MAX < <(pcts <"$T/lat/k_wsd.lat")
read -r KB_N KB_P50 KB_P99 KB_MAX < <(pcts <"$T/lat/k_bare.lat")
read -r KI_N KI_P50 KI_P99 KI_MAX < <(pcts <"$T/lat/k_idle.lat")
read -r KS_N KS_P50 KS_P99 KS_MAX < <(pcts <"$T/lat/ks_wsd.lat")
read -r KSB_N KSB_P50 KSB_P99 KSB_MAX < <(pcts <"$T/lat/ks_bare.lat")
read -r KSI_N KSI_P50 KSI_P99 KSI_MAX < <(pcts <"$T/lat/ks_idle.lat")
K_ERR=$(cat "$T"/lat/k*_*.json | jq -s 'map(.errors) | add')
K_LIST=$(lg "$U0" /v1/workspaces)
RSS_K3=$(rss_kb)
HWM_K=$(hwm_kb)
sleep 2 # past the trim
RSS_K4=$(rss_kb)
# At rest: after the population, after the starts, after the load has gone.
RSS_KMAX=$(printf '%s\n' "$RSS_K" "$RSS_K2" "$RSS_K4" | sort -n | tail -1)
log "  list of $K_OWN: idle p99 $KI_P99 ms, during wsd starts p99 $K_P99 ms; VmRSS $(awk -v k="$RSS_KMAX" 'BEGIN { printf "%.1f", k / 1024 }') MB"

T_TOTAL=$(sub "$(now)" "$T_BEGIN")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
engine_check end

# ---------------------------------------------------------------- report

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= 0 && v <= t) ? "met" : "MISSED" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rps() { jq -r '.rps' <<<"$1"; }
P4_ERR=$(jq -s 'map(.errors) | add' <<<"$P4_LIST$P4_LIST1$P4_SHOW")
RSS_MAX=$(printf '%s\n' "$RSS_POP" "$RSS_P2" "$RSS_LOAD" "$RSS_RESTART" | sort -n | tail -1)

MACHINE="$(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),"
MACHINE+=" $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
MACHINE+=" Debian $(cat /etc/debian_version), kernel $(uname -r),"
MACHINE+=" Docker $(docker version --format '{{.Server.Version}}')"
MODE=full
[ "$QUICK" = 1 ] && MODE=quick

{
	echo "wslab bench ($MODE) $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "machine: $MACHINE"
	[ "$ENGINE_RESTARTED" = false ] || echo "WARNING: the engine was restarted during this run by someone else; numbers are suspect"
	echo "load average before: $LOAD_BEFORE; after: $LOAD_AFTER; engine restarted during run: $ENGINE_RESTARTED; run took ${T_TOTAL} s"
	echo
	printf '%-4s %-50s %-30s %-10s %s\n' id measure result target verdict
	printf '%-4s %-50s %-30s %-10s %s\n' P1 "start overhead, ratio wsctl/bare ($PAIRS pairs)" \
		"median $P1_MED (min $P1_MIN, max $P1_MAX)" "<= 1.05" "$(verdict "$P1_MED" 1.05)"
	printf '%-4s %-50s %-30s\n' "" "  median start: wsd / bare (s)" "$P1_WMED / $P1_BMED"
	printf '%-4s %-50s %-30s %-10s %s\n' "" "  failures" "$P1_FAIL" 0 \
		"$( [ "$P1_FAIL" = 0 ] && echo met || echo MISSED)"
	printf '%-4s %-50s %-30s %-10s %s\n' P2 "$CONC concurrent starts, wall ratio ($ROUNDS rounds)" \
		"median $P2_MED (min $P2_MIN, max $P2_MAX)" "<= 1.10" "$(verdict "$P2_MED" 1.10)"
	for row in "${P2_ROWS[@]}"; do
		read -r r w b ratio <<<"$row"
		printf '%-4s %-50s %-30s\n' "" "  round $r: wsd / bare wall (s)" "$w / $b"
	done
	printf '%-4s %-50s %-30s\n' "" "  wsd CPU per batch: wsd / bare batch (s)" "$CPU_WSD / $CPU_BARE"
	printf '%-4s %-50s %-30s %-10s %s\n' "" "  failures wsd / bare" "$P2_FAIL_WSD / $P2_FAIL_BARE" 0 \
		"$( [ $((P2_FAIL_WSD + P2_FAIL_BARE)) = 0 ] && echo met || echo MISSED)"
	printf '%-4s %-50s %-30s %-10s %s\n' P3 "list of $POP_READY ws during P2 wsd starts, p50/p99" \
		"$P3_P50 / $P3_P99 ms (max $P3_MAX)" "p99 <= 5" "$(verdict "$P3_P99" 5)"
	printf '%-4s %-50s %-30s\n' "" "  same, during bare starts (control)" "$P3B_P50 / $P3B_P99 ms (max $P3B_MAX)"
	printf '%-4s %-50s %-30s\n' "" "  same, no starts" "$P3I_P50 / $P3I_P99 ms (max $P3I_MAX)"
	printf '%-4s %-50s %-30s %-10s %s\n' P3 "list of 1 ws among $NWS, during P2 wsd starts" \
		"$S3_P50 / $S3_P99 ms (max $S3_MAX)" "p99 <= 5" "$(verdict "$S3_P99" 5)"
	printf '%-4s %-50s %-30s\n' "" "  same, during bare starts (control)" "$S3B_P50 / $S3B_P99 ms (max $S3B_MAX)"
	printf '%-4s %-50s %-30s\n' "" "  same, no starts" "$S3I_P50 / $S3I_P99 ms (max $S3I_MAX)"
	printf '%-4s %-50s %-30s\n' "" "  requests (both) / errors / big reply" "$P3_N+$S3_N / $P3_ERR / $LIST_BYTES B"
	printf '%-4s %-50s %-30s\n' P4 "list ($POP_READY ws), 64 conns" "$(rps "$P4_LIST") req/s"
	printf '%-4s %-50s %-30s\n' "" "list (1 ws), 64 conns" "$(rps "$P4_LIST1") req/s"
	printf '%-4s %-50s %-30s\n' "" "show, 64 conns" "$(rps "$P4_SHOW") req/s"
	printf '%-4s %-50s %-30s\n' "" "  errors" "$P4_ERR"
	printf '%-4s %-50s %-30s %-10s %s\n' P5 "VmRSS idle" "$(mb "$RSS_IDLE") MB" "<= 16 MB" \
		"$(verdict "$(mb "$RSS_IDLE")" 16)"
	printf '%-4s %-50s %-30s %-10s %s\n' "" "VmRSS with $NWS workspaces (max of samples)" \
		"$(mb "$RSS_MAX") MB (peak $(mb "$HWM"))" "<= 16 MB" "$(verdict "$(mb "$RSS_MAX")" 16)"
	printf '%-4s %-50s %-30s\n' "" "  of which private (RssAnon): idle / after P4" \
		"$(mb "$ANON_IDLE") / $(mb "$ANON_LOAD") MB"
	printf '%-4s %-50s %-30s\n' "" "  private to wsd (smaps): idle / after P4" \
		"$(mb "$PRIV_IDLE") / $(mb "$PRIV_LOAD") MB"
	printf '%-4s %-50s %-30s %-10s %s\n' P6 "restart, $N6 running: all ready again" "$T_READY s" \
		"<= 2 s" "$(verdict "$T_READY" 2)"
	printf '%-4s %-50s %-30s\n' "" "  socket listening (reconciled)" "$T_SOCK s"
	printf '%-4s %-50s %-30s\n' "" "  engine's list alone" "$ENGINE_LIST_MS ms"
	printf '%-4s %-50s %-30s %-10s %s\n' K "$K_WS records: list of $K_OWN during wsd starts" \
		"$K_P50 / $K_P99 ms (max $K_MAX)" "p99 <= 5" "$(verdict "$K_P99" 5)"
	printf '%-4s %-50s %-30s\n' "" "  same, during bare starts (control)" "$KB_P50 / $KB_P99 ms (max $KB_MAX)"
	printf '%-4s %-50s %-30s %-10s %s\n' "" "  same, no starts" "$KI_P50 / $KI_P99 ms (max $KI_MAX)" \
		"p99 <= 5" "$(verdict "$KI_P99" 5)"
	printf '%-4s %-50s %-30s %-10s %s\n' K "$K_WS records: list of 1 during wsd starts" \
		"$KS_P50 / $KS_P99 ms (max $KS_MAX)" "p99 <= 5" "$(verdict "$KS_P99" 5)"
	printf '%-4s %-50s %-30s\n' "" "  same, during bare starts (control)" "$KSB_P50 / $KSB_P99 ms (max $KSB_MAX)"
	printf '%-4s %-50s %-30s %-10s %s\n' "" "  same, no starts" "$KSI_P50 / $KSI_P99 ms (max $KSI_MAX)" \
		"p99 <= 5" "$(verdict "$KSI_P99" 5)"
	printf '%-4s %-50s %-30s\n' "" "  requests / errors / big reply" "$((K_N + KS_N)) / $K_ERR / $K_BYTES B"
	printf '%-4s %-50s %-30s\n' "" "  starts wsd / bare (s, failed)" "$KW ($KWF) / $KB ($KBF)"
	printf '%-4s %-50s %-30s\n' "" "  list of $K_OWN, 64 conns" "$(rps "$K_LIST") req/s"
	printf '%-4s %-50s %-30s %-10s %s\n' K "VmRSS with $K_WS records, at rest (max of 3)" \
		"$(mb "$RSS_KMAX") MB" "<= 16 MB" "$(verdict "$(mb "$RSS_KMAX")" 16)"
	printf '%-4s %-50s %-30s\n' "" "  after population / starts / list load" "$(mb "$RSS_K") / $(mb "$RSS_K2") / $(mb "$RSS_K4") MB"
	printf '%-4s %-50s %-30s\n' "" "  of which private (RssAnon), at rest" "$(mb "$ANON_K") MB"
	printf '%-4s %-50s %-30s\n' "" "  during the list load (64 replies in flight)" "$(mb "$RSS_K3") MB (peak $(mb "$HWM_K"))"
	printf '%-4s %-50s %-30s\n' "" "  population: lite starts (s, failed)" "$K_POP_S ($K_FAIL)"
	echo
	echo "P1 pairs (wsd s, bare s, ratio):"
	printf '  %s\n' "${P1_ROWS[@]}"
	echo "population: $POP_READY of $POP started in $POP_S s ($POP_FAIL failed)"
	if [ "$STORM" -gt 0 ] && [ -f "$OUTDIR/storm.txt" ]; then
		echo
		echo "S: a class starts at once (bench/storm.sh)"
		cat "$OUTDIR/storm.txt"
	fi
} | tee "$T/table.txt"

jq -n \
	--arg mode "$MODE" --arg machine "$MACHINE" --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg commit "$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo '?')" \
	--arg load_before "$LOAD_BEFORE" --arg load_after "$LOAD_AFTER" \
	--argjson engine_restarted "$ENGINE_RESTARTED" --argjson total_s "$T_TOTAL" \
	--argjson pairs "$(printf '%s\n' "${P1_ROWS[@]}" | jq -R 'split(" ") | map(tonumber) | {pair: .[0], wsd_s: .[1], bare_s: .[2], ratio: .[3]}' | jq -s .)" \
	--argjson p1 "{\"median\": $P1_MED, \"min\": $P1_MIN, \"max\": $P1_MAX, \"q1\": $P1_Q1, \"q3\": $P1_Q3, \"wsd_median_s\": $P1_WMED, \"bare_median_s\": $P1_BMED, \"failures\": $P1_FAIL}" \
	--argjson p2rounds "$(printf '%s\n' "${P2_ROWS[@]}" | jq -R 'split(" ") | map(tonumber) | {round: .[0], wsd_s: .[1], bare_s: .[2], ratio: .[3]}' | jq -s .)" \
	--argjson p2 "{\"concurrency\": $CONC, \"median_ratio\": $P2_MED, \"min\": $P2_MIN, \"max\": $P2_MAX, \"failures_wsd\": $P2_FAIL_WSD, \"failures_bare\": $P2_FAIL_BARE, \"wsd_cpu_s_per_wsd_batch\": $CPU_WSD, \"wsd_cpu_s_per_bare_batch\": $CPU_BARE}" \
	--argjson p3 "{\"records_listed\": $POP_READY, \"workspaces_total\": $NWS, \"reply_bytes\": $LIST_BYTES, \"during_wsd_starts\": {\"n\": $P3_N, \"p50_ms\": $P3_P50, \"p99_ms\": $P3_P99, \"max_ms\": $P3_MAX, \"errors\": $P3_ERR}, \"during_bare_starts\": {\"n\": $P3B_N, \"p50_ms\": $P3B_P50, \"p99_ms\": $P3B_P99, \"max_ms\": $P3B_MAX}, \"idle\": {\"n\": $P3I_N, \"p50_ms\": $P3I_P50, \"p99_ms\": $P3I_P99, \"max_ms\": $P3I_MAX}, \"one_of_all\": {\"during_wsd_starts\": {\"n\": $S3_N, \"p50_ms\": $S3_P50, \"p99_ms\": $S3_P99, \"max_ms\": $S3_MAX}, \"during_bare_starts\": {\"n\": $S3B_N, \"p50_ms\": $S3B_P50, \"p99_ms\": $S3B_P99, \"max_ms\": $S3B_MAX}, \"idle\": {\"n\": $S3I_N, \"p50_ms\": $S3I_P50, \"p99_ms\": $S3I_P99, \"max_ms\": $S3I_MAX}}}" \
	--argjson p4 "{\"list_population\": $P4_LIST, \"list_one\": $P4_LIST1, \"show\": $P4_SHOW}" \
	--argjson p5 "{\"idle_kb\": $RSS_IDLE, \"population_kb\": $RSS_POP, \"after_p2_kb\": $RSS_P2, \"after_p4_kb\": $RSS_LOAD, \"after_restart_kb\": $RSS_RESTART, \"peak_hwm_kb\": $HWM, \"anon_idle_kb\": $ANON_IDLE, \"anon_after_p4_kb\": $ANON_LOAD, \"private_idle_kb\": $PRIV_IDLE, \"private_after_p4_kb\": $PRIV_LOAD}" \
	--argjson p6 "{\"workspaces\": $N6, \"all_ready_s\": $T_READY, \"socket_s\": $T_SOCK, \"engine_list_ms\": $ENGINE_LIST_MS}" \
	--argjson k "{\"records\": $K_WS, \"listed\": $K_OWN, \"reply_bytes\": $K_BYTES, \"population_s\": $K_POP_S, \"population_failed\": $K_FAIL, \"during_wsd_starts\": {\"n\": $K_N, \"p50_ms\": $K_P50, \"p99_ms\": $K_P99, \"max_ms\": $K_MAX, \"errors\": $K_ERR}, \"during_bare_starts\": {\"n\": $KB_N, \"p50_ms\": $KB_P50, \"p99_ms\": $KB_P99, \"max_ms\": $KB_MAX}, \"idle\": {\"n\": $KI_N, \"p50_ms\": $KI_P50, \"p99_ms\": $KI_P99, \"max_ms\": $KI_MAX}, \"one_of_all\": {\"during_wsd_starts\": {\"p50_ms\": $KS_P50, \"p99_ms\": $KS_P99, \"max_ms\": $KS_MAX}, \"during_bare_starts\": {\"p50_ms\": $KSB_P50, \"p99_ms\": $KSB_P99, \"max_ms\": $KSB_MAX}, \"idle\": {\"p50_ms\": $KSI_P50, \"p99_ms\": $KSI_P99, \"max_ms\": $KSI_MAX}}, \"list_rps\": $(rps "$K_LIST"), \"rss_kb\": $RSS_KMAX, \"rss_after_population_kb\": $RSS_K, \"rss_after_starts_kb\": $RSS_K2, \"rss_after_load_kb\": $RSS_K4, \"rss_during_load_kb\": $RSS_K3, \"peak_hwm_kb\": $HWM_K, \"anon_kb\": $ANON_K}" \
	--argjson population "{\"asked\": $POP, \"ready\": $POP_READY, \"seconds\": $POP_S, \"failed\": $POP_FAIL}" \
	'{mode: $mode, when: $when, commit: $commit, machine: $machine,
	  load_before: $load_before, load_after: $load_after, engine_restarted: $engine_restarted,
	  total_s: $total_s, population: $population,
	  p1: ($p1 + {pairs: $pairs}), p2: ($p2 + {rounds: $p2rounds}), p3: $p3, p4: $p4,
	  p5: $p5, p6: $p6, k: $k}' >"$T/results.json"

cp "$T/table.txt" "$OUTDIR/$MODE.txt"
cp "$T/results.json" "$OUTDIR/$MODE.json"
if [ "$MODE" = full ]; then
	cp "$T/table.txt" "$OUTDIR/latest.txt"
	cp "$T/results.json" "$OUTDIR/latest.json"
fi
log "results: $OUTDIR/$MODE.json, $OUTDIR/$MODE.txt (full runs also latest.*)"
