#!/bin/bash
# The client's conveniences, installed as `cmake --install` puts them:
# bash completion offers commands, template names and the user's own
# workspace names (never another user's); `wsctl templates` lists what a
# student can start.
. "$(dirname "$0")/lib.sh"
PORT_BASE=24600
setup_all
A=wslab-ca
B=wslab-cb
make_user $A
make_user $B
start_wsd "" "description = the offline test image

[template second]
image = $IMAGE
description = another one
memory = 512m"
PREFIX=$T/prefix
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null || fail "cmake --install"
COMP=$PREFIX/share/bash-completion/completions/wsctl
check "the bash completion is installed" test -r "$COMP"
check "the zsh completion is installed" test -r "$PREFIX/share/zsh/vendor-completions/_wsctl"

as $A "$PREFIX/bin/wsctl" start --name alpha >/dev/null || fail "A starts alpha"
as $B "$PREFIX/bin/wsctl" start --name bravo >/dev/null || fail "B starts bravo"

# complete USER WORDS...: what completion offers for the last word.
complete_as() {
	local u=$1
	shift
	as "$u" env PATH="$PREFIX/bin:$PATH" bash -c '
		. "$0"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_wsctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' "$COMP" "$@"
}
expect_eq "after 'wsctl stop ', A is offered A's workspace names only" "$(complete_as $A wsctl stop '')" "alpha "
expect_eq "after 'wsctl ssh ', B is offered B's" "$(complete_as $B wsctl ssh '')" "bravo "
expect_eq "after 'wsctl start --template ', the templates" "$(complete_as $A wsctl start --template '')" "offline second "
expect_eq "after 'wsctl ssh-config ', A's workspace names" "$(complete_as $A wsctl ssh-config '')" "alpha "
expect_eq "and its options after --" "$(complete_as $A wsctl ssh-config --)" "--jupyter-port --known-hosts --write "
expect_eq "ssh and ssh-config are completed" "$(complete_as $A wsctl ss)" "ssh ssh-config "
expect_match "commands are completed" "$(complete_as $A wsctl st)" '^start stop $'

out=$(as $A "$PREFIX/bin/wsctl" templates)
expect_match "wsctl templates lists the default, marked" "$out" 'offline \* +wslab/offline:1 +1g/64g'
expect_match "and the other with its description" "$out" 'second +.*another one'
expect_eq "wsctl templates --json has the templates" \
	"$(as $A "$PREFIX/bin/wsctl" templates --json | jq -r '[.templates[].name] | join(",")')" "offline,second"

as $A "$WSCTL" stop alpha >/dev/null
as $B "$WSCTL" stop bravo >/dev/null
# wsnode's bad arguments: refused with its usage, exit 2, nothing written.
WSNODE=$BUILD/server/wsnode
for args in "" "--shared-dir relative/dir" "--shared-dir /tmp --interval 0" \
	"--shared-dir /tmp --interval 601" "--shared-dir /tmp extra"; do
	# shellcheck disable=SC2086 # the words are the arguments
	out=$("$WSNODE" $args 2>&1)
	expect_eq "wsnode ${args:-without arguments}: exit 2" "$?" 2
	expect_match "wsnode ${args:-without arguments}: says how" "$out" "usage: wsnode|--interval is 1 to 600"
done
finish
