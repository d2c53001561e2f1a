#!/bin/sh
# daemon_test.sh - sendguard as a daemon: detaching, the pidfile, dropping
# to user/group (nobody/postfix), the socket's owner and mode, SIGHUP
# reload (a new limit, a broken file, a key that needs a restart, many
# SIGHUPs in a row), a clean SIGTERM with a message in flight, and the
# background housekeeping.  Drives the real binary with Debian's
# miltertest (tests/milter/send.lua).  Needs root (the privilege drop);
# prints TAP lines; every daemon it starts is stopped on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/tap.sh
# shellcheck source=lib/net.sh
. tests/lib/net.sh
. tests/lib/dblock.sh

SG=$PWD/sendguard
DIR=$(mktemp -d /tmp/sendguard-daemon.XXXXXX) || exit 2
chmod 755 "$DIR"
SG_PID=""	# a foreground sendguard we started
DAEMON_PID=""	# a detached one, from its pidfile

# ours - the pids of the sendguard processes this test started, running
# or not reaped: their command line is the binary with a file in $DIR,
# this run's own temporary directory (a daemon that detached untracked,
# say from a start that should have failed, is found here too)
ours() {
	for _d in /proc/[0-9]*; do
		_c=$(tr '\0' ' ' 2>/dev/null <"$_d/cmdline") || continue
		case $_c in
		"$SG "*"$DIR/"*) echo "${_d#/proc/}" ;;
		esac
	done
}

cleanup() {
	trap - EXIT INT TERM
	[ -n "$SG_PID" ] && kill -KILL "$SG_PID" 2>/dev/null
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
	for _p in $(ours); do
		kill -KILL "$_p" 2>/dev/null
	done
	# a held message waits on the fifo: let it go, then stop it
	if [ -n "${held:-}" ]; then
		[ -p "$DIR/hold/go" ] && timeout 5 sh -c ": >'$DIR/hold/go'"
		kill "$held" 2>/dev/null
	fi
	[ -n "$DB_LOCK_PID" ] && kill "$DB_LOCK_PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	tap_fail "runs as root (the privilege drop needs it)"
	tap_done
	exit 1
fi
if ! getent group postfix >/dev/null || ! id nobody >/dev/null 2>&1; then
	tap_fail "user nobody and group postfix exist (make deps-test)"
	tap_done
	exit 1
fi
PF_GID=$(getent group postfix | cut -d: -f3)


# alive PID - running, and not a zombie
alive() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in "" | Z*) return 1 ;; esac
}

# daemon_stop [WHAT] - SIGTERM the detached daemon DAEMON_PID and wait
# (bounded) until it is gone, a TAP line WHAT if given (or one only if it
# fails); past the wait it is killed.  DAEMON_PID is cleared only once the
# daemon is gone, so the EXIT trap still kills one that would not go.
daemon_gone() {
	! alive "$DAEMON_PID"
}
daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	if wait_for daemon_gone; then
		[ -z "${1:-}" ] || tap_ok "$1"
		DAEMON_PID=""
		return 0
	fi
	tap_fail "${1:-the daemon exits on SIGTERM}" \
	    "pid $DAEMON_PID still runs: killed"
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait_for daemon_gone && DAEMON_PID=""
	return 1
}

# count_in FILE STRING - lines of FILE holding STRING
count_in() {
	grep -cF -- "$2" "$1" 2>/dev/null || true
}

# send FROM N [HOLD] - one message over the milter protocol; prints result
# (bounded: a held one waits for the test to open HOLD/go, 60 s at most)
send() {
	timeout -k 5 60 miltertest -s tests/milter/send.lua -D SOCK="unix:$DIR/run/sg.sock" \
	    -D DB="$DIR/db/sg.db" -D TAP="$PWD/tests/milter" -D FROM="$1" \
	    -D N="$2" -D HOLD="${3:-}" 2>&1 | grep '^result' | head -n 1
}

