#!/bin/bash
# Bad input gets a 4xx with a message that names the problem, and nothing
# is created: no container, no workspace directory, no home. A start that
# fails after its container exists removes it and says why in one line.
# An unreachable engine gives 503.
. "$(dirname "$0")/lib.sh"
PORT_BASE=22200
setup_all
A=wslab-ta
make_user $A
HOME_A=$(getent passwd $A | cut -d: -f6)
KEY=$(cat "$HOME_A/.ssh/id_ed25519.pub")

# Images whose entrypoint exits at once, and one that never gets ready.
docker image inspect wslab-test/exits:1 >/dev/null 2>&1 || printf 'FROM %s\nENTRYPOINT ["/bin/sh","-c","echo boom: entrypoint gave up >&2; exit 3"]\n' "$IMAGE" |
	DOCKER_BUILDKIT=0 docker build -q -t wslab-test/exits:1 - >/dev/null
docker image inspect wslab-test/hangs:1 >/dev/null 2>&1 || printf 'FROM %s\nENTRYPOINT ["/bin/sh","-c","exec sleep 1000"]\n' "$IMAGE" |
	DOCKER_BUILDKIT=0 docker build -q -t wslab-test/hangs:1 - >/dev/null

start_wsd "ready_timeout = 4s" "[template exits]
image = wslab-test/exits:1
[template hangs]
image = wslab-test/hangs:1
[template ghost]
image = wslab-test/never-built:1"

snapshot() {
	echo "containers=$(wslab_containers) dirs=$(ls "$T/state/workspaces" 2>/dev/null | wc -l) homes=$(ls "$T/home" 2>/dev/null | wc -l)"
}
before=$(snapshot)

# refuse STATUS NEEDLE BODY: POST must answer STATUS with NEEDLE in the message.
refuse() {
	local want=$1 needle=$2 body=$3 r code msg
	r=$(api $A POST /v1/workspaces "$body")
	code=$(echo "$r" | tail -1)
	msg=$(echo "$r" | head -n -1 | jq -r .error.message 2>/dev/null)
	NREFUSED=$((${NREFUSED:-0} + 1))
	if [ "$code" = "$want" ] && printf '%s' "$msg" | grep -qF -- "$needle"; then
		pass "refused ($code): ${body:0:60}"
	else
		fail "refused with $want naming '$needle': ${body:0:60} -> $code $msg"
	fi
}
k="\"ssh_keys\":[\"$KEY\"]"
refuse 400 "not valid JSON" '{"name": "x",'
refuse 400 "not valid JSON" 'not json at all'
refuse 400 "unknown field" "{\"Privileged\":true,$k}"
refuse 400 "unknown field" "{\"HostConfig\":{\"Binds\":[\"/:/host\"]},$k}"
refuse 400 "unknown field" "{\"image\":\"alpine:latest\",$k}"
refuse 400 "memory" "{\"memory\":\"-1g\",$k}"
refuse 400 "memory" "{\"memory\":\"99999999t\",$k}"
refuse 400 "memory" "{\"memory\":\"abc\",$k}"
refuse 400 "shm" "{\"shm\":\"-1g\",$k}"
refuse 400 "shm" "{\"shm\":\"abc\",$k}"
refuse 400 "cpus" "{\"cpus\":-2,$k}"
refuse 400 "cpus" "{\"cpus\":100000,$k}"
refuse 400 "name" "{\"name\":\"Has Spaces\",$k}"
refuse 400 "name" "{\"name\":\"a\\r\\nb\",$k}"
refuse 400 "name" "{\"name\":\"../../etc\",$k}"
refuse 400 "name" "{\"name\":\"$(printf 'x%.0s' $(seq 1 40))\",$k}"
refuse 400 "no template named" "{\"template\":\"nonexistent\",$k}"
refuse 400 "ssh_keys" '{}'
refuse 400 "ssh_keys" '{"ssh_keys":["not a key"]}'
# Engine fields smuggled into the body.
for f in Env Mounts Binds NetworkMode PidMode IpcMode Devices CapAdd User Image Cmd Entrypoint \
	SecurityOpt DeviceRequests Privileged env volumes; do
	refuse 400 "unknown field" "{\"$f\":[\"x\"],$k}"
