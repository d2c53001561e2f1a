/*
 * store_records_test.c - unit tests of store/'s records: restrictions and
 * their history, expiry, events, the counter windows, saturation and
 * pruning.  Hermetic: a fresh temporary database per test
 * (store_fixture.h), with a pinned clock.
 */
#include "store_fixture.h"

static void
test_restriction_round_trip_with_and_without_expiry(void)
{
	store_restriction r1 = restriction("alice@example.com", NOW, false, 0);
	store_restriction r2 = restriction("bob@example.com", NOW, true,
	    NOW + 3600);
	store_restriction got;
	bool found;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	snprintf(r2.sr_actor, sizeof(r2.sr_actor), "admin");
	snprintf(r2.sr_limit, sizeof(r2.sr_limit), "manual");
	r2.sr_client_address[0] = '\0';
	T_INTEQ(put(st, &r1, STORE_EV_RESTRICTED), 0, "put without expiry");
	T_INTEQ(put(st, &r2, STORE_EV_BLOCKED), 0, "put with expiry");

	memset(&got, 0x55, sizeof(got));
	T_INTEQ(store_restriction_get(st, "alice@example.com", NOW + 86400 *
	    365, &got, &found, errbuf, sizeof(errbuf)), 0, "get alice");
	T_OK(found, "a restriction without expiry is in force a year later");
	T_STREQ(got.sr_identity, "alice@example.com", "identity");
	T_STREQ(got.sr_reason, r1.sr_reason, "reason");
	T_STREQ(got.sr_limit, "external_recipients_per_hour", "limit name");
	T_INTEQ(got.sr_limit_value, 100, "limit value");
	T_INTEQ(got.sr_count, 101, "count");
	T_INTEQ(got.sr_created_at, NOW, "created_at");
	T_OK(!got.sr_has_expiry, "no expiry");
	T_STREQ(got.sr_client_address, "203.0.113.9", "client address");
	T_STREQ(got.sr_queue_id, "4XyZ1abc", "queue id");
	T_STREQ(got.sr_actor, "sendguard", "actor");

	T_INTEQ(store_restriction_get(st, "bob@example.com", NOW + 3599, &got,
	    &found, errbuf, sizeof(errbuf)), 0, "get bob");
	T_OK(found && got.sr_has_expiry && got.sr_expires_at == NOW + 3600,
	    "the expiry comes back");
	T_STREQ(got.sr_actor, "admin", "actor of a manual block");
	T_STREQ(got.sr_client_address, "",
	    "an unknown client address comes back empty");

	T_INTEQ(store_restriction_get(st, "carol@example.com", NOW, &got,
	    &found, errbuf, sizeof(errbuf)), 0, "get an unknown identity");
	T_OK(!found, "an unknown identity has no restriction");

	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events WHERE"
	    " kind = 'restricted' AND identity = 'alice@example.com'"
	    " AND at = 1700000000 AND expires_at IS NULL"), 1,
	    "a RESTRICTED event was appended");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events WHERE"
	    " kind = 'blocked' AND identity = 'bob@example.com'"
	    " AND actor = 'admin' AND expires_at = 1700003600"), 1,
	    "a BLOCKED event was appended");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_put_replaces_a_restriction_and_logs_each_event(void)
{
	store_restriction r = restriction("alice@example.com", NOW, true,
	    NOW + 60);
	store_restriction got;
	bool found;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	put(st, &r, STORE_EV_RESTRICTED);
	r.sr_created_at = NOW + 10;
	r.sr_has_expiry = false;
	r.sr_count = 250;
	T_INTEQ(put(st, &r, STORE_EV_RESTRICTED), 0, "put again");
	store_restriction_get(st, "alice@example.com", NOW + 100, &got,
	    &found, errbuf, sizeof(errbuf));
	T_OK(found && !got.sr_has_expiry && got.sr_count == 250,
	    "the second put replaced the first");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"), 1,
	    "one row per identity");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events"), 2,
	    "two events");
	T_INTEQ(store_restriction_put(st, &r, STORE_EV_EXPIRED, errbuf,
	    sizeof(errbuf)), -1, "put with an EXPIRED event is refused");
	T_INTEQ(store_errkind(st), STORE_ERR_INTERNAL, "as INTERNAL");
	/* a block that replaces keeps the start; its event is dated now */
	T_INTEQ(store_restriction_put_at(st, &r, STORE_EV_BLOCKED, NOW + 50,
	    errbuf, sizeof(errbuf)), 0, "put_at");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"
	    " WHERE created_at = 1700000010"), 1,
	    "put_at: the row keeps the restriction's created_at");
	T_INTEQ(raw_int(fx.fx_db, "SELECT at FROM events"
	    " WHERE kind = 'blocked'"), NOW + 50,
	    "put_at: the event is dated at, not created_at");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_expired_restriction_is_not_returned_and_expire_logs_it(void)
{
	store_restriction r = restriction("alice@example.com", NOW, true,
	    NOW + 600);
	store_restriction got;
	unsigned n = 99;
	bool found, ran_out;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	put(st, &r, STORE_EV_RESTRICTED);
	store_restriction_get(st, "alice@example.com", NOW + 599, &got,
	    &found, errbuf, sizeof(errbuf));
	T_OK(found, "in force one second before it expires");
	store_restriction_get(st, "alice@example.com", NOW + 600, &got,
	    &found, errbuf, sizeof(errbuf));
	T_OK(!found, "not in force at its expires_at");
	T_INTEQ(store_restriction_lookup(st, "alice@example.com", NOW + 599,
	    &got, &found, &ran_out, errbuf, sizeof(errbuf)), 0, "lookup");
	T_OK(found && !ran_out, "lookup: in force, not run out");
	T_INTEQ(store_restriction_lookup(st, "alice@example.com", NOW + 600,
	    &got, &found, &ran_out, errbuf, sizeof(errbuf)), 0,
	    "lookup at its expires_at");
	T_OK(!found && ran_out && got.sr_expires_at == NOW + 600,
	    "lookup: run out, not yet history, and its row is returned");
	T_INTEQ(store_restriction_lookup(st, "nobody@example.com", NOW,
	    &got, &found, &ran_out, errbuf, sizeof(errbuf)), 0,
	    "lookup of a sender never restricted");
	T_OK(!found && !ran_out, "lookup: neither");

	T_INTEQ(store_expire(st, NULL, NOW + 599, 0, &n, errbuf,
	    sizeof(errbuf)), 0, "expire before it ran out");
	T_INTEQ(n, 0, "nothing expired yet");
	T_INTEQ(store_expire(st, NULL, NOW + 700, 0, &n, errbuf,
	    sizeof(errbuf)), 0, "expire after it ran out");
	T_INTEQ(n, 1, "one restriction expired");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"), 0,
	    "the restriction row is gone");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events WHERE"
	    " kind = 'expired' AND identity = 'alice@example.com'"
	    " AND at = 1700000600 AND count = 101 AND limit_value = 100"
	    " AND limit_name = 'external_recipients_per_hour'"
	    " AND queue_id = '4XyZ1abc'"), 1,
	    "an EXPIRED event at expires_at keeps the restriction's facts");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_expire_is_bounded_by_max_and_by_identity(void)
{
	const char *ids[] = { "a@x", "b@x", "c@x", "d@x" };
	store_restriction r;
	unsigned n = 99;
	fixture fx;
	store_t *st;
	int i;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	for (i = 0; i < 4; i++) {
		r = restriction(ids[i], NOW, true, NOW + 10 + i);
		put(st, &r, STORE_EV_RESTRICTED);
	}
	r = restriction("forever@x", NOW, false, 0);
	put(st, &r, STORE_EV_RESTRICTED);

	T_INTEQ(store_expire(st, "c@x", NOW + 100, 0, &n, errbuf,
	    sizeof(errbuf)), 0, "expire one identity");
	T_INTEQ(n, 1, "only that identity expired");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"
	    " WHERE identity = 'c@x'"), 0, "its row is gone");
	T_INTEQ(store_expire(st, "forever@x", NOW + 100, 0, &n, errbuf,
	    sizeof(errbuf)), 0, "expire an identity without expiry");
	T_INTEQ(n, 0, "a restriction without expiry never expires");

	T_INTEQ(store_expire(st, NULL, NOW + 100, 2, &n, errbuf,
	    sizeof(errbuf)), 0, "expire all, at most 2");
	T_INTEQ(n, 2, "two expired");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"
	    " WHERE identity IN ('a@x', 'b@x')"), 0,
	    "the ones that ran out first went first");
	T_INTEQ(store_expire(st, NULL, NOW + 100, 2, NULL, errbuf,
	    sizeof(errbuf)), 0, "expire the rest (n may be NULL)");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"), 1,
	    "only the restriction without expiry is left");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events"
	    " WHERE kind = 'expired'"), 4, "four EXPIRED events");
	store_close(st);
	fx_teardown(&fx);
}