# write_conf LIMIT [EXTRA] - the test configuration, with one external
# limit and any extra lines
write_conf() {
	cat >"$DIR/sg.conf" <<EOF
socket = "unix:$DIR/run/sg.sock";
database = "$DIR/db/sg.db";
pidfile = "$DIR/run/sg.pid";
user = "nobody";
group = "postfix";
local_domains = [ "example.com" ];
limits = { external_recipients_per_hour = $1; };
action = "block";
${2:-}
EOF
}

# A start that should end (with an error, or once detached) runs under
# timeout(1): a start-up that hangs is a failure, not a hung test.

# The user must be able to write the database's directory (-wal, -shm) and
# the socket's (to remove it at exit).
mkdir "$DIR/db" "$DIR/run"
chown nobody "$DIR/db" "$DIR/run"

# --- detached, with a pidfile, as nobody:postfix ---------------------------

write_conf 3
timeout -k 5 30 "$SG" -c "$DIR/sg.conf" >"$DIR/start.out" 2>&1
tap_eq "without -f sendguard detaches and the parent exits 0" "$?" 0
DAEMON_PID=$(cat "$DIR/run/sg.pid" 2>/dev/null)
if [ -n "$DAEMON_PID" ] && alive "$DAEMON_PID"; then
	tap_ok "the pidfile holds the pid of the running daemon"
else
	tap_fail "the pidfile holds the pid of the running daemon" \
	    "pidfile: '$DAEMON_PID'"
	tap_diag "$DIR/start.out"
	DAEMON_PID=""
fi
if [ -n "$DAEMON_PID" ]; then
	tap_eq "its session: a session leader (setsid)" \
	    "$(ps -o sid= -p "$DAEMON_PID" | tr -d ' ')" "$DAEMON_PID"
	tap_eq "/proc status: real, effective, saved and fs uid are nobody's" \
	    "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$DAEMON_PID/status")" \
	    "65534 65534 65534 65534"
	tap_eq "/proc status: every gid is postfix's" \
	    "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$DAEMON_PID/status")" \
	    "$PF_GID $PF_GID $PF_GID $PF_GID"
	groups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$DAEMON_PID/status")
	tap_eq "/proc status: supplementary groups from initgroups, root's gone" \
	    "$(echo " $groups " | grep -c " $PF_GID ") $(echo " $groups " | grep -c ' 0 ')" \
	    "1 0"
	tap_eq "stdin of the daemon is /dev/null" \
	    "$(readlink "/proc/$DAEMON_PID/fd/0")" /dev/null
fi
tap_eq "the socket belongs to nobody:postfix with socket_mode 0660" \
    "$(stat -c '%U:%G %a' "$DIR/run/sg.sock" 2>&1)" "nobody:postfix 660"
tap_eq "the database was created by nobody (after the drop)" \
    "$(stat -c '%U' "$DIR/db/sg.db" 2>&1)" nobody
tap_eq "a message is counted by the daemon" "$(send dave@example.com 1)" \
    "result accepted"

timeout -k 5 30 "$SG" -c "$DIR/sg.conf" >"$DIR/second.out" 2>&1
tap_eq "a second start on a live pidfile exits with 69" "$?" 69
# Had it started all the same, its daemon would run untracked: stop it.
for _p in $(ours); do
	[ "$_p" = "$DAEMON_PID" ] && continue
	echo "# a second daemon runs (pid $_p): killing it"
	kill -KILL "$_p" 2>/dev/null
done
tap_grep "saying who holds it" "$DIR/second.out" \
    "$DIR/run/sg.pid: sendguard is already running (pid $DAEMON_PID)"
timeout -k 5 30 "$SG" -f -c "$DIR/sg.conf" -p "unix:$DIR/run/sg.sock" >"$DIR/third.out" 2>&1
tap_eq "a foreground start on the live socket exits with 69" "$?" 69
tap_grep "saying another milter listens" "$DIR/third.out" \
    "another milter is listening"

if [ -n "$DAEMON_PID" ]; then
	daemon_stop "the daemon exits on SIGTERM"
