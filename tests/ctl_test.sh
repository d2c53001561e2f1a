#!/bin/sh
# ctl_test.sh - sendguardctl against temporary databases: every command in
# both output forms, every exit status, the unblock cap and --force, expiry
# and the 30-day window with a pinned clock (--now), and bad input (empty,
# 10 kB, malformed, unparsable, missing, foreign, newer, locked).
#
# Databases are built through the real store by build/tests/ctl_fixture
# (bulk rows for paging with the sqlite3 CLI); JSON is checked with jq.
# Prints TAP lines; everything lives in one mktemp directory, removed on
# exit, and the one background process (a lock holder) is stopped.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/tap.sh
. tests/lib/dblock.sh
. tests/lib/ctl.sh

ctl_setup ctl
cat >>"$CONF" <<EOF
policies = (
  { match = [ "@vip.example.com" ]; limits = { recipients_per_day = 50000; }; },
  { match = [ "noreply@example.com" ]; exempt = true; }
);
EOF

# --- before there is a database ----------------------------------------------

run nodb list
status "a missing database is unavailable" 69
tap_grep "and says it does not exist" "$DIR/nodb.err" "does not exist"
one_line "in one line" nodb
tap_check "and it is not created" test ! -e "$DB"

run nodb_write block alice@example.com
status "block on a missing database is unavailable too" 69
tap_check "and creates nothing" test ! -e "$DB"

"$CTL" -c "$DIR/none.conf" list >/dev/null 2>"$DIR/noconf.err"
tap_eq "a missing configuration file is a configuration error (78)" "$?" 78
tap_grep "naming the file" "$DIR/noconf.err" "$DIR/none.conf"

printf 'database = "%s";\nlimits = { recipients_per_day = -1; };\n' "$DB" \
    >"$DIR/bad.conf"
"$CTL" -c "$DIR/bad.conf" list >/dev/null 2>"$DIR/badconf.err"
tap_eq "a bad configuration is a configuration error (78)" "$?" 78
tap_grep "with file:line and the range" "$DIR/badconf.err" \
    "$DIR/bad.conf:2: limits.recipients_per_day: -1 is out of range"

"$CTL" -c "$CONF" >/dev/null 2>&1
tap_eq "no command is a usage error (2)" "$?" 2

# the command line is checked before the configuration is loaded
"$CTL" -c "$DIR/none.conf" list --bogus >/dev/null 2>"$DIR/first.err"
tap_eq "an unknown option with a missing configuration is a usage error (2)" \
    "$?" 2
tap_grep "naming the option" "$DIR/first.err" \
    'sendguardctl: list: unknown option "--bogus"'
"$CTL" -c "$DIR/none.conf" unblock >/dev/null 2>&1
tap_eq "unblock without an identity is a usage error whatever -c names" "$?" 2
"$CTL" -c "$DIR/none.conf" block eve@example.com --until "next tuesday" \
    >/dev/null 2>&1
tap_eq "so is a bad --until" "$?" 2
"$CTL" list -c "$CONF" >/dev/null 2>"$DIR/late_c.err"
tap_eq "-c after the command is a usage error, not ignored" "$?" 2
tap_grep "saying it goes before the command" "$DIR/late_c.err" \
    "sendguardctl: list: -c goes before the command: sendguardctl -c FILE list ..."
"$CTL" -c "$CONF" history --now=+1d >/dev/null 2>"$DIR/late_now.err"
tap_eq "so is --now after the command" "$?" 2
tap_grep "saying so" "$DIR/late_now.err" \
    "sendguardctl: history: --now goes before the command"
for _h in -h --help; do
	"$CTL" -c "$DIR/none.conf" list $_h >"$DIR/help.out" 2>"$DIR/help.err"
	tap_eq "list $_h prints the usage (exit 0)" "$?" 0
	tap_grep "the synopsis on stdout" "$DIR/help.out" "usage: sendguardctl"
done
"$CTL" -c "$CONF" block eve@example.com --reason -h >/dev/null 2>&1
tap_eq "-h as the value of an option is that value" "$?" 69
run unk frobnicate
status "an unknown command is a usage error" 2
tap_grep "naming it" "$DIR/unk.err" 'unknown command "frobnicate"'
one_line "in one line" unk
# 1 + 40 two-byte characters: byte 64 is the first of the 32nd
run unk_utf8 "a$(printf '%040d' 0 | sed 's/0/é/g')"
tap_grep "a long argument is cut before a UTF-8 character, not inside" \
    "$DIR/unk_utf8.err" "unknown command \"a$(printf '%031d' 0 |
    sed 's/0/é/g')...\""
tap_check "so the message is valid UTF-8" sh -c \
    'iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1' - "$DIR/unk_utf8.err"
run unkopt list --jsn
status "an unknown option is a usage error" 2
run extra list extra
status "an unexpected argument is a usage error" 2
run badnow --at tomorrow list
status "an unparsable --now is a usage error" 2
"$CTL" -h >"$DIR/help.out" 2>&1
tap_eq "-h prints the synopsis and exits 0" "$?" 0
tap_grep "the synopsis lists unblock" "$DIR/help.out" \
    "unblock IDENTITY [--login] [--reason TEXT] [--force]"

