#!/bin/sh
# install_test.sh - "make install DESTDIR=..." puts every file where it
# belongs, with the unit's paths filled in, and a second install keeps an
# existing configuration.  The unit is checked with systemd-analyze verify
# (package systemd, installed by make check: without it, a failure, not a
# silent skip).  Prints TAP lines.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/tap.sh

DIR=$(mktemp -d /tmp/sendguard-install.XXXXXX) || exit 2
trap 'rm -rf "$DIR"' EXIT
trap 'exit 1' INT TERM
D=$DIR/root

make --no-print-directory install DESTDIR="$D" PREFIX=/usr/local \
    >"$DIR/make.out" 2>&1
tap_eq "make install DESTDIR=... PREFIX=/usr/local succeeds" "$?" 0
for f in usr/local/sbin/sendguard usr/local/sbin/sendguardctl \
    usr/local/share/man/man8/sendguard.8 \
    usr/local/share/man/man8/sendguardctl.8 \
    usr/local/share/man/man5/sendguard.conf.5 etc/sendguard/sendguard.conf \
    usr/local/lib/systemd/system/sendguard.service; do
	tap_check "installs /$f" test -f "$D/$f"
done
tap_check "the binary is executable" test -x "$D/usr/local/sbin/sendguard"
tap_check "sendguardctl is executable" test -x "$D/usr/local/sbin/sendguardctl"
tap_eq "the installed binary runs" \
    "$("$D/usr/local/sbin/sendguard" -V)" "$(./sendguard -V)"
tap_check "the sample configuration installed is valid" \
    "$D/usr/local/sbin/sendguard" -n -c "$D/etc/sendguard/sendguard.conf"
unit=$D/usr/local/lib/systemd/system/sendguard.service
tap_grep "the unit runs the installed binary" "$unit" \
    "ExecStart=/usr/local/sbin/sendguard -c /etc/sendguard/sendguard.conf"
tap_eq "no placeholder is left in the unit" "$(grep -c '@' "$unit")" 0

echo "# edited by the admin" >>"$D/etc/sendguard/sendguard.conf"
make --no-print-directory install DESTDIR="$D" PREFIX=/usr/local \
    >"$DIR/make2.out" 2>&1
tap_eq "a second make install succeeds" "$?" 0
tap_grep "and keeps the existing configuration" \
    "$D/etc/sendguard/sendguard.conf" "# edited by the admin"
tap_grep "saying so" "$DIR/make2.out" "sendguard.conf exists: not replaced"

make --no-print-directory install DESTDIR="$DIR/opt" PREFIX=/opt/sg \
    >"$DIR/make3.out" 2>&1
tap_check "PREFIX=/opt/sg: the binary goes to /opt/sg/sbin" \
    test -x "$DIR/opt/opt/sg/sbin/sendguard"
tap_grep "and the unit follows it" \
    "$DIR/opt/opt/sg/lib/systemd/system/sendguard.service" \
    "ExecStart=/opt/sg/sbin/sendguard -c"

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants the ExecStart binary where the unit says: point a
	# copy at the DESTDIR tree.  It exits 0 on mere warnings, so any
	# line naming our unit is a failure.
	mkdir "$DIR/verify"
	sed "s|/usr/local/sbin|$D/usr/local/sbin|g" "$unit" \
	    >"$DIR/verify/sendguard.service"
	systemd-analyze verify --man=no "$DIR/verify/sendguard.service" \
	    >"$DIR/verify.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q 'sendguard\.service' "$DIR/verify.out"
	then
		tap_ok "systemd-analyze verify finds nothing wrong with the unit"
	else
		tap_fail "systemd-analyze verify finds nothing wrong with the unit"
		tap_diag "$DIR/verify.out"
	fi
else
	tap_fail "systemd-analyze verify finds nothing wrong with the unit" \
	    "systemd-analyze is not installed (package systemd: make deps-test)"
fi

tap_done
