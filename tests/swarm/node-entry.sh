#!/bin/bash
# Entry of a swarm test node (tests/integration/swarm_lib.sh), under tini.
# Makes the cgroup v1 hierarchies writable (the outer engine mounts them
# read-only), then keeps a dockerd running with the flags given as
# arguments. /etc/wslab-node/dockerd.args (one flag a line), when present,
# replaces them: swarm_dockerd_restart writes it and stops dockerd, and this
# loop starts dockerd again. Each start of the container begins with the
# flags of its command line again.
#
# wsnode, the node agent, runs when the test has installed it: the script
# /opt/wsnode/run (swarm_agent_install), kept running like dockerd, also
# after the container is killed and started again.
#
# On the first start of a container, the swarm state and the local network
# store left in the kept /var/lib/docker volume by an earlier run are
# removed, so that the node starts outside any swarm instead of calling an
# old manager, with no network of an old swarm.
set -u

for m in /sys/fs/cgroup /sys/fs/cgroup/*; do
	if mountpoint -q "$m" && ! mount -o remount,bind,rw "$m"; then
		# Without them no task could start: better no node at all.
		echo "node-entry: cannot remount $m read-write" >&2
		exit 1
	fi
done

mkdir -p /etc/wslab-node
rm -f /etc/wslab-node/dockerd.args
if [ ! -e /etc/wslab-node/started ]; then
	# An old swarm's state, and the networks it left in the local store
	# (their bridges would overlap the new swarm's).
	rm -rf /var/lib/docker/swarm /var/lib/docker/network/files/local-kv.db
	: >/etc/wslab-node/started
fi

(
	while :; do
		[ -x /opt/wsnode/run ] && /opt/wsnode/run >>/var/log/wsnode.log 2>&1
		sleep 1
	done
) &
agent=$!

pid=
stop() {
	kill -TERM "$agent" 2>/dev/null
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"
	exit 0
}
trap stop TERM INT

while :; do
	args=("$@")
	[ -f /etc/wslab-node/dockerd.args ] && mapfile -t args </etc/wslab-node/dockerd.args
	# swarm_net_reset: the local network store goes (an admin's fix for
	# "network ... exists" after an unclean stop).
	if [ -e /etc/wslab-node/wipe-net ]; then
		rm -f /var/lib/docker/network/files/local-kv.db /etc/wslab-node/wipe-net
	fi
	echo "node-entry: dockerd ${args[*]}" >>/var/log/dockerd.log
	dockerd "${args[@]}" >>/var/log/dockerd.log 2>&1 &
	pid=$!
	wait "$pid"
	echo "node-entry: dockerd exited ($?)" >>/var/log/dockerd.log
	pid=
	sleep 0.2
done
