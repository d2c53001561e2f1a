#!/bin/sh
# e2e_sendmail.sh - sendguard end to end with a real Sendmail 8.17: SMTP
# AUTH from a Cyrus sasldb, swaks as the client, the instance's MSP
# (submit.cf) for local submissions, the sqlite3 CLI on sendguard's database.
#
# One private Sendmail (tests/lib/sendmail.sh: Debian's packages unpacked
# beside the system's Postfix, cached in build/sendmail-debs) and one
# sendguard run in a temporary directory; the trap stops both and removes
# the directory on any exit (KEEP=1 keeps it).  Authenticated clients and
# outside senders connect from 127.0.0.2; the MSP connects from 127.0.0.1,
# the only internal network.  Prints one TAP line per assertion, checked on
# the real wire text and on the delivered files; exits 0 only if every
# assertion passed.  Needs root (unshare, bind mounts), swaks, sqlite3,
# saslpasswd2, apt-get and a built ./sendguard (SENDGUARD=path to override).
# Every wait is bounded; a run takes about 8 s, most of it waiting for
# sendguard to exit on SIGTERM (libmilter checks its stop flag every 5 s).
#
#   sh tests/e2e_sendmail.sh

set -u

TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS")
# shellcheck source=lib/tap.sh
. "$TESTS/lib/tap.sh"
# shellcheck source=lib/net.sh
. "$TESTS/lib/net.sh"
# shellcheck source=lib/sendmail.sh
. "$TESTS/lib/sendmail.sh"
# shellcheck source=lib/sendguard.sh
. "$TESTS/lib/sendguard.sh"
# shellcheck source=lib/swaks.sh
. "$TESTS/lib/swaks.sh"

SENDGUARD=${SENDGUARD:-$ROOT/sendguard}
CACHE=${SM_CACHE:-$ROOT/build/sendmail-debs}

cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	trap '' PIPE
	sg_stop
	if [ "${TAP_FAILED:-0}" -gt 0 ] && [ -n "${SM_DIR:-}" ]; then
		echo "# sendguard log:"
		tap_diag "$SG_LOG"
	fi
	if [ "${KEEP:-0}" = 1 ] && [ -n "${SM_DIR:-}" ]; then
		sm_stop
		echo "# kept $SM_DIR"
	else
		sm_cleanup
	fi
	exit "$_status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# --- SMTP transcripts -----------------------------------------------------

N_MSG=0
OUTSIDE=127.0.0.2

# send OUT ARG... - one swaks session from 127.0.0.2; its transcript goes
# to OUT.  Each message gets a unique Subject to find it where it lands.
send() {
	_out=$1
	shift
	N_MSG=$((N_MSG + 1))
	sm_swaks --local-interface "$OUTSIDE" \
	    --header "Subject: sendguard e2e $N_MSG" "$@" >"$_out" 2>&1
	return 0
}

# send_auth OUT LOGIN RCPTS - LOGIN, authenticated with AUTH PLAIN, sends
# as alice@example.com to RCPTS
send_auth() {
	send "$1" --auth PLAIN --auth-user "$2" --auth-password "pw-$2" \
	    --from alice@example.com --to "$3"
}

# Sendmail sends the milter's lines as they are in reply to DATA, and puts
# "<sender>... " in front of the first line's text at MAIL FROM.
REFUSAL_DATA=$(printf '<** 550-5.1.8 %s\n<** 550 5.1.8 %s' "$SG_TEXT1" "$SG_TEXT2")
REFUSAL_MAIL=$(printf '<** 550-5.1.8 <alice@example.com>... %s\n<** 550 5.1.8 %s' \
    "$SG_TEXT1" "$SG_TEXT2")

# expect_lines WHAT FILE ERE LINES - the reply to the client line ERE is
# exactly LINES
expect_lines() {
	tap_eq "$1" "$(reply_after "$2" "$3")" "$4" || transcript_diag "$2"
}

# queue_id_of FILE - the queue id in Sendmail's 250 reply after the data
queue_id_of() {
	reply_after "$1" "$END_OF_DATA" |
	    sed -n 's/^<-  250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted.*/\1/p'
}

MAIL_FROM_ALICE='^MAIL FROM:<alice@example\.com>'
QID_ERE='[0-9A-Za-z]{14}'