fi
tap_check "and removes its pidfile" test ! -e "$DIR/run/sg.pid"
tap_check "and its socket" test ! -e "$DIR/run/sg.sock"

# A crash leaves both behind: a stale pidfile (no lock) and a dead socket.
echo 999999 >"$DIR/run/sg.pid"
"$SG" -f -c "$DIR/sg.conf" >"$DIR/crash.out" 2>&1 &
crash=$!
wait_for test -S "$DIR/run/sg.sock"
kill -KILL "$crash"
wait "$crash" 2>/dev/null
tap_check "a dead socket file is there before the start" test -S "$DIR/run/sg.sock"
timeout -k 5 30 "$SG" -c "$DIR/sg.conf" >"$DIR/stale.out" 2>&1
tap_eq "a start over a stale pidfile and a dead socket succeeds" "$?" 0
DAEMON_PID=$(cat "$DIR/run/sg.pid" 2>/dev/null)
if [ -n "$DAEMON_PID" ] && [ "$DAEMON_PID" != 999999 ] && alive "$DAEMON_PID"
then
	tap_ok "the stale pidfile now holds the new pid"
else
	tap_fail "the stale pidfile now holds the new pid" "got '$DAEMON_PID'"
	tap_diag "$DIR/stale.out"
	# not a pid of ours to signal (the EXIT trap finds a daemon by ours)
	DAEMON_PID=""
fi
tap_eq "and the new socket answers" "$(send dave@example.com 1)" \
    "result accepted"
daemon_stop

# A pidfile in a directory of root's, as the unit's /run/sendguard: the
# user cannot remove it at stop, so it is emptied (systemd removes the
# directory), not left with a dead pid.
mkdir -m 0755 "$DIR/rootrun"
write_conf 3
sed -i "s|^pidfile = .*|pidfile = \"$DIR/rootrun/sg.pid\";|" "$DIR/sg.conf"
timeout -k 5 30 "$SG" -c "$DIR/sg.conf" >"$DIR/rootrun.out" 2>&1
DAEMON_PID=$(cat "$DIR/rootrun/sg.pid" 2>/dev/null)
if [ -n "$DAEMON_PID" ] && alive "$DAEMON_PID"; then
	daemon_stop
	tap_eq "a pidfile in root's directory is emptied at stop, not left with a dead pid" \
	    "$(stat -c %s "$DIR/rootrun/sg.pid" 2>&1)" 0
else
	tap_fail "a pidfile in root's directory is emptied at stop, not left with a dead pid" \
	    "the daemon did not start"
	tap_diag "$DIR/rootrun.out"
	DAEMON_PID=""
fi

# A user that does not exist is a configuration error, found by -n too.
write_conf 3
sed -i 's|^user = .*|user = "no-such-user-sg";|' "$DIR/sg.conf"
"$SG" -n -c "$DIR/sg.conf" >"$DIR/nouser.out" 2>&1
tap_eq "-n refuses an unknown user with 78" "$?" 78
tap_grep "naming it" "$DIR/nouser.out" 'user "no-such-user-sg": no such user'

# A delimiter that user names contain: valid, with a warning.
write_conf 3
echo 'recipient_delimiter = "+-";' >>"$DIR/sg.conf"
"$SG" -n -c "$DIR/sg.conf" >"$DIR/dash.out" 2>&1
tap_eq "-n accepts recipient_delimiter \"+-\"" "$?" 0
tap_grep "with a warning that mary-jane@ and mary-ann@ as senders count as mary@" \
    "$DIR/dash.out" 'warning: recipient_delimiter contains "-", which user names often contain: an envelope sender is cut at it, so that mary-jane@ and mary-ann@ sending from internal_networks without a login count as one identity, mary@, with one set of counts and one restriction (SASL logins are taken whole; sendguard.conf(5))'
write_conf 3
"$SG" -n -c "$DIR/sg.conf" >"$DIR/plus.out" 2>&1
tap_eq "the default \"+\" gets no warning" "$(grep -c warning "$DIR/plus.out")" 0

