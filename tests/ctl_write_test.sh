#!/bin/sh
# ctl_write_test.sh - sendguardctl's two writes, block and unblock, where
# they meet: a block that replaces the milter's restriction, the unblock
# cap and blocks by hand, two admins at the cap (one holding the write
# lock), an identity starting with '-', the expired event a block writes
# late and history --since, and output into a closed pipe.
#
# Databases are built through the real store by build/tests/ctl_fixture,
# with the clock pinned (--now); JSON is checked with jq.  Prints TAP
# lines; everything lives in one mktemp directory, removed on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/tap.sh
. tests/lib/dblock.sh
. tests/lib/ctl.sh

ctl_setup ctlw
"$FIX" "$DB" create

# --- a block that replaces the milter's restriction keeps its facts -----------
# (it used to become limit manual, count 0, no client or queue id, started
# at the block: the history and list no longer said what the milter found,
# and an unblock of it looked like an unblock of a block by hand)

"$FIX" "$DB" restrict kim@example.com external_recipients_per_hour 3 4 \
    $((T0 - 600)) $((T0 + 3600)) 203.0.113.9 4QXkim
run kim_block block kim@example.com --until +1d --reason "phished"
status "a block that extends the milter's restriction" 0
run kim_show show kim@example.com --json
json "keeps the limit, its value and count, client, queue id and start" \
    kim_show '.restriction | .limit == "external_recipients_per_hour" and
	.limit_value == 3 and .count == 4 and .client_address == "203.0.113.9"
	and .queue_id == "4QXkim" and .created_at == "2026-11-23T13:55:00Z"'
json "and takes the block's end, actor and reason" kim_show \
    '.restriction | .expires_at == "2026-11-24T14:05:00Z" and
	.actor == "admin-tester" and
	.reason == "replacing the restriction in force: phished"'
json "its blocked event is dated now, with the same facts" kim_show \
    '.history[0] | .kind == "blocked" and .at == "2026-11-23T14:05:00Z" and
	.limit == "external_recipients_per_hour" and .count == 4 and
	.queue_id == "4QXkim" and .expires_at == "2026-11-24T14:05:00Z"'
run kim_list list
tap_grep_re "list: since the milter's restriction, until the block's end" \
    "$DIR/kim_list.out" \
    '^kim@example\.com +2026-11-23T13:55:00Z +2026-11-24T14:05:00Z +203\.0\.113\.9 +admin-tester '
run kim_hist history kim@example.com
tap_grep "history: the blocked line marks the client as the restriction's" \
    "$DIR/kim_hist.out" \
    "blocked     kim@example.com  by admin-tester: replacing the restriction in force: phished; until 2026-11-24T14:05:00Z (restriction: client 203.0.113.9, queue id 4QXkim)"
run lou_block block lou@example.com --until +1h
run lou_show show lou@example.com --json
json "a block of a sender with none is manual, from now, with no client" \
    lou_show '.restriction | .limit == "manual" and .limit_value == 0 and
	.count == 0 and .client_address == null and
	.created_at == "2026-11-23T14:05:00Z"'

# --- the cap counts unblocks of the milter's restrictions, not of blocks ----
# (three block --until +2h / unblock cycles used to use it up: the first
# real restriction's unblock was then refused with exit 3)

for _m in 1 2 3; do
	run sam_block_$_m --at "2026-11-23T14:1$_m:00Z" block sam@example.com \
	    --until +2h --reason "on leave"
	run sam_unblock_$_m --at "2026-11-23T14:1$_m:30Z" unblock \
	    sam@example.com
	status "unblock of an admin's own block, number $_m" 0
done
tap_grep "is not told the sender is a compromised account" \
    "$DIR/sam_unblock_3.out" \
    "Note: sam@example.com was blocked by hand by admin-tester (on leave). Lifting a block by hand does not count against unblock.max_per_30_days."
if grep -q "compromised" "$DIR/sam_unblock_3.out"; then
	tap_fail "nor reminded of compromise"
