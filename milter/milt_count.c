/*
 * milt_count.c - recipient counts kept in memory until a thread of their
 * own writes them to the database, many messages per transaction.
 *
 * End-of-message used to take the process's writer lock and run one write
 * transaction per message; the milter's threads queued for that lock, and
 * it capped the milter at half the rate of a milter doing nothing.  Now a
 * message is judged on a read of the database plus the counts of this
 * process that the database does not hold yet ("pending"), and its own
 * counts join the pending ones.  The writer thread takes every pending
 * count, writes them in one transaction, and forgets them once committed.
 *
 * Exactness: a reader must see each pending count either in the database
 * or in memory, never in both and never in neither.  The writer's COMMIT
 * and its forgetting of what it wrote happen under the "barrier" held
 * exclusively; a message's database read and its look at the pending
 * counts happen under the barrier held shared.  The barrier prefers
 * writers, so a steady stream of messages cannot starve the commit.  A
 * sender being restricted is marked here until its restriction is
 * committed, and the mark is lifted under the barrier too, so a parallel
 * message of that sender sees the mark or the row: seeing the mark, it
 * waits for the mark to go (milt_count_wait_unmarked) and is judged
 * again, and reads the row, or no row if the write failed.
 *
 * What a crash loses: counts not written yet, at most one transaction's
 * worth: the counts of the last CNT_GATHER_MS or so (a count waits that
 * long for company unless CNT_GATHER rows are waiting, and a busy writer's
 * next batch waits for its transaction).  A stop writes everything first.
 * While the database refuses the writes, milt_count_failing() says so and
 * a message's judgement treats it as a database error (on_store_error), so
 * the memory held stays bounded by the messages in flight.
 *
 * Thread-safety: everything here is safe from any thread; the functions
 * marked "under the lock" need milt_count_lock() held by the caller.
 */
#define _GNU_SOURCE		/* pthread_rwlockattr_setkind_np */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milt.h"

#define CNT_HASH_SIZE	65536	/* chains; a power of two */
#define CNT_SLOTS	4	/* minute buckets per sender in memory */
#define CNT_MAX_SENDERS	100000	/* senders with pending counts, at most */
#define CNT_BATCH_MAX	4096	/* bucket rows per write transaction */
#define CNT_GATHER	64	/* fewer rows waiting: gather ... */
#define CNT_GATHER_MS	20	/* ... up to this long */
#define CNT_RETRY_MS	250	/* after a failed write */
#define CNT_STOP_TRIES	3	/* writes tried at stop before giving up */

struct cnt_slot {
	int64_t		cs_bucket;
	store_delta	cs_queued;	/* not taken by the writer yet */
	store_delta	cs_writing;	/* in the writer's open transaction */
};

struct cnt_sender {
	struct cnt_sender *cn_next;	/* hash chain */
	struct cnt_sender *cn_dnext;	/* queued list */
	bool		cn_queued;	/* on the queued list */
	bool		cn_marked;	/* a restriction is being written */
	struct cnt_slot	cn_slot[CNT_SLOTS];
	char		cn_identity[];
};

struct cnt_item {			/* one row of the writer's batch */
	struct cnt_sender *ci_sender;
	int64_t		ci_bucket;
	store_delta	ci_delta;
};

static pthread_rwlock_t cnt_barrier;
static pthread_mutex_t cnt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cnt_cond;		/* work for the writer, or stop */
static pthread_cond_t cnt_unmarked;	/* a mark was lifted */
/* All below: under cnt_lock. */
static struct cnt_sender *cnt_hash[CNT_HASH_SIZE];
static struct cnt_sender *cnt_queue;	/* senders with queued counts */
static unsigned cnt_nqueued;		/* slots with queued counts */
static unsigned cnt_nsenders;
static bool cnt_writer_idle;		/* waiting for work: signal it */
static bool cnt_writer_gathering;	/* gathering: signal at CNT_GATHER */
static bool cnt_stopping;
static bool cnt_writer_gone;		/* nothing added now would be written */
static atomic_bool cnt_failing;	/* the last write failed; written
					 * under the lock, read without */
