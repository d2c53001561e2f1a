/*
 * store_admin.c - the queries of sendguardctl: the restrictions in force,
 * the event history, the busiest senders and the unblock count of one
 * (the unblocks the cap counts: not of blocks by hand).
 *
 * These run by hand, not per message, so their statements are prepared
 * per call rather than kept on every milter handle.  Each call is one
 * statement in autocommit mode (or inside the caller's transaction):
 * lists come in pages the caller sizes, so nothing here allocates and no
 * read snapshot outlives a call, however slowly the caller prints.  A
 * reader that held one would keep the milter's WAL from being reset.
 *
 * Memory: rows are copied into the caller's arrays.  Errors and thread
 * safety as in store.c: 0 / -1 with "what: sqlite's message" in err and
 * the kind on the handle, one thread per store_t; never logs or exits.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/* The restriction facts in store_row_restriction()'s order. */
#define ADMIN_RESTR_COLUMNS \
	"identity, reason, limit_name, limit_value, count, created_at, " \
	"expires_at, client_address, queue_id, actor"
/* The same facts of an event (its at in created_at's place), then its own */
#define ADMIN_EVENT_COLUMNS \
	"identity, reason, limit_name, limit_value, count, at, " \
	"expires_at, client_address, queue_id, actor, id, kind"

