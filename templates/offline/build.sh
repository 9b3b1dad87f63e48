#!/bin/sh
# Build the offline workspace image from Debian's packages alone:
# mmdebstrap makes a root filesystem, `docker import` turns it into a base
# image, and a Dockerfile adds the wslab entrypoint. Both steps are cached
# by a hash of their inputs; a second run with the same inputs does nothing.
#
# --lite leaves PyTorch out (wslab/offline-lite:1, a third of the size):
# for tests that copy the image to other engines, e.g. the swarm test's nodes.
#
# usage: templates/offline/build.sh [--image NAME] [--lite] [--force]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
ctx=$(dirname "$here")
image=
force=0
lite=0
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=$2; shift 2 ;;
	--lite) lite=1; shift ;;
	--force) force=1; shift ;;
	-h | --help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

suite=bookworm
packages=openssh-server,python3-notebook,python3-torch,procps,ca-certificates,bash,curl,less,git,nano
if [ $lite = 1 ]; then
	packages=openssh-server,python3-notebook,procps,ca-certificates,bash,curl,less,git,nano
	: "${image:=wslab/offline-lite:1}"
fi
: "${image:=wslab/offline:1}"

base_hash=$(printf '%s\n%s\n' "$suite" "$packages" | sha256sum | cut -c1-12)
base=wslab-debian-base:$base_hash
inputs=$( (printf '%s\n' "$base_hash"; cat "$here/Dockerfile" "$ctx/entrypoint/wslab-entrypoint" \
	"$ctx/entrypoint/sshd_config") | sha256sum | cut -c1-16)

if [ $force = 0 ] && [ "$(docker image inspect -f '{{index .Config.Labels "org.wslab.inputs"}}' "$image" 2>/dev/null)" = "$inputs" ]; then
	echo "offline image: $image is up to date ($inputs)"
	exit 0
fi

if [ $force = 1 ] || ! docker image inspect "$base" >/dev/null 2>&1; then
	echo "offline image: making the Debian $suite root filesystem (mmdebstrap, a few minutes)"
	# The host's own apt sources decide the mirror.
	mmdebstrap --quiet --variant=apt --include="$packages" \
		--customize-hook='chroot "$1" apt-get clean' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
		"$suite" - | docker import -m "wslab base $base_hash" - "$base" >/dev/null
fi

echo "offline image: building $image from $base"
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base" --build-arg INPUTS="$inputs" \
	-f "$here/Dockerfile" -t "$image" "$ctx" >/dev/null
echo "offline image: $image built ($inputs)"
