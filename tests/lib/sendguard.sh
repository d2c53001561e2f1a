# sendguard.sh - run the sendguard binary under test for an end-to-end test
# (source tests/lib/net.sh and tests/lib/tap.sh first; POSIX sh).
#
# The caller sets SENDGUARD (the binary), SG_CONF (its configuration),
# SG_SOCK (the unix socket that configuration names) and SG_LOG (where its
# -f output goes).  Every wait is bounded by SG_WAIT tenths of a second.
# SG_TEXT1 and SG_TEXT2 are the two lines of the default refusal's text.
#
#   sg_start [GROUP]    start sendguard -f in the background, wait until it
#                       listens on SG_SOCK, then give the socket to GROUP
#                       (for an MTA that connects through the group); sets
#                       SG_PID
#   sg_stop             SIGTERM, wait, SIGKILL if it ignored it, reap it
#   unix_listening PATH does a process listen on the unix socket PATH?
#   sg_require TOOL...  TAP: every TOOL is on PATH and SENDGUARD is built
#   sg_setup TOOL...    root and the tools, a private Postfix pointed at
#                       sendguard's socket; sets SG_* and T (needs
#                       postfix.sh and swaks.sh sourced too)
#   sg_cleanup          EXIT trap: stop sendguard, then sg_finish
#   sg_finish           logs if a test failed; stop and remove Postfix
#   expect_refusal WHAT FILE ERE  TAP: the reply to ERE is the refusal
#   expect_refusal_at_data WHAT FILE [LINES]
#                       TAP: the reply to DATA is the refusal (or LINES)
#                       and the client never sent the message's content
#   expect_refusal_after_data WHAT FILE
#                       TAP: DATA got 354, and the reply to the content's
#                       final dot is the refusal (spam checking on)
#   send OUT ARG...     one swaks session into the Postfix instance
#   maildir_file_with STRING  the Maildir file holding STRING

SG_WAIT=${SG_WAIT:-100}		# tenths of a second a wait may take
SG_PID=

# The two lines of sendguard's default refusal (reply.text), without code.
SG_TEXT1="Your message couldn't be delivered because you weren't recognized as a valid sender. The most common reason for this is that your email address is suspected of sending spam and it's no longer allowed to send email. Contact your email admin for assistance."
SG_TEXT2="Access denied, bad outbound sender"

# unix_listening PATH - does a process listen on the unix socket PATH?
unix_listening() {
	ss -Hxl 2>/dev/null | awk -v p="$1" '$5 == p { f = 1 } END { exit !f }'
}

# sg_start [GROUP] - start sendguard in the foreground (backgrounded here)
# and wait until it listens on its socket
sg_start() {
	"$SENDGUARD" -f -c "$SG_CONF" >>"$SG_LOG" 2>&1 &
	SG_PID=$!
	_i=0
	while [ "$_i" -lt "$SG_WAIT" ]; do
		if unix_listening "$SG_SOCK"; then
			# sendguard runs as root and makes the socket
			# socket_mode (0660): an MTA that is not root
			# connects through the group, as in a real set-up.
			[ -z "${1:-}" ] || chgrp "$1" "$SG_SOCK"
			return
		fi
		proc_alive "$SG_PID" || break
		net_sleep_tick
		_i=$((_i + 1))
	done
	echo "# sendguard does not listen on $SG_SOCK; its log:"
	tap_diag "$SG_LOG"
	return 1
}

# sg_stop - SIGTERM sendguard, wait (bounded) for it to exit, reap it
sg_stop() {
	[ -n "$SG_PID" ] || return 0
	_sg_pid=$SG_PID
	SG_PID=
	stop_pid "$_sg_pid" sendguard
}

