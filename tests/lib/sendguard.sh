# sendguard.sh - run sendguard beside a private Postfix (tests/lib/postfix.sh)
# and talk SMTP to it, for end-to-end tests (source it after tap.sh and
# postfix.sh, from a POSIX sh script).
#
# The caller sets SENDGUARD (the binary), SG_CONF, SG_SOCK and SG_LOG.
#
#   sg_setup TOOL...          root and the tools, a private Postfix pointed
#                             at sendguard's socket; sets SG_* and T
#   sg_start / sg_stop        start sendguard -f (wait until it listens) /
#                             SIGTERM it, wait (bounded) and reap it
#   sg_cleanup                EXIT trap: stop both, logs if a test failed
#   send OUT ARG...           one swaks session, transcript in OUT
#   reply_after FILE ERE      the server's reply to a client line
#   expect_reply WHAT FILE ERE CODE_ERE   a TAP check of one reply
#   maildir_file_with STRING  the Maildir file holding STRING
#   proc_alive PID, unix_listening PATH

SG_PID=

# sg_setup TOOL... - the start of an end-to-end test: root (else skip) and
# the tools (else one failure and exit), then a private Postfix instance
# whose milters are sendguard's socket.  Sets SG_SOCK, SG_DB, SG_CONF,
# SG_LOG and T (a scratch directory); exits the test if anything fails.
sg_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root (a private Postfix instance)"
		exit 0
	fi
	_missing=
	for _t in postfix postqueue sendmail swaks sqlite3 ss "$@"; do
		command -v "$_t" >/dev/null 2>&1 || _missing="$_missing $_t"
	done
	[ -x "$SENDGUARD" ] || _missing="$_missing $SENDGUARD"
	if [ -n "$_missing" ]; then
		tap_fail "prerequisites present" \
		    "missing:$_missing (make deps-test sendguard)"
		tap_done
		exit 1
	fi
	if ! pf_init ""; then
		tap_fail "private Postfix instance configured"
		tap_done
		exit 1
	fi
	SG_SOCK=$PF_DIR/sg.sock
	SG_DB=$PF_DIR/sg.db
	SG_CONF=$PF_DIR/sendguard.conf
	SG_LOG=$PF_DIR/sendguard.log
	T=$PF_DIR/t
	mkdir -p "$T"
	# Point the instance at sendguard (pf_init "" wrote it without).
	postconf -c "$PF_CONF" "smtpd_milters = unix:$SG_SOCK" \
	    "non_smtpd_milters = unix:$SG_SOCK"
}

# proc_alive PID - is PID running (a zombie child is not)?
proc_alive() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in
	"" | Z*) return 1 ;;
	esac
	return 0
}

# unix_listening PATH - does a process listen on the unix socket PATH?
unix_listening() {
	ss -Hxl 2>/dev/null | awk -v p="$1" '$5 == p { f = 1 } END { exit !f }'
}

# sg_start - start sendguard in the foreground (backgrounded here) and wait
# until it listens on its socket
sg_start() {
	"$SENDGUARD" -f -c "$SG_CONF" >>"$SG_LOG" 2>&1 &
	SG_PID=$!
	_i=0
	while [ "$_i" -lt "$PF_WAIT" ]; do
		# The socket is socket_mode (0660) and of the group
		# "postfix" (the group key): smtpd and cleanup connect
		# through the group, as in a real set-up.
		unix_listening "$SG_SOCK" && return
		proc_alive "$SG_PID" || break
		pf_sleep_tick
		_i=$((_i + 1))
	done
	echo "# sendguard does not listen on $SG_SOCK; its log:"
	tap_diag "$SG_LOG"
	return 1
}

# sg_stop - SIGTERM sendguard, wait (bounded) for it to exit, reap it
sg_stop() {
	[ -n "$SG_PID" ] || return 0
	kill -TERM "$SG_PID" 2>/dev/null
	_i=0
	while [ "$_i" -lt "$PF_WAIT" ] && proc_alive "$SG_PID"; do
		pf_sleep_tick
		_i=$((_i + 1))
	done
	_rc=0
	if proc_alive "$SG_PID"; then
		echo "# sendguard $SG_PID ignored SIGTERM for $((PF_WAIT / 10)) s; killing it"
		kill -KILL "$SG_PID" 2>/dev/null
		_rc=1
	fi
	wait "$SG_PID" 2>/dev/null
	SG_PID=
	return $_rc
}

# sg_cleanup - the EXIT trap: stop sendguard and Postfix, show the logs
# if anything failed, remove the instance (KEEP=1 keeps it)
sg_cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	# A reader that went away (| head) must not kill the clean-up.
	trap '' PIPE
	sg_stop
	if [ "${TAP_FAILED:-0}" -gt 0 ] && [ -n "${PF_DIR:-}" ]; then
		echo "# sendguard log:"
		tap_diag "$SG_LOG"
		echo "# Postfix maillog:"
		tap_diag "$PF_MAILLOG"
	fi
	if [ "${KEEP:-0}" = 1 ] && [ -n "${PF_DIR:-}" ]; then
		pf_stop
		echo "# kept $PF_DIR"
	else
		pf_cleanup
	fi
	exit "$_status"
}
# --- SMTP transcripts

N_MSG=0

# send OUT ARG... - one swaks session; its transcript goes to OUT.  Each
# message gets a unique Subject so it can be found in the Maildir.
send() {
	_out=$1
	shift
	N_MSG=$((N_MSG + 1))
	pf_swaks --header "Subject: sendguard e2e $N_MSG" "$@" >"$_out" 2>&1
	return 0
}

# reply_after FILE ERE - the server's reply lines (as swaks prints them,
# "<-  " or "<** " in front) to the first client line matching ERE
reply_after() {
	awk -v re="$2" '
		found && /^ (->|~>|\*\*>) / { exit }
		found && /^<[-~*]/ { print }
		!found && /^ (->|~>) / && substr($0, 5) ~ re { found = 1 }
	' "$1"
}

# transcript_diag FILE - a swaks transcript as "# " lines, EHLO lists cut
transcript_diag() {
	grep -v '^<-  250-' "$1" | sed -e 's/^/#   | /'
}

# expect_reply WHAT FILE ERE CODE_ERE - the reply to the client line ERE is
# one line whose text (without swaks' marker) matches CODE_ERE
expect_reply() {
	_got=$(reply_after "$2" "$3")
	if printf '%s\n' "$_got" | cut -c5- | grep -qE -- "$4" &&
	    [ "$(printf '%s\n' "$_got" | wc -l)" -eq 1 ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "reply to /$3/ should match /$4/, got:" "$_got"
		transcript_diag "$2"
	fi
}

# maildir_file_with STRING - print the Maildir file holding STRING
maildir_file_with() {
	grep -lF -- "$1" "$PF_MAILDIR"/new/* "$PF_MAILDIR"/cur/* \
	    2>/dev/null | head -n 1
}
