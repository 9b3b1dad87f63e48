#!/bin/bash
# Connection abuse: a client that never finishes its request is cut off
# with 408; connections above max_connections get 503 at once; 200 clients
# hammering list and show while starts run all succeed; afterwards wsd's
# open descriptors are back at their baseline.
. "$(dirname "$0")/lib.sh"
PORT_BASE=23200
setup_all
PROBE=$BUILD/tests/sockprobe
U=(wslab-ta wslab-tb)
for u in "${U[@]}"; do make_user "$u"; done
start_wsd "request_timeout = 2s
max_connections = 40"
fds() { ls /proc/"$WSD_PID"/fd | wc -l; }
sleep 0.5
base=$(fds)

# Slowloris: half a request, then silence.
read -r code ms <<<"$($PROBE slow "$T/wsd.sock" 10)"
expect_eq "a request that never completes gets 408" "$code" 408
[ "$ms" -ge 1500 ] && [ "$ms" -le 5000 ] && pass "cut off after request_timeout (${ms} ms)" || fail "cut off after request_timeout (${ms} ms)"

# The cap: 50 idle connections against max_connections = 40.
refused=$($PROBE hold "$T/wsd.sock" 50 1)
expect_eq "connections above the cap are refused with 503" "$refused" 10
r=$(api ${U[0]} GET /v1/workspaces)
expect_eq "served again once they are gone" "$(echo "$r" | tail -1)" 200

# 200 clients (5 requests each) while two workspaces start.
stop_wsd
sed -i -e 's/^max_connections = 40/max_connections = 512/' -e 's/^request_timeout = 2s/request_timeout = 10s/' "$T/wsd.conf"
# 100 clients of each user at once: more than a user may hold by default.
sed -i -e 's/^max_connections = 512/&\nmax_connections_per_user = 256/' "$T/wsd.conf"
FAKE_NVML_INVENTORY=$GPU_DIR/inventory "$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
WSD_PID=$!
for _ in $(seq 1 100); do [ -S "$T/wsd.sock" ] && curl -s --unix-socket "$T/wsd.sock" http://w/v1/info >/dev/null && break; sleep 0.1; done
# Warm-up of the same shape: curl keeps engine connections alive for reuse,
# and those belong to the baseline.
for u in "${U[@]}"; do as "$u" "$WSCTL" start --name warm >/dev/null & done
wait_starts() { for u in "${U[@]}"; do for _ in $(seq 1 300); do
	[ "$(as "$u" "$WSCTL" show "$1" --json 2>/dev/null | jq -r .state)" = ready ] && break; sleep 0.1; done; done; }
wait_starts warm
for u in "${U[@]}"; do as "$u" "$WSCTL" stop warm >/dev/null; done
sleep 0.5
base=$(fds)
ls -l /proc/"$WSD_PID"/fd | awk '{print $NF}' | sort >"$T/fds.base"
spids=()
for u in "${U[@]}"; do
	as "$u" "$WSCTL" start --name busy >/dev/null 2>"$T/start.$u.err" &
	spids+=($!)
done
# One process per user drives its 100 clients (a process per request would
# load a small machine more than wsd and the engine together).
bpids=()
for u in "${U[@]}"; do
	as "$u" "$PROBE" burst "$T/wsd.sock" 100 5 /v1/workspaces /v1/workspaces/busy >"$T/burst.$u" &
	bpids+=($!)
done
wait "${bpids[@]}"
wait "${spids[@]}"
cat "$T"/burst.*
good=$(awk '($1 == "/v1/workspaces" && $2 == 200) || ($1 == "/v1/workspaces/busy" && ($2 == 200 || $2 == 404)) {s += $3} END {print s + 0}' "$T"/burst.*)
expect_eq "200 clients x 10 requests during starts: all answered" "$good" 2000
for u in "${U[@]}"; do
	expect_eq "$u's start during the load succeeded" "$(as "$u" "$WSCTL" show busy --json | jq -r .state)" ready
	as "$u" "$WSCTL" stop busy >/dev/null
done
# Cached engine connections come and go (curl keeps a few idle ones for
# reuse, up to 2 more than at the baseline); a leak of the 200 clients'
# connections would add hundreds.
for _ in $(seq 1 50); do
	after=$(fds)
	[ "$after" -le "$base" ] && break
	sleep 0.1
done
[ "$after" -gt "$base" ] &&
	log "descriptors beyond the baseline: $(ls -l /proc/"$WSD_PID"/fd | awk '{print $NF}' | sort |
		diff "$T/fds.base" - | grep '^[<>]' | tr '\n' ' ')"
if [ "$after" -le $((base + 2)) ]; then
	pass "wsd's open descriptors back at their baseline ($after, baseline $base)"
else
	fail "wsd's open descriptors back at their baseline ($after > $base + 2)"
fi
finish
