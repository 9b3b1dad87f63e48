#!/bin/bash
# Quotas, admins and durable state. Non-admins are refused every admin
# endpoint with nothing changed; admins set quotas per user and per group
# and they hold under simultaneous starts (50 by one user; 10 users on 4
# GPUs); lifetimes stop workspaces (homes kept); usage counts GPU-seconds;
# wsd killed with SIGKILL at each phase of a start comes back consistent;
# the store survives restarts. Every invariant is checked by name.
. "$(dirname "$0")/lib.sh"
PORT_BASE=23800
setup_all
A=wslab-qa
B=wslab-qb
ADM=wslab-qadm
STUDENTS=wslab-qstud
ADMINS=wslab-qadmins
getent group $STUDENTS >/dev/null || groupadd $STUDENTS
getent group $ADMINS >/dev/null || groupadd $ADMINS
make_user $A
make_user $B
make_user $ADM
usermod -a -G $STUDENTS $A
usermod -a -G $STUDENTS $B
usermod -a -G $ADMINS $ADM
MANY=()
for i in $(seq 0 9); do
	MANY+=("wslab-qm$i")
	make_user "wslab-qm$i"
done
G=(GPU-00000000-0000-4000-8000-00000000000a GPU-11111111-0000-4000-8000-00000000000b
	GPU-22222222-0000-4000-8000-00000000000c GPU-33333333-0000-4000-8000-00000000000d)
fake_gpus "gpu ${G[0]} NVIDIA-H100-80GB-HBM3 00000000:18:00.0 81559 0 0
gpu ${G[1]} NVIDIA-H100-80GB-HBM3 00000000:2A:00.0 81559 0 0
gpu ${G[2]} NVIDIA-H100-80GB-HBM3 00000000:3A:00.0 81559 0 0
gpu ${G[3]} NVIDIA-H100-80GB-HBM3 00000000:5D:00.0 81559 0 0"
# Quotas as a lab would have them: 1 GPU and 2 workspaces by default.
start_wsd "nvml_library = $FAKE_NVML
admin_group = $ADMINS
quota_gpus = 1
quota_workspaces = 2
quota_memory = 2g"
DB=$T/state/wsd.db

# What must not change when a request is refused.
snapshot() {
	sqlite3 "$DB" "SELECT kind, name, limits FROM quotas ORDER BY 1, 2;
		SELECT id, name, owner FROM workspaces ORDER BY 1;
		SELECT resource, workspace_id FROM allocations ORDER BY 1;
		SELECT workspace_id, started_at, stopped_at FROM usage ORDER BY 1;"
	echo "containers=$(wslab_containers)"
}
ready_count() { # USER: ready workspaces of that user
	as "$1" "$WSCTL" ls --json | jq '[.workspaces[] | select(.state == "ready")] | length'
}

SCHEMA=$(sed -n 's/^#define STORE_SCHEMA_VERSION \([0-9]*\)$/\1/p' "$SRC/server/store.h")
expect_eq "store: schema version $SCHEMA" "$(sqlite3 "$DB" 'PRAGMA user_version')" "$SCHEMA"
expect_eq "store: WAL mode" "$(sqlite3 "$DB" 'PRAGMA journal_mode')" wal