# sg_reload - SIGHUP sendguard; true once its log says the configuration
# was reloaded (bounded: wait_for)
sg_reload() {
	_sg_n=$(grep -c 'configuration reloaded' "$SG_LOG")
	kill -HUP "$SG_PID" || return 1
	wait_for sh -c "[ \$(grep -c 'configuration reloaded' '$SG_LOG') -gt $_sg_n ]"
}

# sg_require TOOL... - one TAP line: the tools and the binary are there
sg_require() {
	_missing=
	for _t in "$@"; do
		command -v "$_t" >/dev/null 2>&1 || _missing="$_missing $_t"
	done
	[ -x "$SENDGUARD" ] || _missing="$_missing $SENDGUARD"
	if [ -n "$_missing" ]; then
		tap_fail "prerequisites present" \
		    "missing:$_missing (make deps-test sendguard)"
		return 1
	fi
	tap_ok "prerequisites present"
}

# sg_setup TOOL... - the start of an end-to-end test with Postfix: root and
# the tools (else one failure and exit), then a private Postfix instance
# whose milters are sendguard's socket.  Sets SG_SOCK, SG_DB, SG_CONF,
# SG_LOG and T (a scratch directory); exits the test if anything fails.
sg_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		# Not a skip: without root this test proves nothing.
		tap_fail "runs as root" "a private Postfix instance needs root: run make check as root"
		tap_done
		exit 1
	fi
	if ! sg_require postfix postqueue sendmail swaks sqlite3 ss "$@"; then
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

# sg_cleanup - the EXIT trap: stop sendguard, then sg_finish
sg_cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	# A reader that went away (| head) must not kill the clean-up.
	trap '' PIPE
	sg_stop
	sg_finish
	exit "$_status"
}

# sg_finish - once the caller's daemons are stopped: show sendguard's and
# Postfix's logs if anything failed, stop and remove the instance (KEEP=1
# keeps it)
sg_finish() {
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

# maildir_file_with STRING - print the Maildir file holding STRING
maildir_file_with() {
	grep -lF -- "$1" "$PF_MAILDIR"/new/* "$PF_MAILDIR"/cur/* \
	    2>/dev/null | head -n 1
}

REFUSAL=$(printf '<** 550-5.1.8 %s\n<** 550 5.1.8 %s' "$SG_TEXT1" "$SG_TEXT2")

# expect_refusal WHAT FILE ERE - the reply to the client line ERE is
# exactly the two-line default refusal (needs swaks.sh)
expect_refusal() {
	tap_eq "$1" "$(reply_after "$2" "$3")" "$REFUSAL" ||
	    transcript_diag "$2"
}

# expect_refusal_at_data WHAT FILE [LINES] - the reply to the DATA command
# is exactly LINES (default: the two-line default refusal), so the client
# never got a 354 and never sent the content nor its final dot (needs
# swaks.sh)
expect_refusal_at_data() {
	_got=$(reply_after "$2" "$DATA_COMMAND")
	if [ "$_got" = "${3:-$REFUSAL}" ] && ! client_sent "$2" "$END_OF_DATA"
	then
		tap_ok "$1"
	else
		tap_fail "$1" "reply to DATA, got:" "$_got" \
		    "want (and no content sent after it):" "${3:-$REFUSAL}"
		transcript_diag "$2"
	fi
}

# expect_refusal_after_data WHAT FILE - DATA got its 354 and the client
# sent the content: the refusal is the reply to its final dot (needs
# swaks.sh)
expect_refusal_after_data() {
	_got=$(reply_after "$2" "$DATA_COMMAND")
	_end=$(reply_after "$2" "$END_OF_DATA")
	if printf '%s\n' "$_got" | grep -qx '<-  354 .*' &&
	    [ "$(printf '%s\n' "$_got" | wc -l)" -eq 1 ] &&
	    [ "$_end" = "$REFUSAL" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "reply to DATA (want one 354 line), got:" "$_got" \
		    "reply to the final dot, got:" "$_end" "want:" "$REFUSAL"
		transcript_diag "$2"
	fi
}
