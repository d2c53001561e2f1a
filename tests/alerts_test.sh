#!/bin/sh
# alerts_test.sh - alerts end to end: a real Postfix on loopback, swaks as
# the client, sendguard mailing the admin through the instance's own
# sendmail(1) (MAIL_CONFIG) and running an alert command (a script that
# records its environment and stdin).  Checks the admin's mail in the
# instance's Maildir (Auto-Submitted, the facts, the sendguardctl
# commands), that the alert's null sender is never counted, the command's
# SENDGUARD_* variables and JSON, an action "alert" crossing, the daily
# cap, a hanging command killed with its process group while mail flows,
# and a missing sendmail and a failing command only logged.  Needs root; prints TAP lines; stops everything it starts.
set -u

TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS")
. "$TESTS/lib/tap.sh"
. "$TESTS/lib/net.sh"
. "$TESTS/lib/postfix.sh"
. "$TESTS/lib/swaks.sh"
. "$TESTS/lib/sendguard.sh"

SENDGUARD=${SENDGUARD:-$ROOT/sendguard}
# alerts_cleanup - the EXIT trap: hang.sh's process group (hang.sh and
# its sleep 300), if a failure left it, then sendguard and Postfix
# (sg_cleanup, which exits with the status the script had)
alerts_cleanup() {
	_al_status=$?
	_al_pg=$(cat "${T:-/nonexistent}/hang.pid" 2>/dev/null)
	# posix_spawn made hang.sh a process group leader: kill the group
	[ -n "$_al_pg" ] && kill -KILL "-$_al_pg" 2>/dev/null
	(exit "$_al_status")
	sg_cleanup
}
trap alerts_cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

sg_setup perl
mkdir -p "$T/cmd"
# sendguard's sendmail(1) submits into this instance.
MAIL_CONFIG=$PF_CONF
export MAIL_CONFIG

# The alert command: one env file and one stdin file per run.
cat >"$T/notify.sh" <<EOF
#!/bin/sh
n=\$(ls "$T/cmd" | grep -c '\.json\$')
env | grep '^SENDGUARD_' | sort >"$T/cmd/\$n.env"
cat >"$T/cmd/\$n.json"
EOF
# A command that hangs, with a child in its process group.
cat >"$T/hang.sh" <<EOF
#!/bin/sh
echo \$\$ >"$T/hang.pid"
sleep 300 &
echo \$! >"$T/hang.child"
wait
EOF
chmod 755 "$T/notify.sh" "$T/hang.sh"

# write_conf COMMAND TIMEOUT_MS DAILY_LIMIT [SENDMAIL]
write_conf() {
	cat >"$SG_CONF" <<EOF
socket = "unix:$SG_SOCK";
database = "$SG_DB";
group = "postfix";
local_domains = [ "example.com" ];
limits = { external_recipients_per_hour = 2; };
action = "block";
policies = (
  { match = [ "news@example.com" ]; limits = { external_recipients_per_hour = 1; };
    action = "alert"; }
);
alerts = {
  mail_to = [ "admin@example.com", "second-admin@example.com" ];
  sendmail_path = "${4:-/usr/sbin/sendmail}";
  command = "$1";
  timeout_ms = $2;
  daily_limit = $3;
};
EOF
}

# send_as OUT LOGIN RCPTS - an authenticated user (XCLIENT LOGIN) to RCPTS
send_as() {
	send "$1" --xclient "LOGIN=$2" --from "$2" --to "$3"
}

# expect_refused WHAT FILE - the reply to DATA is the 550 5.1.8 refusal,
# the message's content never sent (sendguard judges it at DATA)
expect_refused() {
	expect_refusal_at_data "$1" "$2"
}

# json_complete FILE - FILE holds one whole JSON object (the command may
# still be writing it)
json_complete() {
	perl -MJSON::PP -e 'local $/; decode_json(<STDIN>)' <"$1" >/dev/null 2>&1
}

# json_count - how many runs of notify.sh have begun (one .json each)
json_count() {
	ls "$T/cmd" | grep -c '\.json$'
}

# json_at_least N - have N runs of notify.sh begun?
json_at_least() {
	[ "$(json_count)" -ge "$1" ]
}

# admin_mail SUBJECT - the Maildir file of the alert with this Subject
admin_mail() {
	maildir_file_with "Subject: $1"
}

# json_field FILE KEY - the value of KEY in the JSON object in FILE,
# decoded by a real JSON parser (perl's JSON::PP)
json_field() {
	perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
	    my $v = $j->{$ARGV[0]}; print defined $v ? $v : "null"' "$2" <"$1" 2>&1
}

write_conf "$T/notify.sh" 10000 3
"$SENDGUARD" -n -c "$SG_CONF" >"$T/check.out" 2>&1
tap_eq "sendguard -n accepts the alerts configuration" "$?" 0
if ! pf_start || ! sg_start; then
	tap_fail "Postfix and sendguard start"
	tap_done
	exit 1
