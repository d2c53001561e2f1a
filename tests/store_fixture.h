/*
 * store_fixture.h - what the store tests share: a fresh temporary
 * directory per test (mkdtemp under $TMPDIR or /tmp, removed at the end),
 * raw SQLite access to build foreign or future databases and to look at
 * what store/ wrote, and short wrappers over store.h.  Header-only, for
 * tests/store_test.c and tests/store_records_test.c; single-threaded.
 */
#ifndef SENDGUARD_STORE_FIXTURE_H
#define SENDGUARD_STORE_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../store/store.h"
#include "t.h"

#define BUSY_MS		50	/* short busy timeout for contention tests */
#define NOW		1700000000	/* a pinned clock */

/* A temporary directory and the database path in it. */
typedef struct fixture {
	char	fx_dir[PATH_MAX];
	char	fx_db[PATH_MAX + 32];
} fixture;

__attribute__((unused))
static char errbuf[512];

/* fx_setup - make a fresh directory; the database is not created */
__attribute__((unused))
static void
fx_setup(fixture *fx)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(fx->fx_dir, sizeof(fx->fx_dir), "%s/store_test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx->fx_dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(fx->fx_db, sizeof(fx->fx_db), "%s/sendguard.db",
	    fx->fx_dir);
}

/* fx_teardown - remove the directory and whatever SQLite left in it */
__attribute__((unused))
static void
fx_teardown(fixture *fx)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(fx->fx_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", fx->fx_dir,
			    de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	if (rmdir(fx->fx_dir) != 0)
		perror(fx->fx_dir);
}

/* open_db - store_open with the given creation flag and busy timeout */
__attribute__((unused))
static store_t *
open_db(const char *path, bool create, int busy_ms)
{
	store_opts o = { .so_busy_timeout_ms = busy_ms, .so_create = create };
	store_t *st = NULL;

	errbuf[0] = '\0';
	if (store_open(path, &o, &st, errbuf, sizeof(errbuf)) != 0)
		return NULL;
	return st;
}

/* raw_exec - run SQL on the file through plain SQLite; 0 or SQLite's rc */
__attribute__((unused))
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		printf("# raw_exec: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

/* raw_int - the first column of the first row of sql, or -999 */
__attribute__((unused))
static long long
raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	long long v = -999;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		printf("# raw_int: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* raw_text - the first column of the first row of sql into buf */
__attribute__((unused))
static const char *
raw_text(const char *path, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;

	snprintf(buf, size, "(none)");
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_text(s, 0) != NULL)
		snprintf(buf, size, "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return buf;
}

/* restriction - a filled-in restriction of identity */
__attribute__((unused))
static store_restriction
restriction(const char *identity, int64_t created, bool has_expiry,
    int64_t expires)
{
	store_restriction r;

	memset(&r, 0, sizeof(r));
	snprintf(r.sr_identity, sizeof(r.sr_identity), "%s", identity);
	snprintf(r.sr_reason, sizeof(r.sr_reason),
	    "101 external recipients in an hour (limit 100)");
	snprintf(r.sr_limit, sizeof(r.sr_limit),
	    "external_recipients_per_hour");
	r.sr_limit_value = 100;
	r.sr_count = 101;
	r.sr_created_at = created;
	r.sr_has_expiry = has_expiry;
	r.sr_expires_at = has_expiry ? expires : 0;
	snprintf(r.sr_client_address, sizeof(r.sr_client_address),
	    "203.0.113.9");
	snprintf(r.sr_queue_id, sizeof(r.sr_queue_id), "4XyZ1abc");
	snprintf(r.sr_actor, sizeof(r.sr_actor), "sendguard");
	return r;
}

/* put - store_restriction_put that reports a failure */
__attribute__((unused))
static int
put(store_t *st, const store_restriction *r, store_event_kind kind)
{
	int rc = store_restriction_put(st, r, kind, errbuf, sizeof(errbuf));

	if (rc != 0)
		printf("# put: %s\n", t_vis(errbuf));
	return rc;
}

/* counts - store_counts_get, or all UINT32_MAX - 1 on failure */
__attribute__((unused))
static store_counts
counts(store_t *st, const char *identity, int64_t hour_from,
    int64_t day_from)
{
	store_counts c;

	if (store_counts_get(st, identity, hour_from, day_from, &c, errbuf,
	    sizeof(errbuf)) != 0) {
		printf("# counts: %s\n", t_vis(errbuf));
		c.sc_int_hour = c.sc_ext_hour = c.sc_day = UINT32_MAX - 1;
		c.sc_spam_hour = c.sc_spam_day = UINT32_MAX - 1;
	}
	return c;
}

/* add - store_counts_add of recipients, without pruning anything */
__attribute__((unused))
static int
add(store_t *st, const char *identity, int64_t bucket, uint32_t n_int,
    uint32_t n_ext)
{
	store_delta d = { n_int, n_ext, 0 };

	return store_counts_add(st, identity, bucket, &d, INT64_MIN,
	    errbuf, sizeof(errbuf));
}

/* add_spam - store_counts_add of n spam messages, pruning nothing */
__attribute__((unused))
static int
add_spam(store_t *st, const char *identity, int64_t bucket, uint32_t n)
{
	store_delta d = { 0, 0, n };

	return store_counts_add(st, identity, bucket, &d, INT64_MIN,
	    errbuf, sizeof(errbuf));
}

/* ms_since - milliseconds elapsed since t0 (monotonic) */
__attribute__((unused))
static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* ---- opening and versioning ---- */

#endif
