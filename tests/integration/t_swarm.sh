#!/bin/bash
# Swarm mode: one wsd, a lab of GPU servers on a Docker Swarm. A 3-node
# swarm inside containers (swarm_lib.sh): a drained manager whose engine
# wsd uses, and two workers with 2 and 1 fake GPUs whose fake nvidia
# runtime records the devices each task got and refuses unknown ones.
# Checks: GPUs exclusive across nodes under concurrent starts, placement,
# access at the node's address, the settings of each task's container, a
# quota across nodes, a SIGKILL of wsd during starts, a node that dies and
# comes back, a node without no-new-privileges, and an admin removing a
# dead node; wsnode, the agent on each worker: the GPUs' use from its
# NVML, a node that does not see the shared home root is not used, and
# the SSH sessions of a workspace are reported.
PORT_BASE=27400
WSLAB_TEST_IMAGE=${WSLAB_TEST_IMAGE:-wslab/offline-lite:1}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=swarm_lib.sh
. "$(dirname "$0")/swarm_lib.sh"

need_root
for tool in jq curl ssh docker runuser mmdebstrap; do
	command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ -x "$WSD" ] && [ -x "$WSCTL" ] || { echo "build first: $WSD, $WSCTL" >&2; exit 1; }
ensure_engine
if [ "$IMAGE" = wslab/offline-lite:1 ]; then
	"$SRC/templates/offline/build.sh" --lite || { echo "cannot build $IMAGE" >&2; exit 1; }
fi
SWARM_IMAGE=$IMAGE
t0=$SECONDS
swarm_up || { echo "the test swarm did not come up" >&2; swarm_down; exit 1; }
log "swarm up in $((SECONDS - t0)) s"

T=$(mktemp -d /tmp/wslab-it.XXXXXX)
chmod 755 "$T"
LAB=$SWARM_SHARED/$INSTANCE # the lab's NFS: homes and workspace files
mkdir -p "$LAB/home" "$LAB/datasets/d1" "$LAB/datasets/theirs"
echo hello >"$LAB/datasets/d1/file"
chmod 755 "$LAB/datasets" "$LAB/datasets/d1" "$LAB/datasets/theirs"
W1=wslab-sw-w1
W2=wslab-sw-w2
read -r -a G1 <<<"$SWARM_W1_GPUS"
G2=$SWARM_W2_GPUS
ADMIN=(--socket "$T/wsd.sock")
MGR=(docker -H "unix://$SWARM_SOCK")

swarm_cleanup() {
	cleanup
	local ids
	ids=$("${MGR[@]}" service ls -q --filter "label=wslab.instance=$INSTANCE" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -n "$ids" ] && "${MGR[@]}" service rm $ids >/dev/null 2>&1
	swarm_down
	rm -rf "$LAB"
}
trap 'swarm_cleanup; exit 1' INT TERM

cat >"$T/wsd.conf" <<CONF
socket = $T/wsd.sock
state_dir = $T/state
home_root = $LAB/home
shared_dir = $LAB/shared
engine = unix://$SWARM_SOCK
engine_mode = swarm
network = $SWARM_PORTS_NET
swarm_poll = 1s
port_min = $PORT_BASE
port_max = $((PORT_BASE + 199))
ready_timeout = 90s
stop_timeout = 2s
log_level = debug
instance = $INSTANCE
quota_gpus = unlimited
quota_workspaces = 1
shared_mount_roots = $LAB/datasets
mount_points = /data
idle_warn = 4s
idle_check_interval = 1s
idle_gpu_util = 10
[template offline]
image = $IMAGE
memory = 512m
shm = 64m
cpus = 1
[template mgronly]
image = wslab/mgr-only:1
memory = 512m
shm = 64m
cpus = 1
CONF
# An image the manager has and no worker does (an admin forgot to load it).
printf 'FROM %s\nLABEL wslab.test=mgr-only\n' "$IMAGE" |
	docker exec -i -e DOCKER_BUILDKIT=0 wslab-sw-mgr docker build -q -t wslab/mgr-only:1 - >/dev/null ||
	fail "an image on the manager only"

