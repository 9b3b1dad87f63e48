#!/bin/bash
# User mounts, seen from outside with a real engine and real users. A
# student's own directory mounts read-write in the home and under a mount
# point (files written inside belong to the student on the host), a shared
# root mounts read-only, and the engine binds the object that was checked
# (staged by wsd, gone from the host once the container runs): a source
# swapped for a symlink between the check and the engine's bind (the
# engine frozen meanwhile) still mounts what was checked.
# Hostile mounts are refused with a 4xx that names the problem, and
# nothing is made: no container, no workspace directory, no home, no
# workspace left listed.
. "$(dirname "$0")/lib.sh"
PORT_BASE=23600
setup_all
A=wslab-ta
C=wslab-tc
make_user $A
make_user $C
UID_A=$(id -u $A)
GID_A=$(id -g $A)
UID_C=$(id -u $C)
GID_C=$(id -g $C)
HOME_C=$(getent passwd $C | cut -d: -f6)
KEY_C=$(cat "$HOME_C/.ssh/id_ed25519.pub")

# The host's side: a mount root with each user's directory, a shared root.
T=$(mktemp -d /tmp/wslab-it.XXXXXX)
chmod 755 "$T"
R=$T/roots
install -d -m 755 "$R" "$R/users" "$R/shared"
install -d -o $A -g $GID_A -m 755 "$R/users/$A" "$R/users/$A/proj"
echo "my notes" >"$R/users/$A/notes.txt"
chown $A:$GID_A "$R/users/$A/notes.txt"
runuser -u $A -- ln -s proj "$R/users/$A/link"
# World-writable, so that only the read-only mount stops a write.
install -d -m 777 "$R/shared/ds"
echo "dataset v1" >"$R/shared/ds/readme.txt"
chmod 666 "$R/shared/ds/readme.txt"
# C's own corner, with the things a student should not get through.
install -d -o $C -g $GID_C -m 755 "$R/users/$C" "$R/users/$C/ok"
runuser -u $C -- ln -s /etc "$R/users/$C/escape"
runuser -u $C -- ln -s "../$A/proj" "$R/users/$C/sideways"
runuser -u $C -- mkfifo "$R/users/$C/fifo"
mknod "$R/users/$C/null" c 1 3 && chown $C:$GID_C "$R/users/$C/null"
runuser -u $C -- python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$R/users/$C/sock')" 2>/dev/null
install -d -m 755 "$T/elsewhere"

start_wsd "mount_roots = $R/users
shared_mount_roots = $R/shared
mount_points = /data, /mnt"

# ---- what is allowed ----
out=$(cd "$R/users/$A" && as $A "$WSCTL" start --name m1 --mount proj:/home/$A/proj \
	--mount "$R/users/$A/proj:/data/proj" --mount "$R/shared/ds:/mnt/ds:ro" \
	--mount "$R/users/$A/link:/mnt/link" --mount "./notes.txt:/home/$A/notes.txt:ro" --json 2>"$T/m1.err")
expect_eq "start with 5 mounts is ready" "$(echo "$out" | json .state 2>/dev/null)" ready
[ -s "$T/m1.err" ] && log "wsctl: $(cat "$T/m1.err")"
cid=$(echo "$out" | json .container_id 2>/dev/null)

got=$(as $A "$WSCTL" ssh m1 -- "echo from-home >~/proj/a.txt && echo from-data >/data/proj/b.txt && id -u" </dev/null 2>&1)
expect_eq "writes in the rw mounts succeed" "$got" "$UID_A"
expect_eq "file written at /home/USER/proj is on the host" "$(cat "$R/users/$A/proj/a.txt" 2>/dev/null)" from-home
expect_eq "file written at /data/proj is on the host" "$(cat "$R/users/$A/proj/b.txt" 2>/dev/null)" from-data
expect_eq "it belongs to the user's uid on the host" "$(stat -c %u "$R/users/$A/proj/a.txt" 2>/dev/null)" "$UID_A"
expect_eq "and to the user's uid under the mount point" "$(stat -c %u "$R/users/$A/proj/b.txt" 2>/dev/null)" "$UID_A"
expect_eq "the shared root reads through :ro" \
	"$(as $A "$WSCTL" ssh m1 -- cat /mnt/ds/readme.txt </dev/null 2>&1)" "dataset v1"
