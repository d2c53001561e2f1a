/*
 * store_schema.c - sendguard's database schema: the migrations that build
 * it, and the checks store_open() makes before using a file.
 *
 * A database is identified by PRAGMA application_id ('SGRD') and versioned
 * by PRAGMA user_version.  The file is looked at before anything is
 * written: a foreign or too new database is refused untouched (not even
 * switched to WAL).  Creation and migration run in one BEGIN IMMEDIATE
 * transaction that re-reads the version under the lock, so processes that
 * open a new database at the same time create it exactly once.
 *
 * Memory: nothing here outlives a call.  Errors: 0 / -1 with the kind in
 * *kind and "path: what failed: sqlite's message" in err.  The layout is
 * documented in store/SCHEMA.md; keep the two in step.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/*
 * The migrations: migrations[i] takes a database from version i to i + 1
 * (version 0 is an empty file).  Append only; never edit a released one.
 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: creation */
	"CREATE TABLE restrictions (\n"
	"  identity       TEXT    NOT NULL PRIMARY KEY,\n"
	"  reason         TEXT    NOT NULL DEFAULT '',\n"
	"  limit_name     TEXT    NOT NULL DEFAULT '',\n"
	"  limit_value    INTEGER NOT NULL DEFAULT 0,\n"
	"  count          INTEGER NOT NULL DEFAULT 0,\n"
	"  created_at     INTEGER NOT NULL,\n"
	"  expires_at     INTEGER,\n"
	"  client_address TEXT    NOT NULL DEFAULT '',\n"
	"  queue_id       TEXT    NOT NULL DEFAULT '',\n"
	"  actor          TEXT    NOT NULL DEFAULT ''\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX restrictions_expires_at ON restrictions (expires_at)\n"
	"  WHERE expires_at IS NOT NULL;\n"
	"CREATE TABLE events (\n"
	"  id             INTEGER PRIMARY KEY,\n"
	"  at             INTEGER NOT NULL,\n"
	"  kind           TEXT    NOT NULL CHECK (kind IN ('restricted',\n"
	"                 'expired', 'unblocked', 'blocked', 'alerted')),\n"
	"  identity       TEXT    NOT NULL,\n"
	"  reason         TEXT    NOT NULL DEFAULT '',\n"
	"  limit_name     TEXT    NOT NULL DEFAULT '',\n"
	"  limit_value    INTEGER NOT NULL DEFAULT 0,\n"
	"  count          INTEGER NOT NULL DEFAULT 0,\n"
	"  expires_at     INTEGER,\n"
	"  client_address TEXT    NOT NULL DEFAULT '',\n"
	"  queue_id       TEXT    NOT NULL DEFAULT '',\n"
	"  actor          TEXT    NOT NULL DEFAULT ''\n"
	");\n"
	"CREATE INDEX events_identity_at ON events (identity, at);\n"
	"CREATE INDEX events_at ON events (at);\n"
	"CREATE TABLE counters (\n"
	"  identity       TEXT    NOT NULL,\n"
	"  bucket         INTEGER NOT NULL,\n"
	"  internal       INTEGER NOT NULL DEFAULT 0,\n"
	"  external       INTEGER NOT NULL DEFAULT 0,\n"
	"  PRIMARY KEY (identity, bucket)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX counters_bucket ON counters (bucket);\n",
	/* 1 -> 2: spam-judged messages per bucket (additive: a version 1
	 * process keeps working, it just never writes the column) */
	"ALTER TABLE counters ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;\n",
};

/* What the header and catalogue say about a database file. */
struct dbinfo {
	int64_t		di_app_id;
	int64_t		di_version;
	int64_t		di_objects;		/* rows of sqlite_master */
};

/* read_info - application id, version and catalogue size in one snapshot */
static int
read_info(sqlite3 *db, struct dbinfo *di)
{
	static const char sql[] =
	    "SELECT (SELECT application_id FROM pragma_application_id),"
	    " (SELECT user_version FROM pragma_user_version),"
	    " (SELECT count(*) FROM sqlite_master)";
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		goto out;
	di->di_app_id = sqlite3_column_int64(s, 0);
	di->di_version = sqlite3_column_int64(s, 1);
	di->di_objects = sqlite3_column_int64(s, 2);
	rc = SQLITE_OK;
out:
	/* finalize keeps the step's error for sqlite3_errmsg() */
	sqlite3_finalize(s);
	return rc;
}

/*
 * check_info - is this a database we may use (or create)?  0, or -1 with
 * the kind in *kind and the message in err.
 */
