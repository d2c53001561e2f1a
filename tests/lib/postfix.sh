# postfix.sh - a private, throw-away Postfix instance for end-to-end tests
# (source tests/lib/net.sh, then this, from a POSIX sh script; run as root).
#
# The instance lives in one temporary directory: its own main.cf/master.cf,
# queue, data directory, log file (no syslog here: postlogd writes
# DIR/maillog) and ONE Maildir (DIR/mail/box/) that receives every message
# for example.com, DSNs included.  Mail to any other domain is discarded.
# smtpd listens on 127.0.0.1:PF_PORT only; nothing touches the system's own
# Postfix or DNS.  Every wait is a bounded loop (at most PF_WAIT tenths of
# a second) that gives up by itself.
#
#   pf_init MILTER_SOCKET   make the directory and write the configuration
#                           (MILTER_SOCKET: an absolute path, a full milter
#                           spec such as inet:127.0.0.1:PORT, or empty);
#                           sets PF_DIR, PF_CONF (its config directory, for
#                           postfix -c / postqueue -c / sendmail -C), PF_PORT,
#                           PF_MAILDIR, PF_MAILLOG
#   pf_start / pf_stop      start (and wait for the port) / stop (bounded)
#   pf_cleanup              stop if running, remove PF_DIR (for a trap)
#   pf_wait_listen          wait until smtpd's port listens
#   pf_wait_queue_empty     wait until the queue is empty
#   pf_wait_maildir N       wait until the Maildir holds N messages
#   pf_wait_log ERE         wait until the maillog has a matching line
#   pf_wait_file FILE STR   wait until FILE has a line holding STR
#   pf_maildir_count        number of messages in the Maildir
#   pf_sendmail ARG...      the instance's own sendmail(1) (postdrop/pickup)
#   pf_swaks ARG...         swaks against the instance's smtpd
#
# Conventions: functions return 0 on success, 1 on failure and never exit;
# they print diagnostics on stderr.

PF_WAIT=${PF_WAIT:-100}		# tenths of a second a wait may take

# pf_init MILTER_SOCKET - create the instance directory and configuration.
# MILTER_SOCKET is an absolute path (Postfix runs unchrooted here), a full
# milter spec in Postfix syntax (unix:/path, inet:HOST:PORT), or empty.
pf_init() {
	PF_SOCKET=$1
	PF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sendguard-pf.XXXXXX") || return 1
	# smtpd runs as postfix, virtual(8) as nobody: both must get through.
	chmod 755 "$PF_DIR"
	PF_PORT=$(net_pick_port) || return 1
	PF_MAILDIR=$PF_DIR/mail/box
	PF_MAILLOG=$PF_DIR/maillog
	PF_VUID=$(id -u nobody) && PF_VGID=$(id -g nobody) || return 1

	# The configuration gets a directory of its own: "postfix start"
	# checks that everything under it is root's.
	PF_CONF=$PF_DIR/etc
	mkdir -p "$PF_CONF" "$PF_DIR/queue" "$PF_DIR/data" "$PF_DIR/mail" ||
	    return 1
	# The queue directory belongs to root; post-install (run by
	# "postfix start") creates its subdirectories with the package's
	# owners and modes, maildrop postfix:postdrop 1730 included, so
	# postdrop (set-gid postdrop) can drop local submissions.  The data
	# directory must be postfix's (master.lock), the mail base virtual's.
	chown postfix "$PF_DIR/data" || return 1
	chown "$PF_VUID:$PF_VGID" "$PF_DIR/mail" || return 1
	: >"$PF_MAILLOG"

	if [ -n "$PF_SOCKET" ]; then
		case $PF_SOCKET in
		unix:* | inet:* | inet6:*) _pf_milters=$PF_SOCKET ;;
		*) _pf_milters="unix:$PF_SOCKET" ;;
		esac
	else
		_pf_milters=""
	fi

	cat >"$PF_CONF/main.cf" <<EOF
# Private test instance, written by tests/lib/postfix.sh.
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop

# Logging without syslog: postlogd (master.cf "postlog") writes the file.
maillog_file = $PF_MAILLOG
maillog_file_prefixes = $PF_DIR

# Names are fixed, nothing waits on DNS.
myhostname = mx.sendguard.test
mydomain = sendguard.test
myorigin = \$myhostname
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
append_dot_mydomain = no
biff = no

# Loopback only; relay for loopback clients.
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_auth_enable = no
smtpd_banner = \$myhostname ESMTP sendguard-test
smtpd_error_sleep_time = 0
in_flow_delay = 0

# No local delivery; example.com into one Maildir; everything else dropped.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
virtual_mailbox_domains = example.com
virtual_mailbox_base = $PF_DIR/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:$PF_VUID
virtual_gid_maps = static:$PF_VGID
default_transport = discard
relay_transport = discard
delay_warning_time = 0

