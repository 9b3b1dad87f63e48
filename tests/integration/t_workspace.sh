#!/bin/bash
# A student's whole path: start, use Jupyter and SSH from outside with
# independent clients, inspect the container, list, show, stop. A second
# student can neither see nor stop the first one's workspace.
. "$(dirname "$0")/lib.sh"
PORT_BASE=22000
setup_all
A=wslab-ta
B=wslab-tb
make_user $A
make_user $B
start_wsd

UID_A=$(id -u $A)
GID_A=$(id -g $A)

t0=$(date +%s.%N)
out=$(as $A "$WSCTL" start --name lab1 --memory 768m --shm 64m --cpus 0.5 --json)
rc=$?
t1=$(date +%s.%N)
expect_eq "start exits 0 when ready" "$rc" 0
log "wsctl start to ready: $(echo "$t1 - $t0" | bc) s"
echo "$out" | jq . >/dev/null 2>&1 || { fail "start --json prints one JSON object: $out"; finish; }
for f in id name owner state jupyter_url ssh_host ssh_port ssh_user container_id image memory \
	shm cpus created_at; do
	v=$(echo "$out" | json ".$f // empty")
	[ -n "$v" ] && pass "start --json has $f" || fail "start --json has $f"
done
expect_eq "state is ready" "$(echo "$out" | json .state)" ready
expect_eq "owner is the caller" "$(echo "$out" | json .owner)" $A
expect_eq "memory as asked" "$(echo "$out" | json .memory)" $((768 << 20))
url=$(echo "$out" | json .jupyter_url)
port=$(echo "$out" | json .ssh_port)
host=$(echo "$out" | json .ssh_host)
cid=$(echo "$out" | json .container_id)
id=$(echo "$out" | json .id)
token=${url##*token=}
expect_match "token has at least 128 bits" "$token" '^[0-9a-f]{32,}$'

# Jupyter, checked with curl from outside.
jport=$(echo "$url" | sed -E 's|http://[^:]+:([0-9]+)/.*|\1|')
code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
expect_eq "jupyter URL answers 200" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$jport/api/status?token=$token")
expect_eq "jupyter /api/status with token is 200" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$jport/api/status")
expect_eq "jupyter /api/status without token is 403" "$code" 403
case $token in *0) wrong=${token%?}1 ;; *) wrong=${token%?}0 ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$jport/api/status?token=$wrong")
expect_eq "jupyter with a wrong token is 403" "$code" 403

# SSH with OpenSSH, known_hosts holding only the pinned key.
HOME_A=$(getent passwd $A | cut -d: -f6)
kh=$(mktemp)
echo "[$host]:$port $(echo "$out" | json .ssh_host_key)" >"$kh"
chmod 644 "$kh"
sshout=$(as $A ssh -i "$HOME_A/.ssh/id_ed25519" -o UserKnownHostsFile="$kh" \
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes \
	-p "$port" "$A@$host" 'id -u; whoami; echo hello > ~/from-ssh.txt; echo $HOME' 2>&1)
expect_eq "ssh: id -u is the user's uid" "$(echo "$sshout" | sed -n 1p)" "$UID_A"
expect_eq "ssh: whoami is the user" "$(echo "$sshout" | sed -n 2p)" "$A"
expect_eq "ssh: HOME is /home/user" "$(echo "$sshout" | sed -n 3p)" "/home/$A"
# Another user's key is refused.
HOME_B=$(getent passwd $B | cut -d: -f6)
if as $B ssh -i "$HOME_B/.ssh/id_ed25519" -o UserKnownHostsFile="$kh" -o BatchMode=yes \
	-o StrictHostKeyChecking=yes -p "$port" "$A@$host" true 2>/dev/null; then
	fail "ssh refuses another user's key"
else
	pass "ssh refuses another user's key"
fi
# A wrong pinned key makes OpenSSH refuse: the pin is what is checked.
ssh-keygen -q -t ed25519 -N '' -f "$T/other" && echo "[$host]:$port $(cut -d' ' -f1,2 "$T/other.pub")" >"$kh"
if as $A ssh -o UserKnownHostsFile="$kh" -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-p "$port" "$A@$host" true 2>/dev/null; then
	fail "ssh with a wrong pinned key is refused"
else
	pass "ssh with a wrong pinned key is refused"
fi
rm -f "$kh"
f="$T/home/$A/from-ssh.txt"
expect_eq "a file written over ssh is owned by the user on the host" "$(stat -c %u "$f" 2>/dev/null)" "$UID_A"

# wsctl ssh pins the key itself: no prompt, runs the command.
got=$(as $A "$WSCTL" ssh lab1 -- id -u </dev/null 2>&1)
expect_eq "wsctl ssh runs a command as the user" "$got" "$UID_A"

