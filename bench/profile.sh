#!/bin/bash
# bench/profile.sh: where wsd's CPU goes while it serves lists, with perf.
#
# Builds wsd with symbols (RelWithDebInfo) into build-prof/, starts it with
# instance = prof, grows N "lite" workspaces (see bench/run.sh, phase K)
# owned by wsbench00, then samples wsd with `perf record -g` while
# bench/loadgen lists them over 64 connections, and writes the flat
# profile (self time per function) to bench/results/profile.txt.
# Run as root after bench/run.sh has built wslab-bench/lite:1 once.
#
# usage: bench/profile.sh [N] [SECONDS]     (default 1000 workspaces, 10 s)
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-1000}
SECS=${2:-10}
BUILD=$SRC/build-prof
LITE_IMAGE=wslab-bench/lite:1
U=wsbench00
T=
WSD_PID=

log() { printf '# %s\n' "$*" >&2; }
die() { printf 'profile: %s\n' "$*" >&2; exit 1; }
cleanup() {
	[ -n "$WSD_PID" ] && kill "$WSD_PID" 2>/dev/null && wait "$WSD_PID" 2>/dev/null
	docker ps -aq --filter label=wslab.instance=prof | xargs -r -n 16 -P 4 docker rm -f >/dev/null 2>&1 || true
	[ -n "$T" ] && rm -rf "$T"
}

[ "$(id -u)" = 0 ] || die "run as root"
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"
docker image inspect "$LITE_IMAGE" >/dev/null 2>&1 || die "$LITE_IMAGE missing: run bench/run.sh --quick once"
id "$U" >/dev/null 2>&1 || die "user $U missing: run bench/run.sh --quick once"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target wsd wsctl >/dev/null
cc -O2 -D_GNU_SOURCE "$SRC/bench/loadgen.c" -o "$BUILD/loadgen"

trap cleanup EXIT
T=$(mktemp -d /tmp/wslab-prof.XXXXXX)
chmod 755 "$T"
cat >"$T/wsd.conf" <<CONF
socket = $T/wsd.sock
state_dir = $T/state
home_root = $T/home
port_min = 27000
port_max = 29999
ready_timeout = 180s
instance = prof
default_template = lite
quota_gpus = unlimited
quota_workspaces = unlimited
static_gpus =
nvml_library = /nonexistent/libnvidia-ml.so.1
[template lite]
image = $LITE_IMAGE
memory = 64m
shm = 16m
cpus = 0.5
pids_limit = 64
CONF
"$BUILD/server/wsd" --config "$T/wsd.conf" >"$T/wsd.log" 2>&1 &
WSD_PID=$!
for _ in $(seq 1 300); do [ -S "$T/wsd.sock" ] && break; sleep 0.02; done
as() { runuser -u "$U" -- env WSCTL_SOCKET="$T/wsd.sock" "$@"; }

log "starting $N lite workspaces"
k=0
while [ "$k" -lt "$N" ]; do
	pids=()
	for _ in $(seq 1 16); do
		[ "$k" -lt "$N" ] || break
		k=$((k + 1))
		as "$BUILD/client/wsctl" start --name "p$k" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
done
n=$(as "$BUILD/client/wsctl" ls --json | jq '.workspaces | length')
log "$n workspaces; profiling $SECS s of lists (64 connections)"
perf record -q -F 1999 -g -p "$WSD_PID" -o "$T/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
perf_pid=$!
sleep 0.5
load=$(as "$BUILD/loadgen" -s "$T/wsd.sock" -c 64 -d "$((SECS - 1))" /v1/workspaces)
wait "$perf_pid" || true
mkdir -p "$SRC/bench/results"
{
	echo "wsd profile: $n workspaces listed by their owner, 64 connections, $SECS s"
	echo "commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), load: $load"
	echo
	perf report -i "$T/perf.data" --no-children --stdio --sort dso,symbol --percent-limit 0.7 2>/dev/null |
		grep -v '^$' | grep -E '^ +[0-9.]+%|^#' | head -60
} | tee "$SRC/bench/results/profile.txt"
