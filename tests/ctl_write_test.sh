#!/bin/sh
# ctl_write_test.sh - sendguardctl's two writes, block and unblock, where
# they meet: a block that replaces the milter's restriction, the unblock
# cap and blocks by hand.
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
