#!/bin/bash
# The laptop path: `wsctl ssh-config` output is all an OpenSSH client needs
# to reach a workspace whose ports are on loopback, through a ProxyJump
# over the lab server. A private sshd on 127.0.0.1 plays the lab server;
# the "laptop" is ssh -F with only the generated config, the generated
# known_hosts and its own key (one the lab server accepts, never the key
# wsctl found in ~/.ssh/*.pub). Host keys are pinned: a wrong one is
# refused. Running it again replaces its block. Bad input prints nothing.
. "$(dirname "$0")/lib.sh"
PORT_BASE=26400
INSTANCE=sshcfg$$
SSHD_PORT=$((PORT_BASE + 300))
JPORT=$((PORT_BASE + 310))
SSHD_PID=
setup_all
command -v /usr/sbin/sshd >/dev/null || { echo "missing /usr/sbin/sshd (openssh-server)" >&2; exit 77; }

# Stop the private sshd too (and before the harness removes $T).
eval "$(declare -f cleanup | sed '1s/^cleanup/lib_cleanup/')"
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	SSHD_PID=
	lib_cleanup
}
trap 'cleanup' INT TERM

A=wslab-sa
B=wslab-sb
make_user $A
make_user $B
# A locked password ("!") makes sshd without PAM refuse the account even
# for a key; "*" is no password and not locked.
usermod -p '*' $A
usermod -p '*' $B
HOME_A=$(getent passwd $A | cut -d: -f6)
UID_A=$(id -u $A)

start_wsd "ssh_jump_host = 127.0.0.1:$SSHD_PORT"

# The laptop: a key of its own. The lab server accepts it (its
# authorized_keys), so wsctl start hands it to the workspace as well.
LAP=$T/laptop
mkdir -p "$LAP" && chown $A "$LAP" && chmod 700 "$LAP"
as $A ssh-keygen -q -t ed25519 -N '' -f "$LAP/id_ed25519" -C laptop
as $A sh -c "cat '$LAP/id_ed25519.pub' > ~/.ssh/authorized_keys"

# The lab server's sshd, on loopback with its own host key.
S=$T/sshd
mkdir -p "$S/keys" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$S/host_ed25519"
cp "$LAP/id_ed25519.pub" "$S/keys/$A"
chmod 644 "$S/keys/$A"
cat >"$S/config" <<CONF
ListenAddress 127.0.0.1
HostKey $S/host_ed25519
PidFile none
AuthorizedKeysFile $S/keys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers $A $B
AllowTcpForwarding yes
# Its files lie under /tmp (1777), which StrictModes would refuse.
StrictModes no
CONF
/usr/sbin/sshd -D -e -f "$S/config" -p $SSHD_PORT >"$T/sshd.log" 2>&1 &
SSHD_PID=$!
for _ in $(seq 1 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$SSHD_PORT) 2>/dev/null && break
	sleep 0.1
done
# The laptop knows the lab server already (its first login did that).
as $A sh -c "echo '[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$S/host_ed25519.pub")' > ~/.ssh/known_hosts"

