#!/bin/sh
# milter_test.sh - protocol tests of the real sendguard binary with Debian's
# miltertest (tests/milter/*.lua), plus what only the process shows:
# start-up errors and exit statuses, log lines, a locked database, restarts.
# Prints TAP lines; every daemon it starts is stopped on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/tap.sh
. tests/lib/dblock.sh
. tests/lib/net.sh

SG=./sendguard
DIR=$(mktemp -d /tmp/sendguard-milter.XXXXXX) || exit 2
SG_PID=""
INET_PID=""			# a second sendguard, on TCP

cleanup() {
	[ -n "$DB_LOCK_PID" ] && kill "$DB_LOCK_PID" 2>/dev/null
	[ -n "$INET_PID" ] && stop_pid "$INET_PID" "sendguard on TCP"
	sg_stop
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# make_conf ON_STORE_ERROR [REFUSE_AT] - write $DIR/sg.conf
# (refuse_restricted_at: data, the default, unless given)
make_conf() {
	sed -e "s|@DIR@|$DIR|g" -e "s|@ON_STORE_ERROR@|$1|" \
	    -e "s|@REFUSE_AT@|${2:-data}|" \
	    tests/milter/limits.conf.in >"$DIR/sg.conf"
}

# sg_start - start sendguard in the foreground, logging to $DIR/sg.log, and
# wait (at most 10 s) until its socket exists
sg_start() {
	# fd 3 may be the lock holder's fifo: sendguard must not keep it open
	"$SG" -f -c "$DIR/sg.conf" >>"$DIR/sg.log" 2>&1 3>&- &
	SG_PID=$!
	_i=0
	while [ "$_i" -lt 100 ]; do
		[ -S "$DIR/sg.sock" ] && return 0
		kill -0 "$SG_PID" 2>/dev/null || { SG_PID=""; return 1; }
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# sg_stop - SIGTERM and wait (at most 10 s), then SIGKILL
sg_stop() {
	[ -n "$SG_PID" ] || return 0
	kill "$SG_PID" 2>/dev/null
	_i=0
	while kill -0 "$SG_PID" 2>/dev/null && [ "$_i" -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -9 "$SG_PID" 2>/dev/null
	wait "$SG_PID" 2>/dev/null
	SG_PID=""
}

# lua SCRIPT [-D NAME=VALUE...] - run one miltertest script, its TAP
# lines renumbered into ours
lua() {
	_script=$1
	shift
	miltertest -s "tests/milter/$_script" -D SOCK="${LUA_SOCK:-unix:$DIR/sg.sock}" \
	    -D DB="$DIR/sg.db" -D TAP="$PWD/tests/milter" \
	    -D LOG="${LUA_LOG:-$DIR/sg.log}" "$@" >"$DIR/lua.out" 2>&1
	_rc=$?
	while IFS= read -r _l; do
		case "$_l" in
		"ok "*) tap_ok "${_l#ok * - }" ;;
		"not ok "*) tap_fail "${_l#not ok * - }" ;;
		*) echo "# $_l" ;;
		esac
	done <"$DIR/lua.out"
	[ "$_rc" -eq 0 ] || tap_fail "miltertest $_script exited with status $_rc"
}

# --- start-up ---------------------------------------------------------------

make_conf tempfail
"$SG" -n -c "$DIR/sg.conf" >/dev/null 2>&1
tap_eq "-n accepts a valid configuration (exit 0)" "$?" 0

printf 'limits = { recipients_per_day = 2000000; };\n' >"$DIR/bad.conf"
"$SG" -n -c "$DIR/bad.conf" >"$DIR/bad.out" 2>&1
tap_eq "-n refuses an out-of-range limit with EX_CONFIG (78)" "$?" 78
tap_grep "and names file:line and the allowed range" "$DIR/bad.out" \
    "$DIR/bad.conf:1:"
tap_grep "the error gives the range" "$DIR/bad.out" "0..1000000"

