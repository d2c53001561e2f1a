/*
 * milt_pool.c - a pool of store handles for libmilter's threads (and the
 * housekeeping thread, milt_sweep.c).
 *
 * An SQLite connection must be used by one thread at a time; opening one
 * per message would cost a schema check each time.  So idle handles wait
 * here and a callback borrows one for the few statements it runs.  The
 * pool grows on demand (up to the number of concurrent callbacks) and keeps
 * at most MILT_POOL_KEEP idle handles.  A handle that saw an error is
 * closed rather than returned, and so is one whose file was deleted or
 * replaced: the next message reopens the database, so a file restored by
 * the admin is picked up.  The database is created at start-up only; a
 * file that disappears later is a store error (on_store_error), never a
 * fresh empty database that would forget every restriction.
 *
 * Checkpoints: the pool's handles do not copy the write-ahead log back
 * into the database at commit (SQLite's default, every 1000 pages), which
 * made one message in a thousand wait for the copy and its fsync while
 * holding the write lock: a stall of every message in flight, up to a
 * second and a half on a busy disk.  A checkpointer thread with a handle
 * of its own does it instead: when the log passes MILT_CKPT_PAGES, a
 * passive checkpoint beside the writers, then a short one that holds them
 * off for the last pages, so the log starts over and stays bounded.
 *
 * Each thread keeps the handle it last gave back (a thread-specific slot,
 * returned to the idle stack when the thread ends), so a message takes no
 * lock to borrow one.  libmilter's worker pool may run a connection's
 * callbacks on different threads; that is fine because no transaction
 * spans two callbacks (a handle goes back idle at the end of each).  The
 * moved-file check runs outside the lock.
 *
 * Thread-safe: one mutex guards the idle stack and the path.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milt.h"

#define MILT_POOL_KEEP		32
#define MILT_CKPT_PAGES		1000	/* checkpoint past this many log pages */
#define MILT_CKPT_RETRY_MS	20	/* first wait after a checkpoint not done */
#define MILT_CKPT_BACKOFF_MS	2000	/* at most, while readers are in the way */
#define MILT_CKPT_LOG_SECONDS	60	/* at most one failure logged a minute */

static pthread_mutex_t milt_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static store_t *milt_pool_idle[MILT_POOL_KEEP];
static size_t milt_pool_nidle;
static char milt_pool_path[4096];
static atomic_int milt_pool_busy_ms;	/* busy_timeout_ms, reloadable */

static pthread_once_t milt_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t milt_pool_key;	/* this thread's spare handle */
static bool milt_pool_key_ok;

static pthread_once_t milt_ckpt_once = PTHREAD_ONCE_INIT;
static pthread_t milt_ckpt_thread;
static atomic_bool milt_ckpt_running;
static atomic_bool milt_ckpt_stop;

/* ckpt_open - the checkpointer's own handle, or NULL with err */
static store_t *
ckpt_open(char *err, size_t errlen)
{
	store_opts opts = { .so_create = false, .so_manual_checkpoint = true };
	char path[sizeof(milt_pool_path)];
	store_t *st = NULL;

	pthread_mutex_lock(&milt_pool_lock);
	memcpy(path, milt_pool_path, sizeof(path));
	opts.so_busy_timeout_ms = milt_pool_busy_ms;
	pthread_mutex_unlock(&milt_pool_lock);
	if (store_open(path, &opts, &st, err, errlen) != 0)
		return NULL;
	return st;
}

/* next_backoff - the wait before the next try: doubled, from
 * MILT_CKPT_RETRY_MS up to MILT_CKPT_BACKOFF_MS */
static unsigned
next_backoff(unsigned ms)
{
	if (ms == 0)
		return MILT_CKPT_RETRY_MS;
	return 2 * ms < MILT_CKPT_BACKOFF_MS ? 2 * ms : MILT_CKPT_BACKOFF_MS;
}

/* ckpt_main - the checkpointer: asleep until a commit leaves the log past
 * MILT_CKPT_PAGES, then copy it back */
static void *
ckpt_main(void *arg)
{
	time_t last_log = 0;
	store_t *st = NULL;
	char err[512];
	unsigned left, backoff_ms = 0;

	(void)arg;
	while (!atomic_load(&milt_ckpt_stop)) {
		/* Not done last time (another process's reader, a writer at
		 * work): wait longer each time, up to MILT_CKPT_BACKOFF_MS,
		 * so that readers are not met with a stall at every commit. */
		if (backoff_ms > 0)
			(void)store_wal_wait(UINT_MAX, (int)backoff_ms,
			    &milt_ckpt_stop);
		else
			(void)store_wal_wait(MILT_CKPT_PAGES, -1,
			    &milt_ckpt_stop);
		if (atomic_load(&milt_ckpt_stop))
			break;
		if (store_wal_frames() < MILT_CKPT_PAGES) {
			backoff_ms = 0;
			continue;
		}
		if (st != NULL && store_file_moved(st)) {
			store_close(st);
			st = NULL;
		}
		if (st == NULL && (st = ckpt_open(err, sizeof(err))) == NULL)
			goto failed;
		store_set_busy_timeout(st, atomic_load(&milt_pool_busy_ms));
		if (store_checkpoint(st, false, &left, err, sizeof(err)) != 0 ||
		    store_checkpoint(st, true, &left, err, sizeof(err)) != 0) {
			store_close(st);
			st = NULL;
			goto failed;
		}
		backoff_ms = left == 0 ? 0 : next_backoff(backoff_ms);
		continue;
failed:
		backoff_ms = next_backoff(backoff_ms);
		if (time(NULL) - last_log >= MILT_CKPT_LOG_SECONDS) {
			last_log = time(NULL);
			milt_log(LOG_WARNING, "checkpoint of the database log: "
			    "%s; will retry", err);
		}
	}
	store_close(st);
	return NULL;
}

