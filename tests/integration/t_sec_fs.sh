#!/bin/bash
# Files and mounts against a hostile student ("Security, round two"):
# a mount is decided as the student would be allowed (search on every
# directory on the way, read on the source, groups and ACLs included), and
# a path the student cannot reach gets one answer whether it exists or not.
# wsd's state is root's only, whatever the umask or an older wsd left.
# Every set of SSH keys that validation accepts is written whole. A mount
# target in the home is never reached through a link the student planted.
. "$(dirname "$0")/lib.sh"
PORT_BASE=25200
setup_all
A=wslab-ta
B=wslab-tb
G=wslab-tg
make_user $A
make_user $B
getent group $G >/dev/null || groupadd $G
id -nG $A | grep -qw $G || usermod -aG $G $A
GID_A=$(id -g $A)
GID_B=$(id -g $B)
KEY_A=$(cat "$(getent passwd $A | cut -d: -f6)/.ssh/id_ed25519.pub")

T=$(mktemp -d /tmp/wslab-it.XXXXXX)
chmod 755 "$T"
R=$T/roots
U=$R/users
SH=$R/shared
install -d -m 755 "$R" "$U" "$SH"
install -d -o $A -g $GID_A -m 755 "$U/$A"
# B's private corner of the shared root: B's own 0700 directory with an
# ordinary 0644 file in an ordinary directory.
install -d -o $B -g $GID_B -m 700 "$SH/$B"
install -d -o $B -g $GID_B -m 755 "$SH/$B/data"
echo "B's notes" >"$SH/$B/data/file"
chown $B:$GID_B "$SH/$B/data/file"
chmod 644 "$SH/$B/data/file"
runuser -u $A -- ln -s "$SH/$B/data" "$U/$A/tob"
runuser -u $A -- ln -s "$SH/$B/nothing" "$U/$A/tonone"
# What A may read: a public directory, one through a supplementary group,
# one through an ACL (where the file system and setfacl allow).
install -d -m 755 "$SH/pub"
echo public >"$SH/pub/readme"
install -d -m 750 -g $G "$SH/grp"
echo group >"$SH/grp/readme"
chmod 640 "$SH/grp/readme" && chgrp $G "$SH/grp/readme"
ACL=0
install -d -m 700 "$SH/acl"
echo acl >"$SH/acl/readme"
chmod 600 "$SH/acl/readme"
if command -v setfacl >/dev/null && setfacl -m u:$A:rx "$SH/acl" 2>/dev/null &&
	setfacl -m u:$A:r "$SH/acl/readme" 2>/dev/null; then
	ACL=1
else
	log "no ACLs here (setfacl missing or not supported): the ACL case is skipped"
fi

# State an older wsd left world-readable, and a permissive umask: wsd's
# state must still end up root's only.
install -d -m 755 "$T/state" "$T/state/workspaces"
install -m 644 /dev/null "$T/state/wsd.db"
old_umask=$(umask)
umask 000
start_wsd "mount_roots = $U
shared_mount_roots = $SH
mount_points = /mnt"
umask "$old_umask"

nothing_made() {
	echo "containers=$(wslab_containers) dirs=$(ls "$T/state/workspaces" 2>/dev/null | wc -l)" \
		"home=$([ -e "$T/home/$A" ] && echo made || echo none)"
}
clean="containers=0 dirs=0 home=none"
# attempt SRC: "STATUS MESSAGE" of A's read-only mount of SRC at /mnt/x,
# with SRC itself in the message written as SRC.
attempt() {
	local r
	r=$(api $A POST /v1/workspaces \
		"{\"ssh_keys\":[\"$KEY_A\"],\"mounts\":[{\"source\":\"$1\",\"target\":\"/mnt/x\",\"read_only\":true}]}")
	printf '%s %s' "$(echo "$r" | tail -1)" \
		"$(echo "$r" | head -n -1 | jq -r .error.message 2>/dev/null | sed "s|$1|SRC|g")"
}

# ---- 1. read-only shared mounts as the caller ----
got=$(attempt "$SH/$B/data")
expect_match "B's data below B's 0700 directory is refused to A" "$got" '^403 '
expect_eq "nothing made for the refused mount" "$(nothing_made)" "$clean"
expect_eq "the refusal is the same as for a path there that does not exist" \
	"$got" "$(attempt "$SH/$B/nothing")"
expect_eq "B's file in it is refused the same way" "$(attempt "$SH/$B/data/file")" "$got"
got=$(attempt "$U/$A/tob")
expect_match "the same through a link in A's own root is refused" "$got" '^403 '
expect_eq "with the same answer as a link to a path there that does not exist" \
	"$got" "$(attempt "$U/$A/tonone")"
expect_eq "and the same answer as the direct path" "$got" "$(attempt "$SH/$B/data")"
expect_match "a missing path A can look into is said not to exist" \
	"$(attempt "$SH/pub/nothing")" '^400 .*does not exist'
expect_eq "still nothing made" "$(nothing_made)" "$clean"