printf 'not a database, just text\n%.0s' 1 2 3 4 5 6 7 8 >"$DB"
run garbage list
status "a file that is not SQLite is unavailable" 69
one_line "in one line" garbage
rm -f "$DB"

sqlite3 "$DB" "CREATE TABLE mail(x); INSERT INTO mail VALUES (1);"
cp "$DB" "$DIR/foreign.copy"
run foreign list
status "an SQLite database that is not sendguard's is unavailable" 69
tap_grep "saying so" "$DIR/foreign.err" "not a sendguard database"
tap_check "and the foreign file is untouched" cmp -s "$DB" "$DIR/foreign.copy"
tap_check "not even switched to WAL" test ! -e "$DB-wal"
rm -f "$DB" "$DIR/foreign.copy"

"$FIX" "$DB" create
sqlite3 "$DB" "PRAGMA user_version = 3;"
run newer list
status "a newer schema version is unavailable" 69
tap_grep "saying so" "$DIR/newer.err" "schema version 3 is newer"
rm -f "$DB" "$DB-wal" "$DB-shm"

# An older schema (sendguard not yet restarted after an upgrade): the admin
# tool must not migrate it under the milter that still runs the old code.
"$FIX" "$DB" create
sqlite3 "$DB" "PRAGMA user_version = 1;"
run older list
status "an older schema version is unavailable" 69
tap_grep "saying to restart sendguard" "$DIR/older.err" \
    "schema version 1 is older than this program's (2): restart sendguard"
tap_eq "and it is not migrated" "$(sqlite3 "$DB" "PRAGMA user_version;")" 1
rm -f "$DB" "$DB-wal" "$DB-shm"

# Marked as sendguard's, but without its tables: version 0 is not given
# the schema (that is the milter's job at start-up); version 2 with a
# table missing is unavailable (69), not an internal error.
"$FIX" "$DB" create
SG_APP_ID=$(sqlite3 "$DB" "PRAGMA application_id;")
rm -f "$DB" "$DB-wal" "$DB-shm"
sqlite3 "$DB" "PRAGMA application_id = $SG_APP_ID;"
run bare list
status "a sendguard database of version 0 without tables is unavailable" 69
tap_eq "and is not given the schema" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master")" 0
rm -f "$DB" "$DB-wal" "$DB-shm"
"$FIX" "$DB" create
sqlite3 "$DB" "DROP TABLE events;"
run noevents list
status "a sendguard database missing a table is unavailable" 69
tap_grep "naming what is missing" "$DIR/noevents.err" "no such table: events"
rm -f "$DB" "$DB-wal" "$DB-shm"

# --- an empty database --------------------------------------------------------

"$FIX" "$DB" create
run empty list
status "list of an empty database" 0
tap_grep "says nobody is restricted" "$DIR/empty.out" "No sender is restricted."
run empty_json list --json
json "list --json of an empty database is []" empty_json '. == []'
run empty_hist history
tap_grep "history of an empty database says so" "$DIR/empty_hist.out" \
    "No events."
run empty_hist_json history --json
json "history --json of an empty database is []" empty_hist_json '. == []'
run empty_usage usage --json
json "usage --json of an empty database is []" empty_usage '. == []'

# --- a populated database -----------------------------------------------------

# alice: over her limit 45 minutes ago, until 00:00 UTC (as the milter writes)
"$FIX" "$DB" restrict alice@example.com external_recipients_per_hour 3 4 \
    $((T0 - 2700)) $((T0 + 35700)) 203.0.113.9 4QX1abc
# dave: restricted, ran out a minute ago (not yet swept into history)
"$FIX" "$DB" restrict dave@example.com recipients_per_day 10 11 \
    $((T0 - 7200)) $((T0 - 60)) - -
"$FIX" "$DB" count alice@example.com $((T0 - 2700)) 1 3 1
"$FIX" "$DB" count bob@vip.example.com $((T0 - 600)) 5 2
"$FIX" "$DB" count bob@vip.example.com $((T0 - 7200)) 40 0 2
"$FIX" "$DB" count noreply@example.com $((T0 - 60)) 0 1
# hank: 4 external recipients 20 minutes ago, over the limit, restricted
# until 5 minutes ago (not yet swept): the milter counts from that end
"$FIX" "$DB" restrict hank@example.com external_recipients_per_hour 3 4 \
    $((T0 - 1200)) $((T0 - 300)) - -
"$FIX" "$DB" count hank@example.com $((T0 - 1200)) 0 4

run block_carol block Carol+News@Example.COM --reason "phishing \"Jörg\" says"
status "block an identity until cleared" 0
tap_grep "normalised as the milter does, until cleared, by SUDO_USER" \
    "$DIR/block_carol.out" \
    "carol@example.com: blocked until cleared by admin-tester."

run list list
status "list" 0
tap_grep_re "the table has a header" "$DIR/list.out" '^IDENTITY +SINCE +UNTIL'
tap_grep_re "alice is listed with her times and client" "$DIR/list.out" \
    '^alice@example\.com +2026-11-23T13:20:00Z +2026-11-24T00:00:00Z +203\.0\.113\.9 +sendguard +0 +external_recipients_per_hour 3 exceeded: 4 recipients$'
tap_grep_re "carol is listed until cleared" "$DIR/list.out" \
    '^carol@example\.com +2026-11-23T14:05:00Z +cleared +- +admin-tester +0 +phishing "Jörg" says$'
