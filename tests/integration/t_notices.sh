#!/bin/bash
# Notices and wsctl extend, with a real engine and 1 fake GPU. A
# notify_command (a script that appends its stdin to a file) receives
# exactly one event of each kind: a queued start dispatched and ready, an
# idle warning and the reclaim (also when wsd is SIGKILLed between the
# two), a lifetime warning and the expiry. The owner's terminal (a pty
# recorded in a utmp file of the test's own, mode 620) gets the text; a
# terminal with "mesg n" (600) gets nothing. wsctl extend moves
# expires_at (kept across a SIGKILL: the record wins over the label),
# and is refused beyond the extension quota, while a start waits for its
# GPU, for another user's workspace, for one without a lifetime, and for
# negative, zero and garbage durations. A failing notify_command is
# given up after 3 tries, a hanging one killed. --queue with --wait and a queued
# workspace's ssh are refused in t_queue.sh.
. "$(dirname "$0")/lib.sh"
PORT_BASE=27000
INSTANCE=tnotice$$
setup_all
trap 'cleanup; exit 1' INT TERM
command -v sqlite3 >/dev/null || { echo "missing sqlite3" >&2; exit 1; }
A=wslab-na
B=wslab-nb
make_user $A
make_user $B
GU=GPU-70c70c70-0000-4000-8000-000000000000
fake_gpus "gpu $GU NVIDIA-H100 00000000:18:00.0 81559 0 0"
T=$(mktemp -d /tmp/wslab-it.XXXXXX)
chmod 755 "$T"
EV=$T/events.jsonl
# The notify_command: an argv (no shell involved on wsd's side), the event on stdin.
cat >"$T/notify.sh" <<SH
#!/bin/sh
cat >>"$EV"
echo >>"$EV"
SH
chmod 755 "$T/notify.sh"
: >"$T/utmp"
CONF="nvml_library = $FAKE_NVML
gpu_refresh = 1s
quota_idle_timeout = 8s
idle_warn = 4s
idle_check_interval = 1s
idle_gpu_util = 10
lifetime_warn = 6s
quota_extension = 2h
notify_command = $T/notify.sh
notify_timeout = 5s
utmp_file = $T/utmp"
start_wsd "$CONF"
DB=$T/state/wsd.db
ADMIN=("$WSCTL" --socket "$T/wsd.sock")
state_of() { as "$1" "$WSCTL" show "$2" --json 2>/dev/null | jq -r .state; }
wait_state() { # USER NAME STATE [TENTHS]
	for _ in $(seq 1 "${4:-300}"); do
		[ "$(state_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
gone() { # USER NAME SECONDS
	for _ in $(seq 1 $(($3 * 5))); do
		as "$1" "$WSCTL" show "$2" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	return 1
}
# events KIND NAME: how many notify_command received.
events() { [ -s "$EV" ] && jq -c --arg k "$1" --arg n "$2" 'select(.kind == $k and .workspace == $n)' "$EV" | wc -l || echo 0; }
wait_event() { # KIND NAME SECONDS
	for _ in $(seq 1 $(($3 * 5))); do
		[ "$(events "$1" "$2")" -ge 1 ] && return 0
		sleep 0.2
	done
	return 1
}

# A pty for B as a login would have it: owned by B, mode MODE, recorded in
# the utmp file; what wsd writes to it is read on the master side into OUT.
pty_for() { # USER MODE OUT SECONDS
	/usr/bin/python3 - "$1" "$2" "$3" "$T/utmp" "$4" <<'PY' &
import os, pwd, select, struct, sys, time
user, mode, out, utmp, secs = sys.argv[1], int(sys.argv[2], 8), sys.argv[3], sys.argv[4], float(sys.argv[5])
m, s = os.openpty()
name = os.ttyname(s)
os.chown(name, pwd.getpwnam(user).pw_uid, -1)
os.chmod(name, mode)
def rec(kind, who, line):
    # glibc's struct utmp on 64-bit Linux: 384 bytes.
    return struct.pack("<h2xi32s4s32s256shhiii4i20s", kind, os.getpid(), line.encode(), b"wsl",
                       who.encode(), b"", 0, 0, 0, int(time.time()), 0, 0, 0, 0, 0, b"")
with open(utmp, "ab") as f:
    f.write(rec(8, user, name[5:]))          # DEAD_PROCESS: not a login
    f.write(rec(7, "root", name[5:]))        # someone else's record of it
    f.write(rec(7, user, "../etc/passwd"))   # a line that is no terminal
    f.write(rec(7, user, name[5:]))          # the login
with open(out, "wb") as o:
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([m], [], [], 0.2)
        if r:
            o.write(os.read(m, 4096))
            o.flush()
PY
}

# 1. Idle: warned, wsd SIGKILLed, reclaimed after the restart; one notice each.
as $A "$WSCTL" start --name idle1 --json >/dev/null || fail "start idle1"
wait_event idle_warning idle1 30 && pass "the idle warning reaches notify_command" ||
	fail "no idle warning"
kill -9 "$WSD_PID"
WSD_PID=
expect_eq "SIGKILLed between the warning and the reclaim" "$(events reclaimed idle1)" 0
start_wsd "$CONF"
gone $A idle1 40 && pass "reclaimed after the restart" || fail "idle1 was not reclaimed"
wait_event reclaimed idle1 10
expect_eq "exactly one idle warning" "$(events idle_warning idle1)" 1
expect_eq "exactly one reclaim notice" "$(events reclaimed idle1)" 1
ev=$(jq -c 'select(.kind == "idle_warning")' "$EV" | head -1)
expect_eq "the event names user, uid, workspace and id" \
	"$(jq -r '"\(.user) \(.uid) \(.workspace) \(.workspace_id | length)"' <<<"$ev")" "$A $(id -u $A) idle1 12"
expect_match "it says why and when, and what helps" \
	"$(jq -r '"\(.message) | \(.deadline) | \(.command) | \(.at)"' <<<"$ev")" \
	'is idle \(idle since .*\); it will be stopped at .* unless it is used.* \| 20.*Z \| wsctl ssh idle1 \| 20.*Z'
expect_eq "the outbox has both, delivered" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM notices WHERE workspace = 'idle1' AND delivered_at IS NOT NULL")" 2

# 2. Lifetime: a warning lifetime_warn before the end, then the end; the terminal gets it.
"${ADMIN[@]}" admin quota set --user $B --lifetime 15s --idle-timeout unlimited >/dev/null ||
	fail "set B's lifetime"
pty_for $B 620 "$T/tty.out" 60
pty1=$!
pty_for $B 600 "$T/tty-mesg-n.out" 60
pty2=$!
sleep 1
as $B "$WSCTL" start --name life1 --json >/dev/null || fail "start life1"
wait_event lifetime_warning life1 30 && pass "the lifetime warning reaches notify_command" ||
	fail "no lifetime warning"
expect_eq "and suggests wsctl extend" \
	"$(jq -r 'select(.kind == "lifetime_warning") | .command' "$EV")" "wsctl extend life1 --by 1h"
for _ in $(seq 1 25); do grep -q 'life1 reaches' "$T/tty.out" 2>/dev/null && break; sleep 0.2; done
expect_match "the owner's terminal gets it, like write(1)" "$(tr -d '\r' <"$T/tty.out" | tr '\n' ' ')" \
	'Message from wslab on .*: Your workspace life1 reaches the end of its lifetime at .* Try: wsctl extend life1 --by 1h'
expect_eq "written once: not for the DEAD_PROCESS, root's or the bad line's record" \
	"$(grep -c 'life1 reaches' "$T/tty.out")" 1
gone $B life1 30 && pass "life1 expired" || fail "life1 did not expire"
wait_event expired life1 10
expect_eq "exactly one lifetime warning" "$(events lifetime_warning life1)" 1
expect_eq "exactly one expiry notice" "$(events expired life1)" 1
for _ in $(seq 1 25); do grep -q 'life1 reached' "$T/tty.out" 2>/dev/null && break; sleep 0.2; done
expect_match "the terminal gets the expiry too" "$(cat "$T/tty.out")" 'life1 reached the end of its lifetime'
expect_eq "a terminal with mesg n (mode 600) gets nothing" "$(wc -c <"$T/tty-mesg-n.out")" 0
kill $pty1 $pty2 2>/dev/null

# 3. wsctl extend.
"${ADMIN[@]}" admin quota set --user $B --lifetime 1h --extension 1h >/dev/null || fail "set B's extension"
out=$(as $B "$WSCTL" start --name ext1 --gpus 1 --json) || fail "start ext1"
exp0=$(jq -r .expires_at <<<"$out")
r=$(as $B "$WSCTL" extend ext1 --by 30m) && pass "extend within the quota: $r" || fail "extend refused: $r"
exp1=$(as $B "$WSCTL" show ext1 --json | jq -r .expires_at)
expect_eq "expires_at moved by 30m" $(($(date -d "$exp1" +%s) - $(date -d "$exp0" +%s))) 1800
r=$(as $B "$WSCTL" extend ext1 --by 31m 2>&1) && fail "extended beyond the quota" ||
	expect_match "beyond the extension quota: refused with the reason" "$r" 'extension quota: .* 1h in all; ext1 has 30m already, 31m more'
r=$(as $B "$WSCTL" extend ext1 --by 30m --json) || fail "extend up to the limit: $r"
expect_eq "up to the limit exactly" "$(jq -r .extended <<<"$r")" 3600
r=$(as $B "$WSCTL" extend ext1 --by 1s 2>&1) && fail "extended past the limit" || pass "past the limit: ${r#wsctl: }"
for bad in -5m 0 soon 400d; do
	r=$(as $B "$WSCTL" extend ext1 --by "$bad" 2>&1) && fail "--by $bad accepted" ||
		expect_match "--by $bad refused clearly" "$r" 'negative|positive|not a duration|366d'
done
r=$(api $B POST /v1/workspaces/ext1/extend '{"by":"1m","expires_at":0}' | tr '\n' ' ')
expect_match "an unknown field is refused" "$r" 'unknown field.* 400$'
r=$(api $A POST /v1/workspaces/ext1/extend '{"by":"1m"}' | tr '\n' ' ')
expect_match "another user's workspace: 404" "$r" '404$'
r=$(as $A "$WSCTL" extend ext1 --by 1m 2>&1) && fail "A extended B's workspace" ||
	expect_match "and wsctl says so" "$r" 'no workspace named ext1'
# The record's deadline survives a SIGKILL (the label still has the old one).
exp2=$(as $B "$WSCTL" show ext1 --json | jq -r .expires_at)
kill -9 "$WSD_PID"
WSD_PID=
start_wsd "$CONF"
wait_state $B ext1 ready 100
expect_eq "after a SIGKILL the extended deadline holds" "$(as $B "$WSCTL" show ext1 --json | jq -r .expires_at)" "$exp2"

# 4. A queued start: refused extension while it waits; dispatched and ready notices.
"${ADMIN[@]}" admin quota set --user $B --extension 3h >/dev/null
out=$(as $A "$WSCTL" start --name q1 --gpus 1 --queue --json) || fail "queue q1"
expect_eq "q1 is queued" "$(jq -r .state <<<"$out")" queued
r=$(api $B POST /v1/workspaces/ext1/extend '{"by":"10m"}' | tr '\n' ' ')
expect_match "extend while a start waits for its GPU: 409" "$r" 'gpus_wanted.* 409$'
as $B "$WSCTL" stop ext1 >/dev/null || fail "stop ext1"
wait_state $A q1 ready 600 && pass "q1 got the GPU" || fail "q1 is $(state_of $A q1)"
wait_event ready q1 10
expect_eq "exactly one dispatched notice" "$(events dispatched q1)" 1
expect_eq "exactly one ready notice" "$(events ready q1)" 1
expect_eq "dispatched suggests wsctl wait" "$(jq -r 'select(.kind == "dispatched") | .command' "$EV")" "wsctl wait q1"
r=$(api $A POST /v1/workspaces/q1/extend '{"by":"10m"}' | tr '\n' ' ')
expect_match "a workspace without a lifetime: nothing to extend" "$r" 'no_lifetime.* 409$'
as $A "$WSCTL" stop q1 >/dev/null
expect_eq "audited: extend" "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'extend' AND result = 'ok'")" 2
expect_eq "no notice waits or failed" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM notices WHERE delivered_at IS NULL")" 0
expect_eq "one event per line, each a JSON object" "$(jq -s 'map(type) | unique | join(",")' -r "$EV")" object

# 5. A notify_command that fails is logged, tried 3 times in all, then given up; and
#    one that hangs is killed at notify_timeout.
stop_wsd
cat >"$T/fail.sh" <<SH
#!/bin/sh
grep -o '"kind":"[a-z_]*"' >>"$T/fail.runs"
exit 3
SH
cat >"$T/hang.sh" <<SH
#!/bin/sh
cat >/dev/null
echo run >>"$T/hang.runs"
sleep 60
SH
chmod 755 "$T/fail.sh" "$T/hang.sh"
start_wsd "${CONF//notify.sh/fail.sh}"
as $A "$WSCTL" start --name fail1 --json >/dev/null || fail "start fail1"
for _ in $(seq 1 200); do
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM notices WHERE workspace = 'fail1' AND kind = 'idle_warning' AND failed_at IS NOT NULL")" = 1 ] && break
	sleep 0.2
done
expect_eq "a failing notify_command: given up after 3 tries" "$(grep -c idle_warning "$T/fail.runs")" 3
expect_match "each failure is logged" "$(grep 'notify_command exited with status 3' "$T/wsd.log")" 'try 3 of 3'
expect_match "and the giving up" "$(grep 'given up' "$T/wsd.log")" 'failed 3 times'
as $A "$WSCTL" stop fail1 >/dev/null 2>&1
stop_wsd
CONF=${CONF//notify.sh/hang.sh}
start_wsd "${CONF/notify_timeout = 5s/notify_timeout = 2s}"
as $A "$WSCTL" start --name hang1 --json >/dev/null || fail "start hang1"
for _ in $(seq 1 100); do grep -q 'did not finish within 2s' "$T/wsd.log" && break; sleep 0.2; done
expect_match "a hanging notify_command is killed at notify_timeout" \
	"$(grep 'hang1\|notify_command' "$T/wsd.log" | tail -3)" 'did not finish within 2s'
sleep 1
expect_eq "with what it started (its process group)" "$(pgrep -f "$T/hang.sh" | wc -l)" 0
as $A "$WSCTL" stop hang1 >/dev/null 2>&1
expect_eq "every container is gone" "$(wslab_containers)" 0
finish