got=$(as $A "$WSCTL" ssh m1 -- "touch /mnt/ds/new 2>&1; echo more >>/mnt/ds/readme.txt 2>&1; true" </dev/null 2>&1)
expect_match "the :ro mount refuses writes" "$got" "Read-only file system"
check "no file made in the shared root" test ! -e "$R/shared/ds/new"
expect_eq "the shared file is unchanged" "$(cat "$R/shared/ds/readme.txt")" "dataset v1"
expect_eq "a regular file mounts :ro" \
	"$(as $A "$WSCTL" ssh m1 -- cat /home/$A/notes.txt </dev/null 2>&1)" "my notes"
got=$(as $A "$WSCTL" ssh m1 -- "echo more >>/home/$A/notes.txt 2>&1; true" </dev/null 2>&1)
expect_match "the :ro file in the home refuses writes" "$got" "Read-only file system"
expect_eq "the file is unchanged" "$(cat "$R/users/$A/notes.txt")" "my notes"
expect_eq "a symlink mount shows its target's files" \
	"$(as $A "$WSCTL" ssh m1 -- cat /mnt/link/a.txt </dev/null 2>&1)" from-home

insp=$(docker inspect "$cid")
id=$(echo "$out" | json .id)
m() { echo "$insp" | jq -r ".[0].Mounts[] | select(.Destination==\"$1\") | $2"; }
hm() { echo "$insp" | jq -r ".[0].HostConfig.Mounts[] | select(.Target==\"$1\") | $2"; }
sm() { as $A "$WSCTL" show m1 --json | jq -r ".mounts[] | select(.target==\"$1\") | $2"; }
expect_eq "engine: /data/proj bound from wsd's staging point, not the user's path" \
	"$(m /data/proj .Source)" "$T/state/mounts/$id/1"
expect_eq "engine: the home bound from wsd's staged home, which carries /home/USER/proj" \
	"$(m /home/$A .Source)" "$T/state/mounts/$id/home"
expect_eq "engine: no mount of its own inside the home" "$(m /home/$A/proj .Source)" ""
expect_eq "engine: /data/proj is rw" "$(m /data/proj .RW)" true
expect_eq "engine: /mnt/ds is read-only" "$(m /mnt/ds .RW)" false
expect_eq "show: /home/USER/proj from the real path" "$(sm /home/$A/proj .source)" "$R/users/$A/proj"
expect_eq "show: the symlink's real path is shown, not the link" "$(sm /mnt/link .source)" "$R/users/$A/proj"
expect_eq "show: a relative SRC became absolute" "$(sm /home/$A/notes.txt .source)" "$R/users/$A/notes.txt"
expect_eq "show: /mnt/ds is read-only" "$(sm /mnt/ds .read_only)" true
expect_match "show (text): the mounts are listed" "$(as $A "$WSCTL" show m1)" "Mount: +$R/shared/ds -> /mnt/ds \\(read-only\\)"
check "the staging points are gone once the container runs" test ! -e "$T/state/mounts/$id"
check "no staging mount left on the host" sh -c "! grep -q ' $T/state/mounts' /proc/self/mountinfo"
# A restarted wsd adopts the workspace and still shows its mounts (label wslab.mounts).
stop_wsd
rm -f "$T/wsd.sock"
start_wsd "mount_roots = $R/users
shared_mount_roots = $R/shared
mount_points = /data, /mnt"
for _ in $(seq 1 100); do
	[ "$(as $A "$WSCTL" show m1 --json 2>/dev/null | jq -r .state)" = ready ] && break
	sleep 0.1
