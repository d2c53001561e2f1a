#!/bin/sh
# deps.sh PKG... - install the Debian packages that are missing, as root or
# through sudo.  Postfix is preseeded to "No configuration": the tests run
# private instances and never touch the system's own.
set -eu
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=""
elif command -v sudo >/dev/null 2>&1; then
	as_root="sudo"
else
	echo "deps.sh: missing Debian packages:$missing; install them as root" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
echo "postfix postfix/main_mailer_type select No configuration" |
	$as_root debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once and retry.
# shellcheck disable=SC2086
$as_root apt-get install -y -q --no-install-recommends $missing ||
	{ $as_root apt-get update -q && \
	  $as_root apt-get install -y -q --no-install-recommends $missing; }