fi

# --- 1. a restriction mails the admins and runs the command ----------------

send_as "$T/1" alice@example.com a@ext.test,b@ext.test
expect_reply "alice to 2 external: accepted" "$T/1" "$END_OF_DATA" '^250 '
send_as "$T/2" alice@example.com c@ext.test
expect_refused "alice to 1 more: refused at DATA, restricted" "$T/2"

subject="sendguard: alice@example.com restricted from sending email"
pf_wait_maildir 2 >/dev/null
mail=$(admin_mail "$subject")
if [ -n "$mail" ]; then
	tap_ok "the admins get a mail: $subject"
else
	tap_fail "the admins get a mail: $subject"
	tap_diag "$PF_MAILLOG"
fi
mail=${mail:-/dev/null}
tap_grep "it carries Auto-Submitted: auto-generated" "$mail" \
    "Auto-Submitted: auto-generated"
tap_grep_re "from the null sender" "$mail" '^Return-Path: <>$'
tap_grep_re "From: MAILER-DAEMON, qualified by Postfix (myorigin), not by the host name" \
    "$mail" '^From: sendguard <MAILER-DAEMON@mx\.sendguard\.test>$'
tap_grep_re "the restriction's end, in the column of the others" "$mail" \
    '^Restricted until: cleared by an admin$'
tap_grep "what to do names the cause of a recipient limit" "$mail" \
    "find out why this sender sent so much"
tap_grep_re "with a Message-ID and a Date" "$mail" '^Message-ID: <[^ ]+@[^ ]+>$'
tap_grep_re "and a Date" "$mail" '^Date: [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] '
tap_grep "the reason" "$mail" \
    "Reason:           external_recipients_per_hour 2 exceeded: 3 recipients"
tap_grep "the count" "$mail" "Count:            3"
tap_grep "the client address" "$mail" "Client address:   127.0.0.1"
qid=$(sqlite3 "$SG_DB" "SELECT queue_id FROM restrictions WHERE identity='alice@example.com'")
tap_grep "the queue id of the restriction ($qid)" "$mail" \
    "Queue id:         ${qid:-none}"
tap_grep "how to see it" "$mail" "sendguardctl show -- alice@example.com"
tap_grep "how to lift it" "$mail" "sendguardctl unblock -- alice@example.com"
tap_eq "both admins got it (one mail each)" \
    "$(grep -lF "Subject: $subject" "$PF_MAILDIR"/new/* "$PF_MAILDIR"/cur/* 2>/dev/null | wc -l | tr -d ' ')" 2
tap_grep_re "the alert's submission was seen by sendguard as the null sender, exempt" \
    "$SG_LOG" 'identity=<> client=127\.0\.0\.1: exempt \(null sender'
tap_eq "and nothing was counted for it" \
    "$(sqlite3 "$SG_DB" "SELECT COUNT(*) FROM counters WHERE identity NOT IN ('alice@example.com')")" 0
tap_grep "the log says the alert mail was sent" "$SG_LOG" \
    "alert: mail for alice@example.com sent to 2 recipient(s)"

env0=$T/cmd/0.env
json0=$T/cmd/0.json
# (notify.sh writes the environment first, then its stdin, the JSON)
tap_check "the alert command ran and wrote its whole stdin, one JSON object" \
    wait_for json_complete "$json0"
tap_grep "SENDGUARD_IDENTITY in its environment" "$env0" \
    "SENDGUARD_IDENTITY=alice@example.com"
tap_grep "SENDGUARD_EVENT=restricted" "$env0" "SENDGUARD_EVENT=restricted"
tap_grep "SENDGUARD_REASON" "$env0" \
    "SENDGUARD_REASON=external_recipients_per_hour 2 exceeded: 3 recipients"
tap_grep "SENDGUARD_COUNT and SENDGUARD_LIMIT_VALUE" "$env0" "SENDGUARD_COUNT=3"
tap_grep "SENDGUARD_LIMIT_VALUE" "$env0" "SENDGUARD_LIMIT_VALUE=2"
tap_grep "SENDGUARD_ACTION" "$env0" "SENDGUARD_ACTION=block"
tap_grep "SENDGUARD_QUEUE_ID" "$env0" "SENDGUARD_QUEUE_ID=$qid"
tap_eq "its stdin is one JSON object: identity" \
    "$(json_field "$json0" identity)" alice@example.com
tap_eq "JSON: event, count, limit_value, action, client_address, expires" \
    "$(json_field "$json0" event) $(json_field "$json0" count) $(json_field "$json0" limit_value) $(json_field "$json0" action) $(json_field "$json0" client_address) $(json_field "$json0" expires)" \
    "restricted 3 2 block 127.0.0.1 null"
tap_eq "JSON: queue_id" "$(json_field "$json0" queue_id)" "$qid"

