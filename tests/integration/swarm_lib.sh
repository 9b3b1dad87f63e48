# A 3-node Docker Swarm inside containers, for the swarm tests of wsd.
# Sourced after lib.sh (uses its SRC, IMAGE and log).
#
# Nodes wslab-sw-mgr, wslab-sw-w1 and wslab-sw-w2 run on their own bridge
# network with dockerd inside (DESIGN.md, swarm facts 8, 9 and 12). wsd runs
# on the host and talks to the manager's dockerd through $SWARM_SOCK, a unix
# socket in $SWARM_RUN (a host directory bind-mounted into the manager). The
# manager is drained; the workers advertise fake GPUs as generic resources,
# run every task with NoNewPrivs (dockerd --no-new-privileges) and under the
# fake nvidia runtime (tests/fake/nvidia-container-runtime). $SWARM_SHARED is
# the same directory on the host and on every node (the lab's NFS).
#
# The node image is cached by a hash of its inputs; each node's
# /var/lib/docker is a volume kept between runs (swarm_down keeps it), so the
# workspace image is loaded into a worker only once.
#
# Functions: swarm_node_image, swarm_up, swarm_down, swarm_docker NODE ARGS,
# swarm_ip NODE, swarm_node_id NODE, swarm_kill NODE, swarm_revive NODE,
# swarm_dockerd_restart NODE [--no-nnp] [DOCKERD-FLAGS...], swarm_gpu_log NODE,
# swarm_agent_install NODE SHARED-DIR, swarm_fake_util NODE PERCENT,
# swarm_wait_ready NODE, swarm_selftest. NODE is mgr, w1 or w2.

