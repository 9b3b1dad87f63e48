#!/bin/bash
# wsctl logs: a workspace's entrypoint, sshd and Jupyter output for its
# owner (and admins), never another user's; the Jupyter token never shows,
# in any log line nor in wsd's own log; --tail and --follow; bad query
# parameters are refused; a workspace whose Jupyter fails keeps its last
# lines (with the reason) readable after its container is gone, also
# after a restart of wsd, until its name is started again.
. "$(dirname "$0")/lib.sh"
PORT_BASE=25800
INSTANCE=tlogs$$
setup_all
A=wslab-la
B=wslab-lb
make_user $A
make_user $B
# descendants PID: its children and theirs (a background `as` is a subshell,
# runuser, env, then wsctl).
descendants() {
	local p
	for p in $(pgrep -P "$1"); do
		echo "$p"
		descendants "$p"
	done
}

# An image whose Jupyter prints its URL with the token, then fails.
BAD=wslab-test/badjupyter:1
docker image inspect $BAD >/dev/null 2>&1 || {
	ctx=$(mktemp -d)
	printf '%s\n' '#!/bin/sh' \
		'echo "[I] Jupyter Server is running at: http://127.0.0.1:8888/lab?token=$JUPYTER_TOKEN"' \
		'echo "jupyter-lab: error: no kernel specs found (wslab test: Jupyter fails on purpose)" >&2' \
		'exit 7' >"$ctx/jupyter-lab"
	printf 'FROM %s\nCOPY jupyter-lab /usr/local/bin/jupyter-lab\nRUN chmod 755 /usr/local/bin/jupyter-lab\n' \
		"$IMAGE" >"$ctx/Dockerfile"
	DOCKER_BUILDKIT=0 docker build -q -t $BAD "$ctx" >/dev/null
	rm -rf "$ctx"
}

start_wsd "admin_group = wslab-nobody-admins" "[template badjupyter]
image = $BAD
memory = 1g
shm = 128m
cpus = 1
[template ghost]
image = wslab-test/never-built:1"

as $A "$WSCTL" start --name lab >/dev/null || fail "A starts lab"
show=$(as $A "$WSCTL" show lab --json)
token=$(echo "$show" | json .jupyter_url | sed 's/.*token=//')
cid=$(echo "$show" | json .container_id)
id=$(echo "$show" | json .id)
expect_match "the token is known to the owner" "$token" '^[0-9a-f]{64}$'

# The image prints the token (as Jupyter's banner would): into PID 1's output.
docker exec "$cid" sh -c "echo \"banner: http://127.0.0.1:8888/lab?token=$token\" >/proc/1/fd/1; echo marker-one >/proc/1/fd/2"

out=$(as $A "$WSCTL" logs lab)
expect_eq "the owner reads the logs (exit 0)" "$?" 0
expect_match "sshd's output is in them" "$out" 'Server listening on'
expect_match "what was written to the container's output is in them" "$out" 'marker-one'
expect_match "the token is shown as <token>" "$out" 'banner: http://127.0.0.1:8888/lab\?token=<token>$'
if printf '%s' "$out" | grep -qF "$token"; then fail "the token is in wsctl logs"; else pass "the token is in no line of wsctl logs"; fi

n=$(as $A "$WSCTL" logs lab --tail 2 | wc -l)
check "--tail 2 gives at most 2 lines ($n)" test "$n" -le 2 -a "$n" -ge 1
expect_eq "--tail 1 gives one line" "$(as $A "$WSCTL" logs lab --tail 1 | wc -l)" 1
r=$(api $A GET "/v1/workspaces/lab/logs?tail=3")
expect_eq "the API answers 200" "$(echo "$r" | tail -1)" 200
expect_eq "with 3 JSON lines" "$(echo "$r" | head -n -1 | jq -r .line | wc -l)" 3

# Bad query parameters.
for q in 'tail=0' 'tail=10001' 'tail=abc' 'tail=' 'follow=2' 'follow=yes' 'since=1' 'tail=1&tail=2'; do
	r=$(api $A GET "/v1/workspaces/lab/logs?$q")
	expect_eq "?$q is refused with 400" "$(echo "$r" | tail -1)" 400
done
expect_match "the refusal names the parameter" "$(api $A GET '/v1/workspaces/lab/logs?since=1' | head -1 | jq -r .error.message)" 'unknown query parameter "since"'
as $A "$WSCTL" logs lab --tail x >/dev/null 2>&1
expect_eq "wsctl logs --tail x is a usage error" "$?" 2