# --- prerequisites --------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	# Not a skip: without root this test proves nothing.
	tap_fail "runs as root" "e2e_sendmail.sh needs root (unshare --uts --mount, bind mounts, a daemon on 127.0.0.1): run make check as root"
	tap_done
	exit 1
fi
SENDGUARDCTL=${SENDGUARDCTL:-$ROOT/sendguardctl}
if ! sg_require swaks sqlite3 ss unshare mount saslpasswd2 apt-get dpkg ||
    ! tap_check "sendguardctl is built" test -x "$SENDGUARDCTL"; then
	tap_done
	exit 1
fi

# --- set-up -----------------------------------------------------------------

if ! sm_init "$CACHE" 2>"${TMPDIR:-/tmp}/sendguard-sm-init.$$"; then
	tap_fail "private Sendmail unpacked from Debian's packages and configured"
	tap_diag "${TMPDIR:-/tmp}/sendguard-sm-init.$$"
	rm -f "${TMPDIR:-/tmp}/sendguard-sm-init.$$"
	tap_done
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/sendguard-sm-init.$$"
SG_SOCK=$SM_SOCKET
SG_DB=$SM_DIR/sg.db
SG_CONF=$SM_DIR/sendguard.conf
SG_LOG=$SM_DIR/sendguard.log
T=$SM_DIR/t
mkdir -p "$T"

for login in alice@example.com d=1+x@example.com; do
	if ! sm_add_user "$login" "pw-$login" 2>"$T/sasl.err"; then
		tap_fail "SASL user $login added to the sasldb"
		tap_diag "$T/sasl.err"
	fi
done

# 127.0.0.1 (the MSP) is internal; 127.0.0.2 is the outside world.
cat >"$SG_CONF" <<EOF2
socket = "unix:$SG_SOCK";
database = "$SG_DB";
local_domains = [ "example.com" ];
internal_networks = [ "127.0.0.1/32" ];
limits = {
	external_recipients_per_hour = 3;
	internal_recipients_per_hour = 1000;
	recipients_per_day = 10000;
};
action = "block";
EOF2

if ! sg_start; then
	tap_fail "sendguard starts and listens on $SG_SOCK"
	tap_done
	exit 1
fi
if ! sm_start 2>"$T/start.err"; then
	tap_fail "private Sendmail starts and listens on 127.0.0.1:$SM_PORT"
	tap_diag "$T/start.err"
	tap_done
	exit 1
fi
tap_ok "private Sendmail on 127.0.0.1:$SM_PORT and sendguard are up"

# The README's sendmail.mc line is the one under test, socket path aside.
readme_line=$(grep -F 'INPUT_MAIL_FILTER(`sendguard' "$ROOT/README.md" |
    sed -e 's/^ *//' -e "s|/run/sendguard/sendguard.sock|$SM_SOCKET|")
if [ -n "$readme_line" ] && grep -qF -- "$readme_line" "$SM_DIR/sendmail.mc"
then
	tap_ok "README.md's INPUT_MAIL_FILTER line is the one this test runs"
else
	tap_fail "README.md's INPUT_MAIL_FILTER line is the one this test runs" \
	    "README: ${readme_line:-none}"
fi

# --- 1. under the limit: accepted, and the log names Sendmail's queue id ----

send_auth "$T/1" alice@example.com a@ext.test,b@ext.test
expect_reply "AUTH PLAIN as alice@example.com: 235" "$T/1" '^AUTH PLAIN' '^235 '
expect_reply "alice to 2 external recipients: 354 to DATA" \
    "$T/1" "$DATA_COMMAND" '^354 '
expect_reply "alice to 2 external recipients: 250 after the data" \
    "$T/1" "$END_OF_DATA" '^250 '
qid=$(queue_id_of "$T/1")
tap_grep_re "the accepted message's log line carries Sendmail's queue id" \
    "$SG_LOG" "^sendguard\\[[0-9]+\\]: ${qid:-NONE}: identity=alice@example\\.com client=127\\.0\\.0\\.2 auth=yes rcpts=0 internal, 2 external; .*: accepted\$"
if sm_wait_mail a@ext.test 1 && sm_wait_mail b@ext.test 1; then
	tap_ok "both recipients' copies were delivered"
else
	tap_fail "both recipients' copies were delivered"
fi

# --- 2. over the limit: the whole message refused at DATA ------------------

send_auth "$T/2" alice@example.com c@ext.test,d@ext.test
expect_reply "alice to 2 more external: MAIL FROM accepted (not yet restricted)" \
    "$T/2" "$MAIL_FROM_ALICE" '^250 '
