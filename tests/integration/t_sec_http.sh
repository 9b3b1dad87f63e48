#!/bin/bash
# The connection layer under abuse (security review, round two): a
# half-closed client still gets its deferred answers; a client that does
# not read its replies holds a bounded amount of wsd's memory; one user
# cannot take every connection, nor keep others out with many; a group
# entry too large for a lookup buffer is read in full, or the request
# refused, never served with fewer groups; admin rights are those of the
# moment, not of the connection's start.
# SECTIONS="..." runs some of the sections only.
. "$(dirname "$0")/lib.sh"
PORT_BASE=25400
setup_all
PROBE=$BUILD/tests/sockprobe
SECTIONS=${SECTIONS:-"half_close output_cap per_user eviction keepalive in_flight admin_revoked big_group"}
A=wslab-ta
B=wslab-tb
C=wslab-tc
for u in $A $B $C; do make_user $u; done
# ASan's quarantine of freed memory is kept small, so that VmRSS measures
# what wsd holds.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
start_wsd "request_timeout = 3s"

# restart_wsd [GLOBAL LINES]: a fresh wsd with these (and otherwise defaults).
restart_wsd() {
	stop_wsd
	start_wsd "${1-}"
}

rss_kb() { awk "/^$1:/ {print \$2}" /proc/"$WSD_PID"/status; }

# One connection pipelining 50 MiB of GET /v1/workspaces and reading
# nothing: wsd stops reading it once its unread replies pass the cap,
# serves everyone else meanwhile, and hangs up on it request_timeout
# after its replies stopped being taken. Its peak memory (VmHWM, reset
# before) stays within 64 MiB of where it was.
output_cap() {
	local base peak=0 now probe other=none i sent secs state
	base=$(rss_kb VmRSS)
	echo 5 >/proc/"$WSD_PID"/clear_refs # VmHWM := VmRSS
	as $A "$PROBE" pipeline "$T/wsd.sock" 50 >"$T/pipeline.out" &
	probe=$!
	for i in $(seq 1 300); do
		now=$(rss_kb VmRSS)
		[ "$now" -gt "$peak" ] && peak=$now
		# A runaway is stopped before it takes the machine.
		if [ $((now - base)) -gt $((512 * 1024)) ]; then
			kill "$probe"
			break
		fi
		[ "$i" = 10 ] && other=$(api $A GET /v1/info | tail -1)
		kill -0 "$probe" 2>/dev/null || break
		sleep 0.1
	done
	wait "$probe"
	read -r sent secs state <"$T/pipeline.out"
	now=$(rss_kb VmHWM)
	[ "$now" -gt "$peak" ] && peak=$now
	log "pipelining client: ${sent} MiB sent in ${secs} s, then $state; wsd VmRSS ${base} kB before, peak ${peak} kB"
	if [ $((peak - base)) -lt $((64 * 1024)) ]; then
		pass "wsd's memory stays bounded under 50 MiB of unread pipelined requests (+$(((peak - base) / 1024)) MiB)"
	else
		fail "wsd's memory stays bounded under 50 MiB of unread pipelined requests (+$(((peak - base) / 1024)) MiB)"
	fi
	expect_eq "another client is served meanwhile" "$other" 200
	expect_eq "wsd hangs up on the client that does not read" "$state" closed
	expect_eq "served again afterwards" "$(api $A GET /v1/workspaces | tail -1)" 200
}

# A half-closed client (shutdown(SHUT_WR) after its requests) gets every
# answer, the deferred ones too: the audit log is read on the store's
# thread and answered a round trip later.
half_close() {
	local r
	r=$($PROBE steps "$T/wsd.sock" send:/v1/admin/audit shut read read | tr '\n' ' ')
	expect_eq "half-closed: the deferred audit reply arrives whole, then EOF" "$r" "200 eof "
	r=$($PROBE steps "$T/wsd.sock" send:/v1/info shut read read | tr '\n' ' ')
	expect_eq "half-closed: an immediate reply arrives whole, then EOF" "$r" "200 eof "
	r=$($PROBE steps "$T/wsd.sock" send:/v1/admin/audit send:/v1/info send:/v1/admin/audit shut \
		read read read read | tr '\n' ' ')
	expect_eq "half-closed after three pipelined requests: three replies in order, then EOF" \
		"$r" "200 200 200 eof "
}

