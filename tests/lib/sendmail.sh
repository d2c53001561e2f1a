# sendmail.sh - a private, throw-away Sendmail 8.17 for end-to-end tests,
# run beside the system's Postfix (source tests/lib/net.sh, then this, from
# a POSIX sh script; run as root).
#
# Debian's sendmail conflicts with postfix, so it is not installed: the
# packages sendmail-bin, sendmail-cf, m4 and libwrap0 are fetched once with
# "apt-get download" into a cache directory and unpacked with "dpkg -x" into
# the instance's temporary directory, where m4 builds sendmail.cf (the MTA,
# with the milter) and submit.cf (the MSP) from .mc files.  The MTA listens
# on 127.0.0.1:SM_PORT only, offers SMTP AUTH (PLAIN, LOGIN) from a Cyrus
# sasldb, and hands every message, whatever its domain, to one mailer that
# files it in SM_MAIL/RCPT/new/ (nothing leaves the machine).
#
# Sendmail's pitfalls, each handled here: it sleeps 60 s at start when the
# host name has no dot, reads Sendmail.conf (SASL) only from compiled-in
# paths and resolves names through the system's DNS.  So every sendmail
# process runs under "unshare --uts --mount" with the host name
# mx.sendguard.test and, bind-mounted in that private mount namespace only,
# the instance's sasl directory over /usr/lib/sasl2 and its own hosts and
# nsswitch.conf (hosts: files) over /etc.  The unpacked binary is set-gid,
# which would make the loader ignore LD_LIBRARY_PATH (for the unpacked
# libwrap): the bit is removed.  A "local:" milter socket under /tmp needs
# DontBlameSendmail=TrustStickyBit.  Sendmail logs nothing here (no
# syslog): the SMTP transcripts and the delivered files are the evidence.
#
#   sm_fetch CACHE          make sure CACHE holds the four packages
#   sm_init CACHE           make the directory and write the configuration;
#                           sets SM_DIR, SM_PORT, SM_MAIL and SM_SOCKET,
#                           the unix socket where the MTA expects the milter
#   sm_add_user LOGIN PASS  add a SASL user (LOGIN user@realm or user)
#   sm_start / sm_stop      start (and wait for the port) / stop (bounded)
#   sm_cleanup              stop if running, remove SM_DIR (for a trap)
#   sm_swaks ARG...         swaks against the instance
#   sm_submit ARG...        the instance's MSP: sendmail -C submit.cf ARG...
#   sm_mail_count RCPT      messages filed for RCPT
#   sm_wait_mail RCPT N     wait until RCPT has at least N messages
#   sm_mail_with RCPT TEXT  print the file for RCPT that holds TEXT
#
# Conventions: functions return 0 on success, 1 on failure and never exit;
# they print diagnostics on stderr.  Every wait is a bounded loop of at
# most SM_WAIT tenths of a second.

SM_WAIT=${SM_WAIT:-100}		# tenths of a second a wait may take
SM_HOST=mx.sendguard.test
SM_PKGS="sendmail-bin sendmail-cf m4 libwrap0"