/* ckpt_start - start the checkpointer once, from the first message (not
 * at start-up: daemon(3) forks, and threads do not survive a fork) */
static void
ckpt_start(void)
{
	if (pthread_create(&milt_ckpt_thread, NULL, ckpt_main, NULL) == 0)
		atomic_store(&milt_ckpt_running, true);
	else
		milt_log(LOG_WARNING, "cannot start the checkpointer thread; "
		    "the database log grows until sendguard restarts");
}

int
milt_pool_init(const char *path, int busy_timeout_ms, char *err, size_t errlen)
{
	if (strlen(path) >= sizeof(milt_pool_path)) {
		snprintf(err, errlen, "%s: database path too long", path);
		return -1;
	}
	pthread_mutex_lock(&milt_pool_lock);
	memcpy(milt_pool_path, path, strlen(path) + 1);
	milt_pool_busy_ms = busy_timeout_ms;
	pthread_mutex_unlock(&milt_pool_lock);
	return 0;
}

/* shared_put - onto the idle stack, or closed if it is full */
static void
shared_put(store_t *st)
{
	pthread_mutex_lock(&milt_pool_lock);
	if (milt_pool_nidle < MILT_POOL_KEEP) {
		milt_pool_idle[milt_pool_nidle++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&milt_pool_lock);
	store_close(st);
}

/* thread_exit - a thread ends: its spare handle goes back to the stack */
static void
thread_exit(void *st)
{
	shared_put(st);
}

/* key_make - the thread-specific slot, once */
static void
key_make(void)
{
	milt_pool_key_ok = pthread_key_create(&milt_pool_key, thread_exit) == 0;
}

store_t *
milt_pool_get(char *err, size_t errlen, store_errkind_t *kind)
{
	store_opts opts = { .so_create = false, .so_manual_checkpoint = true,
	    .so_shared_writer = true };
	char path[sizeof(milt_pool_path)];
	store_t *st = NULL;

	(void)pthread_once(&milt_ckpt_once, ckpt_start);
	(void)pthread_once(&milt_key_once, key_make);
	if (milt_pool_key_ok &&
	    (st = pthread_getspecific(milt_pool_key)) != NULL)
		(void)pthread_setspecific(milt_pool_key, NULL);
	for (;;) {
		if (st != NULL && !store_file_moved(st)) {
			/* a reload may have changed it since st was opened */
			store_set_busy_timeout(st,
			    atomic_load(&milt_pool_busy_ms));
			return st;
		}
		store_close(st);
		st = NULL;
		pthread_mutex_lock(&milt_pool_lock);
		if (milt_pool_nidle > 0)
			st = milt_pool_idle[--milt_pool_nidle];
		pthread_mutex_unlock(&milt_pool_lock);
		if (st == NULL)
			break;
	}

	pthread_mutex_lock(&milt_pool_lock);
	memcpy(path, milt_pool_path, sizeof(path));
	opts.so_busy_timeout_ms = milt_pool_busy_ms;
	pthread_mutex_unlock(&milt_pool_lock);
	if (path[0] == '\0') {
		snprintf(err, errlen, "no database configured");
		*kind = STORE_ERR_INTERNAL;
		return NULL;
	}
	if (store_open(path, &opts, &st, err, errlen) != 0) {
		*kind = store_errkind(NULL);	/* this thread's open failure */
		return NULL;
	}
	return st;
}

void
milt_pool_put(store_t *st, bool healthy)
{
	if (st == NULL)
		return;
	/* One left in a transaction would hold the writers' lock: close it
	 * (rolled back) rather than lend it again. */
	if (!healthy || !store_idle(st)) {
		store_close(st);
		return;
	}
	if (milt_pool_key_ok && pthread_getspecific(milt_pool_key) == NULL &&
	    pthread_setspecific(milt_pool_key, st) == 0)
		return;
	shared_put(st);
}

void
milt_pool_shutdown(void)
{
	if (atomic_load(&milt_ckpt_running)) {
		atomic_store(&milt_ckpt_stop, true);
		store_wal_wake();
		pthread_join(milt_ckpt_thread, NULL);
	}
	pthread_mutex_lock(&milt_pool_lock);
	while (milt_pool_nidle > 0)
		store_close(milt_pool_idle[--milt_pool_nidle]);
	pthread_mutex_unlock(&milt_pool_lock);
	store_shutdown();
}