"$SG" -V | grep -q '^sendguard [0-9]'
tap_eq "-V prints the version" "$?" 0

"$SG" -x >/dev/null 2>&1
tap_eq "an unknown option is a usage error (64)" "$?" 64

printf 'not a database, just text\n%.0s' 1 2 3 4 5 6 7 8 >"$DIR/sg.db"
timeout -k 5 30 "$SG" -f -c "$DIR/sg.conf" >"$DIR/garbage.out" 2>&1
tap_eq "a database file that is not SQLite stops start-up with 69" "$?" 69
tap_grep "with a clear message" "$DIR/garbage.out" "$DIR/sg.db"
rm -f "$DIR/sg.db"

# --- the protocol -----------------------------------------------------------

if sg_start; then tap_ok "sendguard starts and listens"; else
	tap_fail "sendguard starts and listens"; tap_diag "$DIR/sg.log"; fi

timeout -k 5 30 "$SG" -f -c "$DIR/sg.conf" >"$DIR/second.out" 2>&1
tap_eq "a second instance on a live socket refuses to start (69)" "$?" 69
tap_grep "saying another milter is listening" "$DIR/second.out" \
    "another milter is listening"
tap_check "and the first instance's socket is still there" test -S "$DIR/sg.sock"

lua protocol.lua
lua mta_macros.lua

tap_grep_re "one info line per counted message, with counts against limits" \
    "$DIR/sg.log" \
    'identity=bob@example.com client=127.0.0.1 auth=no rcpts=0 internal, 3 external; hour internal 0/100, hour external 3/3, day 3/1000: accepted'
tap_grep_re "a restriction is logged at warning with its reason" "$DIR/sg.log" \
    'identity=alice@example.com client=203.0.113.9: restricted: external_recipients_per_hour 3 exceeded: 4 recipients; action block'
tap_grep "a malformed sender is logged, cleaned" "$DIR/sg.log" \
    'sender malformed address: "<bad address@example.com>"; tempfailing'
tap_grep "a restricted sender's refusal is logged at DATA, with Sendmail's queue id" \
    "$DIR/sg.log" \
    "6AN1YhGT002418: identity=d=1+x@example.com client=203.0.113.9: refused at DATA: restricted"

# --- a hard cap across threads: 12 parallel messages, limit 3 -------------

# Each one stops before DATA, blocked opening a fifo, until all 12
# are there; opening the fifo's other end releases them at the same moment.
# The test opens it read-write (which never blocks, racers or not) and
# keeps it open until every racer is done, so a racer on its way to the
# fifo gets through too.
mkdir "$DIR/race"
mkfifo "$DIR/race/go"
_j=0
_pids=""
while [ "$_j" -lt 12 ]; do
	timeout -k 5 30 miltertest -s tests/milter/race.lua -D SOCK="unix:$DIR/sg.sock" \
	    -D DB="$DIR/sg.db" -D TAP="$PWD/tests/milter" \
	    -D RACE="$DIR/race" -D ME="$_j" >"$DIR/race.$_j" 2>&1 &
	_pids="$_pids $!"
	_j=$((_j + 1))
done
_i=0
while [ "$(ls "$DIR/race" | grep -c '^ready')" -lt 12 ] && [ "$_i" -lt 100 ]; do
	sleep 0.1
	_i=$((_i + 1))
done
tap_eq "all 12 racers reached the barrier before DATA" \
    "$(ls "$DIR/race" | grep -c '^ready')" 12
exec 4<>"$DIR/race/go"
# timeout(1) bounds every racer, so this wait is bounded.
for _p in $_pids; do
	wait "$_p"
done
exec 4>&-
tap_eq "12 parallel messages against a limit of 3: exactly 3 accepted" \
    "$(cat "$DIR"/race.* | grep -c '^result accepted')" 3
tap_eq "and the other 9 refused" \
    "$(cat "$DIR"/race.* | grep -c '^result refused')" 9
