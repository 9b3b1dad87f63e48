#!/bin/bash
# The queue of starts waiting for GPUs, on 2 fake GPUs: order by past
# GPU-hours, the freed GPU going to the right one in the same step as the
# release (never twice: the fake hook's log), a 2-GPU head not starved by
# 1-GPU starts, stop cancelling a queued start, the queued quota under 20
# simultaneous --queue, SIGKILL of wsd keeping the queue and its order, a
# --wait client that outlives a restart of wsd, Ctrl-C of --wait leaving
# nothing, and bad inputs.
. "$(dirname "$0")/lib.sh"
PORT_BASE=26600
INSTANCE=tqueue$$
setup_all
trap 'cleanup; exit 1' INT TERM
command -v sqlite3 >/dev/null || { echo "missing sqlite3" >&2; exit 1; }
U=(wslab-qa wslab-qb wslab-qc wslab-qd wslab-qe wslab-qf wslab-qg)
for u in "${U[@]}"; do make_user "$u"; done
A=${U[0]} B=${U[1]} C=${U[2]} D=${U[3]} E=${U[4]} F=${U[5]} G=${U[6]}
GU=(GPU-9a9a9a9a-0000-4000-8000-000000000000 GPU-9b9b9b9b-0000-4000-8000-000000000001)
fake_gpus "gpu ${GU[0]} NVIDIA-H100-80GB-HBM3 00000000:18:00.0 81559 0 0
gpu ${GU[1]} NVIDIA-H100-80GB-HBM3 00000000:2A:00.0 81559 0 0"
CONF_EXTRA="nvml_library = $FAKE_NVML"
start_wsd "$CONF_EXTRA"
DB=$T/state/wsd.db

# Past GPU-hours of the week, straight into the ledger (read at start-up):
# D 1 h < E 3 h < C 5 h. They queue in the order C, D, E.
stop_wsd
now=$(date +%s)
for x in "$C 5" "$D 1" "$E 3"; do
	set -- $x
	sqlite3 "$DB" "INSERT INTO usage (workspace_id, owner, uid, name, gpus, started_at, stopped_at)
		VALUES ('past-$1', '$1', $(id -u "$1"), 'old', 1, $((now - 36000)), $((now - 36000 + $2 * 3600)))"
done
start_wsd "$CONF_EXTRA"