done
expect_eq "restart: the adopted workspace shows its mounts" "$(sm /mnt/ds .source),$(sm /mnt/ds .read_only)" "$R/shared/ds,true"
expect_eq "restart: all five" "$(as $A "$WSCTL" show m1 --json | jq '.mounts | length')" 5
expect_eq "engine: user mounts are rprivate" "$(m /data/proj .Propagation)" rprivate
expect_eq "engine: user mounts are not recursive" "$(hm /mnt/ds .BindOptions.NonRecursive)" true
expect_eq "engine: wsd's own mounts still there" "$(m /etc/passwd .RW)" false

as $A "$WSCTL" stop m1 >/dev/null
expect_eq "stop exits 0" "$?" 0
expect_eq "the mounted files outlive the workspace" "$(cat "$R/users/$A/proj/a.txt" 2>/dev/null)" from-home

# wait_staged: the first staging mount of this wsd, once it appears.
wait_staged() {
	local m
	for _ in $(seq 1 100); do
		m=$(grep -o " $T/state/mounts/[0-9a-f]*/0 " /proc/self/mountinfo | head -1)
		[ -n "$m" ] && { echo "$m"; return 0; }
		sleep 0.1
	done
}

# ---- the checked object is what gets mounted ----
# A's directory is checked and staged while the engine is frozen; A then
# swaps it for a symlink to a world-readable directory outside every root.
# Were the engine to bind A's path, it would follow the link.
install -d -m 755 "$T/outside"
echo "not for mounting" >"$T/outside/secret.txt"
install -d -o $A -g $GID_A -m 755 "$R/users/$A/race"
runuser -u $A -- sh -c "echo checked >'$R/users/$A/race/mine.txt'"
dpid=$(dockerd_pid)
kill -STOP "$dpid"
as $A "$WSCTL" start --name race --mount "$R/users/$A/race:/mnt/race" --json >"$T/race.out" 2>"$T/race.err" &
spid=$!
staged=$(wait_staged)
check "race: the source is staged before the engine is called" test -n "$staged"
runuser -u $A -- sh -c "mv '$R/users/$A/race' '$R/users/$A/race.old' && ln -s '$T/outside' '$R/users/$A/race'"
kill -CONT "$dpid"
wait $spid
expect_eq "race: the start with a swapped source is ready" "$(json .state <"$T/race.out" 2>/dev/null)" ready
[ -s "$T/race.err" ] && log "wsctl: $(cat "$T/race.err")"
got=$(as $A "$WSCTL" ssh race -- ls /mnt/race </dev/null 2>&1)
expect_eq "race: the workspace sees the directory that was checked" "$got" mine.txt
check "race: the symlink's target is not reachable" sh -c "! printf '%s' '$got' | grep -q secret"
as $A "$WSCTL" stop race >/dev/null
check "race: nothing staged after the stop" test -z "$(ls "$T/state/mounts" 2>/dev/null)"

# ---- wsd killed with a mount staged ----
kill -STOP "$dpid"
as $A "$WSCTL" start --name killed --mount "$R/users/$A/race.old:/mnt/race" >/dev/null 2>&1 &
spid=$!
staged=$(wait_staged)
check "kill: the source is staged" test -n "$staged"
kill -KILL "$WSD_PID"
wait "$WSD_PID" 2>/dev/null
WSD_PID=
kill -CONT "$dpid"
wait $spid
rm -f "$T/wsd.sock"
start_wsd "mount_roots = $R/users
shared_mount_roots = $R/shared
mount_points = /data, /mnt"
for _ in $(seq 1 100); do
	[ -z "$(ls "$T/state/mounts" 2>/dev/null)" ] && [ "$(wslab_containers)" = 0 ] && break
	sleep 0.1
done
check "kill: the restarted wsd unmounts and removes the staging point" test -z "$(ls "$T/state/mounts" 2>/dev/null)"
check "kill: no staging mount left on the host" sh -c "! grep -q ' $T/state/mounts' /proc/self/mountinfo"
expect_eq "kill: no container left" "$(wslab_containers)" 0
expect_eq "kill: the source is intact" "$(cat "$R/users/$A/race.old/mine.txt")" checked

