#!/bin/bash
# Faults of the engine itself. Frozen (SIGSTOP) during a start: the student
# gets a clear error within engine_timeout, and once the engine thaws no
# container, directory or port is left behind. Killed and restarted while
# a workspace runs: wsd notices, refuses starts meanwhile, reconciles when
# the engine is back (the stopped workspace is removed, its home kept), and
# serves again. Every invariant is checked by name.
. "$(dirname "$0")/lib.sh"
PORT_BASE=23400
setup_all
A=wslab-ta
make_user $A
start_wsd "engine_timeout = 3s"

settle() { # wait until no wslab container and no workspace directory remain
	for _ in $(seq 1 100); do
		[ "$(wslab_containers)" = 0 ] && [ "$(ls "$T/state/workspaces" 2>/dev/null | wc -l)" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# 1. Frozen engine during a start.
pid=$(dockerd_pid)
kill -STOP "$pid"
t0=$(date +%s)
err=$(as $A "$WSCTL" start --name frozen 2>&1 >/dev/null)
rc=$?
t1=$(date +%s)
kill -CONT "$pid"
expect_eq "frozen engine: the start fails" "$rc" 1
expect_match "frozen engine: the error names the engine" "$err" "engine"
[ $((t1 - t0)) -le 10 ] && pass "frozen engine: answered within $((t1 - t0)) s" || fail "frozen engine: answered after $((t1 - t0)) s"
check "frozen engine: no orphan container or directory after the thaw" settle
out=$(as $A "$WSCTL" start --name after-thaw --json)
expect_eq "frozen engine: wsd serves starts again" "$(echo "$out" | jq -r .state)" ready
as $A "$WSCTL" ssh after-thaw -- 'echo survived > ~/engine.txt' </dev/null
jp=$(echo "$out" | jq -r .jupyter_port)

# 2. The engine killed and restarted while a workspace runs.
engine_restart
for _ in $(seq 1 100); do
	[ "$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" = 0 ] && break
	sleep 0.2
done
expect_eq "engine restart: the stopped workspace is no longer listed" "$(as $A "$WSCTL" ls --json | jq '.workspaces | length')" 0
check "engine restart: no container or directory left" settle
expect_eq "engine restart: the home is intact" "$(cat "$T/home/$A/engine.txt" 2>/dev/null)" survived
for _ in $(seq 1 100); do
	r=$(api $A GET /v1/info)
	[ "$(echo "$r" | head -n -1 | jq -r .engine_ready)" = true ] && break
	sleep 0.2
done
out=$(as $A "$WSCTL" start --name after-restart --json)
expect_eq "engine restart: wsd serves starts again without its own restart" "$(echo "$out" | jq -r .state)" ready
expect_eq "engine restart: the freed port is handed out again" "$(echo "$out" | jq -r .jupyter_port)" "$jp"
as $A "$WSCTL" stop after-restart >/dev/null
grep -q "not usable" "$T/wsd.log" && pass "engine restart: logged" || fail "engine restart: logged"
finish
