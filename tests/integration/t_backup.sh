#!/bin/bash
# Backups of wsd's state while it runs: `wsd --backup FILE` during 16
# concurrent starts gives a database that opens, passes SQLite's integrity
# check and holds every workspace and quota committed before it was taken;
# the copy is root's only (0600) and never written over an existing file.
. "$(dirname "$0")/lib.sh"
PORT_BASE=25000
setup_all
A=wslab-bka
make_user $A
# 16 starts of one user wait at once: room for them and for wsctl's other requests.
start_wsd "max_requests_per_user = 32"
DB=$T/state/wsd.db
backup() { "$WSD" --config "$T/wsd.conf" --backup "$1" >/dev/null; }

"$WSCTL" --socket "$T/wsd.sock" admin quota set --user $A --memory 8g >/dev/null || fail "a quota"
"$WSCTL" --socket "$T/wsd.sock" admin quota set --group users --gpus 0 >/dev/null || fail "a group quota"

pids=()
for i in $(seq 1 16); do
	as $A "$WSCTL" start --name b$i >"$T/start$i.out" 2>&1 &
	pids+=($!)
done
n=0 bad=0
while :; do
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	n=$((n + 1))
	before=$(sqlite3 "$DB" 'SELECT id FROM workspaces ORDER BY id')
	if ! backup "$T/bk$n.db"; then bad=$((bad + 1)); continue; fi
	[ "$(sqlite3 "$T/bk$n.db" 'PRAGMA integrity_check')" = ok ] || bad=$((bad + 1))
	[ "$(sqlite3 "$T/bk$n.db" 'SELECT COUNT(*) FROM quotas')" = 2 ] || bad=$((bad + 1))
	missing=$(comm -23 <(printf '%s\n' $before | sort) <(sqlite3 "$T/bk$n.db" 'SELECT id FROM workspaces' | sort))
	[ -z "$missing" ] || bad=$((bad + 1))
	[ "$alive" = 0 ] && break
	sleep 0.2
done
wait "${pids[@]}"
[ "$n" -ge 3 ] && pass "$n backups taken during 16 concurrent starts" || fail "only $n backups during the starts"
expect_eq "every one opens, is intact and holds every quota and every workspace committed before it" "$bad" 0
live=$(sqlite3 "$DB" 'SELECT id, name FROM workspaces ORDER BY id; SELECT resource, workspace_id FROM allocations ORDER BY 1')
backup "$T/final.db" || fail "a backup after the starts"
made=$(sqlite3 "$DB" "SELECT COUNT(*) FROM workspaces WHERE name LIKE 'b%'")
expect_eq "the 16 starts made 16 workspaces" "$made" 16
[ "$made" = 16 ] || grep -h "wsctl:" "$T"/start*.out # why a start failed (errors only: no tokens)
expect_eq "a backup after the starts holds exactly what wsd has on record: workspaces and holdings" \
	"$(sqlite3 "$T/final.db" 'SELECT id, name FROM workspaces ORDER BY id; SELECT resource, workspace_id FROM allocations ORDER BY 1')" "$live"
expect_eq "the copy is root's only" "$(stat -c '%a %U' "$T/final.db")" "600 root"
if backup "$T/final.db" 2>/dev/null; then fail "a backup wrote over an existing file"; else
	pass "a backup never writes over an existing file"; fi
ln -s /etc/passwd-wslab-test-nonexistent "$T/link.db"
if backup "$T/link.db" 2>/dev/null; then fail "a backup followed a link"; else pass "nor through a link"; fi
for i in $(seq 1 16); do as $A "$WSCTL" stop b$i >/dev/null; done
finish
