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

tap_done
