/*
 * store.c - a sendguard store handle: opening and closing it, the
 * statements it keeps prepared, transactions, and the error, binding and
 * atomicity helpers that store_records.c (restrictions, events, counters)
 * is written with.  store_schema.c creates and checks the schema.
 *
 * store/ is the only code that includes <sqlite3.h> (see STYLE.md).  Every
 * statement is prepared once per handle at store_open() and cached in the
 * store_t (the milter runs several per message); each use binds, steps and
 * resets it, so no statement holds a read snapshot between calls and a
 * handle sees other handles' commits at once.
 *
 * Errors: public functions return 0 or -1 with "what failed: sqlite's
 * message" in the caller's buffer, and record the kind for store_errkind().
 * store_open() fails before there is a handle, so the kind of the calling
 * thread's last store_open() failure is kept in a thread-local variable and
 * returned by store_errkind(NULL).  Nothing here logs, exits or decides.
 *
 * Thread safety: a store_t is used by one thread at a time.  It is one
 * connection (opened SQLITE_OPEN_NOMUTEX), plus, with so_shared_writer,
 * the process's writer connection during its write transactions.  The schema is in store/SCHEMA.md.
 *
 * Writers of one process take store_wlock before BEGIN IMMEDIATE and drop
 * it when the transaction ends.  SQLite's own lock still orders processes,
 * but its busy handler polls with sleeps of 1 to 100 ms: with several
 * threads of one milter contending for every message, they slept far more
 * than they worked.  A mutex hands the lock over on release instead.
 * Handles opened with so_shared_writer also share one connection for their
 * write transactions (store_writer, guarded by that mutex): with a
 * connection per handle, every commit by one emptied the page cache of all
 * the others, and each write transaction began by reading its pages back
 * (about four pread(2) per message); the single writer keeps them warm.
 * Handles opened with so_manual_checkpoint leave checkpoints to
 * store_checkpoint(), so a commit never pays for copying the log back and
 * its fsync; their commits report the log's size to store_wal.c.
 */
#define _GNU_SOURCE	/* pthread_mutex_clocklock (glibc 2.30) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/* The facts of a restriction, in the order the statements read them. */
#define RESTR_COLUMNS \
	"identity, reason, limit_name, limit_value, count, created_at, " \
	"expires_at, client_address, queue_id, actor"

/* Columns of events a statement fills, and the same facts from a
 * restriction row: an EXPIRED event happens at its expires_at. */
#define EVENT_COLUMNS \
	"at, kind, identity, reason, limit_name, limit_value, count, " \
	"expires_at, client_address, queue_id, actor"
#define EXPIRED_FROM_RESTR \
	"expires_at, 'expired', identity, reason, limit_name, limit_value, " \
	"count, expires_at, client_address, queue_id, actor"

