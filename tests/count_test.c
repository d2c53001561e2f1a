/*
 * count_test.c - milter/milt_count.c, the counts written behind, on a
 * real temporary database through the milter's own pool of handles.
 *
 * The exactness claim is checked under contention: threads read a
 * sender's windows from the database and its pending counts the way
 * end-of-message does (barrier shared, then the table's lock) while the
 * writer commits; with the table's lock held, database + pending must
 * equal exactly what was added so far, every time.  Then the writer's
 * failure and recovery under another process's write lock, and marks.
 * The checks are made in the main thread (t.h is single-threaded); the
 * workers only count what they saw.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../milter/milt.h"
#include "../policy/policy.h"
#include "store_fixture.h"

#define THREADS		4
#define ROUNDS		1500
#define NIDS		3

static const char *ids[NIDS] = { "a@example.com", "b@example.com",
	"c@example.com" };
static uint32_t added[NIDS];		/* under milt_count_lock */
static atomic_uint seen_wrong, read_errors, add_errors;
static char first_wrong[200];		/* under milt_count_lock */

/* sleep_ms - a short pause in a bounded loop */
static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* judge - what end-of-message does for one message of one recipient to
 * ids[i]: read, look, compare with what was added, add */
static void
judge(int i)
{
	char err[512];
	store_errkind_t kind;
	store_counts db, pend;
	store_delta d = { 0, 1, 0 };
	bool found;
	store_restriction r;
	store_t *s;

	milt_count_read_begin();
	if ((s = milt_pool_get(err, sizeof(err), &kind)) == NULL) {
		milt_count_read_end();
		atomic_fetch_add(&read_errors, 1);
		return;
	}
	if (store_begin(s, false, err, sizeof(err)) != 0 ||
	    store_restriction_get(s, ids[i], (int64_t)time(NULL), &r, &found,
	    err, sizeof(err)) != 0 ||
	    store_counts_get(s, ids[i], 0, 0, &db, err, sizeof(err)) != 0 ||
	    store_commit(s, err, sizeof(err)) != 0) {
		store_rollback(s);
		milt_pool_put(s, false);
		milt_count_read_end();
		atomic_fetch_add(&read_errors, 1);
		return;
	}
	milt_pool_put(s, true);
	milt_count_lock();
	(void)milt_count_pending(ids[i], 0, 0, &pend);
	if (db.sc_ext_hour + pend.sc_ext_hour != added[i] ||
	    db.sc_day + pend.sc_day != added[i]) {
		if (atomic_fetch_add(&seen_wrong, 1) == 0)
			snprintf(first_wrong, sizeof(first_wrong), "%s: database "
			    "%u + pending %u, added %u", ids[i],
			    db.sc_ext_hour, pend.sc_ext_hour, added[i]);
	}
	if (milt_count_add(ids[i], pol_bucket((int64_t)time(NULL)), &d) == 0)
		added[i]++;
	else
		atomic_fetch_add(&add_errors, 1);
	milt_count_unlock();
	milt_count_read_end();
}

static void *
worker(void *arg)
{
	int k, t = (int)(intptr_t)arg;

	for (k = 0; k < ROUNDS; k++)
		judge((t + k) % NIDS);
	return NULL;
}

/* db_external - SUM(external) of identity in the database, or -1 */
static long
db_external(const char *path, const char *identity)
{
	char q[200];

	snprintf(q, sizeof(q), "SELECT coalesce(SUM(external), 0) FROM counters "
	    "WHERE identity = '%s'", identity);
	return raw_int(path, q);
}

static void
test_exact_under_contention(const char *path)
{
	pthread_t th[THREADS];
	long total = 0;
	int t, i, tries;

	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	T_INTEQ(atomic_load(&read_errors), 0, "no database read failed");
	T_INTEQ(atomic_load(&add_errors), 0, "no count was refused");
	T_OK(atomic_load(&seen_wrong) == 0, "with %d threads and the writer "
	    "committing, database + pending equalled what was added at each "
	    "of %d looks%s%s", THREADS, THREADS * ROUNDS,
	    first_wrong[0] != '\0' ? ": first wrong: " : "", first_wrong);
	/* the writer catches up: everything lands, once */
	for (tries = 0; tries < 100; tries++) {
		for (total = 0, i = 0; i < NIDS; i++)
			total += db_external(path, ids[i]);
		if (total == THREADS * ROUNDS)
			break;
		sleep_ms(20);
	}
	T_INTEQ(total, THREADS * ROUNDS, "every count is written, once");
	for (i = 0; i < NIDS; i++)
		T_INTEQ(db_external(path, ids[i]), (long)added[i],
		    "%s: the database holds exactly its %u", ids[i], added[i]);
}