# keep_result FILE: "SERVED REFUSED CLOSED" of a sockprobe keep; REFUSAL: its first refusal.
keep_result() {
	read -r SERVED REFUSED CLOSED <"$1"
	REFUSAL=$(sed -n 2p "$1")
}

# A refusal names nobody else: not the other user, not their uid.
says_nothing_of() {
	local u=$1 text=$2
	! printf '%s' "$text" | grep -qE -- "$u|\b$(id -u "$u")\b"
}

# One user holding 600 connections (default limits: 512 in all, 64 per
# user), each asking every 3 s: they get 64, the rest is refused at once
# with 429, and another user is served meanwhile.
per_user() {
	local b1 b2 pa
	restart_wsd
	as $A "$PROBE" keep "$T/wsd.sock" 600 12 >"$T/keep.A" &
	pa=$!
	sleep 6
	b1=$(api $B GET /v1/info | tail -1)
	b2=$(api $B GET /v1/workspaces | tail -1)
	wait $pa
	keep_result "$T/keep.A"
	log "$A with 600 connections: $SERVED served, $REFUSED refused, $CLOSED closed; refusal: $REFUSAL"
	expect_eq "another user is served while one holds 600 connections (info)" "$b1" 200
	expect_eq "another user is served while one holds 600 connections (list)" "$b2" 200
	expect_eq "one user gets max_connections_per_user (64) connections" "$SERVED" 64
	expect_eq "the rest are refused" "$REFUSED" 536
	expect_eq "the served ones stay served" "$CLOSED" 0
	expect_match "the refusal is 429 too_many_connections" "$REFUSAL" '^429 .*too_many_connections'
	check "the refusal names no other user" says_nothing_of $B "$REFUSAL"
}

# All connections taken (max_connections = 100) by two users holding 64
# each: they end up sharing, and a third user still gets one: the idle
# connection of the user holding the most is closed for them.
eviction() {
	local c1 pa pb
	restart_wsd "max_connections = 100"
	as $A "$PROBE" keep "$T/wsd.sock" 64 14 >"$T/keep.A" &
	pa=$!
	sleep 3
	as $B "$PROBE" keep "$T/wsd.sock" 64 10 >"$T/keep.B" &
	pb=$!
	sleep 5
	c1=$(api $C GET /v1/info | tail -1)
	wait $pa $pb
	keep_result "$T/keep.A"
	# Closed before or after its first answer: both are evictions.
	log "$A: $SERVED served, $REFUSED refused, $CLOSED closed"
	local a_closed=$((REFUSED + CLOSED))
	keep_result "$T/keep.B"
	log "$B: $SERVED served, $REFUSED refused, $CLOSED closed; refusal: $REFUSAL"
	expect_eq "a third user is served when all connections are taken" "$c1" 200
	[ "$a_closed" -ge 14 ] && pass "the user holding the most lost idle connections ($a_closed)" ||
		fail "the user holding the most lost idle connections ($a_closed)"
	[ "$SERVED" -ge 45 ] && pass "the second user got a fair share ($SERVED of 100)" ||
		fail "the second user got a fair share ($SERVED of 100)"
	expect_match "a refusal at the cap is 503" "$REFUSAL" '^503 .*too_many_connections'
	check "the refusal names no other user" says_nothing_of $A "$REFUSAL"
}

# A connection idle between requests closes after keepalive_timeout; one
# asking more often stays open.
keepalive() {
	local r
	restart_wsd "keepalive_timeout = 2s"
	r=$($PROBE steps "$T/wsd.sock" get:/v1/info sleep:1500 get:/v1/info sleep:1500 get:/v1/info \
		sleep:3000 read | tr '\n' ' ')
	expect_eq "requests 1.5 s apart keep the connection; idle 3 s closes it" "$r" "200 200 200 eof "
}