/* prepare - a statement for one call; NULL after recording the failure */
static sqlite3_stmt *
prepare(store_t *st, const char *sql, const char *what, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->st_c->sc_db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		store_fail(st, rc, what, err, errlen);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* kind_of_name - the event kind stored as name (the CHECK keeps it known) */
static store_event_kind
kind_of_name(const char *name)
{
	int k;

	for (k = 0; strcmp(store_event_kind_name((store_event_kind)k),
	    "unknown") != 0; k++)
		if (strcmp(store_event_kind_name((store_event_kind)k), name) == 0)
			return (store_event_kind)k;
	return STORE_EV_RESTRICTED;	/* unreachable with the CHECK */
}

int
store_restriction_list(store_t *st, int64_t now, const char *after,
    store_restriction *out, size_t max, size_t *n, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT " ADMIN_RESTR_COLUMNS " FROM restrictions"
	    " WHERE identity > ?1 AND (expires_at IS NULL OR expires_at > ?2)"
	    " ORDER BY identity LIMIT ?3";
	struct store_binder b;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	st->st_errkind = STORE_ERR_NONE;
	*n = 0;
	if ((s = prepare(st, sql, "restriction list", err, errlen)) == NULL)
		return -1;
	b = (struct store_binder){ s, SQLITE_OK };
	store_bind_text(&b, 1, after != NULL ? after : "", SIZE_MAX);
	store_bind_int(&b, 2, now);
	store_bind_int(&b, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if (store_bind_check(st, &b, "restriction list", err, errlen) != 0)
		goto out;
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		store_row_restriction(s, &out[(*n)++]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*n = 0;
		store_fail(st, rc, "restriction list", err, errlen);
	}
out:
	sqlite3_finalize(s);
	return st->st_errkind == STORE_ERR_NONE ? 0 : -1;
}

int
store_history(store_t *st, const char *identity, int64_t since,
    store_cursor *cur, store_event *out, size_t max, size_t *n, char *err,
    size_t errlen)
{
	/* (at, id) descending from where the last page ended: a range of
	 * events_identity_at or events_at (both carry the rowid), in reverse */
	static const char sql_one[] =
	    "SELECT " ADMIN_EVENT_COLUMNS " FROM events"
	    " WHERE identity = ?1 AND at >= ?2 AND at <= ?3"
	    " AND (at < ?3 OR id < ?4) ORDER BY at DESC, id DESC LIMIT ?5";
	static const char sql_all[] =
	    "SELECT " ADMIN_EVENT_COLUMNS " FROM events"
	    " WHERE ?1 IS NULL AND at >= ?2 AND at <= ?3"
	    " AND (at < ?3 OR id < ?4) ORDER BY at DESC, id DESC LIMIT ?5";
	struct store_binder b;
	store_event *e;
	sqlite3_stmt *s;
	char kind[16];
	int rc = SQLITE_OK;

	st->st_errkind = STORE_ERR_NONE;
	*n = 0;
	s = prepare(st, identity != NULL ? sql_one : sql_all, "history", err,
	    errlen);
	if (s == NULL)
		return -1;
	b = (struct store_binder){ s, SQLITE_OK };
	if (identity != NULL)
		store_bind_text(&b, 1, identity, SIZE_MAX);
	else
		store_bind_null(&b, 1);
	store_bind_int(&b, 2, since);
	store_bind_int(&b, 3, cur->sk_started ? cur->sk_at : INT64_MAX);
	store_bind_int(&b, 4, cur->sk_started ? cur->sk_id : INT64_MAX);
	store_bind_int(&b, 5, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if (store_bind_check(st, &b, "history", err, errlen) != 0)
		goto out;
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		e = &out[(*n)++];
		store_row_restriction(s, &e->se_facts);
		e->se_at = e->se_facts.sr_created_at;
		e->se_id = sqlite3_column_int64(s, 10);
		store_col_text(s, 11, kind, sizeof(kind));
		e->se_kind = kind_of_name(kind);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*n = 0;
		store_fail(st, rc, "history", err, errlen);
	} else if (*n > 0) {
		cur->sk_started = true;
		cur->sk_at = out[*n - 1].se_at;
		cur->sk_id = out[*n - 1].se_id;
	}
out:
	sqlite3_finalize(s);
	return st->st_errkind == STORE_ERR_NONE ? 0 : -1;
}

int
store_usage_top(store_t *st, int64_t hour_from, int64_t day_from,
    store_usage *out, size_t max, size_t *n, char *err, size_t errlen)
{
	/* The sums as S_COUNTS_GET makes them, clamped in C.  counters
	 * holds about a day (pruned), so SQLite scans its primary key,
	 * which groups by identity without a sort; the top N is one
	 * small sort of the groups. */
	static const char sql[] =
	    "SELECT identity,"
	    " coalesce(sum(CASE WHEN bucket >= ?1 THEN internal END), 0) AS ih,"
	    " coalesce(sum(CASE WHEN bucket >= ?1 THEN external END), 0) AS eh,"
	    " coalesce(sum(CASE WHEN bucket >= ?2"
	    "  THEN internal + external END), 0) AS d,"
	    " coalesce(sum(CASE WHEN bucket >= ?1 THEN spam END), 0) AS sh,"
	    " coalesce(sum(CASE WHEN bucket >= ?2 THEN spam END), 0) AS sd"
	    " FROM counters WHERE bucket >= ?3 GROUP BY identity"
	    " ORDER BY d DESC, eh DESC, ih DESC, sd DESC, identity LIMIT ?4";
	struct store_binder b;
	store_usage *u;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	st->st_errkind = STORE_ERR_NONE;
	*n = 0;
	if ((s = prepare(st, sql, "usage", err, errlen)) == NULL)
		return -1;
	b = (struct store_binder){ s, SQLITE_OK };
	store_bind_int(&b, 1, hour_from);
	store_bind_int(&b, 2, day_from);
	store_bind_int(&b, 3, hour_from < day_from ? hour_from : day_from);
	store_bind_int(&b, 4, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if (store_bind_check(st, &b, "usage", err, errlen) != 0)
		goto out;
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		u = &out[(*n)++];
		memset(u, 0, sizeof(*u));
		store_col_text(s, 0, u->su_identity, sizeof(u->su_identity));
		u->su_counts.sc_int_hour =
		    store_clamp_u32(sqlite3_column_int64(s, 1));
		u->su_counts.sc_ext_hour =
		    store_clamp_u32(sqlite3_column_int64(s, 2));
		u->su_counts.sc_day =
		    store_clamp_u32(sqlite3_column_int64(s, 3));
		u->su_counts.sc_spam_hour =
		    store_clamp_u32(sqlite3_column_int64(s, 4));
		u->su_counts.sc_spam_day =
		    store_clamp_u32(sqlite3_column_int64(s, 5));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*n = 0;
		store_fail(st, rc, "usage", err, errlen);
	}
out:
	sqlite3_finalize(s);
	return st->st_errkind == STORE_ERR_NONE ? 0 : -1;
}

int
store_unblock_count(store_t *st, const char *identity, int64_t since,
    unsigned *n, char *err, size_t errlen)
{
	/* an unblock of an admin's own block is not what the cap is about */
	static const char sql[] =
	    "SELECT count(*) FROM events"
	    " WHERE identity = ?1 AND at >= ?2 AND kind = 'unblocked'"
	    " AND limit_name IS NOT '" STORE_LIMIT_MANUAL "'";
	struct store_binder b;
	sqlite3_stmt *s;
	int rc;

	st->st_errkind = STORE_ERR_NONE;
	*n = 0;
	if (identity == NULL)
		return store_misuse(st, "unblock count: no identity", err,
		    errlen);
	if ((s = prepare(st, sql, "unblock count", err, errlen)) == NULL)
		return -1;
	b = (struct store_binder){ s, SQLITE_OK };
	store_bind_text(&b, 1, identity, SIZE_MAX);
	store_bind_int(&b, 2, since);
	if (store_bind_check(st, &b, "unblock count", err, errlen) != 0)
		goto out;
	/* an aggregate: always exactly one row */
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = store_clamp_u32(sqlite3_column_int64(s, 0));
	else
		store_fail(st, rc, "unblock count", err, errlen);
out:
	sqlite3_finalize(s);
	return st->st_errkind == STORE_ERR_NONE ? 0 : -1;
}

int
store_identity_known(store_t *st, const char *identity, bool *known,
    char *err, size_t errlen)
{
	/* each an index lookup: the primary keys and events_identity_at */
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM restrictions WHERE identity = ?1)"
	    " OR EXISTS (SELECT 1 FROM counters WHERE identity = ?1)"
	    " OR EXISTS (SELECT 1 FROM events WHERE identity = ?1)";
	struct store_binder b;
	sqlite3_stmt *s;
	int rc;

	st->st_errkind = STORE_ERR_NONE;
	*known = false;
	if (identity == NULL)
		return store_misuse(st, "identity lookup: no identity", err,
		    errlen);
	if ((s = prepare(st, sql, "identity lookup", err, errlen)) == NULL)
		return -1;
	b = (struct store_binder){ s, SQLITE_OK };
	store_bind_text(&b, 1, identity, SIZE_MAX);
	if (store_bind_check(st, &b, "identity lookup", err, errlen) != 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*known = sqlite3_column_int(s, 0) != 0;
	else
		store_fail(st, rc, "identity lookup", err, errlen);
out:
	sqlite3_finalize(s);
	return st->st_errkind == STORE_ERR_NONE ? 0 : -1;
}