# Another user: not found, nothing of it shown, by name or by id.
r=$(api $B GET /v1/workspaces/lab/logs)
expect_eq "B reading A's lab: 404" "$(echo "$r" | tail -1)" 404
expect_eq "as for any name B does not have" "$(echo "$r" | head -1 | jq -r .error.message)" "you have no workspace named lab"
r=$(api $B GET "/v1/workspaces/$id/logs")
expect_eq "B reading A's lab by id: 404" "$(echo "$r" | tail -1)" 404
if printf '%s' "$r" | grep -q 'marker-one\|Server listening'; then fail "B sees A's output"; else pass "B sees none of A's output"; fi
as $B "$WSCTL" logs lab >/dev/null 2>&1
expect_eq "wsctl logs of another user's workspace fails (exit 1)" "$?" 1
r=$(api $B GET "/v1/admin/workspaces/$A/lab/logs")
expect_eq "a non-admin on the admin route: 403" "$(echo "$r" | tail -1)" 403
out=$("$WSCTL" --socket "$T/wsd.sock" logs "$A/lab")
expect_match "root (an admin) reads A's logs as $A/lab" "$out" 'marker-one'
r=$("$WSCTL" --socket "$T/wsd.sock" logs "$A/nosuch" 2>&1)
expect_match "an admin asking for no such workspace: not found" "$r" "has no workspace named nosuch"

# --follow: a line written later arrives; the stream ends when the workspace stops.
as $A "$WSCTL" logs lab --follow --tail 1 >"$T/follow.out" 2>&1 &
FPID=$!
sleep 1
docker exec "$cid" sh -c "echo followed-line token=$token >/proc/1/fd/1"
for _ in $(seq 1 50); do grep -q followed-line "$T/follow.out" && break; sleep 0.1; done
check "--follow prints a line written later" grep -q '^followed-line token=<token>$' "$T/follow.out"
check "--follow is still running" kill -0 $FPID
as $A "$WSCTL" stop lab >/dev/null || fail "A stops lab"
for _ in $(seq 1 100); do kill -0 $FPID 2>/dev/null || break; sleep 0.1; done
if kill -0 $FPID 2>/dev/null; then
	fail "--follow ends when the workspace stops"
	kill $(descendants $FPID) $FPID
else
	wait $FPID
	expect_eq "--follow ends when the workspace stops, exit 0" "$?" 0
fi
if grep -qF "$token" "$T/follow.out"; then fail "the token is in the followed output"; else pass "the token is not in the followed output"; fi

# A client that hangs up ends its follow: the engine read is cancelled.
as $A "$WSCTL" start --name lab2 >/dev/null || fail "A starts lab2"

# A reader that takes nothing for a while does not make wsd buffer the
# output (the engine's transfer pauses), and then gets all of it.
cid2=$(as $A "$WSCTL" show lab2 --json | json .container_id)
docker exec "$cid2" python3 -c 'f = open("/proc/1/fd/1", "w")
for i in range(12000): f.write("bulk %06d %s\n" % (i, "y" * 1000))'
rss() { awk '/VmRSS/ {print $2}' "/proc/$WSD_PID/status"; }
rss0=$(rss)
as $A python3 - "$T/wsd.sock" >"$T/slow.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /v1/workspaces/lab2/logs?tail=10000 HTTP/1.1\r\nHost: wsd\r\n\r\n")
time.sleep(4)
buf = b""
s.settimeout(30)
while not buf.endswith(b"\r\n0\r\n\r\n"):
    d = s.recv(1 << 20)
    if not d:
        break
    buf += d
print(buf.count(b'{"line":"bulk '))
PY
SPID=$!
sleep 3
rss1=$(rss)
wait $SPID
log "wsd's resident memory: $rss0 kB before, $rss1 kB while the reader took nothing"
if ldd "$WSD" | grep -q libasan; then
	log "sanitizer build: its quarantine makes resident memory no measure; not checked"
else
	check "a slow reader costs wsd less than 4 MiB ($((rss1 - rss0)) kB)" test $((rss1 - rss0)) -lt 4096
fi
expect_eq "and then gets all 10000 lines" "$(cat "$T/slow.out")" 10000
as $A "$WSCTL" logs lab2 --follow >/dev/null 2>&1 &
FPID=$!
sleep 1
kill $(descendants $FPID)
wait $FPID 2>/dev/null
for _ in $(seq 1 50); do grep -q 'a logs read ended: the client went away' "$T/wsd.log" && break; sleep 0.1; done
check "a follower that hangs up ends its read (engine transfer cancelled)" \
	grep -q 'a logs read ended: the client went away' "$T/wsd.log"