# 1. Non-admins: every admin endpoint is 403, and nothing changes.
as $A "$WSCTL" start --name keep >/dev/null || fail "a first workspace for A"
before=$(snapshot)
for req in "GET /v1/admin/workspaces" "DELETE /v1/admin/workspaces/$A/keep" \
	"GET /v1/admin/quotas" "GET /v1/admin/quotas/user/$A" "PUT /v1/admin/quotas/user/$A" \
	"DELETE /v1/admin/quotas/user/$A" "PUT /v1/admin/quotas/group/$STUDENTS" \
	"GET /v1/admin/usage" "GET /v1/admin/audit"; do
	r=$(api $B ${req% *} ${req#* } '{"gpus": 64, "workspaces": 100}')
	expect_eq "non-admin $req: 403" "$(echo "$r" | tail -n1)" 403
	expect_match "non-admin $req: says it is for admins" "$(echo "$r" | head -n -1)" "for admins"
done
for cmd in "admin ls" "admin stop $A/keep" "admin quota set --user $B --gpus 4" "admin quota rm --user $A" \
	"admin quota show" "admin usage" "admin audit"; do
	# shellcheck disable=SC2086
	err=$(as $B "$WSCTL" $cmd 2>&1 >/dev/null)
	expect_eq "non-admin wsctl $cmd: exit 1" "$?" 1
	expect_match "non-admin wsctl $cmd: forbidden" "$err" "for admins"
done
expect_eq "non-admin calls: store and engine unchanged" "$(snapshot)" "$before"
expect_eq "non-admin calls: A's workspace still runs" "$(ready_count $A)" 1
# Denials are audited once per pattern (who, endpoint) and window, not per request.
expect_eq "non-admin calls: denials audited, once per endpoint" \
	"$(sqlite3 "$DB" "SELECT count(*) >= 4 AND count(*) = count(DISTINCT target) FROM audit WHERE result = 'denied' AND actor = '$B'")" 1

# 2. Admins: quotas per group and per user, with precedence.
out=$(as $ADM "$WSCTL" admin quota set --group $STUDENTS --gpus 2 --workspaces 1 --lifetime 72h)
expect_eq "admin: quota set for a group" "$?" 0
as $ADM "$WSCTL" admin quota set --user $A --workspaces 3 >/dev/null
q=$(as $A "$WSCTL" quota --json)
expect_eq "precedence: user entry wins (workspaces)" "$(echo "$q" | jq -r '"\(.limits.workspaces) \(.from.workspaces)"')" "3 user $A"
expect_eq "precedence: group entry over the default (gpus)" "$(echo "$q" | jq -r '"\(.limits.gpus) \(.from.gpus)"')" "2 group $STUDENTS"
expect_eq "precedence: default where nobody set it (memory)" "$(echo "$q" | jq -r '"\(.limits.memory) \(.from.memory)"')" "$((2 << 30)) default"
expect_eq "the quota shows current use" "$(echo "$q" | jq -r .use.workspaces)" 1
r=$(api $ADM PUT /v1/admin/quotas/user/$A '{"gpus": -1}')
expect_eq "admin: a negative limit is refused (400)" "$(echo "$r" | tail -n1)" 400
r=$(api $ADM PUT /v1/admin/quotas/user/$A '{"gpu": 1}')
expect_match "admin: an unknown limit is refused" "$(echo "$r" | head -n -1)" 'unknown field \\"gpu\\"'
r=$(api $ADM PUT /v1/admin/quotas/user/$A '{"memory": "99999999t"}')
expect_match "admin: a huge size is refused" "$(echo "$r" | head -n -1)" "memory: .* is not a size"
r=$(api $ADM PUT "/v1/admin/quotas/user/Bad%0AName" '{"gpus": 1}')
expect_eq "admin: a bad user name is refused" "$(echo "$r" | tail -n1)" 400
r=$(api $ADM PUT /v1/admin/quotas/user/$A '{"gpus": 1')
expect_match "admin: malformed JSON is refused" "$(echo "$r" | tail -n1) $(echo "$r" | head -n -1)" '^400 .*not valid JSON'
r=$(api $ADM PUT /v1/admin/quotas/host/$A '{"gpus": 1}')
expect_match "admin: a quota kind other than user or group is refused" "$(echo "$r" | tail -n1) $(echo "$r" | head -n -1)" '^404 .*per user or per group'
r=$(api $ADM GET "/v1/admin/usage?since=yesterday")
expect_match "admin usage: a bad since is refused" "$(echo "$r" | tail -n1) $(echo "$r" | head -n -1)" '^400 .*since: not a date'
r=$(api $ADM GET "/v1/admin/audit?limit=0")
expect_match "admin audit: a limit out of range is refused" "$(echo "$r" | tail -n1) $(echo "$r" | head -n -1)" '^400 .*limit: 1 to 100000'
r=$(api $ADM GET "/v1/admin/audit?limit=12abc")
expect_eq "admin audit: a limit that is not a number is refused" "$(echo "$r" | tail -n1)" 400
r=$(api $ADM DELETE "/v1/admin/workspaces/$A/nosuch")
expect_eq "admin stop: an unknown workspace is 404" "$(echo "$r" | tail -n1)" 404
expect_eq "admin: refused quota changes change nothing" \
	"$(sqlite3 "$DB" "SELECT limits FROM quotas WHERE name = '$A'")" '{"workspaces":3}'
expect_match "admin quota show --user: effective limits" "$(as $ADM "$WSCTL" admin quota show --user $A)" "workspaces +3"
expect_match "admin ls shows everyone's workspaces" "$(as $ADM "$WSCTL" admin ls)" "$A +keep"
expect_match "ls shows when a workspace expires" "$(as $B "$WSCTL" start --name one >/dev/null; as $B "$WSCTL" ls)" "one .* (71h|72h|2d|3d)"
expect_match "a refusal names the limit, the use and the limit" \
	"$(as $B "$WSCTL" start --name two 2>&1)" "quota exceeded: workspaces at once: you have 1, the limit is 1 \(group $STUDENTS\)"
as $ADM "$WSCTL" admin stop $B/one >/dev/null
expect_eq "admin stop: B's workspace is gone" "$(as $B "$WSCTL" ls --json | jq '.workspaces | length')" 0
as $ADM "$WSCTL" admin quota rm --group $STUDENTS >/dev/null
as $ADM "$WSCTL" admin quota rm --user $A >/dev/null
expect_eq "admin quota rm: no entries left" "$(sqlite3 "$DB" 'SELECT count(*) FROM quotas')" 0
as $A "$WSCTL" stop keep >/dev/null

# 3. 50 simultaneous starts by one user whose quota allows 2: exactly 2.
pids=()
for i in $(seq 1 50); do
	as $A "$WSCTL" start --name "race$i" >"$T/race$i.out" 2>&1 &
	pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
expect_eq "50 simultaneous starts, quota 2: exactly 2 succeed" "$ok" 2
expect_eq "50 simultaneous starts: 48 quota refusals" "$(grep -l "quota exceeded: workspaces at once" "$T"/race*.out | wc -l)" 48
expect_eq "50 simultaneous starts: 2 containers" "$(wslab_containers)" 2
for i in $(seq 1 50); do as $A "$WSCTL" stop "race$i" >/dev/null 2>&1; done

# 4. 10 users at once on 4 GPUs, 1 GPU each by quota, 3 starts each.
pids=()
for u in "${MANY[@]}"; do
	for k in 1 2 3; do
		as "$u" "$WSCTL" start --name "g$k" --gpus 1 --json >"$T/$u.$k.out" 2>"$T/$u.$k.err" &
		pids+=($!)
	done
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
expect_eq "30 starts by 10 users on 4 GPUs: 4 succeed" "$ok" 4
over=0
for u in "${MANY[@]}"; do
	n=$(as "$u" "$WSCTL" ls --json | jq '[.workspaces[].gpus | length] | add // 0')
	[ "$n" -le 1 ] || over=$((over + 1))
done
expect_eq "no user above the GPU quota" "$over" 0
g=$(as root "$WSCTL" gpus --json)
expect_eq "no GPU held twice: 4 distinct holders" "$(echo "$g" | jq -r '[.gpus[].workspace_id] | unique | length')" 4
expect_eq "the store holds each GPU once" "$(sqlite3 "$DB" "SELECT count(DISTINCT resource) || ' ' || count(*) FROM allocations WHERE resource LIKE 'gpu:%'")" "4 4"
if cat "$T"/wslab-qm*.err | grep -v "quota exceeded\|are free now; nothing was created" | grep .; then
	fail "the 26 refusals are all quota or GPU refusals"
else
	pass "the 26 refusals are all quota or GPU refusals"
fi
for u in "${MANY[@]}"; do for k in 1 2 3; do as "$u" "$WSCTL" stop "g$k" >/dev/null 2>&1; done; done
expect_eq "every GPU is free again" "$(as root "$WSCTL" gpus --json | jq .free)" 4

# 5. Usage: one GPU for a measured interval.
as $A "$WSCTL" start --name used --gpus 1 >/dev/null
t0=$(date +%s.%N)
sleep 3
as $A "$WSCTL" stop used >/dev/null
t1=$(date +%s.%N)
u=$(as $ADM "$WSCTL" admin usage --since 1h --json | jq -r ".users[] | select(.user == \"$A\") | .gpu_seconds")
# The stop is counted from when it was asked: within a second of the interval.
expect_eq "usage: GPU-seconds within a second of the measured $(echo "$t1 - $t0" | bc) s" \
	"$(echo "d = $u - ($t1 - $t0); d < 1 && d > -1" | bc)" 1
expect_match "admin usage table" "$(as $ADM "$WSCTL" admin usage)" "$A"
a=$(as $ADM "$WSCTL" admin audit --json)
for action in start stop admin_stop quota_set quota_rm; do
	expect_eq "audit records $action" "$(echo "$a" | jq "[.events[] | select(.action == \"$action\")] | length > 0")" true
done
# 48 refusals of one user: written once per pattern (at most 16 patterns a user), the rest counted.
expect_eq "audit records quota refusals, at most 16 rows for one user" \
	"$(echo "$a" | jq --arg u "$A" '[.events[] | select(.result == "refused" and .actor == $u)] | length | . >= 1 and . <= 16')" true

# 6. Lifetime: stopped when it ends, home kept.
as $ADM "$WSCTL" admin quota set --user $B --lifetime 10s >/dev/null
as $B "$WSCTL" start --name short >/dev/null
as $B "$WSCTL" ssh short -- 'echo kept > ~/life.txt' </dev/null
expect_match "show gives the expiry" "$(as $B "$WSCTL" show short)" "Expires:"
for _ in $(seq 1 100); do
	[ "$(as $B "$WSCTL" ls --json | jq '.workspaces | length')" = 0 ] && break
	sleep 0.2
done
expect_eq "lifetime: the workspace is stopped at its end" "$(as $B "$WSCTL" ls --json | jq '.workspaces | length')" 0
expect_eq "lifetime: the home is kept" "$(cat "$T/home/$B/life.txt")" kept
expect_eq "lifetime: audited" "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'expire'")" 1
as $ADM "$WSCTL" admin quota rm --user $B >/dev/null

# 7. SIGKILL of wsd at each phase of a start, then restart: invariants hold.
restart_wsd() {
	rm -f "$T/wsd.sock"
	FAKE_NVML_INVENTORY=$GPU_DIR/inventory "$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 100); do [ -S "$T/wsd.sock" ] && break; sleep 0.1; done
	for _ in $(seq 1 100); do
		[ "$(api $A GET /v1/info | head -n -1 | jq -r .engine_ready)" = true ] && break
		sleep 0.1
	done
}
invariants() { # PHASE
	local ids listed held running c
	for _ in $(seq 1 100); do
		[ "$(as $A "$WSCTL" ls --json | jq '[.workspaces[] | select(.state != "ready")] | length')" = 0 ] && break
		sleep 0.2
	done
	for _ in $(seq 1 100); do # leftovers are removed in the background
		ids=$(docker ps -aq --no-trunc --filter label=wslab.instance="$INSTANCE" | sort)
		listed=$(as root "$WSCTL" admin ls --json | jq -r '.workspaces[].container_id' | sort)
		[ "$ids" = "$listed" ] && break
		sleep 0.1
	done
	expect_eq "kill at $1: each wslab container is a listed workspace (or removed)" "$ids" "$listed"
	running=$(as root "$WSCTL" admin ls --json | jq -r '[.workspaces[] | select(.state == "ready") | .id] | sort | join(",")')
	held=$(as root "$WSCTL" gpus --json | jq -r '[.gpus[] | select(.workspace_id) | .workspace_id] | unique | sort | join(",")')
	c=$(as root "$WSCTL" admin ls --json | jq -r '[.workspaces[] | select(.gpus | length > 0) | .id] | sort | join(",")')
	expect_eq "kill at $1: each held GPU belongs to a running workspace" "$held" "$c"
	expect_eq "kill at $1: the store records exactly the running workspaces" \
		"$(sqlite3 "$DB" "SELECT group_concat(id) FROM (SELECT id FROM workspaces ORDER BY id)")" "$running"
	expect_eq "kill at $1: the home is intact" "$(cat "$T/home/$A/note.txt" 2>/dev/null)" kept
}
echo kept >"$T/home/$A/note.txt"
as $ADM "$WSCTL" admin quota set --user $A --gpus unlimited --workspaces unlimited >/dev/null
for phase in preparing creating starting waiting; do
	frozen=
	as $A curl -sN --unix-socket "$T/wsd.sock" -H 'Accept: application/x-ndjson' \
		-H 'Content-Type: application/json' -X POST http://wsd/v1/workspaces \
		--data-binary "{\"name\": \"k$phase\", \"gpus\": 1, \"ssh_keys\": [\"$(cat "$(getent passwd $A | cut -d: -f6)/.ssh/id_ed25519.pub")\"]}" \
		>"$T/k$phase.out" 2>/dev/null &
	cpid=$!
	for _ in $(seq 1 500); do
		grep -q "\"phase\": *\"$phase\"" "$T/k$phase.out" 2>/dev/null && break
		sleep 0.01
	done
	# Engine calls in flight while wsd dies: freeze the engine across the kill.
	if [ $phase = creating ] || [ $phase = starting ]; then
		kill -STOP "$(dockerd_pid)"
		frozen=1
	fi
	kill -9 "$WSD_PID"
	wait "$WSD_PID" 2>/dev/null
	[ -n "$frozen" ] && kill -CONT "$(dockerd_pid)"
	wait $cpid 2>/dev/null
	grep -q "\"phase\": *\"$phase\"" "$T/k$phase.out" && pass "kill at $phase: reached the phase" || fail "kill at $phase: reached the phase"
	restart_wsd
	invariants $phase
done
for phase in preparing creating starting waiting; do as $A "$WSCTL" stop "k$phase" >/dev/null 2>&1; done

# 8. While workspaces run: SIGKILL and restart keep them, with GPUs and ports.
w=$(as $A "$WSCTL" start --name survivor --gpus 1 --json)
kill -9 "$WSD_PID"
wait "$WSD_PID" 2>/dev/null
restart_wsd
for _ in $(seq 1 100); do [ "$(ready_count $A)" -ge 1 ] && break; sleep 0.1; done
s=$(as $A "$WSCTL" show survivor --json)
expect_eq "restart: the workspace is listed again with its GPU and ports" \
	"$(echo "$s" | jq -c '[.state, .gpus[0].uuid, .jupyter_port, .ssh_port]')" \
	"$(echo "$w" | jq -c '["ready", .gpus[0].uuid, .jupyter_port, .ssh_port]')"
tok=$(echo "$w" | jq -r .jupyter_url | sed 's/.*token=//')
if [ ${#tok} -ge 32 ] && ! cat "$DB"* | grep -qa "$tok"; then pass "no token in the store"; else fail "no token in the store"; fi
expect_eq "restart: its usage is still open" "$(sqlite3 "$DB" "SELECT count(*) FROM usage WHERE workspace_id = '$(echo "$w" | jq -r .id)' AND stopped_at IS NULL")" 1
expect_eq "restart: quotas survive" "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'quota_set'")" \
	"$(as $ADM "$WSCTL" admin audit --json | jq '[.events[] | select(.action == "quota_set")] | length')"

# 9. The engine restarts while it runs: wsd notices without a restart of its own.
engine_restart
for _ in $(seq 1 150); do
	[ "$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" = 0 ] && break
	sleep 0.2
done
expect_eq "engine restart: the stopped workspace is released" "$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" 0
expect_eq "engine restart: its GPU is free" "$(as root "$WSCTL" gpus --json | jq .free)" 4
expect_eq "engine restart: the store agrees" "$(sqlite3 "$DB" 'SELECT count(*) FROM workspaces')" 0
finish