static int
check_info(const char *path, const struct dbinfo *di, bool create,
    store_errkind_t *kind, char *err, size_t errlen)
{
	if (di->di_app_id == 0 && di->di_objects == 0 &&
	    di->di_version == 0) {
		if (create)
			return 0;
		*kind = STORE_ERR_UNAVAILABLE;
		store_seterr(err, errlen, "%s: the database does not exist "
		    "(it is empty, and this program does not create it)",
		    path);
		return -1;
	}
	if (di->di_app_id != STORE_APPLICATION_ID) {
		*kind = STORE_ERR_SCHEMA;
		if (di->di_app_id != 0)
			store_seterr(err, errlen, "%s: not a sendguard "
			    "database (application_id 0x%08" PRIx32 ")",
			    path, (uint32_t)di->di_app_id);
		else
			store_seterr(err, errlen, "%s: not a sendguard "
			    "database", path);
		return -1;
	}
	if (di->di_version > STORE_SCHEMA_VERSION) {
		*kind = STORE_ERR_SCHEMA;
		store_seterr(err, errlen, "%s: schema version %" PRId64
		    " is newer than this sendguard supports (%d)", path,
		    di->di_version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (di->di_version < 0) {
		*kind = STORE_ERR_SCHEMA;
		store_seterr(err, errlen, "%s: invalid schema version %"
		    PRId64, path, di->di_version);
		return -1;
	}
	return 0;
}

/*
 * set_wal - switch to WAL (persistent) and NORMAL sync (per connection).
 * The switch needs an exclusive lock, and SQLite answers BUSY at once
 * (without the busy handler) when two new connections race for it, so
 * retry here for up to busy_ms.
 */
static int
set_wal(sqlite3 *db, const char *path, int busy_ms, store_errkind_t *kind,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc, slept = 0, ret = -1;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL);
	if (rc != SQLITE_OK) {
		store_db_fail(db, rc, path, "cannot set WAL journal mode",
		    kind, err, errlen);
		goto out;
	}
	while ((rc = sqlite3_step(s)) != SQLITE_ROW &&
	    store_kind_of(rc) == STORE_ERR_BUSY && slept < busy_ms) {
		sqlite3_reset(s);
		slept += sqlite3_sleep(5);
	}
	if (rc != SQLITE_ROW) {
		store_db_fail(db, rc, path, "cannot set WAL journal mode",
		    kind, err, errlen);
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		*kind = STORE_ERR_UNAVAILABLE;
		store_seterr(err, errlen, "%s: cannot set WAL journal mode "
		    "(still \"%s\")", path, mode ? (const char *)mode : "?");
		goto out;
	}
	/* A log that grew while a long reader (a backup) held it back is cut
	 * down to 16 MiB when it starts over, instead of staying that big. */
	rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL; "
	    "PRAGMA journal_size_limit = 16777216", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_db_fail(db, rc, path, "cannot set synchronous", kind,
		    err, errlen);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

/*
 * migrate - bring the schema to STORE_SCHEMA_VERSION under one IMMEDIATE
 * transaction.  The check is repeated under the lock: another process may
 * have created or migrated the database since we looked.
 */
static int
migrate(sqlite3 *db, const char *path, bool create, store_errkind_t *kind,
    char *err, size_t errlen)
{
	char sql[128];
	struct dbinfo di;
	int64_t v;
	int rc, ret = -1;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_db_fail(db, rc, path, "cannot lock the database for a "
		    "schema update", kind, err, errlen);
		goto out;
	}
	rc = read_info(db, &di);
	if (rc != SQLITE_OK) {
		store_db_fail(db, rc, path, "cannot read the schema version",
		    kind, err, errlen);
		goto out;
	}
	if (check_info(path, &di, create, kind, err, errlen) != 0)
		goto out;
	for (v = di.di_version; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[96];

			snprintf(what, sizeof(what), "schema update from "
			    "version %" PRId64 " to %" PRId64, v, v + 1);
			store_db_fail(db, rc, path, what, kind, err, errlen);
			goto out;
		}
	}
	/* constants only: PRAGMA takes no bound parameters */
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
	    "PRAGMA user_version = %d", STORE_APPLICATION_ID,
	    STORE_SCHEMA_VERSION);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_db_fail(db, rc, path, "cannot record the schema version",
		    kind, err, errlen);
		goto out;
	}
	ret = 0;
out:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int
store_schema_open(sqlite3 *db, const char *path, bool create, bool keep,
    int busy_ms, store_errkind_t *kind, char *err, size_t errlen)
{
	struct dbinfo di;
	int rc;

	/* Look before touching: never switch a foreign file to WAL. */
	rc = read_info(db, &di);
	if (rc != SQLITE_OK)
		return store_db_fail(db, rc, path, "cannot read the schema "
		    "version", kind, err, errlen);
	if (check_info(path, &di, create, kind, err, errlen) != 0)
		return -1;
	/* A reader of an older database (sendguardctl after an upgrade)
	 * must not migrate it under a milter that still runs the old code:
	 * that milter could no longer open it.  Nor create the schema in a
	 * file marked as sendguard's but left without one (version 0). */
	if (keep && di.di_version < STORE_SCHEMA_VERSION) {
		*kind = STORE_ERR_SCHEMA;
		store_seterr(err, errlen, "%s: schema version %" PRId64 " is "
		    "older than this program's (%d): restart sendguard, which "
		    "upgrades it", path, di.di_version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (set_wal(db, path, busy_ms, kind, err, errlen) != 0)
		return -1;
	if (di.di_version < STORE_SCHEMA_VERSION &&
	    migrate(db, path, create, kind, err, errlen) != 0)
		return -1;
	return 0;
}
