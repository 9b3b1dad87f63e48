#!/bin/bash
# bench/swarm.sh: what swarm mode costs, on the test swarm of t_swarm (a
# drained manager and two workers, all containers on this machine;
# tests/integration/swarm_lib.sh).
#
#   W1  start to ready: `wsctl start` on the swarm vs a bare `docker run` of
#       the same container on the same worker (its engine, its address),
#       PAIRS alternating pairs, both on one fake GPU of w1.
#   W2  reconcile: N lite workspaces (bench/lite: a real sshd and a 200
#       responder) started through wsd, then wsd restarted: the time from
#       its exec to "ready" with N adopted.
#   W3  the poll: with N workspaces, wsd's CPU over 60 s (one poll every
#       swarm_poll) and the time of each of a poll's three requests.
#
# Runs as root with the build in build/ (WSLAB_BENCH_BUILD); results go to
# bench/results/swarm-DATE.txt.
#
# usage: bench/swarm.sh [--pairs N] [--n N]
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WSLAB_BENCH_BUILD:-$SRC/build}
PAIRS=5
N=200
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) PAIRS=$2; shift 2 ;;
	--n) N=$2; shift 2 ;;
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "swarm.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

WSLAB_TEST_IMAGE=wslab/offline-lite:1
PORT_BASE=40000
INSTANCE=benchswarm
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
# shellcheck source=../tests/integration/swarm_lib.sh
. "$SRC/tests/integration/swarm_lib.sh"
# bench/lib.sh's own log, as and stats are the bench's.
# shellcheck source=lib.sh
. "$SRC/bench/lib.sh"

need_root
LITE_IMAGE=wslab-bench/lite-swarm:1
READY=$BUILD/ready
OUTDIR=$SRC/bench/results
mkdir -p "$OUTDIR"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "$SRC/bench/ready.c" -o "$READY" || die "cc ready"
"$SRC/templates/offline/build.sh" --lite >/dev/null || die "cannot build $IMAGE"
# The lite image, on the offline-lite base (what the nodes already hold).
lctx=$(mktemp -d)
cc -O2 -static -Wall -Wextra -Werror "$SRC/bench/lite/ok200.c" -o "$lctx/ok200" || die "cc ok200"
cp "$SRC/bench/lite/Dockerfile" "$SRC/bench/lite/wslab-lite-entrypoint" "$lctx/"
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$IMAGE" -t "$LITE_IMAGE" "$lctx" >/dev/null 2>&1 ||
	die "cannot build $LITE_IMAGE"
rm -rf "$lctx"

SWARM_IMAGE=$IMAGE
swarm_up >/dev/null || die "the test swarm did not come up"
for n in mgr w1 w2; do
	docker save "$LITE_IMAGE" | docker exec -i "wslab-sw-$n" docker load -q >/dev/null || die "load $n"
done
T=$SWARM_SHARED/bench-$$ # on the "NFS": the bare runs' files must be seen by w1
mkdir -p "$T/home"
chmod 755 "$T"
# wsnode on each worker (wsd uses a node only with its report).
for n in w1 w2; do swarm_agent_install "$n" "$T/shared" || die "wsnode on $n"; done
SOCK=$T/wsd.sock
WSCTL=$BUILD/client/wsctl
WSD=$BUILD/server/wsd
MEM=512m
SHM=64m
CPUS=1
PIDS=4096
BARE_LABEL=wslab-bench.bare
BARE_PORT_BASE=$((PORT_BASE + 900))
W1IP=$(swarm_ip w1)
read -r -a G1 <<<"$SWARM_W1_GPUS"
U0=wsbench00
make_user "$U0"
for i in $(seq 1 16); do make_user "$(printf 'wsbench%02d' "$i")"; done