if grep -q dave "$DIR/list.out"; then
	tap_fail "a restriction that ran out is not listed"
else
	tap_ok "a restriction that ran out is not listed"
fi

run list_json list --json
status "list --json" 0
json "list --json: an array of alice and carol" list_json \
    '[.[].identity] == ["alice@example.com", "carol@example.com"]'
json "list --json: every documented field of a restriction" list_json \
    'all(.[]; has("identity") and has("reason") and has("limit") and
	has("limit_value") and has("count") and has("created_at") and
	has("expires_at") and has("client_address") and has("queue_id") and
	has("actor") and has("unblocks_30d"))'
json "list --json: alice's facts" list_json \
    '.[0] | .reason == "external_recipients_per_hour 3 exceeded: 4 recipients"
	and .limit == "external_recipients_per_hour" and .limit_value == 3
	and .count == 4 and .created_at == "2026-11-23T13:20:00Z"
	and .expires_at == "2026-11-24T00:00:00Z"
	and .client_address == "203.0.113.9" and .queue_id == "4QX1abc"
	and .actor == "sendguard" and .unblocks_30d == 0'
json "list --json: until cleared is expires_at null; unknown client null" \
    list_json '.[1] | .expires_at == null and .client_address == null and
	.limit == "manual" and .actor == "admin-tester"'
json "list --json: quotes and UTF-8 in a reason survive" list_json \
    '.[1].reason == "phishing \"Jörg\" says"'
json "list --json: times are RFC 3339 in UTC" list_json \
    'all(.[]; .created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))'

run show show ALICE+tag@example.com
status "show of a restricted identity" 0
tap_grep "show: normalised identity" "$DIR/show.out" "identity:     alice@example.com"
tap_grep "show: restricted since, until" "$DIR/show.out" \
    "status:       restricted since 2026-11-23T13:20:00Z, until 2026-11-24T00:00:00Z"
tap_grep_re "show: the hour's external count against its limit" \
    "$DIR/show.out" '^  external_recipients_per_hour +3 / 3$'
tap_grep_re "show: the day's count against its limit" "$DIR/show.out" \
    '^  recipients_per_day +4 / 10000$'
tap_grep "show: unblocks in 30 days against the cap" "$DIR/show.out" \
    "unblocks:     0 in the last 30 days (cap 3)"
tap_grep_re "show: recent history" "$DIR/show.out" \
    '^  2026-11-23T13:20:00Z  restricted  alice@example\.com  by sendguard'

run show_json show alice@example.com --json
json "show --json: restricted, with the restriction object" show_json \
    '.identity == "alice@example.com" and .restricted == true and
	.restriction.queue_id == "4QX1abc" and .restriction.unblocks_30d == 0'
json "show --json: counts used / limit" show_json \
    '.counts.external_recipients_per_hour == {"used": 3, "limit": 3} and
	.counts.internal_recipients_per_hour == {"used": 1, "limit": 1000} and
	.counts.recipients_per_day == {"used": 4, "limit": 10000}'
json "show --json: cap and history" show_json \
    '.unblocks_30d == 0 and .unblock_cap == 3 and
	(.history | length) == 1 and .history[0].kind == "restricted"'

run show_bob show bob@vip.example.com --json
status "show of an identity that is not restricted" 1
tap_grep "says so plainly" "$DIR/show_bob.err" \
    '"bob@vip.example.com" is not restricted'
json "show --json: not restricted, restriction null" show_bob \
    '.restricted == false and .restriction == null'
json "show --json: the per-domain policy's limit and only the day's counts" \
    show_bob '.counts.recipients_per_day == {"used": 47, "limit": 50000} and
	.counts.internal_recipients_per_hour.used == 5 and
	(.policy | test("policy at .*sg.conf:6$"))'
run show_dave show dave@example.com
status "show of a restriction that ran out" 1
run show_hank show hank@example.com
status "show of a sender whose restriction ran out 5 minutes ago" 1
tap_grep_re "counts only from its end, as the milter does" "$DIR/show_hank.out" \
    '^  external_recipients_per_hour +0 / 3$'
run show_hank_json show hank@example.com --json
json "in JSON too" show_hank_json \
    '.restricted == false and .counts.external_recipients_per_hour.used == 0
	and .counts.recipients_per_day.used == 0'
run show_noreply show noreply@example.com --json
json "show --json: an exempt identity has no limits" show_noreply \
    '.exempt == true and .counts.recipients_per_day.limit == null'

run usage usage
status "usage" 0
tap_grep_re "usage: header with a column per limit" "$DIR/usage.out" \
    '^IDENTITY +EXTERNAL/HOUR +INTERNAL/HOUR +ALL/DAY +SPAM/HOUR +SPAM/DAY +STATUS$'
_first=$(sed -n 2p "$DIR/usage.out" | cut -d' ' -f1)
tap_eq "usage: the busiest sender first" "$_first" "bob@vip.example.com"
tap_grep_re "usage: counts against each sender's own limits" \
    "$DIR/usage.out" '^bob@vip\.example\.com +2 / 3 +5 / 1000 +47 / 50000 +0 / - +2 / 10 *$'
tap_grep_re "usage: a restricted sender is marked" "$DIR/usage.out" \
    '^alice@example\.com +3 / 3 +1 / 1000 +4 / 10000 +1 / - +1 / 10 +restricted$'
