#!/bin/sh
# wsctl makes every string it sends with client/args.c, which refuses a value
# jansson cannot carry (not valid UTF-8) instead of letting json_object_set_new
# leave it out of the request. No other file of client/ makes a JSON string.
cd "$(dirname "$0")/.." || exit 1
bad=$(grep -nE '\<json_(string|stringn|string_nocheck|stringn_nocheck|pack|pack_ex|sprintf|vsprintf)[[:space:]]*\(' client/*.c | grep -v '^client/args\.c:')
if [ -n "$bad" ]; then
	echo "JSON strings made outside client/args.c (use args_string, args_set, args_append):"
	echo "$bad"
	exit 1
fi
echo "client/: every JSON string is made by args.c"