# A policy entry that an earlier policy takes first: valid, with a warning
# naming both lines; one that only looks alike does not get one.
write_conf 3 'policies = (
  { match = [ "@example.com", "@.example.org" ]; action = "alert"; },
  { match = [ "ceo@example.com", "ceo@example.net" ]; exempt = true; },
  { match = [ "@sub.example.org", "@example.org" ]; exempt = true; }
);'
"$SG" -n -c "$DIR/sg.conf" >"$DIR/shadow.out" 2>&1
tap_eq "-n accepts policies that shadow one another" "$?" 0
tap_grep "and warns that ceo@example.com never applies" "$DIR/shadow.out" \
    'warning: line 11: policies: match "ceo@example.com" never applies: the policy at line 10 matches it first ("@example.com"), and the first matching policy wins'
tap_grep "nor @sub.example.org, under @.example.org" "$DIR/shadow.out" \
    'warning: line 12: policies: match "@sub.example.org" never applies: the policy at line 10 matches it first ("@.example.org")'
tap_eq "and nothing else (ceo@example.net, @example.org apply)" \
    "$(grep -c warning "$DIR/shadow.out")" 2

# A busy timeout the MTA would not wait for: valid, with a warning.
write_conf 3 'busy_timeout_ms = 15000;'
"$SG" -n -c "$DIR/sg.conf" >"$DIR/busy.out" 2>&1
tap_eq "-n accepts busy_timeout_ms = 15000" "$?" 0
tap_grep "and warns that the MTA gives up first" "$DIR/busy.out" \
    "warning: busy_timeout_ms = 15000: a message may wait up to 31000 ms for the database, longer than Postfix's milter_command_timeout (30s)"
write_conf 3 'busy_timeout_ms = 12000;'
"$SG" -n -c "$DIR/sg.conf" >"$DIR/busy12.out" 2>&1
tap_eq "12000 gets no warning" "$(grep -c warning "$DIR/busy12.out")" 0

# --- SIGHUP reload (in the foreground, to read the log) -------------------

# sg_start - sendguard -f in the background, logging to $DIR/sg.log
sg_start() {
	"$SG" -f -c "$DIR/sg.conf" >>"$DIR/sg.log" 2>&1 &
	SG_PID=$!
	wait_for test -S "$DIR/run/sg.sock"
}

# sg_stop - SIGTERM the foreground sendguard, wait (bounded) until it has
# exited, SIGKILL it past that; SG_PID is cleared once it is gone
sg_stop() {
	[ -n "$SG_PID" ] || return 0
	kill -TERM "$SG_PID" 2>/dev/null
	wait_for sh -c "! kill -0 $SG_PID 2>/dev/null" || {
		tap_fail "sendguard $SG_PID exits on SIGTERM (killing it)"
		kill -KILL "$SG_PID" 2>/dev/null
	}
	wait "$SG_PID" 2>/dev/null
	SG_PID=""
}

# hup_and_wait STRING - SIGHUP, then wait until the log has one more line
# with STRING
hup_and_wait() {
	_before=$(count_in "$DIR/sg.log" "$1")
	kill -HUP "$SG_PID"
	wait_for sh -c "[ \$(grep -cF -- '$1' '$DIR/sg.log') -gt $_before ]"
}

rm -f "$DIR/db/sg.db" "$DIR/db/sg.db-wal" "$DIR/db/sg.db-shm"
write_conf 3
sg_start || tap_fail "sendguard -f starts"
tap_eq "limit 3: erin to 3 external recipients is accepted" \
    "$(send erin@example.com 3)" "result accepted"

write_conf 2
if hup_and_wait "configuration reloaded from $DIR/sg.conf"; then
	tap_ok "SIGHUP: the log says the configuration was reloaded"
else
	tap_fail "SIGHUP: the log says the configuration was reloaded"
	tap_diag "$DIR/sg.log"