: "${SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SWARM_NET=${SWARM_NET:-wslab-swarm}
SWARM_SUBNET=${SWARM_SUBNET:-10.213.7.0/24}
SWARM_NET_PREFIX=${SWARM_SUBNET%.*/*}
SWARM_RUN=${SWARM_RUN:-/run/wslab-swarm}
SWARM_SOCK=$SWARM_RUN/mgr.sock
SWARM_SHARED=${SWARM_SHARED:-/var/lib/wslab-test/swarm-shared}
SWARM_IMAGE=${SWARM_IMAGE:-${IMAGE:-wslab/offline:1}}
SWARM_IMAGE_ID=
# The ports network (fact 8): tasks on it publish on their worker's address only.
SWARM_PORTS_NET=${SWARM_PORTS_NET:-wslab-ports}
SWARM_PORTS_SUBNET=${SWARM_PORTS_SUBNET:-10.214.0.0/24}
SWARM_W1_GPUS="GPU-5a1f0001-0000-4000-8000-000000000000 GPU-5a1f0001-0000-4000-8000-000000000001"
SWARM_W2_GPUS="GPU-5a1f0002-0000-4000-8000-000000000000"
SWARM_NODES="mgr w1 w2"
SWARM_NODE_IMAGE=
SWARM_VOL_HASH=
export SWARM_NET SWARM_SUBNET SWARM_RUN SWARM_SOCK SWARM_SHARED SWARM_IMAGE \
	SWARM_PORTS_NET SWARM_PORTS_SUBNET SWARM_W1_GPUS SWARM_W2_GPUS SWARM_NODES

_sw_log() { printf '# swarm: %s\n' "$*"; }
_sw_err() { printf 'swarm: %s\n' "$*" >&2; }

swarm_ip() {
	case $1 in
	mgr) echo "$SWARM_NET_PREFIX.10" ;;
	w1) echo "$SWARM_NET_PREFIX.11" ;;
	w2) echo "$SWARM_NET_PREFIX.12" ;;
	*) _sw_err "no node $1"; return 1 ;;
	esac
}

_sw_gpus() {
	case $1 in
	w1) echo "$SWARM_W1_GPUS" ;;
	w2) echo "$SWARM_W2_GPUS" ;;
	esac
}

# swarm_docker NODE ARGS...: the docker CLI inside a node.
swarm_docker() {
	local n=$1
	shift
	docker exec "wslab-sw-$n" docker "$@"
}

# swarm_node_image: builds wslab/swarm-node:HASH when missing and sets
# SWARM_NODE_IMAGE. A Debian root filesystem with docker.io (mmdebstrap,
# `docker import`, cached by the package list), then the entry script and
# the fake runtime added by a small Dockerfile (cached by their content).
swarm_node_image() {
	local suite=bookworm packages base_hash base hash ctx dockerfile out
	packages=docker.io,iptables,iproute2,procps,jq,ca-certificates,bash,tini,curl,util-linux,mount
	base_hash=$(printf '%s\n%s\n' "$suite" "$packages" | sha256sum | cut -c1-12)
	base=wslab/swarm-base:$base_hash
	dockerfile="FROM $base
COPY node-entry.sh /usr/local/bin/node-entry.sh
COPY nvidia-container-runtime /usr/local/bin/nvidia-container-runtime
ENTRYPOINT [\"/usr/bin/tini\", \"--\", \"/usr/local/bin/node-entry.sh\"]"
	hash=$( (printf '%s\n' "$dockerfile"; cat "$SRC/tests/swarm/node-entry.sh" \
		"$SRC/tests/fake/nvidia-container-runtime") | sha256sum | cut -c1-12)
	SWARM_NODE_IMAGE=wslab/swarm-node:$hash
	# The volumes hold what dockerd wrote: they follow its version (the root
	# filesystem), not the scripts, so editing a script loads no image again.
	SWARM_VOL_HASH=$base_hash
	export SWARM_NODE_IMAGE SWARM_VOL_HASH
	docker image inspect "$SWARM_NODE_IMAGE" >/dev/null 2>&1 && return 0
	if ! docker image inspect "$base" >/dev/null 2>&1; then
		_sw_log "making the node root filesystem (mmdebstrap, a few minutes)"
		# shellcheck disable=SC2016 # "$1" is mmdebstrap's, in its hooks
		mmdebstrap --quiet --variant=apt --include="$packages" \
			--customize-hook='chroot "$1" apt-get clean' \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
			"$suite" - | docker import -m "wslab swarm node base $base_hash" - "$base" >/dev/null ||
			{ _sw_err "cannot make $base"; return 1; }
	fi
	ctx=$(mktemp -d)
	cp "$SRC/tests/swarm/node-entry.sh" "$SRC/tests/fake/nvidia-container-runtime" "$ctx/"
	chmod 755 "$ctx"/*
	printf '%s\n' "$dockerfile" >"$ctx/Dockerfile"
	# The legacy builder (no BuildKit here) warns on stderr: shown on failure only.
	if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$SWARM_NODE_IMAGE" "$ctx" 2>&1); then
		printf '%s\n' "$out" >&2
		rm -rf "$ctx"
		_sw_err "cannot build $SWARM_NODE_IMAGE"
		return 1
	fi
	rm -rf "$ctx"
	_sw_log "built $SWARM_NODE_IMAGE"
	# Earlier builds go (a running node keeps its image until it is removed).
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^wslab/swarm-(node|base):' |
		grep -vxF -e "$SWARM_NODE_IMAGE" -e "$base" | xargs -r docker rmi >/dev/null 2>&1
	return 0
}

# _sw_dockerd_flags NODE: the dockerd flags of a node, one a line.
_sw_dockerd_flags() {
	local g
	printf '%s\n' --log-level=warn
	if [ "$1" = mgr ]; then
		# The node's docker group means another group on the host: root only.
		printf '%s\n' "-H" "unix://$SWARM_SOCK" "-H" "unix:///var/run/docker.sock" --group=root
	else
		printf '%s\n' --no-new-privileges \
			--add-runtime=nvidia=/usr/local/bin/nvidia-container-runtime --default-runtime=nvidia
		for g in $(_sw_gpus "$1"); do printf '%s\n' "--node-generic-resource=gpu=$g"; done
	fi
}

# _sw_wait_engine NODE [SECONDS]: until the node's dockerd answers.
_sw_wait_engine() {
	local n=$1 t=${2:-60}
	if ! timeout "$t" bash -c "until docker exec wslab-sw-$n docker version >/dev/null 2>&1; do sleep 0.2; done"; then
		_sw_err "dockerd in wslab-sw-$n did not answer in ${t}s"
		docker logs --tail 20 "wslab-sw-$n" >&2
		docker exec "wslab-sw-$n" tail -n 20 /var/log/dockerd.log >&2
		return 1
	fi
}

# _sw_start_node NODE: a fresh node container.
_sw_start_node() {
	local n=$1 c=wslab-sw-$1 extra=() flags
	docker rm -f "$c" >/dev/null 2>&1
	[ "$n" = mgr ] && extra=(-v "$SWARM_RUN:$SWARM_RUN")
	mapfile -t flags < <(_sw_dockerd_flags "$n")
	docker run -d --name "$c" --hostname "$c" --label wslab.swarm-node="$n" \
		--network "$SWARM_NET" --ip "$(swarm_ip "$n")" \
		--cap-add ALL --cap-drop SYS_RESOURCE \
		--security-opt seccomp=unconfined --security-opt systempaths=unconfined \
		--security-opt apparmor=unconfined \
		--tmpfs /run:exec,mode=755 \
		-v "wslab-swarm-$n-$SWARM_VOL_HASH:/var/lib/docker" \
		-v "$SWARM_SHARED:$SWARM_SHARED" "${extra[@]}" \
		"$SWARM_NODE_IMAGE" "${flags[@]}" >/dev/null ||
		{ _sw_err "cannot start $c"; return 1; }
	if [ "$n" != mgr ]; then
		_sw_gpus "$n" | tr ' ' '\n' | docker exec -i "$c" sh -c 'cat >/etc/wslab-fake-gpus'
	fi
}

# _sw_reset NODE: no swarm, no container and no ports network left from an
# earlier run (the volume keeps /var/lib/docker).
_sw_reset() {
	local n=$1 ids
	if [ "$(swarm_docker "$n" info -f '{{.Swarm.LocalNodeState}}')" != inactive ]; then
		swarm_docker "$n" swarm leave --force >/dev/null 2>&1
	fi
	ids=$(swarm_docker "$n" ps -aq)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || swarm_docker "$n" rm -f $ids >/dev/null
	swarm_docker "$n" network rm "$SWARM_PORTS_NET" >/dev/null 2>&1
	return 0
}

# _sw_load_image NODE: the workspace image into a node, unless it has it.
_sw_load_image() {
	local n=$1 have
	have=$(swarm_docker "$n" image inspect -f '{{.Id}}' "$SWARM_IMAGE" 2>/dev/null)
	[ "$have" = "$SWARM_IMAGE_ID" ] && return 0
	_sw_log "loading $SWARM_IMAGE into $n"
	docker save "$SWARM_IMAGE" | docker exec -i "wslab-sw-$n" docker load -q >/dev/null || return 1
	have=$(swarm_docker "$n" image inspect -f '{{.Id}}' "$SWARM_IMAGE" 2>/dev/null)
	[ "$have" = "$SWARM_IMAGE_ID" ] || { _sw_err "$n has $have, not $SWARM_IMAGE_ID"; return 1; }
	# An earlier build of the image, now untagged, would hold the volume's disk.
	swarm_docker "$n" image prune -f >/dev/null
}

# _sw_ports_cfg NODE: the worker's config-only network for the ports
# network (fact 8): its ports on its own address, no traffic between
# workspaces. One that an earlier swarm's network used cannot be removed
# ("in use") once that swarm is gone: the same one is kept.
_sw_ports_cfg() {
	local n=$1 ip
	ip=$(swarm_ip "$n")
	[ "$(swarm_docker "$n" network inspect -f \
		'{{index .Options "com.docker.network.bridge.host_binding_ipv4"}} {{index .Options "com.docker.network.bridge.enable_icc"}}' \
		"$SWARM_PORTS_NET-cfg" 2>/dev/null)" = "$ip false" ] && return 0
	swarm_docker "$n" network rm "$SWARM_PORTS_NET-cfg" >/dev/null 2>&1
	swarm_docker "$n" network create --config-only --subnet "$SWARM_PORTS_SUBNET" \
		-o com.docker.network.bridge.host_binding_ipv4="$ip" \
		-o com.docker.network.bridge.enable_icc=false "$SWARM_PORTS_NET-cfg" >/dev/null
}

# swarm_net_reset NODE [FLAGS...]: what an admin does when a worker that
# stopped uncleanly (killed, power lost) rejects every task with "network
# ... exists" (Docker 20.10): its engine restarts without its local network
# store, and the config-only network is made again.
swarm_net_reset() {
	local n=$1
	shift
	docker exec "wslab-sw-$n" touch /etc/wslab-node/wipe-net || return 1
	swarm_dockerd_restart "$n" "$@" || return 1
	_sw_ports_cfg "$n"
}

# swarm_node_id NODE: the node's swarm ID.
swarm_node_id() {
	swarm_docker "$1" info -f '{{.Swarm.NodeID}}'
}

# swarm_wait_ready NODE [SECONDS]: until the manager lists the node Ready.
swarm_wait_ready() {
	local n=$1 t=${2:-60}
	timeout "$t" bash -c "until [ \"\$(docker exec wslab-sw-mgr docker node inspect -f '{{.Status.State}}' wslab-sw-$n 2>/dev/null)\" = ready ]; do sleep 0.5; done" ||
		{ _sw_err "node $n not ready in ${t}s"; return 1; }
}

# swarm_up: the three nodes in a fresh swarm, the ports network, and the
# workspace image on the workers. Idempotent; clears what an earlier or
# interrupted run left.
swarm_up() {
	local t0=$SECONDS n p token mgr_ip ip pids=() rc=0 cur
	swarm_node_image || return 1
	SWARM_IMAGE_ID=$(docker image inspect -f '{{.Id}}' "$SWARM_IMAGE" 2>/dev/null) ||
		{ _sw_err "no image $SWARM_IMAGE on the host"; return 1; }
	export SWARM_IMAGE_ID
	mkdir -p "$SWARM_RUN" "$SWARM_SHARED"
	for n in $SWARM_NODES; do docker rm -f "wslab-sw-$n" >/dev/null 2>&1; done
	rm -f "$SWARM_SOCK"
	# Volumes of another node root filesystem are of no more use.
	docker volume ls -q | grep -E '^wslab-swarm-(mgr|w1|w2)-' | grep -v -- "-$SWARM_VOL_HASH\$" |
		xargs -r docker volume rm >/dev/null 2>&1
	cur=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$SWARM_NET" 2>/dev/null)
	if [ "$cur" != "$SWARM_SUBNET" ]; then
		[ -n "$cur" ] && docker network rm "$SWARM_NET" >/dev/null
		docker network create --subnet "$SWARM_SUBNET" "$SWARM_NET" >/dev/null ||
			{ _sw_err "cannot create network $SWARM_NET"; return 1; }
	fi
	for n in $SWARM_NODES; do
		_sw_start_node "$n" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ $rc = 0 ] || return 1
	pids=()
	for n in $SWARM_NODES; do _sw_wait_engine "$n" || return 1; done
	for n in $SWARM_NODES; do _sw_reset "$n"; done
	# The image loads while the swarm forms: on every node, the manager too
	# (wsd asks the manager for the template image's ID).
	for n in mgr w1 w2; do
		_sw_load_image "$n" &
		pids+=($!)
	done

	mgr_ip=$(swarm_ip mgr)
	swarm_docker mgr swarm init --advertise-addr "$mgr_ip" >/dev/null || rc=1
	token=$(swarm_docker mgr swarm join-token -q worker) || rc=1
	for n in w1 w2; do
		ip=$(swarm_ip "$n")
		swarm_docker "$n" swarm join --token "$token" --advertise-addr "$ip" "$mgr_ip:2377" >/dev/null || rc=1
		_sw_ports_cfg "$n" || rc=1
	done
	swarm_docker mgr node update --availability drain wslab-sw-mgr >/dev/null || rc=1
	for n in w1 w2; do
		swarm_wait_ready "$n" 60 || rc=1
		swarm_docker mgr node update --label-add "wslab.address=$(swarm_ip "$n")" "wslab-sw-$n" >/dev/null || rc=1
	done
	# A swarm-scoped bridge network made from the workers' config-only ones.
	swarm_docker mgr network create -d bridge --scope swarm --config-from "$SWARM_PORTS_NET-cfg" \
		"$SWARM_PORTS_NET" >/dev/null || rc=1
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	if [ $rc != 0 ]; then
		_sw_err "swarm_up failed"
		return 1
	fi
	SWARM_MGR_ID=$(swarm_node_id mgr)
	SWARM_W1_ID=$(swarm_node_id w1)
	SWARM_W2_ID=$(swarm_node_id w2)
	export SWARM_MGR_ID SWARM_W1_ID SWARM_W2_ID SWARM_IMAGE_ID
	_sw_log "up in $((SECONDS - t0))s (manager socket $SWARM_SOCK)"
}

# swarm_down: node containers and their network go; the volumes stay.
swarm_down() {
	local n
	for n in $SWARM_NODES; do docker rm -f "wslab-sw-$n" >/dev/null 2>&1; done
	docker network rm "$SWARM_NET" >/dev/null 2>&1
	rm -f "$SWARM_SOCK"
	return 0
}

# _sw_nvml_inventory NODE [UTIL]: the fake NVML's view of the node's GPUs
# (tests/fake/fake_nvml.c), on one PCIe switch.
_sw_nvml_inventory() {
	local n=$1 util=${2:-0} i=0 g
	for g in $(_sw_gpus "$n"); do
		printf 'gpu %s NVIDIA-H200 00000000:%02x:00.0 143771 0 %s\n' "$g" $((0x18 + i)) "$util"
		i=$((i + 1))
	done
	[ "$i" = 2 ] && printf 'topo 0 1 10\n'
	return 0
}

# swarm_agent_install NODE SHARED-DIR: wsnode of this build on the node,
# reporting every second to SHARED-DIR, with the fake NVML. The node's
# root filesystem is the host's Debian release: the binary runs there with
# the libraries it needs that the node lacks (glibc is the node's own).
swarm_agent_install() {
	local n=$1 shared=$2 c=wslab-sw-$1 lib
	docker exec "$c" sh -c 'rm -rf /opt/wsnode && mkdir -p /opt/wsnode/lib' || return 1
	for lib in $(ldd "$BUILD/server/wsnode" | awk '$3 ~ /^\// {print $3}'); do
		case ${lib##*/} in libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux*) continue ;; esac
		docker cp -L "$lib" "$c:/opt/wsnode/lib/" || return 1
	done
	docker cp "$BUILD/server/wsnode" "$c:/opt/wsnode/wsnode" &&
		docker cp "$BUILD/tests/libnvidia-ml-fake.so" "$c:/opt/wsnode/lib/" || return 1
	_sw_nvml_inventory "$n" | docker exec -i "$c" sh -c 'cat >/etc/wslab-fake-nvml'
	printf '#!/bin/sh\nexec env LD_LIBRARY_PATH=/opt/wsnode/lib FAKE_NVML_INVENTORY=/etc/wslab-fake-nvml ASAN_OPTIONS=detect_leaks=0 /opt/wsnode/wsnode --shared-dir %s --nvml /opt/wsnode/lib/libnvidia-ml-fake.so --interval 1\n' \
		"$shared" | docker exec -i "$c" sh -c 'cat >/opt/wsnode/run.new && chmod 755 /opt/wsnode/run.new && mv /opt/wsnode/run.new /opt/wsnode/run'
}

