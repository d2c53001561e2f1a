#!/bin/sh
# bench_smoke.sh - the benchmark's programs work, and sendguard counts
# right under their load (not a timed test: speed belongs in make bench).
#
# bench/miltgen drives the real sendguard over the milter protocol with
# several connections at once: every message must get a final reply (at
# DATA, where sendguard judges it with spam checking off) and the database
# must hold exactly what was sent.  A second sendguard with a
# small limit gets parallel messages from 20 senders: exactly the limit is
# accepted per sender, the rest refused, and each is restricted once.  The
# null milter answers every message.  Prints TAP lines; every daemon it
# starts is stopped on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/tap.sh

SG=./sendguard
GEN=./build/bench/miltgen
NULLM=./build/bench/null_milter
DIR=$(mktemp -d /tmp/sendguard-smoke.XXXXXX) || exit 2
PIDS=""

cleanup() {
	for _p in $PIDS; do
		kill "$_p" 2>/dev/null
	done
	for _p in $PIDS; do
		wait "$_p" 2>/dev/null
	done
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_sock PATH - wait (at most 10 s) for a unix socket
wait_sock() {
	_i=0
	while [ "$_i" -lt 100 ]; do
		[ -S "$1" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# start NAME SED_EXPR EXTRA_CONF - a sendguard with its own database in
# $DIR/NAME, on the benchmark's configuration edited by SED_EXPR
start() {
	mkdir -p "$DIR/$1"
	sed -e "s|@DIR@|$DIR/$1|g" -e "s|@SOCKET@|unix:$DIR/$1/sg.sock|" \
	    -e "$2" bench/sendguard-bench.conf.in >"$DIR/$1.conf"
	printf '%s\n' "$3" >>"$DIR/$1.conf"
	"$SG" -f -c "$DIR/$1.conf" >"$DIR/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	if wait_sock "$DIR/$1/sg.sock"; then
		tap_ok "sendguard ($1) starts"
	else
		tap_fail "sendguard ($1) starts"
		tap_diag "$DIR/$1.log"
	fi
}

# gen ARG... - miltgen, bounded: 120 s (a few seconds' work), then killed
# (exit 124), so a milter that stops answering fails the test, not hangs it
gen() {
	timeout -k 5 120 "$GEN" "$@"
}

# field LINE NAME - the value of NAME=... in miltgen's output line
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# sql NAME QUERY - one value from NAME's database
sql() {
	sqlite3 "$DIR/$1/sendguard.db" "$2"
}

# --- every message answered and counted exactly once ----------------------

start count "" ""
out=$(gen -s "unix:$DIR/count/sg.sock" -c 4 -n 400 -S 50 -r 3 2>&1)
tap_eq "miltgen exits 0 against sendguard" "$?" 0
echo "# $out"
tap_eq "400 messages got a final reply" "$(field "$out" msgs)" 400
# A final ACCEPT comes before end of message: sendguard answers CONTINUE
# there, so these 400 were decided at DATA.
tap_eq "all 400 were accepted at DATA (accept)" "$(field "$out" accept)" 400
tap_eq "none left for end of message (continue)" "$(field "$out" continue)" 0
tap_eq "none failed" "$(field "$out" failed)" 0
tap_eq "sendguard asked for no reply at connect, MAIL FROM and RCPT" \
    "$(( $(field "$out" pflags) & 0xd000 ))" $((0xd000))
tap_eq "but kept the DATA stage, with its reply (no NODATA, no NR_DATA)" \
    "$(( $(field "$out" pflags) & 0x10200 ))" 0
SG_PFLAGS=$(field "$out" pflags)
tap_eq_soon "the database counts 1200 recipients" 1200 \
    sql count 'SELECT sum(internal + external) FROM counters'
tap_eq "for 50 distinct senders" \
    "$(sql count 'SELECT count(DISTINCT identity) FROM counters')" 50
tap_eq "8 messages of 3 recipients each for user7" \
    "$(sql count "SELECT sum(external) FROM counters WHERE identity = 'user7@bench.example'")" 24

# --- parallel messages against a small limit ----------------------------

start limit 's/external_recipients_per_hour = 1000000/external_recipients_per_hour = 5/' \
    'action = "block";'
out=$(gen -s "unix:$DIR/limit/sg.sock" -c 6 -n 200 -S 20 2>&1)
echo "# $out"
tap_eq "200 messages got a final reply" "$(field "$out" msgs)" 200
tap_eq "exactly 5 per sender accepted at DATA: 100" "$(field "$out" accept)" 100
tap_eq "the other 100 refused with the configured reply" \
    "$(field "$out" other)" 100
tap_eq "none let through to end of message" "$(field "$out" continue)" 0
tap_eq_soon "every sender counted exactly to the limit" 20 \
    sql limit 'SELECT count(*) FROM (SELECT sum(external) AS s FROM counters GROUP BY identity HAVING s = 5)'
tap_eq "no sender counted past the limit" \
    "$(sql limit 'SELECT max(s) FROM (SELECT sum(external) AS s FROM counters GROUP BY identity)')" 5
tap_eq "and restricted once" \
    "$(sql limit "SELECT count(*) FROM events WHERE kind = 'restricted'")" 20

# --- the null milter ------------------------------------------------------

"$NULLM" -p "unix:$DIR/null.sock" >"$DIR/null.log" 2>&1 &
PIDS="$PIDS $!"
if wait_sock "$DIR/null.sock"; then
	out=$(gen -s "unix:$DIR/null.sock" -c 2 -n 100 -r 2 2>&1)
	echo "# $out"
	tap_eq "the null milter accepts all 100 messages at DATA" \
	    "$(field "$out" accept)" 100
	tap_eq "and asks for the same protocol options as sendguard" \
	    "$(field "$out" pflags)" "$SG_PFLAGS"
else
	tap_fail "the null milter listens"
	tap_diag "$DIR/null.log"
fi

gen -s "unix:$DIR/nothing.sock" -n 1 >/dev/null 2>&1
tap_eq "miltgen fails (exit 1) when nothing listens" "$?" 1

tap_done