# ---- what is refused ----
snapshot() {
	local w
	w=$(api $C GET /v1/workspaces | head -n -1 | jq '.workspaces | length')
	echo "containers=$(wslab_containers) dirs=$(ls "$T/state/workspaces" 2>/dev/null | wc -l)" \
		"home_c=$([ -e "$T/home/$C" ] && echo made || echo none) listed=$w"
}
clean="containers=0 dirs=0 home_c=none listed=0"
expect_eq "nothing of C's before the refusals" "$(snapshot)" "$clean"

# refuse STATUS NEEDLE WHAT MOUNTS-JSON: C's start must get STATUS, NEEDLE in its message, no change.
NREFUSED=0
refuse() {
	local want=$1 needle=$2 what=$3 mounts=$4 r code msg after
	NREFUSED=$((NREFUSED + 1))
	r=$(api $C POST /v1/workspaces "{\"name\":\"bad$NREFUSED\",\"ssh_keys\":[\"$KEY_C\"],\"mounts\":[$mounts]}")
	code=$(echo "$r" | tail -1)
	msg=$(echo "$r" | head -n -1 | jq -r .error.message 2>/dev/null)
	after=$(snapshot)
	if [ "$code" = "$want" ] && printf '%s' "$msg" | grep -qF -- "$needle" && [ "$after" = "$clean" ]; then
		pass "refused ($code, nothing made): $what: $msg"
	else
		fail "$what: want $want naming '$needle' and no change; got $code '$msg' [$after]"
	fi
}
mnt() { printf '{"source":"%s","target":"%s"%s}' "$1" "$2" "${3:+,\"read_only\":true}"; }
U=$R/users

refuse 400 '".." is not allowed' '".." in SRC' "$(mnt "$U/$C/../$A/proj" /mnt/x)"
refuse 403 "resolves to a path outside the allowed mount roots" "symlink in the root to /etc" "$(mnt "$U/$C/escape" /mnt/x)"
refuse 403 "is not yours" "symlink to another user's directory" "$(mnt "$U/$C/sideways" /mnt/x)"
refuse 403 "is not yours" "another user's directory in the root" "$(mnt "$U/$A/proj" /mnt/x)"
refuse 403 "is not yours" "another user's directory, read-only" "$(mnt "$U/$A/proj" /mnt/x ro)"
refuse 403 "is not yours" "a missing path in another user's directory" "$(mnt "$U/$A/nothing-here" /mnt/x)"
refuse 403 "is not yours" "the mount root itself" "$(mnt "$U" /mnt/x)"
refuse 403 "outside the allowed mount roots" "absolute path /etc" "$(mnt /etc /mnt/x)"
refuse 403 "outside the allowed mount roots" "absolute path /root" "$(mnt /root /mnt/x ro)"
refuse 403 "outside the allowed mount roots" "a directory outside every root" "$(mnt "$T/elsewhere" /mnt/x)"
refuse 403 "outside the allowed mount roots" "the engine socket" "$(mnt /var/run/docker.sock /mnt/docker.sock)"
refuse 403 "outside the allowed mount roots" "the device /dev/sda" "$(mnt /dev/sda /mnt/sda)"
refuse 403 "outside the allowed mount roots" "the device /dev/null" "$(mnt /dev/null /mnt/null)"
refuse 403 "is a device" "a device node inside the root" "$(mnt "$U/$C/null" /mnt/null)"
refuse 403 "is a FIFO" "a FIFO inside the root" "$(mnt "$U/$C/fifo" /mnt/fifo)"
if [ -S "$U/$C/sock" ]; then
	refuse 403 "is a socket" "a unix socket inside the root" "$(mnt "$U/$C/sock" /mnt/sock)"