# What the engine says about the container.
insp=$(docker inspect "$cid")
q() { echo "$insp" | jq -r ".[0] | $1"; }
expect_eq "container user is uid:gid" "$(q .Config.User)" "$UID_A:$GID_A"
expect_eq "CapDrop ALL" "$(q '.HostConfig.CapDrop | join(",")')" ALL
expect_eq "no-new-privileges" "$(q '.HostConfig.SecurityOpt | join(",")')" no-new-privileges
expect_eq "not privileged" "$(q .HostConfig.Privileged)" false
expect_eq "init process" "$(q .HostConfig.Init)" true
expect_eq "memory limit" "$(q .HostConfig.Memory)" $((768 << 20))
expect_eq "swap equals memory" "$(q .HostConfig.MemorySwap)" $((768 << 20))
expect_eq "shm size" "$(q .HostConfig.ShmSize)" $((64 << 20))
expect_eq "cpus" "$(q .HostConfig.NanoCpus)" 500000000
pl=$(q .HostConfig.PidsLimit)
[ "$pl" -gt 0 ] 2>/dev/null && pass "pids limit set ($pl)" || fail "pids limit set ($pl)"
expect_eq "owner label" "$(q '.Config.Labels["wslab.owner"]')" $A
expect_eq "workspace label" "$(q '.Config.Labels["wslab.workspace"]')" "$id"
expect_eq "ports only on 127.0.0.1" \
	"$(q '[.NetworkSettings.Ports[][]?.HostIp] | unique | join(",")')" 127.0.0.1
expect_eq "home mounted" "$(q '.Mounts[] | select(.Destination=="/home/'$A'") | .Source')" "$T/home/$A"
logs=$(docker logs "$cid" 2>&1)
if printf '%s' "$logs" | grep -q "$token"; then fail "token absent from container logs"; else pass "token absent from container logs"; fi
if grep -q "$token" "$T/wsd.log"; then fail "token absent from wsd log"; else pass "token absent from wsd log"; fi

# Listing and showing.
expect_eq "ls --json lists the workspace" "$(as $A "$WSCTL" ls --json | jq -r '.. | objects | select(.name=="lab1") | .id' | head -1)" "$id"
expect_match "ls prints the workspace" "$(as $A "$WSCTL" ls)" "lab1 +$id +ready"
expect_eq "show --json by name" "$(as $A "$WSCTL" show lab1 --json | json .id)" "$id"
expect_eq "show --json by id" "$(as $A "$WSCTL" show "$id" --json | json .name)" lab1

# Student B: sees nothing of A's, cannot stop it.
expect_eq "B's ls is empty" "$(as $B "$WSCTL" ls --json | jq -r '[.. | objects | select(.name?=="lab1")] | length')" 0
as $B "$WSCTL" show lab1 >/dev/null 2>&1
expect_eq "B cannot show A's workspace (exit 1)" "$?" 1
as $B "$WSCTL" stop lab1 >/dev/null 2>&1
expect_eq "B cannot stop A's workspace by name" "$?" 1
as $B "$WSCTL" stop "$id" >/dev/null 2>&1
expect_eq "B cannot stop A's workspace by id" "$?" 1
r=$(api $B DELETE "/v1/workspaces/$id")
expect_eq "raw DELETE by B is 404" "$(echo "$r" | tail -1)" 404
expect_eq "A's container still runs" "$(docker inspect -f '{{.State.Running}}' "$cid")" true

# Same name twice is refused, nothing created.
n0=$(wslab_containers)
as $A "$WSCTL" start --name lab1 >/dev/null 2>&1
expect_eq "second start with the same name fails" "$?" 1
expect_eq "no container added by the refused start" "$(wslab_containers)" "$n0"

# Stop: container gone, home kept.
as $A "$WSCTL" stop lab1 >/dev/null
expect_eq "stop exits 0" "$?" 0
if docker inspect "$cid" >/dev/null 2>&1; then fail "container removed by stop"; else pass "container removed by stop"; fi
expect_eq "home kept after stop" "$(cat "$T/home/$A/from-ssh.txt" 2>/dev/null)" hello
expect_eq "workspace directory removed" "$(ls "$T/state/workspaces" 2>/dev/null | wc -l)" 0
expect_eq "ls is empty after stop" "$(as $A "$WSCTL" ls --json | jq -r '[.. | objects | select(.name?=="lab1")] | length')" 0

# A workspace B starts without any key: wsctl makes one with libssh.
HOME_B=$(getent passwd $B | cut -d: -f6)
mv "$HOME_B/.ssh" "$HOME_B/.ssh.saved"
outb=$(as $B "$WSCTL" start --json 2>"$T/b.err")
expect_eq "B's start without keys succeeds" "$(echo "$outb" | json .state 2>/dev/null)" ready
check "wsctl generated a key for B" test -f "$HOME_B/.ssh/id_ed25519"
got=$(as $B "$WSCTL" ssh "$(echo "$outb" | json .name)" -- whoami </dev/null 2>&1)
expect_eq "wsctl ssh as B with the generated key" "$got" "$B"
as $B "$WSCTL" stop "$(echo "$outb" | json .name)" >/dev/null
rm -rf "$HOME_B/.ssh"
mv "$HOME_B/.ssh.saved" "$HOME_B/.ssh"

finish
