/*
 * store_wal.c - the write-ahead log's size, as this process's commits
 * leave it, for the milter's checkpointer.
 *
 * Handles opened with so_manual_checkpoint never checkpoint at commit
 * (store.c); their commits report the log's size here (store_wal_hook,
 * SQLite's WAL hook).  store_wal_wait() lets one thread sleep until a
 * commit takes the log past a size, so a checkpointer costs nothing while
 * the database is quiet instead of looking at the size every few
 * milliseconds.
 *
 * Thread-safe: the size is an atomic; the one waiter and the commits that
 * wake it meet under store_wal_lock.  Never logs or exits.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "store_int.h"

/* The log's size after the last commit of a manual-checkpoint handle. */
static atomic_uint store_wal_seen;
/* The waiter: the size it waits for (UINT_MAX: none), and the lock and
 * condition a commit that reaches it signals. */
static atomic_uint store_wal_want = UINT_MAX;
static pthread_mutex_t store_wal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t store_wal_cond;
static pthread_once_t store_wal_once = PTHREAD_ONCE_INIT;

int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)arg;
	(void)db;
	(void)name;
	atomic_store(&store_wal_seen, frames > 0 ? (unsigned)frames : 0);
	/* Both sequentially consistent: either the waiter sees this size,
	 * or this commit sees what it waits for and wakes it. */
	if (frames > 0 && (unsigned)frames >= atomic_load(&store_wal_want)) {
		pthread_mutex_lock(&store_wal_lock);
		pthread_cond_broadcast(&store_wal_cond);
		pthread_mutex_unlock(&store_wal_lock);
	}
	return SQLITE_OK;
}

void
store_wal_emptied(void)
{
	atomic_store(&store_wal_seen, 0);
}

unsigned
store_wal_frames(void)
{
	return atomic_load(&store_wal_seen);
}

/* wal_cond_init - a monotonic clock for the waits, once */
static void
wal_cond_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&store_wal_cond, &a);
	pthread_condattr_destroy(&a);
}

unsigned
store_wal_wait(unsigned pages, int timeout_ms, const atomic_bool *stop)
{
	struct timespec until;

	(void)pthread_once(&store_wal_once, wal_cond_init);
	if (timeout_ms >= 0)
		store_deadline_after(timeout_ms, &until);
	pthread_mutex_lock(&store_wal_lock);
	atomic_store(&store_wal_want, pages);
	while (atomic_load(&store_wal_seen) < pages && !atomic_load(stop))
		if (timeout_ms < 0)
			pthread_cond_wait(&store_wal_cond, &store_wal_lock);
		else if (pthread_cond_timedwait(&store_wal_cond,
		    &store_wal_lock, &until) == ETIMEDOUT)
			break;
	atomic_store(&store_wal_want, UINT_MAX);
	pthread_mutex_unlock(&store_wal_lock);
	return atomic_load(&store_wal_seen);
}

void
store_wal_wake(void)
{
	(void)pthread_once(&store_wal_once, wal_cond_init);
	pthread_mutex_lock(&store_wal_lock);
	pthread_cond_broadcast(&store_wal_cond);
	pthread_mutex_unlock(&store_wal_lock);
}