fi
refuse 403 "can only be mounted read-only" "shared root without :ro" "$(mnt "$R/shared/ds" /mnt/ds)"
refuse 403 "collides with wsd's own mounts" "DST /etc" "$(mnt "$U/$C/ok" /etc)"
refuse 403 "neither inside your home" "DST /usr/bin" "$(mnt "$U/$C/ok" /usr/bin)"
refuse 400 '".." is not allowed' "DST with .." "$(mnt "$U/$C/ok" "/home/$C/../../etc")"
refuse 403 "collides with wsd's own mounts" "DST onto /etc/passwd" "$(mnt "$U/$C/ok" /etc/passwd)"
refuse 403 "collides with wsd's own mounts" "DST into /etc/wslab" "$(mnt "$U/$C/ok" /etc/wslab/x)"
refuse 400 "must be an absolute path" "relative DST" "$(mnt "$U/$C/ok" ok)"
refuse 403 "is not inside your home /home/$C" "DST in another user's home" "$(mnt "$U/$C/ok" /home/$A/x)"
refuse 403 "the home itself" "DST onto the home itself" "$(mnt "$U/$C/ok" /home/$C)"
many=$(for i in 1 2 3 4 5 6 7 8 9; do mnt "$U/$C/ok" /mnt/m$i; echo ,; done | tr -d '\n')
refuse 400 "at most 8" "nine mounts" "${many%,}"
refuse 400 "control characters" "CR/LF in SRC" "$(mnt "$U/$C/ok\\r\\nX-Evil: 1" /mnt/x)"
refuse 400 "control characters" "LF in DST" "$(mnt "$U/$C/ok" "/mnt/x\\ny")"
refuse 400 "does not exist" "non-existent SRC" "$(mnt "$U/$C/nope" /mnt/x)"
refuse 400 "already the target" "two mounts on one DST" "$(mnt "$U/$C/ok" /mnt/x),$(mnt "$U/$C/ok" /mnt/x)"
refuse 400 "unknown field" "an engine option smuggled into a mount" \
	"{\"source\":\"$U/$C/ok\",\"target\":\"/mnt/x\",\"Propagation\":\"rshared\"}"
refuse 400 "unknown field" "a volume smuggled into a mount" \
	"{\"source\":\"$U/$C/ok\",\"target\":\"/mnt/x\",\"type\":\"volume\"}"
log "$NREFUSED hostile mounts refused"

# wsctl says why in one line and exits 1.
err=$(cd "$U/$C" && as $C "$WSCTL" start --name viactl --mount ../$A/proj:/mnt/x 2>&1 >/dev/null)
rc=$?
expect_eq "wsctl start with a bad --mount exits 1" "$rc" 1
expect_match "wsctl prints the reason" "$err" '".." is not allowed'
err=$(as $C "$WSCTL" start --name viactl --mount /var/run/docker.sock:/mnt/d 2>&1 >/dev/null)
expect_match "wsctl: the engine socket is refused" "$err" "outside the allowed mount roots"
err=$(as $C "$WSCTL" start --name viactl --mount "$U/$C/fifo:/mnt/f" 2>&1 >/dev/null)
expect_match "wsctl: a FIFO is refused after preparing" "$err" "is a FIFO"
as $C "$WSCTL" start --mount nocolon >/dev/null 2>&1
expect_eq "wsctl: SRC without DST is a usage error" "$?" 2
as $C "$WSCTL" start --mount "$U/$C/ok:/mnt/x:rx" >/dev/null 2>&1
expect_eq "wsctl: a mode other than ro/rw is a usage error" "$?" 2
expect_eq "still nothing of C's after wsctl" "$(snapshot)" "$clean"

# The same student can start with an allowed mount right after.
out=$(as $C "$WSCTL" start --name fine --mount "$U/$C/ok:/home/$C/ok" --json 2>&1)
expect_eq "C's allowed mount starts" "$(echo "$out" | json .state 2>/dev/null)" ready
as $C "$WSCTL" stop fine >/dev/null 2>&1

# With no mount roots configured the feature is off and says so.
stop_wsd
rm -f "$T/wsd.sock"
start_wsd
r=$(api $C POST /v1/workspaces "{\"ssh_keys\":[\"$KEY_C\"],\"mounts\":[$(mnt "$U/$C/ok" /mnt/x)]}")
expect_eq "mounts with no roots configured: 403" "$(echo "$r" | tail -1)" 403
expect_match "and says no mount roots are configured" "$(echo "$r" | head -n -1)" "no mount roots are configured"

finish