done
# "mounts" is a field (user mounts), checked entry by entry; off unless configured.
refuse 400 "mounts[0]: must be an object" "{\"mounts\":[\"x\"],$k}"
refuse 400 "unknown field" "{\"mounts\":[{\"source\":\"/\",\"target\":\"/mnt\",\"Type\":\"volume\"}],$k}"
refuse 403 "no mount roots are configured" "{\"mounts\":[{\"source\":\"/etc\",\"target\":\"/mnt/etc\"}],$k}"
refuse 400 "unknown field" "{\"env\":{\"LD_PRELOAD\":\"/tmp/x.so\",\"NVIDIA_VISIBLE_DEVICES\":\"all\"},$k}"
refuse 400 "unknown field" "{\"JUPYTER_TOKEN\":\"x\",$k}"
refuse 400 "not valid JSON" "{\"name\":\"$(printf '\xc3\x28')\",$k}"
refuse 400 "not valid JSON" "$(printf '%.0s[' $(seq 1 5000))"
refuse 400 "real number overflow" "{\"memory\":1e400,$k}"
refuse 400 "memory" "{\"memory\":9223372036854775807,$k}"
refuse 400 "memory" "{\"memory\":\"8g \",$k}"
refuse 400 "cpus" "{\"cpus\":null,$k}"
refuse 400 "gpus" "{\"gpus\":-1,$k}"
refuse 400 "gpus" "{\"gpus\":1000000,$k}"
refuse 400 "gpu_ids" "{\"gpu_ids\":[\"../../dev/nvidia0\"],$k}"
refuse 400 "name" "{\"name\":\"a/b\",$k}"
refuse 400 "name" "{\"name\":\"\u00e9t\u00e9\",$k}"
refuse 400 "ssh_keys" "{\"ssh_keys\":[\"$KEY\\nssh-ed25519 AAAA injected\"]}"
refuse 400 "ssh_keys" "{\"ssh_keys\":[$(printf '"%s",' $(seq 1 17) | sed 's/,$//')]}"