else
	tap_ok "nor reminded of compromise"
fi
tap_grep "and is told it did not count" "$DIR/sam_unblock_3.out" \
    "sam@example.com: restriction cleared and counters reset by admin-tester; the next message is accepted. A block by hand is not counted against the cap; unblocks in the last 30 days: 0 (cap 3)."
"$FIX" "$DB" restrict sam@example.com external_recipients_per_hour 3 4 \
    $((T0 + 1200)) $((T0 + 35700)) 203.0.113.9 -
run sam_real --at 2026-11-23T14:30:00Z unblock sam@example.com
status "the unblock of the milter's restriction after them is not refused" 0
tap_grep "and is the first one counted" "$DIR/sam_real.out" \
    "Unblocks in the last 30 days: 1 (cap 3)."
tap_grep "with the reminder of compromise" "$DIR/sam_real.out" \
    "usually a compromised account"
run sam_show --at 2026-11-23T14:30:00Z show sam@example.com --json
json "show counts only that one" sam_show '.unblocks_30d == 1'

# at the cap: a block by hand is still lifted, and not as forced; a block
# over the milter's restriction does not launder the cap (it keeps the
# milter's limit, as tested above)
for _m in 1 2 3; do
	"$FIX" "$DB" restrict tom@example.com external_recipients_per_hour 3 4 \
	    $((T0 - 600 + _m)) $((T0 + 3600)) 203.0.113.9 -
	run tom_u$_m --at "2026-11-23T14:0$_m:00Z" unblock tom@example.com
done
run tom_block block tom@example.com --until +1h --reason "while we look"
run tom_manual unblock tom@example.com --reason "looked"
status "at the cap, an admin's own block is still lifted" 0
run tom_hist history tom@example.com --json
json "and its event does not say forced past the cap" tom_hist \
    '.[0].kind == "unblocked" and .[0].reason == "looked"'
"$FIX" "$DB" restrict tom@example.com external_recipients_per_hour 3 4 \
    $T0 $((T0 + 3600)) 203.0.113.9 -
run tom_over block tom@example.com --until +2h
status "a block over the milter's restriction at the cap" 0
run tom_launder unblock tom@example.com
status "cannot launder it: its unblock is refused by the cap" 3

# --- an identity that starts with '-' ------------------------------------------
# (the alert mail's commands name it after "--", as sendguardctl(8) says)

"$FIX" "$DB" restrict -x@example.com recipients_per_day 10 11 "$T0" - - -
run dash_opt show -x@example.com
status "without --, it is an unknown option" 2
run dash_show show -- -x@example.com
status "show -- -x@example.com" 0
run dash_unblock unblock --reason "reset" -- -x@example.com
status "unblock -- -x@example.com" 0
tap_grep "clears it" "$DIR/dash_unblock.out" \
    "-x@example.com: restriction cleared"

# --- history --since and an expired event written late (sendguardctl(8)) ----
# vic's restriction ran out a minute before a poller's run, unswept; the
# block after the run writes its expired event, dated before the run

"$FIX" "$DB" restrict vic@example.com recipients_per_day 10 11 \
    $((T0 - 7200)) $((T0 - 60)) - -
run poll1 history --since "$NOW" --json
_seen=$(jq '[.[].id] | max // 0' "$DIR/poll1.out")
run vic_block --at 2026-11-23T14:06:00Z block vic@example.com --until +1h
run poll2 --at 2026-11-23T14:07:00Z history --since "$NOW" --json
json "--since the last run misses the expired event written since" poll2 \
    'any(.[]; .identity == "vic@example.com" and .kind == "blocked") and
	all(.[]; .kind != "expired")'
