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
 * Thread-safe: one mutex guards the idle stack and the path.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milt.h"

#define MILT_POOL_KEEP		32

static pthread_mutex_t milt_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static store_t *milt_pool_idle[MILT_POOL_KEEP];
static size_t milt_pool_nidle;
static char milt_pool_path[4096];
static int milt_pool_busy_ms;

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

store_t *
milt_pool_get(char *err, size_t errlen, store_errkind_t *kind)
{
	store_opts opts = { .so_create = false };
	char path[sizeof(milt_pool_path)];
	store_t *st = NULL;

	pthread_mutex_lock(&milt_pool_lock);
	while (st == NULL && milt_pool_nidle > 0) {
		st = milt_pool_idle[--milt_pool_nidle];
		if (store_file_moved(st)) {
			store_close(st);
			st = NULL;
		}
	}
	memcpy(path, milt_pool_path, sizeof(path));
	opts.so_busy_timeout_ms = milt_pool_busy_ms;
	pthread_mutex_unlock(&milt_pool_lock);
	if (st != NULL)
		return st;

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
	if (healthy) {
		pthread_mutex_lock(&milt_pool_lock);
		if (milt_pool_nidle < MILT_POOL_KEEP) {
			milt_pool_idle[milt_pool_nidle++] = st;
			st = NULL;
		}
		pthread_mutex_unlock(&milt_pool_lock);
	}
	store_close(st);
}

void
milt_pool_shutdown(void)
{
	pthread_mutex_lock(&milt_pool_lock);
	while (milt_pool_nidle > 0)
		store_close(milt_pool_idle[--milt_pool_nidle]);
	pthread_mutex_unlock(&milt_pool_lock);
}
