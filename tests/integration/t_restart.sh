#!/bin/bash
# wsd killed with SIGKILL while workspaces run: the next wsd lists them
# again with the same ports, URL, GPUs and ready time (ready at once: their
# containers ran all along), keeps every GPU with its holder,
# removes leftovers (a workspace directory with no container, a labelled
# container with no directory), and never touches a home.
. "$(dirname "$0")/lib.sh"
PORT_BASE=22600
setup_all
A=wslab-ta
make_user $A
fake_gpus "gpu GPU-aaaa0000-0000-4000-8000-00000000000a NVIDIA-H100 00000000:18:00.0 81559 0 0
gpu GPU-bbbb0000-0000-4000-8000-00000000000b NVIDIA-H100 00000000:2A:00.0 81559 0 0"
start_wsd "nvml_library = $FAKE_NVML"

w1=$(as $A "$WSCTL" start --name one --gpus 1 --json)
w2=$(as $A "$WSCTL" start --name two --json)
as $A "$WSCTL" ssh one -- 'echo kept > ~/note.txt' </dev/null
# Leftovers a crash can leave: a directory without a container...
mkdir -p "$T/state/workspaces/deadbeef0000"
kill -9 "$WSD_PID"
wait "$WSD_PID" 2>/dev/null
WSD_PID=
# ...and a labelled container whose directory is gone (made while no wsd runs).
docker run -d --label wslab.workspace=0123456789ab --label wslab.name=stray --label wslab.instance="$INSTANCE" \
	--label wslab.owner=$A --label wslab.uid="$(id -u $A)" --label wslab.template=offline \
	--entrypoint sleep "$IMAGE" 300 >/dev/null
rm -f "$T/wsd.sock"
FAKE_NVML_INVENTORY=$GPU_DIR/inventory "$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
WSD_PID=$!
for _ in $(seq 1 100); do [ -S "$T/wsd.sock" ] && break; sleep 0.1; done
for _ in $(seq 1 100); do
	[ "$(as $A "$WSCTL" ls --json | jq '[.workspaces[] | select(.state=="ready")] | length')" = 2 ] && break
	sleep 0.1
done

for n in one two; do
	before=$([ $n = one ] && echo "$w1" || echo "$w2")
	after=$(as $A "$WSCTL" show $n --json)
	expect_eq "$n: ready again after SIGKILL" "$(echo "$after" | jq -r .state)" ready
	for f in id container_id jupyter_url ssh_port ssh_host_key memory shm cpus ready_at; do
		expect_eq "$n: same $f" "$(echo "$after" | jq -c .$f)" "$(echo "$before" | jq -c .$f)"
	done
	expect_eq "$n: same GPUs" "$(echo "$after" | jq -c '[.gpus[].uuid]')" "$(echo "$before" | jq -c '[.gpus[].uuid]')"
done
g=$(as $A "$WSCTL" gpus --json)
expect_eq "the adopted GPU is held by its workspace" "$(echo "$g" | jq -r '[.gpus[] | select(.state=="held") | .workspace] | join(",")')" one
expect_eq "the other GPU is free" "$(echo "$g" | jq .free)" 1
expect_eq "a directory with no container is removed" "$(test -e "$T/state/workspaces/deadbeef0000" && echo left || echo gone)" gone
expect_eq "a container with no directory is removed" "$(docker ps -aq --filter label=wslab.workspace=0123456789ab | wc -l)" 0
expect_eq "the home is intact" "$(cat "$T/home/$A/note.txt")" kept
url=$(as $A "$WSCTL" show one --json | jq -r .jupyter_url)
expect_eq "the adopted Jupyter URL works" "$(curl -s -o /dev/null -w '%{http_code}' "$url")" 200
expect_eq "wsctl ssh into an adopted workspace" "$(as $A "$WSCTL" ssh two -- whoami </dev/null)" $A
# A new start must not take a port or GPU an adopted workspace holds.
w3=$(as $A "$WSCTL" start --name three --gpus 1 --json)
expect_eq "a new start after restart gets the free GPU" "$(echo "$w3" | jq -r '.gpus[0].uuid')" GPU-bbbb0000-0000-4000-8000-00000000000b
p=$(for w in one two three; do as $A "$WSCTL" show $w --json | jq -r '.ssh_port, .jupyter_port'; done | sort | uniq -d | wc -l)
expect_eq "no port handed out twice" "$p" 0
grep -q "2 workspaces adopted, 1 containers removed" "$T/wsd.log" && pass "start-up logged with counts" || fail "start-up logged with counts"
finish
