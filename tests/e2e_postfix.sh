#!/bin/sh
# e2e_postfix.sh - sendguard end to end: a real Postfix on loopback, swaks as
# the SMTP client, the instance's own sendmail(1) for local submissions, and
# the sqlite3 CLI on sendguard's database.
#
# One private Postfix instance (tests/lib/postfix.sh) and one sendguard run
# in a temporary directory; the trap stops both and removes the directory on
# any exit (KEEP=1 keeps it).  Prints one TAP line per assertion, checked on
# the real wire text; exits 0 only if every assertion passed.  Needs root,
# postfix, swaks, sqlite3 and a built ./sendguard (SENDGUARD=path to
# override).  Every wait is bounded; a run takes about 15 s, 9 of them
# waiting for sendguard to exit on SIGTERM (libmilter checks its stop flag
# every 5 s).
#
#   sh tests/e2e_postfix.sh

set -u

TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS")
# shellcheck source=lib/tap.sh
. "$TESTS/lib/tap.sh"
# shellcheck source=lib/postfix.sh
. "$TESTS/lib/postfix.sh"
# shellcheck source=lib/e2e.sh
. "$TESTS/lib/e2e.sh"

SENDGUARD=${SENDGUARD:-$ROOT/sendguard}

cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	# A reader that went away (| head) must not kill the clean-up.
	trap '' PIPE
	sg_stop
	e2e_finish
	exit "$_status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# --- SMTP transcripts -----------------------------------------------------

# send_alice OUT RCPTS - alice, authenticated (XCLIENT LOGIN), to RCPTS
send_alice() {
	send "$1" --xclient "LOGIN=alice@example.com" \
	    --from alice@example.com --to "$2"
}

MAIL_FROM_ALICE='^MAIL FROM:<alice@example\.com>'

# --- prerequisites --------------------------------------------------------

e2e_prereq postfix postqueue sendmail swaks sqlite3 ss "$SENDGUARD"

# --- set-up -----------------------------------------------------------------

e2e_instance
# Point the instance at sendguard (pf_init "" wrote it without milters).
postconf -c "$PF_CONF" "smtpd_milters = unix:$SG_SOCK" \
    "non_smtpd_milters = unix:$SG_SOCK"

cat >"$SG_CONF" <<EOF
socket = "unix:$SG_SOCK";
database = "$SG_DB";
local_domains = [ "example.com" ];
internal_networks = [ "127.0.0.0/8", "::1/128" ];
limits = {
	external_recipients_per_hour = 3;
	internal_recipients_per_hour = 1000;
	recipients_per_day = 10000;
};
action = "block";
EOF

if "$SENDGUARD" -n -c "$SG_CONF" >"$T/check.out" 2>&1; then
	tap_ok "sendguard -n accepts the test configuration"
else
	tap_fail "sendguard -n accepts the test configuration"
	tap_diag "$T/check.out"
fi

if ! pf_start; then
	tap_fail "private Postfix instance starts and listens on 127.0.0.1:$PF_PORT"
	tap_done
	exit 1
fi
if ! sg_start; then
	tap_fail "sendguard starts and listens on $SG_SOCK"
	tap_done
	exit 1
fi

# --- 1. under the limit: accepted ------------------------------------------

send_alice "$T/1" a@ext.test,b@ext.test
expect_reply "alice to 2 external recipients: 250 after DATA" \
    "$T/1" "$END_OF_DATA" '^250 '

# --- 2. over the limit: the whole message refused after DATA ---------------

send_alice "$T/2" c@ext.test,d@ext.test
expect_reply "alice to 2 more external: MAIL FROM accepted (not yet restricted)" \
    "$T/2" "$MAIL_FROM_ALICE" '^250 '
expect_refusal "alice to 2 more external: both 550 5.1.8 lines after DATA" \
    "$T/2" "$END_OF_DATA"

# --- 3. the restriction row -------------------------------------------------

row=$(sqlite3 -separator '|' "$SG_DB" \
    "SELECT identity, limit_name, count FROM restrictions" 2>&1)