/* A restriction that runs out takes its sender's counts from before its
 * end with it, one identity or all; nobody else's, nothing later. */
static void
test_expire_forgives_the_counts_before_the_end(void)
{
	const int64_t b0 = NOW / 60;
	store_restriction r;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	r = restriction("a@x", NOW, true, NOW + 600);
	put(st, &r, STORE_EV_RESTRICTED);
	r = restriction("b@x", NOW, true, NOW + 1200);
	put(st, &r, STORE_EV_RESTRICTED);
	r = restriction("keep@x", NOW, false, 0);
	put(st, &r, STORE_EV_RESTRICTED);
	T_INTEQ(add(st, "a@x", b0 - 5, 0, 3), 0, "a: counts before");
	T_INTEQ(add(st, "a@x", (NOW + 600) / 60, 1, 0), 0,
	    "a: counts in the minute of the end");
	T_INTEQ(add(st, "b@x", b0, 0, 2), 0, "b: counts before");
	T_INTEQ(add(st, "keep@x", b0, 0, 4), 0, "keep: counts");
	T_INTEQ(add(st, "other@x", b0, 0, 5), 0, "other: counts, unrestricted");

	T_INTEQ(store_expire(st, "a@x", NOW + 700, 0, NULL, errbuf,
	    sizeof(errbuf)), 0, "expire a");
	T_INTEQ(raw_int(fx.fx_db, "SELECT coalesce(sum(internal * 10 +"
	    " external), -1) FROM counters WHERE identity = 'a@x'"), 10,
	    "a's counts before the end are gone, those from its minute stay");
	T_INTEQ(store_expire(st, NULL, NOW + 700, 0, NULL, errbuf,
	    sizeof(errbuf)), 0, "expire all before b's end");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'b@x'"), 1, "b's counts stay while it is in force");
	r = restriction("c@x", NOW, true, NOW + 1250);
	put(st, &r, STORE_EV_RESTRICTED);
	T_INTEQ(add(st, "c@x", b0, 0, 6), 0, "c: counts before");
	T_INTEQ(store_expire(st, NULL, NOW + 1300, 1, NULL, errbuf,
	    sizeof(errbuf)), 0, "expire all after b's and c's ends, at most 1");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'b@x'"), 0, "b's counts are gone with it");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'c@x'"), 1,
	    "c's stay: its restriction waits for the next batch");
	T_INTEQ(store_expire(st, NULL, NOW + 1300, 1, NULL, errbuf,
	    sizeof(errbuf)), 0, "the next batch");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'c@x'"), 0, "c's counts are gone with it");
	T_INTEQ(raw_int(fx.fx_db, "SELECT sum(external) FROM counters"
	    " WHERE identity IN ('keep@x', 'other@x')"), 9,
	    "a restriction without end and an unrestricted sender keep theirs");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_clear_resets_counters_and_reports_found(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	store_counts c;
	bool found;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	put(st, &r, STORE_EV_RESTRICTED);
	add(st, "alice@example.com", NOW / 60, 5, 101);
	add(st, "bob@example.com", NOW / 60, 1, 1);

	found = false;
	T_INTEQ(store_restriction_clear(st, "alice@example.com", NOW + 50,
	    "admin", "false positive", &found, errbuf, sizeof(errbuf)), 0,
	    "clear a restriction");
	T_OK(found, "found is true when there was one");
	store_restriction_get(st, "alice@example.com", NOW + 60, &got,
	    &found, errbuf, sizeof(errbuf));
	T_OK(!found, "the restriction is gone");
	c = counts(st, "alice@example.com", 0, 0);
	T_OK(c.sc_int_hour == 0 && c.sc_ext_hour == 0 && c.sc_day == 0,
	    "its counters were reset");
	c = counts(st, "bob@example.com", 0, 0);
	T_INTEQ(c.sc_day, 2, "another identity's counters are kept");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events WHERE"
	    " kind = 'unblocked' AND at = 1700000050 AND actor = 'admin'"
	    " AND reason = 'false positive'"
	    " AND limit_name = 'external_recipients_per_hour'"), 1,
	    "an UNBLOCKED event with actor and reason");

	found = true;
	T_INTEQ(store_restriction_clear(st, "alice@example.com", NOW + 70,
	    "admin", "again", &found, errbuf, sizeof(errbuf)), 0,
	    "clear with nothing to clear");
	T_OK(!found, "found is false when there was none");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events"
	    " WHERE kind = 'unblocked'"), 1, "and nothing was written");

	/* a restriction that ran out is not "in force": nothing written */
	r = restriction("carol@example.com", NOW, true, NOW + 5);
	put(st, &r, STORE_EV_RESTRICTED);
	add(st, "carol@example.com", NOW / 60, 1, 0);
	store_restriction_clear(st, "carol@example.com", NOW + 10, "admin",
	    "late", &found, errbuf, sizeof(errbuf));
	T_OK(!found, "clearing an expired restriction reports not found");
	T_INTEQ(counts(st, "carol@example.com", 0, 0).sc_day, 1,
	    "and leaves the counters alone");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_overlong_strings_in_the_database_are_truncated_on_read(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	char sql[4096], big[2048];
	bool found;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	put(st, &r, STORE_EV_RESTRICTED);
	/* 'é' is two bytes: a cut must not leave half of one */
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i + 2 < 1500; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	snprintf(sql, sizeof(sql), "UPDATE restrictions SET reason = '%s',"
	    " actor = 'x%0200d', queue_id = 'q%0100d'", big, 0, 0);
	raw_exec(fx.fx_db, sql);
	memset(&got, 0x55, sizeof(got));
	T_INTEQ(store_restriction_get(st, "alice@example.com", NOW, &got,
	    &found, errbuf, sizeof(errbuf)), 0, "get overlong strings");
	T_INTEQ(strlen(got.sr_reason), STORE_REASON_SIZE - 2,
	    "the reason is cut on a character boundary");
	T_OK(memcmp(got.sr_reason, big, strlen(got.sr_reason)) == 0,
	    "and is a prefix of the stored text");
	T_INTEQ(strlen(got.sr_actor), STORE_ACTOR_SIZE - 1,
	    "the actor fills its array and is terminated");
	T_INTEQ(strlen(got.sr_queue_id), STORE_QUEUEID_SIZE - 1,
	    "the queue id fills its array and is terminated");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_event_add_appends_an_alert(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_INTEQ(store_event_add(st, STORE_EV_ALERTED, NOW + 5, &r, errbuf,
	    sizeof(errbuf)), 0, "add an ALERTED event");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events WHERE"
	    " kind = 'alerted' AND at = 1700000005"), 1, "it is there");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"), 0,
	    "an alert restricts nobody");
	T_INTEQ(store_event_add(st, (store_event_kind)42, NOW, &r, errbuf,
	    sizeof(errbuf)), -1, "an unknown kind is refused");
	T_STREQ(store_event_kind_name(STORE_EV_UNBLOCKED), "unblocked",
	    "kind names");
	T_STREQ(store_event_kind_name((store_event_kind)42), "unknown",
	    "an unknown kind has a printable name");
	store_close(st);
	fx_teardown(&fx);
}

