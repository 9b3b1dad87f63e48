#!/bin/sh
# The tree is clang-format clean (.clang-format at the top). Skipped (77)
# where clang-format is not installed.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed: skipped"; exit 77; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find server client common tests -name '*.[ch]')
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