/* The SQL of each statement, indexed by enum store_stmt (store_int.h). */
static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN_READ] = "BEGIN DEFERRED",
	[S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* makes one call atomic inside a transaction the caller opened */
	[S_SAVEPOINT] = "SAVEPOINT store_op",
	[S_RELEASE] = "RELEASE store_op",
	[S_ROLLBACK_TO] = "ROLLBACK TO store_op",

	[S_RESTR_LOOKUP] =
	    "SELECT " RESTR_COLUMNS " FROM restrictions WHERE identity = ?1",
	[S_RESTR_PUT] =
	    "INSERT OR REPLACE INTO restrictions (" RESTR_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_RESTR_DEL] =
	    "DELETE FROM restrictions WHERE identity = ?1",

	[S_EVENT_ADD] =
	    "INSERT INTO events (" EVENT_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	/* the UNBLOCKED event keeps the facts of what it cleared */
	[S_CLEAR_EVENT] =
	    "INSERT INTO events (" EVENT_COLUMNS ")"
	    " SELECT ?2, 'unblocked', identity, ?4, limit_name, limit_value,"
	    " count, expires_at, client_address, queue_id, ?3"
	    " FROM restrictions"
	    " WHERE identity = ?1 AND (expires_at IS NULL OR expires_at > ?2)",

	/* A restriction that runs out forgives the counts from before its
	 * end, as an unblock does (bucket = time / 60, SCHEMA.md); run
	 * before the restriction row goes.  No such row: NULL, nothing. */
	[S_EXPIRE_ONE_COUNTS] =
	    "DELETE FROM counters WHERE identity = ?1 AND bucket <"
	    " (SELECT expires_at / 60 FROM restrictions"
	    "  WHERE identity = ?1 AND expires_at <= ?2)",
	[S_EXPIRE_ONE_EVENT] =
	    "INSERT INTO events (" EVENT_COLUMNS ")"
	    " SELECT " EXPIRED_FROM_RESTR " FROM restrictions"
	    " WHERE identity = ?1 AND expires_at <= ?2",
	[S_EXPIRE_ONE_DEL] =
	    "DELETE FROM restrictions"
	    " WHERE identity = ?1 AND expires_at <= ?2",
	/*
	 * The three below must pick the same rows: same predicate, a total
	 * order (identity is the key) and one transaction around them.
	 */
	[S_EXPIRE_ALL_COUNTS] =
	    "DELETE FROM counters WHERE identity IN"
	    " (SELECT identity FROM restrictions WHERE expires_at <= ?1"
	    "  ORDER BY expires_at, identity LIMIT ?2)"
	    " AND bucket < (SELECT expires_at / 60 FROM restrictions r"
	    "  WHERE r.identity = counters.identity)",
	[S_EXPIRE_ALL_EVENT] =
	    "INSERT INTO events (" EVENT_COLUMNS ")"
	    " SELECT " EXPIRED_FROM_RESTR " FROM restrictions"
	    " WHERE expires_at <= ?1 ORDER BY expires_at, identity LIMIT ?2",
	[S_EXPIRE_ALL_DEL] =
	    "DELETE FROM restrictions WHERE identity IN"
	    " (SELECT identity FROM restrictions WHERE expires_at <= ?1"
	    "  ORDER BY expires_at, identity LIMIT ?2)",

	/* ?4 = min(hour_from, day_from), so the key range does the work */
	[S_COUNTS_GET] =
	    "SELECT"
	    " coalesce(sum(CASE WHEN bucket >= ?2 THEN internal END), 0),"
	    " coalesce(sum(CASE WHEN bucket >= ?2 THEN external END), 0),"
	    " coalesce(sum(CASE WHEN bucket >= ?3"
	    "  THEN internal + external END), 0),"
	    " coalesce(sum(CASE WHEN bucket >= ?2 THEN spam END), 0),"
	    " coalesce(sum(CASE WHEN bucket >= ?3 THEN spam END), 0)"
	    " FROM counters WHERE identity = ?1 AND bucket >= ?4",
	[S_COUNTS_ADD] =
	    "INSERT INTO counters (identity, bucket, internal, external, spam)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (identity, bucket) DO UPDATE SET"
	    " internal = min(internal + excluded.internal, 4294967295),"
	    " external = min(external + excluded.external, 4294967295),"
	    " spam = min(spam + excluded.spam, 4294967295)",
	[S_COUNTS_PRUNE_ID] =
	    "DELETE FROM counters WHERE identity = ?1 AND bucket < ?2",
	[S_COUNTS_DEL_ID] =
	    "DELETE FROM counters WHERE identity = ?1",
	/* DELETE ... LIMIT is a compile-time option: bound it by a subquery */
	[S_COUNTS_PRUNE] =
	    "DELETE FROM counters WHERE (identity, bucket) IN"
	    " (SELECT identity, bucket FROM counters WHERE bucket < ?1"
	    "  ORDER BY bucket LIMIT ?2)",
};

/* The kind of this thread's last store_open() failure. */
static _Thread_local store_errkind_t open_errkind;

/* One writer at a time in this process (see the top of the file). */
static pthread_mutex_t store_wlock = PTHREAD_MUTEX_INITIALIZER;
/* The so_shared_writer handles' write connection; under store_wlock. */
static store_t *store_writer;
/* How long a RESTART checkpoint, which holds this process's writers off,
 * waits for another process's readers before it gives up for now. */
#define STORE_CKPT_BUSY_MS	20

/* ---- the writer lock ---- */

void
store_deadline_after(int ms, struct timespec *until)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* wlock_take - queue for the process's writer lock, up to the busy
 * timeout; -1 with STORE_ERR_BUSY when it does not come */