fi
tap_eq "limit 2 after the reload: frank to 3 external recipients is refused" \
    "$(send frank@example.com 3)" "result refused"
tap_eq "limit 2: grace to 2 is accepted" "$(send grace@example.com 2)" \
    "result accepted"

write_conf '"many"'
hup_and_wait "reload failed, keeping the running configuration"
tap_grep "a broken file: the reload fails, logged with file:line: key: why" \
    "$DIR/sg.log" "reload failed, keeping the running configuration: $DIR/sg.conf:7: limits.external_recipients_per_hour: must be an integer"
tap_eq "and the old limit (2) still applies: heidi to 3 is refused" \
    "$(send heidi@example.com 3)" "result refused"
tap_eq "heidi's neighbour ivan to 2 is accepted" "$(send ivan@example.com 2)" \
    "result accepted"
alive "$SG_PID" && tap_ok "sendguard is still running" ||
    tap_fail "sendguard is still running"

write_conf 2 "busy_timeout_ms = 1000;"
sed -i "s|^database = .*|database = \"$DIR/db/other.db\";|" "$DIR/sg.conf"
hup_and_wait "which needs a restart"
tap_grep "a new database needs a restart: refused, and the log says which key" \
    "$DIR/sg.log" "\"database\" changed, which needs a restart"
write_conf 2
sed -i 's|^user = .*|user = "root";|' "$DIR/sg.conf"
hup_and_wait "which needs a restart"
tap_grep "so does a new user" "$DIR/sg.log" "\"user\" changed, which needs a restart"

# busy_timeout_ms is reloadable, also for the database handles sendguard
# keeps open.  sendguard restarts with 60 s, and liam's message, counted,
# opens its handles with it; then it is reloaded to 100 ms.  Under a write
# lock another
# process holds, karl's message is judged on a read and accepted, and its
# counts wait in memory; the writer gives up on the lock, logs it, and the
# next message is tempfailed.  No time is asserted: with the old 60 s the
# writer would still be waiting when the bounded wait for its log line
# (wait_for, about 10 s) ends.
sg_stop
write_conf 3 "busy_timeout_ms = 60000;"
sg_start || tap_fail "sendguard -f restarts with busy_timeout_ms = 60000"
tap_eq "liam to 1 is accepted" "$(send liam@example.com 1)" "result accepted"
tap_eq_soon "and written, by handles opened with busy_timeout_ms = 60000" 1 \
    sqlite3 "$DIR/db/sg.db" "SELECT SUM(external) FROM counters WHERE identity='liam@example.com'"
write_conf 3 "busy_timeout_ms = 100;"
hup_and_wait "configuration reloaded from $DIR/sg.conf" ||
    tap_fail "SIGHUP: reloaded to busy_timeout_ms = 100"
if db_lock "$DIR/db/sg.db" "$DIR/lock.fifo"; then
	tap_eq "under a held write lock, karl's message is accepted (WAL reads)" \
	    "$(send karl@example.com 1 3>&-)" "result accepted"
	if wait_for grep -q "counts: cannot write the counts of .*database is locked" \
	    "$DIR/sg.log"; then
		tap_ok "reloaded from 60 s to 100 ms: the writer gives up on the lock and logs it"
	else
		tap_fail "reloaded from 60 s to 100 ms: the writer gives up on the lock and logs it"
		tap_diag "$DIR/sg.log"
	fi
	# (miltertest reads no code at DATA: the log says which reply it was;
	# milter_test.sh and e2e_postfix.sh read the 451 4.3.0 itself)
	tap_eq "then a message meets the held lock: a reply code at DATA" \
	    "$(send karl@example.com 1 3>&-)" "result refused"
	tap_grep_re "the log says the database was busy, and the message tempfailed" \
	    "$DIR/sg.log" \
	    'identity=karl@example\.com: database error while counting recipients: writing counts: .*; tempfailing \(on_store_error = tempfail\)$'
	db_unlock
else
	tap_fail "another process holds the database's write lock"
