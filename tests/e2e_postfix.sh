#!/bin/sh
# e2e_postfix.sh - sendguard end to end: a real Postfix on loopback, swaks as
# the SMTP client (smtp-source for a load), the instance's own sendmail(1)
# for local submissions, sendguardctl and the sqlite3 CLI on sendguard's
# database.
#
# One private Postfix instance (tests/lib/postfix.sh) and one sendguard run
# in a temporary directory; the trap stops both and removes the directory on
# any exit (KEEP=1 keeps it).  Prints one TAP line per assertion, checked on
# the real wire text; exits 0 only if every assertion passed.  Needs root,
# postfix, swaks, smtp-source, sqlite3, jq and a built ./sendguard and
# ./sendguardctl (SENDGUARD=path, SENDGUARDCTL=path to override).  Every
# wait is bounded.
#
#   sh tests/e2e_postfix.sh

set -u

TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS")
# shellcheck source=lib/tap.sh
. "$TESTS/lib/tap.sh"
# shellcheck source=lib/net.sh
. "$TESTS/lib/net.sh"
# shellcheck source=lib/postfix.sh
. "$TESTS/lib/postfix.sh"
# shellcheck source=lib/sendguard.sh
. "$TESTS/lib/sendguard.sh"
# shellcheck source=lib/swaks.sh
. "$TESTS/lib/swaks.sh"
# shellcheck source=lib/dblock.sh
. "$TESTS/lib/dblock.sh"

SENDGUARD=${SENDGUARD:-$ROOT/sendguard}
SENDGUARDCTL=${SENDGUARDCTL:-$ROOT/sendguardctl}

REPLY1="550-5.1.8 $SG_TEXT1"
REPLY2="550 5.1.8 $SG_TEXT2"

# e2e_cleanup - the EXIT trap: the lock holder of section 12, if a
# failure left it, then sendguard and Postfix (sg_cleanup, which exits
# with the status the script had)
e2e_cleanup() {
	_e2e_status=$?
	[ -n "$DB_LOCK_PID" ] && kill "$DB_LOCK_PID" 2>/dev/null
	(exit "$_e2e_status")
	sg_cleanup
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# --- SMTP transcripts -----------------------------------------------------

# send_alice OUT RCPTS - alice, authenticated (XCLIENT LOGIN), to RCPTS
send_alice() {
	send "$1" --xclient "LOGIN=alice@example.com" \
	    --from alice@example.com --to "$2"
}

MAIL_FROM_ALICE='^MAIL FROM:<alice@example\.com>'

# send_bdat OUT LOGIN RCPT - LOGIN (XCLIENT LOGIN) sends one message to
# RCPT in one BDAT chunk (CHUNKING, which swaks cannot send), with perl;
# the transcript goes to OUT, marked as swaks marks it (" -> " client,
# "<-  " server, "<** " a 4xx/5xx reply) for reply_after.  Every read is
# bounded (10 s).
send_bdat() {
	N_MSG=$((N_MSG + 1))
	perl -MIO::Socket::INET -e '
		my ($port, $login, $rcpt, $subj) = @ARGV;
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $port, Timeout => 10) or die "connect: $!\n";
		$SIG{ALRM} = sub { die "timed out\n" };
		sub reply {
			alarm 10;
			while (defined(my $l = <$s>)) {
				$l =~ s/\r?\n$//;
				print(($l =~ /^[45]/ ? "<** " : "<-  "), $l, "\n");
				last if $l !~ /^\d{3}-/;
			}
			alarm 0;
		}
		sub cmd { print " -> $_[0]\n"; print $s "$_[0]\r\n"; reply() }
		reply();
		cmd("EHLO client.sendguard.test");
		cmd("XCLIENT LOGIN=$login");
		cmd("EHLO client.sendguard.test");
		cmd("MAIL FROM:<$login>");
		cmd("RCPT TO:<$rcpt>");
		my $m = "Subject: $subj\r\n\r\nhello\r\n";
		my $c = "BDAT " . length($m) . " LAST";
		print " -> $c\n";
		print $s "$c\r\n$m";
		reply();
		cmd("QUIT");
	' "$PF_PORT" "$2" "$3" "sendguard e2e $N_MSG" >"$1" 2>&1
	return 0
}

