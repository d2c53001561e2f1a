/*
 * store.c - sendguard's store at run time: handles, transactions,
 * restrictions, history events and counters (store_schema.c creates and
 * checks the schema they run on).
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
 * Thread safety: a store_t is one connection (opened SQLITE_OPEN_NOMUTEX),
 * used by one thread at a time.  The schema is in store/SCHEMA.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/* The statements a handle keeps prepared. */
enum stmt_id {
	S_BEGIN_READ,
	S_BEGIN_WRITE,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_RESTR_GET,
	S_RESTR_PUT,
	S_RESTR_DEL,
	S_EVENT_ADD,
	S_CLEAR_EVENT,
	S_EXPIRE_ONE_EVENT,
	S_EXPIRE_ONE_DEL,
	S_EXPIRE_ALL_EVENT,
	S_EXPIRE_ALL_DEL,
	S_COUNTS_GET,
	S_COUNTS_ADD,
	S_COUNTS_PRUNE_ID,
	S_COUNTS_DEL_ID,
	S_COUNTS_PRUNE,
	S_COUNT
};

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

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN_READ] = "BEGIN DEFERRED",
	[S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* makes one call atomic inside a transaction the caller opened */
	[S_SAVEPOINT] = "SAVEPOINT store_op",
	[S_RELEASE] = "RELEASE store_op",
	[S_ROLLBACK_TO] = "ROLLBACK TO store_op",

	[S_RESTR_GET] =
	    "SELECT " RESTR_COLUMNS " FROM restrictions"
	    " WHERE identity = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
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

	[S_EXPIRE_ONE_EVENT] =
	    "INSERT INTO events (" EVENT_COLUMNS ")"
	    " SELECT " EXPIRED_FROM_RESTR " FROM restrictions"
	    " WHERE identity = ?1 AND expires_at <= ?2",
	[S_EXPIRE_ONE_DEL] =
	    "DELETE FROM restrictions"
	    " WHERE identity = ?1 AND expires_at <= ?2",
	/*
	 * The pair below must pick the same rows: same predicate, a total
	 * order (identity is the key) and one transaction around both.
	 */
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
	    "  THEN internal + external END), 0)"
	    " FROM counters WHERE identity = ?1 AND bucket >= ?4",
	[S_COUNTS_ADD] =
	    "INSERT INTO counters (identity, bucket, internal, external)"
	    " VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (identity, bucket) DO UPDATE SET"
	    " internal = min(internal + excluded.internal, 4294967295),"
	    " external = min(external + excluded.external, 4294967295)",
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

/* A handle: one connection and its prepared statements. */
struct store {
	sqlite3		*st_db;
	store_errkind_t	st_errkind;		/* of the last call */
	sqlite3_stmt	*st_stmt[S_COUNT];
};

/* The kind of this thread's last store_open() failure. */
static _Thread_local store_errkind_t open_errkind;

static const char *const event_kind_names[] = {
	[STORE_EV_RESTRICTED] = "restricted",
	[STORE_EV_EXPIRED] = "expired",
	[STORE_EV_UNBLOCKED] = "unblocked",
	[STORE_EV_BLOCKED] = "blocked",
	[STORE_EV_ALERTED] = "alerted",
};
#define EVENT_KIND_COUNT \
	(sizeof(event_kind_names) / sizeof(event_kind_names[0]))

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

/* fail - record an SQLite failure of what on st; always -1 */
static int
fail(store_t *st, int rc, const char *what, char *err, size_t errlen)
{
	st->st_errkind = store_kind_of(rc);
	store_seterr(err, errlen, "%s: %s", what, sqlite3_errmsg(st->st_db));
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

/* misuse - record a caller error; always -1 */
static int
misuse(store_t *st, const char *what, char *err, size_t errlen)
{
	if (st != NULL)
		st->st_errkind = STORE_ERR_INTERNAL;
	store_seterr(err, errlen, "%s", what);
	return -1;
}

/* done - make s reusable and drop its references to caller memory */
static void
done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* run - step a statement that returns no rows, then reset it */
static int
run(store_t *st, enum stmt_id id, const char *what, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = st->st_stmt[id];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		fail(st, rc, what, err, errlen);
	done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* run_quiet - run for cleanup paths, whose failure must not hide the first */
static void
run_quiet(store_t *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->st_stmt[id];

	while (sqlite3_step(s) == SQLITE_ROW)
		;
	done(s);
}

/* Binding: remember the first failure so a run of binds is checked once. */
struct binder {
	sqlite3_stmt	*b_stmt;
	int		b_rc;
};

/* b_text - bind a string of at most max bytes (a fixed record array) */
static void
b_text(struct binder *b, int i, const char *v, size_t max)
{
	if (b->b_rc == SQLITE_OK)
		b->b_rc = sqlite3_bind_text(b->b_stmt, i, v != NULL ? v : "",
		    v != NULL ? (int)strnlen(v, max) : 0, SQLITE_STATIC);
}

/* b_int - bind an integer */
static void
b_int(struct binder *b, int i, int64_t v)
{
	if (b->b_rc == SQLITE_OK)
		b->b_rc = sqlite3_bind_int64(b->b_stmt, i, v);
}

/* b_null - bind SQL NULL */
static void
b_null(struct binder *b, int i)
{
	if (b->b_rc == SQLITE_OK)
		b->b_rc = sqlite3_bind_null(b->b_stmt, i);
}

/* b_check - after a run of binds: 0, or -1 and the reset statement */
static int
b_check(store_t *st, struct binder *b, const char *what, char *err,
    size_t errlen)
{
	if (b->b_rc == SQLITE_OK)
		return 0;
	fail(st, b->b_rc, what, err, errlen);
	done(b->b_stmt);
	return -1;
}

/* col_text - copy a text column, truncated on a UTF-8 boundary */
static void
col_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t len;

	if (t == NULL) {
		dst[0] = '\0';
		return;
	}
	len = (size_t)sqlite3_column_bytes(s, col);
	if (len >= size) {
		len = size - 1;
		while (len > 0 && (t[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, t, len);
	dst[len] = '\0';
}

/* clamp_u32 - an SQLite integer as a saturated uint32_t */
static uint32_t
clamp_u32(int64_t v)
{
	if (v < 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * op_begin - make one call atomic: a write transaction of its own in
 * autocommit mode, else a savepoint in the caller's transaction, so a
 * failure undoes this call only.  *own tells op_end which.
 */
static int
op_begin(store_t *st, bool *own, char *err, size_t errlen)
{
	*own = sqlite3_get_autocommit(st->st_db) != 0;
	return run(st, *own ? S_BEGIN_WRITE : S_SAVEPOINT,
	    *own ? "begin write transaction" : "savepoint", err, errlen);
}

/* op_end - commit (or release) after rc == 0, else undo; 0 or -1 */
static int
op_end(store_t *st, bool own, int rc, char *err, size_t errlen)
{
	if (rc == 0 && run(st, own ? S_COMMIT : S_RELEASE,
	    own ? "commit" : "release savepoint", err, errlen) == 0)
		return 0;
	/* SQLite may already have rolled back (I/O error, full, busy) */
	if (sqlite3_get_autocommit(st->st_db))
		return -1;
	if (own)
		run_quiet(st, S_ROLLBACK);
	else {
		run_quiet(st, S_ROLLBACK_TO);
		run_quiet(st, S_RELEASE);
	}
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
		rc = sqlite3_prepare_v3(st->st_db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->st_stmt[i], NULL);
		if (rc != SQLITE_OK)
			return store_db_fail(st->st_db, rc, path,
			    "cannot prepare a statement", kind, err, errlen);
	}
	return 0;
}

int
store_open(const char *path, const store_opts *opts, store_t **out,
    char *err, size_t errlen)
{
	store_errkind_t kind = STORE_ERR_INTERNAL;
	store_t *st = NULL;
	int flags, rc, ret = -1;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || opts == NULL || out == NULL) {
		store_seterr(err, errlen, "store_open: missing argument");
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		store_seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* without CREATE, sqlite3_open_v2 fails on a missing file */
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (opts->so_create ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &st->st_db, flags, NULL);
	if (rc != SQLITE_OK) {
		if (st->st_db == NULL) {
			store_seterr(err, errlen, "%s: cannot open: out of "
			    "memory", path);
		} else if (!opts->so_create && access(path, F_OK) != 0 &&
		    errno == ENOENT) {
			kind = STORE_ERR_UNAVAILABLE;
			store_seterr(err, errlen, "%s: cannot open: the "
			    "database does not exist", path);
		} else {
			store_db_fail(st->st_db, rc, path, "cannot open",
			    &kind, err, errlen);
		}
		goto out;
	}
	sqlite3_extended_result_codes(st->st_db, 1);
	sqlite3_busy_timeout(st->st_db, opts->so_busy_timeout_ms);
	/* no writable_schema tricks and the like through this connection */
	sqlite3_db_config(st->st_db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (sqlite3_db_readonly(st->st_db, "main") == 1) {
		kind = STORE_ERR_UNAVAILABLE;
		store_seterr(err, errlen, "%s: cannot open: the database is "
		    "read-only", path);
		goto out;
	}

	if (store_schema_open(st->st_db, path, opts->so_create,
	    opts->so_busy_timeout_ms, &kind, err, errlen) != 0)
		goto out;
	if (prepare_all(st, path, &kind, err, errlen) != 0)
		goto out;

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
store_close(store_t *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->st_db != NULL && !sqlite3_get_autocommit(st->st_db))
		sqlite3_exec(st->st_db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->st_stmt[i]);
	/* close even a handle whose open failed: it may own memory */
	sqlite3_close(st->st_db);
	free(st);
}

store_errkind_t
store_errkind(const store_t *st)
{
	return st != NULL ? st->st_errkind : open_errkind;
}

/* ---- transactions ---- */

int
store_begin(store_t *st, bool write, char *err, size_t errlen)
{
	st->st_errkind = STORE_ERR_NONE;
	return run(st, write ? S_BEGIN_WRITE : S_BEGIN_READ,
	    write ? "begin write transaction" : "begin read transaction",
	    err, errlen);
}

int
store_commit(store_t *st, char *err, size_t errlen)
{
	st->st_errkind = STORE_ERR_NONE;
	return run(st, S_COMMIT, "commit", err, errlen);
}

void
store_rollback(store_t *st)
{
	if (st != NULL && !sqlite3_get_autocommit(st->st_db))
		run_quiet(st, S_ROLLBACK);
}

/* ---- restrictions and events ---- */

/* bind_event - bind the event statement's parameters */
static void
bind_event(struct binder *b, int64_t at, store_event_kind kind,
    const store_restriction *f)
{
	b_int(b, 1, at);
	b_text(b, 2, event_kind_names[kind], SIZE_MAX);
	b_text(b, 3, f->sr_identity, sizeof(f->sr_identity));
	b_text(b, 4, f->sr_reason, sizeof(f->sr_reason));
	b_text(b, 5, f->sr_limit, sizeof(f->sr_limit));
	b_int(b, 6, f->sr_limit_value);
	b_int(b, 7, f->sr_count);
	if (f->sr_has_expiry)
		b_int(b, 8, f->sr_expires_at);
	else
		b_null(b, 8);
	b_text(b, 9, f->sr_client_address, sizeof(f->sr_client_address));
	b_text(b, 10, f->sr_queue_id, sizeof(f->sr_queue_id));
	b_text(b, 11, f->sr_actor, sizeof(f->sr_actor));
}

/* event_insert - append one event, within the caller's atomicity */
static int
event_insert(store_t *st, store_event_kind kind, int64_t at,
    const store_restriction *f, char *err, size_t errlen)
{
	struct binder b = { st->st_stmt[S_EVENT_ADD], SQLITE_OK };

	bind_event(&b, at, kind, f);
	if (b_check(st, &b, "event add", err, errlen) != 0)
		return -1;
	return run(st, S_EVENT_ADD, "event add", err, errlen);
}

int
store_restriction_get(store_t *st, const char *identity, int64_t now,
    store_restriction *out, bool *found, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->st_stmt[S_RESTR_GET];
	struct binder b = { s, SQLITE_OK };
	int rc, ret = -1;

	st->st_errkind = STORE_ERR_NONE;
	*found = false;
	if (identity == NULL)
		return misuse(st, "restriction get: no identity", err, errlen);
	b_text(&b, 1, identity, SIZE_MAX);
	b_int(&b, 2, now);
	if (b_check(st, &b, "restriction get", err, errlen) != 0)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail(st, rc, "restriction get", err, errlen);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	col_text(s, 0, out->sr_identity, sizeof(out->sr_identity));
	col_text(s, 1, out->sr_reason, sizeof(out->sr_reason));
	col_text(s, 2, out->sr_limit, sizeof(out->sr_limit));
	out->sr_limit_value = clamp_u32(sqlite3_column_int64(s, 3));
	out->sr_count = clamp_u32(sqlite3_column_int64(s, 4));
	out->sr_created_at = sqlite3_column_int64(s, 5);
	out->sr_has_expiry = sqlite3_column_type(s, 6) != SQLITE_NULL;
	out->sr_expires_at = out->sr_has_expiry ?
	    sqlite3_column_int64(s, 6) : 0;
	col_text(s, 7, out->sr_client_address,
	    sizeof(out->sr_client_address));
	col_text(s, 8, out->sr_queue_id, sizeof(out->sr_queue_id));
	col_text(s, 9, out->sr_actor, sizeof(out->sr_actor));
	*found = true;
	ret = 0;
out:
	done(s);
	return ret;
}

int
store_restriction_put(store_t *st, const store_restriction *r,
    store_event_kind kind, char *err, size_t errlen)
{
	struct binder b = { st->st_stmt[S_RESTR_PUT], SQLITE_OK };
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	if (kind != STORE_EV_RESTRICTED && kind != STORE_EV_BLOCKED)
		return misuse(st, "restriction put: the event must be "
		    "restricted or blocked", err, errlen);
	if (r->sr_identity[0] == '\0')
		return misuse(st, "restriction put: empty identity", err,
		    errlen);
	if (op_begin(st, &own, err, errlen) != 0)
		return -1;

	b_text(&b, 1, r->sr_identity, sizeof(r->sr_identity));
	b_text(&b, 2, r->sr_reason, sizeof(r->sr_reason));
	b_text(&b, 3, r->sr_limit, sizeof(r->sr_limit));
	b_int(&b, 4, r->sr_limit_value);
	b_int(&b, 5, r->sr_count);
	b_int(&b, 6, r->sr_created_at);
	if (r->sr_has_expiry)
		b_int(&b, 7, r->sr_expires_at);
	else
		b_null(&b, 7);
	b_text(&b, 8, r->sr_client_address, sizeof(r->sr_client_address));
	b_text(&b, 9, r->sr_queue_id, sizeof(r->sr_queue_id));
	b_text(&b, 10, r->sr_actor, sizeof(r->sr_actor));
	if (b_check(st, &b, "restriction put", err, errlen) != 0)
		goto out;
	if (run(st, S_RESTR_PUT, "restriction put", err, errlen) != 0)
		goto out;
	if (event_insert(st, kind, r->sr_created_at, r, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	return op_end(st, own, rc, err, errlen);
}

int
store_restriction_clear(store_t *st, const char *identity, int64_t now,
    const char *actor, const char *reason, bool *found, char *err,
    size_t errlen)
{
	struct binder b = { st->st_stmt[S_CLEAR_EVENT], SQLITE_OK };
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	*found = false;
	if (identity == NULL)
		return misuse(st, "restriction clear: no identity", err,
		    errlen);
	if (op_begin(st, &own, err, errlen) != 0)
		return -1;

	/* the event is written only if a restriction in force is found */
	b_text(&b, 1, identity, SIZE_MAX);
	b_int(&b, 2, now);
	b_text(&b, 3, actor, SIZE_MAX);
	b_text(&b, 4, reason, SIZE_MAX);
	if (b_check(st, &b, "restriction clear", err, errlen) != 0)
		goto out;
	if (run(st, S_CLEAR_EVENT, "restriction clear", err, errlen) != 0)
		goto out;
	if (sqlite3_changes(st->st_db) == 0) {
		rc = 0;
		goto out;
	}
	*found = true;

	b = (struct binder){ st->st_stmt[S_RESTR_DEL], SQLITE_OK };
	b_text(&b, 1, identity, SIZE_MAX);
	if (b_check(st, &b, "restriction clear", err, errlen) != 0 ||
	    run(st, S_RESTR_DEL, "restriction clear", err, errlen) != 0)
		goto out;
	b = (struct binder){ st->st_stmt[S_COUNTS_DEL_ID], SQLITE_OK };
	b_text(&b, 1, identity, SIZE_MAX);
	if (b_check(st, &b, "counter reset", err, errlen) != 0 ||
	    run(st, S_COUNTS_DEL_ID, "counter reset", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (op_end(st, own, rc, err, errlen) != 0) {
		*found = false;
		return -1;
	}
	return 0;
}

int
store_expire(store_t *st, const char *identity, int64_t now, unsigned max,
    unsigned *n, char *err, size_t errlen)
{
	enum stmt_id ev, del;
	struct binder b;
	int moved = 0, rc = -1;
	bool own;

	st->st_errkind = STORE_ERR_NONE;
	if (n != NULL)
		*n = 0;
	ev = identity != NULL ? S_EXPIRE_ONE_EVENT : S_EXPIRE_ALL_EVENT;
	del = identity != NULL ? S_EXPIRE_ONE_DEL : S_EXPIRE_ALL_DEL;
	if (op_begin(st, &own, err, errlen) != 0)
		return -1;

	b = (struct binder){ st->st_stmt[ev], SQLITE_OK };
	if (identity != NULL) {
		/* one key: at most one row, so max cannot bind */
		b_text(&b, 1, identity, SIZE_MAX);
		b_int(&b, 2, now);
	} else {
		b_int(&b, 1, now);
		b_int(&b, 2, max == 0 ? -1 : (int64_t)max); /* -1: no limit */
	}
	if (b_check(st, &b, "expire", err, errlen) != 0 ||
	    run(st, ev, "expire", err, errlen) != 0)
		goto out;
	moved = sqlite3_changes(st->st_db);

	b = (struct binder){ st->st_stmt[del], SQLITE_OK };
	if (identity != NULL) {
		b_text(&b, 1, identity, SIZE_MAX);
		b_int(&b, 2, now);
	} else {
		b_int(&b, 1, now);
		b_int(&b, 2, max == 0 ? -1 : (int64_t)max);
	}
	if (b_check(st, &b, "expire", err, errlen) != 0 ||
	    run(st, del, "expire", err, errlen) != 0)
		goto out;
	if (sqlite3_changes(st->st_db) != moved) {
		misuse(st, "expire: events and deleted rows differ", err,
		    errlen);
		goto out;
	}
	rc = 0;
out:
	if (op_end(st, own, rc, err, errlen) != 0)
		return -1;
	if (n != NULL)
		*n = (unsigned)moved;
	return 0;
}

int
store_event_add(store_t *st, store_event_kind kind, int64_t at,
    const store_restriction *facts, char *err, size_t errlen)
{
	st->st_errkind = STORE_ERR_NONE;
	if ((unsigned)kind >= EVENT_KIND_COUNT)
		return misuse(st, "event add: unknown kind", err, errlen);
	if (facts == NULL || facts->sr_identity[0] == '\0')
		return misuse(st, "event add: no identity", err, errlen);
	/* one statement: atomic on its own */
	return event_insert(st, kind, at, facts, err, errlen);
}

const char *
store_event_kind_name(store_event_kind kind)
{
	if ((unsigned)kind >= EVENT_KIND_COUNT)
		return "unknown";
	return event_kind_names[kind];
}

/* ---- counters ---- */

int
store_counts_get(store_t *st, const char *identity, int64_t hour_from,
    int64_t day_from, store_counts *out, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->st_stmt[S_COUNTS_GET];
	struct binder b = { s, SQLITE_OK };
	int rc, ret = -1;

	st->st_errkind = STORE_ERR_NONE;
	memset(out, 0, sizeof(*out));
	if (identity == NULL)
		return misuse(st, "counts get: no identity", err, errlen);
	b_text(&b, 1, identity, SIZE_MAX);
	b_int(&b, 2, hour_from);
	b_int(&b, 3, day_from);
	b_int(&b, 4, hour_from < day_from ? hour_from : day_from);
	if (b_check(st, &b, "counts get", err, errlen) != 0)
		return -1;
	/* an aggregate: always exactly one row */
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		fail(st, rc, "counts get", err, errlen);
		goto out;
	}
	/* at most 1440 buckets of < 2^32 per day: no 64-bit overflow */
	out->sc_int_hour = clamp_u32(sqlite3_column_int64(s, 0));
	out->sc_ext_hour = clamp_u32(sqlite3_column_int64(s, 1));
	out->sc_day = clamp_u32(sqlite3_column_int64(s, 2));
	ret = 0;
out:
	done(s);
	return ret;
}

int
store_counts_add(store_t *st, const char *identity, int64_t bucket,
    uint32_t n_int, uint32_t n_ext, int64_t prune_before, char *err,
    size_t errlen)
{
	struct binder b;
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	if (identity == NULL || identity[0] == '\0')
		return misuse(st, "counts add: no identity", err, errlen);
	if (op_begin(st, &own, err, errlen) != 0)
		return -1;

	/* adding nothing must not create a row */
	if (n_int != 0 || n_ext != 0) {
		b = (struct binder){ st->st_stmt[S_COUNTS_ADD], SQLITE_OK };
		b_text(&b, 1, identity, SIZE_MAX);
		b_int(&b, 2, bucket);
		b_int(&b, 3, n_int);
		b_int(&b, 4, n_ext);
		if (b_check(st, &b, "counts add", err, errlen) != 0 ||
		    run(st, S_COUNTS_ADD, "counts add", err, errlen) != 0)
			goto out;
	}
	b = (struct binder){ st->st_stmt[S_COUNTS_PRUNE_ID], SQLITE_OK };
	b_text(&b, 1, identity, SIZE_MAX);
	b_int(&b, 2, prune_before);
	if (b_check(st, &b, "counts prune", err, errlen) != 0 ||
	    run(st, S_COUNTS_PRUNE_ID, "counts prune", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	return op_end(st, own, rc, err, errlen);
}

int
store_counts_prune(store_t *st, int64_t before, unsigned max, unsigned *n,
    char *err, size_t errlen)
{
	struct binder b = { st->st_stmt[S_COUNTS_PRUNE], SQLITE_OK };

	st->st_errkind = STORE_ERR_NONE;
	if (n != NULL)
		*n = 0;
	b_int(&b, 1, before);
	b_int(&b, 2, max == 0 ? -1 : (int64_t)max);	/* -1: no limit */
	if (b_check(st, &b, "counts prune", err, errlen) != 0)
		return -1;
	/* one statement: atomic on its own */
	if (run(st, S_COUNTS_PRUNE, "counts prune", err, errlen) != 0)
		return -1;
	if (n != NULL)
		*n = (unsigned)sqlite3_changes(st->st_db);
	return 0;
}