# The milter under test, for SMTP and for sendmail(1) submissions.  If it
# is down, mail is tempfailed, never lost.  Short timeouts keep a stuck
# milter from stalling a test.
smtpd_milters = $_pf_milters
non_smtpd_milters = $_pf_milters
milter_default_action = tempfail
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 10s
EOF

	# Only the services a test needs; chroot column "n" everywhere.
	cat >"$PF_CONF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$PF_PORT inet n -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	return 0
}

# pf_master_pid - print the master's pid if it is running
pf_master_pid() {
	_pf_pidf=$PF_DIR/queue/pid/master.pid
	[ -f "$_pf_pidf" ] || return 1
	_pf_pid=$(tr -dc 0-9 <"$_pf_pidf")
	[ -n "$_pf_pid" ] && kill -0 "$_pf_pid" 2>/dev/null || return 1
	echo "$_pf_pid"
}

# pf_start - start the instance and wait until smtpd listens
pf_start() {
	if ! postfix -c "$PF_CONF" start >"$PF_DIR/start.out" 2>&1; then
		echo "pf_start: postfix -c $PF_CONF start failed:" >&2
		cat "$PF_DIR/start.out" "$PF_MAILLOG" >&2
		return 1
	fi
	pf_wait_listen
}

# pf_wait_listen - wait until 127.0.0.1:PF_PORT listens
pf_wait_listen() {
	_pf_i=0
	while [ "$_pf_i" -lt "$PF_WAIT" ]; do
		net_port_listening "$PF_PORT" && return 0
		net_sleep_tick
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_wait_listen: nothing listens on 127.0.0.1:$PF_PORT" >&2
	return 1
}

# pf_queue_empty - is the instance's queue empty?
pf_queue_empty() {
	postqueue -c "$PF_CONF" -p 2>/dev/null | grep -q '^Mail queue is empty'
}

# pf_wait_queue_empty - wait until every message has left the queue
pf_wait_queue_empty() {
	_pf_i=0
	while [ "$_pf_i" -lt "$PF_WAIT" ]; do
		pf_queue_empty && return 0
		net_sleep_tick
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_wait_queue_empty: queue not empty:" >&2
	postqueue -c "$PF_CONF" -p >&2
	return 1
}

# pf_maildir_count - print how many messages the Maildir holds
pf_maildir_count() {
	find "$PF_MAILDIR/new" "$PF_MAILDIR/cur" -type f 2>/dev/null | wc -l |
	    tr -d ' '
}

# pf_wait_maildir N - wait until the Maildir holds at least N messages
pf_wait_maildir() {
	_pf_i=0
	while [ "$_pf_i" -lt "$PF_WAIT" ]; do
		[ "$(pf_maildir_count)" -ge "$1" ] && return 0
		net_sleep_tick
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_wait_maildir: $(pf_maildir_count) messages, wanted $1" >&2
	return 1
}

# _pf_wait_grep FLAG PATTERN FILE - wait until FILE has a line matching
# PATTERN (grep -FLAG)
_pf_wait_grep() {
	_pf_i=0
	while [ "$_pf_i" -lt "$PF_WAIT" ]; do
		grep -q"$1" -- "$2" "$3" 2>/dev/null && return 0
		net_sleep_tick
		_pf_i=$((_pf_i + 1))
	done
	return 1
}

# pf_wait_log ERE - wait until the maillog has a line matching ERE
pf_wait_log() {
	_pf_wait_grep E "$1" "$PF_MAILLOG" && return 0
	echo "pf_wait_log: no maillog line matches: $1" >&2
	return 1
}

# pf_wait_file FILE STRING - wait until FILE has a line holding STRING
pf_wait_file() {
	_pf_wait_grep F "$2" "$1" && return 0
	echo "pf_wait_file: no line of $1 holds: $2" >&2
	return 1
}

# pf_sendmail ARG... - submit with the instance's sendmail (via postdrop)
pf_sendmail() {
	sendmail -C "$PF_CONF" "$@"
}

# pf_swaks ARG... - talk SMTP to the instance's smtpd (bounded by --timeout)
pf_swaks() {
	swaks --server 127.0.0.1 --port "$PF_PORT" --timeout 10 \
	    --helo client.sendguard.test "$@"
}

# pf_stop - stop the instance; wait (bounded) for the master to exit
pf_stop() {
	[ -n "${PF_DIR:-}" ] || return 0
	_pf_mpid=$(pf_master_pid) || return 0
	postfix -c "$PF_CONF" stop >/dev/null 2>&1
	_pf_i=0
	while [ "$_pf_i" -lt "$PF_WAIT" ]; do
		kill -0 "$_pf_mpid" 2>/dev/null || return 0
		net_sleep_tick
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_stop: master $_pf_mpid still running; aborting" >&2
	postfix -c "$PF_CONF" abort >/dev/null 2>&1
	kill -KILL "$_pf_mpid" 2>/dev/null
	return 1
}

# pf_cleanup - stop the instance and remove its directory (trap-safe)
pf_cleanup() {
	[ -n "${PF_DIR:-}" ] || return 0
	pf_stop
	case $PF_DIR in
	*/sendguard-pf.*) rm -rf "$PF_DIR" ;;
	esac
	PF_DIR=
}
