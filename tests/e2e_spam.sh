#!/bin/sh
# e2e_spam.sh - spam verdicts end to end: a real Postfix on loopback, a
# real spamd (Debian's spamd, private siteconfig, no network rules, no
# updates) on a loopback port, swaks as the client, and a stand-in spam
# filter milter (build/tests/chain_milter) in front of sendguard for the
# header-order checks.
#
#   1. spamd: GTUBE from an authenticated user counts as spam, a clean
#      message does not; the 2nd spam message reaches
#      spam_messages_per_day = 2: refused with 550 5.1.8 and restricted;
#      the next message is refused too.  With spam checking on, an
#      outbound message is judged at end of message (its verdict needs the
#      content): the refusal over the limit comes after the data; a
#      restricted sender's next message is refused at DATA, unscanned.
#   2. Headers: a huge folded X-Spam-Status; a sender's own "X-Spam-Status:
#      No" decides when nothing strips it, and is gone with Postfix
#      header_checks IGNORE; a filter milter that inserts its header at the
#      top wins over the sender's, one that appends does not unless the
#      sender's copy is stripped.
#   3. spam.on_message = "hold": the message waits in the hold queue.
#   4. spamd frozen (SIGSTOP): the message is accepted unscanned after
#      spam.timeout_ms; spamd gone: accepted at once; one warning a minute.
#
# Every daemon started here is stopped on exit (KEEP=1 keeps the
# directory).  Needs root, postfix, swaks, spamd, spamc, sqlite3.

set -u

TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS")
# shellcheck source=lib/tap.sh
. "$TESTS/lib/tap.sh"
# shellcheck source=lib/net.sh
. "$TESTS/lib/net.sh"
# shellcheck source=lib/postfix.sh
. "$TESTS/lib/postfix.sh"
# shellcheck source=lib/swaks.sh
. "$TESTS/lib/swaks.sh"
# shellcheck source=lib/sendguard.sh
. "$TESTS/lib/sendguard.sh"

SENDGUARD=${SENDGUARD:-$ROOT/sendguard}
CHAIN=$ROOT/build/tests/chain_milter
SPAMD_PIDFILE=
CHAIN_PID=
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# spamd_pid - the spamd parent's pid, if it runs
spamd_pid() {
	[ -n "$SPAMD_PIDFILE" ] && [ -f "$SPAMD_PIDFILE" ] || return 1
	_p=$(tr -dc 0-9 <"$SPAMD_PIDFILE")
	[ -n "$_p" ] && kill -0 "$_p" 2>/dev/null && echo "$_p"
}

# spamd_signal SIG - signal our spamd: its parent and its children
spamd_signal() {
	_p=$(spamd_pid) || return 0
	for _c in $(ps -o pid= --ppid "$_p" 2>/dev/null); do
		kill "-$1" "$_c" 2>/dev/null
	done
	kill "-$1" "$_p" 2>/dev/null
}

# spamd_stop - SIGTERM our spamd and wait (bounded) until it is gone
spamd_stop() {
	_p=$(spamd_pid) || return 0
	spamd_signal CONT
	kill -TERM "$_p" 2>/dev/null
	_i=0
	while [ "$_i" -lt "$PF_WAIT" ] && kill -0 "$_p" 2>/dev/null; do
		net_sleep_tick
		_i=$((_i + 1))
	done
	kill -0 "$_p" 2>/dev/null && spamd_signal KILL
	return 0
}

# chain_start MODE - the stand-in filter, adding X-Spam-Status: Yes
chain_start() {
	"$CHAIN" -p "unix:$CHAIN_SOCK" -m "$1" -n X-Spam-Status \
	    -v "Yes, score=9.0 required=5.0 tests=CHAIN_TEST" \
	    >>"$T/chain.log" 2>&1 &
	CHAIN_PID=$!
	_i=0
	while [ "$_i" -lt "$PF_WAIT" ]; do
		if unix_listening "$CHAIN_SOCK"; then
			chmod 666 "$CHAIN_SOCK"
			return 0
		fi
		net_sleep_tick
		_i=$((_i + 1))
	done
	return 1
}