expect_refusal_at_data "alice to 2 more external: both 550 5.1.8 lines in reply to DATA, as sent; no content sent" \
    "$T/2" "$REFUSAL_DATA"
tap_eq "nothing was delivered to c@ext.test" "$(sm_mail_count c@ext.test)" 0

row=$(sqlite3 -separator '|' "$SG_DB" \
    "SELECT identity, limit_name, count, client_address FROM restrictions" 2>&1)
tap_eq "restrictions: alice@example.com, external_recipients_per_hour, count 4, 127.0.0.2" \
    "$row" "alice@example.com|external_recipients_per_hour|4|127.0.0.2"
rqid=$(sqlite3 "$SG_DB" "SELECT queue_id FROM restrictions" 2>&1)
if printf '%s\n' "$rqid" | grep -qE "^$QID_ERE\$"; then
	tap_ok "the restriction records the refused message's queue id ($rqid)"
else
	tap_fail "the restriction records the refused message's queue id" \
	    "got: \"$rqid\""
fi

# --- 3. restricted: refused at DATA (refuse_restricted_at's default) -------

send_auth "$T/3" alice@example.com carol@example.com
expect_reply "restricted alice: MAIL FROM passes (nothing answered there)" \
    "$T/3" "$MAIL_FROM_ALICE" '^250 '
expect_refusal_at_data "restricted alice: the 550 5.1.8 lines in reply to DATA, as sent; no content sent" \
    "$T/3" "$REFUSAL_DATA"
tap_grep_re "the refusal at DATA is logged with the message's queue id" \
    "$SG_LOG" "^sendguard\\[[0-9]+\\]: $QID_ERE: identity=alice@example\\.com client=127\\.0\\.0\\.2: refused at DATA: restricted"

# --- 4. inbound mail to the restricted user still arrives -------------------

send "$T/4" --from someone@outside.test --to alice@example.com
expect_reply "inbound from an outside client to alice: 250 after the data" \
    "$T/4" "$END_OF_DATA" '^250 '
subject="Subject: sendguard e2e $N_MSG"
if sm_wait_mail alice@example.com 1 &&
    [ -n "$(sm_mail_with alice@example.com "$subject")" ]; then
	tap_ok "the inbound message was delivered to alice"
else
	tap_fail "the inbound message was delivered to alice" \
	    "no file for alice@example.com with \"$subject\""
fi

# --- 5. a submission through the MSP by restricted alice: a DSN ------------

before=$(sm_mail_count alice@example.com)
printf 'Subject: sendguard e2e MSP\n\nhello\n' >"$T/5.msg"
sm_submit -f alice@example.com bob@ext.test <"$T/5.msg" >"$T/5.out" 2>&1
rc=$?
# EX_UNAVAILABLE: the MSP delivers at once (DeliveryMode=i) and failed.
tap_eq "the MSP's submission for alice ends with EX_UNAVAILABLE (69)" "$rc" 69
tap_grep_re "sendguard refused the MSP's message (internal client, envelope sender)" \
    "$SG_LOG" "$QID_ERE: identity=alice@example\\.com client=127\\.0\\.0\\.1: refused at DATA: restricted"
dsn=
if sm_wait_mail alice@example.com $((before + 1)); then
	dsn=$(sm_mail_with alice@example.com "multipart/report")
fi
# The refusal comes in reply to DATA: Sendmail's SMTP client (smtpdata())
# keeps no enhanced status code from a 5xx reply to DATA, so its DSN says
# "Status: 5.5.0" with no Diagnostic-Code (it did say 5.1.8 for a refusal
# after the dot).  The refusal itself is in the DSN's transcript, as the
# reply to DATA, the message's content never sent.
if [ -n "$dsn" ] && grep -q '^To: alice@example\.com' "$dsn" &&
    grep -q '^Status: 5\.[0-9]*\.[0-9]*$' "$dsn" &&
    awk -v l1="<<< 550-5.1.8 $SG_TEXT1" -v l2="<<< 550 5.1.8 $SG_TEXT2" '
	    prev2 == ">>> DATA" && prev1 == l1 && $0 == l2 { f = 1 }
	    { prev2 = prev1; prev1 = $0 }
	    END { exit !f }' "$dsn" &&
    ! grep -q '^>>> \.$' "$dsn" &&
    grep -qF 'Subject: sendguard e2e MSP' "$dsn"; then
	tap_ok "the MSP's DSN reached alice: a 5.x.x Status, both lines of the refusal in reply to DATA, her message"
