#!/bin/bash
# systemd's notify protocol, checked on a socket of the test's own: READY=1
# only once wsd's socket accepts connections and the engine is reconciled
# (never while the engine is down), STATUS= with the workspace count and
# the engine's state, WATCHDOG=1 at half the interval asked for, and
# STOPPING=1 on shutdown.
. "$(dirname "$0")/lib.sh"
PORT_BASE=24800
setup_all
A=wslab-na
make_user $A

# listen NAME: a datagram socket at $T/NAME.sock; each message goes to
# $T/NAME.log as "SECONDS MESSAGE", and on READY=1 the listener asks wsd
# (over its socket) whether it accepts connections and its engine is ready.
listen() {
	python3 - "$T/$1.sock" "$T/$1.log" "$T/wsd.sock" <<'PY' &
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
log = open(sys.argv[2], "a", buffering=1)
t0 = time.monotonic()
while True:
    m = s.recv(4096).decode()
    log.write("%.3f %s\n" % (time.monotonic() - t0, m.replace("\n", " | ")))
    if "READY=1" in m:
        try:
            c = socket.socket(socket.AF_UNIX)
            c.connect(sys.argv[3])
            c.sendall(b"GET /v1/info HTTP/1.1\r\nHost: wsd\r\nConnection: close\r\n\r\n")
            r = b""
            while True:
                d = c.recv(65536)
                if not d:
                    break
                r += d
            body = json.loads(r.split(b"\r\n\r\n", 1)[1])
            log.write("at READY: socket accepts, engine_ready %s\n" % body.get("engine_ready"))
        except Exception as e:
            log.write("at READY: socket refused (%s)\n" % e)
PY
	LISTENER=$!
	for _ in $(seq 1 50); do [ -S "$T/$1.sock" ] && return; sleep 0.1; done
}
T=$(mktemp -d /tmp/wslab-it.XXXXXX)

# 1. The engine is down at start-up: no READY=1, a STATUS that says so.
listen down
export NOTIFY_SOCKET=$T/down.sock
start_wsd "engine = unix://$T/no-engine.sock"
unset NOTIFY_SOCKET
sleep 3
expect_eq "no READY=1 while the engine is down" "$(grep -c 'READY=1' "$T/down.log")" 0
expect_match "its STATUS says the engine is unreachable" "$(cat "$T/down.log")" 'STATUS=.*engine unreachable'
stop_wsd
kill $LISTENER 2>/dev/null
wait $LISTENER 2>/dev/null
rm -f "$T/wsd.sock"

# 2. A real engine: READY once ready, watchdog pings, STOPPING.
listen up
export NOTIFY_SOCKET=$T/up.sock WATCHDOG_USEC=400000
start_wsd ""
unset NOTIFY_SOCKET WATCHDOG_USEC
for _ in $(seq 1 50); do grep -q 'at READY' "$T/up.log" && break; sleep 0.1; done
expect_eq "READY=1 is sent once" "$(grep -c 'READY=1' "$T/up.log")" 1
expect_match "at READY=1 the socket accepts and the engine is reconciled" \
	"$(grep 'at READY' "$T/up.log")" 'socket accepts, engine_ready True'
expect_match "READY=1 comes with a STATUS" "$(grep 'READY=1' "$T/up.log")" 'STATUS=0 workspaces \(0 ready\); engine ready'
as $A "$WSCTL" start --name n1 >/dev/null || fail "a start"
sleep 2.2
n=$(awk '/WATCHDOG=1/ { if (!f) f = $1; l = $1; n++ } END { print n }' "$T/up.log")
[ "${n:-0}" -ge 8 ] && pass "WATCHDOG=1 every 200 ms (saw $n)" || fail "WATCHDOG=1 seen $n times"
sleep 3
expect_match "STATUS follows the workspaces" "$(grep STATUS "$T/up.log" | tail -1)" 'STATUS=1 workspaces \(1 ready\)'
as $A "$WSCTL" stop n1 >/dev/null
stop_wsd
sleep 0.3
expect_match "STOPPING=1 on shutdown" "$(tail -3 "$T/up.log")" 'STOPPING=1'
kill $LISTENER 2>/dev/null
wait $LISTENER 2>/dev/null
finish