mounts="--mount $SH/pub:/mnt/pub:ro --mount $SH/grp:/mnt/grp:ro --mount $SH/pub:/home/$A/new/deep:ro"
[ $ACL = 1 ] && mounts="$mounts --mount $SH/acl:/mnt/acl:ro"
out=$(as $A "$WSCTL" start --name ok $mounts --json 2>"$T/ok.err")
expect_eq "A's mounts of what A may read start" "$(echo "$out" | json .state 2>/dev/null)" ready
[ -s "$T/ok.err" ] && log "wsctl: $(cat "$T/ok.err")"
expect_eq "a public directory reads" "$(as $A "$WSCTL" ssh ok -- cat /mnt/pub/readme </dev/null 2>&1)" public
# (Inside, the container's process has only A's primary group, so only
# the mount itself is seen there.)
expect_eq "a directory A may read through a supplementary group (group database) is mounted" \
	"$(as $A "$WSCTL" ssh ok -- stat -c %a /mnt/grp </dev/null 2>&1)" 750
if [ $ACL = 1 ]; then
	expect_eq "a directory that an ACL opens to A reads" \
		"$(as $A "$WSCTL" ssh ok -- cat /mnt/acl/readme </dev/null 2>&1)" acl
fi

# (11) A target in the home that does not exist yet is made by wsd, as A.
expect_eq "a target in the home is mounted, read-only" \
	"$(as $A "$WSCTL" ssh ok -- "cat ~/new/deep/readme; touch ~/new/deep/w 2>&1 | grep -c Read-only" </dev/null 2>&1)" \
	"public
1"
expect_eq "its missing directories were made for A, in A's home" \
	"$(stat -c %U "$T/home/$A/new" "$T/home/$A/new/deep" 2>&1 | tr '\n' ' ')" "$A $A "
insp=$(docker inspect "$(echo "$out" | json .container_id)")
expect_eq "the engine binds wsd's staged home, which carries the mount" \
	"$(echo "$insp" | jq -r ".[0].Mounts[] | select(.Destination==\"/home/$A\") | .Source")" \
	"$T/state/mounts/$(echo "$out" | json .id)/home"
check "no mount is left in A's home on the host" \
	sh -c "! awk '{print \$5}' /proc/self/mountinfo | grep -q '^$T/home'"
