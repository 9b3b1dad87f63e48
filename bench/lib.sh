# Shared by bench/run.sh and bench/storm.sh: logging and time, running as
# a user, removing the bench's containers, bare runs of the workspace
# container, wsd starts through wsctl, and statistics. Only functions: the
# sourcing script sets T, SOCK, INSTANCE, IMAGE, MEM, SHM, CPUS, PIDS,
# BARE_LABEL, BARE_PORT_BASE, READY and WSCTL before it calls them.
# shellcheck shell=bash

log() { printf '# %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
now() { echo "$EPOCHREALTIME"; }
# sub A B: A - B in seconds, 3 decimals.
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

remove_ours() {
	local ids
	ids=$( {
		docker ps -aq --filter "label=wslab.instance=$INSTANCE"
		docker ps -aq --filter "label=$BARE_LABEL"
	} | sort -u)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		printf '%s\n' $ids | xargs -r -n 16 -P 4 docker rm -f >/dev/null 2>&1 || true
	fi
}

# as USER COMMAND...: run as that user against the bench's wsd.
as() {
	local u=$1
	shift
	runuser -u "$u" -- env WSCTL_SOCKET="$SOCK" HOME="$(getent passwd "$u" | cut -d: -f6)" \
		XDG_CACHE_HOME= "$@"
}

# ---------------------------------------------------------------- bare runs

# bare_prepare SLOT USER: the files wsd prepares for a workspace (see
# server/wsfs.c), with the same owners and modes: a home, a token, an SSH
# host key, authorized_keys, passwd and group.
bare_prepare() { # SLOT USER
	local d=$T/bare/$1 u=$2 uid gid home etc
	uid=$(id -u "$u")
	gid=$(id -g "$u")
	home=$(getent passwd "$u" | cut -d: -f6)
	etc=$d/etc
	mkdir -p "$d/home/$u"
	chown "$uid:$gid" "$d/home/$u"
	chmod 700 "$d/home/$u"
	rm -rf "$etc"
	mkdir -m 711 "$etc"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$etc/jupyter_token"
	chown "$uid:$gid" "$etc/jupyter_token"
	chmod 400 "$etc/jupyter_token"
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$etc/ssh_host_ed25519_key"
	chown "$uid:$gid" "$etc/ssh_host_ed25519_key"
	cat "$home"/.ssh/*.pub >"$etc/authorized_keys"
	printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n%s:x:%s:%s:%s:/home/%s:/bin/bash\n' \
		"$u" "$uid" "$gid" "$u" "$u" >"$etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n%s:x:%s:\n' "$(id -gn "$u")" "$gid" >"$etc/group"
	chmod 644 "$etc/authorized_keys" "$etc/passwd" "$etc/group"
}

# wait_ready JPORT SPORT TOKEN: what wsd waits for, polled every 50 ms by
# bench/ready.c: Jupyter's /api/status answers 200 with the token, and
# sshd sends its banner.
wait_ready() { "$READY" "$1" "$2" "$3" 180; }

# bare_run SLOT USER: docker run of the files bare_prepare SLOT made, then
# wait until ready; this is the timed part of a bare start (the files are
# made before the clock starts, so wsd's own preparation counts against it).
# Returns non-zero on failure. Container named wsbench-bare-SLOT.
bare_run() {
	local slot=$1 u=$2 d=$T/bare/$1 uid gid jp sp tok name=bare$1
	uid=$(id -u "$u")
	gid=$(id -g "$u")
	jp=$((BARE_PORT_BASE + 2 * slot))
	sp=$((jp + 1))
	read -r tok <"$d/etc/jupyter_token" || true # no newline at its end
	docker run -d --name "wsbench-bare-$slot" --label "$BARE_LABEL=1" \
		--label "wslab.owner=$u" --label "wslab.uid=$uid" --label "wslab.name=$name" \
		--user "$uid:$gid" --hostname "$name" --workdir "/home/$u" \
		--init --cap-drop ALL --security-opt no-new-privileges --pids-limit "$PIDS" \
		--memory "$MEM" --memory-swap "$MEM" --shm-size "$SHM" --cpus "$CPUS" \
		--ipc private --network bridge --restart no \
		--mount "type=bind,source=$d/home/$u,target=/home/$u" \
		--mount "type=bind,source=$d/etc,target=/etc/wslab,readonly" \
		--mount "type=bind,source=$d/etc/passwd,target=/etc/passwd,readonly" \
		--mount "type=bind,source=$d/etc/group,target=/etc/group,readonly" \
		-e "HOME=/home/$u" -e "USER=$u" -e "LOGNAME=$u" -e SHELL=/bin/bash \
		-e "WSLAB_WORKSPACE=$name" -e WSLAB_JUPYTER_PORT=8888 -e WSLAB_SSH_PORT=2222 \
		-e NVIDIA_VISIBLE_DEVICES=void -e CUDA_VISIBLE_DEVICES= \
		-p "127.0.0.1:$jp:8888" -p "127.0.0.1:$sp:2222" "$IMAGE" >/dev/null || return 1
	wait_ready "$jp" "$sp" "$tok"
}
bare_rm() { docker rm -f "wsbench-bare-$1" >/dev/null 2>&1 || true; }

# wsd_once USER NAME: wsctl start until ready.
wsd_once() { as "$1" "$WSCTL" start --name "$2" >/dev/null 2>&1; }
wsd_stop() { as "$1" "$WSCTL" stop "$2" >/dev/null 2>&1 || true; }

stats() { # numbers on stdin -> "median min max q1 q3"
	sort -g | awk '{ a[NR] = $1 }
	function q(p,  x, i, f) { x = 1 + p * (NR - 1); i = int(x); f = x - i
		return i < NR ? a[i] + f * (a[i + 1] - a[i]) : a[i] }
	END { printf "%.3f %.3f %.3f %.3f %.3f\n", q(0.5), a[1], a[NR], q(0.25), q(0.75) }'
}
