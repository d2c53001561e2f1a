/*
 * store.h - sendguard's persistent state: restrictions, the event history
 * and the sliding-window counters, in one SQLite database.
 *
 * This module is the only code that speaks SQL.  It never decides policy,
 * never logs and never exits: every function returns 0 on success or -1 on
 * failure with a message in the caller's err buffer, and store_errkind()
 * tells what kind of failure it was (busy, unavailable, corrupt, schema).
 *
 * Memory: a store_t is created by store_open() and freed by store_close();
 * strings in the records it fills are copied into the records' own arrays.
 *
 * Thread safety: a store_t is one SQLite connection and must be used by one
 * thread at a time; the milter keeps a pool of them.  Any number of
 * store_t, in any number of processes, may share one database file: it runs
 * in WAL mode with a busy timeout, and writers take the lock up front
 * (BEGIN IMMEDIATE) so a read never has to be upgraded under contention.
 * Within one process, writers queue on a mutex before BEGIN IMMEDIATE (up to
 * the busy timeout), so they wake in turn instead of polling SQLite's lock.
 *
 * The schema is documented in store/SCHEMA.md.
 */
#ifndef SENDGUARD_STORE_H
#define SENDGUARD_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION	2	/* PRAGMA user_version */

typedef struct store store_t;

/* What kind of failure the last call returned -1 for. */
typedef enum {
	STORE_ERR_NONE = 0,
	STORE_ERR_BUSY,		/* locked past the busy timeout: try later */
	STORE_ERR_UNAVAILABLE,	/* cannot open, I/O error, read-only, full */
	STORE_ERR_CORRUPT,	/* corrupt, or not an SQLite database */
	STORE_ERR_SCHEMA,	/* not a sendguard database, or too new */
	STORE_ERR_INTERNAL	/* misuse, out of memory */
} store_errkind_t;

typedef struct store_opts {
	int		so_busy_timeout_ms;	/* how long to wait for a lock */
	bool		so_create;		/* create a missing database */
	bool		so_keep_schema;		/* never migrate: an older
						 * schema is STORE_ERR_SCHEMA */
	/* no checkpoint at commit: the caller runs store_checkpoint() */
	bool		so_manual_checkpoint;
	/* write transactions go through one connection shared by every
	 * such handle of the process (a pool's handles) */
	bool		so_shared_writer;
} store_opts;

/* The limit of a block by hand (sendguardctl block of a sender that had
 * no restriction): its unblocks are not counted (store_unblock_count). */
#define STORE_LIMIT_MANUAL	"manual"

/* Room for the strings of a record, with their terminators. */
#define STORE_IDENTITY_SIZE	321
#define STORE_REASON_SIZE	256
#define STORE_NAME_SIZE		64
#define STORE_ADDR_SIZE		64
#define STORE_QUEUEID_SIZE	64
#define STORE_ACTOR_SIZE	64

/* A restriction: a sender that may not send until expires (or cleared). */
typedef struct store_restriction {
	char		sr_identity[STORE_IDENTITY_SIZE];
	char		sr_reason[STORE_REASON_SIZE];	/* human text */
	char		sr_limit[STORE_NAME_SIZE];	/* limit name, or
							 * STORE_LIMIT_MANUAL */
	uint32_t	sr_limit_value;
	uint32_t	sr_count;		/* the count that crossed */
	int64_t		sr_created_at;		/* seconds since the epoch */
	bool		sr_has_expiry;
	int64_t		sr_expires_at;		/* valid if sr_has_expiry */
	char		sr_client_address[STORE_ADDR_SIZE];	/* "" = unknown */
	char		sr_queue_id[STORE_QUEUEID_SIZE];	/* "" = unknown */
	char		sr_actor[STORE_ACTOR_SIZE];	/* "sendguard" or a user */
} store_restriction;

/* Kinds of history events. */
typedef enum {
	STORE_EV_RESTRICTED = 0,	/* the milter restricted a sender */
	STORE_EV_EXPIRED,		/* a restriction ran out */
	STORE_EV_UNBLOCKED,		/* an admin cleared a restriction */
	STORE_EV_BLOCKED,		/* an admin restricted by hand */
	STORE_EV_ALERTED		/* a limit crossed with action alert */
} store_event_kind;

/* Window counts of one identity, as the policy core wants them. */
typedef struct store_counts {
	uint32_t	sc_int_hour;
	uint32_t	sc_ext_hour;
	uint32_t	sc_day;		/* internal + external */
	uint32_t	sc_spam_hour;	/* spam-judged messages (schema 2) */
	uint32_t	sc_spam_day;
} store_counts;

