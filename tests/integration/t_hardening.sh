#!/bin/bash
# The systemd unit's hardening does not take from wsd what it needs: wsd
# run with exactly the unit's CapabilityBoundingSet and no_new_privs (as
# NoNewPrivileges=yes gives it) makes a new user's home, stages a user
# mount checked as the user (setfsuid), starts, answers and stops a
# workspace, and reloads. The unit passes systemd-analyze verify's syntax
# checks and keeps an exposure score of at most 5.5.
. "$(dirname "$0")/lib.sh"
PORT_BASE=26200
setup_all
command -v setpriv >/dev/null || { echo "setpriv (util-linux) missing" >&2; exit 1; }
UNIT=$SRC/deploy/wsd.service
A=wslab-hda
make_user $A

caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] && pass "the unit sets a capability bounding set ($caps)" || fail "no CapabilityBoundingSet"
grep -qx 'NoNewPrivileges=yes' "$UNIT" && pass "the unit sets NoNewPrivileges" || fail "no NoNewPrivileges"
bset=-all
for c in $caps; do
	c=${c#CAP_}
	bset="$bset,+${c,,}"
done

T=$(mktemp -d /tmp/wslab-it.XXXXXX)
chmod 755 "$T"
install -d -m 755 "$T/roots"
install -d -o $A -g "$(id -g $A)" -m 755 "$T/roots/$A" "$T/roots/$A/proj"
echo data >"$T/roots/$A/proj/f.txt"
chown $A "$T/roots/$A/proj/f.txt"
WSD_WRAPPER="setpriv --bounding-set $bset --inh-caps -all --no-new-privs --" \
	start_wsd "mount_roots = $T/roots
mount_points = /data"
expect_eq "wsd runs with no_new_privs" "$(awk '/^NoNewPrivs/ {print $2}' /proc/$WSD_PID/status)" 1
want=$(setpriv --bounding-set "$bset" --inh-caps -all -- awk '/^CapBnd/ {print $2}' /proc/self/status)
expect_eq "and exactly the unit's bounding set" "$(awk '/^CapBnd/ {print $2}' /proc/$WSD_PID/status)" "$want"

out=$(as $A "$WSCTL" start --name h1 --mount "$T/roots/$A/proj:/data/proj" --json 2>"$T/h1.err")
expect_eq "a first start with a user mount is ready" "$(jq -r .state <<<"$out" 2>/dev/null)" ready
[ -s "$T/h1.err" ] && log "wsctl: $(cat "$T/h1.err")"
home=$T/home/$A
expect_eq "the new home belongs to its user" "$(stat -c %U "$home" 2>/dev/null)" $A
got=$(as $A "$WSCTL" ssh h1 -- "cat /data/proj/f.txt && touch ~/made" </dev/null 2>&1)
expect_eq "the staged mount is there, over ssh" "$got" data
expect_eq "what the user makes in the home is the user's" "$(stat -c %U "$home/made" 2>/dev/null)" $A
code=$(curl -s -o /dev/null -w '%{http_code}' "$(jq -r .jupyter_url <<<"$out")")
expect_eq "Jupyter answers" "$code" 200
install -d -m 700 "$T/roots/secret"
r=$(as $A "$WSCTL" start --name h2 --mount "$T/roots/secret:/data/s" 2>&1) && fail "a mount the user cannot read was accepted"
expect_match "a mount the user may not read is still refused (checked as the user)" "$r" 'is not yours'
kill -HUP "$WSD_PID"
for _ in $(seq 1 50); do grep -q 'reload 1 of' "$T/wsd.log" && break; sleep 0.1; done
expect_match "a reload works under the hardening" "$(grep 'reload 1 of' "$T/wsd.log")" 'changed: none'
as $A "$WSCTL" stop h1 >/dev/null || fail "the stop"
expect_eq "the stop leaves no container" "$(wslab_containers)" 0

if systemd-analyze --help 2>/dev/null | grep -q -- '--offline'; then
	cp "$UNIT" "$T/wsd.service"
	score=$(systemd-analyze security --offline=true "$T/wsd.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for wsd.service: \([0-9.]*\).*/\1/p')
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 5.5) }' &&
		pass "systemd-analyze security: exposure $score" || fail "exposure score $score (above 5.5)"
	bad=$(systemd-analyze verify "$T/wsd.service" 2>&1 | grep -vE 'is not executable|man wsd|Command .man ' || true)
	expect_eq "systemd-analyze verify finds nothing else wrong" "$bad" ""
else
	log "systemd-analyze has no --offline: the score is not checked"
fi
finish
