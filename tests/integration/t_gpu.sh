#!/bin/bash
# GPUs with no GPU: a fake NVML (4 GPUs) for wsd, a fake
# nvidia-container-runtime-hook for the engine. Each GPU is held by at most
# one workspace under 20 simultaneous starts; what the hook saw and what the
# container's environment says are exactly what wsctl reported; stop and
# failed starts free GPUs; --gpu-ids is honoured; --gpus 2 takes a close pair.
. "$(dirname "$0")/lib.sh"
PORT_BASE=22400
setup_all
U=(wslab-ta wslab-tb wslab-tc wslab-td)
for u in "${U[@]}"; do make_user "$u"; done
G=(GPU-0a0a0a0a-0000-4000-8000-000000000000 GPU-1b1b1b1b-0000-4000-8000-000000000001
	GPU-2c2c2c2c-0000-4000-8000-000000000002 GPU-3d3d3d3d-0000-4000-8000-000000000003)
# GPUs 0-2 and 1-3 share a switch; every other pair crosses the system. A
# least-used choice alone would take 0 and 1.
fake_gpus "gpu ${G[0]} NVIDIA-H100-80GB-HBM3 00000000:18:00.0 81559 0 0
gpu ${G[1]} NVIDIA-H100-80GB-HBM3 00000000:2A:00.0 81559 100 0
gpu ${G[2]} NVIDIA-H100-80GB-HBM3 00000000:3A:00.0 81559 5000 0
gpu ${G[3]} NVIDIA-H100-80GB-HBM3 00000000:5D:00.0 81559 6000 0
topo 0 1 50
topo 0 2 10
topo 0 3 50
topo 1 2 50
topo 1 3 10
topo 2 3 50"
docker image inspect wslab-test/exits:1 >/dev/null 2>&1 || printf 'FROM %s\nENTRYPOINT ["/bin/sh","-c","echo boom >&2; exit 3"]\n' "$IMAGE" |
	DOCKER_BUILDKIT=0 docker build -q -t wslab-test/exits:1 - >/dev/null 2>&1
start_wsd "nvml_library = $FAKE_NVML
ready_timeout = 90s" "[template exits]
image = wslab-test/exits:1"

g=$(as ${U[0]} "$WSCTL" gpus --json)
expect_eq "discovery: 4 GPUs through the fake NVML" "$(echo "$g" | jq '.gpus | length')" 4
expect_eq "discovery: UUIDs in index order" "$(echo "$g" | jq -r '[.gpus[].uuid] | join(",")')" "$(IFS=,; echo "${G[*]}")"
expect_eq "discovery: model" "$(echo "$g" | jq -r '.gpus[0].name')" "NVIDIA H100 80GB HBM3"
expect_eq "discovery: PCI bus id" "$(echo "$g" | jq -r '.gpus[3].pci_bus_id')" "00000000:5D:00.0"
expect_eq "discovery: memory total" "$(echo "$g" | jq -r '.gpus[1].memory_total')" $((81559 << 20))

# 20 simultaneous starts from 4 users: exactly 4 get a GPU.
pids=()
for i in $(seq 0 19); do
	u=${U[$((i % 4))]}
	(as "$u" "$WSCTL" start --gpus 1 --name "g$i" --json >"$T/start.$i.out" 2>"$T/start.$i.err"
		echo $? >"$T/start.$i.rc") &
	pids+=($!)
done
wait "${pids[@]}"
ok=0
refused=0
: >"$T/reported"
for i in $(seq 0 19); do
	rc=$(cat "$T/start.$i.rc")
	if [ "$rc" = 0 ]; then
		ok=$((ok + 1))
		jq -r '[.container_id, (.gpus | map(.uuid) | join(",")), .owner, .name] | join(" ")' "$T/start.$i.out" >>"$T/reported"
	elif grep -q "only 0 of 4 are free now; nothing was created" "$T/start.$i.err"; then
		refused=$((refused + 1))
	else
		log "start $i: rc $rc: $(cat "$T/start.$i.err")"
	fi
