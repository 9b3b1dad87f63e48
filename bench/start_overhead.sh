#!/bin/bash
# P1: wsctl start until ready, against a bare `docker run` of the same image
# with the same limits followed by the same readiness check (Jupyter 200
# with the token, SSH banner). Alternating pairs; prints each pair and the
# median ratio. Run as root after a build; uses the integration harness.
#
# usage: bench/start_overhead.sh [PAIRS]
. "$(dirname "$0")/../tests/integration/lib.sh"
PAIRS=${1:-10}
PORT_BASE=23000
setup_all
U=wslab-bench
make_user $U
start_wsd
HOME_U=$(getent passwd $U | cut -d: -f6)
UID_U=$(id -u $U)
GID_U=$(id -g $U)
mkdir -p "$T/bare/etc" "$T/bare/home"
chown "$UID_U:$GID_U" "$T/bare/home"
now() { date +%s.%N; }

bare_once() {
	local tok etc=$T/bare/etc t0 t1 cid
	rm -rf "$etc"; mkdir -p "$etc"
	tok=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s' "$tok" >"$etc/jupyter_token"
	ssh-keygen -q -t ed25519 -N '' -f "$etc/ssh_host_ed25519_key"
	cp "$HOME_U/.ssh/id_ed25519.pub" "$etc/authorized_keys"
	printf 'root:x:0:0::/root:/bin/sh\n%s:x:%s:%s::/home/%s:/bin/bash\n' $U $UID_U $GID_U $U >"$etc/passwd"
	printf 'root:x:0:\n%s:x:%s:\n' $U $GID_U >"$etc/group"
	chown "$UID_U:$GID_U" "$etc/jupyter_token" "$etc/ssh_host_ed25519_key"
	chmod 400 "$etc/jupyter_token"
	t0=$(now)
	cid=$(docker run -d --user "$UID_U:$GID_U" --init --cap-drop ALL --security-opt no-new-privileges \
		--pids-limit 4096 --memory 1g --memory-swap 1g --shm-size 128m --cpus 1 \
		-v "$T/bare/home:/home/$U" -v "$etc:/etc/wslab:ro" -v "$etc/passwd:/etc/passwd:ro" \
		-v "$etc/group:/etc/group:ro" -e HOME=/home/$U -e USER=$U \
		-p 127.0.0.1:23900:8888 -p 127.0.0.1:23901:2222 "$IMAGE")
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:23900/api/status?token=$tok")" = 200 ] &&
		ssh-keyscan -p 23901 127.0.0.1 2>/dev/null | grep -q ssh-ed25519; do sleep 0.05; done
	t1=$(now)
	docker rm -f "$cid" >/dev/null
	echo "$t1 - $t0" | bc
}

wsctl_once() {
	local t0 t1
	t0=$(now)
	as $U "$WSCTL" start --name bench >/dev/null || echo "start failed" >&2
	t1=$(now)
	as $U "$WSCTL" stop bench >/dev/null
	echo "$t1 - $t0" | bc
}

printf '%-4s %8s %8s %6s\n' pair wsctl bare ratio
ratios=()
for i in $(seq 1 "$PAIRS"); do
	w=$(wsctl_once)
	b=$(bare_once)
	r=$(echo "scale=3; $w / $b" | bc)
	ratios+=("$r")
	printf '%-4s %8.3f %8.3f %6.3f\n' "$i" "$w" "$b" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median ratio %.3f (min %.3f, max %.3f)\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR]}'
cleanup