/* What one message adds to its sender's bucket. */
typedef struct store_delta {
	uint32_t	sd_int;		/* internal recipients */
	uint32_t	sd_ext;		/* external recipients */
	uint32_t	sd_spam;	/* 1 if the message was judged spam */
} store_delta;

/*
 * store_open - open (and with so_create, create) the database at path, in
 * WAL mode, and check that it is a sendguard database of a schema version
 * this code knows.  An older schema is migrated.  On success *out holds a
 * new handle.
 */
int		store_open(const char *path, const store_opts *opts,
    store_t **out, char *err, size_t errlen);

/*
 * store_set_busy_timeout - how long st waits for a lock from now on (the
 * milter's busy_timeout_ms after a reload), for its own connection and,
 * in its write transactions, the shared writer's.
 */
void		store_set_busy_timeout(store_t *st, int busy_timeout_ms);

/* store_idle - no transaction is open on st (it may be lent again). */
bool		store_idle(const store_t *st);

/*
 * store_shutdown - close the process's shared writer connection (opened
 * by so_shared_writer handles), once no handle writes any more: at exit.
 */
void		store_shutdown(void);

/* store_close - close a handle; NULL is fine.  Rolls back an open txn. */
void		store_close(store_t *st);

/*
 * store_errkind - the kind of the last failure on this handle; with NULL,
 * the kind of this thread's last store_open() failure (no handle exists).
 */
store_errkind_t	store_errkind(const store_t *st);

/*
 * store_file_moved - has the database file been deleted, renamed or
 * replaced since st opened it?  A long-lived handle would otherwise keep
 * writing to a file nobody else sees any more.
 */
bool		store_file_moved(store_t *st);

/*
 * store_begin - start a transaction.  write = true takes the write lock at
 * once (BEGIN IMMEDIATE), waiting up to the busy timeout.
 */
int		store_begin(store_t *st, bool write, char *err, size_t errlen);
int		store_commit(store_t *st, char *err, size_t errlen);
/* store_rollback - undo the open transaction, if any; never fails. */
void		store_rollback(store_t *st);

/*
 * store_wal_frames - the size of the write-ahead log (in pages) after the
 * last commit of a so_manual_checkpoint handle in this process.
 */
unsigned	store_wal_frames(void);

/*
 * store_wal_wait - wait until a commit leaves the log at `pages` pages or
 * more, until *stop is set (and store_wal_wake() called), or timeout_ms
 * passes (-1: no limit); returns store_wal_frames().  One waiter at a
 * time.  store_wal_wake - end the wait, after setting *stop.
 */
unsigned	store_wal_wait(unsigned pages, int timeout_ms,
		    const atomic_bool *stop);
void		store_wal_wake(void);

/*
 * store_checkpoint - copy the write-ahead log into the database (a passive
 * checkpoint: readers and writers of other processes go on).  With
 * block_writers (never inside a write transaction of st), this process's
 * writers wait meanwhile, so it catches up and the log starts over; but
 * it does not wait for them (a writer at work: it does nothing), and waits
 * for readers of older snapshots only a moment (20 ms): those, an admin's
 * sqlite3 or a backup, would otherwise stall every message.  *left (may
 * be NULL) gets the pages still to copy, non-zero when it had to give up
 * for now.  0, or -1 with err.
 */
int		store_checkpoint(store_t *st, bool block_writers,
    unsigned *left, char *err, size_t errlen);

/*
 * store_restriction_get - the restriction of identity in force at now.
 * *found is false when there is none (an expired one does not count).
 */
int		store_restriction_get(store_t *st, const char *identity,
    int64_t now, store_restriction *out, bool *found,
    char *err, size_t errlen);

/*
 * store_restriction_lookup - store_restriction_get, and also *ran_out:
 * the identity has a restriction that ran out by now but is not yet
 * moved to the history (store_expire does that).  *out is filled in
 * either case.
 */
int		store_restriction_lookup(store_t *st, const char *identity,
    int64_t now, store_restriction *out, bool *found, bool *ran_out,
    char *err, size_t errlen);

/*
 * store_restriction_put - restrict r->sr_identity (replacing a restriction
 * it may have) and append a history event of kind (RESTRICTED or BLOCKED)
 * with r's facts, dated r->sr_created_at.
 */
int		store_restriction_put(store_t *st, const store_restriction *r,
    store_event_kind kind, char *err, size_t errlen);

/*
 * store_restriction_put_at - the same, the event dated at: a block that
 * replaces a restriction keeps that restriction's start (sr_created_at)
 * but happens now.
 */
int		store_restriction_put_at(store_t *st,
    const store_restriction *r, store_event_kind kind, int64_t at,
    char *err, size_t errlen);

/*
 * store_restriction_clear - remove identity's restriction, append an
 * UNBLOCKED event by actor with reason, and reset its counters.  *found
 * tells whether there was a restriction in force.
 */