# Oversized body and headers: refused before parsing.
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
r=$(api $A POST /v1/workspaces "{\"name\":\"$big\"}")
expect_eq "oversized body is 413" "$(echo "$r" | tail -1)" 413
r=$(as $A curl -s -w '\n%{http_code}' --unix-socket "$T/wsd.sock" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' b)" http://wsd/v1/workspaces)
expect_eq "oversized headers are 431" "$(echo "$r" | tail -1)" 431
r=$(api $A PATCH /v1/workspaces)
expect_eq "unknown method is 405" "$(echo "$r" | tail -1)" 405
r=$(api $A GET /v1/nothing)
expect_eq "unknown path is 404" "$(echo "$r" | tail -1)" 404
r=$(api $A GET /v1/workspaces/..%2f..%2fetc)
expect_eq "a path with encoded slashes is no workspace (404)" "$(echo "$r" | tail -1)" 404
r=$(api $A GET /v1/workspaces/a%00b)
expect_eq "a NUL in the path is 400" "$(echo "$r" | tail -1)" 400
r=$(api $A DELETE /v1/workspaces/0123456789ab)
expect_eq "stopping an id that is not yours is 404" "$(echo "$r" | tail -1)" 404

# The same through wsctl: exit 1, message on stderr.
err=$(as $A "$WSCTL" start --memory abc 2>&1 >/dev/null)
expect_match "wsctl start --memory abc explains" "$err" "memory"
err=$(as $A "$WSCTL" start --template nonexistent 2>&1 >/dev/null)
expect_match "wsctl start --template nonexistent explains" "$err" "no template named"

# A value wsctl cannot send as given (not valid UTF-8) is refused before
# any request, exit 2, the option named: never left out of the request
# (jansson drops such a string, and --name $'\xff\xfe' used to start ws1).
# unsendable OPTION WSCTL-ARGS...
unsendable() {
	local what=$1 err rc
	shift
	err=$(as $A "$WSCTL" "$@" 2>&1 >/dev/null)
	rc=$?
	expect_eq "wsctl $1 $what not UTF-8: exit 2" "$rc" 2
	expect_match "wsctl $1 $what not UTF-8: said so" "$err" "$what: not valid UTF-8"
}
unsendable --name start --name $'\xff\xfe'
unsendable --template start --template $'\xff'
unsendable --mount start --mount $'/x\xff:/home/u/x'
unsendable --gpu-ids start --gpu-ids $'\xff'
unsendable --memory start --memory $'8g\xff'
unsendable 'NAME[|]ID' show $'\xff'
unsendable 'NAME[|]ID' stop $'\xff'
# A public key whose comment is not UTF-8: refused, the file named.
printf '%s caf\xe9\n' "$(cut -d' ' -f1,2 "$HOME_A/.ssh/id_ed25519.pub")" >"$HOME_A/.ssh/latin1.pub"
unsendable "$HOME_A/.ssh/latin1.pub" start
rm -f "$HOME_A/.ssh/latin1.pub"
expect_eq "no workspace started by values wsctl cannot send" \
	"$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" 0
err=$(as root "$WSCTL" admin quota set --user $'\xff' --gpus 1 2>&1 >/dev/null)
expect_eq "wsctl admin quota set --user not UTF-8: exit 2" "$?" 2
expect_match "wsctl admin quota set --user not UTF-8: said so" "$err" "--user: not valid UTF-8"
# Swarm-only admin routes on a docker-mode wsd: a student gets 403, an admin 409.
r=$(api $A GET /v1/admin/nodes)
expect_eq "a student asking for the nodes: 403" "$(tail -1 <<<"$r")" 403
r=$(api root GET /v1/admin/nodes)
expect_eq "the nodes of a docker-mode wsd: 409" "$(tail -1 <<<"$r")" 409
expect_match "and it says why" "$r" '"not_swarm"'
r=$(api root POST /v1/admin/nodes/w1/drain)
expect_eq "draining a node of a docker-mode wsd: 409" "$(tail -1 <<<"$r")" 409

expect_eq "nothing created by bad requests" "$(snapshot)" "$before"
[ "$NREFUSED" -ge 40 ] && pass "hostile request table has $NREFUSED entries" || fail "hostile request table has only $NREFUSED entries"

# Failures after the container exists: removed, reason in one line.
err=$(as $A "$WSCTL" start --template exits 2>&1 >/dev/null)
expect_eq "entrypoint that exits: start fails" "$?" 1
expect_match "entrypoint that exits: the reason is its last log line" "$err" "exited during start-up: boom"
expect_eq "entrypoint that exits: one line" "$(printf '%s\n' "$err" | grep -c .)" 1
err=$(as $A "$WSCTL" start --template hangs 2>&1 >/dev/null)
expect_match "never ready: timeout named" "$err" "not ready within 4s"
err=$(as $A "$WSCTL" start --template ghost 2>&1 >/dev/null)
expect_match "image missing: said so" "$err" "wslab-test/never-built:1 is not on the engine"
expect_eq "failed starts leave no container and no directory" \
	"$(wslab_containers) $(ls "$T/state/workspaces" 2>/dev/null | wc -l)" "0 0"

# Root gets no workspace.
r=$(curl -s -w '\n%{http_code}' --unix-socket "$T/wsd.sock" -X POST --data-binary "{$k}" http://wsd/v1/workspaces)
expect_eq "root cannot own a workspace (403)" "$(echo "$r" | tail -1)" 403

# An unreachable engine: 503 with a clear message.
stop_wsd
sed -i "s|^socket = .*|socket = $T/wsd.sock\nengine = unix://$T/no-engine.sock|" "$T/wsd.conf"
start_wsd_again() {
	"$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 50); do [ -S "$T/wsd.sock" ] && break; sleep 0.1; done
}
rm -f "$T/wsd.sock"
start_wsd_again
r=$(api $A POST /v1/workspaces "{$k}")
expect_eq "unreachable engine is 503" "$(echo "$r" | tail -1)" 503
expect_match "unreachable engine is named" "$(echo "$r" | head -n -1 | jq -r .error.message)" "engine"

finish