else
	tap_fail "the MSP's DSN reached alice: a 5.x.x Status, both lines of the refusal in reply to DATA, her message" \
	    "DSN file: ${dsn:-none}"
	[ -n "$dsn" ] && tap_diag "$dsn"
fi
tap_eq "nothing was delivered to bob@ext.test" "$(sm_mail_count bob@ext.test)" 0
tap_grep_re "the DSN itself (null sender) passed sendguard" \
    "$SG_LOG" "identity=<> client=127\\.0\\.0\\.1: exempt"

# --- 5b. refuse_restricted_at = "mail_from": "<sender>... " in front -------

printf 'refuse_restricted_at = "mail_from";\n' >>"$SG_CONF"
tap_check "SIGHUP: sendguard reloads with refuse_restricted_at = mail_from" \
    sg_reload
send_auth "$T/5b" alice@example.com carol@example.com
expect_lines "mail_from: the 550 5.1.8 lines at MAIL FROM, Sendmail's prefix on the first" \
    "$T/5b" "$MAIL_FROM_ALICE" "$REFUSAL_MAIL"
# Sendmail sends "i" with MAIL FROM: the refusal there names the message.
tap_grep_re "the refusal at MAIL FROM is logged with the queue id Sendmail sent there" \
    "$SG_LOG" "^sendguard\\[[0-9]+\\]: $QID_ERE: identity=alice@example\\.com client=127\\.0\\.0\\.2: refused at MAIL FROM: restricted"
sed -i '/^refuse_restricted_at/d' "$SG_CONF"
tap_check "SIGHUP: back to the default for the rest" sg_reload

# --- 6. unblock with sendguardctl -------------------------------------------
# alice is restricted here (steps 2-5).  sendguardctl clears her (and her
# counters); her very next message must pass, with no restart and no wait.

"$SENDGUARDCTL" -c "$SG_CONF" unblock alice@example.com \
    --reason "sendmail e2e" >"$T/6.ctl" 2>&1
tap_eq "sendguardctl unblock alice@example.com exits 0" "$?" 0
tap_grep "it says the restriction is cleared" "$T/6.ctl" \
    "alice@example.com: restriction cleared"
send_auth "$T/6" alice@example.com carol@example.com
expect_reply "after the unblock alice's very next message: 250 after the data" \
    "$T/6" "$END_OF_DATA" '^250 '
if sm_wait_mail carol@example.com 1; then
	tap_ok "and it was delivered to carol@example.com"
else
	tap_fail "and it was delivered to carol@example.com"
fi

# --- 7. an xtext login: Sendmail sends d=1+x as d+3D1+2Bx -------------------

send_auth "$T/7" d=1+x@example.com e@ext.test
expect_reply "AUTH PLAIN as d=1+x@example.com: 250 after the data" \
    "$T/7" "$END_OF_DATA" '^250 '
tap_grep_re "counted as d=1+x@example.com, the login decoded and taken whole" \
    "$SG_LOG" "identity=d=1\\+x@example\\.com client=127\\.0\\.0\\.2 auth=yes rcpts=0 internal, 1 external"
tap_eq_soon "its count is written for d=1+x@example.com" 1 \
    sqlite3 "$SG_DB" "SELECT SUM(external) FROM counters WHERE identity='d=1+x@example.com'"
tap_eq "no counter row for the xtext as is, d+3d1+2bx@example.com" \
    "$(sqlite3 "$SG_DB" "SELECT COUNT(*) FROM counters WHERE identity='d+3d1+2bx@example.com'")" 0

# --- 8. milter down: tempfail (F=T), nothing lost ---------------------------

sg_stop
send_auth "$T/8" alice@example.com g@ext.test
# Sendmail opens the milter session before AUTH and tempfails from there.
expect_reply "sendguard stopped: Sendmail tempfails the session (454 4.3.0 at AUTH)" \
    "$T/8" '^AUTH PLAIN' '^454 4\.3\.0 '
send "$T/8b" --from someone@outside.test --to alice@example.com
expect_reply "sendguard stopped: inbound mail is tempfailed too (451 4.3.2 at MAIL FROM)" \
    "$T/8b" '^MAIL FROM:<someone@outside\.test>' '^451 4\.3\.2 '

tap_done
