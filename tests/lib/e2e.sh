# e2e.sh - what the end-to-end shell tests share (source it after tap.sh
# and postfix.sh, POSIX sh): starting and stopping the sendguard under
# test, sending with swaks, and reading the server's replies from swaks'
# transcripts.  The caller sets SENDGUARD, SG_CONF, SG_LOG and SG_SOCK.
# Every wait is bounded by PF_WAIT tenths of a second.

SG_PID=

REPLY1="550-5.1.8 Your message couldn't be delivered because you weren't recognized as a valid sender. The most common reason for this is that your email address is suspected of sending spam and it's no longer allowed to send email. Contact your email admin for assistance."
REPLY2="550 5.1.8 Access denied, bad outbound sender"

# --- processes ------------------------------------------------------------

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
		if unix_listening "$SG_SOCK"; then
			# sendguard runs as root and makes the socket
			# socket_mode (0660); smtpd and cleanup run as
			# postfix and connect through the group, as in a
			# real set-up with the socket in Postfix's group.
			chgrp postfix "$SG_SOCK"
			return
		fi
		proc_alive "$SG_PID" || break
		pf_sleep_tick
		_i=$((_i + 1))
	done
	echo "# sendguard does not listen on $SG_SOCK; its log:"
	tap_diag "$SG_LOG"
	return 1
}

# stop_pid PID NAME - SIGTERM a child of ours, wait (bounded) for it to
# exit, SIGKILL it past that, reap it; 1 if it had to be killed
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	_i=0
	while [ "$_i" -lt "$PF_WAIT" ] && proc_alive "$1"; do
		pf_sleep_tick
		_i=$((_i + 1))
	done
	_rc=0
	if proc_alive "$1"; then
		echo "# $2 $1 ignored SIGTERM for $((PF_WAIT / 10)) s; killing it"
		kill -KILL "$1" 2>/dev/null
		_rc=1
	fi
	wait "$1" 2>/dev/null
	return $_rc
}

# sg_stop - stop sendguard (stop_pid)
sg_stop() {
	[ -n "$SG_PID" ] || return 0
	_pid=$SG_PID
	SG_PID=
	stop_pid "$_pid" sendguard
}

# e2e_prereq TOOL|/PATH... - skip the test without root; fail it (and
# exit) when a command or an executable file is missing
e2e_prereq() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root (a private Postfix instance)"
		exit 0
	fi
	_missing=
	for _t in "$@"; do
		case $_t in
		/*) [ -x "$_t" ] || _missing="$_missing $_t" ;;
		*) command -v "$_t" >/dev/null 2>&1 || _missing="$_missing $_t" ;;
		esac
	done
	if [ -n "$_missing" ]; then
		tap_fail "prerequisites present" \
		    "missing:$_missing (make check installs and builds them)"
		tap_done
		exit 1
	fi
}

# e2e_instance - a private Postfix instance without milters (pf_init),
# and sendguard's files in it: SG_SOCK, SG_DB, SG_CONF, SG_LOG; T is a
# directory for transcripts
e2e_instance() {
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
}

# e2e_finish - at exit, once the caller stopped its daemons: on a failure
# show sendguard's log and Postfix's; stop and remove the instance
# (KEEP=1 keeps its directory)
e2e_finish() {
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
}

# --- SMTP transcripts -----------------------------------------------------

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

REFUSAL=$(printf '<** %s\n<** %s' "$REPLY1" "$REPLY2")

# expect_refusal WHAT FILE ERE - the reply to the client line ERE is
# exactly the two-line refusal
expect_refusal() {
	tap_eq "$1" "$(reply_after "$2" "$3")" "$REFUSAL" ||
	    transcript_diag "$2"
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

END_OF_DATA='^\.$'
# maildir_file_with STRING - print the Maildir file holding STRING
maildir_file_with() {
	grep -lF -- "$1" "$PF_MAILDIR"/new/* "$PF_MAILDIR"/cur/* \
	    2>/dev/null | head -n 1
}