expect_eq "and has no mount of its own in the home" \
	"$(echo "$insp" | jq -r "[.[0].Mounts[] | select(.Destination | startswith(\"/home/$A/\"))] | length")" 0

# ---- 4. wsd's state is root's ----
id=$(echo "$out" | json .id 2>/dev/null)
for _ in $(seq 1 50); do [ -z "$(ls "$T/state/mounts" 2>/dev/null)" ] && break; sleep 0.1; done
want="711 root .
600 root ./wsd.db
600 root ./wsd.db-shm
600 root ./wsd.db-wal
700 root ./mounts
700 root ./workspaces
711 root ./workspaces/ID
400 $A ./workspaces/ID/authorized_keys
400 $A ./workspaces/ID/jupyter_token
600 $A ./workspaces/ID/ssh_host_ed25519_key
644 root ./workspaces/ID/group
644 root ./workspaces/ID/passwd
644 root ./workspaces/ID/ssh_host_ed25519_key.pub"
got=$(cd "$T/state" && find . -printf '%m %u %p\n' | sed "s|/$id|/ID|" | sort -k3)
expect_eq "every file and directory in state_dir: mode and owner" "$got" "$(echo "$want" | sort -k3)"
for f in wsd.db wsd.db-wal wsd.db-shm workspaces/$id/authorized_keys workspaces/$id/passwd; do
	runuser -u $B -- cat "$T/state/$f" >/dev/null 2>&1
	rc=$?
	expect_eq "another user cannot read ${f/$id/ID}" "$rc" 1
done
runuser -u $B -- ls "$T/state/workspaces" >/dev/null 2>&1
expect_eq "another user cannot list the workspaces" "$?" 2
runuser -u $B -- ls "$T/state" >/dev/null 2>&1
expect_eq "nor state_dir" "$?" 2
runuser -u $A -- cat "$T/state/workspaces/$id/jupyter_token" >/dev/null 2>&1
expect_eq "on the host not even the owner reads the workspace's files (the API shows them)" "$?" 1
expect_eq "the audit trail stays readable to admins through the API" \
	"$(api root GET '/v1/admin/audit?limit=1' | tail -1)" 200
as $A "$WSCTL" stop ok >/dev/null 2>&1
r=$(api $B POST /v1/workspaces \
	"{\"ssh_keys\":[\"$KEY_A\"],\"mounts\":[{\"source\":\"$SH/grp\",\"target\":\"/mnt/x\",\"read_only\":true}]}")
expect_eq "B, not in the group, may not read that directory: refused" "$(echo "$r" | tail -1)" 403

# ---- 11. mount targets in the home are not reached through links ----
# mount_home TARGET: "STATUS MESSAGE" of A's read-only mount of pub at TARGET.
mount_home() {
	local r
	r=$(api $A POST /v1/workspaces \
		"{\"ssh_keys\":[\"$KEY_A\"],\"mounts\":[{\"source\":\"$SH/pub\",\"target\":\"$1\",\"read_only\":true}]}")
	printf '%s %s' "$(echo "$r" | tail -1)" "$(echo "$r" | head -n -1 | jq -r .error.message 2>/dev/null)"
}
runuser -u $A -- ln -s /etc "$T/home/$A/data"
runuser -u $A -- ln -s /etc/wslab "$T/home/$A/wslab"
runuser -u $A -- touch "$T/home/$A/afile"
runuser -u $A -- mkdir "$T/home/$A/adir"
before=$(wslab_containers),$(ls "$T/state/workspaces" | wc -l)
expect_match "a link in the home on the way to a target is refused" \
	"$(mount_home /home/$A/data/x)" "^403 .*/home/$A/data is a symbolic link"
expect_match "a link in the home as the target is refused" \
	"$(mount_home /home/$A/wslab)" "^403 .*/home/$A/wslab is a symbolic link"
expect_match "a file on the way to a target is refused" \
	"$(mount_home /home/$A/afile/x)" "^400 .*/home/$A/afile is not a directory"
expect_match "a directory source onto a file is refused" \
	"$(mount_home /home/$A/afile)" "^400 .*is not a directory, but the source is one"
expect_eq "nothing made for them" "$(wslab_containers),$(ls "$T/state/workspaces" | wc -l)" "$before"
check "nothing made where the links point" test ! -e /etc/x
expect_eq "nor in the home" "$(ls "$T/home/$A" | tr '\n' ' ')" "adir afile data new wslab "
r=$(api $A POST /v1/workspaces \
	"{\"ssh_keys\":[\"$KEY_A\"],\"mounts\":[{\"source\":\"$SH/pub\",\"target\":\"/mnt/a\",\"read_only\":true},{\"source\":\"$SH/pub\",\"target\":\"/mnt/a/b\",\"read_only\":true}]}")
expect_match "nested targets are refused (the inner one would be resolved through the outer's files)" \
	"$(echo "$r" | tail -1) $(echo "$r" | head -n -1 | jq -r .error.message)" "^400 .*nested"

# ---- 10. every key set validation accepts is written whole ----
# keys_body N LEN [LAST]: a start request with N keys of LEN bytes (a
# valid key with a long comment), LAST (a real key) instead of the last.
keys_body() {
	local n=$1 len=$2 last=${3-} k="${KEY_A% *} " i
	k=$k$(head -c $((len - ${#k})) /dev/zero | tr '\0' c)
	printf '{"name":"keys","ssh_keys":['
	for i in $(seq 1 "$n"); do
		[ "$i" -gt 1 ] && printf ,
		if [ "$i" = "$n" ] && [ -n "$last" ]; then printf '"%s"' "$last"; else printf '"%s"' "$k"; fi
	done
	printf ']}'
}
accepted_starts() {
	api root GET /v1/admin/audit | head -n -1 |
		jq "[.events[] | select(.actor == \"$B\" and .action == \"start\" and .result == \"accepted\")] | length"
}
# keys_start N LEN [LAST]: B starts with those keys; either the start is
# ready, or it is refused with nothing made (no home for B, who has none
# yet, no accepted start in the audit log).
keys_start() {
	local r code before
	keys_body "$@" >"$T/keys.json"
	chmod 644 "$T/keys.json"
	before=$(accepted_starts)
	r=$(as $B curl -s -w '\n%{http_code}' --unix-socket "$T/wsd.sock" -X POST \
		-H 'Content-Type: application/json' --data-binary @"$T/keys.json" http://wsd/v1/workspaces)
	code=$(echo "$r" | tail -1)
	if [ "$code" = 201 ] && [ "$(echo "$r" | head -n -1 | jq -r .state)" = ready ]; then
		pass "$1 keys of $2 bytes ($(stat -c %s "$T/keys.json") bytes): the start is ready"
		return 0
	fi
	if [ ! -e "$T/home/$B" ] && [ "$(accepted_starts)" = "$before" ]; then
		pass "$1 keys of $2 bytes: refused ($code) before anything was made"
	else
		fail "$1 keys of $2 bytes: refused ($code: $(echo "$r" | head -n -1 | jq -r .error.message 2>/dev/null)) after B's home was made or the start audited as accepted"
	fi
	return 1
}
KEY_B=$(cat "$(getent passwd $B | cut -d: -f6)/.ssh/id_ed25519.pub")
keys_start 16 8192
if keys_start 12 4500 "$KEY_B"; then
	expect_eq "all 12 are in authorized_keys: B logs in with the last one" \
		"$(as $B "$WSCTL" ssh keys -- id -un </dev/null 2>&1)" $B
	as $B "$WSCTL" stop keys >/dev/null 2>&1
fi

finish