cat >"$T/wsd.conf" <<CONF
socket = $SOCK
state_dir = /var/lib/wslab-bench-swarm/state
home_root = $T/home
shared_dir = $T/shared
engine = unix://$SWARM_SOCK
engine_mode = swarm
network = $SWARM_PORTS_NET
swarm_poll = 2s
port_min = $PORT_BASE
port_max = $((PORT_BASE + 2 * N + 100))
ready_timeout = 180s
stop_timeout = 2s
log_level = info
instance = $INSTANCE
quota_gpus = unlimited
quota_workspaces = unlimited
max_booting = 16
[template offline]
image = $IMAGE
memory = $MEM
shm = $SHM
cpus = $CPUS
[template lite]
image = $LITE_IMAGE
memory = 64m
shm = 16m
cpus = 0.1
CONF
rm -rf /var/lib/wslab-bench-swarm
run_wsd() {
	"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
}
wait_wsd() {
	for _ in $(seq 1 6000); do
		grep -q "wsd .* ready: socket" "$T/wsd.log" && return 0
		sleep 0.05
	done
	die "wsd did not come up"
}
run_wsd
wait_wsd
for _ in $(seq 1 120); do
	[ "$("$WSCTL" --socket "$SOCK" admin nodes --json | jq '[.nodes[] | select(.status == "ready")] | length')" = 2 ] && break
	sleep 0.25
done

# W1: alternating pairs on w1's first GPU.
bare_swarm() { # prepare and run on w1; the timed part is the run and the wait
	local u=$1 uid gid jp=$BARE_PORT_BASE sp=$((BARE_PORT_BASE + 1)) d=$T/bare/0 tok
	uid=$(id -u "$u")
	gid=$(id -g "$u")
	read -r tok <"$d/etc/jupyter_token" || true
	swarm_docker w1 run -d --name wsbench-bare --label "$BARE_LABEL=1" \
		--user "$uid:$gid" --hostname bare --workdir "/home/$u" \
		--init --cap-drop ALL --security-opt no-new-privileges --pids-limit "$PIDS" \
		--memory "$MEM" --memory-swap "$MEM" --shm-size "$SHM" --cpus "$CPUS" \
		--ipc private --network bridge --restart no \
		--mount "type=bind,source=$d/home/$u,target=/home/$u" \
		--mount "type=bind,source=$d/etc,target=/etc/wslab,readonly" \
		--mount "type=bind,source=$d/etc/passwd,target=/etc/passwd,readonly" \
		--mount "type=bind,source=$d/etc/group,target=/etc/group,readonly" \
		-e "HOME=/home/$u" -e "USER=$u" -e "LOGNAME=$u" -e SHELL=/bin/bash \
		-e WSLAB_WORKSPACE=bare -e WSLAB_JUPYTER_PORT=8888 -e WSLAB_SSH_PORT=2222 \
		-e "NVIDIA_VISIBLE_DEVICES=${G1[0]}" -e "CUDA_VISIBLE_DEVICES=${G1[0]}" \
		-p "$W1IP:$jp:8888" -p "$W1IP:$sp:2222" "$IMAGE" >/dev/null || return 1
	READY_HOST=$W1IP "$READY" "$jp" "$sp" "$tok" 180
}
log "W1: $PAIRS alternating pairs on w1 (wsctl start vs bare docker run)"
: >"$T/w1"
for i in $(seq 1 "$PAIRS"); do
	for side in $( ((i % 2)) && echo "wsd bare" || echo "bare wsd"); do
		if [ "$side" = wsd ]; then
			t0=$(now)
			as "$U0" "$WSCTL" start --name "p$i" --gpu-ids "${G1[0]}" >/dev/null 2>&1 || log "wsd start $i failed"
			w=$(sub "$(now)" "$t0")
			as "$U0" "$WSCTL" stop "p$i" >/dev/null 2>&1
		else
			bare_prepare 0 "$U0"
			t0=$(now)
			bare_swarm "$U0" || log "bare run $i failed"
			b=$(sub "$(now)" "$t0")
			swarm_docker w1 rm -f wsbench-bare >/dev/null 2>&1
		fi
	done
	r=$(awk -v w="$w" -v b="$b" 'BEGIN { printf "%.3f", w / b }')
	log "  pair $i: wsd $w s, bare $b s, ratio $r"
	echo "$w $b $r" >>"$T/w1"
