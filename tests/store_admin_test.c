/*
 * store_admin_test.c - unit tests of store/store_admin.c, the queries of
 * sendguardctl, on a temporary database per test with a pinned clock:
 * which restrictions are in force, history order and paging (ties on the
 * time included), usage windows and ranking, the unblock count, whether
 * an identity is known, and that each query reads through an index.
 *
 * Uses tests/store_fixture.h; single-threaded.
 */
#include "store_fixture.h"

/* event - append one event of kind for identity at at */
static void
event(store_t *st, store_event_kind kind, const char *identity, int64_t at)
{
	store_restriction r = restriction(identity, at, false, 0);

	if (store_event_add(st, kind, at, &r, errbuf, sizeof(errbuf)) != 0)
		printf("# event: %s\n", t_vis(errbuf));
}

static void
test_list_shows_restrictions_in_force_in_identity_order(void)
{
	store_restriction r, out[8];
	size_t n = 99;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	if ((st = open_db(fx.fx_db, true, BUSY_MS)) == NULL) {
		T_OK(false, "list: open (%s)", errbuf);
		fx_teardown(&fx);
		return;
	}
	r = restriction("carol@example.com", NOW - 10, true, NOW + 100);
	put(st, &r, STORE_EV_RESTRICTED);
	r = restriction("alice@example.com", NOW - 10, false, 0);
	put(st, &r, STORE_EV_BLOCKED);
	r = restriction("bob@example.com", NOW - 10, true, NOW);	/* ran out */
	put(st, &r, STORE_EV_RESTRICTED);
	r = restriction("dave@example.com", NOW - 10, true, NOW + 1);
	put(st, &r, STORE_EV_RESTRICTED);

	T_OK(store_restriction_list(st, NOW, "", out, 8, &n, errbuf,
	    sizeof(errbuf)) == 0, "list: succeeds");
	T_INTEQ(n, 3, "list: the restriction that ran out at now is not in "
	    "force");
	if (n == 3) {
		T_STREQ(out[0].sr_identity, "alice@example.com",
		    "list: identity order (1)");
		T_STREQ(out[1].sr_identity, "carol@example.com",
		    "list: identity order (2)");
		T_STREQ(out[2].sr_identity, "dave@example.com",
		    "list: identity order (3)");
		T_OK(!out[0].sr_has_expiry, "list: until cleared has no "
		    "expiry");
		T_STREQ(out[1].sr_queue_id, "4XyZ1abc", "list: facts read");
	}
	T_OK(store_restriction_list(st, NOW, "", out, 2, &n, errbuf,
	    sizeof(errbuf)) == 0 && n == 2, "list: a page of 2");
	T_OK(store_restriction_list(st, NOW, out[1].sr_identity, out, 2, &n,
	    errbuf, sizeof(errbuf)) == 0 && n == 1 &&
	    strcmp(out[0].sr_identity, "dave@example.com") == 0,
	    "list: the next page starts after the last identity");
	T_OK(store_restriction_list(st, NOW + 1000, "", out, 8, &n, errbuf,
	    sizeof(errbuf)) == 0 && n == 1, "list: later, only the one until "
	    "cleared");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_history_is_newest_first_and_pages_through_ties(void)
{
	store_event out[3];
	store_cursor cur = { false, 0, 0 };
	char seen[64] = "";
	size_t n, total = 0;
	fixture fx;
	store_t *st;
	int pages = 0;

	fx_setup(&fx);
	if ((st = open_db(fx.fx_db, true, BUSY_MS)) == NULL) {
		T_OK(false, "history: open (%s)", errbuf);
		fx_teardown(&fx);
		return;
	}
	/* ids 1..7; an expired event may be inserted after later ones */
	event(st, STORE_EV_RESTRICTED, "a@x", NOW - 50);	/* 1 */
	event(st, STORE_EV_UNBLOCKED, "a@x", NOW - 10);		/* 2 */
	event(st, STORE_EV_BLOCKED, "b@x", NOW - 10);		/* 3 */
	event(st, STORE_EV_EXPIRED, "c@x", NOW - 100);		/* 4 */
	event(st, STORE_EV_ALERTED, "a@x", NOW - 10);		/* 5 */
	event(st, STORE_EV_RESTRICTED, "b@x", NOW);		/* 6 */
	event(st, STORE_EV_UNBLOCKED, "a@x", NOW - 200);	/* 7 */

	do {
		if (store_history(st, NULL, 0, &cur, out, 3, &n, errbuf,
		    sizeof(errbuf)) != 0) {
			printf("# %s\n", errbuf);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			char id[8];

			snprintf(id, sizeof(id), "%lld",
			    (long long)out[i].se_id);
			strcat(seen, id);
		}
		total += n;
		pages++;
	} while (n == 3 && pages < 10);
	T_STREQ(seen, "6532147", "history: newest first by time, ties "
	    "newest insertion first, across pages of 3");
	T_INTEQ(total, 7, "history: every event exactly once");

	cur = (store_cursor){ false, 0, 0 };
	T_OK(store_history(st, "a@x", NOW - 50, &cur, out, 3, &n, errbuf,
	    sizeof(errbuf)) == 0 && n == 3 && out[0].se_id == 5 &&
	    out[1].se_id == 2 && out[2].se_id == 1,
	    "history: one identity since a time (the bound included)");
	T_OK(out[0].se_kind == STORE_EV_ALERTED &&
	    out[1].se_kind == STORE_EV_UNBLOCKED &&
	    out[2].se_kind == STORE_EV_RESTRICTED, "history: kinds read back");
	T_OK(out[1].se_at == NOW - 10 &&
	    strcmp(out[1].se_facts.sr_identity, "a@x") == 0,
	    "history: time and facts read back");
	cur = (store_cursor){ false, 0, 0 };
	T_OK(store_history(st, "nobody@x", 0, &cur, out, 3, &n, errbuf,
	    sizeof(errbuf)) == 0 && n == 0 && !cur.sk_started,
	    "history: an identity without events has none");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_usage_ranks_by_day_and_counts_the_windows(void)
{
	int64_t b = NOW / 60, hour_from = b - 60, day_from = b - 1440;
	store_usage out[4];
	size_t n = 0;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	if ((st = open_db(fx.fx_db, true, BUSY_MS)) == NULL) {
		T_OK(false, "usage: open (%s)", errbuf);
		fx_teardown(&fx);
		return;
	}
	add(st, "heavy@x", b, 1, 2);
	add(st, "heavy@x", b - 120, 10, 20);	/* in the day, not the hour */
	add(st, "heavy@x", b - 2000, 500, 500);	/* before the day: ignored */
	add(st, "light@x", b - 5, 0, 3);
	add(st, "tie@x", b - 5, 3, 0);
	add(st, "old@x", b - 1500, 99, 99);	/* only before the day */

	T_OK(store_usage_top(st, hour_from, day_from, out, 4, &n, errbuf,
	    sizeof(errbuf)) == 0, "usage: succeeds");
	T_INTEQ(n, 3, "usage: senders without counts in the day are left out");
	if (n == 3) {
		T_STREQ(out[0].su_identity, "heavy@x", "usage: most recipients "
		    "in the day first");
		T_OK(out[0].su_counts.sc_int_hour == 1 &&
		    out[0].su_counts.sc_ext_hour == 2 &&
		    out[0].su_counts.sc_day == 33,
		    "usage: hour and day windows summed as store_counts_get");
		T_STREQ(out[1].su_identity, "light@x", "usage: a tie on the "
		    "day goes to more external in the hour");
		T_STREQ(out[2].su_identity, "tie@x", "usage: then the other");
	}
	T_OK(store_usage_top(st, hour_from, day_from, out, 1, &n, errbuf,
	    sizeof(errbuf)) == 0 && n == 1, "usage: top 1 gives one");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_unblock_count_counts_one_identitys_unblocks_since(void)
{
	store_restriction manual = restriction("a@x", NOW - 60, false, 0);
	unsigned n = 99;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	if ((st = open_db(fx.fx_db, true, BUSY_MS)) == NULL) {
		T_OK(false, "unblock count: open (%s)", errbuf);
		fx_teardown(&fx);
		return;
	}
	event(st, STORE_EV_UNBLOCKED, "a@x", NOW - 100);
	event(st, STORE_EV_UNBLOCKED, "a@x", NOW - 50);
	event(st, STORE_EV_UNBLOCKED, "a@x", NOW - 101);	/* too old */
	event(st, STORE_EV_RESTRICTED, "a@x", NOW - 10);	/* other kind */
	event(st, STORE_EV_UNBLOCKED, "b@x", NOW - 10);		/* other id */
	snprintf(manual.sr_limit, sizeof(manual.sr_limit), STORE_LIMIT_MANUAL);
	if (store_event_add(st, STORE_EV_UNBLOCKED, NOW - 5, &manual, errbuf,
	    sizeof(errbuf)) != 0)	/* of a block by hand */
		printf("# event: %s\n", t_vis(errbuf));
	T_OK(store_unblock_count(st, "a@x", NOW - 100, &n, errbuf,
	    sizeof(errbuf)) == 0, "unblock count: succeeds");
	T_INTEQ(n, 2, "unblock count: this identity's unblocks from the "
	    "bound on, not those of a block by hand");
	T_OK(store_unblock_count(st, "c@x", 0, &n, errbuf, sizeof(errbuf)) ==
	    0 && n == 0, "unblock count: none for a stranger");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_identity_known_finds_a_restriction_counts_or_an_event(void)
{
	static const struct {
		const char *id;
		bool known;
		const char *what;
	} cases[] = {
		{ "r-1@x", true, "a restriction (and its event)" },
		{ "c-1@x", true, "counts" },
		{ "e-1@x", true, "an event" },
		{ "r@x", false, "only a cut form of what is known: not known" },
		{ "r-2@x", false, "another name: not known" },
	};
	store_restriction r = restriction("r-1@x", NOW, false, 0);
	bool known;
	size_t i;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	if ((st = open_db(fx.fx_db, true, BUSY_MS)) == NULL) {
		T_OK(false, "identity known: open (%s)", errbuf);
		fx_teardown(&fx);
		return;
	}
	if (store_restriction_put(st, &r, STORE_EV_BLOCKED, errbuf,
	    sizeof(errbuf)) != 0 || add(st, "c-1@x", NOW, 0, 1) != 0)
		printf("# identity known: %s\n", t_vis(errbuf));
	event(st, STORE_EV_UNBLOCKED, "e-1@x", NOW - 10);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		known = !cases[i].known;
		T_OK(store_identity_known(st, cases[i].id, &known, errbuf,
		    sizeof(errbuf)) == 0 && known == cases[i].known,
		    "identity known: %s: %s", cases[i].id, cases[i].what);
	}
	store_close(st);
	fx_teardown(&fx);
}

/* plan - EXPLAIN QUERY PLAN of sql, its details joined */
static const char *
plan(const char *path, const char *sql)
{
	static char buf[1024];
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	char q[512];

	buf[0] = '\0';
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK)
		while (sqlite3_step(s) == SQLITE_ROW) {
			strncat(buf, (const char *)sqlite3_column_text(s, 3),
			    sizeof(buf) - strlen(buf) - 2);
			strcat(buf, ";");
		}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return buf;
}

static void
test_queries_read_through_indices(void)
{
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, BUSY_MS);
	store_close(st);
	T_OK(strstr(plan(fx.fx_db, "SELECT * FROM events WHERE identity = "
	    "'a' AND at >= 0 AND at <= 5 AND (at < 5 OR id < 3) ORDER BY at "
	    "DESC, id DESC LIMIT 3"), "events_identity_at") != NULL,
	    "plan: history of one identity uses events_identity_at");
	T_OK(strstr(plan(fx.fx_db, "SELECT * FROM events WHERE at >= 0 AND "
	    "at <= 5 AND (at < 5 OR id < 3) ORDER BY at DESC, id DESC LIMIT "
	    "3"), "events_at") != NULL, "plan: history of all uses events_at");
	T_OK(strstr(plan(fx.fx_db, "SELECT count(*) FROM events WHERE "
	    "identity = 'a' AND at >= 0 AND kind = 'unblocked' AND "
	    "limit_name IS NOT 'manual'"),
	    "events_identity_at") != NULL,
	    "plan: the unblock count uses events_identity_at");
	/* usage scans counters in key order: the table holds about a day
	 * (pruned), and the order groups by identity without a sort */
	T_OK(strstr(plan(fx.fx_db, "SELECT identity, sum(internal) FROM "
	    "counters WHERE bucket >= 5 GROUP BY identity"),
	    "TEMP B-TREE FOR GROUP BY") == NULL,
	    "plan: usage groups by identity without sorting");
	fx_teardown(&fx);
}

int
main(void)
{
	test_list_shows_restrictions_in_force_in_identity_order();
	test_history_is_newest_first_and_pages_through_ties();
	test_usage_ranks_by_day_and_counts_the_windows();
	test_unblock_count_counts_one_identitys_unblocks_since();
	test_identity_known_finds_a_restriction_counts_or_an_event();
	test_queries_read_through_indices();
	return t_done();
}
