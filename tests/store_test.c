/*
 * store_test.c - unit tests of store/: opening and versioning, restrictions
 * and their history, counter windows, transactions and lock contention.
 *
 * Every test gets a fresh temporary directory (mkdtemp under $TMPDIR or
 * /tmp) holding its database, removed at the end, so the tests are hermetic
 * and independent.  The tests use the SQLite API directly only to build
 * foreign or future databases and to look at what store/ wrote; the code
 * under test is reached through store.h alone.  Single-threaded; one test
 * forks processes that open a new database at the same time.
 */
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

static char errbuf[512];

/* fx_setup - make a fresh directory; the database is not created */
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
static int
put(store_t *st, const store_restriction *r, store_event_kind kind)
{
	int rc = store_restriction_put(st, r, kind, errbuf, sizeof(errbuf));

	if (rc != 0)
		printf("# put: %s\n", t_vis(errbuf));
	return rc;
}

/* counts - store_counts_get, or all UINT32_MAX - 1 on failure */
static store_counts
counts(store_t *st, const char *identity, int64_t hour_from,
    int64_t day_from)
{
	store_counts c;

	if (store_counts_get(st, identity, hour_from, day_from, &c, errbuf,
	    sizeof(errbuf)) != 0) {
		printf("# counts: %s\n", t_vis(errbuf));
		c.sc_int_hour = c.sc_ext_hour = c.sc_day = UINT32_MAX - 1;
	}
	return c;
}

/* add - store_counts_add without pruning anything */
static int
add(store_t *st, const char *identity, int64_t bucket, uint32_t n_int,
    uint32_t n_ext)
{
	return store_counts_add(st, identity, bucket, n_int, n_ext, INT64_MIN,
	    errbuf, sizeof(errbuf));
}

/* ms_since - milliseconds elapsed since t0 (monotonic) */
static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* ---- opening and versioning ---- */

static void
test_create_on_open_and_reopen_keeps_data(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	fixture fx;
	store_t *st;
	bool found = false;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st != NULL, "open with so_create creates the database");
	T_OK(access(fx.fx_db, F_OK) == 0, "the file exists after open");
	T_INTEQ(put(st, &r, STORE_EV_RESTRICTED), 0, "put on a new database");
	store_close(st);

	st = open_db(fx.fx_db, false, 1000);
	T_OK(st != NULL, "reopen without so_create");
	T_INTEQ(store_restriction_get(st, "alice@example.com", NOW + 1, &got,
	    &found, errbuf, sizeof(errbuf)), 0, "get after reopen");
	T_OK(found, "the restriction survived the reopen");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_schema_version_application_id_and_wal_are_set(void)
{
	char buf[64];
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st != NULL, "open a new database");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION, "user_version is STORE_SCHEMA_VERSION");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA application_id"), 0x53475244,
	    "application_id is 'SGRD'");
	T_STREQ(raw_text(fx.fx_db, "PRAGMA journal_mode", buf, sizeof(buf)),
	    "wal", "the database is in WAL mode");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table' AND name IN"
	    " ('restrictions', 'events', 'counters')"), 3,
	    "the three tables exist");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_missing_file_without_create_is_unavailable(void)
{
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, false, 1000);
	T_OK(st == NULL, "opening a missing file without so_create fails");
	T_INTEQ(store_errkind(NULL), STORE_ERR_UNAVAILABLE,
	    "the failure is UNAVAILABLE");
	T_OK(strstr(errbuf, "does not exist") != NULL &&
	    strstr(errbuf, fx.fx_db) != NULL,
	    "the message names the file and says it does not exist");
	printf("# %s\n", t_vis(errbuf));
	T_OK(access(fx.fx_db, F_OK) != 0, "no file was created");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_empty_file_without_create_is_unavailable(void)
{
	fixture fx;
	store_t *st;
	FILE *f;

	fx_setup(&fx);
	f = fopen(fx.fx_db, "w");
	if (f != NULL)
		fclose(f);
	st = open_db(fx.fx_db, false, 1000);
	T_OK(st == NULL, "an empty file is not initialised without so_create");
	T_INTEQ(store_errkind(NULL), STORE_ERR_UNAVAILABLE,
	    "the failure is UNAVAILABLE");
	store_close(st);
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st != NULL, "with so_create the empty file becomes a database");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_text_file_is_corrupt(void)
{
	fixture fx;
	store_t *st;
	FILE *f;

	fx_setup(&fx);
	f = fopen(fx.fx_db, "w");
	if (f != NULL) {
		for (int i = 0; i < 200; i++)
			fputs("this is a text file, not a database\n", f);
		fclose(f);
	}
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL, "opening a text file fails");
	T_INTEQ(store_errkind(NULL), STORE_ERR_CORRUPT,
	    "the failure is CORRUPT");
	T_OK(strstr(errbuf, "file is not a database") != NULL,
	    "the message says the file is not a database");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_foreign_database_is_not_a_sendguard_database(void)
{
	char buf[64];
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	raw_exec(fx.fx_db, "CREATE TABLE mailboxes (address TEXT);");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL, "a database with foreign tables is refused");
	T_INTEQ(store_errkind(NULL), STORE_ERR_SCHEMA,
	    "the failure is SCHEMA");
	T_OK(strstr(errbuf, "not a sendguard database") != NULL,
	    "the message says it is not a sendguard database");
	printf("# %s\n", t_vis(errbuf));
	T_STREQ(raw_text(fx.fx_db, "PRAGMA journal_mode", buf, sizeof(buf)),
	    "delete", "the foreign database was not switched to WAL");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM sqlite_master"), 1,
	    "nothing was added to the foreign database");
	store_close(st);
	fx_teardown(&fx);

	fx_setup(&fx);
	raw_exec(fx.fx_db, "PRAGMA application_id = 42;");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL && store_errkind(NULL) == STORE_ERR_SCHEMA &&
	    strstr(errbuf, "not a sendguard database") != NULL,
	    "a database of another application is refused as SCHEMA");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_newer_schema_version_is_refused(void)
{
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	store_close(open_db(fx.fx_db, true, 1000));
	raw_exec(fx.fx_db, "PRAGMA user_version = 99;");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL, "a database of schema version 99 is refused");
	T_INTEQ(store_errkind(NULL), STORE_ERR_SCHEMA,
	    "the failure is SCHEMA");
	T_OK(strstr(errbuf, "schema version 99 is newer than this sendguard "
	    "supports (1)") != NULL, "the message says the schema is newer");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_several_processes_create_one_new_database(void)
{
	enum { NPROC = 6 };
	int fds[2], i, ok = 0;
	pid_t pids[NPROC];
	fixture fx;

	fx_setup(&fx);
	/* children must not inherit and repeat buffered TAP lines */
	fflush(stdout);
	if (pipe(fds) != 0) {
		perror("pipe");
		exit(2);
	}
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char c;
			store_t *st;
			int rc;

			/* wait for the start: the parent closes the pipe */
			close(fds[1]);
			rc = (int)read(fds[0], &c, 1);
			(void)rc;
			st = open_db(fx.fx_db, true, 5000);
			if (st == NULL)
				printf("# child: %s\n", t_vis(errbuf));
			fflush(stdout);
			store_close(st);
			_exit(st != NULL ? 0 : 1);
		}
	}
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < NPROC; i++) {
		int status;

		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	T_INTEQ(ok, NPROC, "every process opening a new database succeeds");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table'"), 3, "the schema was created once");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION, "and has the current version");
	fx_teardown(&fx);
}

