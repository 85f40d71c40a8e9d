#!/usr/bin/env bash
# The symbol table is valid only if adding it moved no function.
set -euo pipefail
a=$(nm --defined-only -n "$1" | awk '$2 ~ /^[tT]$/ {print $1, $3}' | md5sum)
b=$(nm --defined-only -n "$2" | awk '$2 ~ /^[tT]$/ {print $1, $3}' | md5sum)
[ "$a" = "$b" ] || { echo "ksyms: function addresses moved between links" >&2; exit 1; }
