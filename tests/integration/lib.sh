# Shared harness of the integration tests. Sourced by each t_*.sh.
#
# Runs as root on a machine with Debian's docker.io: starts dockerd when no
# engine answers, builds the offline image when missing (cached), starts
# wsd with a private config, and creates real Unix users for the test.
# Every check prints PASS or FAIL with the invariant it guards; the test
# exits non-zero when any check failed.

set -u

SRC=${WSLAB_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${WSLAB_BUILD:-$SRC/build}
WSD=$BUILD/server/wsd
WSCTL=$BUILD/client/wsctl
IMAGE=${WSLAB_TEST_IMAGE:-wslab/offline:1}
FAILS=0
T=
WSD_PID=

log() { printf '# %s\n' "$*"; }
pass() { printf 'PASS %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; FAILS=$((FAILS + 1)); }

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (got '$2', want '$3')"; fi
}

# expect_match DESCRIPTION TEXT REGEX
expect_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1 ('$2' !~ /$3/)"; fi
}

finish() {
	cleanup
	if [ "$FAILS" -gt 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "integration tests run as root (they create users and own an engine)" >&2
		exit 1
	fi
}

ensure_engine() {
	if timeout 10 docker info >/dev/null 2>&1; then return 0; fi
	log "no engine answers: starting dockerd"
	start_dockerd
}

# start_dockerd: a dockerd, always with the fake GPU hook on its PATH (as
# fake_gpus wants it, so that harnesses running side by side never leave an
# engine without it); returns once it answers.
start_dockerd() {
	mkdir -p "$GPU_DIR"
	install -m 755 "$SRC/tests/fake/nvidia-container-runtime-hook" "$GPU_DIR/"
	# The engine outlives this test: it must not inherit the test's open
	# files (a lock the caller holds, a pipe a runner waits on).
	( (
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		PATH=$GPU_DIR:$PATH exec setsid dockerd >>/var/log/wslab-test-dockerd.log 2>&1 </dev/null
	) &)
	for _ in $(seq 1 60); do
		if timeout 5 docker info >/dev/null 2>&1; then return 0; fi
		sleep 1
	done
	echo "dockerd did not come up; see /var/log/wslab-test-dockerd.log" >&2
	exit 1
}

ensure_image() {
	if [ "$IMAGE" = wslab/offline:1 ]; then
		"$SRC/templates/offline/build.sh" || { echo "cannot build $IMAGE" >&2; exit 1; }
	fi
	docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "image $IMAGE missing" >&2; exit 1; }
}

# make_user NAME: a real account with a home and an ed25519 key in ~/.ssh.
make_user() {
	local u=$1 home
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
	home=$(getent passwd "$u" | cut -d: -f6)
	if [ ! -f "$home/.ssh/id_ed25519" ]; then
		runuser -u "$u" -- mkdir -p -m 700 "$home/.ssh"
		runuser -u "$u" -- ssh-keygen -q -t ed25519 -N '' -f "$home/.ssh/id_ed25519"
	fi
}

# as USER COMMAND...: run as that user with the test's socket.
as() {
	local u=$1
	shift
	runuser -u "$u" -- env WSCTL_SOCKET="$T/wsd.sock" HOME="$(getent passwd "$u" | cut -d: -f6)" \
		XDG_CACHE_HOME= "$@"
}

# api USER METHOD PATH [BODY]: prints "STATUS BODY" of a raw request.
api() {
	local u=$1 m=$2 p=$3 body=${4-}
	if [ -n "$body" ]; then
		as "$u" curl -s -w '\n%{http_code}' --unix-socket "$T/wsd.sock" \
			-X "$m" -H 'Content-Type: application/json' --data-binary "$body" \
			"http://wsd$p"
	else
		as "$u" curl -s -w '\n%{http_code}' --unix-socket "$T/wsd.sock" \
			-X "$m" "http://wsd$p"
	fi
}

# Port range per test file, so that tests never collide.
PORT_BASE=${PORT_BASE:-22000}
# wsd's instance label for this run: lists, counts and cleanups touch only
# its containers, so test runs side by side on one engine leave each other alone.
INSTANCE=${INSTANCE:-test$$}