run poll3 --at 2026-11-23T14:07:00Z history --since -1h --json
json "an overlapping window and the ids above the last run's find it" \
    poll3 "[.[] | select(.id > $_seen and .identity == \"vic@example.com\")
	| .kind] == [\"blocked\", \"expired\"]"

# --- a reader that went away ---------------------------------------------------
# (unblock x | head -c 10 was killed by SIGPIPE, exit 141, after its commit;
# EXIT STATUS says a failed write after a committed change is a warning)

# closed_pipe CMD... - run CMD with stdout a pipe whose reader is already
# gone (no race with a reader that exits), with SIGPIPE at its default
closed_pipe() {
	perl -e '$SIG{PIPE} = "DEFAULT"; pipe(my $r, my $w) or die;
	    close($r); open(STDOUT, ">&", $w) or die; exec(@ARGV) or die' "$@"
}
"$FIX" "$DB" restrict uma@example.com recipients_per_day 10 11 "$T0" - - -
closed_pipe "$CTL" -c "$CONF" --now "$NOW" unblock uma@example.com \
    2>"$DIR/pipe.err"
tap_eq "unblock into a closed pipe keeps the unblock's status" "$?" 0
tap_grep "and warns on stderr" "$DIR/pipe.err" \
    "sendguardctl: unblock: warning: cannot write the output; the exit status is still that of the unblock"
tap_eq "the unblock was done, once" "$(sqlite3 "$DB" "SELECT
    (SELECT count(*) FROM restrictions WHERE identity = 'uma@example.com')
    || ' ' || (SELECT count(*) FROM events WHERE identity =
    'uma@example.com' AND kind = 'unblocked')")" "0 1"
closed_pipe "$CTL" -c "$CONF" --now "$NOW" block uma@example.com \
    --until +1h 2>"$DIR/pipe_block.err"
tap_eq "so does block" "$?" 0
tap_grep "warning too" "$DIR/pipe_block.err" "warning: cannot write the output"
closed_pipe "$CTL" -c "$CONF" --now "$NOW" list 2>"$DIR/pipe_list.err"
tap_eq "a read still ends on SIGPIPE, quietly, as a filter does" "$?" 141
tap_eq "saying nothing" "$(cat "$DIR/pipe_list.err")" ""

# --- two admins unblock at once, at the cap ----------------------------------
# Admin B looks (alice restricted, 2 unblocks of 3) and waits for the write
# lock, which admin A holds while unblocking her: A's is the third unblock.
# B must then say she is no longer restricted (exit 1), not that the cap
# refused (3) an unblock that is already done.

sed -e 's/^busy_timeout_ms = .*/busy_timeout_ms = 5000;/' "$CONF" \
    >"$DIR/slow.conf"
"$FIX" "$DB" restrict alice@example.com external_recipients_per_hour 3 4 \
    $((T0 - 600)) $((T0 + 3600)) 203.0.113.9 -
for _ago in 7200 3600; do
	"$FIX" "$DB" event unblocked alice@example.com $((T0 - _ago)) \
	    admin-c earlier
done
sqlite3 "$DB" "UPDATE events SET limit_name = 'external_recipients_per_hour'
    WHERE kind = 'unblocked'"
if db_lock "$DB" "$DIR/lock.fifo"; then
	"$CTL" -c "$DIR/slow.conf" --now "$NOW" unblock alice@example.com \
	    >"$DIR/race.out" 2>"$DIR/race.err" 3>&- &
	_b=$!
	# B has looked once its reminder is out; it then waits for the lock
	_i=0
	while ! grep -q Reminder "$DIR/race.out" && [ "$_i" -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	# A's unblock, under the lock B waits for
	echo "DELETE FROM restrictions WHERE identity = 'alice@example.com';
	    INSERT INTO events (at, kind, identity, limit_name, actor)
	    VALUES ($T0, 'unblocked', 'alice@example.com',
	    'external_recipients_per_hour', 'admin-a'); COMMIT;" >&3
	wait "$_b"
	RC=$? _name=race
	db_unlock
	status "the loser of two unblocks at the cap: no longer restricted" 1
	tap_grep "saying so" "$DIR/race.err" \
	    '"alice@example.com" is no longer restricted (cleared or expired meanwhile); nothing to unblock'
else
	tap_fail "another process holds the database's write lock"
fi

tap_done