static char cnt_err[600];		/* its error */
/* The writer's own. */
static pthread_t cnt_tid;
static bool cnt_running;
static struct cnt_item *cnt_batch;

/* ---- the table ---- */

static size_t
cnt_hash_of(const char *s)
{
	size_t h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h & (CNT_HASH_SIZE - 1);
}

static struct cnt_sender *
cnt_find(const char *identity, bool create)
{
	struct cnt_sender **pp = &cnt_hash[cnt_hash_of(identity)], *n;
	size_t len;

	for (n = *pp; n != NULL; n = n->cn_next)
		if (strcmp(n->cn_identity, identity) == 0)
			return n;
	if (!create || cnt_nsenders >= CNT_MAX_SENDERS)
		return NULL;
	len = strlen(identity);
	if ((n = calloc(1, sizeof(*n) + len + 1)) == NULL)
		return NULL;
	memcpy(n->cn_identity, identity, len + 1);
	n->cn_next = *pp;
	*pp = n;
	cnt_nsenders++;
	return n;
}

static bool
delta_zero(const store_delta *d)
{
	return d->sd_int == 0 && d->sd_ext == 0 && d->sd_spam == 0;
}

static void
delta_add(store_delta *to, const store_delta *d)
{
	to->sd_int = pol_sat_add(to->sd_int, d->sd_int);
	to->sd_ext = pol_sat_add(to->sd_ext, d->sd_ext);
	to->sd_spam = pol_sat_add(to->sd_spam, d->sd_spam);
}

static bool
slot_free(const struct cnt_slot *s)
{
	return delta_zero(&s->cs_queued) && delta_zero(&s->cs_writing);
}

/* cnt_release - free n if it holds nothing any more */
static void
cnt_release(struct cnt_sender *n)
{
	struct cnt_sender **pp;
	unsigned i;

	if (n->cn_marked || n->cn_queued)
		return;
	for (i = 0; i < CNT_SLOTS; i++)
		if (!slot_free(&n->cn_slot[i]))
			return;
	for (pp = &cnt_hash[cnt_hash_of(n->cn_identity)]; *pp != n;
	    pp = &(*pp)->cn_next)
		;
	*pp = n->cn_next;
	cnt_nsenders--;
	free(n);
}

/* ---- what a message's judgement uses (mlfi_judge.c: judge_pass) ---- */

void
milt_count_read_begin(void)
{
	pthread_rwlock_rdlock(&cnt_barrier);
}

void
milt_count_read_end(void)
{
	pthread_rwlock_unlock(&cnt_barrier);
}

void
milt_count_lock(void)
{
	pthread_mutex_lock(&cnt_lock);
}

void
milt_count_unlock(void)
{
	pthread_mutex_unlock(&cnt_lock);
}

/* under the lock */
bool
milt_count_pending(const char *identity, int64_t hour_from, int64_t day_from,
    store_counts *sum)
{
	const struct cnt_sender *n = cnt_find(identity, false);
	const struct cnt_slot *s;
	store_delta d;
	unsigned i;

	memset(sum, 0, sizeof(*sum));
	if (n == NULL)
		return false;
	for (i = 0; i < CNT_SLOTS; i++) {
		s = &n->cn_slot[i];
		if (slot_free(s))
			continue;
		d = s->cs_queued;
		delta_add(&d, &s->cs_writing);
		if (s->cs_bucket >= hour_from) {
			sum->sc_int_hour = pol_sat_add(sum->sc_int_hour, d.sd_int);
			sum->sc_ext_hour = pol_sat_add(sum->sc_ext_hour, d.sd_ext);
			sum->sc_spam_hour = pol_sat_add(sum->sc_spam_hour,
			    d.sd_spam);
		}
		if (s->cs_bucket >= day_from) {
			sum->sc_day = pol_sat_add(sum->sc_day,
			    pol_sat_add(d.sd_int, d.sd_ext));
			sum->sc_spam_day = pol_sat_add(sum->sc_spam_day,
			    d.sd_spam);
		}
	}
	return n->cn_marked;
}