run_wsd() {
	"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 300); do
		[ -S "$T/wsd.sock" ] && "$WSCTL" "${ADMIN[@]}" gpus >/dev/null 2>&1 && return 0
		kill -0 "$WSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 30 "$T/wsd.log"
	echo "wsd did not start" >&2
	swarm_cleanup
	exit 1
}

U=(wslab-swa wslab-swb wslab-swc wslab-swd wslab-swe)
for u in "${U[@]}"; do make_user "$u"; done
for n in w1 w2; do swarm_agent_install "$n" "$LAB/shared" || fail "wsnode on $n"; done
run_wsd
# status_of HOSTNAME: the node's status in wsctl admin nodes.
status_of() { "$WSCTL" "${ADMIN[@]}" admin nodes --json | jq -r --arg n "$1" '.nodes[] | select(.hostname == $n) | .status'; }
# until_status HOSTNAME STATUS SECONDS
until_status() {
	for _ in $(seq 1 $(($3 * 4))); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.25; done
	return 1
}
t0=$SECONDS
until_status "$W1" ready 30 && until_status "$W2" ready 30 &&
	pass "both workers' wsnode reports are read ($((SECONDS - t0)) s after wsd's start)" ||
	fail "the workers' wsnode reports ($("$WSCTL" "${ADMIN[@]}" admin nodes))"

state() { as "$1" "$WSCTL" show "$2" --json 2>/dev/null | jq -r .state; }
# gone USER NAME SECONDS: the workspace is no more.
gone() {
	for _ in $(seq 1 $(($3 * 2))); do
		as "$1" "$WSCTL" show "$2" >/dev/null 2>&1 || return 0
		sleep 0.5
	done
	return 1
}
# holder UUID: the id of the workspace that holds it ("" free).
holder() { "$WSCTL" "${ADMIN[@]}" gpus --json | jq -r --arg u "$1" '.gpus[] | select(.uuid == $u) | .workspace_id // ""'; }
# task_container NODE SERVICE-ID: the container of the service's task on that node.
task_container() { swarm_docker "$1" ps -q --no-trunc --filter "label=com.docker.swarm.service.id=$2"; }

# 1. The lab as wsd sees it.
nodes=$("$WSCTL" "${ADMIN[@]}" admin nodes --json)
expect_eq "three nodes: the drained manager and two workers" \
	"$(jq -r '[.nodes[] | "\(.hostname) \(.status) \(.gpus)"] | sort | join(",")' <<<"$nodes")" \
	"wslab-sw-mgr drained 0,$W1 ready 2,$W2 ready 1"
expect_eq "every GPU of the lab, each with its node" \
	"$("$WSCTL" "${ADMIN[@]}" gpus --json | jq -r '[.gpus[] | "\(.node) \(.uuid)"] | sort | join(",")')" \
	"$W1 ${G1[0]},$W1 ${G1[1]},$W2 $G2"
expect_match "wsctl gpus shows the node" "$(as "${U[0]}" "$WSCTL" gpus)" "$W2 +$G2"
expect_eq "each GPU's model as the node's NVML names it" \
	"$("$WSCTL" "${ADMIN[@]}" gpus --json | jq -r '[.gpus[].name] | unique | join(",")')" "NVIDIA H200"
swarm_fake_util w2 73
for _ in $(seq 1 40); do
	u=$("$WSCTL" "${ADMIN[@]}" gpus --json | jq -r --arg u "$G2" '.gpus[] | select(.uuid == $u) | .utilization')
	[ "$u" = 73 ] && break
	sleep 0.25
done
expect_eq "a GPU's use comes from its node's wsnode" "$u" 73
swarm_fake_util w2 0
expect_eq "the agent's state in wsctl admin nodes" \
	"$("$WSCTL" "${ADMIN[@]}" admin nodes --json | jq -r '[.nodes[] | select(.gpus > 0) | .agent.state] | join(",")')" "ok,ok"
# A node that does not see the lab's shared homes is not used, and the admin sees why.
docker exec "$W2" mount -t tmpfs -o size=1m tmpfs "$LAB/home" || fail "a private home root on w2"
until_status "$W2" unfit 15 || fail "w2 without the shared homes: $(status_of "$W2")"
expect_match "a node without the shared home root: wsctl admin nodes says why" \
	"$("$WSCTL" "${ADMIN[@]}" admin nodes)" "not used: its home_root is not the lab's shared one"