# swarm_fake_util NODE PERCENT: what the node's fake NVML reports as its GPUs' use.
swarm_fake_util() {
	_sw_nvml_inventory "$1" "$2" | docker exec -i "wslab-sw-$1" sh -c 'cat >/etc/wslab-fake-nvml.new && mv /etc/wslab-fake-nvml.new /etc/wslab-fake-nvml'
}

# swarm_kill NODE: the node dies at once (its dockerd and tasks with it).
swarm_kill() {
	docker kill "wslab-sw-$1" >/dev/null
}

# swarm_revive NODE: the killed node's container starts again, its dockerd
# with the flags it was first given; returns once the manager lists it Ready.
swarm_revive() {
	local n=$1 w
	docker start "wslab-sw-$n" >/dev/null || return 1
	_sw_wait_engine "$n" 60 || return 1
	if [ "$n" = mgr ]; then
		# shellcheck disable=SC2016
		timeout 60 bash -c 'until [ "$(docker exec wslab-sw-mgr docker info -f "{{.Swarm.ControlAvailable}}" 2>/dev/null)" = true ]; do sleep 0.5; done' ||
			{ _sw_err "the manager has no control of its swarm"; return 1; }
		# Workers show Unknown until they reach the manager again (a few seconds).
		for w in w1 w2; do
			[ "$(docker inspect -f '{{.State.Running}}' "wslab-sw-$w" 2>/dev/null)" = true ] || continue
			swarm_wait_ready "$w" 60 || return 1
		done
	fi
	swarm_wait_ready "$n" 60
}

