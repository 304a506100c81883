#!/bin/sh
# Prints the Debian archive URL this machine's apt already uses (never a name written here),
# for debootstrap. Reads both the one-line and the deb822 formats of /etc/apt/sources.list*.
set -eu
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}//p' \
  | tr ' ' '\n' | grep -E '^https?://[^ ]*/debian/?$' | head -1)
[ -n "$mirror" ] || { echo "debian_mirror: no Debian archive URL in /etc/apt/sources.list*" >&2; exit 1; }
echo "${mirror%/}"
