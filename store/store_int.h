/*
 * store_int.h - what the files of store/ share; private to store/.
 *
 * store.c owns handles, their prepared statements, transactions and the
 * helpers below; store_records.c owns the data (restrictions, events,
 * counters) and the row readers; store_admin.c the admin's queries (lists,
 * history, usage); store_schema.c owns the schema: its migrations and the
 * checks made when a database is opened.  Same conventions as store.h: 0 / -1
 * with the caller's err buffer, no logging.  Nothing outside store/ may
 * include this file.
 */
#ifndef SENDGUARD_STORE_INT_H
#define SENDGUARD_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"

/* PRAGMA application_id: 'SGRD' */
#define STORE_APPLICATION_ID	0x53475244

/* The statements a handle keeps prepared (their SQL: stmt_sql, store.c). */
enum store_stmt {
	S_BEGIN_READ,
	S_BEGIN_WRITE,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_RESTR_LOOKUP,
	S_RESTR_PUT,
	S_RESTR_DEL,
	S_EVENT_ADD,
	S_CLEAR_EVENT,
	S_EXPIRE_ONE_COUNTS,
	S_EXPIRE_ONE_EVENT,
	S_EXPIRE_ONE_DEL,
	S_EXPIRE_ALL_EVENT,
	S_EXPIRE_ALL_DEL,
	S_EXPIRE_ALL_COUNTS,
	S_COUNTS_GET,
	S_COUNTS_ADD,
	S_COUNTS_PRUNE_ID,
	S_COUNTS_DEL_ID,
	S_COUNTS_PRUNE,
	S_COUNT
};

/* A connection and its prepared statements. */
struct store_conn {
	sqlite3		*sc_db;
	sqlite3_stmt	*sc_stmt[S_COUNT];
};

/*
 * A handle: its own connection, and the one its calls use (st_c): its
 * own, or during a write transaction of a so_shared_writer handle the
 * process's shared writer connection (store.c).
 */
struct store {
	struct store_conn st_own;
	struct store_conn *st_c;
	store_errkind_t	st_errkind;		/* of the last call */
	store_opts	st_opts;		/* as opened, for the writer */
	char	       *st_path;
	bool		st_wlocked;		/* holds the process's writer lock */
};

/* Binding: remember the first failure so a run of binds is checked once. */
struct store_binder {
	sqlite3_stmt	*b_stmt;
	int		b_rc;
};

/*
 * store_schema_open - check that the freshly opened db at path is a
 * sendguard database this code knows (or, with create, an empty one), set
 * WAL and synchronous=NORMAL, and migrate an older schema (unless keep:
 * then an older schema is an error), waiting up to busy_ms for locks.  On
 * failure the kind goes to *kind.  Never touches a foreign database.
 */
int		store_schema_open(sqlite3 *db, const char *path, bool create,
    bool keep, int busy_ms, store_errkind_t *kind, char *err, size_t errlen);

/* store_kind_of - what an SQLite result code means to the caller */
store_errkind_t	store_kind_of(int rc);

/* store_db_fail - "path: what: sqlite's message" and its kind; -1 */
int		store_db_fail(sqlite3 *db, int rc, const char *path,
    const char *what, store_errkind_t *kind, char *err, size_t errlen);

/* store_deadline_after - *until = the monotonic clock ms milliseconds
 * from now (a clock step cannot stretch a wait); store.c */
void		store_deadline_after(int ms, struct timespec *until);

/* store_wal_hook - SQLite's WAL hook of so_manual_checkpoint handles: note
 * the log's size, wake store_wal_wait(); store_wal_emptied - a checkpoint
 * copied it all back.  store_wal.c */
int		store_wal_hook(void *arg, sqlite3 *db, const char *name,
    int frames);
void		store_wal_emptied(void);

/* store_seterr - format into err, which may be NULL or of length 0 */
__attribute__((format(printf, 3, 4)))
void		store_seterr(char *err, size_t errlen, const char *fmt, ...);

/* store_fail - record an SQLite failure of what on st; always -1 */
int		store_fail(store_t *st, int rc, const char *what, char *err,
    size_t errlen);

/* store_misuse - record a caller error (st may be NULL); always -1 */
int		store_misuse(store_t *st, const char *what, char *err,
    size_t errlen);

/* store_col_text - copy text column col of s into dst (size bytes), cut on
 * a UTF-8 character boundary; NULL reads as "" */
void		store_col_text(sqlite3_stmt *s, int col, char *dst, size_t size);

/* store_clamp_u32 - an SQLite integer as a saturated uint32_t */
uint32_t	store_clamp_u32(int64_t v);

/*
 * store_row_restriction - fill out from the current row of s, whose first
 * ten columns are identity, reason, limit_name, limit_value, count,
 * created_at, expires_at, client_address, queue_id, actor (RESTR_COLUMNS).
 */
void		store_row_restriction(sqlite3_stmt *s, store_restriction *out);

/* store_done - reset s and drop its bindings to the caller's memory */
void		store_done(sqlite3_stmt *s);

/*
 * store_run - step statement id of st to the end (any rows are dropped)
 * and reset it; on failure record it as what.  0 or -1.
 */
int		store_run(store_t *st, enum store_stmt id, const char *what,
    char *err, size_t errlen);

/*
 * The binders set parameter i of b->b_stmt unless an earlier bind failed;
 * store_bind_check() then reports the first failure once.  Text is bound
 * SQLITE_STATIC: it must stay put until store_done() or the next bind.
 */
/* store_bind_text - at most max bytes of v; NULL binds "" */
void		store_bind_text(struct store_binder *b, int i,
    const char *v, size_t max);
void		store_bind_int(struct store_binder *b, int i, int64_t v);
void		store_bind_null(struct store_binder *b, int i);
/* store_bind_check - 0, or record the first failure as what, store_done()
 * the statement and -1 */
int		store_bind_check(store_t *st, struct store_binder *b,
    const char *what, char *err, size_t errlen);

/*
 * store_op_begin - make one call atomic: a write transaction of its own in
 * autocommit mode, else a savepoint in the caller's transaction, so a
 * failure undoes this call only.  *own tells store_op_end which.
 */
int		store_op_begin(store_t *st, bool *own, char *err,
    size_t errlen);

/*
 * store_op_end - finish what store_op_begin started: commit (or release)
 * when rc == 0 and that succeeds, else undo this call's changes.  0 or -1.
 */
int		store_op_end(store_t *st, bool own, int rc, char *err,
    size_t errlen);

#endif