BDAT_LAST='^BDAT [0-9]+ LAST$'

# --- set-up -----------------------------------------------------------------

sg_setup smtp-source jq
if ! tap_check "sendguardctl is built" test -x "$SENDGUARDCTL"; then
	tap_done
	exit 1
fi

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
group = "postfix";
# bob is the load of section 11: far from any limit
policies = ( { match = [ "bob@example.com" ];
	       limits = { external_recipients_per_hour = 100000; }; } );
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
expect_reply "alice to 2 external recipients: 354 to DATA" \
    "$T/1" "$DATA_COMMAND" '^354 '
expect_reply "alice to 2 external recipients: 250 after the data" \
    "$T/1" "$END_OF_DATA" '^250 '

# --- 2. over the limit: the whole message refused at DATA ------------------

send_alice "$T/2" c@ext.test,d@ext.test
expect_reply "alice to 2 more external: MAIL FROM accepted (not yet restricted)" \
    "$T/2" "$MAIL_FROM_ALICE" '^250 '
expect_refusal_at_data "alice to 2 more external: both 550 5.1.8 lines in reply to DATA, no content sent" \
    "$T/2"

# --- 3. the restriction row -------------------------------------------------

row=$(sqlite3 -separator '|' "$SG_DB" \
    "SELECT identity, limit_name, count FROM restrictions" 2>&1)
tap_eq "restrictions: alice@example.com, external_recipients_per_hour, count 4" \
    "$row" "alice@example.com|external_recipients_per_hour|4"

# --- 4. restricted: refused, even to an internal recipient ------------------
# refuse_restricted_at = "data" (the default): in reply to the DATA
# command, before the client sends the content; the MTA does not wait for
# sendguard at MAIL FROM.  Section 10 reloads to "mail_from".

send_alice "$T/4" carol@example.com
expect_reply "restricted alice to 1 internal: MAIL FROM passes (the default)" \
    "$T/4" "$MAIL_FROM_ALICE" '^250 '
expect_refusal_at_data "restricted alice to 1 internal: both 550 5.1.8 lines in reply to DATA, no content sent" \
    "$T/4"
tap_check "maillog: Postfix logs the milter's refusal at DATA" \
    pf_wait_log 'milter-reject: DATA from .*5\.1\.8 Access denied, bad outbound sender; from=<alice@example\.com> to=<carol@example\.com>'
tap_grep_re "sendguard logs the refusal at DATA, with the restriction" \
    "$SG_LOG" 'identity=alice@example\.com client=127\.0\.0\.1: refused at DATA: restricted \(external_recipients_per_hour 3 exceeded: 4 recipients\)'

# BDAT (CHUNKING) has no DATA command: Postfix sends the milter's DATA
# stage at the first BDAT, so the refusal is the reply to that chunk.
send_bdat "$T/4b" alice@example.com carol@example.com
expect_refusal "restricted alice with BDAT: both 550 5.1.8 lines in reply to BDAT" \
    "$T/4b" "$BDAT_LAST"
tap_check "maillog: Postfix logs the milter's refusal at BDAT" \
    pf_wait_log 'milter-reject: BDAT from .*5\.1\.8 Access denied, bad outbound sender; from=<alice@example\.com> to=<carol@example\.com>'
send_bdat "$T/4c" dave@example.com y@ext.test
expect_reply "dave with BDAT to 1 external: 250 to the chunk" \
    "$T/4c" "$BDAT_LAST" '^250 '
tap_check "and Postfix passed it on" pf_wait_log 'to=<y@ext\.test>.*status=sent'
tap_eq_soon "and sendguard counted it" 1 \
    sqlite3 "$SG_DB" "SELECT SUM(external) FROM counters WHERE identity='dave@example.com'"