# chain_stop - stop the filter (stop_pid)
chain_stop() {
	[ -n "$CHAIN_PID" ] || return 0
	stop_pid "$CHAIN_PID" chain_milter
	CHAIN_PID=
	rm -f "$CHAIN_SOCK"
}

cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	trap '' PIPE
	sg_stop
	chain_stop
	spamd_stop
	if [ "${TAP_FAILED:-0}" -gt 0 ] && [ -n "${PF_DIR:-}" ]; then
		echo "# spamd log:"
		tap_diag "$T/spamd.log"
	fi
	sg_finish
	exit "$_status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# milters SOCKET... - point smtpd at these milters, in order, and reload
milters() {
	_list=
	for _s in "$@"; do
		_list="${_list:+$_list, }unix:$_s"
	done
	postconf -c "$PF_CONF" "smtpd_milters = $_list"
	pf_reload
}

# strip on|off - Postfix header_checks that drop every X-Spam-* header
# the client sent (they never reach a milter), or none
strip() {
	if [ "$1" = on ]; then
		postconf -c "$PF_CONF" \
		    "header_checks = regexp:$PF_DIR/header_checks"
	else
		postconf -c "$PF_CONF" "header_checks ="
	fi
	pf_reload
}

# pf_reload - reload Postfix and wait until the master logged it
pf_reload() {
	_n=$(grep -c 'reload -- version' "$PF_MAILLOG")
	postfix -c "$PF_CONF" reload >/dev/null 2>&1
	_i=0
	while [ "$_i" -lt "$PF_WAIT" ] &&
	    [ "$(grep -c 'reload -- version' "$PF_MAILLOG")" -le "$_n" ]; do
		net_sleep_tick
		_i=$((_i + 1))
	done
}

# msg FILE FROM EXTRA_HEADER BODY - a complete message with Date, From,
# To, Subject and Message-ID (missing ones score as spam by themselves)
msg() {
	N_MSG=$((N_MSG + 1))
	{
		printf 'Date: %s\n' "$(date -R)"
		printf 'From: %s\nTo: <someone@ext.test>\n' "$2"
		printf 'Subject: sendguard spam e2e %s\n' "$N_MSG"
		printf 'Message-ID: <%s.%s@mx.sendguard.test>\n' "$N_MSG" "$$"
		[ -n "$3" ] && printf '%s\n' "$3"
		printf '\n%s\n' "$4"
	} >"$1"
}

CLEAN='Hello Bob, the meeting moved to three o clock in room 4. See you there, Alice.'
FORGED='X-Spam-Status: No, score=-5.0 required=5.0 tests=NONE'

# send_as OUT USER MSGFILE [RCPT] - USER authenticated (XCLIENT LOGIN)
# sends it, to someone@ext.test (discarded) or RCPT
send_as() {
	pf_swaks --xclient "LOGIN=$2@example.com" --from "$2@example.com" \
	    --to "${4:-someone@ext.test}" --data "$3" >"$1" 2>&1
}

# spam_count USER - the spam messages counted for USER@example.com
spam_count() {
	sqlite3 "$SG_DB" "SELECT coalesce(SUM(spam), 0) FROM counters
	    WHERE identity = '$1@example.com'"
}

# rcpt_count USER - the recipients counted for USER@example.com
rcpt_count() {
	sqlite3 "$SG_DB" "SELECT coalesce(SUM(internal + external), 0)
	    FROM counters WHERE identity = '$1@example.com'"
}

# expect_spam WHAT USER RCPTS SPAM - once USER's last message is written
# (RCPTS recipients counted in all; sendguard writes counts a moment
# after its reply), USER's spam count is SPAM
expect_spam() {
	if ! wait_for rcpts_reach "$2" "$3"; then
		tap_fail "$1" "the message's counts were not written within 10 s"
		return
	fi
	tap_eq "$1" "$(spam_count "$2")" "$4"
}

# rcpts_reach USER N - are N recipients counted for USER@example.com?
rcpts_reach() {
	[ "$(rcpt_count "$1")" -ge "$2" ]
}