/* under the lock */
int
milt_count_add(const char *identity, int64_t bucket, const store_delta *d)
{
	struct cnt_sender *n;
	struct cnt_slot *s = NULL;
	unsigned i;

	if (delta_zero(d))
		return 0;
	if (cnt_writer_gone || (n = cnt_find(identity, true)) == NULL)
		return -1;
	for (i = 0; i < CNT_SLOTS && s == NULL; i++)
		if (n->cn_slot[i].cs_bucket == bucket &&
		    !slot_free(&n->cn_slot[i]))
			s = &n->cn_slot[i];
	for (i = 0; i < CNT_SLOTS && s == NULL; i++)
		if (slot_free(&n->cn_slot[i])) {
			s = &n->cn_slot[i];
			s->cs_bucket = bucket;
		}
	if (s == NULL) {
		cnt_release(n);
		return -1;
	}
	if (delta_zero(&s->cs_queued))
		cnt_nqueued++;
	delta_add(&s->cs_queued, d);
	if (!n->cn_queued) {
		n->cn_queued = true;
		n->cn_dnext = cnt_queue;
		cnt_queue = n;
	}
	if (cnt_writer_idle ||
	    (cnt_writer_gathering && cnt_nqueued >= CNT_GATHER)) {
		cnt_writer_idle = false;
		cnt_writer_gathering = false;
		pthread_cond_signal(&cnt_cond);
	}
	return 0;
}

/* under the lock */
int
milt_count_mark(const char *identity)
{
	struct cnt_sender *n = cnt_find(identity, true);

	if (n == NULL)
		return -1;
	n->cn_marked = true;
	return 0;
}

void
milt_count_unmark(const char *identity)
{
	struct cnt_sender *n;

	pthread_rwlock_wrlock(&cnt_barrier);
	pthread_mutex_lock(&cnt_lock);
	if ((n = cnt_find(identity, false)) != NULL) {
		n->cn_marked = false;
		cnt_release(n);
	}
	pthread_cond_broadcast(&cnt_unmarked);
	pthread_mutex_unlock(&cnt_lock);
	pthread_rwlock_unlock(&cnt_barrier);
}

/* deadline_after - *until = the monotonic clock (the condition variables'
 * clock) ms milliseconds from now */
static void
deadline_after(unsigned ms, struct timespec *until)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000;
	until->tv_sec += until->tv_nsec / 1000000000;
	until->tv_nsec %= 1000000000;
}

bool
milt_count_wait_unmarked(const char *identity, unsigned timeout_ms)
{
	const struct cnt_sender *n;
	struct timespec until;
	bool marked;

	deadline_after(timeout_ms, &until);
	pthread_mutex_lock(&cnt_lock);
	while ((n = cnt_find(identity, false)) != NULL && n->cn_marked &&
	    pthread_cond_timedwait(&cnt_unmarked, &cnt_lock, &until) !=
	    ETIMEDOUT)
		;
	n = cnt_find(identity, false);
	marked = n != NULL && n->cn_marked;
	pthread_mutex_unlock(&cnt_lock);
	return !marked;
}

bool
milt_count_failing(char *err, size_t errlen)
{
	if (!atomic_load(&cnt_failing))
		return false;
	pthread_mutex_lock(&cnt_lock);
	snprintf(err, errlen, "%s", cnt_err);
	pthread_mutex_unlock(&cnt_lock);
	return true;
}

/* ---- the writer ---- */

/* take_batch - move queued counts to "writing", at most CNT_BATCH_MAX
 * rows, into cnt_batch; under the lock.  Returns the number of rows. */
static size_t
take_batch(void)
{
	struct cnt_sender *n;
	struct cnt_slot *s;
	size_t k = 0;
	unsigned i;

	while ((n = cnt_queue) != NULL && k + CNT_SLOTS <= CNT_BATCH_MAX) {
		cnt_queue = n->cn_dnext;
		n->cn_queued = false;
		for (i = 0; i < CNT_SLOTS; i++) {
			s = &n->cn_slot[i];
			if (delta_zero(&s->cs_queued))
				continue;
			cnt_batch[k].ci_sender = n;
			cnt_batch[k].ci_bucket = s->cs_bucket;
			cnt_batch[k].ci_delta = s->cs_queued;
			delta_add(&s->cs_writing, &s->cs_queued);
			memset(&s->cs_queued, 0, sizeof(s->cs_queued));
			cnt_nqueued--;
			k++;
		}
	}
	return k;
}

