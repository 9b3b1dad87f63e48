#!/bin/bash
# A class starts at once: boots are paced. With a limit of 2, six
# simultaneous starts never have more than 2 workspaces booting (by wsd's
# account and by the engine's), boot in order of arrival, and say where
# they stand while pending; a pending start that is stopped leaves
# nothing; a paced start holds its GPU from the request; a SIGKILL of wsd
# with pending starts releases them, nothing held.
. "$(dirname "$0")/lib.sh"
PORT_BASE=24400
setup_all
U=()
for i in 0 1 2 3 4 5; do
	U+=("wslab-bt$i")
	make_user "wslab-bt$i"
done
G=(GPU-55555555-0000-4000-8000-00000000000a GPU-66666666-0000-4000-8000-00000000000b)
fake_gpus "gpu ${G[0]} NVIDIA-H100-80GB-HBM3 00000000:18:00.0 81559 0 0
gpu ${G[1]} NVIDIA-H100-80GB-HBM3 00000000:2A:00.0 81559 0 0"
start_wsd "min_booting = 2
max_booting = 2
nvml_library = $FAKE_NVML"

booting_now() { # workspaces in creating/starting/waiting, by wsd
	"$WSCTL" --socket "$T/wsd.sock" admin ls --json |
		jq '[.workspaces[] | select(.state == "creating" or .state == "starting" or .state == "waiting")] | length'
}
engine_booting() { # containers of this run that are not ready yet, by the engine and wsd
	local all ready
	all=$(wslab_containers)
	ready=$("$WSCTL" --socket "$T/wsd.sock" admin ls --json | jq '[.workspaces[] | select(.state == "ready")] | length')
	echo $((all - ready))
}

# 1. Six at once: at most two boot, in order of arrival.
pids=()
for i in 0 1 2 3 4 5; do
	as "${U[$i]}" "$WSCTL" start --name c$i --json >"$T/start$i.out" 2>&1 &
	pids+=($!)
	sleep 0.2
done
max_w=0 max_e=0
for _ in $(seq 1 600); do
	w=$(booting_now) e=$(engine_booting)
	[ "$w" -gt "$max_w" ] && max_w=$w
	[ "$e" -gt "$max_e" ] && max_e=$e
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ "$alive" = 0 ] && break
done
wait "${pids[@]}"
ok=0
for i in 0 1 2 3 4 5; do [ "$(jq -r .state "$T/start$i.out" 2>/dev/null)" = ready ] && ok=$((ok + 1)); done
expect_eq "six simultaneous starts are all ready" "$ok" 6
[ "$max_w" -le 2 ] && pass "at most 2 booting at once by wsd's account (saw $max_w)" || fail "$max_w booting at once"
[ "$max_e" -le 2 ] && pass "at most 2 containers not ready at once on the engine (saw $max_e)" ||
	fail "$max_e containers booting at once"
arrival=$(grep -oE 'workspace [0-9a-f]{12} \(wslab-bt[0-9]/c[0-9]\) starting' "$T/wsd.log" | grep -oE 'c[0-9]\)' | tr -d ')' | tr '\n' ' ')
boots=$(grep -oE 'workspace [0-9a-f]{12}: (preparing|pending) -> creating' "$T/wsd.log" | awk '{print $2}' | tr -d ':' |
	while read -r id; do grep -oE "workspace $id \(wslab-bt[0-9]/c[0-9]\)" "$T/wsd.log" | head -1 | grep -oE '/c[0-9]' | tr -d /; done | tr '\n' ' ')
expect_eq "they boot in order of arrival" "$boots" "$arrival"
expect_match "some of them waited for a slot" "$(grep -c -- '-> pending' "$T/wsd.log")" '^[1-9]'
for i in 0 1 2 3 4 5; do as "${U[$i]}" "$WSCTL" stop c$i >/dev/null; done

# 2. Where a pending start stands, and a stop while pending leaves nothing.
pids=()
for i in 0 1; do
	as "${U[$i]}" "$WSCTL" start --name b$i --json >"$T/b$i.out" 2>&1 &
	pids+=($!)
done
sleep 0.3
key=$(jq -Rn --rawfile k "$(getent passwd "${U[2]}" | cut -d: -f6)/.ssh/id_ed25519.pub" '{name: "p2", ssh_keys: [$k | rtrimstr("\n")]}')
as "${U[2]}" curl -sN --unix-socket "$T/wsd.sock" -H 'Accept: application/x-ndjson' \
	-H 'Content-Type: application/json' -X POST -d "$key" http://wsd/v1/workspaces >"$T/p2.ndjson" 2>&1 &
P2=$!
for _ in $(seq 1 50); do grep -q pending "$T/p2.ndjson" 2>/dev/null && break; sleep 0.05; done
expect_match "a paced start is told where it stands" "$(grep pending "$T/p2.ndjson" | head -1)" \
	'"phase": ?"pending".*"ahead": ?0'