static int
wlock_take(store_t *st, char *err, size_t errlen)
{
	struct timespec until;
	int rc;

	if (st->st_wlocked)
		return 0;
	store_deadline_after(st->st_opts.so_busy_timeout_ms, &until);
	rc = pthread_mutex_clocklock(&store_wlock, CLOCK_MONOTONIC, &until);
	if (rc != 0) {
		st->st_errkind = STORE_ERR_BUSY;
		store_seterr(err, errlen, "begin write transaction: another "
		    "writer of this process held the lock past the busy "
		    "timeout (%d ms)",
		    st->st_opts.so_busy_timeout_ms);
		return -1;
	}
	st->st_wlocked = true;
	return 0;
}

/* wlock_sync - once no transaction is open (SQLite may also have ended it
 * by itself, after an I/O error or a full disk), go back to the handle's
 * own connection and drop the writer lock */
static void
wlock_sync(store_t *st)
{
	if (st->st_wlocked && sqlite3_get_autocommit(st->st_c->sc_db)) {
		st->st_c = &st->st_own;
		st->st_wlocked = false;
		pthread_mutex_unlock(&store_wlock);
	}
}

/* writer_get - the shared writer connection, (re)opened if need be;
 * under store_wlock.  NULL with err and the kind on st. */
static struct store_conn *
writer_get(store_t *st, char *err, size_t errlen)
{
	store_opts o = st->st_opts;

	if (store_writer != NULL && store_file_moved(store_writer)) {
		store_close(store_writer);
		store_writer = NULL;
	}
	if (store_writer == NULL) {
		o.so_shared_writer = false;
		o.so_create = false;
		if (store_open(st->st_path, &o, &store_writer, err,
		    errlen) != 0) {
			st->st_errkind = store_errkind(NULL);
			return NULL;
		}
	}
	return &store_writer->st_own;
}

/* writer_drop - forget the shared writer after a failed transaction, as
 * the milter closes a handle that saw an error; under store_wlock */
static void
writer_drop(store_t *st)
{
	if (st->st_c != &st->st_own && store_writer != NULL) {
		st->st_c = &st->st_own;
		store_close(store_writer);
		store_writer = NULL;
	}
}

/* begin_write - the writer lock, then BEGIN IMMEDIATE on the connection
 * this handle writes with */
static int
begin_write(store_t *st, char *err, size_t errlen)
{
	struct store_conn *w;
	int rc;

	if (wlock_take(st, err, errlen) != 0)
		return -1;
	if (st->st_opts.so_shared_writer) {
		if ((w = writer_get(st, err, errlen)) == NULL) {
			st->st_wlocked = false;
			pthread_mutex_unlock(&store_wlock);
			return -1;
		}
		st->st_c = w;
		/* this handle's timeout (a reload may have changed it) */
		store_set_busy_timeout(store_writer,
		    st->st_opts.so_busy_timeout_ms);
	}
	rc = store_run(st, S_BEGIN_WRITE, "begin write transaction", err,
	    errlen);
	wlock_sync(st);
	return rc;
}

/* ---- errors, binding and atomicity, shared with store_records.c ---- */

/* store_seterr - format into the caller's buffer, which may be absent */
void
store_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* store_kind_of - what an SQLite result code means to the caller */
store_errkind_t
store_kind_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return STORE_ERR_NONE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_PROTOCOL:	/* WAL lock race that outlived its retries */
		return STORE_ERR_BUSY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return STORE_ERR_UNAVAILABLE;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return STORE_ERR_CORRUPT;
	default:
		return STORE_ERR_INTERNAL;
	}
}

/* store_fail - record an SQLite failure of what on st; always -1 */
int
store_fail(store_t *st, int rc, const char *what, char *err, size_t errlen)
{
	st->st_errkind = store_kind_of(rc);
	store_seterr(err, errlen, "%s: %s", what, sqlite3_errmsg(st->st_c->sc_db));
	return -1;
}

/* store_db_fail - an SQLite failure while opening path; always -1 */
int
store_db_fail(sqlite3 *db, int rc, const char *path, const char *what,
    store_errkind_t *kind, char *err, size_t errlen)
{
	*kind = store_kind_of(rc);
	store_seterr(err, errlen, "%s: %s: %s", path, what,
	    sqlite3_errmsg(db));
	return -1;
}