tap_grep_re "usage: an exempt sender is marked, without limits" \
    "$DIR/usage.out" '^noreply@example\.com +1 / - +0 / - +1 / - +0 / - +0 / - +exempt$'
if grep -q ' $' "$DIR/usage.out" "$DIR/list.out"; then
	tap_fail "tables have no trailing blanks"
else
	tap_ok "tables have no trailing blanks"
fi
run usage_top usage --top 1 --json
json "usage --top 1 --json: one sender, the busiest" usage_top \
    'length == 1 and .[0].identity == "bob@vip.example.com" and
	.[0].restricted == false and .[0].counts.recipients_per_day.used == 47'
run usage_one usage Alice@Example.com --json
json "usage IDENTITY --json: that identity" usage_one \
    'length == 1 and .[0].identity == "alice@example.com" and
	.[0].restricted == true and
	.[0].counts.external_recipients_per_hour.used == 3'
json "usage IDENTITY --json: spam messages against the spam limits" usage_one \
    '.[0].counts.spam_messages_per_hour == {"used": 1, "limit": null} and
	.[0].counts.spam_messages_per_day == {"used": 1, "limit": 10}'
json "usage --top 1 --json: spam of the day, outside the hour" usage_top \
    '.[0].counts.spam_messages_per_hour.used == 0 and
	.[0].counts.spam_messages_per_day.used == 2'
run usage_hank usage hank@example.com --json
json "usage IDENTITY: a ran-out restriction forgave the counts before it" \
    usage_hank '.[0].counts.external_recipients_per_hour.used == 0 and
	.[0].counts.recipients_per_day.used == 0 and .[0].restricted == false'
run usage_all usage --json
json "usage: so does the list of the busiest, ranked on what counts" \
    usage_all '(.[] | select(.identity == "hank@example.com") |
	.counts.recipients_per_day.used == 0) and .[-1].identity == "hank@example.com"'
run usage_none usage nobody@example.com --json
json "usage of a sender with no mail: zeros" usage_none \
    '.[0].counts.recipients_per_day.used == 0'
run usage_top0 usage --top 0
status "usage --top 0 is a usage error" 2
run usage_topx usage --top 5x
status "usage --top 5x is a usage error" 2
run usage_both usage alice@example.com --top 5
status "usage IDENTITY --top is a usage error" 2

# --- block with a time; expiry with the clock pinned ----------------------------

run block_eve block eve@example.com --until +2h --reason "phish"
status "block until +2h" 0
tap_grep "until two hours from now" "$DIR/block_eve.out" \
    "eve@example.com: blocked until 2026-11-23T16:05:00Z by admin-tester."
run block_eve2 block eve@example.com --until 2026-11-23T17:05:00+01:00
status "block again with an RFC 3339 time and an offset" 0
tap_grep "replaces the restriction it had" "$DIR/block_eve2.out" \
    "blocked until 2026-11-23T16:05:00Z by admin-tester (replacing the restriction it had)."
run block_eve2_hist history eve@example.com --json
json "its blocked event says it replaced the restriction in force" \
    block_eve2_hist '.[0].reason == "replacing the restriction in force: blocked by hand"
	and .[1].reason == "phish"'

run block_past block eve@example.com --until -1h
status "block --until in the past is a usage error" 2
run block_bad block eve@example.com --until "next tuesday"
status "block --until with an unparsable time is a usage error" 2
one_line "in one line" block_bad
run block_dave block dave@example.com --until +1h
status "block of an identity whose restriction ran out, not yet swept" 0
tap_grep "replacing nothing in force" "$DIR/block_dave.out" \
    "dave@example.com: blocked until 2026-11-23T15:05:00Z by admin-tester."
tap_eq "the ran-out restriction became its expired event first, then the block" \
    "$(sqlite3 "$DB" "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM
    events WHERE identity = 'dave@example.com' ORDER BY id)")" \
    "restricted expired blocked"
# a block may not end a restriction in force sooner: that is an unblock
"$FIX" "$DB" restrict gina@example.com recipients_per_day 1000 1001 \
    "$T0" - 203.0.113.7 -
run sooner_cleared block gina@example.com --until +1d
status "a timed block over a restriction until cleared is refused" 2
tap_grep "pointing to unblock" "$DIR/sooner_cleared.err" \
    'sendguardctl: block: "gina@example.com" is restricted until cleared; a block until 2026-11-24T14:05:00Z would end that sooner, which is an unblock: use unblock'
one_line "in one line" sooner_cleared
run sooner_eve block eve@example.com --until +1h
status "a block --until earlier than the restriction's end is refused" 2
tap_eq "and both restrictions are as they were" \
    "$(sqlite3 "$DB" "SELECT group_concat(identity || ' ' || limit_name ||
    ' ' || coalesce(expires_at, '-'), ', ') FROM (SELECT * FROM restrictions
    WHERE identity IN ('eve@example.com', 'gina@example.com')
    ORDER BY identity)")" \
    "eve@example.com manual $((T0 + 7200)), gina@example.com recipients_per_day -"
run later_gina block gina@example.com --reason "until the password is reset"
status "a block until cleared over one until cleared is taken" 0
run hist_gina history gina@example.com --json
json "and its event says it replaced the restriction in force" hist_gina \
    '[.[].kind] == ["blocked", "restricted"] and .[0].reason ==
	"replacing the restriction in force: until the password is reset"'
