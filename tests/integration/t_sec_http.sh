#!/bin/bash
# The connection layer under abuse (security review, round two): a
# half-closed client still gets its deferred answers; a client that does
# not read its replies holds a bounded amount of wsd's memory.
# SECTIONS="..." runs some of the sections only.
. "$(dirname "$0")/lib.sh"
PORT_BASE=23600
setup_all
PROBE=$BUILD/tests/sockprobe
SECTIONS=${SECTIONS:-"half_close output_cap"}
A=wslab-ta
make_user $A
# ASan's quarantine of freed memory is kept small, so that VmRSS measures
# what wsd holds.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
start_wsd "request_timeout = 3s"

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

for s in $SECTIONS; do
	log "section $s"
	$s
done
finish