tap_eq_soon "the database counts 3 external recipients for the racer" 3 \
    sqlite3 "$DIR/sg.db" "SELECT SUM(external) FROM counters WHERE identity='racer@example.com'"

# --- over TCP: DATA answered there too (no 44 ms stall) -------------------

# A second instance, same configuration and database, on an inet socket.
if INET_PORT=$(net_pick_port); then
	"$SG" -f -c "$DIR/sg.conf" -p "inet:$INET_PORT@127.0.0.1" \
	    >"$DIR/inet.log" 2>&1 3>&- &
	INET_PID=$!
	_i=0
	while ! net_port_listening "$INET_PORT" && proc_alive "$INET_PID" &&
	    [ "$_i" -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if net_port_listening "$INET_PORT" && proc_alive "$INET_PID"; then
		tap_ok "a second sendguard listens on inet:$INET_PORT@127.0.0.1"
		LUA_SOCK="inet:$INET_PORT@127.0.0.1" LUA_LOG="$DIR/inet.log" \
		    lua inet.lua
	else
		tap_fail "a second sendguard listens on inet:$INET_PORT@127.0.0.1"
		tap_diag "$DIR/inet.log"
	fi
	stop_pid "$INET_PID" "sendguard on TCP"
	INET_PID=""
else
	tap_fail "a free TCP port for a second sendguard"
fi

# --- restart keeps restrictions and counts ---------------------------------

sg_stop
sg_start || tap_fail "sendguard restarts"
lua restart.lua
lua moved.lua
tap_grep "a missing database is logged" "$DIR/sg.log" \
    "database error while opening the database"

# --- a locked database: tempfail, or accept if so configured ---------------

if db_lock "$DIR/sg.db" "$DIR/lock.fifo"; then _locked=yes; else
	_locked=no; fi
tap_eq "another process holds the database's write lock" "$_locked" yes
rm -f "$DIR/sg.db.accepted"
lua locked_tempfail.lua
tap_grep_re "the writer logs that it cannot write the counts" "$DIR/sg.log" \
    "counts: cannot write the counts of 1 sender\\(s\\): .*database is locked"
tap_grep_re "a tempfailed message's log line says why, and that it was tempfailed" \
    "$DIR/sg.log" \
    'identity=dave@example\.com: database error while counting recipients: writing counts: .*; tempfailing \(on_store_error = tempfail\)$'
# a stop gives the writer a few more tries, then says what is lost
sg_stop
tap_grep "a stop with counts it cannot write says how many are lost" \
    "$DIR/sg.log" "counts: stopping with the counts of 1 sender(s) not written, and lost"
rm -f "$DIR/sg.db.accepted"

make_conf accept
sg_start || tap_fail "sendguard starts with on_store_error = accept"
lua locked_accept.lua
tap_grep "and says so in the log" "$DIR/sg.log" \
    "accepting (on_store_error = accept)"
db_unlock
_accepted=$(cat "$DIR/sg.db.accepted" 2>/dev/null)
case $_accepted in
[1-9]*) tap_ok "messages were counted in memory under the lock ($_accepted)" ;;
*) tap_fail "messages were counted in memory under the lock" "got: \"$_accepted\"" ;;
esac
tap_eq_soon "the lock gone, the counts kept in memory are written" \
    "$_accepted" \
    sqlite3 "$DIR/sg.db" "SELECT SUM(external) FROM counters WHERE identity='erin@example.com'"

# --- a 4xx reply tempfails -------------------------------------------------

sg_stop
make_conf tempfail
printf '%s\n' 'reply = { code = "451"; xcode = "4.7.1";' \
    '  text = [ "Outbound mail paused for this sender", "Ask your admin" ]; };' \
    >>"$DIR/sg.conf"
sg_start || tap_fail "sendguard starts with a 4xx reply"
lua reply4xx.lua

# --- the default action: block until the next 00:00 UTC ---------------------

