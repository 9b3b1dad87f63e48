#!/bin/bash
# Prometheus metrics: GET /metrics on the socket is for root and admins
# and passes promtool's lint; metrics_listen serves GET /metrics and
# nothing else; a real Prometheus scraping it every second sees a start
# (ready 1, a start-duration observation), a quota refusal (the counter
# moves by exactly one) and a stop (ready 0).
. "$(dirname "$0")/lib.sh"
PORT_BASE=25600
INSTANCE=tmetrics$$
setup_all
for tool in prometheus promtool; do
	command -v $tool >/dev/null || { echo "missing $tool (Debian's prometheus)" >&2; exit 1; }
done
A=wslab-mta
make_user $A
MPORT=$((PORT_BASE + 190)) # wsd's metrics_listen
PPORT=$((PORT_BASE + 191)) # Prometheus's own
PROM_PID=
stop_prom() {
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
		PROM_PID=
	fi
}
trap 'stop_prom; cleanup' INT TERM
trap 'stop_prom' EXIT

# Fake GPUs. A start with a GPU needs the fake hook on the engine's PATH:
# when the engine has it, the shared inventory (which the hook reads) is
# used; when not, a private one, and the GPU start is skipped: this test
# never restarts the engine.
T=$(mktemp -d /tmp/wslab-it.XXXXXX)
G0=GPU-0a0a0a0a-0000-4000-8000-00000000aa00
G1=GPU-1b1b1b1b-0000-4000-8000-00000000aa01
INV=$(printf 'gpu %s NVIDIA-H100 00000000:18:00.0 81559 1024 37\ngpu %s NVIDIA-H100 00000000:2a:00.0 81559 0 0' $G0 $G1)
pid=$(dockerd_pid)
if [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/environ" | grep -q "^PATH=$GPU_DIR:"; then
	GPU_START=1
	fake_gpus "$INV"
else
	GPU_START=0
	log "the engine has no fake GPU hook on its PATH: the GPU start is skipped"
	GPU_DIR=$T/gpu
	mkdir -p "$GPU_DIR"
	printf '%s\n' "$INV" >"$GPU_DIR/inventory"
fi
# Workspaces take ports below PORT_BASE + 100; the two listeners are above.
start_wsd "port_max = $((PORT_BASE + 99))
metrics_listen = 127.0.0.1:$MPORT
nvml_library = $FAKE_NVML
gpu_refresh = 1s"

# --- the socket: root reads, promtool finds nothing to say ---
curl -s --unix-socket "$T/wsd.sock" http://wsd/metrics >"$T/metrics.txt"
lint=$(promtool check metrics <"$T/metrics.txt" 2>&1)
rc=$?
expect_eq "promtool check metrics passes GET /metrics (root, socket)" "$rc" 0
expect_eq "and prints nothing (no lint problems)" "$lint" ""
expect_match "HELP and TYPE lines" "$(grep -c '^# TYPE wslab_' "$T/metrics.txt")" '^1[0-9]$'
expect_match "GPUs by state: 2 free" "$(cat "$T/metrics.txt")" 'wslab_gpus\{state="free"\} 2'
expect_match "per-GPU utilisation by UUID, as a ratio" "$(cat "$T/metrics.txt")" \
	"wslab_gpu_utilization_ratio\\{gpu=\"$G0\",workspace=\"\"\\} 0.37"
out=$(api $A GET /metrics)
expect_eq "a user who is not an admin gets 403 on the socket" "$(echo "$out" | tail -n1)" 403

# --- metrics_listen: GET /metrics, and 404 for everything else ---
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "metrics_listen serves GET /metrics" "$(code "http://127.0.0.1:$MPORT/metrics")" 200
expect_match "as Prometheus's text format" \
	"$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$MPORT/metrics")" '^text/plain; version=0.0.4'
bad=""
for req in "GET /v1/info" "GET /v1/workspaces" "GET /metrics/" "GET /" "POST /metrics" \
	"DELETE /v1/workspaces/x" "GET /v1/admin/quotas" "GET /metricsx"; do
	set -- $req
	c=$(code -X "$1" "http://127.0.0.1:$MPORT$2")
	[ "$c" = 404 ] || bad="$bad $req=$c"
done
expect_eq "every other method or path on metrics_listen answers 404" "$bad" ""

# --- a real Prometheus scraping metrics_listen every second ---
mkdir -p "$T/prom"
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: wsd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
PROM_PID=$!