# sg_conf ON_MESSAGE - sendguard's configuration
sg_conf() {
	cat >"$SG_CONF" <<EOF
socket = "unix:$SG_SOCK";
database = "$SG_DB";
group = "postfix";
local_domains = [ "example.com" ];
limits = { spam_messages_per_day = 2; };
action = "block";
spam = {
  headers = [ "spamassassin" ];
  spamd = "inet:$SPAMD_PORT@127.0.0.1";
  timeout_ms = 1500;
  on_message = "$1";
};
EOF
}

# --- prerequisites --------------------------------------------------------

sg_setup spamd spamc
if ! tap_check "the stand-in filter milter is built" test -x "$CHAIN"; then
	tap_done
	exit 1
fi

# --- set-up -----------------------------------------------------------------

CHAIN_SOCK=$PF_DIR/chain.sock
mkdir -p "$PF_DIR/sa"
printf '/^X-Spam-/ IGNORE\n' >"$PF_DIR/header_checks"
postconf -c "$PF_CONF" "smtpd_milters = unix:$SG_SOCK"

# A private spamd: the packaged rules, our own siteconfig (the .pre files
# load the plugins), no user configuration, no network tests.
cp /etc/spamassassin/*.pre "$PF_DIR/sa/"
# Postfix is not listening yet: skip its port by hand.
SPAMD_PORT=$(net_pick_port) || SPAMD_PORT=""
_i=0
while [ "$SPAMD_PORT" = "$PF_PORT" ] && [ "$_i" -lt 10 ]; do
	SPAMD_PORT=$(net_pick_port)
	_i=$((_i + 1))
done
SPAMD_PIDFILE=$PF_DIR/spamd.pid
spamd -d -i "127.0.0.1:$SPAMD_PORT" -A 127.0.0.1 -u nobody -x -L \
    -r "$SPAMD_PIDFILE" --siteconfigpath="$PF_DIR/sa" -s "$T/spamd.log" \
    --min-children=1 --max-children=2 >"$T/spamd.out" 2>&1
# start-up takes seconds on a loaded machine: wait for the port (60 s)
_i=0
while [ "$_i" -lt 600 ] && ! net_port_listening "$SPAMD_PORT"; do
	net_sleep_tick
	_i=$((_i + 1))
done
if printf 'Subject: t\n\n%s\n' "$GTUBE" |
    spamc -d 127.0.0.1 -p "$SPAMD_PORT" -t 30 -c >"$T/spamc.out"; then
	tap_fail "the private spamd runs" "spamc -c: $(cat "$T/spamc.out")"
	tap_diag "$T/spamd.out"
	tap_done
	exit 1
fi
tap_ok "the private spamd scores GTUBE as spam ($(cat "$T/spamc.out"))"

sg_conf accept
if "$SENDGUARD" -n -c "$SG_CONF" >"$T/check.out" 2>&1; then
	tap_ok "sendguard -n accepts the spam configuration"
else
	tap_fail "sendguard -n accepts the spam configuration" "$(cat "$T/check.out")"
fi
if ! pf_start || ! sg_start; then
	tap_fail "Postfix and sendguard start"
	tap_done
	exit 1
fi

# --- 1. spamd verdicts and the spam limit ----------------------------------

msg "$T/clean.msg" alice@example.com "" "$CLEAN"
msg "$T/gtube.msg" alice@example.com "" "$GTUBE"

send_as "$T/1a" alice "$T/clean.msg"
expect_reply "a clean message from alice: 250 after the data" "$T/1a" \
    "$END_OF_DATA" '^250 '
expect_spam "spamd calls it clean: alice's spam count stays 0" \
    alice 1 0
tap_grep_re "the log line says ham by spamd, with the score" "$SG_LOG" \
    'identity=alice@example.com .*spam day 0/2; verdict ham by spamd, score -?[0-9.]+/5.00: accepted'

send_as "$T/1b" alice "$T/gtube.msg"
expect_reply "GTUBE from alice (spam 1 of 2): 250 after the data" "$T/1b" \
    "$END_OF_DATA" '^250 '
expect_spam "spamd calls it spam: alice's spam count is 1" alice 2 1
tap_grep_re "the log line says spam by spamd" "$SG_LOG" \
    'identity=alice@example.com .*spam day 1/2; verdict spam by spamd, score 100[0-9.]+/5.00: accepted'

send_as "$T/1c" alice "$T/gtube.msg"
expect_refusal_after_data "the 2nd GTUBE reaches the limit: 354 to DATA, both 550 5.1.8 lines after the data" \
    "$T/1c"
tap_eq "the restriction names the spam limit" \
    "$(sqlite3 -separator '|' "$SG_DB" "SELECT limit_name, count, reason
    FROM restrictions WHERE identity = 'alice@example.com'")" \
    "spam_messages_per_day|2|spam_messages_per_day 2 reached: 2 spam messages"

scans=$(grep -c 'result:' "$T/spamd.log")
send_as "$T/1d" alice "$T/clean.msg"
expect_refusal_at_data "restricted alice, even a clean message: both 550 5.1.8 lines in reply to DATA, no content sent (spam checking on)" \
    "$T/1d"
tap_eq "spamd's log has a result for each scan so far (spamc -c, 1a, 1b, 1c)" \
    "$scans" 4
tap_eq "and no new one: spamd did not scan the refused message" \
    "$(grep -c 'result:' "$T/spamd.log")" "$scans"
tap_grep_re "sendguard logs the refusal at DATA (spam checking on)" \
    "$SG_LOG" 'identity=alice@example\.com client=[0-9.]+: refused at DATA: restricted \(spam_messages_per_day 2 reached'

# --- 2. headers --------------------------------------------------------------

# A 60 kB folded X-Spam-Status: bounded, unfolded, judged.
{
	printf 'X-Spam-Status: Yes, score=9.0 required=5.0 tests='
	_i=0
	while [ "$_i" -lt 800 ]; do
		printf 'LONG_RULE_NAME_NUMBER_%04d,LONG_RULE_NAME_NUMBER_%04d,\n\t' \
		    "$_i" "$_i"
		_i=$((_i + 1))
	done
	printf 'LAST autolearn=no'
} >"$T/huge.hdr"
msg "$T/huge.msg" erin@example.com "$(cat "$T/huge.hdr")" "$CLEAN"
send_as "$T/2a" erin "$T/huge.msg"
expect_reply "a 60 kB folded X-Spam-Status: 250 after the data" "$T/2a" \
    "$END_OF_DATA" '^250 '
expect_spam "judged spam from its first 2 kB" erin 1 1
tap_grep "and the cut is logged" "$SG_LOG" \
    "identity=erin@example.com: header X-Spam-Status longer than 2048 bytes"

# The sender's own header, nothing in front of sendguard, nothing stripped:
# it is the only X-Spam-Status, so it decides and spamd is not even asked.
msg "$T/forged.msg" carol@example.com "$FORGED" "$GTUBE"
send_as "$T/2b" carol "$T/forged.msg"
expect_reply "GTUBE with the sender's own X-Spam-Status: No: 250" "$T/2b" \
    "$END_OF_DATA" '^250 '
expect_spam "unstripped, the sender's header decides: not counted (see README)" \
    carol 1 0

strip on
msg "$T/forged2.msg" dave@example.com "$FORGED" "$GTUBE"
send_as "$T/2c" dave "$T/forged2.msg"
expect_reply "the same with header_checks /^X-Spam-/ IGNORE: 250" "$T/2c" \
    "$END_OF_DATA" '^250 '
expect_spam "Postfix drops the sender's header before milters; spamd says spam" \
    dave 1 1

# A filter milter in front of sendguard, the sender's header kept.
strip off
msg "$T/chain.msg" frank@example.com "$FORGED" "$CLEAN"
chain_start insert || tap_fail "the stand-in filter milter starts"
milters "$CHAIN_SOCK" "$SG_SOCK"
send_as "$T/2d" frank "$T/chain.msg"
expect_reply "filter inserts X-Spam-Status: Yes at the top: 250" "$T/2d" \
    "$END_OF_DATA" '^250 '
expect_spam "the filter's header (topmost) wins over the sender's No" \
    frank 1 1
tap_grep_re "decided by the header, score 9.00" "$SG_LOG" \
    'identity=frank@example.com .*verdict spam by X-Spam-Status \(rule at [^)]*, score 9.00/5.00\)'
chain_stop

chain_start append || tap_fail "the stand-in filter milter starts (append)"
msg "$T/chain2.msg" grace@example.com "$FORGED" "$CLEAN"
send_as "$T/2e" grace "$T/chain2.msg"
expect_reply "filter appends its X-Spam-Status below the sender's: 250" \
    "$T/2e" "$END_OF_DATA" '^250 '
expect_spam "an appended header loses to the sender's, which comes first" \
    grace 1 0
strip on
msg "$T/chain3.msg" heidi@example.com "$FORGED" "$CLEAN"
send_as "$T/2f" heidi "$T/chain3.msg" colleague@example.com
expect_spam "with header_checks stripping the sender's, the appended one decides" \
    heidi 1 1
pf_wait_maildir 1 >/dev/null 2>&1
box=$(maildir_file_with "From: heidi@example.com")
if [ -n "$box" ] && grep -q '^X-Spam-Status: Yes, score=9.0' "$box" &&
    ! grep -q '^X-Spam-Status: No' "$box"; then
	tap_ok "the mailbox copy has the filter's X-Spam-Status, not the sender's"
else
	tap_fail "the mailbox copy has the filter's X-Spam-Status, not the sender's" \
	    "Maildir file: ${box:-none}"
	[ -n "$box" ] && tap_diag "$box"
fi
chain_stop
milters "$SG_SOCK"
strip off

# --- 3. spam.on_message = hold ---------------------------------------------

sg_stop
sg_conf hold
sg_start || tap_fail "sendguard starts with spam.on_message = hold"
msg "$T/hold.msg" ivan@example.com "" "$GTUBE"
send_as "$T/3" ivan "$T/hold.msg"
expect_reply "GTUBE from ivan with hold: 250 after the data" "$T/3" \
    "$END_OF_DATA" '^250 '
qid=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/3" | head -n 1)
postqueue -c "$PF_CONF" -p >"$T/queue.out" 2>&1
tap_grep_re "postqueue -p shows it held ('!')" "$T/queue.out" "^${qid:-NOQID}!"
expect_spam "and counts it as spam" ivan 1 1
pf_wait_log "$qid: milter-hold: .*milter triggers HOLD action" >/dev/null 2>&1
tap_grep_re "Postfix logs the milter's HOLD" "$PF_MAILLOG" \
    "$qid: milter-hold: .*milter triggers HOLD action"

# --- 4. spamd frozen, then gone: mail still flows ----------------------------

spamd_signal STOP
msg "$T/slow.msg" judy@example.com "" "$GTUBE"
send_as "$T/4a" judy "$T/slow.msg"
expect_reply "spamd frozen: accepted unscanned after spam.timeout_ms" \
    "$T/4a" "$END_OF_DATA" '^250 '
tap_grep_re "the log line says unscanned, timed out" "$SG_LOG" \
    'identity=judy@example.com .*verdict unscanned \(spamd: timed out [a-z ]+\): accepted'
expect_spam "an unscanned message is not spam" judy 1 0
spamd_stop
msg "$T/down.msg" kim@example.com "" "$GTUBE"
send_as "$T/4b" kim "$T/down.msg"
expect_reply "spamd stopped: accepted unscanned" "$T/4b" "$END_OF_DATA" '^250 '
tap_grep_re "the log line says why" "$SG_LOG" \
    'identity=kim@example.com .*verdict unscanned \(spamd: connect: Connection refused\): accepted'
tap_eq "one warning for both failures (at most one a minute)" \
    "$(grep -c "spamd inet:$SPAMD_PORT@127.0.0.1: .*messages are accepted unscanned" "$SG_LOG")" 1

tap_done
