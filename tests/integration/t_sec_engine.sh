#!/bin/bash
# Security, round two: what one student could do to others through the
# engine and the audit log. A flood of refused admin requests leaves the
# audit readable and an admin's action in view; a squatter on the next
# ports of the range does not stop another student's start; a workspace's
# output is kept within its template's log limit; container names cannot
# collide across users whatever '-' their names hold.
. "$(dirname "$0")/lib.sh"
PORT_BASE=24200
setup_all
A=wslab-sa
AB=wslab-sa-b # "wslab-sa" + "-b": the names that collided
C=wslab-sc
for u in $A $AB $C; do make_user $u; done
# A workspace whose entrypoint first writes 200 MiB to its output.
NOISY=wslab-test/noisy:2
docker image inspect $NOISY >/dev/null 2>&1 ||
	printf 'FROM %s\nENTRYPOINT ["/bin/sh","-c","head -c 209715200 /dev/zero | tr \\"\\\\0\\" x | fold -w 1000; exec /usr/local/bin/wslab-entrypoint"]\n' "$IMAGE" |
	DOCKER_BUILDKIT=0 docker build -q -t $NOISY - >/dev/null
GPU1=GPU-44444444-0000-4000-8000-00000000000e
fake_gpus "gpu $GPU1 NVIDIA-H100-80GB-HBM3 00000000:18:00.0 81559 0 0"
start_wsd "admin_group = wslab-nobody-admins
nvml_library = $FAKE_NVML
quota_gpu_hours = 0.005" "log_max_size = 1m
log_max_files = 2

[template noisy]
image = $NOISY
memory = 1g
shm = 128m
cpus = 1
log_max_size = 1m
log_max_files = 2"
DB=$T/state/wsd.db

# 1. 50,000 refused admin requests on one connection.
"$WSCTL" --socket "$T/wsd.sock" admin quota set --user $C --gpus 0 >/dev/null ||
	fail "root sets a quota before the flood"
rows_before=$(sqlite3 "$DB" 'SELECT COUNT(*) FROM audit')
got=$(as $A python3 - "$T/wsd.sock" <<'PY'
import socket, sys, threading
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
N = 50000
req = b"GET /v1/admin/audit HTTP/1.1\r\nHost: wsd\r\n\r\n"
def send():
    for i in range(0, N, 500):
        s.sendall(req * 500)
threading.Thread(target=send, daemon=True).start()
buf = b""
seen = 0
s.settimeout(60)
while seen < N:
    d = s.recv(1 << 20)
    if not d:
        break
    buf += d
    seen += buf.count(b"HTTP/1.1 403")
    buf = buf[buf.rfind(b"HTTP/1.1 403") + 1:] if b"HTTP/1.1 403" in buf else buf[-32:]
print(seen)
PY
)
expect_eq "50,000 pipelined admin requests of a student: every one refused 403" "$got" 50000
sleep 1
rows_after=$(sqlite3 "$DB" 'SELECT COUNT(*) FROM audit')
added=$((rows_after - rows_before))
[ "$added" -le 10 ] && pass "the flood added $added audit rows (refusals of one pattern are counted, not written one by one)" ||
	fail "the flood added $added audit rows"
view=$("$WSCTL" --socket "$T/wsd.sock" admin audit --json)
expect_match "the admin's quota change is still in the default audit view" \
	"$(jq -r '.events[] | select(.action == "quota_set") | .target' <<<"$view")" "user $C"
expect_match "the flood shows as one refusal in the view" \
	"$(jq -r '[.events[] | select(.actor == "'$A'" and .action == "admin")] | length' <<<"$view")" '^1$'
log_lines=$(grep -c "audit: $A" "$T/wsd.log")
[ "$log_lines" -le 10 ] && pass "wsd's log has $log_lines audit lines for the flood" ||
	fail "wsd's log has $log_lines audit lines for the flood"

# 2. A squatter listens on the next 40 ports of the range.
as $C python3 - "$PORT_BASE" "$T/squat.stop" >"$T/squat.out" 2>&1 <<'PY' &
import os, socket, sys, time
base = int(sys.argv[1])
socks = []
for p in range(base, base + 40):
    s = socket.socket()
    s.bind(("127.0.0.1", p))
    s.listen(1)
    socks.append(s)
print("squatting", flush=True)
for _ in range(1200):  # until told to stop, at most 2 minutes
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
PY
SQUAT=$!
for _ in $(seq 1 50); do grep -q squatting "$T/squat.out" && break; sleep 0.1; done
out=$(as $A "$WSCTL" start --name sq --json 2>&1)
expect_eq "a start succeeds while another user squats on the next 40 ports" \
	"$(jq -r .state <<<"$out" 2>/dev/null)" ready