fi
tap_eq_soon "the lock gone: karl's first message is written" 1 \
    sqlite3 "$DIR/db/sg.db" "SELECT SUM(external) FROM counters WHERE identity='karl@example.com'"
tap_eq "and karl to 1 is accepted" \
    "$(send karl@example.com 1)" "result accepted"

# Many SIGHUPs, each one handled before the next, then a burst.  (The log
# of this part is read from line $burst_from on.)
burst_from=$(($(wc -l <"$DIR/sg.log") + 1))
write_conf 2
n_ok=0
i=0
while [ "$i" -lt 20 ]; do
	hup_and_wait "configuration reloaded from" && n_ok=$((n_ok + 1))
	i=$((i + 1))
done
tap_eq "20 SIGHUPs in a row: 20 reloads" "$n_ok" 20
i=0
while [ "$i" -lt 100 ]; do
	kill -HUP "$SG_PID" 2>/dev/null
	i=$((i + 1))
done
# One more, waited for: the burst is behind sendguard once it reloads it.
if hup_and_wait "configuration reloaded from" && alive "$SG_PID"; then
	tap_ok "100 SIGHUPs in a burst: sendguard still runs, and reloads at the next"
else
	tap_fail "100 SIGHUPs in a burst: sendguard still runs, and reloads at the next"
fi
tap_eq "and still answers" "$(send judy@example.com 1)" "result accepted"
# What this part logged, line by line: one process (SG_PID) that only
# reloaded, and judy's message; a stop, a restart, a failed reload or an
# error is a line of another kind.
tail -n "+$burst_from" "$DIR/sg.log" >"$DIR/burst.log"
tap_eq "nothing but reloads and judy's message in the log (sendguard never stopped)" \
    "$(grep -cv -e "^sendguard\[$SG_PID\]: SIGHUP: reloading $DIR/sg\.conf\$" \
    -e "^sendguard\[$SG_PID\]: configuration reloaded from $DIR/sg\.conf\$" \
    -e "^sendguard\[$SG_PID\]: NOQUEUE: identity=judy@example\.com .*: accepted\$" \
    "$DIR/burst.log")" 0 || tap_diag "$DIR/burst.log"
tap_eq "and every reload begun was completed" \
    "$(count_in "$DIR/burst.log" "SIGHUP: reloading")" \
    "$(count_in "$DIR/burst.log" "configuration reloaded from")"

# --- SIGTERM with a message in flight ----------------------------------------

mkdir "$DIR/hold"
mkfifo "$DIR/hold/go"
send kate@example.com 1 "$DIR/hold" >"$DIR/held.out" &
held=$!
wait_for test -e "$DIR/hold/ready" ||
    tap_fail "the held message reached its recipients (held before DATA)"
kill -TERM "$SG_PID"
if wait_for grep -qF "waiting up to 30 s for 1 message(s) in flight" "$DIR/sg.log"
then
	tap_ok "SIGTERM: sendguard waits for the 1 message in flight"
else
	tap_fail "SIGTERM: sendguard waits for the 1 message in flight"
	tap_diag "$DIR/sg.log"
fi
# Nothing is answered at MAIL FROM (refuse_restricted_at = "data"): what
# MAIL FROM decided during the shutdown is said when the message is judged
# (connect.lua's "data" answer: DATA, or end of message if DATA went on).
tap_eq "a new message meanwhile gets a reply code after its recipients, not at MAIL FROM (nothing lost)" \
    "$(miltertest -s tests/milter/connect.lua -D SOCK="unix:$DIR/run/sg.sock" \
    -D TAP="$PWD/tests/milter" 2>&1)" "connect continue mail continue data replycode"
tap_grep "and it is the shutdown's 451 4.3.2 tempfail" "$DIR/sg.log" \
    "client=127.0.0.1: new message tempfailed (451 4.3.2): sendguard is stopping"
alive "$SG_PID" && tap_ok "sendguard is still running while the message is open" ||
    tap_fail "sendguard is still running while the message is open"
