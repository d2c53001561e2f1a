/*
 * milt_sweep.c - housekeeping in a thread of its own: restrictions that
 * ran out become "expired" history, counter rows older than the day
 * window are pruned.
 *
 * It runs at start-up and then every MILT_SWEEP_SECONDS, in batches of at
 * most MILT_SWEEP_ROWS rows, each batch its own short transaction, so a
 * milter thread waits at most one small batch for the write lock and no
 * message ever pays for the housekeeping.  A failure is logged and retried
 * at the next round.  The thread borrows a store handle from the pool like
 * any callback.  milt_sweep_stop wakes it and joins it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "milt.h"
#include "milt_daemon.h"

#define MILT_SWEEP_SECONDS	60	/* between rounds */
#define MILT_SWEEP_ROWS		200	/* per batch (one transaction) */
#define MILT_SWEEP_BATCHES	50	/* per round, at most */

static pthread_mutex_t milt_sweep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t milt_sweep_cond;
static bool milt_sweep_stopping;	/* guarded by the lock */
static pthread_t milt_sweep_tid;
static bool milt_sweep_running;

/* sweep_batch - one batch of each kind; *more if either filled up */
static int
sweep_batch(store_t *st, int64_t now, unsigned *expired, unsigned *pruned,
    bool *more, char *err, size_t errlen)
{
	unsigned e = 0, p = 0;

	if (store_begin(st, true, err, errlen) != 0)
		return -1;
	if (store_expire(st, NULL, now, MILT_SWEEP_ROWS, &e, err, errlen) != 0 ||
	    store_commit(st, err, errlen) != 0) {
		store_rollback(st);
		return -1;
	}
	/* One DELETE ... LIMIT: a transaction of its own. */
	if (store_counts_prune(st, pol_window_start(now, POL_DAY_BUCKETS),
	    MILT_SWEEP_ROWS, &p, err, errlen) != 0)
		return -1;
	*expired += e;
	*pruned += p;
	*more = e == MILT_SWEEP_ROWS || p == MILT_SWEEP_ROWS;
	return 0;
}

/* sweep_round - batches until done, stopped or MILT_SWEEP_BATCHES */
static void
sweep_round(void)
{
	char err[512];
	unsigned expired = 0, pruned = 0, i;
	store_errkind_t kind;
	store_t *st;
	bool more = true, stopping = false, ok = true;

	for (i = 0; more && !stopping && i < MILT_SWEEP_BATCHES; i++) {
		if ((st = milt_pool_get(err, sizeof(err), &kind)) == NULL) {
			ok = false;
			break;
		}
		ok = sweep_batch(st, (int64_t)time(NULL), &expired, &pruned,
		    &more, err, sizeof(err)) == 0;
		milt_pool_put(st, ok);
		if (!ok)
			break;
		pthread_mutex_lock(&milt_sweep_lock);
		stopping = milt_sweep_stopping;
		pthread_mutex_unlock(&milt_sweep_lock);
	}
	if (expired > 0 || pruned > 0)
		milt_log(LOG_INFO, "housekeeping: %u restriction(s) expired, %u "
		    "old counter row(s) pruned", expired, pruned);
	if (!ok)
		milt_log(LOG_WARNING, "housekeeping: %s; will retry", err);
}

/* sweep_thread - a round now, then one every MILT_SWEEP_SECONDS */
static void *
sweep_thread(void *arg)
{
	struct timespec next;

	(void)arg;
	for (;;) {
		sweep_round();
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += MILT_SWEEP_SECONDS;
		pthread_mutex_lock(&milt_sweep_lock);
		while (!milt_sweep_stopping &&
		    pthread_cond_timedwait(&milt_sweep_cond, &milt_sweep_lock,
		    &next) != ETIMEDOUT)
			;
		if (milt_sweep_stopping) {
			pthread_mutex_unlock(&milt_sweep_lock);
			return NULL;
		}
		pthread_mutex_unlock(&milt_sweep_lock);
	}
}

int
milt_sweep_start(char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int e;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&milt_sweep_cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((e = pthread_create(&milt_sweep_tid, NULL, sweep_thread, NULL))
	    != 0) {
		snprintf(err, errlen, "cannot start the housekeeping thread: %s",
		    strerror(e));
		return -1;
	}
	milt_sweep_running = true;
	return 0;
}

void
milt_sweep_stop(void)
{
	if (!milt_sweep_running)
		return;
	pthread_mutex_lock(&milt_sweep_lock);
	milt_sweep_stopping = true;
	pthread_cond_signal(&milt_sweep_cond);
	pthread_mutex_unlock(&milt_sweep_lock);
	pthread_join(milt_sweep_tid, NULL);
	milt_sweep_running = false;
}