static void
test_locked_then_recovers(const char *path)
{
	char err[512];
	store_counts pend;
	store_delta d = { 2, 3, 1 };
	sqlite3 *lock = NULL;
	bool failing = false;
	int tries;

	/* as another process would: SQLite's own lock, not the process's */
	T_OK(sqlite3_open_v2(path, &lock, SQLITE_OPEN_READWRITE, NULL) ==
	    SQLITE_OK && sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) == SQLITE_OK, "another connection holds the write lock");
	milt_count_read_begin();
	milt_count_lock();
	T_INTEQ(milt_count_add("locked@example.com",
	    pol_bucket((int64_t)time(NULL)), &d), 0,
	    "a count is taken into memory while the database is locked");
	milt_count_unlock();
	milt_count_read_end();
	for (tries = 0; tries < 100 && !failing; tries++) {
		failing = milt_count_failing(err, sizeof(err));
		if (!failing)
			sleep_ms(20);
	}
	T_OK(failing && strstr(err, "writing counts: ") != NULL &&
	    strstr(err, "locked") != NULL,
	    "past the busy timeout the writer reports failing: %s",
	    failing ? err : "(never)");
	milt_count_lock();
	(void)milt_count_pending("locked@example.com", 0, 0, &pend);
	milt_count_unlock();
	T_OK(pend.sc_int_hour == 2 && pend.sc_ext_hour == 3 &&
	    pend.sc_day == 5 && pend.sc_spam_day == 1,
	    "meanwhile the count waits in memory, whole");
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
	for (tries = 0; tries < 100 && failing; tries++) {
		failing = milt_count_failing(err, sizeof(err));
		if (failing)
			sleep_ms(20);
	}
	T_OK(!failing, "the lock gone, the writer recovers");
	for (tries = 0; tries < 100 &&
	    db_external(path, "locked@example.com") != 3; tries++)
		sleep_ms(20);
	T_INTEQ(db_external(path, "locked@example.com"), 3,
	    "and writes the count kept in memory, once");
	T_INTEQ(raw_int(path, "SELECT internal * 100 + spam FROM counters "
	    "WHERE identity = 'locked@example.com'"), 201,
	    "internal and spam counts too");
}

static void
test_mark(void)
{
	store_counts pend;
	bool marked;

	milt_count_lock();
	T_INTEQ(milt_count_mark("m@example.com"), 0, "mark a sender");
	marked = milt_count_pending("m@example.com", 0, 0, &pend);
	milt_count_unlock();
	T_OK(marked, "a parallel message sees the mark");
	milt_count_unmark("m@example.com");
	milt_count_lock();
	marked = milt_count_pending("m@example.com", 0, 0, &pend);
	milt_count_unlock();
	T_OK(!marked && pend.sc_day == 0, "unmarked, nothing is left of it");
}

/* unmark_later - the restricting message's thread: unmark after 50 ms */
static void *
unmark_later(void *arg)
{
	(void)arg;
	sleep_ms(50);
	milt_count_unmark("w@example.com");
	return NULL;
}

/* A parallel message waits for the mark to go, not longer; and not at
 * all for a sender nobody marked.  How a wait ended is its return value
 * (true: unmarked, false: timed out), so nothing here asserts a time but
 * the timeout's lower bound. */
static void
test_wait_unmarked(void)
{
	struct timespec t0;
	store_counts pend;
	pthread_t th;
	double ms;
	bool marked;

	T_OK(milt_count_wait_unmarked("nobody@example.com", 5000),
	    "no mark: nothing to wait for, the wait ends unmarked");
	milt_count_lock();
	T_INTEQ(milt_count_mark("w@example.com"), 0, "mark a sender");
	milt_count_unlock();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_OK(!milt_count_wait_unmarked("w@example.com", 100),
	    "still marked after 100 ms: the wait says so");
	ms = ms_since(&t0);
	T_OK(ms >= 90, "having waited the 100 ms (%.0f ms)", ms);
	pthread_create(&th, NULL, unmark_later, NULL);
	T_OK(milt_count_wait_unmarked("w@example.com", 10000),
	    "unmarked by another thread: the wait ends with it, not at the "
	    "timeout (that returns false)");
	milt_count_lock();
	marked = milt_count_pending("w@example.com", 0, 0, &pend);
	milt_count_unlock();
	T_OK(!marked, "and the mark is gone when it ends");
	pthread_join(th, NULL);
}

/* The checkpointer (milt_pool.c): asleep until commits take the log past
 * its 1000 pages, then it copies the log back and the log starts over. */
static void
test_checkpointer(void)
{
	char err[512], id[64];
	store_errkind_t kind;
	store_t *st;
	bool ok = true;
	int i, tries;

	st = milt_pool_get(err, sizeof(err), &kind);
	T_OK(st != NULL, "a handle from the pool");
	for (i = 0; i < 4000 && ok; i++) {
		store_delta d = { .sd_ext = 1 };

		snprintf(id, sizeof(id), "ckpt%d@example.com", i);
		ok = store_begin(st, true, err, sizeof(err)) == 0 &&
		    store_counts_add(st, id, 1, &d, 0, err, sizeof(err)) == 0 &&
		    store_commit(st, err, sizeof(err)) == 0;
		if (!ok)
			store_rollback(st);
	}
	T_OK(ok, "4000 write transactions commit%s%s", ok ? "" : ": ",
	    ok ? "" : err);
	milt_pool_put(st, ok);
	for (tries = 0; tries < 500 && store_wal_frames() >= 1000; tries++)
		sleep_ms(20);
	T_OK(store_wal_frames() < 1000, "the checkpointer brought the log "
	    "back under 1000 pages: %u", store_wal_frames());
}

int
main(void)
{
	char err[512];
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, BUSY_MS);
	T_OK(st != NULL, "a fresh database");
	store_close(st);
	T_INTEQ(milt_pool_init(fx.fx_db, BUSY_MS, err, sizeof(err)), 0,
	    "the pool");
	T_INTEQ(milt_count_start(err, sizeof(err)), 0, "the writer starts");
	test_exact_under_contention(fx.fx_db);
	test_locked_then_recovers(fx.fx_db);
	test_mark();
	test_wait_unmarked();
	test_checkpointer();
	milt_count_stop(true);
	milt_pool_shutdown();
	fx_teardown(&fx);
	return t_done();
}
