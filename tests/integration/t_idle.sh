#!/bin/bash
# Idle reclaim, with a real engine, real Jupyter kernels and real OpenSSH
# sessions, and GPU load from the fake NVML changed while wsd runs. With a
# short idle_timeout: a workspace with an idle GPU, no busy kernel and no
# SSH session is warned, then reclaimed (home kept, GPU freed, audited with
# its evidence); GPU load, a busy kernel (time.sleep over Jupyter's
# websocket) or an open SSH session keep it; activity after the warning
# cancels the reclaim; the idle clock survives a SIGKILL of wsd; the quota
# kind applies per user.
. "$(dirname "$0")/lib.sh"
PORT_BASE=26800
setup_all
A=wslab-ida
B=wslab-idb
make_user $A
make_user $B
G=(GPU-1d1e0000-0000-4000-8000-000000000000 GPU-1d1e0000-0000-4000-8000-000000000001)
inventory() { # UTIL0 UTIL1
	printf 'gpu %s NVIDIA-H100 00000000:18:00.0 81559 100 %s\ngpu %s NVIDIA-H100 00000000:2A:00.0 81559 100 %s\n' \
		"${G[0]}" "$1" "${G[1]}" "$2" >"$GPU_DIR/inventory.new"
	mv "$GPU_DIR/inventory.new" "$GPU_DIR/inventory"
}
fake_gpus "gpu ${G[0]} NVIDIA-H100 00000000:18:00.0 81559 100 0
gpu ${G[1]} NVIDIA-H100 00000000:2A:00.0 81559 100 0"
start_wsd "nvml_library = $FAKE_NVML
gpu_refresh = 1s
quota_idle_timeout = 8s
idle_warn = 4s
idle_check_interval = 1s
idle_gpu_util = 10"
DB=$T/state/wsd.db
state() { as "$1" "$WSCTL" show "$2" --json 2>/dev/null | jq -r .state; }
# gone USER NAME SECONDS: true once the workspace is no longer listed.
gone() {
	for _ in $(seq 1 $(($3 * 5))); do
		as "$1" "$WSCTL" show "$2" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	return 1
}
audited() { sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = '$1' AND target = '$2'"; }

# 1. Idle: warned, then reclaimed; the GPU goes back, the home stays.
out=$(as $A "$WSCTL" start --name idle1 --gpus 1 --json) || fail "start idle1"
uuid1=$(jq -r '.gpus[0].uuid' <<<"$out")
expect_eq "the JSON says when it is reclaimed" "$(jq -r '.idle_timeout' <<<"$out")" 8
s=$(as $A "$WSCTL" show idle1 --json)
[ "$(jq -r .reclaim_at <<<"$s")" != null ] && [ "$(jq -r .idle_since <<<"$s")" != null ] &&
	pass "show gives idle_since and reclaim_at" || fail "no idle_since/reclaim_at: $s"
expect_match "wsctl show says it in words" "$(as $A "$WSCTL" show idle1)" 'Idle: .*reclaimed in'
expect_match "wsctl ls has it" "$(as $A "$WSCTL" ls)" 'reclaimed in'
t0=$(date +%s)
gone $A idle1 30 && pass "an idle workspace is reclaimed" || fail "idle1 was not reclaimed"
t1=$(date +%s)
[ $((t1 - t0)) -ge 6 ] && pass "not before its timeout ($((t1 - t0)) s)" || fail "reclaimed after $((t1 - t0)) s"
expect_eq "its owner was warned first" "$(audited idle_warning $A/idle1)" 1
expect_eq "the reclaim is audited" "$(audited idle_reclaim $A/idle1)" 1
expect_match "with the evidence" \
	"$(sqlite3 "$DB" "SELECT detail FROM audit WHERE action = 'idle_reclaim' AND target = '$A/idle1'")" \
	'idle since .*; last GPU use never, last Jupyter activity .*, last SSH session never'
expect_eq "the stop is the usual one, with the reason idle" \
	"$(audited idle $A/idle1)" 1
[ -d "$T/home/$A" ] && pass "the home is kept" || fail "the home is gone"
expect_eq "its GPU is free again" \
	"$(as $A "$WSCTL" gpus --json | jq -r --arg u "$uuid1" '.gpus[] | select(.uuid == $u) | .state')" free

# 2. Use keeps a workspace: GPU load, a busy kernel, an SSH session.
out=$(as $A "$WSCTL" start --name gpu1 --gpus 1 --json) || fail "start gpu1"
g=$(jq -r '.gpus[0].uuid' <<<"$out")
if [ "$g" = "${G[0]}" ]; then inventory 60 0; else inventory 0 60; fi
out=$(as $B "$WSCTL" start --name kern --json) || fail "start kern"
url=$(jq -r .jupyter_url <<<"$out")
port=$(jq -r .jupyter_port <<<"$out")
token=${url##*token=}
# A kernel that computes in silence, started over Jupyter's websocket.
# On connect the server nudges the kernel with kernel_info requests, on the
# control channel too, and notebook 6 takes the status of any of them as the
# kernel's execution_state: so the script waits for that to settle before it
# asks for the computation, then for "busy" on its own request.
kid=$(
	/usr/bin/python3 - "$port" "$token" <<'PY'
import json, sys, time, urllib.request, uuid, websocket
port, token = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s/api/kernels?token=%s" % (port, token)
k = json.load(urllib.request.urlopen(urllib.request.Request(base, data=b"{}", method="POST")))
ws = websocket.create_connection("ws://127.0.0.1:%s/api/kernels/%s/channels?token=%s" % (port, k["id"], token))
msg = {"header": {"msg_id": uuid.uuid4().hex, "username": "t", "session": uuid.uuid4().hex,
                  "msg_type": "execute_request", "version": "5.3"},
       "parent_header": {}, "metadata": {}, "channel": "shell",
       "content": {"code": "import time; time.sleep(300)", "silent": False, "store_history": False,
                   "user_expressions": {}, "allow_stdin": False}}
ws.settimeout(1)
settle = time.time() + 5
while time.time() < settle:
    try:
        m = json.loads(ws.recv())
    except websocket.WebSocketTimeoutException:
        continue
    if m.get("msg_type") == "status" and m["content"].get("execution_state") == "idle":
        break
time.sleep(1)
ws.settimeout(20)
ws.send(json.dumps(msg))
deadline = time.time() + 20
while time.time() < deadline:
    m = json.loads(ws.recv())
    if (m.get("msg_type") == "status" and m["content"].get("execution_state") == "busy" and
            m.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]):
        print(k["id"])
        sys.exit(0)
sys.exit(1)
PY
) || fail "cannot run a kernel"
expect_eq "Jupyter sees the kernel busy" \
	"$(curl -s "http://127.0.0.1:$port/api/kernels/$kid?no_track_activity=1&token=$token" | jq -r .execution_state)" busy
as $B "$WSCTL" start --name sshw --json >/dev/null || fail "start sshw"
as $B "$WSCTL" ssh sshw -- sleep 300 </dev/null >/dev/null 2>&1 &
sshpid=$!
sleep 16 # twice the timeout, plus the warning
expect_eq "GPU load above idle_gpu_util keeps a workspace" "$(state $A gpu1)" ready
expect_eq "a busy kernel keeps a workspace" "$(state $B kern)" ready
expect_eq "an open SSH session keeps a workspace" "$(state $B sshw)" ready
expect_eq "none of them was warned" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'idle_warning' AND target IN ('$A/gpu1', '$B/kern', '$B/sshw')")" 0
# Once the load, the session and the computation end, each goes like any other.
pkill -u $B -f 'sleep 300' # the session's client here and its command in there
curl -s -o /dev/null -X POST "http://127.0.0.1:$port/api/kernels/$kid/interrupt?token=$token" ||
	fail "cannot interrupt the kernel"
inventory 0 0
gone $A gpu1 30 && pass "when the GPU load ends it is reclaimed" || fail "gpu1 stays"
expect_match "its evidence names its last GPU use" \
	"$(sqlite3 "$DB" "SELECT detail FROM audit WHERE action = 'idle_reclaim' AND target = '$A/gpu1'")" \
	'last GPU use 20'
gone $B sshw 30 && pass "once the SSH session ends it is reclaimed" || fail "sshw stays"
expect_match "its evidence names the session" \
	"$(sqlite3 "$DB" "SELECT detail FROM audit WHERE action = 'idle_reclaim' AND target = '$B/sshw'")" \
	'last SSH session 20'
gone $B kern 40 && pass "once the kernel is done it is reclaimed" || fail "kern stays"

# 3. Activity after the warning cancels the reclaim.
as $A "$WSCTL" start --name late --json >/dev/null || fail "start late"
for _ in $(seq 1 100); do [ "$(audited idle_warning $A/late)" = 1 ] && break; sleep 0.2; done
expect_eq "warned" "$(audited idle_warning $A/late)" 1
as $A "$WSCTL" ssh late -- sleep 6 </dev/null >/dev/null 2>&1 &
sshpid=$!
sleep 6
expect_eq "an SSH session after the warning cancels the reclaim" "$(state $A late)" ready
expect_match "and the log says so" "$(grep 'late) is in use again' "$T/wsd.log")" 'no reclaim'
kill $sshpid 2>/dev/null
as $A "$WSCTL" stop late >/dev/null

# 4. The idle clock survives a SIGKILL of wsd: no fresh timeout, no reclaim without a warning.
as $A "$WSCTL" admin quota set --user $A --idle-timeout 1h >/dev/null 2>&1 &&
	fail "a non-admin set a quota" || pass "a non-admin cannot set an idle timeout"
"$WSCTL" --socket "$T/wsd.sock" admin quota set --user $A --idle-timeout 30s >/dev/null ||
	fail "an admin sets an idle timeout"
out=$(as $A "$WSCTL" start --name kill --json) || fail "start kill"
expect_eq "the user's own idle timeout applies" "$(jq -r .idle_timeout <<<"$out")" 30
sleep 3
before=$(as $A "$WSCTL" show kill --json | jq -r .idle_since)
kill -9 "$WSD_PID"
WSD_PID=
sleep 2
start_wsd "nvml_library = $FAKE_NVML
gpu_refresh = 1s
quota_idle_timeout = 8s
idle_warn = 4s
idle_check_interval = 1s
idle_gpu_util = 10"
for _ in $(seq 1 50); do [ "$(state $A kill)" = ready ] && break; sleep 0.2; done
after=$(as $A "$WSCTL" show kill --json | jq -r .idle_since)
expect_eq "after a SIGKILL the idle clock goes on from where it was" "$after" "$before"
as $A "$WSCTL" stop kill >/dev/null

# 5. Unlimited means never; bad values are refused.
"$WSCTL" --socket "$T/wsd.sock" admin quota set --group "$(id -gn $A)" --idle-timeout unlimited >/dev/null ||
	fail "unlimited for a group"
"$WSCTL" --socket "$T/wsd.sock" admin quota rm --user $A >/dev/null
out=$(as $A "$WSCTL" start --name never --json) || fail "start never"
expect_eq "unlimited: no idle timeout" "$(jq -r '"\(.idle_timeout) \(.reclaim_at)"' <<<"$out")" "null null"
for bad in -5m 0 abc 400d; do
	r=$("$WSCTL" --socket "$T/wsd.sock" admin quota set --user $B --idle-timeout "$bad" 2>&1) &&
		fail "--idle-timeout $bad accepted" || pass "--idle-timeout $bad refused: ${r#wsctl: }"
done
as $A "$WSCTL" stop never >/dev/null
expect_eq "every container is gone" "$(wslab_containers)" 0
finish