done
expect_eq "20 simultaneous starts: 4 succeed" "$ok" 4
expect_eq "20 simultaneous starts: 16 clear refusals" "$refused" 16
expect_eq "no GPU held twice" "$(cut -d' ' -f2 "$T/reported" | sort | uniq -d | wc -l)" 0
expect_eq "all 4 GPUs handed out" "$(cut -d' ' -f2 "$T/reported" | sort -u | wc -l)" 4
expect_eq "only 4 workspace containers exist" "$(wslab_containers)" 4
while read -r cid uuid _ _; do
	saw=$(grep "^$cid " "$GPU_DIR/hook.log" | cut -d' ' -f2)
	expect_eq "hook saw exactly the reported GPU (${cid:0:12})" "$saw" "$uuid"
	envs=$(docker inspect "$cid" | jq -r '.[0].Config.Env[]')
	expect_eq "NVIDIA_VISIBLE_DEVICES names it (${cid:0:12})" "$(echo "$envs" | sed -n 's/^NVIDIA_VISIBLE_DEVICES=//p')" "$uuid"
	expect_eq "CUDA_VISIBLE_DEVICES names it (${cid:0:12})" "$(echo "$envs" | sed -n 's/^CUDA_VISIBLE_DEVICES=//p')" "$uuid"
	expect_eq "CUDA_DEVICE_ORDER=PCI_BUS_ID (${cid:0:12})" "$(echo "$envs" | sed -n 's/^CUDA_DEVICE_ORDER=//p')" PCI_BUS_ID
	expect_eq "DeviceRequests by UUID, no Count (${cid:0:12})" \
		"$(docker inspect "$cid" | jq -r '.[0].HostConfig.DeviceRequests[0] | "\(.Driver) \(.Count) \(.DeviceIDs | join(","))"')" "nvidia 0 $uuid"
done <"$T/reported"

# Who holds what: the holder sees its name, others see busy.
# The first user that got a GPU plays "A" below.
A=$(head -1 "$T/reported" | cut -d' ' -f3)
held_by_a=$(as $A "$WSCTL" gpus --json | jq -r '[.gpus[] | select(.state=="held") | .owner] | unique | join(",")')
case $held_by_a in "$A") pass "a user sees only their own holdings by name" ;; *) fail "a user sees only their own holdings by name ($held_by_a)" ;; esac
mine=$(as $A "$WSCTL" ls --json | jq '[.workspaces[].gpus[]] | length')
expect_eq "others' GPUs are just busy" "$(as $A "$WSCTL" gpus --json | jq '[.gpus[] | select(.state=="busy")] | length')" $((4 - mine))
expect_eq "root sees every holder" "$(WSCTL_SOCKET=$T/wsd.sock "$WSCTL" gpus --json | jq '[.gpus[] | select(.state=="held")] | length')" 4
ls0=$(as $A "$WSCTL" ls --json | jq -r '.workspaces[0].gpus[0].uuid')
expect_eq "ls shows the workspace's GPU" "$(grep -c " $ls0 " "$T/reported")" 1

# Stop frees; a start whose container fails frees.
name0=$(head -1 "$T/reported" | cut -d' ' -f4)
freed=$(as $A "$WSCTL" show "$name0" --json | jq -r '.gpus[0].uuid')
as $A "$WSCTL" stop "$name0" >/dev/null
expect_eq "stop frees the GPU" "$(as $A "$WSCTL" gpus --json | jq .free)" 1
as ${U[1]} "$WSCTL" start --template exits --gpus 1 >/dev/null 2>&1
expect_eq "a start whose container exits fails" "$?" 1
expect_eq "its GPU is free again" "$(as ${U[1]} "$WSCTL" gpus --json | jq .free)" 1

# --gpu-ids: a busy one is refused, the free one is honoured (by UUID).
busy=$(cut -d' ' -f2 "$T/reported" | grep -v "$freed" | head -1)
[ -n "$busy" ] || fail "a busy GPU to ask for"
err=$(as ${U[1]} "$WSCTL" start --gpu-ids "$busy" 2>&1 >/dev/null)
expect_match "--gpu-ids with a busy GPU is refused" "$err" "is held by another workspace; 1 of 4 GPUs are free now; nothing was created"
out=$(as ${U[1]} "$WSCTL" start --gpu-ids "$freed" --name pick --json)
expect_eq "--gpu-ids by UUID is honoured" "$(echo "$out" | jq -r '.gpus[0].uuid')" "$freed"
as ${U[1]} "$WSCTL" stop pick >/dev/null