# --- 5. inbound mail is neither counted nor refused -------------------------

before=$(pf_maildir_count)
send "$T/5" --xclient "ADDR=203.0.113.9" \
    --from someone@outside.test --to alice@example.com
expect_reply "inbound from 203.0.113.9 to alice: 250 after the data" \
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
expect_refusal_at_data "after restart alice is still refused at DATA" \
    "$T/7"

# --- 8. deleting the row lifts the restriction at once ----------------------

tap_check "sqlite3 deletes alice's restriction" sqlite3 "$SG_DB" \
    "DELETE FROM restrictions WHERE identity='alice@example.com'"
send_alice "$T/8" carol@example.com
expect_reply "after the delete alice's very next message: 250 after the data" \
    "$T/8" "$END_OF_DATA" '^250 '

# The refused message was not counted: 2 + 1 reaches the limit, not over.
send_alice "$T/8b" f@ext.test
expect_reply "alice to 1 more external (window at the limit, not over): 250" \
    "$T/8b" "$END_OF_DATA" '^250 '

# --- 10. sendguardctl: list, unblock, and the very next message -------------

ctl() {
	"$SENDGUARDCTL" -c "$SG_CONF" "$@"
}

# alice is at 3 of 3 external recipients this hour: one more crosses
send_alice "$T/10" h@ext.test
expect_refusal_at_data "alice to 1 more external: restricted, both 550 5.1.8 lines at DATA" \
    "$T/10"
ctl list --json >"$T/10.json" 2>&1
tap_eq "sendguardctl list --json exits 0" "$?" 0
if jq -e 'length == 1 and .[0].identity == "alice@example.com" and
    .[0].limit == "external_recipients_per_hour" and .[0].limit_value == 3
    and .[0].count == 4 and .[0].expires_at == null and
    .[0].actor == "sendguard" and .[0].unblocks_30d == 0 and
    (.[0].queue_id | type) == "string"' "$T/10.json" >/dev/null 2>&1; then
	tap_ok "sendguardctl list --json shows alice, restricted by the milter"
else
	tap_fail "sendguardctl list --json shows alice, restricted by the milter"
	tap_diag "$T/10.json"
fi
send_alice "$T/10b" carol@example.com
expect_refusal_at_data "restricted alice is refused at DATA" "$T/10b"

# refuse_restricted_at = "mail_from", by SIGHUP: at MAIL FROM, before the
# recipients, from the next SMTP session on
printf 'refuse_restricted_at = "mail_from";\n' >>"$SG_CONF"
tap_check "SIGHUP: sendguard reloads with refuse_restricted_at = mail_from" \
    sg_reload
send_alice "$T/10m" carol@example.com
expect_refusal "mail_from: restricted alice is refused at MAIL FROM" \
    "$T/10m" "$MAIL_FROM_ALICE"
tap_check "maillog: Postfix logs the milter's refusal at MAIL FROM" \
    pf_wait_log 'NOQUEUE: milter-reject: MAIL from .*5\.1\.8 Access denied, bad outbound sender; from=<alice@example\.com> proto='
sed -i '/^refuse_restricted_at/d' "$SG_CONF"
tap_check "SIGHUP: back to the default for the rest" sg_reload

# A configured reply, by SIGHUP: its code, enhanced code and every line of
# its text are what the client reads at DATA (a 4xx tempfails).
printf '%s\n' 'reply = { code = "451"; xcode = "4.7.1"; text = [ "Outbound mail paused for this sender", "Ask your admin" ]; };' >>"$SG_CONF"
tap_check "SIGHUP: sendguard reloads with reply.code 451, reply.xcode 4.7.1" \
    sg_reload