# q QUERY: the first sample's value ("" when none).
q() {
	curl -s --max-time 5 --get --data-urlencode "query=$1" \
		"http://127.0.0.1:$PPORT/api/v1/query" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
# wait_q DESCRIPTION QUERY WANT: poll until a scrape shows it (at most 30 s).
wait_q() {
	local got=""
	for _ in $(seq 1 150); do
		got=$(q "$2")
		[ "$got" = "$3" ] && break
		sleep 0.2
	done
	expect_eq "$1" "$got" "$3"
}

wait_q "Prometheus scrapes metrics_listen (up)" 'up{job="wsd"}' 1
wait_q "no refusal yet" 'wslab_quota_refusals_total{limit="workspaces"}' 0
wait_q "no workspace ready" 'wslab_workspaces{state="ready"}' 0
wait_q "GPUs free, as seen by Prometheus" 'wslab_gpus{state="free"}' 2
starts0=$(q 'sum(wslab_workspace_start_duration_seconds_count) or vector(0)')

"$WSCTL" --socket "$T/wsd.sock" admin quota set --user $A --workspaces 1 >/dev/null || fail "a quota"
as $A "$WSCTL" start --name m1 >"$T/start1.out" 2>&1 || { fail "a start"; cat "$T/start1.out"; }
wait_q "one workspace ready after a start" 'wslab_workspaces{state="ready"}' 1
wait_q "the start-duration histogram counted it (ready, template offline)" \
	'sum(wslab_workspace_start_duration_seconds_count{template="offline",outcome="ready"})' $((starts0 + 1))
wait_q "its phases were timed (waiting)" 'wslab_workspace_phase_duration_seconds_count{phase="waiting"}' 1
wait_q "engine creates were timed" 'wslab_engine_request_duration_seconds_count{operation="create"}' 1

if as $A "$WSCTL" start --name m2 >"$T/start2.out" 2>&1; then
	fail "a start over the workspace quota was accepted"
else
	pass "a start over the workspace quota is refused"
fi
wait_q "the refusal counter moved by exactly one" 'wslab_quota_refusals_total{limit="workspaces"}' 1
wait_q "and no other limit's" 'sum(wslab_quota_refusals_total)' 1
wait_q "the refused start is a 403 of route pattern POST /v1/workspaces" \
	'wslab_http_requests_total{method="POST",route="/v1/workspaces",status="403"}' 1
# wsctl streams its start's progress: a 200 (201 without the stream).
wait_q "the accepted one a 200 or 201" \
	'sum(wslab_http_requests_total{method="POST",route="/v1/workspaces",status=~"200|201"})' 1

as $A "$WSCTL" stop m1 >/dev/null 2>&1 || fail "the stop"
wait_q "no workspace ready after the stop" 'wslab_workspaces{state="ready"}' 0
wait_q "the stop is counted by its route pattern, not its path" \
	'sum(wslab_http_requests_total{method="DELETE",route="/v1/workspaces/*",status="200"})' 1
expect_eq "no raw path becomes a label value" "$(q 'count(wslab_http_requests_total{route=~".*m1.*"}) or vector(0)')" 0
wait_q "the refusal counter still reads one" 'wslab_quota_refusals_total{limit="workspaces"}' 1
if [ "$GPU_START" = 1 ]; then
	as $A "$WSCTL" start --name g1 --gpus 1 >"$T/start3.out" 2>&1 || { fail "a start with a GPU"; cat "$T/start3.out"; }
	id=$(api $A GET /v1/workspaces/g1 | head -n1 | jq -r .id)
	wait_q "a GPU held while it runs" 'wslab_gpus{state="held"}' 1
	wait_q "its GPU's gauges carry its workspace id" "count(wslab_gpu_memory_used_bytes{workspace=\"$id\"})" 1
	sleep 1.5
	as $A "$WSCTL" stop g1 >/dev/null 2>&1 || fail "the GPU workspace's stop"
	wait_q "no GPU held after its stop" 'wslab_gpus{state="held"}' 0
	expect_match "its owner's GPU-seconds counter rose by about its time ready" \
		"$(q "wslab_gpu_usage_seconds_total{user=\"$A\"}")" '^([1-9]|[1-9][0-9])(\.[0-9]+)?$'
fi
expect_match "the loop's lag is measured" "$(q 'wslab_event_loop_lag_seconds_count')" '^[1-9][0-9]*$'
expect_match "store transactions are timed" "$(q 'wslab_store_transaction_duration_seconds_count{result="ok"}')" '^[1-9][0-9]*$'

# Once more through promtool, now that every kind of series has values.
lint=$(curl -s --unix-socket "$T/wsd.sock" http://wsd/metrics | promtool check metrics 2>&1)
rc=$?
expect_eq "promtool still finds nothing after starts, refusals and stops" "$rc:$lint" "0:"
stop_prom
finish