out=$(as $A "$WSCTL" start --name lab1 --json)
expect_eq "A's workspace starts" "$(echo "$out" | json .state)" ready
jport=$(echo "$out" | json .jupyter_port)
url=$(echo "$out" | json .jupyter_url)
urlpath=/${url#*://*/}
outb=$(as $B env SSH_CONNECTION="10.0.0.9 50000 10.0.0.1 22" "$WSCTL" start --name bob1)
expect_match "wsctl start in an SSH session prints the laptop's ssh -L line" "$outb" \
	"ssh -N -L 8888:127\.0\.0\.1:[0-9]+ -p $SSHD_PORT $B@127\.0\.0\.1"

info=$(api $A GET /v1/info | head -n1)
expect_eq "/v1/info names the jump host" "$(echo "$info" | json .ssh_jump_host)" "127.0.0.1:$SSHD_PORT"
expect_eq "/v1/info: ports are on loopback" "$(echo "$info" | json .ports_local)" true

# The documented way, run twice: the second run replaces the first block.
CFG=$LAP/config
printf 'Host unrelated\n\tHostName example.invalid\n' >"$CFG"
chown $A "$CFG"
apply() {
	as $A sh -c "sed -i.bak '/^# BEGIN wslab/,/^# END wslab/d' '$CFG' &&
		'$WSCTL' ssh-config >> '$CFG' &&
		'$WSCTL' ssh-config --known-hosts > ~/.ssh/wslab_known_hosts"
}
apply || fail "ssh-config, first run"
apply || fail "ssh-config, second run"
expect_eq "after two runs, one wslab block" "$(grep -c '^# BEGIN wslab' "$CFG")" 1
expect_eq "after two runs, one Host wslab-lab1" "$(grep -c '^Host wslab-lab1$' "$CFG")" 1
expect_eq "the student's own entries are kept" "$(grep -c '^Host unrelated$' "$CFG")" 1
check "the entry jumps through the lab server as the student" \
	grep -qx "	ProxyJump $A@127.0.0.1:$SSHD_PORT" "$CFG"
check "the entry pins the key under its alias" grep -qx '	HostKeyAlias wslab-lab1' "$CFG"
check "B's workspace is not in A's config" test "$(grep -c bob1 "$CFG")" = 0
known=$(cat "$HOME_A/.ssh/wslab_known_hosts")
expect_eq "--known-hosts prints the alias and the pinned key" "$known" \
	"wslab-lab1 $(echo "$out" | json .ssh_host_key | cut -d' ' -f1,2)"
# What the laptop's own config says after the block (for the jump, too).
printf 'Host *\n\tIdentityFile %s\n\tIdentitiesOnly yes\n\tBatchMode yes\n\tConnectTimeout 10\n' \
	"$LAP/id_ed25519" >>"$CFG"

lssh() { as $A ssh -F "$CFG" -o StrictHostKeyChecking=yes "$@" </dev/null; }
got=$(lssh wslab-lab1 id -u 2>"$T/ssh.err")
expect_eq "ssh wslab-lab1 through the jump host runs as the student" "$got" "$UID_A"
[ "$got" = "$UID_A" ] || cat "$T/ssh.err" "$T/sshd.log"

echo "from the laptop" >"$LAP/up.txt"
chown $A "$LAP/up.txt"
as $A scp -F "$CFG" -q "$LAP/up.txt" wslab-lab1:up.txt </dev/null || fail "scp to the workspace"
expect_eq "scp to the workspace lands in the home" "$(cat "$T/home/$A/up.txt" 2>/dev/null)" "from the laptop"
as $A scp -F "$CFG" -q wslab-lab1:up.txt "$LAP/down.txt" </dev/null || fail "scp from the workspace"
expect_eq "scp back from the workspace" "$(cat "$LAP/down.txt" 2>/dev/null)" "from the laptop"
got=$(echo "ls up.txt" | as $A sftp -F "$CFG" -q -b - wslab-lab1 2>&1)
expect_match "sftp lists the file" "$got" 'up\.txt'
if command -v rsync >/dev/null && lssh wslab-lab1 command -v rsync >/dev/null 2>&1; then
	as $A rsync -a -e "ssh -F $CFG" "$LAP/up.txt" wslab-lab1:rsynced.txt </dev/null ||
		fail "rsync -e ssh to the workspace"
	expect_eq "rsync -e ssh copies" "$(cat "$T/home/$A/rsynced.txt" 2>/dev/null)" "from the laptop"
else
	log "rsync is not in the workspace image: rsync -e ssh not checked"
fi

# Jupyter through the forward, while an ssh session runs.
JCFG=$LAP/jupyter.config
as $A "$WSCTL" ssh-config --jupyter-port $JPORT lab1 >"$JCFG" 2>"$T/jupyter.err"
cat "$CFG" | sed -n '/^Host \*/,$p' >>"$JCFG"
check "the forward is in the entry" grep -qx "	LocalForward 127.0.0.1:$JPORT 127.0.0.1:8888" "$JCFG"
check "no token in the config" test "$(grep -c token "$JCFG")" = 0
expect_match "the local URL with its token goes to stderr" "$(cat "$T/jupyter.err")" \
	"http://127\.0\.0\.1:$JPORT/.*token="
as $A sh -c "echo \$\$ > '$T/fwd.pid'; exec ssh -F '$JCFG' -o ExitOnForwardFailure=yes -N wslab-lab1" \
	</dev/null >/dev/null 2>"$T/fwd.err" &
code=000
for _ in $(seq 1 50); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$JPORT$urlpath")
	[ "$code" = 200 ] && break
	sleep 0.2
done
expect_eq "Jupyter answers 200 with its token through the forward" "$code" 200
[ -s "$T/fwd.pid" ] && kill "$(cat "$T/fwd.pid")" 2>/dev/null

# --write DIR: both files, the config naming the known_hosts beside it.
W=$LAP/written
as $A "$WSCTL" ssh-config --write "$W" lab1 2>/dev/null || fail "ssh-config --write"
check "--write: the config names DIR/known_hosts" grep -qx "	UserKnownHostsFile $W/known_hosts" "$W/config"
expect_eq "--write: known_hosts as --known-hosts prints it" "$(cat "$W/known_hosts")" "$known"
sed -n '/^Host \*/,$p' "$CFG" >>"$W/config"
got=$(as $A ssh -F "$W/config" wslab-lab1 id -u </dev/null 2>/dev/null)
expect_eq "ssh -F DIR/config reaches the workspace" "$got" "$UID_A"

# A wrong pinned key is refused, never asked about.
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
as $A sh -c "echo 'wslab-lab1 $(cut -d' ' -f1,2 "$T/other.pub")' > ~/.ssh/wslab_known_hosts"
if lssh wslab-lab1 true 2>"$T/wrong.err"; then
	fail "a wrong pinned key is refused"
else
	expect_match "a wrong pinned key is refused" "$(cat "$T/wrong.err")" \
		'IDENTIFICATION HAS CHANGED|verification failed'
fi

# In an SSH session, show says how to reach Jupyter from the laptop.
got=$(as $A env SSH_CONNECTION="10.0.0.9 50000 10.0.0.1 22" "$WSCTL" show lab1)
expect_match "wsctl show in an SSH session prints ssh -N -L" "$got" \
	"ssh -N -L 8888:127\.0\.0\.1:$jport -p $SSHD_PORT $A@127\.0\.0\.1"
check "and the local URL" grep -qF "then http://127.0.0.1:8888$urlpath" <<<"$got"
got=$(as $A env -u SSH_CONNECTION "$WSCTL" show lab1)
check "not outside an SSH session" test "$(echo "$got" | grep -c 'ssh -N')" = 0

# Bad input: a clear error, a non-zero exit, nothing on stdout.
bad() {
	local what=$1 rc
	shift
	as $A "$WSCTL" ssh-config "$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	if [ $rc -ne 0 ] && [ ! -s "$T/bad.out" ] && grep -q '^wsctl: ' "$T/bad.err"; then
		pass "$what: exit $rc, empty stdout, $(head -n1 "$T/bad.err")"
	else
		fail "$what (exit $rc, stdout '$(cat "$T/bad.out")', stderr '$(cat "$T/bad.err")')"
	fi
}
bad "an unknown workspace" nosuch
bad "a known and an unknown one" lab1 nosuch
bad "another user's workspace" bob1
bad "--jupyter-port 0" --jupyter-port 0
bad "--jupyter-port 65536" --jupyter-port 65536
bad "--jupyter-port abc" --jupyter-port abc
bad "--jupyter-port -1" --jupyter-port -1
bad "--jupyter-port 65535 for two workspaces" --jupyter-port 65535 lab1 lab1
bad "--known-hosts with --write" --known-hosts --write "$T/x"

# wsctl ssh (same pinning, on the server) still works.
got=$(as $A "$WSCTL" ssh lab1 -- id -u </dev/null 2>&1)
expect_eq "wsctl ssh still runs a command" "$got" "$UID_A"

as $A "$WSCTL" stop lab1 >/dev/null
as $B "$WSCTL" stop bob1 >/dev/null
finish