# start_wsd [GLOBAL LINES] [TEMPLATE SECTIONS]: a wsd on a private socket and state dir.
start_wsd() {
	T=${T:-$(mktemp -d /tmp/wslab-it.XXXXXX)}
	chmod 755 "$T"
	cat >"$T/wsd.conf" <<CONF
socket = $T/wsd.sock
state_dir = $T/state
home_root = $T/home
port_min = $PORT_BASE
port_max = $((PORT_BASE + 199))
ready_timeout = 60s
stop_timeout = 2s
log_level = debug
instance = $INSTANCE
# Quotas are the business of t_quota; elsewhere they stay out of the way.
quota_gpus = unlimited
quota_workspaces = unlimited
${1-}
[template offline]
image = $IMAGE
memory = 1g
shm = 128m
cpus = 1
${2-}
CONF
	FAKE_NVML_INVENTORY=$GPU_DIR/inventory ${WSD_WRAPPER-} "$WSD" --config "$T/wsd.conf" >>"$T/wsd.log" 2>&1 &
	WSD_PID=$!
	for _ in $(seq 1 300); do
		[ -S "$T/wsd.sock" ] && return 0
		kill -0 "$WSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/wsd.log"
	echo "wsd did not start" >&2
	exit 1
}

# stop_wsd: SIGTERM, then wsd must exit 0 with no sanitizer report.
stop_wsd() {
	local rc
	if [ -n "$WSD_PID" ]; then
		kill "$WSD_PID" 2>/dev/null
		wait "$WSD_PID" 2>/dev/null
		rc=$?
		WSD_PID=
		expect_eq "wsd exits 0 on SIGTERM (no leak, no sanitizer error)" "$rc" 0
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/wsd.log"; then
			fail "sanitizer report in wsd's log"
			grep -A20 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/wsd.log" | head -40
		fi
	fi
}

# Containers of wslab on the engine (all states).
wslab_containers() {
	docker ps -aq --filter label=wslab.instance="$INSTANCE" | wc -l
}

cleanup() {
	stop_wsd
	local ids
	ids=$(docker ps -aq --filter label=wslab.instance="$INSTANCE")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
	if [ -n "$T" ] && [ "$FAILS" -gt 0 ] && [ -f "$T/wsd.log" ]; then
		echo "--- wsd log (last 40 lines) ---"
		tail -n 40 "$T/wsd.log"
	fi
	if [ -n "$T" ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$T"; fi
}

json() { jq -r "$@"; }

# Fake GPUs: the engine runs with the fake nvidia-container-runtime-hook on
# its PATH (restarted once if it does not), and wsd loads the fake NVML.
# fake_gpus INVENTORY-TEXT writes the inventory both of them read.
GPU_DIR=/var/lib/wslab-test/gpu
fake_gpus() {
	local pid
	mkdir -p "$GPU_DIR"
	install -m 755 "$SRC/tests/fake/nvidia-container-runtime-hook" "$GPU_DIR/"
	printf '%s\n' "$1" >"$GPU_DIR/inventory"
	: >"$GPU_DIR/hook.log"
	pid=$(pidof dockerd | cut -d' ' -f1)
	if [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/environ" | grep -q "^PATH=$GPU_DIR:"; then
		return 0
	fi
	log "restarting the engine with the fake GPU hook on its PATH"
	if [ -d /run/systemd/system ] && systemctl is-active -q docker 2>/dev/null; then
		systemctl stop docker.socket docker
	elif [ -n "$pid" ]; then
		kill "$pid"
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	fi
	start_dockerd
}
FAKE_NVML=$BUILD/tests/libnvidia-ml-fake.so

dockerd_pid() { pidof dockerd | cut -d' ' -f1; }

# engine_restart: kill dockerd (its containers stop) and start it again,
# with the fake GPU hook on its PATH as fake_gpus left it.
engine_restart() {
	local pid
	pid=$(dockerd_pid)
	[ -n "$pid" ] && kill "$pid"
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	start_dockerd
}

setup_all() {
	need_root
	for tool in jq curl ssh docker runuser; do
		command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
	done
	ensure_engine
	ensure_image
	[ -x "$WSD" ] && [ -x "$WSCTL" ] || { echo "build first: $WSD, $WSCTL" >&2; exit 1; }
	# Leftovers of an earlier, interrupted run of this instance.
	local ids
	ids=$(docker ps -aq --filter label=wslab.instance="$INSTANCE")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
	trap 'cleanup' INT TERM
}