# Opening the fifo's other end releases the held message (bounded).
timeout 10 sh -c ": >'$DIR/hold/go'"
wait "$held"
held=""
tap_eq "the message in flight completes: accepted" "$(cat "$DIR/held.out")" \
    "result accepted"
wait_for sh -c "! kill -0 $SG_PID 2>/dev/null"
wait "$SG_PID"
tap_eq "then sendguard exits with status 0" "$?" 0
SG_PID=""
tap_grep "logging its stop" "$DIR/sg.log" "sendguard stopping"
tap_eq "kate's message was counted before the exit" \
    "$(sqlite3 "$DIR/db/sg.db" "SELECT SUM(external) FROM counters WHERE identity='kate@example.com'")" 1

# --- housekeeping in the background ----------------------------------------

now=$(date +%s)
sqlite3 "$DIR/db/sg.db" "INSERT INTO restrictions (identity, reason,
    limit_name, created_at, expires_at, actor) VALUES ('old@example.com',
    'test', 'manual', $((now - 7200)), $((now - 3600)), 'test');
    INSERT INTO counters (identity, bucket, internal, external) VALUES
    ('stale@example.com', $((now / 60 - 3000)), 0, 5);"
: >"$DIR/sg.log"
sg_start || tap_fail "sendguard -f starts again"
if wait_for grep -qF "housekeeping: 1 restriction(s) expired, 1 old counter row(s) pruned" "$DIR/sg.log"
then
	tap_ok "housekeeping runs in the background at start-up, without a message"
else
	tap_fail "housekeeping runs in the background at start-up, without a message"
	tap_diag "$DIR/sg.log"
fi
tap_eq "the expired restriction is now an 'expired' event" \
    "$(sqlite3 "$DIR/db/sg.db" "SELECT COUNT(*) FROM restrictions WHERE identity='old@example.com'") $(sqlite3 "$DIR/db/sg.db" "SELECT kind FROM events WHERE identity='old@example.com'")" \
    "0 expired"
tap_eq "and the day-old counter row (of a sender never restricted) is gone" \
    "$(sqlite3 "$DIR/db/sg.db" "SELECT COUNT(*) FROM counters WHERE identity='stale@example.com'")" 0

kill -INT "$SG_PID"
wait_for sh -c "! kill -0 $SG_PID 2>/dev/null"
wait "$SG_PID"
tap_eq "SIGINT stops it too, with status 0" "$?" 0
SG_PID=""
tap_grep "logged as SIGINT" "$DIR/sg.log" "SIGINT: stopping"

# --- start-up failures say what to do --------------------------------------

sed -e "s|^pidfile = .*|pidfile = \"$DIR/gone/sg.pid\";|" "$DIR/sg.conf" \
    >"$DIR/nopid.conf"
timeout -k 5 30 "$SG" -c "$DIR/nopid.conf" >"$DIR/nopid.out" 2>&1
tap_eq "a pidfile in a missing directory: exit 69" "$?" 69
tap_grep "saying to create the directory or run without a pidfile" \
    "$DIR/nopid.out" "$DIR/gone/sg.pid: cannot open the pidfile: No such file or directory (create its directory, or set pidfile = \"\" and run in the foreground with -f)"

# The database in a directory of root's: nobody cannot open it.
mkdir "$DIR/rootdb"
sed -e "s|^database = .*|database = \"$DIR/rootdb/sg.db\";|" "$DIR/sg.conf" \
    >"$DIR/rootdb.conf"
timeout -k 5 30 "$SG" -f -c "$DIR/rootdb.conf" -p "unix:$DIR/run/rootdb.sock" \
    >"$DIR/rootdb.out" 2>&1
tap_eq "a database directory the user may not write: exit 69" "$?" 69
tap_grep "saying which uid may not write which directory" "$DIR/rootdb.out" \
    "cannot use the database: $DIR/rootdb/sg.db: cannot open: unable to open database file (uid 65534 may not write the directory $DIR/rootdb)"

tap_done
