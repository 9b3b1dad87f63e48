#!/bin/sh
# From a fresh Debian 12 machine to a running wsd, as root:
# dependencies, build, install, the offline workspace image, and wsd
# started with its defaults (systemd when present, else in the background).
set -eu
cd "$(dirname "$0")/.."

./deploy/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
cmake --install build >/dev/null
./templates/offline/build.sh

install -d -m 755 /etc/wslab
[ -f /etc/wslab/wsd.conf ] || install -m 644 config/wsd.conf /etc/wslab/wsd.conf
wsd --check-config

if [ -d /run/systemd/system ]; then
	install -m 644 deploy/wsd.service /etc/systemd/system/wsd.service
	systemctl daemon-reload
	systemctl enable --now wsd
	systemctl restart wsd
	echo "wsd running under systemd: journalctl -u wsd"
else
	pkill -x wsd 2>/dev/null && sleep 1 || true
	(setsid wsd >>/var/log/wsd.log 2>&1 &)
	echo "wsd running in the background: /var/log/wsd.log"
fi
i=0
until [ -S /run/wslab/wsd.sock ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "wsd did not create /run/wslab/wsd.sock" >&2; exit 1; }
	sleep 0.2
done
echo "ready: as a student, run 'wsctl start'"