send_alice "$T/10r" carol@example.com
expect_refusal_at_data "restricted alice gets the configured reply at DATA: 451-4.7.1 and 451 4.7.1, both lines" \
    "$T/10r" "$(printf '<** 451-4.7.1 %s\n<** 451 4.7.1 %s' \
    "Outbound mail paused for this sender" "Ask your admin")"
sed -i '/^reply = /d' "$SG_CONF"
tap_check "SIGHUP: back to the default reply" sg_reload

ctl unblock alice@example.com --reason "e2e: password reset" >"$T/10.unblock" 2>&1
tap_eq "sendguardctl unblock alice exits 0" "$?" 0
tap_grep "and reminds the admin to reset the password" "$T/10.unblock" \
    "reset its password"
# No restart, no wait: the very next message.  Three external recipients
# fit only because unblock reset her counters (she was at 3 of 3).
send_alice "$T/10c" i@ext.test,j@ext.test,k@ext.test
expect_reply "the very next message after unblock: 250 after the data" \
    "$T/10c" "$END_OF_DATA" '^250 '
tap_eq_soon "and her three recipients are written (from zero)" 3 \
    sqlite3 "$SG_DB" "SELECT SUM(external) FROM counters WHERE identity='alice@example.com'"
ctl show alice@example.com --json >"$T/10.show" 2>/dev/null
tap_eq "sendguardctl show: alice is no longer restricted (exit 1)" "$?" 1
if jq -e '.restricted == false and
    .counts.external_recipients_per_hour.used == 3 and .unblocks_30d == 1 and
    .history[0].kind == "unblocked" and
    .history[0].reason == "e2e: password reset" and
    .history[1].kind == "restricted"' "$T/10.show" >/dev/null 2>&1; then
	tap_ok "show: counters restarted from zero; history has the unblock"
else
	tap_fail "show: counters restarted from zero; history has the unblock"
	tap_diag "$T/10.show"
fi

# --- 11. sendguardctl while the milter is under load ---------------------------
# bob (an internal client) sends N one-recipient messages over 4 parallel
# sessions while sendguardctl reads and writes the same database (list,
# usage, block and unblock of carol); afterwards every message was accepted
# and counted exactly once, and every admin action is in the history.

N=40
smtp-source -s 4 -m "$N" -M client.sendguard.test -f bob@example.com \
    -t x@ext.test "127.0.0.1:$PF_PORT" >"$T/11.source" 2>&1 &
SRC_PID=$!
rounds=0
during=0	# rounds that began and ended while smtp-source was running
ctl_fail=0
while kill -0 "$SRC_PID" 2>/dev/null && [ "$rounds" -lt 200 ]; do
	ctl list --json >/dev/null 2>>"$T/11.ctl" || ctl_fail=$((ctl_fail + 1))
	ctl usage --json >/dev/null 2>>"$T/11.ctl" || ctl_fail=$((ctl_fail + 1))
	ctl block carol@example.com --reason load >/dev/null 2>>"$T/11.ctl" ||
	    ctl_fail=$((ctl_fail + 1))
	ctl unblock carol@example.com --force >/dev/null 2>>"$T/11.ctl" ||
	    ctl_fail=$((ctl_fail + 1))
	rounds=$((rounds + 1))
	kill -0 "$SRC_PID" 2>/dev/null && during=$((during + 1))
done
wait "$SRC_PID"
src_status=$?
tap_eq "smtp-source sent $N messages without an error (exit 0)" \
    "$src_status" 0 || tap_diag "$T/11.source"
if [ "$during" -ge 1 ]; then
	tap_ok "whole sendguardctl rounds ran while the load was in flight ($during of $rounds)"
else
	tap_fail "whole sendguardctl rounds ran while the load was in flight" \
	    "none of $rounds rounds ended before smtp-source did"
fi
tap_eq "every sendguardctl call during the load succeeded ($rounds rounds)" \
    "$ctl_fail" 0 || tap_diag "$T/11.ctl"
