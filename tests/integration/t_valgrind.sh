#!/bin/bash
# wsd under valgrind through a start, list, show, a refused request, a
# failed start and a stop: no invalid access, no leak (exit status 0 from
# valgrind's --error-exitcode). Skipped in sanitizer builds.
. "$(dirname "$0")/lib.sh"
PORT_BASE=22800
if ldd "$WSD" | grep -q libasan; then echo "sanitizer build: skipped"; exit 77; fi
command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }
setup_all
A=wslab-ta
make_user $A
WSD_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=9"
start_wsd "ready_timeout = 120s" "[template ghost]
image = wslab-test/never-built:1"
out=$(as $A "$WSCTL" start --name vg --json)
expect_eq "start under valgrind" "$(echo "$out" | jq -r .state)" ready
as $A "$WSCTL" ls >/dev/null
as $A "$WSCTL" show vg >/dev/null
as $A "$WSCTL" start --memory abc 2>/dev/null
as $A "$WSCTL" start --template ghost 2>/dev/null
as $A "$WSCTL" stop vg >/dev/null
expect_eq "stop under valgrind" "$?" 0
finish