expect_match "and the log tells the admin" "$(cat "$T/wsd.log")" "node $W2 .*not used for new workspaces: its home_root"
out=$(as "${U[0]}" "$WSCTL" start --name private --gpu-ids "$G2" --json 2>&1) &&
	fail "a workspace started on a node without the shared homes" ||
	expect_match "a start that names its GPU is refused" "$out" "takes no new workspaces"
docker exec "$W2" umount "$LAB/home" || fail "w2's private home root goes"
until_status "$W2" ready 15 && pass "with the shared homes back, w2 is used again" ||
	fail "w2 after its home root came back: $(status_of "$W2")"
out=$(as "${U[0]}" "$WSCTL" admin nodes 2>&1) && fail "a student listed the nodes" ||
	expect_match "a student cannot list the nodes" "$out" 'forbidden|admin'

# 2. Five students start --gpus 1 at once: three GPUs, three workspaces.
pids=()
for i in 0 1 2 3 4; do
	as "${U[$i]}" "$WSCTL" start --name w --gpus 1 --json >"$T/start$i" 2>"$T/err$i" &
	pids+=($!)
done
wait "${pids[@]}"
ready() { [ "$(jq -r .state "$1" 2>/dev/null)" = ready ]; }
ok=0
for i in 0 1 2 3 4; do
	if ready "$T/start$i"; then ok=$((ok + 1)); fi
done
expect_eq "exactly three of five concurrent starts succeed" "$ok" 3
for i in 0 1 2 3 4; do
	ready "$T/start$i" ||
		expect_match "a refused start says why" "$(cat "$T/start$i" "$T/err$i")" 'GPU'
done
uuids=$(cat "$T"/start* 2>/dev/null | jq -r 'select(.state == "ready") | .gpus[0].uuid' | sort)
expect_eq "each GPU once" "$(uniq <<<"$uuids" | wc -l)" 3
expect_eq "on the right nodes" \
	"$(cat "$T"/start* 2>/dev/null | jq -r 'select(.state == "ready") | "\(.node) \(.gpus[0].uuid)"' | sort | tr '\n' ',')" \
	"$W1 ${G1[0]},$W1 ${G1[1]},$W2 $G2,"
for i in 0 1 2 3 4; do
	ready "$T/start$i" || continue
	u=${U[$i]}
	ws=$(cat "$T/start$i")
	node=$(jq -r .node <<<"$ws")
	n=${node#wslab-sw-}
	host=$(jq -r .ssh_host <<<"$ws")
	gpu=$(jq -r '.gpus[0].uuid' <<<"$ws")
	expect_eq "$u: its address is its node's" "$host" "$(swarm_ip "$n")"
	cid=$(task_container "$n" "$(jq -r .container_id <<<"$ws")")
	expect_match "$u: the fake runtime on $n gave its task exactly $gpu" \
		"$(swarm_gpu_log "$n" | grep "^$cid")" "^$cid $gpu\$"
	url=$(jq -r .jupyter_url <<<"$ws")
	jp=$(jq -r .jupyter_port <<<"$ws")
	expect_match "$u: the Jupyter URL names the node's address" "$url" "^http://$host:$jp/"
	expect_eq "$u: Jupyter answers there with the token" \
		"$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$jp/api/status?token=${url##*token=}")" 200
	expect_eq "$u: and not without it" \
		"$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$jp/api/status")" 403
	if [ -z "${ssh_seen:-}" ]; then
		# An open SSH session, as the node's wsnode reports it for idle reclaim.
		ssh_seen=1
		as "$u" "$WSCTL" ssh w -- sleep 15 </dev/null >"$T/ssh-open.out" 2>&1 &
		spid=$!
		svc=$(jq -r .container_id <<<"$ws")
		rep=$LAB/shared/nodes/$(swarm_node_id "$n").json
		for _ in $(seq 1 48); do
			jq -e --arg s "$svc" --arg u "sshd: $u@" '.workspaces[$s] | any(startswith($u))' "$rep" >/dev/null 2>&1 && break
			sleep 0.25
		done
		expect_match "$u: an open SSH session is in its node's wsnode report" \
			"$(jq -c --arg s "$svc" '.workspaces[$s]' "$rep")" "sshd: $u@"
		kill "$spid" 2>/dev/null
		[ -s "$T/ssh-open.out" ] && log "the ssh session said: $(cat "$T/ssh-open.out")"
	fi
	expect_eq "$u: OpenSSH with the pinned key runs as the student" \
		"$(as "$u" "$WSCTL" ssh w -- id -u </dev/null 2>/dev/null)" "$(id -u "$u")"
	insp=$(swarm_docker "$n" inspect "$cid")
	expect_eq "$u: the container runs as the student's uid" \
		"$(jq -r '.[0].Config.User' <<<"$insp")" "$(id -u "$u"):$(id -g "$u")"
	expect_eq "$u: with no capabilities" "$(jq -r '.[0].HostConfig.CapDrop | join(",")' <<<"$insp")" ALL
	expect_eq "$u: and its memory limit" "$(jq -r '.[0].HostConfig.Memory' <<<"$insp")" $((512 << 20))
	status=$(swarm_docker "$n" exec "$cid" cat /proc/1/status)
	expect_match "$u: NoNewPrivs is set" "$status" 'NoNewPrivs:[[:space:]]+1'
	expect_match "$u: CapEff is empty" "$status" 'CapEff:[[:space:]]+0+$'
	expect_match "$u: /dev/shm is its size" \
		"$(swarm_docker "$n" exec "$cid" df -k /dev/shm | tail -1)" '^tmpfs +65536 '
	expect_eq "$u: the ports are published on the node's address only" \
		"$(swarm_docker "$n" port "$cid" 8888/tcp)" "$(swarm_ip "$n"):$jp"
	first=$u
