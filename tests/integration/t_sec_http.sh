#!/bin/bash
# The connection layer under abuse (security review, round two): a
# half-closed client still gets its deferred answers.
# SECTIONS="..." runs some of the sections only.
. "$(dirname "$0")/lib.sh"
PORT_BASE=23600
setup_all
PROBE=$BUILD/tests/sockprobe
SECTIONS=${SECTIONS:-"half_close"}
A=wslab-ta
make_user $A
start_wsd "request_timeout = 3s"

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