done

# W2: N lite workspaces, then wsd restarted.
log "W2: $N lite workspaces through wsd, 16 at a time"
t0=$(now)
pids=() # `wait` alone would wait for wsd too
for i in $(seq 1 "$N"); do
	u=$(printf 'wsbench%02d' $(((i - 1) % 16 + 1)))
	as "$u" "$WSCTL" start --name "l$i" --template lite >/dev/null 2>&1 &
	pids+=($!)
	if ((i % 16 == 0)); then
		wait "${pids[@]}"
		pids=()
	fi
done
[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
started=$(sub "$(now)" "$t0")
ready_n=$("$WSCTL" --socket "$SOCK" admin ls --json | jq '[.workspaces[] | select(.state == "ready")] | length')
log "  $ready_n ready after $started s"
kill "$WSD_PID"
wait "$WSD_PID"
: >"$T/wsd.log"
t0=$(now)
run_wsd
wait_wsd
reconcile=$(sub "$(now)" "$t0")
adopted=$(grep -o '[0-9]* workspaces adopted' "$T/wsd.log" | head -1)
log "  restarted: ready after $reconcile s, $adopted"

# W3: the poll with N workspaces.
log "W3: wsd's CPU over 60 s with $ready_n workspaces, and a poll's requests"
ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$WSD_PID/stat"; }
c0=$(cpu)
sleep 60
c1=$(cpu)
cpu_pct=$(awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN { printf "%.2f", (b - a) / t / 60 * 100 }')
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$WSD_PID/status")
filter=$(jq -rn --arg i "$INSTANCE" '{label: ["wslab.workspace", "wslab.instance=" + $i]} | tojson | @uri')
req() { # PATH: seconds and bytes of one request, as wsd makes it
	curl -s -o /dev/null -w '%{time_total} %{size_download}\n' --unix-socket "$SWARM_SOCK" \
		"http://swarm/v1.41$1"
}
for p in /nodes "/services?filters=$filter" /tasks; do
	for _ in 1 2 3 4 5; do req "$p"; done >"$T/req"
	printf '%s %s %s\n' "${p%%\?*}" "$(cut -d' ' -f1 "$T/req" | stats | cut -d' ' -f1)" \
		"$(tail -1 "$T/req" | cut -d' ' -f2)"
done >"$T/w3"
cat "$T/w3" >&2

# Clean up: the services go with the swarm.
kill "$WSD_PID"
wait "$WSD_PID"
out=$OUTDIR/swarm-$(date -u +%Y%m%d-%H%M).txt
{
	printf 'bench/swarm.sh on %s (%d cores), test swarm in containers, Engine 20.10\n' \
		"$(uname -r)" "$(nproc)"
	printf '\nW1 start to ready on w1, %d alternating pairs (seconds): wsd  bare  ratio\n' "$PAIRS"
	cat "$T/w1"
	printf 'median: wsd %s  bare %s  ratio %s\n' "$(cut -d' ' -f1 "$T/w1" | stats | cut -d' ' -f1)" \
		"$(cut -d' ' -f2 "$T/w1" | stats | cut -d' ' -f1)" "$(cut -d' ' -f3 "$T/w1" | stats | cut -d' ' -f1)"
	printf '\nW2 %d lite workspaces started 16 at a time in %s s (%s ready); wsd restarted: ready in %s s, %s\n' \
		"$N" "$started" "$ready_n" "$reconcile" "$adopted"
	printf '\nW3 with %s workspaces: wsd CPU %s%% over 60 s (swarm_poll 2s), RSS %s kB\n' "$ready_n" "$cpu_pct" "$rss"
	printf 'a poll'"'"'s requests (median of 5, seconds, bytes):\n'
	cat "$T/w3"
} | tee "$out"
swarm_down
rm -rf "$T" /var/lib/wslab-bench-swarm
