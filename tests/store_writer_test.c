/*
 * store_writer_test.c - the store's writers within one process: handles
 * with so_shared_writer writing through one shared connection under the
 * process's writer lock, and so_manual_checkpoint handles whose log is
 * copied back only by store_checkpoint().  Each test on a temporary
 * database (store_fixture.h); no timing beyond the busy timeout.
 */
#define _GNU_SOURCE	/* pthread_timedjoin_np */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_fixture.h"

/* open_opts - store_open with shared writer / manual checkpoint */
static store_t *
open_opts(const char *path, bool shared, bool manual)
{
	store_opts o = { .so_busy_timeout_ms = BUSY_MS, .so_create = true,
	    .so_shared_writer = shared, .so_manual_checkpoint = manual };
	store_t *st = NULL;

	errbuf[0] = '\0';
	if (store_open(path, &o, &st, errbuf, sizeof(errbuf)) != 0)
		return NULL;
	return st;
}

/* day - identity's day count as st sees it, or -1 */
static long
day(store_t *st, const char *identity)
{
	store_counts c;

	if (store_counts_get(st, identity, 0, 0, &c, errbuf,
	    sizeof(errbuf)) != 0)
		return -1;
	return (long)c.sc_day;
}

/* begin_add - begin a write transaction and add n, left open; 0 or -1 */
static int
begin_add(store_t *st, const char *identity, uint32_t n)
{
	if (store_begin(st, true, errbuf, sizeof(errbuf)) != 0)
		return -1;
	store_delta d = { .sd_ext = n };

	return store_counts_add(st, identity, 1, &d, 0, errbuf,
	    sizeof(errbuf));
}

/* txn_add - one write transaction adding n external recipients; 0 or -1 */
static int
txn_add(store_t *st, const char *identity, uint32_t n)
{
	if (begin_add(st, identity, n) != 0 ||
	    store_commit(st, errbuf, sizeof(errbuf)) != 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

static void
test_shared_writer_handles_see_each_others_commits_and_take_turns(void)
{
	const store_delta two = { .sd_ext = 2 };
	store_t *a, *b;
	fixture fx;

	fx_setup(&fx);
	a = open_opts(fx.fx_db, true, false);
	b = open_opts(fx.fx_db, true, false);
	T_OK(a != NULL && b != NULL, "two shared-writer handles");
	T_INTEQ(txn_add(a, "x@y", 3), 0, "A writes and commits");
	T_INTEQ(day(b, "x@y"), 3, "B reads A's commit at once");

	T_INTEQ(store_begin(a, true, errbuf, sizeof(errbuf)), 0,
	    "A begins a write transaction");
	T_INTEQ(store_begin(b, true, errbuf, sizeof(errbuf)), -1,
	    "B cannot begin one meanwhile");
	T_INTEQ(store_errkind(b), STORE_ERR_BUSY, "B's failure is BUSY");
	T_OK(strstr(errbuf, "busy timeout") != NULL,
	    "and says it waited for the busy timeout: %s", t_vis(errbuf));
	T_INTEQ(store_counts_add(a, "x@y", 1, &two, 0, errbuf,
	    sizeof(errbuf)), 0, "A adds 2");
	T_INTEQ(day(b, "x@y"), 3, "B does not see A's uncommitted write");
	T_INTEQ(store_commit(a, errbuf, sizeof(errbuf)), 0, "A commits");
	T_INTEQ(day(b, "x@y"), 5, "now B sees 5");

	T_INTEQ(begin_add(b, "x@y", 100), 0,
	    "after A's commit B begins a write transaction and adds 100");
	store_rollback(b);
	T_INTEQ(day(a, "x@y"), 5, "B's rollback discards its write");
	T_INTEQ(txn_add(a, "x@y", 1), 0,
	    "A writes again after B's rollback (the writer reopens)");
	T_INTEQ(day(b, "x@y"), 6, "6 in all");

	T_INTEQ(begin_add(b, "x@y", 50), 0,
	    "B begins a write transaction and adds 50");
	store_close(b);
	T_INTEQ(txn_add(a, "x@y", 1), 0,
	    "closing B mid-transaction frees the lock for A");
	T_INTEQ(day(a, "x@y"), 7, "and B's write was rolled back");
	T_INTEQ(raw_int(fx.fx_db, "SELECT sum(external) FROM counters"), 7,
	    "another program reads the same 7 from the file");
	store_close(a);
	fx_teardown(&fx);
}

static void
test_manual_checkpoint_leaves_the_log_to_store_checkpoint(void)
{
	store_t *st;
	unsigned left = 99, i;
	fixture fx;
	char id[32];
	bool ok = true;

	fx_setup(&fx);
	st = open_opts(fx.fx_db, true, true);
	T_OK(st != NULL, "a shared-writer handle with manual checkpoints");
	for (i = 0; i < 1500 && ok; i++) {
		snprintf(id, sizeof(id), "u%u@y", i);
		ok = txn_add(st, id, 1) == 0;
	}
	T_OK(ok, "1500 write transactions commit");
	T_OK(store_wal_frames() >= 1000, "no commit copied the log back: "
	    "%u pages in it", store_wal_frames());
	T_INTEQ(store_checkpoint(st, true, &left, errbuf, sizeof(errbuf)), 0,
	    "store_checkpoint with the writers held off");
	T_INTEQ(left, 0, "copies every page");
	T_INTEQ(store_wal_frames(), 0, "and the log counts as empty");
	T_INTEQ(txn_add(st, "after@y", 1), 0, "the next commit");
	T_OK(store_wal_frames() > 0 && store_wal_frames() < 20,
	    "starts the log over: %u pages", store_wal_frames());
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"), 1501,
	    "every row is there");
	T_INTEQ(store_checkpoint(st, false, &left, errbuf, sizeof(errbuf)), 0,
	    "a passive checkpoint beside the writers works too");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_checkpoint_gives_way_to_readers_and_writers(void)
{
	store_t *st, *w;
	sqlite3 *reader = NULL;
	unsigned left = 0, i;
	fixture fx;
	char id[32];
	bool ok = true;

	fx_setup(&fx);
	st = open_opts(fx.fx_db, true, true);
	w = open_opts(fx.fx_db, true, true);
	T_OK(st != NULL && w != NULL, "two handles with manual checkpoints");
	for (i = 0; i < 1200 && ok; i++) {
		snprintf(id, sizeof(id), "r%u@y", i);
		ok = txn_add(st, id, 1) == 0;
	}
	T_OK(ok && store_wal_frames() >= 1000, "a log of %u pages",
	    store_wal_frames());

	/* Another process's reader on an old snapshot (an admin's sqlite3,
	 * a backup): the checkpoint must not hold the writers while it
	 * waits for it, and must not call it an error. */
	T_OK(sqlite3_open(fx.fx_db, &reader) == SQLITE_OK &&
	    sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM counters;",
	    NULL, NULL, NULL) == SQLITE_OK, "a reader holds a snapshot");
	T_INTEQ(txn_add(st, "more@y", 1), 0, "a write after the snapshot");
	T_INTEQ(store_checkpoint(st, true, &left, errbuf, sizeof(errbuf)), 0,
	    "with the reader in the way, the checkpoint is not an error");
	T_OK(left > 0, "it says the log is not done: %u pages", left);
	T_INTEQ(txn_add(w, "writer@y", 1), 0,
	    "and the writers were let go: another handle commits");
	sqlite3_exec(reader, "COMMIT;", NULL, NULL, NULL);
	sqlite3_close(reader);

	/* A writer at work: the checkpoint does nothing rather than wait. */
	T_INTEQ(store_begin(w, true, errbuf, sizeof(errbuf)), 0,
	    "a writer opens a transaction");
	T_INTEQ(store_checkpoint(st, true, &left, errbuf, sizeof(errbuf)), 0,
	    "the checkpoint meanwhile returns at once");
	T_OK(left > 0, "and leaves the log for later: %u pages", left);
	T_INTEQ(store_commit(w, errbuf, sizeof(errbuf)), 0, "the writer commits");
	T_INTEQ(store_checkpoint(st, true, &left, errbuf, sizeof(errbuf)), 0,
	    "then the checkpoint runs");
	T_INTEQ(left, 0, "and copies every page");
	store_close(w);
	store_close(st);
	fx_teardown(&fx);
}

/* One store_wal_wait() in a thread of its own. */
typedef struct waiter {
	unsigned	w_pages;
	int		w_timeout_ms;
	atomic_bool	w_stop;
	unsigned	w_got;
} waiter;

static void *
wait_main(void *arg)
{
	waiter *w = arg;

	w->w_got = store_wal_wait(w->w_pages, w->w_timeout_ms, &w->w_stop);
	return NULL;
}

/* joined - whether t ends within 10 s (if not, it is left waiting) */
static bool
joined(pthread_t t)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	return pthread_timedjoin_np(t, NULL, &until) == 0;
}

