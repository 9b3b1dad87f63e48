#!/bin/bash
# Reload on SIGHUP: a template added and a default memory changed apply to
# the next start; running workspaces are untouched (same container, still
# answering, even when their template is dropped, and adopted by a
# restarted wsd all the same); a key read only at start
# keeps its value and is named in the log; a broken file changes nothing
# and says why.
. "$(dirname "$0")/lib.sh"
PORT_BASE=26000
setup_all
A=wslab-rla
make_user $A
start_wsd
CONF=$T/wsd.conf
cp "$CONF" "$T/wsd.conf.orig"

# hup: SIGHUP, then wait until wsd has logged the outcome of one more reload.
hup() {
	local n
	n=$(grep -cE 'reload [0-9]+ of|reload: .*nothing changed' "$T/wsd.log")
	kill -HUP "$WSD_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -cE 'reload [0-9]+ of|reload: .*nothing changed' "$T/wsd.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	fail "no reload logged after SIGHUP"
}
cid() { docker ps -q --no-trunc --filter label=wslab.instance="$INSTANCE" --filter label=wslab.name="$1"; }
mem() { docker inspect -f '{{.HostConfig.Memory}}' "$(cid "$1")"; }

as $A "$WSCTL" start --name one --json >"$T/one.json" || fail "the first start"
one=$(cid one)
expect_eq "before the reload a start gets the template's 1g" "$(mem one)" $((1 << 30))

# The default memory changes, a template is added, ready_timeout changes
# (takes effect), port_min changes (read at start only: kept).
sed -e 's/^memory = 1g$/memory = 768m/' -e "s/^port_min = .*/port_min = $((PORT_BASE + 100))/" \
	-e 's/^ready_timeout = .*/ready_timeout = 90s/' -e 's/^quota_workspaces = .*/quota_workspaces = 3/' \
	"$T/wsd.conf.orig" >"$CONF"
printf '[template second]\nimage = %s\ndescription = added by a reload\nmemory = 512m\n' "$IMAGE" >>"$CONF"
hup
expect_match "the log says what changed" "$(grep 'reload 1 of' "$T/wsd.log")" \
	'changed: ready_timeout, quota_workspaces; templates: 2 \(1 added, 0 removed, 1 changed\)'
expect_match "a key read only at start is named and kept" \
	"$(grep 'take effect only when wsd restarts' "$T/wsd.log")" 'port_min changed'
kill -0 "$WSD_PID" 2>/dev/null && pass "wsd is still running after SIGHUP" || fail "wsd died on SIGHUP"
expect_eq "the new template is offered" \
	"$(as $A "$WSCTL" templates --json | jq -r '[.templates[].name] | join(",")')" "offline,second"

as $A "$WSCTL" start --name two --json >"$T/two.json" || fail "a start after the reload"
expect_eq "the next start gets the new default memory" "$(mem two)" $((768 << 20))
as $A "$WSCTL" start --name three --template second --json >"$T/three.json" ||
	fail "a start of the added template"
expect_eq "the added template's start has its memory" "$(mem three)" $((512 << 20))
r=$(as $A "$WSCTL" start --name four 2>&1) && fail "a fourth start passed the reloaded quota"
expect_match "the new default quota applies: a fourth start is refused" "$r" 'workspaces.*3'
port=$(jq -r .jupyter_port "$T/three.json")
[ "$port" -lt $((PORT_BASE + 100)) ] && pass "port_min kept its value (port $port)" ||
	fail "port_min changed at runtime (port $port)"

expect_eq "the running workspace is untouched: same container" "$(cid one)" "$one"
expect_eq "with its old memory" "$(mem one)" $((1 << 30))
expect_eq "and still ready" "$(as $A "$WSCTL" show one --json | jq -r .state)" ready
code=$(curl -s -o /dev/null -w '%{http_code}' "$(jq -r .jupyter_url "$T/one.json")")
expect_eq "its Jupyter still answers with its token" "$code" 200

# A broken file: nothing changes, the log says why.
cp "$CONF" "$T/wsd.conf.good"
printf "bogus_key = 1\n" >>"$CONF"
hup
expect_match "a broken file is refused with its line" \
	"$(grep 'reload: ' "$T/wsd.log" | grep 'nothing changed' | tail -1)" 'line [0-9]+: unknown keyword "bogus_key"'
expect_eq "and changes nothing: the templates stay" \
	"$(as $A "$WSCTL" templates --json | jq -r '[.templates[] | "\(.name):\(.memory)"] | join(",")')" \
	"offline:$((768 << 20)),second:$((512 << 20))"
printf '[template third]\nmemory = 1g\n' >"$CONF.bad"
cat "$T/wsd.conf.good" "$CONF.bad" >"$CONF"
hup
expect_match "a template without an image is refused too" \
	"$(grep 'reload: ' "$T/wsd.log" | tail -1)" 'template third: image is required; nothing changed'

# The added template is dropped again: its running workspace stays.
cp "$T/wsd.conf.orig" "$CONF"
hup
expect_match "dropping a template is a reload like any other" "$(grep 'reload 2 of' "$T/wsd.log")" \
	'1 removed'
r=$(as $A "$WSCTL" start --name four --template second 2>&1) && fail "a dropped template started"
expect_match "a start of the dropped template is refused" "$r" 'template.*second'

expect_eq "the workspace of the dropped template runs on, untouched" \
	"$(as $A "$WSCTL" show three --json | jq -r '"\(.state) \(.template)"')" "ready second"
expect_eq "its container is the same" "$(cid three)" "$(jq -r .container_id "$T/three.json")"
# A restart with the template still gone: its workspace is adopted, not removed.
stop_wsd
start_wsd
for _ in $(seq 1 100); do
	[ "$(as $A "$WSCTL" show three --json 2>/dev/null | jq -r .state)" = ready ] && break
	sleep 0.1
done
expect_eq "after a restart the workspace of the dropped template is adopted, untouched" \
	"$(as $A "$WSCTL" show three --json | jq -r '"\(.state) \(.template) \(.container_id)"')" \
	"ready second $(jq -r .container_id "$T/three.json")"
expect_eq "with its URL as it was" "$(as $A "$WSCTL" show three --json | jq -r .jupyter_url)" \
	"$(jq -r .jupyter_url "$T/three.json")"
for w in one two three; do as $A "$WSCTL" stop $w >/dev/null || fail "stop $w"; done
expect_eq "every container is gone after the stops" "$(wslab_containers)" 0
finish