static struct cnt_slot *
slot_of(struct cnt_sender *n, int64_t bucket)
{
	unsigned i;

	for (i = 0; i < CNT_SLOTS; i++)
		if (n->cn_slot[i].cs_bucket == bucket &&
		    !delta_zero(&n->cn_slot[i].cs_writing))
			return &n->cn_slot[i];
	return NULL;		/* not reached: the writer's rows stay */
}

/* end_batch - after the commit (written: forget the rows) or a failure
 * (queue them again); under the lock.  A sender's rows are adjacent in
 * the batch, so each sender left empty is freed once, after its last. */
static void
end_batch(size_t k, bool written)
{
	struct cnt_slot *s;
	struct cnt_sender *n;
	size_t i;

	for (i = 0; i < k; i++) {
		n = cnt_batch[i].ci_sender;
		if ((s = slot_of(n, cnt_batch[i].ci_bucket)) == NULL)
			continue;
		if (!written) {
			if (delta_zero(&s->cs_queued))
				cnt_nqueued++;
			delta_add(&s->cs_queued, &s->cs_writing);
			if (!n->cn_queued) {
				n->cn_queued = true;
				n->cn_dnext = cnt_queue;
				cnt_queue = n;
			}
		}
		memset(&s->cs_writing, 0, sizeof(s->cs_writing));
	}
	for (i = 0; written && i < k; i++)
		if (i + 1 == k || cnt_batch[i + 1].ci_sender !=
		    cnt_batch[i].ci_sender)
			cnt_release(cnt_batch[i].ci_sender);
}

/* write_batch - one transaction for k rows; 0, or -1 with err */
static int
write_batch(size_t k, char *err, size_t errlen)
{
	store_errkind_t kind;
	int64_t prune_before = pol_window_start(
	    (int64_t)time(NULL), POL_DAY_BUCKETS);
	store_t *st;
	size_t i;
	int rc = -1;

	if ((st = milt_pool_get(err, errlen, &kind)) == NULL)
		return -1;
	if (store_begin(st, true, err, errlen) != 0)
		goto out;
	for (i = 0; i < k; i++)
		if (store_counts_add(st, cnt_batch[i].ci_sender->cn_identity,
		    cnt_batch[i].ci_bucket, &cnt_batch[i].ci_delta,
		    prune_before, err, errlen) != 0)
			goto out;
	/* The commit and the forgetting, as one step for the readers. */
	pthread_rwlock_wrlock(&cnt_barrier);
	rc = store_commit(st, err, errlen);
	if (rc == 0) {
		pthread_mutex_lock(&cnt_lock);
		end_batch(k, true);
		pthread_mutex_unlock(&cnt_lock);
	}
	pthread_rwlock_unlock(&cnt_barrier);
out:
	if (rc != 0)
		store_rollback(st);
	milt_pool_put(st, rc == 0);
	return rc;
}

/* wait_ms - wait on the condition up to ms (0: until signalled); under
 * the lock */
static void
wait_ms(unsigned ms)
{
	struct timespec until;

	if (ms == 0) {
		pthread_cond_wait(&cnt_cond, &cnt_lock);
		return;
	}
	deadline_after(ms, &until);
	(void)pthread_cond_timedwait(&cnt_cond, &cnt_lock, &until);
}

/*
 * writer_thread - write what is queued; under load, what arrived during
 * one transaction makes the next one.  Fewer than CNT_GATHER rows wait up
 * to CNT_GATHER_MS for company, so the MTA's usual rates (hundreds of
 * messages a second) cost a transaction every CNT_GATHER_MS, not one per
 * message: each commit is a write to the log, and it makes every reader
 * handle read its pages again.  The CNT_GATHER-th row ends the wait, so
 * batches stay small (and the commit's hold of the barrier short) when
 * thousands of messages a second come.  A failure is logged (once a minute
 * at most), makes milt_count_failing() true, and is retried every
 * CNT_RETRY_MS.
 */