done
out=$(as "$first" "$WSCTL" start --name again --json 2>&1) && fail "a second workspace beyond the quota" ||
	expect_match "a quota of 1 workspace holds across nodes" "$out" 'quota|workspaces'
for u in "${U[@]}"; do as "$u" "$WSCTL" stop w >/dev/null 2>&1; done
expect_eq "stopped: no service of this wsd is left" \
	"$("${MGR[@]}" service ls -q --filter "label=wslab.instance=$INSTANCE" | wc -l)" 0

# 2b. A read-only mount from a shared root: the node binds it by its path.
chown "${U[0]}" "$LAB/datasets/theirs"
ws=$(as "${U[0]}" "$WSCTL" start --name data --mount "$LAB/datasets/d1:/data/d1:ro" --json) ||
	fail "a start with a shared read-only mount: $ws"
n=$(jq -r .node <<<"$ws")
cid=$(task_container "${n#wslab-sw-}" "$(jq -r .container_id <<<"$ws")")
expect_eq "a read-only mount from a shared root is there on the node" \
	"$(swarm_docker "${n#wslab-sw-}" exec "$cid" cat /data/d1/file 2>&1)" hello
expect_match "and read-only" \
	"$(swarm_docker "${n#wslab-sw-}" exec "$cid" touch /data/d1/x 2>&1)" "Read-only file system"
as "${U[0]}" "$WSCTL" stop data >/dev/null
out=$(as "${U[0]}" "$WSCTL" start --name data --mount "$LAB/datasets/d1:/data/d1" 2>&1) &&
	fail "a writable mount in swarm mode" ||
	expect_match "a writable mount is refused in swarm mode, and says why" "$out" "only read-only mounts"
out=$(as "${U[0]}" "$WSCTL" start --name data --mount "$LAB/datasets/theirs:/data/t:ro" 2>&1) &&
	fail "a mount of a path its user could swap" ||
	expect_match "a path a student could change under the node is refused" "$out" "must be root's"
out=$(as "${U[0]}" "$WSCTL" start --name data --mount "$T:/data/t:ro" 2>&1) &&
	fail "a node-local path was mounted" ||
	expect_match "a path outside the shared roots is refused" "$out" "outside the allowed mount roots"
expect_eq "the refusals left nothing" \
	"$(as "${U[0]}" "$WSCTL" ls --json | jq '[.workspaces[] | select(.name == "data")] | length')" 0

# 2c. Idle reclaim in swarm mode: GPU use from the nodes' wsnode, Jupyter at
# the node's address, SSH sessions from the reports. An idle workspace on
# w2 is reclaimed; one whose GPU on w1 is busy stays.
for u in "${U[3]}" "${U[4]}"; do
	"$WSCTL" "${ADMIN[@]}" admin quota set --user "$u" --idle-timeout 10s >/dev/null || fail "idle quota for $u"
done
swarm_fake_util w1 50
as "${U[3]}" "$WSCTL" start --name idle --gpu-ids "$G2" --json >/dev/null || fail "start idle"
as "${U[4]}" "$WSCTL" start --name busy --gpu-ids "${G1[0]}" --json >/dev/null || fail "start busy"
expect_match "wsctl show says when it is reclaimed" "$(as "${U[3]}" "$WSCTL" show idle)" 'Idle: .*reclaimed in'
gone "${U[3]}" idle 40 && pass "an idle workspace on a node is reclaimed" || fail "idle was not reclaimed"
expect_eq "its GPU is free again" "$(holder "$G2")" ""
expect_match "the reclaim is audited with its evidence" \
	"$(sqlite3 "$T/state/wsd.db" "SELECT detail FROM audit WHERE action = 'idle_reclaim' AND target = '${U[3]}/idle'")" \
	'idle since .*; last GPU use never, last Jupyter activity .*, last SSH session never'
expect_eq "a workspace whose GPU its node reports busy stays" "$(state "${U[4]}" busy)" ready
as "${U[4]}" "$WSCTL" stop busy >/dev/null
swarm_fake_util w1 0
for u in "${U[3]}" "${U[4]}"; do
	"$WSCTL" "${ADMIN[@]}" admin quota set --user "$u" --idle-timeout unlimited >/dev/null
done

# 2d. A template whose image a node lacks: the start says so, the node stays in use.
out=$(as "${U[2]}" "$WSCTL" start --name noimg --template mgronly --gpu-ids "$G2" 2>&1) &&
	fail "a workspace ran without its image" ||
	expect_match "a node without the template's image: the start says so" "$out" \
		"its server $W2 does not have this template's image"
expect_match "and the log tells the admin" "$(cat "$T/wsd.log")" "node $W2 .*does not have image"
expect_eq "the node stays in use for other templates" "$(status_of "$W2")" ready
expect_eq "nothing of it is left" \
	"$(as "${U[2]}" "$WSCTL" ls --json | jq '[.workspaces[] | select(.name == "noimg")] | length')" 0

# 3. Two GPUs land on the node that has two.
ws=$(as "${U[0]}" "$WSCTL" start --name two --gpus 2 --json) || fail "start --gpus 2"
expect_eq "--gpus 2 lands on the node with two" "$(jq -r .node <<<"$ws")" "$W1"
as "${U[0]}" "$WSCTL" stop two >/dev/null

# 3b. An admin drains a node for wsd: no new workspaces there, running ones stay.
as "${U[1]}" "$WSCTL" start --name ondrain --gpu-ids "${G1[0]}" --json >/dev/null || fail "start on w1"
out=$(as "${U[2]}" "$WSCTL" admin nodes drain "$W1" 2>&1) && fail "a student drained a node" ||
	expect_match "a student cannot drain a node" "$out" 'forbidden|admin'
expect_match "an admin drains it" "$("$WSCTL" "${ADMIN[@]}" admin nodes drain "$W1")" 'no new workspaces'
expect_eq "it shows drained (wsd)" \
	"$("$WSCTL" "${ADMIN[@]}" admin nodes --json | jq -r --arg n "$W1" '.nodes[] | select(.hostname == $n) | .status')" \
	"drained (wsd)"
out=$(as "${U[2]}" "$WSCTL" start --name there --gpu-ids "${G1[1]}" 2>&1) && fail "a start on a drained node" ||
	expect_match "a start naming its free GPU is refused, and says why" "$out" 'takes no new workspaces'
ws=$(as "${U[2]}" "$WSCTL" start --name elsewhere --gpus 1 --json) || fail "a start while w1 is drained"
expect_eq "a start goes elsewhere" "$(jq -r .node <<<"$ws")" "$W2"
as "${U[2]}" "$WSCTL" stop elsewhere >/dev/null
expect_eq "the workspace running there stays" "$(state "${U[1]}" ondrain)" ready
"$WSCTL" "${ADMIN[@]}" admin nodes undrain "$W1" >/dev/null || fail "undrain"
for verb in drain undrain rm; do
	out=$("$WSCTL" "${ADMIN[@]}" admin nodes $verb no-such-node 2>&1) &&
		fail "admin nodes $verb of an unknown node succeeded" ||
		expect_match "admin nodes $verb of an unknown node says so" "$out" "no node named no-such-node"
done
expect_eq "undrained, it takes workspaces again" \
	"$("$WSCTL" "${ADMIN[@]}" admin nodes --json | jq -r --arg n "$W1" '.nodes[] | select(.hostname == $n) | .status')" ready
expect_eq "both are audited" \
	"$(sqlite3 "$T/state/wsd.db" "SELECT group_concat(action) FROM audit WHERE action LIKE 'node_%drain' AND result = 'ok'")" \
	"node_drain,node_undrain"
as "${U[1]}" "$WSCTL" stop ondrain >/dev/null

# 4. SIGKILL of wsd during five starts: afterwards every service of this
# wsd is a workspace it lists, or gone, and no GPU is held twice.
pids=()
for i in 0 1 2 3 4; do
	as "${U[$i]}" "$WSCTL" start --name k --gpus $((i < 3 ? 1 : 0)) --json >/dev/null 2>&1 &
	pids+=($!)
done
sleep 1.5
kill -9 "$WSD_PID"
wait "$WSD_PID" 2>/dev/null
wait "${pids[@]}"
run_wsd
for _ in $(seq 1 60); do
	listed=$("$WSCTL" "${ADMIN[@]}" admin ls --json | jq -r '.workspaces[] | select(.state == "ready") | .container_id' | sort)
	services=$("${MGR[@]}" service ls -q --no-trunc --filter "label=wslab.instance=$INSTANCE" | sort)
	[ "$listed" = "$services" ] && break
	sleep 1
done
expect_eq "after a SIGKILL: every service is a listed workspace, or removed" "$services" "$listed"
held=$("$WSCTL" "${ADMIN[@]}" gpus --json | jq -r '.gpus[] | select(.workspace_id) | .workspace_id' | sort)
expect_eq "no GPU held twice" "$(uniq -d <<<"$held")" ""
for u in "${U[@]}"; do as "$u" "$WSCTL" stop k >/dev/null 2>&1; done

# 5. A node dies: its workspace is lost, its GPU stays held; it comes back:
# the workspace is cleaned up and its GPU free.
as "${U[1]}" "$WSCTL" start --name onw2 --gpu-ids "$G2" --json >"$T/onw2" || fail "start on w2"
id2=$(jq -r .id "$T/onw2")
t0=$SECONDS
swarm_kill w2
for _ in $(seq 1 120); do [ "$(state "${U[1]}" onw2)" = lost ] && break; sleep 0.5; done
expect_eq "a dead node's workspace shows lost" "$(state "${U[1]}" onw2)" lost
log "lost after $((SECONDS - t0)) s"
expect_match "with the reason" "$(as "${U[1]}" "$WSCTL" show onw2)" 'Lost: .*is down'
expect_eq "its GPU stays held" "$(holder "$G2")" "$id2"
ws=$(as "${U[2]}" "$WSCTL" start --name other --gpus 1 --json) || fail "a start while w2 is down"
expect_eq "a new start gets the other node's GPU" "$(jq -r .node <<<"$ws")" "$W1"
as "${U[2]}" "$WSCTL" stop other >/dev/null
swarm_revive w2 || fail "w2 did not come back"
gone "${U[1]}" onw2 90 && pass "the node back: its lost workspace is cleaned up" || fail "onw2 stays"
expect_eq "and its GPU is free" "$(holder "$G2")" ""
expect_eq "its service is gone" \
	"$("${MGR[@]}" service ls -q --filter "label=wslab.instance=$INSTANCE" | wc -l)" 0
# Docker 20.10, after a worker was killed: its tasks are rejected, "network
# ... exists". wsd takes no more workspaces there and tells the admin how
# to fix it; fixed, the node takes them again.
out=$(as "${U[1]}" "$WSCTL" start --name stale --gpu-ids "$G2" --json 2>&1)
if [ $? = 0 ]; then
	log "this engine kept its network store sound after the kill"
	as "${U[1]}" "$WSCTL" stop stale >/dev/null
else
	expect_match "a node whose network store is stale: the start says so" "$out" 'could not run it'
	expect_match "and wsctl admin nodes says why it is not used" \
		"$("$WSCTL" "${ADMIN[@]}" admin nodes)" "not used: .*network store"
fi
swarm_net_reset w2 || fail "w2's network store reset"
kill -HUP "$WSD_PID" # a reload judges unfit nodes afresh
for _ in $(seq 1 20); do
	[ "$("$WSCTL" "${ADMIN[@]}" admin nodes --json | jq -r --arg n "$W2" '.nodes[] | select(.hostname == $n) | .status')" = ready ] && break
	sleep 0.5
done
ws=$(as "${U[1]}" "$WSCTL" start --name fixed --gpu-ids "$G2" --json) || fail "a start on the fixed node"
expect_eq "fixed and reloaded, the node takes workspaces again" "$(jq -r .node <<<"$ws")" "$W2"
as "${U[1]}" "$WSCTL" stop fixed >/dev/null

# 6. A node without no-new-privileges is not used, and the admin is told why.
swarm_dockerd_restart w2 --no-nnp || fail "w2's engine without no-new-privileges"
out=$(as "${U[3]}" "$WSCTL" start --name nnp --gpu-ids "$G2" --json 2>&1) && fail "a workspace ran without no-new-privileges" ||
	expect_match "a start there fails, and says why" "$out" 'no-new-privileges'
expect_match "wsctl admin nodes says why the node is not used" \
	"$("$WSCTL" "${ADMIN[@]}" admin nodes)" "not used: .*no-new-privileges"
expect_match "the log tells the admin what to set" "$(cat "$T/wsd.log")" \
	"node $W2 .*without no-new-privileges.*daemon.json"
ws=$(as "${U[3]}" "$WSCTL" start --name nnp2 --gpus 1 --json) || fail "a start after it"
expect_eq "the next start avoids that node" "$(jq -r .node <<<"$ws")" "$W1"
as "${U[3]}" "$WSCTL" stop nnp2 >/dev/null
as "${U[3]}" "$WSCTL" stop nnp >/dev/null 2>&1

# 7. An admin removes a dead node: what its workspaces held is released, audited.
as "${U[4]}" "$WSCTL" start --name onw1 --gpu-ids "${G1[0]}" --json >"$T/onw1" || fail "start on w1"
swarm_kill w1
for _ in $(seq 1 120); do [ "$(state "${U[4]}" onw1)" = lost ] && break; sleep 0.5; done
expect_eq "lost" "$(state "${U[4]}" onw1)" lost
out=$(as "${U[4]}" "$WSCTL" admin nodes rm "$W1" 2>&1) && fail "a student removed a node" ||
	pass "a student cannot remove a node"
out=$("$WSCTL" "${ADMIN[@]}" admin nodes rm "$W2" 2>&1) && fail "a node that is up was removed" ||
	expect_match "a node that is up is not removed" "$out" 'is up'
out=$("$WSCTL" "${ADMIN[@]}" admin nodes rm "$W1") || fail "nodes rm: $out"
expect_match "wsctl admin nodes rm releases its workspaces" "$out" '1 workspaces'
gone "${U[4]}" onw1 30 && pass "the dead node's workspace is gone" || fail "onw1 stays"
expect_eq "its GPU is no one's" "$(holder "${G1[0]}")" ""
expect_eq "and it is not offered" \
	"$("$WSCTL" "${ADMIN[@]}" gpus --json | jq -r --arg u "${G1[0]}" '.gpus[] | select(.uuid == $u) | .state')" unavailable
expect_eq "the removal is audited" \
	"$(sqlite3 "$T/state/wsd.db" "SELECT count(*) FROM audit WHERE action = 'node_rm' AND target = '$W1' AND result = 'ok'")" 1

# wsd ends cleanly; the test swarm goes, its volumes stay for the next run.
stop_wsd
swarm_cleanup
finish