/* ---- restrictions ---- */

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
	bool found;
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
	fixture fx;
	store_t *st;
	int64_t i;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	for (i = 1; i <= 5; i++) {
		add(st, "a@x", i, 1, 0);
		add(st, "b@x", i, 1, 0);
	}
	T_INTEQ(store_counts_add(st, "a@x", 10, 1, 0, 4, errbuf,
	    sizeof(errbuf)), 0, "add with prune_before 4");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'a@x' AND bucket < 4"), 0,
	    "that identity's buckets before prune_before are gone");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'a@x'"), 3, "buckets 4, 5 and 10 are kept");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM counters"
	    " WHERE identity = 'b@x'"), 5, "another identity is untouched");
	T_INTEQ(store_counts_add(st, "b@x", 10, 0, 0, 3, errbuf,
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

static void
test_busy_writer_fails_busy_then_succeeds_after_commit(void)
{
	store_restriction got;
	struct timespec t0;
	store_t *a, *b;
	bool found;
	fixture fx;
	long ms;

	fx_setup(&fx);
	a = open_db(fx.fx_db, true, BUSY_MS);
	b = open_db(fx.fx_db, true, BUSY_MS);
	T_OK(a != NULL && b != NULL, "two handles on one database");
	T_INTEQ(store_begin(b, true, errbuf, sizeof(errbuf)), 0,
	    "handle B takes the write lock");
	add(b, "a@x", 1, 1, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_INTEQ(store_begin(a, true, errbuf, sizeof(errbuf)), -1,
	    "handle A cannot begin a write transaction");
	ms = ms_since(&t0);
	T_INTEQ(store_errkind(a), STORE_ERR_BUSY, "the failure is BUSY");
	printf("# %s (after %ld ms)\n", t_vis(errbuf), ms);
	T_OK(ms >= BUSY_MS - 5, "A waited for its busy timeout");
	T_INTEQ(store_counts_add(a, "a@x", 1, 1, 0, 0, errbuf,
	    sizeof(errbuf)), -1, "a write without a transaction fails too");
	T_INTEQ(store_errkind(a), STORE_ERR_BUSY, "also BUSY");
	T_INTEQ(store_restriction_get(a, "a@x", NOW, &got, &found, errbuf,
	    sizeof(errbuf)), 0, "but A can read (WAL)");
	T_INTEQ(counts(a, "a@x", 0, 0).sc_day, 0,
	    "and does not see B's uncommitted count");

	T_INTEQ(store_commit(b, errbuf, sizeof(errbuf)), 0, "B commits");
	T_INTEQ(store_begin(a, true, errbuf, sizeof(errbuf)), 0,
	    "now A can begin a write transaction");
	T_INTEQ(store_errkind(a), STORE_ERR_NONE, "the error kind is cleared");
	T_INTEQ(add(a, "a@x", 1, 1, 0), 0, "A writes");
	T_INTEQ(store_commit(a, errbuf, sizeof(errbuf)), 0, "A commits");
	T_INTEQ(counts(b, "a@x", 0, 0).sc_day, 2, "both writes are there");
	store_close(a);
	store_close(b);
	fx_teardown(&fx);
}

static void
test_rollback_discards_and_is_a_no_op_without_a_transaction(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	bool found = true;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_INTEQ(add(st, "keep@example.com", 1, 1, 0), 0,
	    "a write in autocommit mode");
	store_rollback(st);
	{
		store_counts kc;

		T_OK(store_counts_get(st, "keep@example.com", 0, 0, &kc, errbuf,
		    sizeof(errbuf)) == 0 && kc.sc_int_hour == 1,
		    "rollback without a transaction is a no-op: the write stays");
	}
	T_INTEQ(store_begin(st, true, errbuf, sizeof(errbuf)), 0,
	    "begin a write transaction");
	T_INTEQ(put(st, &r, STORE_EV_RESTRICTED), 0, "put inside it");
	T_INTEQ(add(st, "alice@example.com", 1, 3, 3), 0, "add inside it");
	store_restriction_get(st, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(found, "the transaction sees its own write");
	store_rollback(st);
	store_restriction_get(st, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(!found, "the rollback discarded the restriction");
	T_INTEQ(counts(st, "alice@example.com", 0, 0).sc_day, 0,
	    "and the counts");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events"), 0,
	    "and the event");
	store_rollback(st);
	T_INTEQ(store_begin(st, false, errbuf, sizeof(errbuf)), 0,
	    "a read transaction can begin after it");
	T_INTEQ(store_commit(st, errbuf, sizeof(errbuf)), 0,
	    "and commit");
	T_INTEQ(store_commit(st, errbuf, sizeof(errbuf)), -1,
	    "commit without a transaction fails");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_a_commit_is_visible_to_another_handle_at_once(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	store_t *a, *b;
	bool found;
	fixture fx;

	fx_setup(&fx);
	a = open_db(fx.fx_db, true, 1000);
	b = open_db(fx.fx_db, true, 1000);
	store_restriction_get(b, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(!found, "B reads: no restriction yet");
	T_INTEQ(counts(b, "alice@example.com", 0, 0).sc_day, 0,
	    "B reads: no counts yet");
	put(a, &r, STORE_EV_RESTRICTED);
	add(a, "alice@example.com", 1, 2, 3);
	store_restriction_get(b, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(found, "B sees A's restriction at once");
	T_INTEQ(counts(b, "alice@example.com", 0, 0).sc_day, 5,
	    "B sees A's counts at once");
	store_close(a);
	store_close(b);
	fx_teardown(&fx);
}

static void
test_close_rolls_back_an_open_transaction(void)
{
	fixture fx;
	store_t *a, *b;

	fx_setup(&fx);
	a = open_db(fx.fx_db, true, BUSY_MS);
	b = open_db(fx.fx_db, true, BUSY_MS);
	store_begin(a, true, errbuf, sizeof(errbuf));
	add(a, "a@x", 1, 1, 1);
	store_close(a);
	T_INTEQ(store_begin(b, true, errbuf, sizeof(errbuf)), 0,
	    "closing a handle releases its write lock");
	T_INTEQ(counts(b, "a@x", 0, 0).sc_day, 0,
	    "and discards its uncommitted writes");
	store_rollback(b);
	store_close(b);
	store_close(NULL);
	fx_teardown(&fx);
}

int
main(void)
{
	test_create_on_open_and_reopen_keeps_data();
	test_schema_version_application_id_and_wal_are_set();
	test_missing_file_without_create_is_unavailable();
	test_empty_file_without_create_is_unavailable();
	test_text_file_is_corrupt();
	test_foreign_database_is_not_a_sendguard_database();
	test_newer_schema_version_is_refused();
	test_several_processes_create_one_new_database();
	test_restriction_round_trip_with_and_without_expiry();
	test_put_replaces_a_restriction_and_logs_each_event();
	test_expired_restriction_is_not_returned_and_expire_logs_it();
	test_expire_is_bounded_by_max_and_by_identity();
	test_clear_resets_counters_and_reports_found();
	test_overlong_strings_in_the_database_are_truncated_on_read();
	test_event_add_appends_an_alert();
	test_counts_windows_start_at_their_first_bucket();
	test_counts_saturate_at_uint32_max();
	test_add_prunes_old_buckets_of_that_identity_only();
	test_counts_prune_is_bounded_by_max();
	test_busy_writer_fails_busy_then_succeeds_after_commit();
	test_rollback_discards_and_is_a_no_op_without_a_transaction();
	test_a_commit_is_visible_to_another_handle_at_once();
	test_close_rolls_back_an_open_transaction();
	return t_done();
}