/* store_misuse - record a caller error; always -1 */
int
store_misuse(store_t *st, const char *what, char *err, size_t errlen)
{
	if (st != NULL)
		st->st_errkind = STORE_ERR_INTERNAL;
	store_seterr(err, errlen, "%s", what);
	return -1;
}

/* store_done - make s reusable and drop its references to caller memory */
void
store_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* store_run - step a statement that returns no rows, then reset it */
int
store_run(store_t *st, enum store_stmt id, const char *what, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = st->st_c->sc_stmt[id];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		store_fail(st, rc, what, err, errlen);
	store_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* run_quiet - run for cleanup paths, whose failure must not hide the first */
static void
run_quiet(store_t *st, enum store_stmt id)
{
	sqlite3_stmt *s = st->st_c->sc_stmt[id];

	while (sqlite3_step(s) == SQLITE_ROW)
		;
	store_done(s);
}

/* store_bind_text - bind a string of at most max bytes (a record array) */
void
store_bind_text(struct store_binder *b, int i, const char *v, size_t max)
{
	if (b->b_rc == SQLITE_OK)
		b->b_rc = sqlite3_bind_text(b->b_stmt, i, v != NULL ? v : "",
		    v != NULL ? (int)strnlen(v, max) : 0, SQLITE_STATIC);
}

/* store_bind_int - bind an integer */
void
store_bind_int(struct store_binder *b, int i, int64_t v)
{
	if (b->b_rc == SQLITE_OK)
		b->b_rc = sqlite3_bind_int64(b->b_stmt, i, v);
}

/* store_bind_null - bind SQL NULL */
void
store_bind_null(struct store_binder *b, int i)
{
	if (b->b_rc == SQLITE_OK)
		b->b_rc = sqlite3_bind_null(b->b_stmt, i);
}

/* store_bind_check - after a run of binds: 0, or -1 and the reset statement */
int
store_bind_check(store_t *st, struct store_binder *b, const char *what,
    char *err, size_t errlen)
{
	if (b->b_rc == SQLITE_OK)
		return 0;
	store_fail(st, b->b_rc, what, err, errlen);
	store_done(b->b_stmt);
	return -1;
}

/* store_op_begin - a transaction of its own, or a savepoint in the caller's */
int
store_op_begin(store_t *st, bool *own, char *err, size_t errlen)
{
	*own = sqlite3_get_autocommit(st->st_c->sc_db) != 0;
	if (*own)
		return begin_write(st, err, errlen);
	return store_run(st, S_SAVEPOINT, "savepoint", err, errlen);
}

/* store_op_end - commit (or release) after rc == 0, else undo; 0 or -1 */
int
store_op_end(store_t *st, bool own, int rc, char *err, size_t errlen)
{
	if (rc == 0 && store_run(st, own ? S_COMMIT : S_RELEASE,
	    own ? "commit" : "release savepoint", err, errlen) == 0) {
		wlock_sync(st);
		return 0;
	}
	/* SQLite may already have rolled back (I/O error, full, busy) */
	if (!sqlite3_get_autocommit(st->st_c->sc_db)) {
		if (own)
			run_quiet(st, S_ROLLBACK);
		else {
			run_quiet(st, S_ROLLBACK_TO);
			run_quiet(st, S_RELEASE);
		}
	}
	if (own && st->st_wlocked)
		writer_drop(st);
	wlock_sync(st);
	return -1;
}

/* ---- opening and the schema ---- */

/* prepare_all - prepare the statement cache once for the handle's life */
static int
prepare_all(store_t *st, const char *path, store_errkind_t *kind,
    char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->st_c->sc_db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->st_c->sc_stmt[i], NULL);
		if (rc != SQLITE_OK) {
			/* a table or column missing: the schema is not what
			 * its version says (any other error is ours) */
			bool missing = rc == SQLITE_ERROR &&
			    (strstr(sqlite3_errmsg(st->st_c->sc_db),
			    "no such table") != NULL ||
			    strstr(sqlite3_errmsg(st->st_c->sc_db),
			    "no such column") != NULL);

			(void)store_db_fail(st->st_c->sc_db, rc, path,
			    "cannot prepare a statement", kind, err, errlen);
			if (missing)
				*kind = STORE_ERR_SCHEMA;
			return -1;
		}
	}
	return 0;
}