# --- 2. an action "alert" crossing: accepted, admins told -------------------

send_as "$T/3" news@example.com x@ext.test,y@ext.test
expect_reply "news (action alert, limit 1) to 2 external: accepted" \
    "$T/3" "$END_OF_DATA" '^250 '
subject="sendguard: news@example.com crossed a limit (action alert, nothing refused)"
pf_wait_maildir 4 >/dev/null
tap_check "the admins get a mail: $subject" test -n "$(admin_mail "$subject")"
wait_for json_complete "$T/cmd/1.json"
tap_eq "the command gets SENDGUARD_EVENT=alert, nothing refused" \
    "$(json_field "$T/cmd/1.json" event) $(json_field "$T/cmd/1.json" action)" \
    "alert alert"

# --- 3. alerts.daily_limit = 3 ----------------------------------------------

send_as "$T/4" bob@example.com a@ext.test,b@ext.test,c@ext.test
expect_refused "bob over the limit: refused" "$T/4"
send_as "$T/5" carol@example.com a@ext.test,b@ext.test,c@ext.test
expect_refused "carol over the limit: refused" "$T/5"
tap_check "the fourth alert of the day is suppressed, and logged" \
    pf_wait_file "$SG_LOG" "alert: restriction for carol@example.com (external_recipients_per_hour 2 exceeded: 3 recipients) suppressed: alerts.daily_limit 3 reached today; 1 suppressed today"
# Alerts go out in order: by carol's suppression, bob's mail and command
# are under way.  Wait for them (bounded), and for Postfix to deliver all
# it was given, then count.
pf_wait_maildir 6 >/dev/null
wait_for json_at_least 3 && wait_for json_complete "$T/cmd/2.json"
pf_wait_queue_empty >/dev/null 2>&1
tap_eq "no mail about carol" \
    "$(admin_mail "sendguard: carol@example.com restricted" | wc -l | tr -d ' ')" 0
tap_eq "the command ran three times (alice, news, bob)" "$(json_count)" 3
tap_eq "the third run was bob's" "$(json_field "$T/cmd/2.json" identity)" \
    bob@example.com
tap_eq "carol's restriction is in the database all the same" \
    "$(sqlite3 "$SG_DB" "SELECT COUNT(*) FROM restrictions WHERE identity='carol@example.com'")" 1

# --- 4. a command that hangs is killed; mail flows meanwhile ----------------

sg_stop
write_conf "$T/hang.sh" 8000 0
sg_start || tap_fail "sendguard restarts with the hanging command"
send_as "$T/6" dave@example.com a@ext.test,b@ext.test,c@ext.test
expect_refused "dave over the limit: refused at once" "$T/6"
i=0
while [ ! -s "$T/hang.child" ] && [ "$i" -lt 100 ]; do
	net_sleep_tick
	i=$((i + 1))
done
hang=$(cat "$T/hang.pid" 2>/dev/null)
child=$(cat "$T/hang.child" 2>/dev/null)
send_as "$T/7" erin@example.com a@ext.test
expect_reply "while the command hangs, erin's message is accepted" \
    "$T/7" "$END_OF_DATA" '^250 '
if [ -n "$hang" ] && kill -0 "$hang" 2>/dev/null; then
	tap_ok "(the command was still hanging then)"
else
	tap_fail "(the command was still hanging then)" "pid '$hang'"
fi
tap_check "after alerts.timeout_ms the log says it was killed" \
    pf_wait_file "$SG_LOG" "alert: command for dave@example.com: $T/hang.sh killed after 8000 ms (alerts.timeout_ms)"
# (a zombie waiting for init to reap it counts as gone)
if [ -n "$child" ] && ! proc_alive "$child"; then
	tap_ok "its child in the same process group is gone too"
else
	tap_fail "its child in the same process group is gone too" \
	    "$(ps -o pid,pgid,stat,args -p "${child:-0}")"
fi
tap_check "the mail alert for dave went out all the same" \
    test -n "$(admin_mail "sendguard: dave@example.com restricted")"

# --- 5. sendmail missing, command failing: logged, mail unaffected -------

sg_stop
write_conf /bin/false 5000 0 /nonexistent/sendmail
sg_start || tap_fail "sendguard restarts with a missing sendmail"
send_as "$T/8" frank@example.com a@ext.test,b@ext.test,c@ext.test
expect_refused "frank over the limit: refused as usual" "$T/8"
tap_check "a missing sendmail is logged" pf_wait_file "$SG_LOG" \
    "alert: mail for frank@example.com: cannot run /nonexistent/sendmail: No such file or directory"
tap_check "a command that fails is logged with its status" pf_wait_file \
    "$SG_LOG" "alert: command for frank@example.com: /bin/false exited with status 1"
send_as "$T/9" grace@example.com a@ext.test
expect_reply "and the next message is accepted" "$T/9" "$END_OF_DATA" '^250 '

tap_done
