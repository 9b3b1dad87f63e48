#!/bin/bash
# Faults around the engine: the state directory full, then read-only, each
# with a clear error within a bounded time; the first host ports of the
# range taken by another program, which the start steps around. Afterwards
# no container, no GPU or port held by nothing, the home intact, and wsd
# still serving.
. "$(dirname "$0")/lib.sh"
PORT_BASE=24000
setup_all
A=wslab-sa
make_user $A
T=$(mktemp -d /tmp/wslab-it.XXXXXX)
mkdir -p "$T/state"
mount -t tmpfs -o size=4m tmpfs "$T/state" || { echo "cannot mount a tmpfs" >&2; exit 77; }
trap 'umount -l "$T/state" 2>/dev/null' EXIT
fake_gpus "gpu GPU-5a5a5a5a-0000-4000-8000-000000000000 NVIDIA-H100-80GB-HBM3 00000000:18:00.0 81559 0 0"
start_wsd "nvml_library = $FAKE_NVML"

clean() { # NAME: nothing of a refused start is left
	expect_eq "$1: no container" "$(wslab_containers)" 0
	expect_eq "$1: no workspace on record" "$(sqlite3 "$T/state/wsd.db" 'SELECT count(*) FROM workspaces')" 0
	expect_eq "$1: the GPU is free" "$(as $A "$WSCTL" gpus --json | jq .free)" 1
	expect_eq "$1: nothing listed" "$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" 0
}
serves() { # NAME: a start works again
	out=$(as $A "$WSCTL" start --name after --gpus 1 --json)
	expect_eq "$1: wsd serves starts again" "$(echo "$out" | jq -r .state)" ready
	as $A "$WSCTL" stop after >/dev/null
}

as $A "$WSCTL" start --name first >/dev/null
as $A "$WSCTL" ssh first -- 'echo kept > ~/state.txt' </dev/null
as $A "$WSCTL" stop first >/dev/null

# 1. The state directory full.
dd if=/dev/zero of="$T/state/filler" bs=64k 2>/dev/null
t0=$(date +%s)
err=$(as $A "$WSCTL" start --name full --gpus 1 2>&1 >/dev/null)
rc=$?
expect_eq "state full: the start fails" "$rc" 1
expect_match "state full: the error says why" "$err" "(full|No space)"
[ $(($(date +%s) - t0)) -le 10 ] && pass "state full: answered in time" || fail "state full: answered in time"
# Quota changes while the store cannot write, many at once for one entry:
# each is saved (200), refused (503) or told another is being saved (409),
# and what wsd applies is what the file holds.
pids=()
for g in $(seq 1 12); do
	(api root PUT /v1/admin/quotas/user/$A "{\"gpus\": $g}" | tail -1; echo) >"$T/quota.$g" &
	pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$T"/quota.* | grep . | sort -u | tr '\n' ' ')
expect_match "state full: quota changes are saved, refused or told to wait" "$codes" "^((200|409|503) )+$"
mem=$(api root GET /v1/admin/quotas | head -n -1 | jq -c "[.entries[] | select(.kind == \"user\" and .name == \"$A\") | .limits.gpus]")
file=$(sqlite3 "$T/state/wsd.db" "SELECT limits FROM quotas WHERE kind = 'user' AND name = '$A'" | jq -sc 'map(.gpus)')
expect_eq "state full: the quota in force is the quota on file ($codes)" "$mem" "$file"
rm -f "$T/state/filler"
clean "state full"
serves "state full"

# 2. The state directory read-only (a remount needs nothing open for
# writing, so wsd meets it at start-up): it refuses to run, and says why.
stop_wsd
mount -o remount,ro "$T/state"
rm -f "$T/wsd.sock"
err=$(FAKE_NVML_INVENTORY=$GPU_DIR/inventory timeout 20 "$WSD" --config "$T/wsd.conf" 2>&1)
expect_eq "state read-only: wsd exits 1" "$?" 1
expect_match "state read-only: the error names the store" "$err" "store .*wsd.db: .*(read-only|readonly|unable to open)"
mount -o remount,rw "$T/state"
start_wsd "nvml_library = $FAKE_NVML"
clean "state read-only"
serves "state read-only"
expect_eq "state faults: the home is intact" "$(cat "$T/home/$A/state.txt")" kept

# 3. The first ports of the range taken by another program: wsd hands out
# ports only after a bind test, so the start gets others and succeeds.
python3 -c "
import socket, time
s = [socket.socket() for _ in range(2)]
for i, x in enumerate(s):
    x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    x.bind(('127.0.0.1', $PORT_BASE + i)); x.listen()
time.sleep(60)" &
squatter=$!
sleep 0.5
out=$(as $A "$WSCTL" start --name taken --gpus 1 --json 2>&1)
expect_eq "port taken: the start succeeds on other ports" "$(echo "$out" | jq -r .state 2>/dev/null)" ready
p1=$(echo "$out" | jq -r .jupyter_port 2>/dev/null) p2=$(echo "$out" | jq -r .ssh_port 2>/dev/null)
[ "${p1:-0}" -ge $((PORT_BASE + 2)) ] && [ "${p2:-0}" -ge $((PORT_BASE + 2)) ] &&
	pass "port taken: neither taken port is handed out ($p1, $p2)" || fail "port taken: ports $p1, $p2"
as $A "$WSCTL" stop taken >/dev/null
clean "port taken"
serves "port taken"
kill $squatter
wait $squatter 2>/dev/null
stop_wsd
umount "$T/state" && pass "state tmpfs unmounted" || fail "state tmpfs unmounted"
finish