# sm_fetch CACHE - download the packages into CACHE unless a complete set
# is there already (a stamp marks it, so an interrupted download is redone)
sm_fetch() {
	[ -f "$1/complete" ] && return 0
	mkdir -p "$1" || return 1
	rm -f "$1"/*.deb
	# apt-get download works without root; as root it warns that the
	# _apt sandbox user cannot write here, which is harmless.
	# shellcheck disable=SC2086
	if ! (cd "$1" && apt-get download -q $SM_PKGS) >"$1/download.log" 2>&1
	then
		# A fresh machine may have no package lists yet.
		echo "sm_fetch: apt-get download failed; updating the lists" >&2
		apt-get update -q >>"$1/download.log" 2>&1
		# shellcheck disable=SC2086
		(cd "$1" && apt-get download -q $SM_PKGS) >>"$1/download.log" 2>&1 || {
			echo "sm_fetch: apt-get download $SM_PKGS failed:" >&2
			cat "$1/download.log" >&2
			return 1
		}
	fi
	: >"$1/complete"
}

# sm_init CACHE - unpack Sendmail and write its configuration
sm_init() {
	sm_fetch "$1" || return 1
	SM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sendguard-sm.XXXXXX") || return 1
	SM_SOCKET=$SM_DIR/milter.sock
	# The MSP runs as "mail" and must reach submit.cf and its queue.
	chmod 755 "$SM_DIR"
	SM_PORT=$(net_pick_port) || return 1
	SM_MAIL=$SM_DIR/mail
	mkdir -p "$SM_DIR/root" "$SM_DIR/mqueue" "$SM_DIR/clientmqueue" \
	    "$SM_DIR/sasl" "$SM_MAIL" || return 1
	chown mail "$SM_DIR/clientmqueue" && chmod 770 "$SM_DIR/clientmqueue" ||
	    return 1
	for _sm_deb in "$1"/*.deb; do
		dpkg -x "$_sm_deb" "$SM_DIR/root" || {
			echo "sm_init: dpkg -x $_sm_deb failed" >&2
			return 1
		}
	done
	SM_BIN=$SM_DIR/root/usr/libexec/sendmail/sendmail
	SM_CFDIR=$SM_DIR/root/usr/share/sendmail/cf
	_sm_wrap=$(find "$SM_DIR/root/usr/lib" -name libwrap.so.0 | head -n 1)
	if [ ! -x "$SM_BIN" ] || [ ! -d "$SM_CFDIR" ] || [ -z "$_sm_wrap" ]; then
		echo "sm_init: the unpacked packages lack sendmail, cf or libwrap" >&2
		return 1
	fi
	chmod g-s "$SM_BIN" || return 1

	# The private namespace every sendmail process runs in.
	cat >"$SM_DIR/ns.sh" <<EOF
# Run "\$@" as Sendmail on $SM_HOST: under unshare --uts --mount only.
hostname $SM_HOST || exit 71
mount --bind $SM_DIR/sasl /usr/lib/sasl2 || exit 71
mount --bind $SM_DIR/hosts /etc/hosts || exit 71
mount --bind $SM_DIR/nsswitch.conf /etc/nsswitch.conf || exit 71
LD_LIBRARY_PATH=$(dirname "$_sm_wrap")
export LD_LIBRARY_PATH
exec "\$@"
EOF
	printf '127.0.0.1\t%s localhost\n127.0.0.2\tclient.sendguard.test\n' \
	    "$SM_HOST" >"$SM_DIR/hosts"
	printf 'passwd: files\ngroup: files\nhosts: files\n' \
	    >"$SM_DIR/nsswitch.conf"
	printf 'hosts\tfiles\n' >"$SM_DIR/service.switch"
	: >"$SM_DIR/local-host-names"
	: >"$SM_DIR/trusted-users"
	cat >"$SM_DIR/sasl/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $SM_DIR/sasldb2
mech_list: PLAIN LOGIN
EOF

	# The one mailer: RCPT's message into SM_MAIL/RCPT/new, Maildir-style.
	cat >"$SM_DIR/deliver" <<EOF
#!/bin/sh
# deliver RCPT - file the message on stdin for RCPT (sendmail's testbox)
d=$SM_MAIL/\$1
mkdir -p "\$d/tmp" "\$d/new" || exit 75
f=\$(date +%s).\$\$
cat >"\$d/tmp/\$f" && mv "\$d/tmp/\$f" "\$d/new/\$f" || exit 75
EOF
	chmod 755 "$SM_DIR/deliver"

	# m4 quotes with ` and ': the .mc files are quoted here-documents
	# with @NAME@ placeholders (sm_subst).
	sm_subst >"$SM_DIR/sendmail.mc" <<'EOF'
divert(-1)
Private test MTA written by tests/lib/sendmail.sh.
divert(0)dnl
include(`@CFDIR@/m4/cf.m4')dnl
VERSIONID(`sendguard test MTA')dnl
OSTYPE(`linux')dnl
dnl Everything in the instance directory, nothing from /etc/mail.
define(`QUEUE_DIR', `@DIR@/mqueue')dnl
define(`STATUS_FILE', `@DIR@/statistics')dnl
define(`confPID_FILE', `@DIR@/sendmail.pid')dnl
define(`confCW_FILE', `@DIR@/local-host-names')dnl
define(`confCT_FILE', `@DIR@/trusted-users')dnl
define(`confHELP_FILE', `')dnl
undefine(`ALIAS_FILE')dnl
define(`PROCMAIL_MAILER_PATH', `@DIR@/deliver')dnl
dnl Names are fixed, nothing waits on DNS.
define(`confDOMAIN_NAME', `@HOST@')dnl
define(`confSERVICE_SWITCH_FILE', `@DIR@/service.switch')dnl
define(`confHOSTS_FILE', `@DIR@/hosts')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
dnl The milter socket lives under /tmp (sticky, world-writable).
define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
dnl SMTP AUTH from the sasldb; an authenticated client may relay.
define(`confAUTH_MECHANISMS', `PLAIN LOGIN')dnl
TRUST_AUTH_MECH(`PLAIN LOGIN')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Port=@PORT@, Addr=127.0.0.1, Name=MTA')dnl
LOCAL_DOMAIN(`example.com')dnl
dnl The milter under test; F=T: tempfail while it is unavailable.
INPUT_MAIL_FILTER(`sendguard', `S=local:@SOCKET@, F=T, T=C:10s;S:30s;R:30s;E:5m')dnl
MAILER(`smtp')dnl
MAILER_DEFINITIONS
Mtestbox, P=@DIR@/deliver, F=lsDFMhnuS, S=EnvFromL/HdrFromL, R=EnvToL/HdrToL, T=DNS/RFC822/X-Unix, A=deliver $u
LOCAL_RULE_0
R$+ < @ $+ . > $*	$#testbox $@ $2 $: $1@$2
R$+ < @ $+ > $*	$#testbox $@ $2 $: $1@$2
EOF

	# The MSP: what sendmail(1) is for users; it submits over SMTP to
	# the MTA above (its own queue, run as "mail", never root).
	sm_subst >"$SM_DIR/submit.mc" <<'EOF'
divert(-1)
Private test MSP written by tests/lib/sendmail.sh.
divert(0)dnl
include(`@CFDIR@/m4/cf.m4')dnl
VERSIONID(`sendguard test MSP')dnl
define(`confCF_VERSION', `Submit')dnl
define(`__OSTYPE__', `')dnl
define(`confTIME_ZONE', `USE_TZ')dnl
define(`confDONT_INIT_GROUPS', `True')dnl
define(`MSP_QUEUE_DIR', `@DIR@/clientmqueue')dnl
define(`confRUN_AS_USER', `mail')dnl
define(`confCT_FILE', `@DIR@/trusted-users')dnl
define(`confDOMAIN_NAME', `@HOST@')dnl
define(`confSERVICE_SWITCH_FILE', `@DIR@/service.switch')dnl
define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
define(`RELAY_MAILER_ARGS', `TCP $h @PORT@')dnl
FEATURE(`msp', `[127.0.0.1]')dnl
EOF
	_sm_m4=$SM_DIR/root/usr/bin/m4
	for _sm_cf in sendmail submit; do
		if ! "$_sm_m4" "$SM_DIR/$_sm_cf.mc" >"$SM_DIR/$_sm_cf.cf" \
		    2>"$SM_DIR/$_sm_cf.m4err" || [ -s "$SM_DIR/$_sm_cf.m4err" ]
		then
			echo "sm_init: m4 $_sm_cf.mc failed:" >&2
			cat "$SM_DIR/$_sm_cf.m4err" >&2
			return 1
		fi
	done
	: >"$SM_DIR/sasldb2"
	chmod 600 "$SM_DIR/sasldb2"
	return 0
}

# sm_subst - stdin to stdout with the instance's @NAME@ placeholders filled
sm_subst() {
	sed -e "s|@DIR@|$SM_DIR|g" -e "s|@CFDIR@|$SM_CFDIR|g" \
	    -e "s|@HOST@|$SM_HOST|g" -e "s|@PORT@|$SM_PORT|g" \
	    -e "s|@SOCKET@|$SM_SOCKET|g"
}

# sm_add_user LOGIN PASSWORD - a SASL user; user@realm splits at the last @
sm_add_user() {
	case $1 in
	*@*) _sm_user=${1%@*} _sm_realm=${1##*@} ;;
	*) _sm_user=$1 _sm_realm=$SM_HOST ;;
	esac
	printf '%s' "$2" | saslpasswd2 -p -c -f "$SM_DIR/sasldb2" \
	    -u "$_sm_realm" "$_sm_user"
}

# sm_ns CMD... - run CMD in the instance's private UTS and mount namespace
sm_ns() {
	unshare --uts --mount sh "$SM_DIR/ns.sh" "$@"
}

# sm_pid - print the daemon's pid if it is running
sm_pid() {
	[ -f "$SM_DIR/sendmail.pid" ] || return 1
	_sm_pid=$(head -n 1 "$SM_DIR/sendmail.pid" | tr -dc 0-9)
	[ -n "$_sm_pid" ] && proc_alive "$_sm_pid" || return 1
	echo "$_sm_pid"
}

# sm_start - start the daemon (it detaches) and wait until it listens
sm_start() {
	if ! sm_ns "$SM_BIN" -C "$SM_DIR/sendmail.cf" -bd \
	    >"$SM_DIR/start.out" 2>&1; then
		echo "sm_start: sendmail -bd failed:" >&2
		cat "$SM_DIR/start.out" >&2
		return 1
	fi
	_sm_i=0
	while [ "$_sm_i" -lt "$SM_WAIT" ]; do
		net_port_listening "$SM_PORT" && sm_pid >/dev/null && return 0
		net_sleep_tick
		_sm_i=$((_sm_i + 1))
	done
	echo "sm_start: nothing listens on 127.0.0.1:$SM_PORT:" >&2
	cat "$SM_DIR/start.out" >&2
	return 1
}

# sm_stop - SIGTERM the daemon; wait (bounded) for it to exit
sm_stop() {
	[ -n "${SM_DIR:-}" ] || return 0
	_sm_dpid=$(sm_pid) || return 0
	kill -TERM "$_sm_dpid"
	_sm_i=0
	while [ "$_sm_i" -lt "$SM_WAIT" ]; do
		proc_alive "$_sm_dpid" || return 0
		net_sleep_tick
		_sm_i=$((_sm_i + 1))
	done
	echo "sm_stop: sendmail $_sm_dpid ignored SIGTERM; killing it" >&2
	kill -KILL "$_sm_dpid" 2>/dev/null
	return 1
}

# sm_cleanup - stop the instance and remove its directory (trap-safe)
sm_cleanup() {
	[ -n "${SM_DIR:-}" ] || return 0
	sm_stop
	case $SM_DIR in
	*/sendguard-sm.*) rm -rf "$SM_DIR" ;;
	esac
	SM_DIR=
}