free_gpus() { as $A "$WSCTL" gpus --json | jq .free; }
state_of() { as "$1" "$WSCTL" show "$2" --json 2>/dev/null | jq -r .state; }
gpu_of() { as "$1" "$WSCTL" show "$2" --json | jq -r '.gpus[0].uuid'; }
# wait_state USER NAME STATE [TENTHS]
wait_state() {
	for _ in $(seq 1 "${4:-300}"); do
		[ "$(state_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# No GPU is held by two running containers: each running container's GPUs
# as the fake hook saw them at its start are distinct.
hook_unique() {
	local cid seen=
	for cid in $(docker ps -q --no-trunc --filter label=wslab.instance="$INSTANCE"); do
		seen="$seen$(grep "^$cid " "$GPU_DIR/hook.log" | cut -d' ' -f2 | tr ',' '\n')
"
	done
	seen=$(printf '%s' "$seen" | sed '/^$/d')
	[ "$(printf '%s\n' "$seen" | sort | uniq -d | wc -l)" = 0 ] || { echo "$seen"; return 1; }
}
queue_names() { # USER: names by position as USER sees them ("-" for others')
	as "$1" "$WSCTL" queue --json | jq -r '[.queue[] | (.name // "-")] | join(",")'
}
admin_queue() { "$WSCTL" admin queue --json | jq -r '[.queue[] | "\(.owner)/\(.name)"] | join(",")'; }
export WSCTL_SOCKET=$T/wsd.sock # root's own calls (admin)

# A plain start for measuring (same machine, same image).
t0=$(date +%s.%N)
as $G "$WSCTL" start --gpus 1 --name plain >/dev/null
plain_s=$(echo "$(date +%s.%N) - $t0" | bc)
as $G "$WSCTL" stop plain >/dev/null

# 1. Two holders; without a flag the refusal stays and names --wait.
as $A "$WSCTL" start --gpus 1 --name h >/dev/null
as $B "$WSCTL" start --gpus 1 --name h >/dev/null
expect_eq "two holders: no GPU free" "$(free_gpus)" 0
err=$(as $C "$WSCTL" start --gpus 1 --name q 2>&1 >/dev/null)
expect_match "no flag: refused as before, and the message names --wait" "$err" "only 0 of 2 are free now; nothing was created \(--wait waits"
expect_eq "no flag: nothing queued" "$(as $C "$WSCTL" ls --json | jq '.workspaces | length')" 0

# Bad inputs.
err=$(as $C "$WSCTL" start --gpus 1 --queue --wait 2>&1 >/dev/null)
expect_eq "--queue with --wait: usage error" "$?" 2
expect_match "--queue with --wait: clear message" "$err" "choose one"
r=$(api $C POST /v1/workspaces '{"gpus":1,"queue":true,"wait":true,"ssh_keys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1M2Nk578yN2BF4rcTb6Tdga/jU5RHrD/7n3fZDekpP t@x"]}')
expect_match "API: queue and wait together: 400" "$(echo "$r" | tail -n1) $(echo "$r" | head -n1)" '^400 .*choose one'
r=$(api $C POST /v1/workspaces '{"gpus":1,"queue":"yes","ssh_keys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1M2Nk578yN2BF4rcTb6Tdga/jU5RHrD/7n3fZDekpP t@x"]}')
expect_match "API: queue must be a boolean" "$(echo "$r" | tail -n1) $(echo "$r" | head -n1)" '^400 .*queue: must be true or false'

# 2. Three users queue, in the order C, D, E.
out=$(as $C "$WSCTL" start --gpus 1 --name q --queue)
expect_eq "--queue returns at once with exit 0" "$?" 0
expect_match "--queue prints the position" "$out" "q queued: position 1, 1 GPUs, estimated start unknown"
j=$(as $D "$WSCTL" start --gpus 1 --name q --queue --json)
expect_eq "--queue --json: the workspace object, state queued" "$(echo "$j" | jq -r '"\(.state) \(.queue_position) \(.gpus_requested)"')" "queued 1 1"
expect_eq "--queue --json: queued_at set, estimated_start null (nothing known)" "$(echo "$j" | jq -r '"\(.queued_at != null) \(.estimated_start)"')" "true null"
as $E "$WSCTL" start --gpus 1 --name q --queue >/dev/null
expect_eq "order by past GPU-hours: D (1 h), E (3 h), C (5 h)" "$(admin_queue)" "$D/q,$E/q,$C/q"
expect_eq "a user sees positions and only their own names" "$(queue_names $E)" "-,q,-"
expect_eq "wsctl queue: GPUs asked for are shown" "$(as $C "$WSCTL" queue --json | jq -r '[.queue[].gpus] | join(",")')" "1,1,1"
expect_eq "wsctl queue: owners are for admins only" "$(as $C "$WSCTL" queue --json | jq '[.queue[] | select(.owner)] | length')" 0
expect_match "wsctl admin queue shows the owners" "$("$WSCTL" admin queue)" "$D"
expect_match "wsctl queue table" "$(as $C "$WSCTL" queue)" "0 of 2 GPUs free, 3 starts queued"
expect_eq "ls shows the queued one with its position" "$(as $C "$WSCTL" ls --json | jq -r '.workspaces[0] | "\(.state) \(.queue_position)"')" "queued 3"
expect_match "admin ls shows queued starts" "$("$WSCTL" admin ls)" "queued"
err=$(as $C "$WSCTL" ssh q -- true 2>&1)
expect_match "ssh to a queued workspace: clear error" "$err" "queued, not running yet"
expect_eq "queued: no container, no GPU" "$(wslab_containers) $(free_gpus)" "2 0"
expect_eq "queued starts are in the store" "$(sqlite3 "$DB" 'SELECT count(*) FROM queue')" 3

# 3. A's stop frees a GPU: D (fewest GPU-hours) gets it, in the same step
# (a plain start right after is refused).
ga=$(gpu_of $A h)
t0=$(date +%s.%N)
as $A "$WSCTL" stop h >/dev/null
t1=$(date +%s.%N)
err=$(as $G "$WSCTL" start --gpus 1 --name sneak 2>&1 >/dev/null)
expect_match "a plain start right after the release does not overtake the queue" "$err" "nothing was created"
check "D's queued start becomes ready within a few seconds" wait_state $D q ready 150
t2=$(date +%s.%N)
release_ready_s=$(echo "$t2 - $t1" | bc)
log "measure: stop returned after $(echo "$t1 - $t0" | bc) s; release -> ready $release_ready_s s; a plain start took $plain_s s"
expect_eq "D got the freed GPU" "$(gpu_of $D q)" "$ga"
check "the hook's log: no GPU handed out twice" hook_unique
expect_eq "the queue moved up: E, C" "$(admin_queue)" "$E/q,$C/q"
expect_eq "D's row left the queue table" "$(sqlite3 "$DB" "SELECT count(*) FROM queue WHERE owner = '$D'")" 0

as $B "$WSCTL" stop h >/dev/null
check "E ready on the GPU B freed" wait_state $E q ready 150
check "the hook's log: still no GPU twice" hook_unique

# 4. wsctl stop cancels a queued start: nothing is left.
out=$(as $C "$WSCTL" stop q 2>&1)
expect_eq "stop of a queued start succeeds" "$?" 0
expect_eq "cancelled: gone from ls" "$(as $C "$WSCTL" ls --json | jq '.workspaces | length')" 0
expect_eq "cancelled: queue empty, table empty" "$(admin_queue) $(sqlite3 "$DB" 'SELECT count(*) FROM queue')" " 0"

# 5. A 2-GPU waiter is not starved by 1-GPU starts: C (2 GPUs) queues;
# D's GPU frees and is kept for C; F (no GPU-hours at all) then queues
# for 1 and stays behind C. E's GPU frees: C takes both.
as $C "$WSCTL" start --gpus 2 --name big --queue >/dev/null
as $D "$WSCTL" stop q >/dev/null
sleep 0.5
expect_eq "one GPU free, kept for the 2-GPU head" "$(free_gpus) $(state_of $C big)" "1 queued"
as $F "$WSCTL" start --gpus 1 --name small --queue >/dev/null
expect_eq "the 2-GPU head stays first against a newcomer with fewer GPU-hours" "$(admin_queue)" "$C/big,$F/small"
sleep 1
expect_eq "the kept GPU stays kept" "$(free_gpus) $(state_of $F small) $(state_of $C big)" "1 queued queued"
err=$(as $G "$WSCTL" start --gpus 1 --name sneak 2>&1 >/dev/null)
expect_match "a plain 1-GPU start cannot take the reserved GPU" "$err" "free but kept for 2 queued starts"
as $E "$WSCTL" stop q >/dev/null
check "the 2-GPU waiter starts with both GPUs" wait_state $C big ready 150
expect_eq "it holds both" "$(as $C "$WSCTL" show big --json | jq '.gpus | length')" 2
expect_eq "the 1-GPU start still waits" "$(state_of $F small)" queued
check "the hook's log: no GPU twice" hook_unique
as $C "$WSCTL" stop big >/dev/null
check "then the 1-GPU start goes" wait_state $F small ready 150
as $F "$WSCTL" stop small >/dev/null

# 6. The queued quota (default 1) under 20 simultaneous --queue requests
# from 4 users while both GPUs are held: exactly one each.
as $A "$WSCTL" start --gpus 1 --name h >/dev/null
as $B "$WSCTL" start --gpus 1 --name h >/dev/null
pids=()
for i in $(seq 0 19); do
	u=${U[$((2 + i % 4))]}
	(as "$u" "$WSCTL" start --gpus 1 --name "r$i" --queue >"$T/q.$i.out" 2>"$T/q.$i.err"
		echo $? >"$T/q.$i.rc") &
	pids+=($!)
done
for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
ok=0 refused=0
for i in $(seq 0 19); do
	if [ "$(cat "$T/q.$i.rc")" = 0 ]; then ok=$((ok + 1))
	elif grep -q "queued starts at once: you have 1, the limit is 1" "$T/q.$i.err"; then refused=$((refused + 1))
	else log "q $i: $(cat "$T/q.$i.err")"; fi
done
expect_eq "20 simultaneous --queue: 4 queued (one per user)" "$ok" 4
expect_eq "20 simultaneous --queue: 16 refused by the queued quota" "$refused" 16
expect_eq "one queued start per user" "$("$WSCTL" admin queue --json | jq -r '[.queue[].owner] | unique | length')" 4
expect_eq "the store agrees" "$(sqlite3 "$DB" 'SELECT count(*) FROM queue')" 4

# 7. SIGKILL of wsd with three queued starts: all kept, in order.
gone=$(as $F "$WSCTL" ls --json | jq -r '.workspaces[0].name')
as $F "$WSCTL" stop "$gone" >/dev/null
before=$(admin_queue)
pos_before=$(as $C "$WSCTL" ls --json | jq -r '.workspaces[] | select(.state == "queued") | "\(.id) \(.queue_position)"')
expect_eq "three queued before the kill" "$("$WSCTL" admin queue --json | jq '.queue | length')" 3
kill -9 "$WSD_PID"
while kill -0 "$WSD_PID" 2>/dev/null; do sleep 0.1; done
WSD_PID=
rm -f "$T/wsd.sock"
start_wsd "$CONF_EXTRA"
for _ in $(seq 1 100); do [ "$("$WSCTL" admin queue --json 2>/dev/null | jq '.queue | length')" = 3 ] && break; sleep 0.1; done
expect_eq "after SIGKILL: the same three, in the same order" "$(admin_queue)" "$before"
expect_eq "after SIGKILL: same id and position" "$(as $C "$WSCTL" ls --json | jq -r '.workspaces[] | select(.state == "queued") | "\(.id) \(.queue_position)"')" "$pos_before"
expect_eq "after SIGKILL: the holders are adopted, no GPU free" "$(free_gpus)" 0
first=$("$WSCTL" admin queue --json | jq -r '.queue[0] | "\(.owner) \(.name)"')
as $A "$WSCTL" stop h >/dev/null
check "after SIGKILL: the head starts when a GPU frees" wait_state $first ready 150
as ${first% *} "$WSCTL" stop "${first#* }" >/dev/null
# Clear the rest of the queue and the holders.
for u in $C $D $E $F; do
	for n in $(as "$u" "$WSCTL" ls --json | jq -r '.workspaces[].name'); do as "$u" "$WSCTL" stop "$n" >/dev/null; done
done
for _ in $(seq 1 300); do [ "$(free_gpus)" = 1 ] && break; sleep 0.1; done
as $A "$WSCTL" start --gpus 1 --name h >/dev/null
expect_eq "both GPUs held again" "$(free_gpus)" 0
expect_eq "queue empty" "$("$WSCTL" admin queue --json | jq '.queue | length')" 0

# 8. A --wait client whose wsd restarts still ends with its workspace;
# so does a wsctl wait on a --queue start.
(as $G "$WSCTL" start --gpus 1 --name w --wait --json >"$T/wait.out" 2>"$T/wait.err"; echo $? >"$T/wait.rc") &
wpid=$!
for _ in $(seq 1 100); do [ "$(state_of $G w)" = queued ] && break; sleep 0.1; done
expect_eq "--wait: queued while it waits" "$(state_of $G w)" queued
as $D "$WSCTL" start --gpus 1 --name dw --queue >/dev/null
(as $D "$WSCTL" wait dw --json >"$T/dw.out" 2>"$T/dw.err"; echo $? >"$T/dw.rc") &
dwpid=$!
sleep 0.5
kill -9 "$WSD_PID"
while kill -0 "$WSD_PID" 2>/dev/null; do sleep 0.1; done
WSD_PID=
rm -f "$T/wsd.sock"
sleep 1
start_wsd "$CONF_EXTRA"
for _ in $(seq 1 100); do [ "$(state_of $G w)" = queued ] && break; sleep 0.1; done
expect_eq "--wait: still queued after the restart" "$(state_of $G w)" queued
sleep 1
as $A "$WSCTL" stop h >/dev/null
for _ in $(seq 1 300); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
expect_eq "--wait client: exit 0 after wsd restarted" "$(cat "$T/wait.rc" 2>/dev/null)" 0
expect_eq "--wait client: prints its ready workspace" "$(jq -r '"\(.name) \(.state)"' "$T/wait.out" 2>/dev/null)" "w ready"
[ "$(cat "$T/wait.rc" 2>/dev/null)" = 0 ] || cat "$T/wait.err"
expect_eq "wsctl wait across the restart: still waiting" "$(kill -0 "$dwpid" 2>/dev/null && echo yes)" yes
as $B "$WSCTL" stop h >/dev/null
for _ in $(seq 1 300); do kill -0 "$dwpid" 2>/dev/null || break; sleep 0.1; done
expect_eq "wsctl wait across the restart: exit 0, ready" "$(cat "$T/dw.rc" 2>/dev/null) $(jq -r .state "$T/dw.out" 2>/dev/null)" "0 ready"
[ "$(cat "$T/dw.rc" 2>/dev/null)" = 0 ] || cat "$T/dw.err"
check "the hook's log: no GPU twice" hook_unique

# 9. wsctl wait NAME follows a --queue start; Ctrl-C of --wait leaves nothing.
as $A "$WSCTL" start --gpus 1 --name h2 --queue >/dev/null
(as $A "$WSCTL" wait h2 --json >"$T/w2.out" 2>&1; echo $? >"$T/w2.rc") &
w2=$!
sleep 0.5
as $C "$WSCTL" start --gpus 1 --name cc --wait >/dev/null 2>&1 &
sleep 0.5
ccpid=$(pgrep -u $C -f "wsctl start --gpus 1 --name cc --wait" | head -1)
for _ in $(seq 1 50); do [ "$(state_of $C cc)" = queued ] && break; sleep 0.1; done
expect_eq "--wait: queued" "$(state_of $C cc)" queued
kill -INT "$ccpid"
for _ in $(seq 1 50); do [ -z "$(state_of $C cc)" ] && break; sleep 0.1; done
expect_eq "Ctrl-C of --wait: nothing is left" "$(as $C "$WSCTL" ls --json | jq '.workspaces | length')" 0
expect_eq "Ctrl-C of --wait: not in the queue" "$(admin_queue)" "$A/h2"
# A SIGTERM restart keeps the queued start and its waiting client.
stop_wsd
rm -f "$T/wsd.sock"
start_wsd "$CONF_EXTRA"
for _ in $(seq 1 100); do [ "$(state_of $A h2)" = queued ] && break; sleep 0.1; done
expect_eq "SIGTERM restart: the queued start is kept" "$(state_of $A h2)" queued
as $G "$WSCTL" stop w >/dev/null
for _ in $(seq 1 300); do kill -0 "$w2" 2>/dev/null || break; sleep 0.1; done
expect_eq "wsctl wait: exit 0 once ready" "$(cat "$T/w2.rc" 2>/dev/null)" 0
expect_eq "wsctl wait: prints the ready workspace" "$(jq -r .state "$T/w2.out" 2>/dev/null)" ready
as $A "$WSCTL" stop h2 >/dev/null
# 10. Measure: release -> ready of a queued start, a few times (D's dw holds the other GPU).
as $A "$WSCTL" start --gpus 1 --name h >/dev/null
for i in 1 2 3; do
	as $D "$WSCTL" start --gpus 1 --name m --queue >/dev/null
	t0=$(date +%s.%N)
	as $A "$WSCTL" stop h >/dev/null
	t1=$(date +%s.%N)
	wait_state $D m ready 150
	log "measure: stop returned after $(echo "$t1 - $t0" | bc) s; release -> ready $(echo "$(date +%s.%N) - $t1" | bc) s"
	as $D "$WSCTL" stop m >/dev/null
	as $A "$WSCTL" start --gpus 1 --name h >/dev/null
	t0=$(date +%s.%N)
	as $G "$WSCTL" start --gpus 0 --name p >/dev/null
	log "measure: a plain start (no GPU) took $(echo "$(date +%s.%N) - $t0" | bc) s"
	as $G "$WSCTL" stop p >/dev/null
done

expect_eq "audit: queue, unqueue and cancel are recorded" \
	"$(sqlite3 "$DB" "SELECT count(*) > 0 FROM audit WHERE action = 'queue'") $(sqlite3 "$DB" "SELECT count(*) > 0 FROM audit WHERE action = 'unqueue'")" "1 1"

finish
