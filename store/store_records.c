/*
 * store_records.c - what sendguard keeps: restrictions, the event history
 * and the per-identity counters, on the statements store.c prepared.
 *
 * Every write is atomic per call: store_op_begin() opens a transaction of
 * its own, or a savepoint inside the caller's, and store_op_end() commits
 * or undoes it, so a failure never leaves half a change behind.
 *
 * Memory: records are filled by copying into their own arrays; text bound
 * from the caller is only referenced until the statement is reset.  Errors
 * and thread safety as in store.c: 0 / -1 with the message in err and the
 * kind on the handle, one thread per store_t; nothing here logs or exits.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/* The names events carry in the database, by store_event_kind. */
static const char *const event_kind_names[] = {
	[STORE_EV_RESTRICTED] = "restricted",
	[STORE_EV_EXPIRED] = "expired",
	[STORE_EV_UNBLOCKED] = "unblocked",
	[STORE_EV_BLOCKED] = "blocked",
	[STORE_EV_ALERTED] = "alerted",
};
#define EVENT_KIND_COUNT \
	(sizeof(event_kind_names) / sizeof(event_kind_names[0]))

/* store_col_text - copy a text column, truncated on a UTF-8 boundary */
void
store_col_text(sqlite3_stmt *s, int col, char *dst, size_t size)
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

