/*
 * store_int.h - what store.c and store_schema.c share; private to store/.
 *
 * store.c owns handles, statements and the data; store_schema.c owns the
 * schema: its migrations and the checks made when a database is opened.
 * Same conventions as store.h: 0 / -1 with the caller's err buffer, no
 * logging.  Nothing outside store/ may include this file.
 */
#ifndef SENDGUARD_STORE_INT_H
#define SENDGUARD_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "store.h"

/* PRAGMA application_id: 'SGRD' */
#define STORE_APPLICATION_ID	0x53475244

/*
 * store_schema_open - check that the freshly opened db at path is a
 * sendguard database this code knows (or, with create, an empty one), set
 * WAL and synchronous=NORMAL, and migrate an older schema, waiting up to
 * busy_ms for locks.  On failure the kind goes to *kind.  Never touches a
 * foreign database.
 */
int		store_schema_open(sqlite3 *db, const char *path, bool create,
    int busy_ms, store_errkind_t *kind, char *err, size_t errlen);

/* store_kind_of - what an SQLite result code means to the caller */
store_errkind_t	store_kind_of(int rc);

/* store_db_fail - "path: what: sqlite's message" and its kind; -1 */
int		store_db_fail(sqlite3 *db, int rc, const char *path,
    const char *what, store_errkind_t *kind, char *err, size_t errlen);

/* store_seterr - format into err, which may be NULL or of length 0 */
__attribute__((format(printf, 3, 4)))
void		store_seterr(char *err, size_t errlen, const char *fmt, ...);

#endif