/* access_why - why this process may not be able to write the database:
 * its directory missing or not writable, or a file of it not readable and
 * writable (SQLite needs the directory too, for the -wal, -shm and
 * -journal files); "" when none of that is the case */
static void
access_why(const char *path, char *why, size_t len)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char dir[PATH_MAX], file[PATH_MAX + 8];
	const char *slash = strrchr(path, '/');
	size_t i, n;

	why[0] = '\0';
	n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return;
	memcpy(dir, slash == NULL ? "." : path, n);
	dir[n] = '\0';
	if (access(dir, F_OK) != 0) {
		snprintf(why, len, " (the directory %s does not exist)", dir);
		return;
	}
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		snprintf(why, len, " (uid %ld may not write the directory %s)",
		    (long)geteuid(), dir);
		return;
	}
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, sfx[i]);
		if (access(file, F_OK) == 0 &&
		    faccessat(AT_FDCWD, file, R_OK | W_OK, AT_EACCESS) != 0) {
			snprintf(why, len, " (uid %ld may not read and write "
			    "%s)", (long)geteuid(), file);
			return;
		}
	}
}

int
store_open(const char *path, const store_opts *opts, store_t **out,
    char *err, size_t errlen)
{
	store_errkind_t kind = STORE_ERR_INTERNAL;
	store_t *st = NULL;
	char why[PATH_MAX + 64];
	int flags, rc, ret = -1;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || opts == NULL || out == NULL) {
		store_seterr(err, errlen, "store_open: missing argument");
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->st_path = strdup(path)) == NULL) {
		store_seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	st->st_c = &st->st_own;
	st->st_opts = *opts;
	/* without CREATE, sqlite3_open_v2 fails on a missing file */
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (opts->so_create ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &st->st_c->sc_db, flags, NULL);
	if (rc != SQLITE_OK) {
		if (st->st_c->sc_db == NULL) {
			store_seterr(err, errlen, "%s: cannot open: out of "
			    "memory", path);
		} else if (!opts->so_create && access(path, F_OK) != 0 &&
		    errno == ENOENT) {
			kind = STORE_ERR_UNAVAILABLE;
			store_seterr(err, errlen, "%s: cannot open: the "
			    "database does not exist", path);
		} else {
			access_why(path, why, sizeof(why));
			store_db_fail(st->st_c->sc_db, rc, path, "cannot open",
			    &kind, err, errlen);
			if (err != NULL && errlen > 0)
				store_seterr(err + strlen(err),
				    errlen - strlen(err), "%s", why);
		}
		goto out;
	}
	sqlite3_extended_result_codes(st->st_c->sc_db, 1);
	sqlite3_busy_timeout(st->st_c->sc_db, opts->so_busy_timeout_ms);
	/* no writable_schema tricks and the like through this connection */
	sqlite3_db_config(st->st_c->sc_db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (sqlite3_db_readonly(st->st_c->sc_db, "main") == 1) {
		kind = STORE_ERR_UNAVAILABLE;
		access_why(path, why, sizeof(why));
		store_seterr(err, errlen, "%s: cannot open: the database is "
		    "read-only%s", path, why);
		goto out;
	}

	if (store_schema_open(st->st_c->sc_db, path, opts->so_create,
	    opts->so_keep_schema, opts->so_busy_timeout_ms, &kind, err,
	    errlen) != 0)
		goto out;
	if (prepare_all(st, path, &kind, err, errlen) != 0)
		goto out;
	/* replaces the automatic checkpoint at commit */
	if (opts->so_manual_checkpoint)
		sqlite3_wal_hook(st->st_c->sc_db, store_wal_hook, NULL);

	st->st_errkind = STORE_ERR_NONE;
	*out = st;
	st = NULL;
	kind = STORE_ERR_NONE;
	ret = 0;
out:
	open_errkind = kind;
	store_close(st);
	return ret;
}

void
store_set_busy_timeout(store_t *st, int busy_timeout_ms)
{
	if (st == NULL || st->st_opts.so_busy_timeout_ms == busy_timeout_ms)
		return;
	st->st_opts.so_busy_timeout_ms = busy_timeout_ms;
	sqlite3_busy_timeout(st->st_own.sc_db, busy_timeout_ms);
}

void
store_close(store_t *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->st_c->sc_db != NULL && !sqlite3_get_autocommit(st->st_c->sc_db))
		sqlite3_exec(st->st_c->sc_db, "ROLLBACK", NULL, NULL, NULL);
	if (st->st_wlocked) {
		st->st_c = &st->st_own;
		st->st_wlocked = false;
		pthread_mutex_unlock(&store_wlock);
	}
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->st_own.sc_stmt[i]);
	/* close even a handle whose open failed: it may own memory */
	sqlite3_close(st->st_own.sc_db);
	free(st->st_path);
	free(st);
}