tap_eq "restrictions: alice@example.com, external_recipients_per_hour, count 4" \
    "$row" "alice@example.com|external_recipients_per_hour|4"

# --- 4. restricted: refused at MAIL FROM, even to an internal recipient -----

send_alice "$T/4" carol@example.com
expect_refusal "restricted alice to 1 internal: both 550 5.1.8 lines at MAIL FROM" \
    "$T/4" "$MAIL_FROM_ALICE"

# --- 5. inbound mail is neither counted nor refused -------------------------

before=$(pf_maildir_count)
send "$T/5" --xclient "ADDR=203.0.113.9" \
    --from someone@outside.test --to alice@example.com
expect_reply "inbound from 203.0.113.9 to alice: 250 after DATA" \
    "$T/5" "$END_OF_DATA" '^250 '
subject="Subject: sendguard e2e $N_MSG"
if pf_wait_maildir $((before + 1)) && [ -n "$(maildir_file_with "$subject")" ]
then
	tap_ok "inbound message to alice lands in the Maildir"
else
	tap_fail "inbound message to alice lands in the Maildir" \
	    "no Maildir file with \"$subject\""
fi

# --- 6. local submission by restricted alice: bounced with a DSN ------------

before=$(pf_maildir_count)
printf 'Subject: sendguard e2e local\n\nhello\n' >"$T/6.msg"
tap_check "sendmail -f alice@example.com bob@ext.test: submission accepted" \
    pf_sendmail -f alice@example.com bob@ext.test <"$T/6.msg"
tap_check "maillog: bob@ext.test dsn=5.1.8, status=bounced" \
    pf_wait_log 'to=<bob@ext\.test>.*dsn=5\.1\.8, status=bounced'
dsn=
if pf_wait_maildir $((before + 1)); then
	dsn=$(maildir_file_with "multipart/report")
fi
# Postfix folds the diagnostic text ("\n    "): compare it unfolded.
if [ -n "$dsn" ] && grep -q '^To: alice@example\.com' "$dsn" &&
    grep -q '^Status: 5\.1\.8' "$dsn" &&
    tr -s '[:space:]' ' ' <"$dsn" |
    grep -qF 'Diagnostic-Code: X-Postfix; Your message couldn'"'"'t be delivered' &&
    tr -s '[:space:]' ' ' <"$dsn" |
    grep -qF '550 5.1.8 Access denied, bad outbound sender'; then
	tap_ok "DSN to alice in the Maildir: Status 5.1.8 and the refusal text"
else
	tap_fail "DSN to alice in the Maildir: Status 5.1.8 and the refusal text" \
	    "DSN file: ${dsn:-none}"
	[ -n "$dsn" ] && tap_diag "$dsn"
fi
pf_wait_queue_empty >/dev/null 2>&1

# --- 7. the restriction survives a restart ----------------------------------

tap_check "sendguard exits on SIGTERM" sg_stop
if sg_start; then
	tap_ok "sendguard starts again on the same database"
else
	tap_fail "sendguard starts again on the same database"
fi
send_alice "$T/7" e@ext.test
expect_refusal "after restart alice is still refused at MAIL FROM" \
    "$T/7" "$MAIL_FROM_ALICE"

# --- 8. deleting the row lifts the restriction at once ----------------------

tap_check "sqlite3 deletes alice's restriction" sqlite3 "$SG_DB" \
    "DELETE FROM restrictions WHERE identity='alice@example.com'"
send_alice "$T/8" carol@example.com
expect_reply "after the delete alice's very next message: 250 after DATA" \
    "$T/8" "$END_OF_DATA" '^250 '

# The refused message was not counted: 2 + 1 reaches the limit, not over.
send_alice "$T/8b" f@ext.test
expect_reply "alice to 1 more external (window at the limit, not over): 250" \
    "$T/8b" "$END_OF_DATA" '^250 '

# --- 9. milter down: tempfail, nothing lost ----------------------------------

sg_stop
send_alice "$T/9" g@ext.test
expect_reply "sendguard stopped: 4xx tempfail at MAIL FROM" \
    "$T/9" "$MAIL_FROM_ALICE" '^4[0-9][0-9] '

tap_done