jp=$(jq -r .jupyter_port <<<"$out" 2>/dev/null)
sp=$(jq -r .ssh_port <<<"$out" 2>/dev/null)
[ "${jp:-0}" -ge $((PORT_BASE + 40)) ] && [ "${sp:-0}" -ge $((PORT_BASE + 40)) ] &&
	pass "its ports ($jp, $sp) are past the squatted ones" || fail "its ports: $jp, $sp"
touch "$T/squat.stop"
wait $SQUAT 2>/dev/null

as $A "$WSCTL" stop sq >/dev/null

# 3. 200 MiB to the container's output: the engine keeps at most 2 x 1 MiB.
out=$(as $A "$WSCTL" start --name noisy --template noisy --json 2>&1)
expect_eq "a workspace that writes 200 MiB to its output starts" "$(jq -r .state <<<"$out" 2>/dev/null)" ready
cid=$(jq -r .container_id <<<"$out")
logdir=$(dirname "$(docker inspect -f '{{.LogPath}}' "$cid")")
size=$(du -cb "$logdir"/*-json.log* | tail -1 | cut -f1)
[ "$size" -le $((2 * 1048576 + 65536)) ] &&
	pass "200 MiB written to the output leave $size bytes of engine log (limit 2 x 1 MiB)" ||
	fail "200 MiB written to the output leave $size bytes of engine log"
expect_eq "the log driver is json-file with the template's limits" \
	"$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$cid")" \
	"json-file 1048576 2"
as $A "$WSCTL" stop noisy >/dev/null

# 4. Names a/b-c and a-b/c coexist.
o1=$(as $A "$WSCTL" start --name b-c --json 2>&1)
o2=$(as $AB "$WSCTL" start --name c --json 2>&1)
expect_eq "$A's workspace b-c starts" "$(jq -r .state <<<"$o1" 2>/dev/null)" ready
expect_eq "$AB's workspace c starts beside it" "$(jq -r .state <<<"$o2" 2>/dev/null)" ready
c1=$(jq -r .container_id <<<"$o1")
c2=$(jq -r .container_id <<<"$o2")
ip2=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c2")
reach=$(docker exec -u "$(id -u $A)" "$c1" python3 -c "
import socket
for p in (8888, 2222):
    s = socket.socket(); s.settimeout(2)
    print(s.connect_ex(('$ip2', p)), end=' ')")
[[ "$reach" != *"0 "* ]] && pass "$A's workspace cannot reach $AB's Jupyter or sshd ($ip2: $reach)" ||
	fail "$A's workspace reaches $AB's at $ip2 ($reach)"
expect_eq "workspaces are on the isolated network" \
	"$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$c1") $(docker network inspect -f '{{index .Options "com.docker.network.bridge.enable_icc"}}' wslab)" \
	"wslab false"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(jq -r .jupyter_port <<<"$o2")/api/status")
expect_match "published ports still answer on the host" "$code" '^(200|403)$'
expect_eq "container names are the workspace ids" \
	"$(docker inspect -f '{{.Name}}' "$c1")" "/wslab-$(jq -r .id <<<"$o1")"
if grep -q "${c1:0:12}" <<<"$o2"; then fail "$AB's reply carries $A's container id"; else
	pass "$AB's reply carries nothing of $A's container"; fi
as $A "$WSCTL" stop b-c >/dev/null
as $AB "$WSCTL" stop c >/dev/null
expect_eq "no containers left" "$(wslab_containers)" 0

# 5. The weekly GPU-hours run out while a workspace runs: warned, then stopped.
out=$(as $A "$WSCTL" start --name gh --gpus 1 --json 2>&1)
expect_eq "a GPU workspace starts within a 0.005 GPU-hour (18 s) budget" "$(jq -r .state <<<"$out" 2>/dev/null)" ready
for _ in $(seq 1 80); do
	[ "$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" = 0 ] && break
	sleep 0.5
done
expect_eq "it is stopped once the week's GPU-hours are used up" \
	"$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" 0
expect_match "the stop is audited as gpu_hours, after a warning" \
	"$(sqlite3 "$DB" "SELECT action FROM audit WHERE target = '$A/gh' ORDER BY seq" | tr '\n' ' ')" \
	'gpu_hours_warning gpu_hours'
expect_eq "the home is kept" "$(test -d "$T/home/$A" && echo yes)" yes
expect_match "a new GPU start is refused: the budget is spent" \
	"$(as $A "$WSCTL" start --gpus 1 2>&1)" 'GPU-hours'

finish