static void
test_wal_wait_sleeps_until_the_log_grows_or_it_is_stopped(void)
{
	waiter w = { .w_pages = 200, .w_timeout_ms = -1 };
	store_t *st;
	unsigned left, i;
	pthread_t t;
	fixture fx;
	char id[32];
	bool ok = true;

	fx_setup(&fx);
	st = open_opts(fx.fx_db, true, true);
	T_OK(st != NULL, "a handle with manual checkpoints");
	T_INTEQ(store_checkpoint(st, true, &left, errbuf, sizeof(errbuf)), 0,
	    "the log starts empty");
	T_INTEQ(pthread_create(&t, NULL, wait_main, &w), 0,
	    "a waiter for 200 pages, with no time limit");
	for (i = 0; i < 2000 && ok && store_wal_frames() < 200; i++) {
		snprintf(id, sizeof(id), "w%u@y", i);
		ok = txn_add(st, id, 1) == 0;
	}
	T_OK(ok && store_wal_frames() >= 200, "commits take the log to %u "
	    "pages", store_wal_frames());
	T_OK(joined(t), "the commit that reaches 200 pages wakes the waiter");
	T_OK(w.w_got >= 200, "which sees the log's size: %u", w.w_got);

	T_INTEQ(store_wal_wait(UINT_MAX, 20, &w.w_stop), store_wal_frames(),
	    "a wait with a time limit ends with it");

	w.w_pages = UINT_MAX;
	T_INTEQ(pthread_create(&t, NULL, wait_main, &w), 0,
	    "a waiter for a size no commit reaches");
	T_INTEQ(txn_add(st, "more@y", 1), 0, "a commit below it");
	atomic_store(&w.w_stop, true);
	store_wal_wake();
	T_OK(joined(t), "the stop flag and store_wal_wake end the wait");
	store_close(st);
	fx_teardown(&fx);
}

int
main(void)
{
	test_shared_writer_handles_see_each_others_commits_and_take_turns();
	test_manual_checkpoint_leaves_the_log_to_store_checkpoint();
	test_checkpoint_gives_way_to_readers_and_writers();
	test_wal_wait_sleeps_until_the_log_grows_or_it_is_stopped();
	return t_done();
}