# sm_swaks ARG... - talk SMTP to the instance (bounded by --timeout)
sm_swaks() {
	swaks --server 127.0.0.1 --port "$SM_PORT" --timeout 30 \
	    --helo client.sendguard.test "$@"
}

# sm_submit ARG... - submit through the instance's MSP (submit.cf)
sm_submit() {
	sm_ns "$SM_BIN" -C "$SM_DIR/submit.cf" "$@"
}

# sm_mail_count RCPT - print how many messages were filed for RCPT
sm_mail_count() {
	find "$SM_MAIL/$1/new" -type f 2>/dev/null | wc -l | tr -d ' '
}

# sm_wait_mail RCPT N - wait until RCPT has at least N messages
sm_wait_mail() {
	_sm_i=0
	while [ "$_sm_i" -lt "$SM_WAIT" ]; do
		[ "$(sm_mail_count "$1")" -ge "$2" ] && return 0
		net_sleep_tick
		_sm_i=$((_sm_i + 1))
	done
	echo "sm_wait_mail: $(sm_mail_count "$1") messages for $1, wanted $2" >&2
	return 1
}

# sm_mail_with RCPT TEXT - print the file filed for RCPT that holds TEXT
sm_mail_with() {
	grep -lF -- "$2" "$SM_MAIL/$1"/new/* 2>/dev/null | head -n 1
}