run hist_gina_text history gina@example.com
tap_grep "in the text too" "$DIR/hist_gina_text.out" \
    "by admin-tester: replacing the restriction in force: until the password is reset; until cleared"
run unblock_gina unblock gina@example.com
status "unblock is the way to end it" 0
run block_exempt block noreply@example.com
status "block of an exempt identity succeeds" 0
tap_grep "but warns that the policy exempts it" "$DIR/block_exempt.err" \
    "the milter does not refuse it while the policy exempts it"
run list_later --at 2026-11-23T16:05:00Z list --json
json "at its expiry time eve is no longer listed (clock pinned)" list_later \
    '[.[].identity] == ["alice@example.com", "carol@example.com", "noreply@example.com"]'
run list_tomorrow --at 2026-11-24T00:00:00Z list --json
json "at 00:00 UTC alice's restriction has run out; carol's lasts" \
    list_tomorrow '[.[].identity] == ["carol@example.com", "noreply@example.com"]'
"$CTL" -c "$CONF" --now=2026-11-24T00:00:00Z list --json \
    >"$DIR/now_eq.out" 2>"$DIR/now_eq.err"
tap_eq "--now=TIME before the command is --now TIME" "$?" 0
tap_check "the same list" cmp -s "$DIR/now_eq.out" "$DIR/list_tomorrow.out"

# --- unblock --------------------------------------------------------------------

run unblock unblock alice+x@example.com --reason "password reset"
status "unblock" 0
tap_grep "prints the reminder to reset the password" "$DIR/unblock.out" \
    "reset its password"
tap_grep "and to check the account for compromise" "$DIR/unblock.out" \
    "compromised account"
tap_grep "says it is cleared, by whom, and the count" "$DIR/unblock.out" \
    "alice@example.com: restriction cleared and counters reset by admin-tester; the next message is accepted. Unblocks in the last 30 days: 1 (cap 3)."
_r=$(grep -n Reminder "$DIR/unblock.out" | cut -d: -f1)
_c=$(grep -n "restriction cleared" "$DIR/unblock.out" | cut -d: -f1)
tap_check "the reminder comes before the clear" test "${_r:-9}" -lt "${_c:-0}"
run show_after show alice@example.com --json
status "after unblock alice is not restricted" 1
json "and her counters are reset" show_after \
    '.counts.external_recipients_per_hour.used == 0 and
	.counts.recipients_per_day.used == 0 and .unblocks_30d == 1'
run hist_alice history alice@example.com --json
json "history records the unblock first: who, when, why" hist_alice \
    '.[0].kind == "unblocked" and .[0].actor == "admin-tester" and
	.[0].reason == "password reset" and .[0].at == "2026-11-23T14:05:00Z"
	and .[1].kind == "restricted"'
run unblock_again unblock alice@example.com
status "unblock of an identity that is not restricted" 1
tap_grep "says so plainly" "$DIR/unblock_again.err" \
    '"alice@example.com" is not restricted; nothing to unblock'
one_line "in one line" unblock_again

env -u SUDO_USER "$CTL" -c "$CONF" --now "$NOW" unblock carol@example.com \
    >"$DIR/nosudo.out" 2>&1
tap_eq "unblock without sudo" "$?" 0
run hist_carol history carol@example.com --json
json "records the invoking Unix user without SUDO_USER" hist_carol \
    ".[0].kind == \"unblocked\" and .[0].actor == \"$(id -un)\""
json "an unblock without --reason has the reason null, not \"\"" hist_carol \
    '.[0].reason == null and .[1].reason == "phishing \"Jörg\" says"'

# output that cannot be written after a committed write: a warning, not 70
# (a script that retries on 70 would unblock again and use up the cap)
"$FIX" "$DB" restrict ivan@example.com recipients_per_day 10 11 "$T0" - - -
"$CTL" -c "$CONF" --now "$NOW" unblock ivan@example.com >/dev/full \
    2>"$DIR/full.err"
tap_eq "unblock with stdout on /dev/full keeps the unblock's status" "$?" 0
tap_grep "and warns on stderr" "$DIR/full.err" \
    "sendguardctl: unblock: warning: cannot write the output; the exit status is still that of the unblock"
tap_eq "the unblock was done once" "$(sqlite3 "$DB" "SELECT count(*) FROM
    events WHERE identity = 'ivan@example.com' AND kind = 'unblocked'")" 1
"$CTL" -c "$CONF" --now "$NOW" block ivan@example.com --until +1h \
    >/dev/full 2>/dev/null
tap_eq "so does block" "$?" 0
"$CTL" -c "$CONF" --now "$NOW" unblock ivan@example.com >/dev/null 2>&1
"$CTL" -c "$CONF" --now "$NOW" list >/dev/full 2>"$DIR/full_list.err"
tap_eq "a read whose output cannot be written is still an error (70)" "$?" 70
tap_grep "saying so" "$DIR/full_list.err" \
    "sendguardctl: list: cannot write the output"