pf_wait_queue_empty >/dev/null 2>&1
tap_eq "the milter accepted and counted each of bob's $N messages once" \
    "$(grep -c 'identity=bob@example.com client=127.0.0.1 auth=no rcpts=0 internal, 1 external; .*: accepted$' "$SG_LOG")" "$N"
tap_eq "Postfix delivered all $N (none lost)" \
    "$(grep -c 'to=<x@ext.test>.*status=sent' "$PF_MAILLOG")" "$N"
if grep -q 'database error' "$SG_LOG"; then
	tap_fail "no database error in the milter during the load" \
	    "$(grep 'database error' "$SG_LOG" | head -n 3)"
else
	tap_ok "no database error in the milter during the load"
fi
# bob_used - bob's external recipients this hour, as sendguardctl shows them
bob_used() {
	ctl usage bob@example.com --json 2>&1 |
	    jq '.[0].counts.external_recipients_per_hour.used'
}
# (the last message's count is written up to 20 ms after its reply)
tap_eq_soon "sendguardctl usage: bob's count is exactly $N" "$N" bob_used
ctl history carol@example.com --json >"$T/11.hist" 2>&1
tap_eq "every unblock of carol is in the history once" \
    "$(jq '[.[] | select(.kind == "unblocked")] | length' "$T/11.hist")" \
    "$rounds"

# --- 12. a database another process keeps locked: 451 4.3.0 -----------------
# Reads go on (WAL): erin's first message is judged and accepted, its
# counts kept in memory until the writer gives up on the lock
# (busy_timeout_ms, reloaded to 100); from then on a message is tempfailed
# at DATA with sendguard's 451 4.3.0 (on_store_error = "tempfail", the
# default), and the client keeps it.

printf 'busy_timeout_ms = 100;\n' >>"$SG_CONF"
tap_check "SIGHUP: sendguard reloads with busy_timeout_ms = 100" sg_reload
if db_lock "$SG_DB" "$T/lock.fifo"; then
	tap_ok "another process holds the database's write lock"
	send "$T/12a" --xclient "LOGIN=erin@example.com" \
	    --from erin@example.com --to a@ext.test 3>&-
	expect_reply "under the lock erin's first message is accepted (250 after the data)" \
	    "$T/12a" "$END_OF_DATA" '^250 '
	tap_check "sendguard's writer gives up on the lock and says so" \
	    pf_wait_file "$SG_LOG" "counts: cannot write the counts of 1 sender(s)"
	send "$T/12b" --xclient "LOGIN=erin@example.com" \
	    --from erin@example.com --to b@ext.test 3>&-
	expect_refusal_at_data "then her next message: 451 4.3.0 in reply to DATA, no content sent" \
	    "$T/12b" "<** 451 4.3.0 Outbound sender policy temporarily unavailable, try again later"
	tap_check "maillog: Postfix logs the milter's tempfail at DATA" \
	    pf_wait_log 'milter-reject: DATA from .*451 4\.3\.0 Outbound sender policy temporarily unavailable, try again later; from=<erin@example\.com>'
	tap_grep_re "sendguard logs the database error and the tempfail" "$SG_LOG" \
	    'identity=erin@example\.com: database error while counting recipients: writing counts: .*; tempfailing \(on_store_error = tempfail\)$'
	db_unlock
else
	tap_fail "another process holds the database's write lock"
fi
tap_eq_soon "the lock gone, erin's accepted message is written, once" 1 \
    sqlite3 "$SG_DB" "SELECT SUM(external) FROM counters WHERE identity='erin@example.com'"
sed -i '/^busy_timeout_ms/d' "$SG_CONF"
tap_check "SIGHUP: back to the default busy_timeout_ms" sg_reload

# --- 9. milter down: tempfail, nothing lost ----------------------------------

sg_stop
send_alice "$T/9" g@ext.test
expect_reply "sendguard stopped: 4xx tempfail at MAIL FROM" \
    "$T/9" "$MAIL_FROM_ALICE" '^4[0-9][0-9] '

tap_done
