#!/bin/sh
# Install what wslab needs from Debian's packages, and make sure a Docker
# engine answers (installing docker.io and starting dockerd when none does).
# Idempotent: does nothing that is already done. Run as root.
set -eu

BUILD_DEPS="build-essential cmake pkg-config libuv1-dev libcurl4-openssl-dev libjansson-dev
 libssh-dev libssl-dev libpam0g-dev libhttp-parser-dev libsqlite3-dev check clang-format clang libclang-rt-14-dev"
# prometheus: promtool and the server that t_metrics scrapes wsd with (the
# package also enables its own service on :9090 where systemd runs).
RUN_DEPS="ca-certificates mmdebstrap openssh-client curl jq bc valgrind sqlite3 python3 acl
 prometheus"
# Tests only: t_ssh_config runs a private sshd as the lab server (jump host);
# t_idle drives Jupyter kernels over their websocket; t_web drives headless
# Chromium over the DevTools protocol (the same python3-websocket).
TEST_DEPS="openssh-server rsync python3-websocket chromium openssl"

missing=
for p in $BUILD_DEPS $RUN_DEPS $TEST_DEPS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
engine_ok() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }
if ! engine_ok && ! command -v dockerd >/dev/null 2>&1; then
	missing="$missing docker.io"
fi
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! engine_ok; then
	echo "deps: starting the Docker engine"
	if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
		:
	else
		(setsid dockerd >/var/log/dockerd.log 2>&1 &)
	fi
	i=0
	until engine_ok; do
		i=$((i + 1))
		[ $i -lt 60 ] || { echo "deps: dockerd did not answer; see /var/log/dockerd.log" >&2; exit 1; }
		sleep 1
	done
fi
echo "deps: ok (engine $(docker version -f '{{.Server.Version}}' 2>/dev/null))"