/* ---- counters ---- */

static void
test_counts_windows_start_at_their_first_bucket(void)
{
	const int64_t b = NOW / 60;
	const int64_t hour_from = b - 59, day_from = b - 1439;
	store_counts c;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	add(st, "a@x", b, 1, 2);
	add(st, "a@x", b, 1, 0);		/* same bucket: summed */
	add(st, "a@x", hour_from, 10, 20);	/* first bucket of the hour */
	add(st, "a@x", hour_from - 1, 100, 200);	/* one before */
	add(st, "a@x", day_from, 1000, 0);	/* first bucket of the day */
	add(st, "a@x", day_from - 1, 5000, 5000);	/* one before */
	add(st, "other@x", b, 7, 7);
	c = counts(st, "a@x", hour_from, day_from);
	T_INTEQ(c.sc_int_hour, 12, "internal in the hour: from hour_from on");
	T_INTEQ(c.sc_ext_hour, 22, "external in the hour: from hour_from on");
	T_INTEQ(c.sc_day, 1334, "the day: from day_from on, both kinds");
	c = counts(st, "nobody@x", hour_from, day_from);
	T_OK(c.sc_int_hour == 0 && c.sc_ext_hour == 0 && c.sc_day == 0,
	    "an identity without counters has zero");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_spam_counts_have_their_own_windows(void)
{
	const int64_t b = NOW / 60;
	const int64_t hour_from = b - 59, day_from = b - 1439;
	const store_delta both = { 1, 2, 1 };
	store_counts c;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	add_spam(st, "a@x", b, 1);
	T_INTEQ(store_counts_add(st, "a@x", b, &both, INT64_MIN, errbuf,
	    sizeof(errbuf)), 0, "recipients and spam in one add");
	add_spam(st, "a@x", hour_from, 10);
	add_spam(st, "a@x", hour_from - 1, 100);
	add_spam(st, "a@x", day_from, 1000);
	add_spam(st, "a@x", day_from - 1, 5000);
	add_spam(st, "other@x", b, 7);
	c = counts(st, "a@x", hour_from, day_from);
	T_INTEQ(c.sc_spam_hour, 12, "spam in the hour: from hour_from on");
	T_INTEQ(c.sc_spam_day, 1112, "spam in the day: from day_from on");
	T_INTEQ(c.sc_day, 3, "spam messages are not recipients");
	T_INTEQ(c.sc_ext_hour, 2, "the recipients of the same add count");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'a@x' AND internal = 0 AND external = 0"), 4,
	    "a spam-only add creates a row");
	add_spam(st, "s@x", 5, UINT32_MAX);
	add_spam(st, "s@x", 5, 3);
	add_spam(st, "s@x", 6, UINT32_MAX);
	T_INTEQ(raw_int(fx.fx_db, "SELECT spam FROM counters"
	    " WHERE identity = 's@x' AND bucket = 5"), UINT32_MAX,
	    "a spam bucket saturates");
	c = counts(st, "s@x", 0, 0);
	T_OK(c.sc_spam_hour == UINT32_MAX && c.sc_spam_day == UINT32_MAX,
	    "spam sums saturate");
	T_INTEQ(store_counts_add(st, "s@x", 5, NULL, 0, errbuf,
	    sizeof(errbuf)), -1, "no counts is a misuse");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_counts_saturate_at_uint32_max(void)
{
	store_counts c;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	add(st, "a@x", 100, UINT32_MAX, UINT32_MAX - 1);
	T_INTEQ(add(st, "a@x", 100, 5, 5), 0, "add past UINT32_MAX");
	T_INTEQ(raw_int(fx.fx_db, "SELECT max(internal) FROM counters"),
	    UINT32_MAX, "a bucket saturates at UINT32_MAX");
	add(st, "a@x", 101, UINT32_MAX, 0);
	c = counts(st, "a@x", 0, 0);
	T_INTEQ(c.sc_int_hour, UINT32_MAX, "a sum saturates (internal)");
	T_INTEQ(c.sc_ext_hour, UINT32_MAX, "a sum saturates (external)");
	T_INTEQ(c.sc_day, UINT32_MAX, "a sum saturates (day)");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_add_prunes_old_buckets_of_that_identity_only(void)
{
	const store_delta one = { 1, 0, 0 }, zero = { 0, 0, 0 };
	fixture fx;
	store_t *st;
	int64_t i;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	for (i = 1; i <= 5; i++) {
		add(st, "a@x", i, 1, 0);
		add(st, "b@x", i, 1, 0);
	}
	T_INTEQ(store_counts_add(st, "a@x", 10, &one, 4, errbuf,
	    sizeof(errbuf)), 0, "add with prune_before 4");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'a@x' AND bucket < 4"), 0,
	    "that identity's buckets before prune_before are gone");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'a@x'"), 3, "buckets 4, 5 and 10 are kept");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'b@x'"), 5, "another identity is untouched");
	T_INTEQ(store_counts_add(st, "b@x", 10, &zero, 3, errbuf,
	    sizeof(errbuf)), 0, "add nothing, with prune_before 3");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'b@x'"), 3, "adding zero still prunes, and "
	    "creates no row");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_counts_prune_is_bounded_by_max(void)
{
	unsigned n = 99;
	fixture fx;
	store_t *st;
	int64_t i;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	for (i = 0; i < 10; i++) {
		add(st, "a@x", 100 + i, 1, 0);
		add(st, "b@x", 100 + i, 0, 1);
	}
	/* old: buckets 100..104 of each, i.e. 10 rows; new: 10 rows */
	T_INTEQ(store_counts_prune(st, 105, 3, &n, errbuf, sizeof(errbuf)), 0,
	    "prune at most 3");
	T_INTEQ(n, 3, "3 rows pruned");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"), 17,
	    "17 rows left");
	T_INTEQ(store_counts_prune(st, 105, 0, &n, errbuf, sizeof(errbuf)), 0,
	    "prune without bound");
	T_INTEQ(n, 7, "the other 7 old rows pruned");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE bucket >= 105"), 10, "newer buckets are kept");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"), 10,
	    "and only they");
	store_close(st);
	fx_teardown(&fx);
}

/* ---- transactions and concurrency ---- */

int
main(void)
{
	test_restriction_round_trip_with_and_without_expiry();
	test_put_replaces_a_restriction_and_logs_each_event();
	test_expired_restriction_is_not_returned_and_expire_logs_it();
	test_expire_is_bounded_by_max_and_by_identity();
	test_expire_forgives_the_counts_before_the_end();
	test_clear_resets_counters_and_reports_found();
	test_overlong_strings_in_the_database_are_truncated_on_read();
	test_event_add_appends_an_alert();
	test_counts_windows_start_at_their_first_bucket();
	test_counts_saturate_at_uint32_max();
	test_spam_counts_have_their_own_windows();
	test_add_prunes_old_buckets_of_that_identity_only();
	test_counts_prune_is_bounded_by_max();
	return t_done();
}