# limits.conf.in without its global action (so the default), and a policy
# for tom that sets a limit and no action (so it inherits the default)
sg_stop
make_conf tempfail
sed -i -e '/^action = /d' \
    -e 's|^policies = ($|&\n  { match = [ "tom@example.com" ]; limits = { external_recipients_per_hour = 1; }; },|' \
    "$DIR/sg.conf"
tap_eq "the configuration sets no action (the default applies)" \
    "$(grep -c '^action' "$DIR/sg.conf") $(grep -c '"tom@example.com" ]; limits' "$DIR/sg.conf")" "0 1"
sg_start || tap_fail "sendguard starts with the default action"
lua default_action.lua

# --- spam verdicts from headers (tests/milter/spam.conf.in) ----------------

# spam_conf ON_MESSAGE - the spam configuration on a fresh database
spam_conf() {
	rm -f "$DIR"/sg.db*
	sed -e "s|@DIR@|$DIR|g" -e "s|@ON_MESSAGE@|$1|" \
	    tests/milter/spam.conf.in >"$DIR/sg.conf"
}

sg_stop
spam_conf accept
sg_start || tap_fail "sendguard starts with spam header rules"
lua spam.lua
tap_grep_re "the log line carries the spam counts and the verdict's source" \
    "$DIR/sg.log" \
    'identity=spammer@example.com .*day 1/10000; spam hour 1/0, spam day 1/3; verdict spam by X-Spam-Flag \(rule at [^)]*sg.conf:18, score 7.10/5.00\): accepted'
tap_grep "a malformed header is logged" "$DIR/sg.log" \
    'identity=forger@example.com: ignored malformed header: X-Spam-Status: neither Yes nor No: "Maybe, score=lots"'
tap_grep "the spam restriction is logged with its reason" "$DIR/sg.log" \
    "restricted: spam_messages_per_day 3 reached: 3 spam messages"
# the same reply, and a store error's, read at end of message
sg_stop
spam_conf accept
printf '%s\n' 'reply = { code = "451"; xcode = "4.7.1";' \
    '  text = [ "Outbound mail paused for this sender", "Ask your admin" ]; };' \
    >>"$DIR/sg.conf"
sg_start || tap_fail "sendguard starts with spam header rules and a 4xx reply"
lua reply_eom.lua
for _m in reject hold; do
	sg_stop
	spam_conf "$_m"
	sg_start || tap_fail "sendguard starts with spam.on_message = $_m"
	lua spam_onmsg.lua -D ON_MESSAGE="$_m"
done
sg_stop
spam_conf accept
echo 'on_store_error = "accept";' >>"$DIR/sg.conf"
sg_start || tap_fail "sendguard starts with spam checking and on_store_error = accept"
lua spam_dberr.lua -D ON_MESSAGE=accept
sg_stop
spam_conf reject
echo 'on_store_error = "accept";' >>"$DIR/sg.conf"
sg_start || tap_fail "sendguard starts with on_message reject and on_store_error = accept"
lua spam_dberr.lua -D ON_MESSAGE=reject

# --- refuse_restricted_at = mail_from: the same, refused at MAIL FROM ------

sg_stop
rm -f "$DIR"/sg.db*
: >"$DIR/sg.log"
make_conf tempfail mail_from
sg_start || tap_fail "sendguard starts with refuse_restricted_at = mail_from"
lua protocol.lua -D MODE=mail_from
lua mta_macros.lua -D MODE=mail_from
tap_grep "mail_from: Sendmail's queue id sent at MAIL FROM names a refusal there" \
    "$DIR/sg.log" \
    "6AN1YhGT002418: identity=d=1+x@example.com client=203.0.113.9: refused at MAIL FROM: restricted"
sg_stop
make_conf accept mail_from
sg_start || tap_fail "sendguard starts with mail_from and on_store_error = accept"
lua mailfrom_dberr.lua

sg_stop
tap_check "the socket is removed at exit" test ! -e "$DIR/sg.sock"

tap_done