/* store_clamp_u32 - an SQLite integer as a saturated uint32_t */
uint32_t
store_clamp_u32(int64_t v)
{
	if (v < 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* store_row_restriction - a row in RESTR_COLUMNS order (store.c) */
void
store_row_restriction(sqlite3_stmt *s, store_restriction *out)
{
	memset(out, 0, sizeof(*out));
	store_col_text(s, 0, out->sr_identity, sizeof(out->sr_identity));
	store_col_text(s, 1, out->sr_reason, sizeof(out->sr_reason));
	store_col_text(s, 2, out->sr_limit, sizeof(out->sr_limit));
	out->sr_limit_value = store_clamp_u32(sqlite3_column_int64(s, 3));
	out->sr_count = store_clamp_u32(sqlite3_column_int64(s, 4));
	out->sr_created_at = sqlite3_column_int64(s, 5);
	out->sr_has_expiry = sqlite3_column_type(s, 6) != SQLITE_NULL;
	out->sr_expires_at = out->sr_has_expiry ?
	    sqlite3_column_int64(s, 6) : 0;
	store_col_text(s, 7, out->sr_client_address,
	    sizeof(out->sr_client_address));
	store_col_text(s, 8, out->sr_queue_id, sizeof(out->sr_queue_id));
	store_col_text(s, 9, out->sr_actor, sizeof(out->sr_actor));
}

/* ---- restrictions and events ---- */

/* bind_event - bind the event statement's parameters */
static void
bind_event(struct store_binder *b, int64_t at, store_event_kind kind,
    const store_restriction *f)
{
	store_bind_int(b, 1, at);
	store_bind_text(b, 2, event_kind_names[kind], SIZE_MAX);
	store_bind_text(b, 3, f->sr_identity, sizeof(f->sr_identity));
	store_bind_text(b, 4, f->sr_reason, sizeof(f->sr_reason));
	store_bind_text(b, 5, f->sr_limit, sizeof(f->sr_limit));
	store_bind_int(b, 6, f->sr_limit_value);
	store_bind_int(b, 7, f->sr_count);
	if (f->sr_has_expiry)
		store_bind_int(b, 8, f->sr_expires_at);
	else
		store_bind_null(b, 8);
	store_bind_text(b, 9, f->sr_client_address,
	    sizeof(f->sr_client_address));
	store_bind_text(b, 10, f->sr_queue_id, sizeof(f->sr_queue_id));
	store_bind_text(b, 11, f->sr_actor, sizeof(f->sr_actor));
}

/* event_insert - append one event, within the caller's atomicity */
static int
event_insert(store_t *st, store_event_kind kind, int64_t at,
    const store_restriction *f, char *err, size_t errlen)
{
	struct store_binder b = { st->st_c->sc_stmt[S_EVENT_ADD], SQLITE_OK };

	bind_event(&b, at, kind, f);
	if (store_bind_check(st, &b, "event add", err, errlen) != 0)
		return -1;
	return store_run(st, S_EVENT_ADD, "event add", err, errlen);
}

int
store_restriction_get(store_t *st, const char *identity, int64_t now,
    store_restriction *out, bool *found, char *err, size_t errlen)
{
	bool ran_out;

	return store_restriction_lookup(st, identity, now, out, found,
	    &ran_out, err, errlen);
}

int
store_restriction_lookup(store_t *st, const char *identity, int64_t now,
    store_restriction *out, bool *found, bool *ran_out, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = st->st_c->sc_stmt[S_RESTR_LOOKUP];
	struct store_binder b = { s, SQLITE_OK };
	int rc, ret = -1;

	st->st_errkind = STORE_ERR_NONE;
	*found = *ran_out = false;
	if (identity == NULL)
		return store_misuse(st, "restriction lookup: no identity", err,
		    errlen);
	store_bind_text(&b, 1, identity, SIZE_MAX);
	if (store_bind_check(st, &b, "restriction lookup", err, errlen) != 0)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		store_fail(st, rc, "restriction lookup", err, errlen);
		goto out;
	}
	store_row_restriction(s, out);
	/* in force until expires_at, excluded */
	if (out->sr_has_expiry && out->sr_expires_at <= now)
		*ran_out = true;
	else
		*found = true;
	ret = 0;
out:
	store_done(s);
	return ret;
}

int
store_restriction_put(store_t *st, const store_restriction *r,
    store_event_kind kind, char *err, size_t errlen)
{
	return store_restriction_put_at(st, r, kind, r->sr_created_at, err,
	    errlen);
}

int
store_restriction_put_at(store_t *st, const store_restriction *r,
    store_event_kind kind, int64_t at, char *err, size_t errlen)
{
	struct store_binder b = { st->st_c->sc_stmt[S_RESTR_PUT], SQLITE_OK };
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	if (kind != STORE_EV_RESTRICTED && kind != STORE_EV_BLOCKED)
		return store_misuse(st, "restriction put: the event must be "
		    "restricted or blocked", err, errlen);
	if (r->sr_identity[0] == '\0')
		return store_misuse(st, "restriction put: empty identity", err,
		    errlen);
	if (store_op_begin(st, &own, err, errlen) != 0)
		return -1;
	/* the statement of the connection store_op_begin chose */
	b.b_stmt = st->st_c->sc_stmt[S_RESTR_PUT];

	store_bind_text(&b, 1, r->sr_identity, sizeof(r->sr_identity));
	store_bind_text(&b, 2, r->sr_reason, sizeof(r->sr_reason));
	store_bind_text(&b, 3, r->sr_limit, sizeof(r->sr_limit));
	store_bind_int(&b, 4, r->sr_limit_value);
	store_bind_int(&b, 5, r->sr_count);
	store_bind_int(&b, 6, r->sr_created_at);
	if (r->sr_has_expiry)
		store_bind_int(&b, 7, r->sr_expires_at);
	else
		store_bind_null(&b, 7);
	store_bind_text(&b, 8, r->sr_client_address,
	    sizeof(r->sr_client_address));
	store_bind_text(&b, 9, r->sr_queue_id, sizeof(r->sr_queue_id));
	store_bind_text(&b, 10, r->sr_actor, sizeof(r->sr_actor));
	if (store_bind_check(st, &b, "restriction put", err, errlen) != 0)
		goto out;
	if (store_run(st, S_RESTR_PUT, "restriction put", err, errlen) != 0)
		goto out;
	if (event_insert(st, kind, at, r, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	return store_op_end(st, own, rc, err, errlen);
}

int
store_restriction_clear(store_t *st, const char *identity, int64_t now,
    const char *actor, const char *reason, bool *found, char *err,
    size_t errlen)
{
	struct store_binder b = { st->st_c->sc_stmt[S_CLEAR_EVENT], SQLITE_OK };
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	*found = false;
	if (identity == NULL)
		return store_misuse(st, "restriction clear: no identity", err,
		    errlen);
	if (store_op_begin(st, &own, err, errlen) != 0)
		return -1;
	/* the statement of the connection store_op_begin chose */
	b.b_stmt = st->st_c->sc_stmt[S_CLEAR_EVENT];

	/* the event is written only if a restriction in force is found */
	store_bind_text(&b, 1, identity, SIZE_MAX);
	store_bind_int(&b, 2, now);
	store_bind_text(&b, 3, actor, SIZE_MAX);
	store_bind_text(&b, 4, reason, SIZE_MAX);
	if (store_bind_check(st, &b, "restriction clear", err, errlen) != 0)
		goto out;
	if (store_run(st, S_CLEAR_EVENT, "restriction clear", err, errlen) != 0)
		goto out;
	if (sqlite3_changes(st->st_c->sc_db) == 0) {
		rc = 0;
		goto out;
	}
	*found = true;

	b = (struct store_binder){ st->st_c->sc_stmt[S_RESTR_DEL], SQLITE_OK };
	store_bind_text(&b, 1, identity, SIZE_MAX);
	if (store_bind_check(st, &b, "restriction clear", err, errlen) != 0 ||
	    store_run(st, S_RESTR_DEL, "restriction clear", err, errlen) != 0)
		goto out;
	b = (struct store_binder){ st->st_c->sc_stmt[S_COUNTS_DEL_ID], SQLITE_OK };
	store_bind_text(&b, 1, identity, SIZE_MAX);
	if (store_bind_check(st, &b, "counter reset", err, errlen) != 0 ||
	    store_run(st, S_COUNTS_DEL_ID, "counter reset", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (store_op_end(st, own, rc, err, errlen) != 0) {
		*found = false;
		return -1;
	}
	return 0;
}

/* expire_step - bind and run one of the two expiry statements: for one
 * identity (one key, at most one row, so max does not bind) or for all,
 * at most max rows (0: no bound, bound as -1) */
static int
expire_step(store_t *st, enum store_stmt id, const char *identity,
    int64_t now, unsigned max, char *err, size_t errlen)
{
	struct store_binder b = { st->st_c->sc_stmt[id], SQLITE_OK };

	if (identity != NULL) {
		store_bind_text(&b, 1, identity, SIZE_MAX);
		store_bind_int(&b, 2, now);
	} else {
		store_bind_int(&b, 1, now);
		store_bind_int(&b, 2, max == 0 ? -1 : (int64_t)max);
	}
	if (store_bind_check(st, &b, "expire", err, errlen) != 0)
		return -1;
	return store_run(st, id, "expire", err, errlen);
}

int
store_expire(store_t *st, const char *identity, int64_t now, unsigned max,
    unsigned *n, char *err, size_t errlen)
{
	enum store_stmt counts, ev, del;
	int moved = 0, rc = -1;
	bool own;

	st->st_errkind = STORE_ERR_NONE;
	if (n != NULL)
		*n = 0;
	counts = identity != NULL ? S_EXPIRE_ONE_COUNTS : S_EXPIRE_ALL_COUNTS;
	ev = identity != NULL ? S_EXPIRE_ONE_EVENT : S_EXPIRE_ALL_EVENT;
	del = identity != NULL ? S_EXPIRE_ONE_DEL : S_EXPIRE_ALL_DEL;
	if (store_op_begin(st, &own, err, errlen) != 0)
		return -1;

	/* the counts first: their statement finds the rows still there */
	if (expire_step(st, counts, identity, now, max, err, errlen) != 0 ||
	    expire_step(st, ev, identity, now, max, err, errlen) != 0)
		goto out;
	moved = sqlite3_changes(st->st_c->sc_db);
	if (expire_step(st, del, identity, now, max, err, errlen) != 0)
		goto out;
	if (sqlite3_changes(st->st_c->sc_db) != moved) {
		store_misuse(st, "expire: events and deleted rows differ", err,
		    errlen);
		goto out;
	}
	rc = 0;
out:
	if (store_op_end(st, own, rc, err, errlen) != 0)
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
		return store_misuse(st, "event add: unknown kind", err, errlen);
	if (facts == NULL || facts->sr_identity[0] == '\0')
		return store_misuse(st, "event add: no identity", err, errlen);
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
	sqlite3_stmt *s = st->st_c->sc_stmt[S_COUNTS_GET];
	struct store_binder b = { s, SQLITE_OK };
	int rc, ret = -1;

	st->st_errkind = STORE_ERR_NONE;
	memset(out, 0, sizeof(*out));
	if (identity == NULL)
		return store_misuse(st, "counts get: no identity", err, errlen);
	store_bind_text(&b, 1, identity, SIZE_MAX);
	store_bind_int(&b, 2, hour_from);
	store_bind_int(&b, 3, day_from);
	store_bind_int(&b, 4, hour_from < day_from ? hour_from : day_from);
	if (store_bind_check(st, &b, "counts get", err, errlen) != 0)
		return -1;
	/* an aggregate: always exactly one row */
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_fail(st, rc, "counts get", err, errlen);
		goto out;
	}
	/* at most 1440 buckets of < 2^32 per day: no 64-bit overflow */
	out->sc_int_hour = store_clamp_u32(sqlite3_column_int64(s, 0));
	out->sc_ext_hour = store_clamp_u32(sqlite3_column_int64(s, 1));
	out->sc_day = store_clamp_u32(sqlite3_column_int64(s, 2));
	out->sc_spam_hour = store_clamp_u32(sqlite3_column_int64(s, 3));
	out->sc_spam_day = store_clamp_u32(sqlite3_column_int64(s, 4));
	ret = 0;
out:
	store_done(s);
	return ret;
}

int
store_counts_add(store_t *st, const char *identity, int64_t bucket,
    const store_delta *d, int64_t prune_before, char *err, size_t errlen)
{
	struct store_binder b;
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	if (identity == NULL || identity[0] == '\0' || d == NULL)
		return store_misuse(st, "counts add: no identity or no counts",
		    err, errlen);
	if (store_op_begin(st, &own, err, errlen) != 0)
		return -1;

	/* adding nothing must not create a row */
	if (d->sd_int != 0 || d->sd_ext != 0 || d->sd_spam != 0) {
		b = (struct store_binder){ st->st_c->sc_stmt[S_COUNTS_ADD],
		    SQLITE_OK };
		store_bind_text(&b, 1, identity, SIZE_MAX);
		store_bind_int(&b, 2, bucket);
		store_bind_int(&b, 3, d->sd_int);
		store_bind_int(&b, 4, d->sd_ext);
		store_bind_int(&b, 5, d->sd_spam);
		if (store_bind_check(st, &b, "counts add", err, errlen) != 0 ||
		    store_run(st, S_COUNTS_ADD, "counts add", err, errlen) != 0)
			goto out;
	}
	b = (struct store_binder){ st->st_c->sc_stmt[S_COUNTS_PRUNE_ID], SQLITE_OK };
	store_bind_text(&b, 1, identity, SIZE_MAX);
	store_bind_int(&b, 2, prune_before);
	if (store_bind_check(st, &b, "counts prune", err, errlen) != 0 ||
	    store_run(st, S_COUNTS_PRUNE_ID, "counts prune", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	return store_op_end(st, own, rc, err, errlen);
}

int
store_counts_prune(store_t *st, int64_t before, unsigned max, unsigned *n,
    char *err, size_t errlen)
{
	struct store_binder b = { st->st_c->sc_stmt[S_COUNTS_PRUNE], SQLITE_OK };
	unsigned changes = 0;
	bool own;
	int rc = -1;

	st->st_errkind = STORE_ERR_NONE;
	if (n != NULL)
		*n = 0;
	/* one statement, but through the writer lock like every write */
	if (store_op_begin(st, &own, err, errlen) != 0)
		return -1;
	/* the statement of the connection store_op_begin chose */
	b.b_stmt = st->st_c->sc_stmt[S_COUNTS_PRUNE];
	store_bind_int(&b, 1, before);
	/* -1: no limit */
	store_bind_int(&b, 2, max == 0 ? -1 : (int64_t)max);
	if (store_bind_check(st, &b, "counts prune", err, errlen) != 0 ||
	    store_run(st, S_COUNTS_PRUNE, "counts prune", err, errlen) != 0)
		goto out;
	changes = (unsigned)sqlite3_changes(st->st_c->sc_db);
	rc = 0;
out:
	if (store_op_end(st, own, rc, err, errlen) != 0)
		return -1;
	if (n != NULL)
		*n = changes;
	return 0;
}