int		store_restriction_clear(store_t *st, const char *identity,
    int64_t now, const char *actor, const char *reason, bool *found,
    char *err, size_t errlen);

/*
 * store_expire - turn restrictions that ran out by now into EXPIRED events
 * and remove them, at most max rows (0 = no bound); identity NULL = all.
 * Each such identity's counters from before its restriction's end are
 * deleted with it: a restriction that runs out, like an unblock, starts
 * the sender's counts again.  *n (may be NULL) gets how many.
 */
int		store_expire(store_t *st, const char *identity, int64_t now,
    unsigned max, unsigned *n, char *err, size_t errlen);

/*
 * store_counts_get - sum identity's counters from bucket hour_from (hour
 * counts: sc_int_hour, sc_ext_hour, sc_spam_hour) and day_from (sc_day,
 * sc_spam_day) on, saturating at UINT32_MAX.
 */
int		store_counts_get(store_t *st, const char *identity,
    int64_t hour_from, int64_t day_from, store_counts *out,
    char *err, size_t errlen);

/*
 * store_counts_add - add d (recipients and spam messages) to identity's
 * bucket, and drop that identity's buckets before prune_before.  Adding
 * all zeros creates no row.
 */
int		store_counts_add(store_t *st, const char *identity,
    int64_t bucket, const store_delta *d, int64_t prune_before,
    char *err, size_t errlen);

/* store_counts_prune - drop every counter bucket before before, at most max
 * rows (0 = no bound); *n (may be NULL) gets how many. */
int		store_counts_prune(store_t *st, int64_t before, unsigned max,
    unsigned *n, char *err, size_t errlen);

/* store_event_add - append one history event (ALERTED and the like). */
int		store_event_add(store_t *st, store_event_kind kind,
    int64_t at, const store_restriction *facts, char *err, size_t errlen);

/* store_event_kind_name - "restricted", "expired", ... */
const char     *store_event_kind_name(store_event_kind kind);

/* ---- sendguardctl's queries (store_admin.c) ---- */

/* One event of the history, as store_history() reads it back. */
typedef struct store_event {
	int64_t		se_id;		/* insertion order */
	int64_t		se_at;		/* when it happened */
	store_event_kind se_kind;
	/* identity, reason, limit, value, count, expiry, client, queue id
	 * and actor; sr_created_at is se_at */
	store_restriction se_facts;
} store_event;

/* Where a page of store_history() ended: pass it back for the next one. */
typedef struct store_cursor {
	bool		sk_started;	/* false: from the newest event */
	int64_t		sk_at;
	int64_t		sk_id;
} store_cursor;

/* The window counts of one identity, as store_usage_top() ranks them. */
typedef struct store_usage {
	char		su_identity[STORE_IDENTITY_SIZE];
	store_counts	su_counts;
} store_usage;

/*
 * store_restriction_list - up to max restrictions in force at now whose
 * identity sorts after after ("" = from the first), in identity order,
 * into out[]; *n gets how many.  Fewer than max means the end; call again
 * with the last identity for the next page.
 */
int		store_restriction_list(store_t *st, int64_t now,
    const char *after, store_restriction *out, size_t max, size_t *n,
    char *err, size_t errlen);

/*
 * store_history - up to max events, newest first (by at, then insertion),
 * of identity (NULL = everyone) at or after since, continuing after *cur,
 * which is updated to the last event returned.  *n gets how many; fewer
 * than max means the end.
 */
int		store_history(store_t *st, const char *identity, int64_t since,
    store_cursor *cur, store_event *out, size_t max, size_t *n,
    char *err, size_t errlen);

/*
 * store_usage_top - the max identities with the most recipients since
 * day_from (ties: external then internal in the hour, then identity), with
 * their counts as store_counts_get() sums them.  *n gets how many.
 */
int		store_usage_top(store_t *st, int64_t hour_from, int64_t day_from,
    store_usage *out, size_t max, size_t *n, char *err, size_t errlen);

/* store_unblock_count - how many UNBLOCKED events identity has at or after
 * since that cleared a restriction the milter made, not a block by hand
 * (limit STORE_LIMIT_MANUAL): the admin's cap over 30 days.  A block that
 * replaces the milter's restriction keeps its limit, so it counts. */
int		store_unblock_count(store_t *st, const char *identity,
    int64_t since, unsigned *n, char *err, size_t errlen);

/*
 * store_identity_known - does the database hold anything of identity: a
 * restriction, counts or an event?  (sendguardctl: whether an identity a
 * delimiter would cut is known whole, as a SASL login is.)
 */
int		store_identity_known(store_t *st, const char *identity,
    bool *known, char *err, size_t errlen);

#endif
