#!/bin/bash
# bench/storm.sh: a class starts at once. N users start a workspace at
# the same moment through wsd (boots paced, the default), through wsd with
# pacing off (max_booting = unlimited), and as N bare `docker run`s of the same
# container at once followed by the same readiness check. For each: the
# per-user time from the common start to ready (p50, p95), the wall time
# (the last one ready) and failures.
#
# Runs as root against the running engine with wslab/offline:1; its own
# wsd (instance storm, private socket) and users wsstorm00..; writes
# bench/results/storm.txt and storm.json.
#
# usage: bench/storm.sh [--n N] (default 40)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WSLAB_BENCH_BUILD:-$SRC/build-bench}
OUTDIR=${WSLAB_BENCH_OUT:-$SRC/bench/results}
IMAGE=wslab/offline:1
INSTANCE=storm
BARE_LABEL=wslab-bench.storm
BARE_PORT_BASE=25000
MEM=1g
SHM=128m
CPUS=1
PIDS=4096
N=40
while [ $# -gt 0 ]; do
	case $1 in
	--n) N=$2; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
. "$SRC/bench/lib.sh"
WSD=$BUILD/server/wsd
WSCTL=$BUILD/client/wsctl
READY=$BUILD/ready
T=
WSD_PID=

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target wsd wsctl >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$SRC/bench/ready.c" -o "$READY"

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
T=$(mktemp -d /tmp/wslab-storm.XXXXXX)
chmod 755 "$T"
SOCK=$T/wsd.sock
mkdir -p "$OUTDIR" "$T/bare" "$T/times"

user_name() { printf 'wsstorm%02d' "$1"; }
for i in $(seq 0 $((N - 1))); do
	u=$(user_name "$i")
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
	home=$(getent passwd "$u" | cut -d: -f6)
	if [ ! -f "$home/.ssh/id_ed25519.pub" ]; then
		runuser -u "$u" -- mkdir -p -m 700 "$home/.ssh"
		runuser -u "$u" -- ssh-keygen -q -t ed25519 -N '' -f "$home/.ssh/id_ed25519"
	fi
done

start_wsd() { # EXTRA CONFIG LINES
	cat >"$T/wsd.conf" <<CONF
socket = $SOCK
state_dir = $T/state
home_root = $T/home
port_min = 27000
port_max = 27999
ready_timeout = 300s
stop_timeout = 2s
instance = $INSTANCE
quota_gpus = unlimited
quota_workspaces = unlimited
nvml_library = /nonexistent/libnvidia-ml.so.1
$1
[template offline]
image = $IMAGE
memory = $MEM
shm = $SHM
cpus = $CPUS
pids_limit = $PIDS
CONF
	rm -f "$SOCK"
	"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 600); do [ -S "$SOCK" ] && return 0; sleep 0.01; done
	tail -n 20 "$T/wsd.log" >&2
	echo "wsd did not start" >&2
	exit 1
}

# storm TAG: every user at once; per-user seconds (or "fail") into $T/times/TAG.
storm() {
	local tag=$1 t0 i pids=()
	: >"$T/times/$tag"
	[ "$tag" != bare ] || for i in $(seq 0 $((N - 1))); do bare_prepare "$i" "$(user_name "$i")"; done
	t0=$(now)
	for i in $(seq 0 $((N - 1))); do
		(
			if [ "$tag" = bare ]; then bare_run "$i" "$(user_name "$i")"; else
				wsd_once "$(user_name "$i")" storm; fi && echo "$(sub "$(now)" "$t0")" >>"$T/times/$tag" ||
				echo fail >>"$T/times/$tag"
		) &
		pids+=($!)
	done
	wait "${pids[@]}" # not a bare wait: wsd is a child too
	pids=()
	for i in $(seq 0 $((N - 1))); do
		if [ "$tag" = bare ]; then bare_rm "$i" & else wsd_stop "$(user_name "$i")" storm & fi
		pids+=($!)
	done
	wait "${pids[@]}"
}
pct() { # TAG -> "p50 p95 wall failures"
	local f=$T/times/$1
	grep -v fail "$f" | sort -g | awk -v fails="$(grep -c fail "$f" || true)" '{ a[NR] = $1 }
	function q(p,  x, i, g) { x = 1 + p * (NR - 1); i = int(x); g = x - i
		return i < NR ? a[i] + g * (a[i + 1] - a[i]) : a[i] }
	END { printf "%.2f %.2f %.2f %d\n", q(0.5), q(0.95), a[NR], fails }'
}

log "storm: $N users at once, bare"
storm bare
log "storm: $N users at once, wsd with boots paced"
start_wsd ""
storm paced
LIMIT=$(curl -sf --unix-socket "$SOCK" http://wsd/v1/admin/workspaces | jq -r '.boot.limit')
stop_wsd
log "storm: $N users at once, wsd with pacing off"
start_wsd "max_booting = unlimited"
storm unpaced
stop_wsd

read -r BP50 BP95 BWALL BF < <(pct bare)
read -r PP50 PP95 PWALL PF < <(pct paced)
read -r UP50 UP95 UWALL UF < <(pct unpaced)
{
	echo "wslab storm $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $N users at once"
	printf '%-28s %8s %8s %8s %8s\n' "" "p50 s" "p95 s" "wall s" failures
	printf '%-28s %8s %8s %8s %8s\n' "bare docker run, all at once" "$BP50" "$BP95" "$BWALL" "$BF"
	printf '%-28s %8s %8s %8s %8s\n' "wsd, boots paced" "$PP50" "$PP95" "$PWALL" "$PF"
	printf '%-28s %8s %8s %8s %8s\n' "wsd, pacing off" "$UP50" "$UP95" "$UWALL" "$UF"
	echo "paced limit at the end: $LIMIT; median paced / bare: $(awk -v a="$PP50" -v b="$BP50" 'BEGIN { printf "%.2f", a / b }') (goal <= 0.6); wall paced / bare: $(awk -v a="$PWALL" -v b="$BWALL" 'BEGIN { printf "%.2f", a / b }') (goal <= 1)"
} | tee "$OUTDIR/storm.txt"
jq -n --argjson n "$N" --argjson limit "${LIMIT:-null}" \
	--argjson bare "{\"p50\": $BP50, \"p95\": $BP95, \"wall\": $BWALL, \"failures\": $BF}" \
	--argjson paced "{\"p50\": $PP50, \"p95\": $PP95, \"wall\": $PWALL, \"failures\": $PF}" \
	--argjson unpaced "{\"p50\": $UP50, \"p95\": $UP95, \"wall\": $UWALL, \"failures\": $UF}" \
	'{users: $n, limit_at_end: $limit, bare: $bare, paced: $paced, unpaced: $unpaced}' >"$OUTDIR/storm.json"