bool
store_idle(const store_t *st)
{
	return st != NULL && !st->st_wlocked &&
	    sqlite3_get_autocommit(st->st_own.sc_db);
}

void
store_shutdown(void)
{
	pthread_mutex_lock(&store_wlock);
	store_close(store_writer);	/* its last checkpoint, if any */
	store_writer = NULL;
	pthread_mutex_unlock(&store_wlock);
}

store_errkind_t
store_errkind(const store_t *st)
{
	return st != NULL ? st->st_errkind : open_errkind;
}

bool
store_file_moved(store_t *st)
{
	int moved = 0;

	if (sqlite3_file_control(st->st_c->sc_db, "main", SQLITE_FCNTL_HAS_MOVED,
	    &moved) != SQLITE_OK)
		return false;
	return moved != 0;
}

/* ---- transactions ---- */

int
store_begin(store_t *st, bool write, char *err, size_t errlen)
{
	st->st_errkind = STORE_ERR_NONE;
	if (write)
		return begin_write(st, err, errlen);
	return store_run(st, S_BEGIN_READ, "begin read transaction", err,
	    errlen);
}

int
store_commit(store_t *st, char *err, size_t errlen)
{
	int rc;

	st->st_errkind = STORE_ERR_NONE;
	rc = store_run(st, S_COMMIT, "commit", err, errlen);
	/* SQLite ended the transaction itself (I/O error, full disk): the
	 * shared writer saw the error, so it is not kept */
	if (rc != 0 && st->st_wlocked && sqlite3_get_autocommit(st->st_c->sc_db))
		writer_drop(st);
	wlock_sync(st);
	return rc;
}

void
store_rollback(store_t *st)
{
	if (st == NULL)
		return;
	if (!sqlite3_get_autocommit(st->st_c->sc_db))
		run_quiet(st, S_ROLLBACK);
	if (st->st_wlocked)
		writer_drop(st);
	wlock_sync(st);
}

int
store_checkpoint(store_t *st, bool block_writers, unsigned *left, char *err,
    size_t errlen)
{
	int rc, nlog = 0, nckpt = 0;

	st->st_errkind = STORE_ERR_NONE;
	if (left != NULL)
		*left = 0;
	if (block_writers) {
		if (st->st_wlocked) {
			st->st_errkind = STORE_ERR_INTERNAL;
			store_seterr(err, errlen, "checkpoint: inside a "
			    "write transaction");
			return -1;
		}
		/* A writer at work: not now (the caller tries again). */
		if (pthread_mutex_trylock(&store_wlock) != 0) {
			if (left != NULL)
				*left = store_wal_frames();
			return 0;
		}
		/* RESTART waits for the readers of older snapshots, another
		 * process's too (an admin's sqlite3, a backup): while it
		 * holds the writers off, wait only a moment for them. */
		sqlite3_busy_timeout(st->st_c->sc_db, STORE_CKPT_BUSY_MS);
	}
	rc = sqlite3_wal_checkpoint_v2(st->st_c->sc_db, "main", block_writers ?
	    SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &nlog,
	    &nckpt);
	if (block_writers) {
		sqlite3_busy_timeout(st->st_c->sc_db,
		    st->st_opts.so_busy_timeout_ms);
		pthread_mutex_unlock(&store_wlock);
		/* readers in the way: not done, not an error */
		if ((rc & 0xff) == SQLITE_BUSY) {
			if (left != NULL)
				*left = store_wal_frames();
			return 0;
		}
	}
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "checkpoint", err, errlen);
	if (nckpt >= nlog)
		store_wal_emptied();
	if (left != NULL && nlog > nckpt)
		*left = (unsigned)(nlog - nckpt);
	return 0;
}