static void *
writer_thread(void *arg)
{
	char err[512];
	time_t logged = 0, now;
	unsigned lost_tries = 0, senders;
	size_t k;
	bool lost;

	(void)arg;
	pthread_mutex_lock(&cnt_lock);
	for (;;) {
		while (cnt_nqueued == 0 && !cnt_stopping) {
			cnt_writer_idle = true;
			wait_ms(0);
		}
		cnt_writer_idle = false;
		if (cnt_nqueued == 0 && cnt_stopping)
			break;
		if (cnt_nqueued < CNT_GATHER && !cnt_stopping &&
		    !atomic_load(&cnt_failing)) {
			cnt_writer_gathering = true;
			wait_ms(CNT_GATHER_MS);
			cnt_writer_gathering = false;
		}
		k = take_batch();
		pthread_mutex_unlock(&cnt_lock);

		if (write_batch(k, err, sizeof(err)) == 0) {
			/* logged outside the lock: syslog may block */
			if (atomic_exchange(&cnt_failing, false))
				milt_log(LOG_INFO, "counts: the database takes "
				    "writes again");
			lost_tries = 0;
			pthread_mutex_lock(&cnt_lock);
			continue;
		}
		pthread_mutex_lock(&cnt_lock);
		end_batch(k, false);
		snprintf(cnt_err, sizeof(cnt_err), "writing counts: %s", err);
		atomic_store(&cnt_failing, true);
		senders = cnt_nsenders;
		lost = cnt_stopping && ++lost_tries >= CNT_STOP_TRIES;
		if (lost)
			cnt_writer_gone = true;
		pthread_mutex_unlock(&cnt_lock);
		now = time(NULL);
		if (now - logged >= 60 || lost_tries > 0) {
			milt_log(LOG_ERR, "counts: cannot write the counts of "
			    "%u sender(s): %s; until they are written, "
			    "on_store_error applies to every message; "
			    "retrying", senders, err);
			logged = now;
		}
		if (lost) {
			milt_log(LOG_ERR, "counts: stopping with the counts "
			    "of %u sender(s) not written, and lost: %s",
			    senders, err);
			return NULL;
		}
		pthread_mutex_lock(&cnt_lock);
		wait_ms(CNT_RETRY_MS);
	}
	cnt_writer_gone = true;
	pthread_mutex_unlock(&cnt_lock);
	return NULL;
}

int
milt_count_start(char *err, size_t errlen)
{
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	int e;

	pthread_rwlockattr_init(&ra);
	/* A commit must not wait for a gap in a stream of readers. */
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&cnt_barrier, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cnt_cond, &ca);
	pthread_cond_init(&cnt_unmarked, &ca);
	pthread_condattr_destroy(&ca);
	if ((cnt_batch = calloc(CNT_BATCH_MAX, sizeof(*cnt_batch))) == NULL) {
		snprintf(err, errlen, "cannot start the counts writer: out of "
		    "memory");
		return -1;
	}
	if ((e = pthread_create(&cnt_tid, NULL, writer_thread, NULL)) != 0) {
		snprintf(err, errlen, "cannot start the counts writer: %s",
		    strerror(e));
		free(cnt_batch);
		cnt_batch = NULL;
		return -1;
	}
	cnt_running = true;
	return 0;
}

void
milt_count_stop(bool free_memory)
{
	struct cnt_sender *n;
	size_t i;

	if (!cnt_running)
		return;
	pthread_mutex_lock(&cnt_lock);
	cnt_stopping = true;
	pthread_cond_signal(&cnt_cond);
	pthread_mutex_unlock(&cnt_lock);
	pthread_join(cnt_tid, NULL);
	cnt_running = false;
	if (!free_memory)
		return;
	for (i = 0; i < CNT_HASH_SIZE; i++)
		while ((n = cnt_hash[i]) != NULL) {
			cnt_hash[i] = n->cn_next;
			free(n);
		}
	cnt_queue = NULL;
	cnt_nqueued = cnt_nsenders = 0;
	free(cnt_batch);
	cnt_batch = NULL;
}