# swarm_dockerd_restart NODE [--no-nnp] [FLAGS...]: restarts the node's
# dockerd (its containers stop) with its usual flags plus FLAGS; --no-nnp
# leaves out --no-new-privileges. Until the node's container restarts
# (swarm_revive) or the next call, these flags stay.
swarm_dockerd_restart() {
	local n=$1 c=wslab-sw-$1 nnp=1 extra=() f pid
	shift
	for f in "$@"; do
		if [ "$f" = --no-nnp ]; then nnp=0; else extra+=("$f"); fi
	done
	{
		_sw_dockerd_flags "$n" | if [ $nnp = 0 ]; then grep -vx -- --no-new-privileges; else cat; fi
		[ ${#extra[@]} = 0 ] || printf '%s\n' "${extra[@]}"
	} | docker exec -i "$c" sh -c 'cat >/etc/wslab-node/dockerd.args'
	pid=$(docker exec "$c" cat /run/docker.pid 2>/dev/null)
	if [ -n "$pid" ]; then
		docker exec "$c" kill "$pid"
		timeout 60 docker exec "$c" sh -c "while kill -0 $pid 2>/dev/null; do sleep 0.2; done" ||
			{ _sw_err "dockerd in $c did not stop"; return 1; }
	fi
	_sw_wait_engine "$n" 60 || return 1
	swarm_wait_ready "$n" 60
}

# swarm_gpu_log NODE: what the fake runtime recorded ("CONTAINER-ID DEVICES").
swarm_gpu_log() {
	docker exec "wslab-sw-$1" cat /var/log/wslab-fake-gpu.log 2>/dev/null
	return 0
}

# _sw_api METHOD PATH [BODY]: a request to the manager's engine, as wsd makes it.
_sw_api() {
	if [ $# -gt 2 ]; then
		curl -sS --unix-socket "$SWARM_SOCK" -X "$1" -H 'Content-Type: application/json' \
			--data-binary "$3" "http://swarm/v1.41$2"
	else
		curl -sS --unix-socket "$SWARM_SOCK" -X "$1" "http://swarm/v1.41$2"
	fi
}

# _sw_service_body NAME NODE-ID GPUS: a workspace-like service spec.
_sw_service_body() {
	jq -cn --arg name "$1" --arg node "$2" --arg gpus "$3" --arg image "$SWARM_IMAGE_ID" \
		--arg net "$SWARM_PORTS_NET" '{
		Name: $name,
		TaskTemplate: {
			ContainerSpec: {
				Image: $image,
				Command: ["python3", "-m", "http.server", "8888"],
				User: "1000:1000",
				CapabilityDrop: ["ALL"],
				Env: ["NVIDIA_VISIBLE_DEVICES=" + $gpus],
				Mounts: [{Type: "tmpfs", Target: "/dev/shm",
					TmpfsOptions: {SizeBytes: 67108864, Mode: 1023}}]
			},
			RestartPolicy: {Condition: "none"},
			Placement: {Constraints: ["node.id==" + $node]},
			Networks: [{Target: $net}]
		},
		EndpointSpec: {Ports: [{Protocol: "tcp", TargetPort: 8888, PublishMode: "host"}]}
	}'
}

# _sw_task SERVICE: the service's newest task (JSON).
_sw_task() {
	_sw_api GET "/tasks?filters=$(jq -rn --arg s "$1" '{service: [$s]} | tojson | @uri')" |
		jq -c 'sort_by(.CreatedAt) | last // empty'
}

# _sw_wait_task SERVICE STATE-REGEX [SECONDS]: prints the task once its
# state matches.
_sw_wait_task() {
	local s=$1 want=$2 t=${3:-60} task end=$((SECONDS + ${3:-60}))
	while [ $SECONDS -lt $end ]; do
		task=$(_sw_task "$s")
		if printf '%s' "$task" | jq -e --arg w "^($want)\$" '.Status.State | test($w)' >/dev/null 2>&1; then
			printf '%s\n' "$task"
			return 0
		fi
		sleep 0.5
	done
	_sw_err "task of $s not $want in ${t}s: $(printf '%s' "$task" | jq -c .Status)"
	return 1
}

# swarm_selftest: brings the swarm up and checks what the swarm tests rely
# on (run by hand: bash tests/integration/swarm_lib.sh selftest).
swarm_selftest() {
	local t0 t task cid port status w1gpu ip out down
	need_root
	ensure_engine
	ensure_image
	t0=$SECONDS
	swarm_up || { fail "swarm_up"; return 1; }
	t=$((SECONDS - t0))
	log "swarm_up took ${t}s"

	out=$(docker -H "unix://$SWARM_SOCK" node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' | sort)
	expect_eq "three nodes, all ready, the manager drained" "$out" \
		"wslab-sw-mgr Ready Drain
wslab-sw-w1 Ready Active
wslab-sw-w2 Ready Active"
	expect_eq "the nodes API answers on the host's socket" \
		"$(_sw_api GET /nodes | jq length)" 3
	expect_eq "w1 advertises its GPUs as generic resources" \
		"$(_sw_api GET "/nodes/$SWARM_W1_ID" | jq -r '[.Description.Resources.GenericResources[].NamedResourceSpec.Value] | sort | join(" ")')" \
		"$SWARM_W1_GPUS"
	expect_eq "w2 is labelled with its address" \
		"$(_sw_api GET "/nodes/$SWARM_W2_ID" | jq -r '.Spec.Labels["wslab.address"]')" "$(swarm_ip w2)"
	check "the shared directory is the same on the host and a worker" \
		bash -c "date >'$SWARM_SHARED/.probe' && docker exec wslab-sw-w2 cat '$SWARM_SHARED/.probe' >/dev/null && rm -f '$SWARM_SHARED/.probe'"

	# A workspace-like service on w1, with one of its GPUs.
	w1gpu=${SWARM_W1_GPUS%% *}
	ip=$(swarm_ip w1)
	_sw_api DELETE /services/wslab-selftest-ok >/dev/null 2>&1
	_sw_api DELETE /services/wslab-selftest-bad >/dev/null 2>&1
	out=$(_sw_api POST /services/create "$(_sw_service_body wslab-selftest-ok "$SWARM_W1_ID" "$w1gpu")")
	expect_match "the service is created through the API" "$out" '"ID"'
	if task=$(_sw_wait_task wslab-selftest-ok running 60); then
		pass "the task runs"
		expect_eq "it runs on w1" "$(printf '%s' "$task" | jq -r .NodeID)" "$SWARM_W1_ID"
		cid=$(printf '%s' "$task" | jq -r .Status.ContainerStatus.ContainerID)
		expect_match "the fake runtime recorded its GPU" "$(swarm_gpu_log w1)" "^$cid $w1gpu\$"
		status=$(swarm_docker w1 exec "$cid" cat /proc/1/status)
		expect_match "the task runs with NoNewPrivs" "$status" 'NoNewPrivs:[[:space:]]+1'
		expect_match "the task has no capabilities" "$status" 'CapEff:[[:space:]]+0+$'
		expect_match "/dev/shm is a 64 MiB tmpfs, mode 1777" \
			"$(swarm_docker w1 exec "$cid" stat -c '%a' /dev/shm) $(swarm_docker w1 exec "$cid" df -k /dev/shm | tail -1)" \
			'^1777 tmpfs +65536 '
		port=$(printf '%s' "$task" | jq -r '.Status.PortStatus.Ports[0].PublishedPort // empty')
		expect_match "the engine chose a published port" "$port" '^[0-9]+$'
		check "the port answers at w1's address" \
			timeout 30 bash -c "until curl -sf -o /dev/null http://$ip:$port/; do sleep 0.5; done"
		out=$(docker exec wslab-sw-w1 ss -Hltn "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')
		expect_eq "the port is bound on w1's address only" "$out" "$ip:$port "
	else
		fail "the task runs"
	fi

	# An unknown GPU: the runtime refuses it and the task ends.
	out=$(_sw_api POST /services/create \
		"$(_sw_service_body wslab-selftest-bad "$SWARM_W1_ID" GPU-5a1f00ff-0000-4000-8000-000000000000)")
	if task=$(_sw_wait_task wslab-selftest-bad 'rejected|failed' 60); then
		pass "a task with an unknown GPU ends $(printf '%s' "$task" | jq -r .Status.State)"
		expect_match "its error names the unknown device" "$(printf '%s' "$task" | jq -r .Status.Err)" 'unknown device'
	else
		fail "a task with an unknown GPU ends rejected or failed"
	fi
	_sw_api DELETE /services/wslab-selftest-ok >/dev/null
	_sw_api DELETE /services/wslab-selftest-bad >/dev/null

	# A worker dies and comes back.
	t0=$SECONDS
	swarm_kill w2
	# shellcheck disable=SC2016
	if timeout 60 bash -c 'until [ "$(docker exec wslab-sw-mgr docker node inspect -f "{{.Status.State}}" wslab-sw-w2)" = down ]; do sleep 0.5; done'; then
		down=$((SECONDS - t0))
		pass "a killed w2 is down after ${down}s"
	else
		fail "a killed w2 is down within 60s"
	fi
	t0=$SECONDS
	check "a revived w2 is ready again" swarm_revive w2
	log "swarm_revive took $((SECONDS - t0))s"

	# dockerd restarted without --no-new-privileges, then with it again.
	t0=$SECONDS
	check "w2's dockerd restarts without --no-new-privileges" swarm_dockerd_restart w2 --no-nnp
	expect_eq "w2's dockerd runs without --no-new-privileges" \
		"$(docker exec wslab-sw-w2 sh -c 'tr "\0" "\n" </proc/$(cat /run/docker.pid)/cmdline | grep -c -- --no-new-privileges')" 0
	_sw_api POST /services/create "$(_sw_service_body wslab-selftest-nnp "$SWARM_W2_ID" "$SWARM_W2_GPUS")" >/dev/null
	if task=$(_sw_wait_task wslab-selftest-nnp running 60); then
		cid=$(printf '%s' "$task" | jq -r .Status.ContainerStatus.ContainerID)
		expect_match "a task there runs without NoNewPrivs" \
			"$(swarm_docker w2 exec "$cid" cat /proc/1/status)" 'NoNewPrivs:[[:space:]]+0'
	else
		fail "a task runs on w2 without --no-new-privileges"
	fi
	_sw_api DELETE /services/wslab-selftest-nnp >/dev/null
	check "w2's dockerd restarts with its usual flags" swarm_dockerd_restart w2
	log "two dockerd restarts took $((SECONDS - t0))s"

	swarm_down
	t0=$SECONDS
	swarm_up || { fail "second swarm_up"; return 1; }
	t=$((SECONDS - t0))
	log "second swarm_up took ${t}s"
	expect_eq "after a second swarm_up, three nodes" \
		"$(_sw_api GET /nodes | jq '[.[] | select(.Status.State == "ready")] | length')" 3
	expect_eq "no service is left" "$(_sw_api GET /services | jq length)" 0
	[ "${KEEP:-0}" = 1 ] || swarm_down
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1-} in
	selftest)
		# shellcheck source=tests/integration/lib.sh
		. "$(dirname "$0")/lib.sh"
		swarm_selftest
		if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
		echo "all checks passed"
		;;
	*) echo "usage: $0 selftest" >&2; exit 2 ;;
	esac
fi