# the cap: three unblocks in 30 days, the fourth wants --force
i=1
while [ $i -le 2 ]; do
	"$FIX" "$DB" restrict alice@example.com external_recipients_per_hour \
	    3 4 $((T0 - 100 + i)) $((T0 + 35700)) 203.0.113.9 -
	run cap_$i --at "2026-11-23T14:0$((5 + i)):00Z" unblock alice@example.com
	status "unblock number $((i + 1)) within the cap" 0
	i=$((i + 1))
done
"$FIX" "$DB" restrict alice@example.com external_recipients_per_hour 3 4 \
    $((T0 + 300)) $((T0 + 35700)) 203.0.113.9 -
run cap_hit --at 2026-11-23T14:10:00Z unblock alice@example.com
status "the fourth unblock in 30 days is refused" 3
tap_grep "naming the cap and --force" "$DIR/cap_hit.err" \
    'was unblocked 3 times in the last 30 days (unblock.max_per_30_days = 3)'
one_line "in one line" cap_hit
# an admin cannot step around the cap by dating the unblock 31 days ahead
env -u SENDGUARDCTL_TEST_CLOCK "$CTL" -c "$CONF" --now 2026-12-24T14:10:00Z \
    unblock alice@example.com >"$DIR/cap_now.out" 2>"$DIR/cap_now.err"
tap_eq "--now on unblock outside the test suite is a usage error" "$?" 2
tap_grep "saying why" "$DIR/cap_now.err" \
    '--now cannot be used with unblock: a write dated by a made-up clock would falsify the history and the unblock cap'
tap_eq "and alice is still restricted, with no new event" \
    "$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM restrictions
    WHERE identity = 'alice@example.com') || ' ' || (SELECT count(*) FROM
    events WHERE identity = 'alice@example.com' AND kind = 'unblocked')")" \
    "1 3"
env -u SENDGUARDCTL_TEST_CLOCK "$CTL" -c "$CONF" --now 2026-12-24T14:10:00Z \
    block alice@example.com >/dev/null 2>&1
tap_eq "nor date a block" "$?" 2
env -u SENDGUARDCTL_TEST_CLOCK "$CTL" -c "$CONF" --now 2026-12-24T14:10:00Z \
    list >/dev/null 2>&1
tap_eq "while --now on list (a read) still works" "$?" 0
if grep -q Reminder "$DIR/cap_hit.out"; then
	tap_fail "a refused unblock clears nothing and prints no reminder"
else
	tap_ok "a refused unblock clears nothing and prints no reminder"
fi
# nor step around it with a block that ends the milter's restriction
run cap_block --at 2026-11-23T14:10:00Z block alice@example.com --until +1s \
    --reason x
status "a block --until +1s at the cap is refused" 2
tap_grep "pointing to unblock, where the cap applies" "$DIR/cap_block.err" \
    'use unblock (where unblock.max_per_30_days applies)'
tap_eq "and the milter's restriction stays, with no blocked event" \
    "$(sqlite3 "$DB" "SELECT (SELECT limit_name FROM restrictions
    WHERE identity = 'alice@example.com') || ' ' || (SELECT count(*) FROM
    events WHERE identity = 'alice@example.com' AND kind = 'blocked')")" \
    "external_recipients_per_hour 0"
run cap_show --at 2026-11-23T14:10:00Z show alice@example.com
status "alice is still restricted after the refusal" 0
run cap_force --at 2026-11-23T14:11:00Z unblock alice@example.com --force \
    --reason "CEO"
status "--force unblocks past the cap" 0
run cap_hist history alice@example.com --json
json "the forced unblock says so in the history" cap_hist \
    '.[0].kind == "unblocked" and
	.[0].reason == "forced past unblock.max_per_30_days: CEO"'
run cap_list --at 2026-11-23T14:12:00Z list --json
json "after the forced unblock alice is not listed" cap_list \
    'map(select(.identity == "alice@example.com")) == []'
run cap_count --at 2026-11-23T14:12:00Z show alice@example.com --json
json "unblocks_30d counts them all: three within the cap and the forced one" \
    cap_count '.unblocks_30d == 4 and .unblock_cap == 3'

# 31 days later the old unblocks are outside the window
run block_late --at 2026-12-24T14:00:00Z block alice@example.com
run late_list --at 2026-12-24T14:00:00Z list --json
json "31 days later alice's unblocks_30d is 0" late_list \
    '.[] | select(.identity == "alice@example.com") | .unblocks_30d == 0'
run late --at 2026-12-24T14:05:00Z unblock alice@example.com
status "31 days later unblock needs no --force (clock pinned)" 0

# --- history --------------------------------------------------------------------

run hist history
status "history" 0
tap_grep_re "history: one line per event, newest first" "$DIR/hist.out" \
    '^2026-12-24T14:05:00Z  unblocked   alice@example\.com  by admin-tester'
tap_grep "history: a restriction says until when" "$DIR/hist.out" \
    "restricted  alice@example.com  by sendguard: external_recipients_per_hour 3 exceeded: 4 recipients; until 2026-11-24T00:00:00Z (client 203.0.113.9, queue id unknown)"
tap_grep "history: a block by hand too" "$DIR/hist.out" \
    "blocked     ivan@example.com  by admin-tester: blocked by hand; until 2026-11-23T15:05:00Z"
tap_grep "history: one until an admin clears it" "$DIR/hist.out" \
    "blocked     noreply@example.com  by admin-tester: blocked by hand; until cleared"
