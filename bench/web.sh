#!/bin/bash
# bench/web.sh: what the web page costs wsd. Rounds alternate: 16 users
# start a workspace at once and stop it, while a loadgen lists one user's
# workspaces at a fixed rate (P3's request); in "page" rounds a headless
# Chromium has the admin page open (logged in through a `wsctl web` link;
# the page refreshes itself every 10 s), in "no page" rounds none runs.
# Reports the list latency during the starts and wsd's VmRSS.
#
# Runs as root against the running engine with wslab/offline:1 and
# Debian's chromium; its own wsd (instance webbench, private socket).
# Writes bench/results/web.txt.
#
# usage: bench/web.sh [--rounds R] [--n N]   (defaults 2, 16)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WSLAB_BENCH_BUILD:-$SRC/build-bench}
OUTDIR=${WSLAB_BENCH_OUT:-$SRC/bench/results}
IMAGE=wslab/offline:1
INSTANCE=webbench
BARE_LABEL=wslab-bench.web-none
ROUNDS=2 N=16 RATE=200 WPORT=28990
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--n) N=$2; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
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
BROWSER_PID=

[ "$(id -u)" = 0 ] || die "run as root"
command -v chromium >/dev/null || die "chromium missing"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target wsd wsctl >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$SRC/bench/loadgen.c" -o "$LOADGEN"

browser_stop() {
	if [ -n "$BROWSER_PID" ]; then
		kill "$BROWSER_PID" 2>/dev/null || true
		wait "$BROWSER_PID" 2>/dev/null || true
		BROWSER_PID=
	fi
}
cleanup() {
	browser_stop
	if [ -n "$WSD_PID" ]; then
		kill "$WSD_PID" 2>/dev/null || true
		wait "$WSD_PID" 2>/dev/null || true
	fi
	remove_ours
	[ -z "$T" ] || rm -rf "$T"
}
trap cleanup EXIT
remove_ours
T=$(mktemp -d /tmp/wslab-webbench.XXXXXX)
chmod 755 "$T"
SOCK=$T/wsd.sock
mkdir -p "$OUTDIR"
user_name() { printf 'wsweb%02d' "$1"; }
for i in $(seq 0 $((N - 1))); do
	u=$(user_name "$i")
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
	home=$(getent passwd "$u" | cut -d: -f6)
	[ -f "$home/.ssh/id_ed25519.pub" ] || {
		runuser -u "$u" -- mkdir -p -m 700 "$home/.ssh"
		runuser -u "$u" -- ssh-keygen -q -t ed25519 -N '' -f "$home/.ssh/id_ed25519"
	}
done
cat >"$T/wsd.conf" <<CONF
socket = $SOCK
state_dir = $T/state
home_root = $T/home
port_min = 28000
port_max = 28899
ready_timeout = 300s
stop_timeout = 2s
instance = $INSTANCE
quota_gpus = unlimited
quota_workspaces = unlimited
nvml_library = /nonexistent/libnvidia-ml.so.1
web_listen = 127.0.0.1:$WPORT
[template offline]
image = $IMAGE
memory = 1g
shm = 128m
cpus = 1
CONF
"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
WSD_PID=$!
for _ in $(seq 1 600); do [ -S "$SOCK" ] && break; sleep 0.01; done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$WSD_PID/status"; }
round() { # TAG
	local pids=() i u
	# A fixed window that covers the starts (they take about 10 s here).
	as "$(user_name 0)" "$LOADGEN" -s "$SOCK" -c 4 -d 20 -r "$RATE" /v1/workspaces >"$T/$1.$r.json" &
	local lg=$!
	sleep 1
	for i in $(seq 0 $((N - 1))); do
		wsd_once "$(user_name "$i")" b &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	rss >>"$T/$1.rss"
	wait "$lg" 2>/dev/null || true
	pids=()
	for i in $(seq 0 $((N - 1))); do
		wsd_stop "$(user_name "$i")" b &
		pids+=($!)
	done
	wait "${pids[@]}" || true
}
for r in $(seq 1 "$ROUNDS"); do
	log "round $r: no page"
	round nopage
	log "round $r: the admin page open in Chromium"
	link=$("$WSCTL" --socket "$SOCK" web | grep -o 'http://[^ ]*' | head -1)
	chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
		--remote-debugging-port=0 "$link" >/dev/null 2>&1 &
	BROWSER_PID=$!
	sleep 3
	round page
	browser_stop
done
summary() { # TAG -> "p50 p99 max rss_max_kB"
	local p50=0 p99=0 max=0
	for f in "$T/$1".*.json; do
		p50=$(jq -r --argjson a "$p50" '[.p50_ms, $a] | max' "$f")
		p99=$(jq -r --argjson a "$p99" '[.p99_ms, $a] | max' "$f")
		max=$(jq -r --argjson a "$max" '[.max_ms, $a] | max' "$f")
	done
	echo "$p50 $p99 $max $(sort -n "$T/$1.rss" | tail -1)"
}
read -r A50 A99 AMAX ARSS < <(summary nopage)
read -r B50 B99 BMAX BRSS < <(summary page)
{
	printf 'wslab web bench %s, commit %s\n' "$(date -u +%FT%TZ)" "$(git -C "$SRC" rev-parse --short HEAD)"
	printf 'machine: %s cores, load average %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%d rounds of %d concurrent starts; list of one user'"'"'s workspaces at %d/s during the starts\n' \
		"$ROUNDS" "$N" "$RATE"
	printf '%-34s %-28s %s\n' "" "list p50 / p99 / max (ms)" "wsd VmRSS after the starts (max)"
	printf '%-34s %-28s %s MB\n' "no page" "$A50 / $A99 / $AMAX" "$(awk -v k="$ARSS" 'BEGIN {printf "%.1f", k / 1024}')"
	printf '%-34s %-28s %s MB\n' "admin page open in Chromium" "$B50 / $B99 / $BMAX" "$(awk -v k="$BRSS" 'BEGIN {printf "%.1f", k / 1024}')"
} | tee "$OUTDIR/web.txt"