# Free everything, then --gpus 2 must take the close pair 0+2.
for u in "${U[@]}"; do
	for n in $(as "$u" "$WSCTL" ls --json | jq -r '.workspaces[].name'); do as "$u" "$WSCTL" stop "$n" >/dev/null; done
done
expect_eq "all GPUs free after stops" "$(as ${U[0]} "$WSCTL" gpus --json | jq .free)" 4
out=$(as ${U[2]} "$WSCTL" start --gpus 2 --name pair --json)
expect_eq "--gpus 2 picks the pair on one switch" "$(echo "$out" | jq -r '[.gpus[].index] | sort | join(",")')" "0,2"
cid=$(echo "$out" | jq -r .container_id)
expect_eq "hook saw both GPUs" "$(grep "^$cid " "$GPU_DIR/hook.log" | cut -d' ' -f2)" "${G[0]},${G[2]}"
as ${U[2]} "$WSCTL" stop pair >/dev/null

# A container that disappears behind wsd's back frees its GPU.
for how in kill "rm -f"; do
	out=$(as ${U[3]} "$WSCTL" start --gpus 1 --name gone --json)
	cid=$(echo "$out" | jq -r .container_id)
	expect_eq "one GPU held before docker $how" "$(as ${U[3]} "$WSCTL" gpus --json | jq .free)" 3
	docker $how "$cid" >/dev/null
	for _ in $(seq 1 100); do
		[ "$(as ${U[3]} "$WSCTL" gpus --json | jq .free)" = 4 ] && break
		sleep 0.1
	done
	expect_eq "docker $how behind wsd's back frees the GPU" "$(as ${U[3]} "$WSCTL" gpus --json | jq .free)" 4
	expect_eq "docker $how: the workspace is no longer listed" "$(as ${U[3]} "$WSCTL" ls --json | jq '.workspaces | length')" 0
	expect_eq "docker $how: no container left" "$(wslab_containers)" 0
done

# Bad GPU requests: refused, nothing created.
n0=$(wslab_containers)
for args in "--gpus -1" "--gpus 5" "--gpus 0 --gpu-ids 1" "--gpu-ids 1,1" "--gpu-ids GPU-nope" "--gpu-ids 9"; do
	as ${U[0]} "$WSCTL" start $args >/dev/null 2>"$T/err"
	rc=$?
	[ $rc = 1 ] && [ -s "$T/err" ] && pass "refused: start $args ($(head -c 70 "$T/err"))" || fail "refused: start $args (rc $rc)"
done
expect_eq "no container from bad GPU requests" "$(wslab_containers)" "$n0"
expect_eq "no GPU held after bad requests" "$(as ${U[0]} "$WSCTL" gpus --json | jq .free)" 4

# A static inventory (no NVML) naming a GPU the machine does not have: the
# runtime hook refuses it, the start fails with its reason, the GPU is freed.
stop_wsd
sed -i "s|^nvml_library = .*|static_gpus = ${G[0]},GPU-ffffffff-0000-4000-8000-00000000dead|" "$T/wsd.conf"
rm -f "$T/wsd.sock"
start_wsd_with_conf() {
	"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 100); do [ -S "$T/wsd.sock" ] && break; sleep 0.1; done
}
start_wsd_with_conf
g=$(as ${U[0]} "$WSCTL" gpus --json)
expect_eq "static inventory: 2 GPUs" "$(echo "$g" | jq -r '"\(.source) \(.gpus | length)"')" "static 2"
err=$(as ${U[0]} "$WSCTL" start --gpu-ids GPU-ffffffff-0000-4000-8000-00000000dead 2>&1 >/dev/null)
expect_match "the hook refuses an unknown GPU and the student is told" "$err" "unknown device"
expect_eq "the refused GPU is free again" "$(as ${U[0]} "$WSCTL" gpus --json | jq .free)" 2
expect_eq "no container left by the refused start" "$(wslab_containers)" 0

finish