# max_requests_per_user = 1: while a start is with wsd, the same user's
# next request is refused with 429; another user is served.
in_flight() {
	local spid r b i
	restart_wsd "max_requests_per_user = 1"
	as $A "$WSCTL" start --name flight >/dev/null 2>"$T/flight.err" &
	spid=$!
	r=none
	for i in $(seq 1 50); do
		r=$(api $A GET /v1/info | tail -1)
		[ "$r" = 429 ] && break
		sleep 0.1
	done
	b=$(api $B GET /v1/info | tail -1)
	wait "$spid"
	expect_eq "a second request while one is in flight is refused (429)" "$r" 429
	expect_eq "another user is served meanwhile" "$b" 200
	expect_eq "the start in flight succeeded" "$(as $A "$WSCTL" show flight --json | jq -r .state)" ready
	expect_eq "served again once it is answered" "$(api $A GET /v1/info | tail -1)" 200
	as $A "$WSCTL" stop flight >/dev/null
}

# An admin removed from admin_group (gpasswd -d) is refused 403 on the
# connection it opened as an admin, once wsd's 1 s cache has passed.
admin_revoked() {
	local r i
	getent group $ADM >/dev/null || groupadd $ADM
	usermod -a -G $ADM $C
	restart_wsd "admin_group = $ADM"
	rm -f "$T/revoked"
	as $C "$PROBE" steps "$T/wsd.sock" get:/v1/admin/quotas wait:"$T/revoked" \
		get:/v1/admin/quotas get:/v1/info >"$T/steps.out" &
	for i in $(seq 1 100); do
		[ -s "$T/steps.out" ] && break
		sleep 0.1
	done
	gpasswd -d $C $ADM >/dev/null
	sleep 1.2
	touch "$T/revoked"
	wait $!
	r=$(tr '\n' ' ' <"$T/steps.out")
	expect_eq "admin, removed from the group, then on the same connection: 200, 403; others still 200" \
		"$r" "200 403 200 "
	expect_match "the refusal is audited" "$(api root GET /v1/admin/audit | head -1 | jq -c '.events[-1]')" \
		"\"actor\":\"$C\".*\"result\":\"denied\""
}

# A group entry of 128 KiB (gpasswd's limit is the argument size, so
# tests/biggroup writes the member list) is read in full: its quota, which
# restricts, applies. One of 4.8 MB, past the 4 MiB cap: the member's
# requests are refused with 503 identity_unavailable, not served as if the
# group were not there; others are served.
BIG=wslab-biggrp
ADM=wslab-secadm
big_group() {
	local r len
	getent group $BIG >/dev/null && groupdel $BIG
	# The admin group lies before the big entry: looking it up stops there.
	getent group $ADM >/dev/null || groupadd $ADM
	groupadd $BIG
	trap 'groupdel $BIG; cleanup' INT TERM
	restart_wsd "admin_group = $ADM"
	r=$(api root PUT /v1/admin/quotas/group/$BIG '{"workspaces": 0}')
	expect_eq "a restricting quota for group $BIG" "$(echo "$r" | tail -1)" 200
	len=$("$BUILD/tests/biggroup" $BIG 4000 $A)
	r=$(api $A GET /v1/quota)
	log "entry of $len bytes: $(echo "$r" | head -1 | jq -c '{groups: (.groups | length), from: .from.workspaces}')"
	expect_eq "an entry of $len bytes is read: its quota applies" \
		"$(echo "$r" | head -1 | jq -r '.limits.workspaces, .from.workspaces' | tr '\n' ' ')" "0 group $BIG "
	len=$("$BUILD/tests/biggroup" $BIG 150000 $A)
	r=$(api $A GET /v1/quota)
	expect_eq "an entry of $len bytes (past the cap): the member is refused" \
		"$(echo "$r" | tail -1) $(echo "$r" | head -1 | jq -r .error.code)" "503 identity_unavailable"
	r=$(api root GET /v1/admin/quotas/user/$A)
	expect_eq "an admin shown that member's quota: refused too" \
		"$(echo "$r" | tail -1) $(echo "$r" | head -1 | jq -r .error.code)" "503 identity_unavailable"
	expect_eq "another user is served" "$(api $B GET /v1/quota | tail -1)" 200
	groupdel $BIG
	trap 'cleanup' INT TERM
	expect_eq "the member is served again once the entry is gone" "$(api $A GET /v1/quota | tail -1)" 200
}

for s in $SECTIONS; do
	log "section $s"
	$s
done
finish