tap_grep "history: an unblock's client is the restriction's, and says so" \
    "$DIR/hist.out" \
    "unblocked   alice@example.com  by admin-tester: password reset (restriction: client 203.0.113.9, queue id 4QX1abc)"
run hist_json history --json
json "history --json: newest first" hist_json \
    '[.[].at] == ([.[].at] | sort | reverse)'
json "history --json: every documented field of an event" hist_json \
    'all(.[]; has("id") and has("at") and has("kind") and has("identity")
	and has("reason") and has("limit") and has("count") and
	has("expires_at") and has("client_address") and has("queue_id") and
	has("actor"))'
json "history --json: the kinds" hist_json \
    '[.[].kind] | unique == ["blocked", "expired", "restricted", "unblocked"]'
run hist_since history --since 2026-11-23T14:06:00Z --json
json "history --since: only events at or after it" hist_since \
    'length > 0 and all(.[]; .at >= "2026-11-23T14:06:00Z")'
run hist_rel --at 2026-12-24T14:05:00Z history --since -1h --json
json "history --since -1h: the last hour only" hist_rel \
    'length == 2 and all(.[]; .identity == "alice@example.com")'
run hist_bad history --since yesterday
status "history --since with an unparsable time is a usage error" 2

# --- logins and recipient_delimiter --------------------------------------------
# With "-" a delimiter the milter takes a login whole (the accounts mary-jane
# and mary-ann are two people) and cuts an envelope sender (mary-ann@ sent
# by an internal client counts as mary@).  sendguardctl takes an identity
# whole when the database knows it whole, or with --login; else it cuts.
DCONF=$DIR/dash.conf
cat >"$DCONF" <<EOF
database = "$DB";
busy_timeout_ms = 200;
local_domains = [ "example.com" ];
recipient_delimiter = "+-";
limits = { external_recipients_per_hour = 3; };
policies = (
  { match = [ "Mary-Jane@example.com" ]; limits = { recipients_per_day = 77; }; }
);
EOF
_conf=$CONF
CONF=$DCONF
"$FIX" "$DB" restrict mary-jane@example.com external_recipients_per_hour 3 4 \
    $((T0 - 600)) - 203.0.113.7 -
"$FIX" "$DB" count mary-jane@example.com $((T0 - 600)) 0 4
run dash_show show Mary-Jane@Example.com
status "show of a login the database knows whole" 0
tap_grep "is taken whole, not cut to mary@" "$DIR/dash_show.out" \
    "identity:     mary-jane@example.com"
tap_grep_re "and its policy, written for it whole, applies" "$DIR/dash_show.out" \
    '^  recipients_per_day +4 / 77$'
run dash_cut show Mary-Ann+x@example.com
status "show of an identity the database does not know whole" 1
tap_grep "is cut at the first delimiter, as an envelope sender" \
    "$DIR/dash_cut.out" "identity:     mary@example.com"
tap_grep_re "which the policy written for mary-jane@ matches cut, as the milter does" \
    "$DIR/dash_cut.out" '^  recipients_per_day +0 / 77$'
run dash_login show mary@example.com --login --json
json "but the login mary@, another account, gets the global limits: the cut form is for envelope senders" \
    dash_login '.policy == "global limits"'
"$FIX" "$DB" restrict "john smith" external_recipients_per_hour 3 4 \
    $((T0 - 600)) - 203.0.113.7 -
run sp_show show " John Smith " --login
status "show --login of a SASL login that is no address" 0
tap_grep "takes it as the milter does: trimmed, lowercased" \
    "$DIR/sp_show.out" "identity:     john smith"
run sp_plain show "John Smith"
status "without --login it is no address: a usage error" 2
tap_grep "which points to --login" "$DIR/sp_plain.err" \
    "(a SASL login that is no address: --login)"
run dash_block block mary-ann@example.com --login --reason "phished"
status "block --login" 0
tap_grep "takes the login whole although the database does not know it" \
    "$DIR/dash_block.out" "mary-ann@example.com: blocked until cleared"
run dash_unblock unblock mary-jane@example.com
status "unblock of the login the database knows" 0
tap_grep "clears mary-jane@example.com" "$DIR/dash_unblock.out" \
    "mary-jane@example.com: restriction cleared"
tap_eq "mary-ann's block stands and nothing was written for mary@" \
    "$(sqlite3 "$DB" "SELECT group_concat(identity, ' ') FROM
    restrictions WHERE identity LIKE 'mary%'")" "mary-ann@example.com"
run dash_nologin usage --login
status "usage --login without an identity is a usage error" 2
run dash_hist history --login mary-ann@example.com --json
json "history --login" dash_hist \
    '[.[].identity] == ["mary-ann@example.com"]'
run dash_unblock2 unblock mary-ann@example.com --reason "reset"
CONF=$_conf

# --- bad input ------------------------------------------------------------------

run empty_id show ""
status "an empty identity is a usage error" 2
tap_grep "saying it is empty" "$DIR/empty_id.err" "the identity is empty"
run space_id unblock "   "
status "a blank identity is a usage error" 2
run null_id block "<>"
status "the null sender is a usage error" 2
run bad_id show "a b@example.com"
status "a malformed identity is a usage error" 2
run quoted_id show '"a b"@example.com'
status "a space inside a quoted local part is an identity (not restricted)" 1
BIG=$(head -c 10240 /dev/zero | tr '\0' a)
run big_id show "$BIG@example.com"
status "a 10 kB identity is a usage error" 2
one_line "in one short line (the argument is not echoed)" big_id
tap_grep "giving the length and the maximum" "$DIR/big_id.err" \
    "the identity is 10252 bytes long; the most is 320"