r=$(api $A GET "/v1/workspaces/lab2/logs?tail=1")
expect_eq "wsd serves logs after a follower hung up" "$(echo "$r" | tail -1)" 200
as $A "$WSCTL" stop lab2 >/dev/null || fail "A stops lab2"

# A workspace whose Jupyter fails: the start says why, wsctl logs shows more.
err=$(as $A "$WSCTL" start --name broken --template badjupyter 2>&1)
expect_eq "the start with a failing Jupyter fails" "$?" 1
expect_match "the start says why" "$err" '^wsctl: the workspace exited during start-up: '
expect_eq "in one line" "$(printf '%s\n' "$err" | wc -l)" 1
expect_eq "its container is gone" "$(wslab_containers)" 0
out=$(as $A "$WSCTL" logs broken)
expect_eq "wsctl logs of the failed workspace exits 0" "$?" 0
expect_match "its logs show Jupyter's reason" "$out" 'jupyter-lab: error: no kernel specs found'
expect_match "and the entrypoint's last words" "$out" 'wslab-entrypoint: jupyter exited with status 7'
expect_match "and wsd's reason" "$out" '\[wsd\] the workspace failed: the workspace exited during start-up'
expect_match "the token Jupyter printed is <token>" "$out" 'lab\?token=<token>'
if printf '%s' "$out" | grep -qE 'token=[0-9a-f]{16}'; then fail "a token is in the failed logs"; else pass "no token in the failed workspace's logs"; fi
expect_eq "--tail 1 of them is the reason" "$(as $A "$WSCTL" logs broken --tail 1 | grep -c '^\[wsd\]')" 1
# A start that failed before any container existed keeps its reason.
as $A "$WSCTL" start --name ghost --template ghost >/dev/null 2>&1
expect_eq "a start of an image that is not there fails" "$?" 1
expect_match "wsctl logs shows why" "$(as $A "$WSCTL" logs ghost)" '^\[wsd\] the workspace failed: image wslab-test/never-built:1 is not on the engine'
r=$(api $B GET /v1/workspaces/broken/logs)
expect_eq "B cannot read A's failed logs" "$(echo "$r" | tail -1)" 404
out=$("$WSCTL" --socket "$T/wsd.sock" logs "$A/broken")
expect_match "an admin reads them" "$out" 'no kernel specs found'

# They outlive a restart of wsd (the store). A follower open at the
# restart is ended (its transfer cancelled, nothing leaked: stop_wsd checks
# wsd's exit status and the sanitizers' reports).
as $A "$WSCTL" start --name lab3 >/dev/null || fail "A starts lab3"
as $A "$WSCTL" logs lab3 --follow >/dev/null 2>&1 &
FPID=$!
sleep 1
stop_wsd
for _ in $(seq 1 50); do kill -0 $FPID 2>/dev/null || break; sleep 0.1; done
if kill -0 $FPID 2>/dev/null; then
	fail "a follower ends when wsd stops"
	kill $(descendants $FPID) $FPID
else
	pass "a follower ends when wsd stops"
fi
start_wsd "admin_group = wslab-nobody-admins" "[template badjupyter]
image = $BAD"
for _ in $(seq 1 100); do api $A GET /v1/info | head -1 | jq -e .engine_ready >/dev/null && break; sleep 0.1; done
out=$(as $A "$WSCTL" logs broken)
expect_match "after a restart of wsd, the failed logs are still there" "$out" 'no kernel specs found'

as $A "$WSCTL" stop lab3 >/dev/null || fail "A stops lab3 (adopted)"

# A start of the same name replaces them.
as $A "$WSCTL" start --name broken >/dev/null || fail "A starts a good broken"
out=$(as $A "$WSCTL" logs broken)
if printf '%s' "$out" | grep -q 'no kernel specs'; then fail "a new start of the name drops the kept lines"; else pass "a new start of the name drops the kept lines"; fi
as $A "$WSCTL" stop broken >/dev/null || fail "A stops broken"
out=$(as $A "$WSCTL" logs broken 2>&1)
expect_match "a stopped workspace's logs are gone with it" "$out" 'you have no workspace named broken'

# wsd's own log never holds the token.
if grep -qF "$token" "$T/wsd.log"; then fail "the token is in wsd's log"; else pass "the token is not in wsd's log"; fi
if grep -qE 'token=[0-9a-f]{16}' "$T/wsd.log"; then fail "a token is in wsd's log"; else pass "no token of any workspace in wsd's log"; fi
finish