state=$(as "${U[2]}" "$WSCTL" ls --json | jq -r '.workspaces[] | select(.name == "p2") | .state')
if [ "$state" = pending ]; then
	pid2=$(as "${U[2]}" "$WSCTL" ls --json | jq -r '.workspaces[] | select(.name == "p2") | .id')
	as "${U[2]}" "$WSCTL" stop p2 >/dev/null
	wait $P2
	expect_match "its client hears that it was stopped" "$(tail -1 "$T/p2.ndjson")" '"stopped"'
	if grep -q "workspace $pid2: .* -> creating" "$T/wsd.log"; then fail "the stopped pending start was created"; else
		pass "a pending start that is stopped never reaches the engine"; fi
	expect_eq "nothing of it is left" "$(ls "$T/state/workspaces" | grep -c "$pid2")" 0
else
	fail "p2 was $state, not pending, while two others booted: $(head -c 300 "$T/p2.ndjson")"
	wait $P2
fi
wait "${pids[@]}"
for i in 0 1; do as "${U[$i]}" "$WSCTL" stop b$i >/dev/null; done

# 3. A paced start holds its GPU from the request.
pids=()
for i in 0 1; do
	as "${U[$i]}" "$WSCTL" start --name x$i --json >/dev/null 2>&1 &
	pids+=($!)
done
sleep 0.3
as "${U[2]}" "$WSCTL" start --name y --gpus 1 --json >"$T/y.out" 2>&1 &
pids+=($!)
sleep 0.3
as "${U[3]}" "$WSCTL" start --name z --gpus 1 --json >"$T/z.out" 2>&1 &
pids+=($!)
sleep 0.3
w=$(as "${U[4]}" "$WSCTL" start --name w --gpus 1 2>&1)
expect_match "with both GPUs held by paced starts, a third GPU start is refused" "$w" 'free|GPU'
wait "${pids[@]}"
gy=$(jq -r '.gpus[0].uuid' "$T/y.out") gz=$(jq -r '.gpus[0].uuid' "$T/z.out")
[ -n "$gy" ] && [ -n "$gz" ] && [ "$gy" != "$gz" ] && [ "$gy" != null ] &&
	pass "the two paced GPU starts got different GPUs ($gy, $gz)" || fail "GPUs: '$gy' '$gz'"
for i in 0 1; do as "${U[$i]}" "$WSCTL" stop x$i >/dev/null; done
as "${U[2]}" "$WSCTL" stop y >/dev/null
as "${U[3]}" "$WSCTL" stop z >/dev/null

# 4. SIGKILL with pending starts: those are released, nothing held.
pids=()
for i in 0 1 2 3 4; do
	as "${U[$i]}" "$WSCTL" start --name k$i --gpus $((i == 3 ? 1 : 0)) --json >"$T/k$i.out" 2>&1 &
	pids+=($!)
	sleep 0.1
done
for _ in $(seq 1 50); do [ "$(grep -c -- '-> pending' "$T/wsd.log")" -ge 4 ] && break; sleep 0.05; done
pending_ids=$("$WSCTL" --socket "$T/wsd.sock" admin ls --json | jq -r '.workspaces[] | select(.state == "pending") | .id')
kill -9 "$WSD_PID"
wait "$WSD_PID" "${pids[@]}" 2>/dev/null
WSD_PID=
rm -f "$T/wsd.sock"
start_wsd "min_booting = 2
max_booting = 2
nvml_library = $FAKE_NVML"
for _ in $(seq 1 100); do
	"$WSCTL" --socket "$T/wsd.sock" admin ls --json 2>/dev/null | jq -e '[.workspaces[] | select(.state != "ready")] | length == 0' >/dev/null && break
	sleep 0.1
done
# Containers the killed wsd had made but not started are removed after the
# reconcile, asynchronously (a removal already in progress is retried).
for _ in $(seq 1 100); do
	left=$("$WSCTL" --socket "$T/wsd.sock" admin ls --json)
	[ "$(wslab_containers)" = "$(jq '.workspaces | length' <<<"$left")" ] && break
	sleep 0.1
done
n=0
for id in $pending_ids; do
	jq -e --arg id "$id" '.workspaces[] | select(.id == $id)' <<<"$left" >/dev/null && n=$((n + 1))
done
[ -n "$pending_ids" ] && pass "$(wc -w <<<"$pending_ids") starts were pending at the kill" || fail "none was pending at the kill"
expect_eq "the pending starts are released after the restart (their clients got an error)" "$n" 0
expect_eq "every container left is a listed workspace" "$(wslab_containers)" "$(jq '.workspaces | length' <<<"$left")"
held=$("$WSCTL" --socket "$T/wsd.sock" gpus --json | jq '[.gpus[] | select(.state != "free")] | length')
expect_eq "GPUs held = GPUs of listed workspaces" "$held" "$(jq '[.workspaces[].gpus[]] | length' <<<"$left")"
expect_match "their records were released, and audited" "$(sqlite3 "$T/state/wsd.db" "SELECT COUNT(*) FROM audit WHERE action = 'release'")" '^[1-9]'
for i in 0 1 2 3 4; do as "${U[$i]}" "$WSCTL" stop k$i >/dev/null 2>&1; done
expect_eq "no containers left" "$(wslab_containers)" 0

finish