run big_reason block eve@example.com --reason "$BIG"
status "a 10 kB reason is a usage error" 2
one_line "in one short line" big_reason
run ctl_reason block eve@example.com --reason "$(printf 'a\033[2Jb')"
status "a reason with a control character is a usage error" 2
run big_since history --since "$BIG"
status "a 10 kB time is a usage error" 2
one_line "in one short line" big_since
run noval block eve@example.com --reason
status "an option without its value is a usage error" 2

# a byte that is not UTF-8 and a control character in the database
"$FIX" "$DB" restrict "$(printf 'x\377y@example.com')" manual 0 0 \
    "$T0" - "$(printf '10.0.0.1\033[31m')" -
run weird_json list --json
json "bytes that are not UTF-8 still give valid JSON (U+FFFD)" weird_json \
    'any(.[]; .identity == "x\ufffdy@example.com")'
run weird list
if grep -q "$(printf '\033')" "$DIR/weird.out"; then
	tap_fail "control characters from the database never reach the terminal"
else
	tap_ok "control characters from the database never reach the terminal"
fi
# C1 controls (CSI, NEL), bidi overrides and isolates, bytes that are not
# UTF-8: each one '?' in list, show and history; jörg stays jörg
_bad="'r' || char(0x9b) || '31m' || char(0x85) || 'x' || char(0x202e) ||
    'gpj.exe' || char(0x2066) || 'y' || char(0x2069) || CAST(x'ff' AS TEXT)"
sqlite3 "$DB" "INSERT INTO restrictions (identity, reason, limit_name,
    created_at, actor) VALUES ('jörg@example.com', $_bad, 'manual', $T0,
    'ad' || char(0x202d) || 'min'); INSERT INTO events (at, kind, identity,
    reason, actor) VALUES ($T0, 'blocked', 'jörg@example.com', $_bad, 'x')"
run c1_list list
run c1_show show jörg@example.com
run c1_hist history jörg@example.com
_c1=$(printf '\302[\200-\237]|\342\200[\252-\256]|\342\201[\246-\251]|\377')
if cat "$DIR/c1_list.out" "$DIR/c1_show.out" "$DIR/c1_hist.out" |
    LC_ALL=C grep -Eq "$_c1"; then
	tap_fail "C1, bidi and bytes not UTF-8 never reach the terminal"
else
	tap_ok "C1, bidi and bytes not UTF-8 never reach the terminal"
fi
tap_grep_re "list: each is one '?', and jörg is jörg" "$DIR/c1_list.out" \
    '^jörg@example\.com .* ad\?min +0 +r\?31m\?x\?gpj\.exe\?y\?\?$'
tap_grep "show too" "$DIR/c1_show.out" "reason:       r?31m?x?gpj.exe?y??"
tap_grep "history too" "$DIR/c1_hist.out" \
    "blocked     jörg@example.com  by x: r?31m?x?gpj.exe?y??"
run c1_json show jörg@example.com --json
json "JSON gives the same string back, its controls escaped" c1_json \
    '.restriction.reason == "r\u009b31m\u0085x\u202egpj.exe\u2066y\u2069\ufffd"'
if LC_ALL=C grep -Eq "$_c1" "$DIR/c1_json.out"; then
	tap_fail "and raw in none of it"
else
	tap_ok "and raw in none of it"
fi

# --- paging: more rows than a page --------------------------------------------------

sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
  WHERE i < 600) INSERT INTO restrictions (identity, reason, limit_name,
  created_at, expires_at, actor) SELECT printf('bulk%04d@example.com', i),
  'bulk', 'manual', $T0, NULL, 'test' FROM n;
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
  WHERE i < 450) INSERT INTO events (at, kind, identity, actor)
  SELECT $T0 - 86400, 'blocked', printf('bulk%04d@example.com', i), 'test'
  FROM n;"
run bulk list --json
json "list pages through 600 restrictions" bulk \
    '[.[] | select(.identity | startswith("bulk"))] | length == 600'
run bulk_hist history --json
json "history pages through 450 events of one second, each once" bulk_hist \
    '[.[] | select(.identity | startswith("bulk")) | .identity] |
	(length == 450) and (unique | length == 450)'
run bulk_text list
tap_eq "list text: a header and one line per restriction" \
    "$(grep -c . "$DIR/bulk_text.out")" \
    "$(($(jq length "$DIR/bulk.out") + 1))"

# --- a locked database --------------------------------------------------------------

if db_lock "$DB" "$DIR/lock.fifo"; then _locked=yes; else _locked=no; fi
tap_eq "another process holds the database's write lock" "$_locked" yes
run locked block frank@example.com
status "a write past busy_timeout_ms is a temporary failure" 75
tap_grep "saying to try again" "$DIR/locked.err" "try again"
run locked_read list --json
status "reads go on under the writer's lock (WAL)" 0
db_unlock
run unlocked block frank@example.com
status "once the lock is gone the same block works" 0

tap_done
