/*
 * milt.h - the daemon's internal interfaces, shared by the files of
 * milter/: logging, the reference-counted configuration generation, the
 * pool of store handles and the listening socket.
 *
 * Errors: functions return 0 / -1 (or NULL) and log nothing themselves
 * unless their contract says so; the callbacks in mlfi.c decide what a
 * failure means for the message and answer the MTA.
 */
#ifndef SENDGUARD_MILT_H
#define SENDGUARD_MILT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#include "../conf/conf.h"
#include "../store/store.h"

/* milt_mono_ms - the monotonic clock in milliseconds, for deadlines */
static inline int64_t
milt_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define SENDGUARD_VERSION	"0.1.0"

/* milt_log.c - syslog with the configured facility; with -f on stderr too. */
void		milt_log_open(int facility, bool to_stderr);
void		milt_log_close(void);
__attribute__((format(printf, 2, 3)))
void		milt_log(int priority, const char *fmt, ...);
/*
 * milt_printable - copy in to out (outlen > 0) with every byte that is not
 * printable ASCII replaced by '?', truncated with "..." if it does not fit:
 * untrusted text is cleaned before it reaches a log line.  Returns out.
 */
char	       *milt_printable(const char *in, char *out, size_t outlen);

/* A configuration generation, pinned by every connection that uses it. */
typedef struct milt_conf {
	conf_t	       *mc_conf;
	unsigned	mc_refs;	/* guarded by the module's lock */
	/* The reply lines with '%' doubled, as libmilter wants them. */
	char	       *mc_reply[CONF_REPLY_LINES_MAX];
	size_t		mc_nreply;
} milt_conf;

/* milt_conf_install - make c the current generation (takes ownership). */
int		milt_conf_install(conf_t *c, char *err, size_t errlen);
/* milt_conf_acquire - pin the current generation; never NULL after install. */
milt_conf      *milt_conf_acquire(void);
/* milt_conf_release - unpin; the last release of a replaced one frees it. */
void		milt_conf_release(milt_conf *mc);
/* milt_conf_shutdown - drop the current generation (at exit). */
void		milt_conf_shutdown(void);
/*
 * milt_conf_warnings - each valid setting of c that is likely a mistake,
 * handed to emit in turn (text without a trailing newline, valid during
 * the call): a recipient_delimiter that merges user names, a
 * busy_timeout_ms past the MTA's patience, a policy entry that an earlier
 * policy shadows.  Returns how many.
 */
#define MILT_WARNING_SIZE	1024
/* A message whose sender a parallel message is restricting waits for that
 * write: its waits take at most twice busy_timeout_ms (a handle, then the
 * write lock) plus this, in all, however often it is judged again. */
#define MILT_MARK_SLACK_MS	1000
typedef void	(*milt_warn_fn)(void *arg, const char *text);
unsigned	milt_conf_warnings(const conf_t *c, milt_warn_fn emit,
    void *arg);
/* milt_conf_log_warnings - log each warning at LOG_WARNING, after path. */
void		milt_conf_log_warnings(const conf_t *c, const char *path);

/* milt_pool.c - store handles for libmilter's threads. */
int		milt_pool_init(const char *path, int busy_timeout_ms,
    char *err, size_t errlen);
/*
 * milt_pool_get - a store handle for this thread's exclusive use, opened
 * (creating the database if needed) when the pool is empty.  NULL with err
 * and *kind filled on failure.
 */
store_t	       *milt_pool_get(char *err, size_t errlen, store_errkind_t *kind);
/* milt_pool_put - give a handle back; healthy = false closes it instead,
 * so the next message opens the database afresh. */
void		milt_pool_put(store_t *st, bool healthy);
void		milt_pool_shutdown(void);

/*
 * milt_count.c - this process's counts not in the database yet, and the
 * thread that writes them (see the file for the ordering argument).
 * milt_count_start/stop: the writer thread; stop writes what is left
 * (bounded retries) and, with free_memory, frees the table.
 * milt_count_read_begin/end bracket a message's database read and its
 * look at the pending counts, so the two agree.  milt_count_lock/unlock
 * guard the table: pending (the sender's counts for the windows, true if a
 * restriction of the sender is being written), add (-1: the table or the
 * sender's minute slots are full, or the writer has stopped), mark (a
 * restriction is being written; -1: full) need it held.
 * milt_count_unmark lifts the mark once the restriction is written (or
 * failed); call it holding nothing.  milt_count_wait_unmarked waits, holding
 * nothing, up to timeout_ms for the identity's mark to be lifted (true if
 * it was).  milt_count_failing: true with err if the last write of counts
 * failed.
 */
int		milt_count_start(char *err, size_t errlen);
void		milt_count_stop(bool free_memory);
void		milt_count_read_begin(void);
void		milt_count_read_end(void);
void		milt_count_lock(void);
void		milt_count_unlock(void);
bool		milt_count_pending(const char *identity, int64_t hour_from,
    int64_t day_from, store_counts *sum);
int		milt_count_add(const char *identity, int64_t bucket,
    const store_delta *d);
int		milt_count_mark(const char *identity);
void		milt_count_unmark(const char *identity);
bool		milt_count_wait_unmarked(const char *identity,
    unsigned timeout_ms);
bool		milt_count_failing(char *err, size_t errlen);

/*
 * milt_socket_prepare - before listening on a unix socket: a stale socket
 * file left by a crash is removed; a live one (another milter answers) is
 * an error, as is a path that is not a socket.  inet sockets: nothing to do.
 */
int		milt_socket_prepare(const char *spec, char *err, size_t errlen);
/* milt_socket_path - the file of a unix:/local: spec, or NULL. */
const char     *milt_socket_path(const char *spec);

/*
 * milt_xtext_decode - decode the xtext string in ("+XX" hex escapes, as
 * Sendmail sends {auth_authen}) into out.  0 on success; -1 if in is not
 * well-formed xtext (a '+' without two upper-case hex digits, or "+00") or
 * the result does not fit in outlen bytes.
 */
int		milt_xtext_decode(const char *in, char *out, size_t outlen);
/* milt_spam.c - one message's spam verdict: the header values the rules
 * read, the message as the MTA delivered it (for spamd), the verdict. */
typedef struct milt_spam_msg {
	char	       *sm_hdr[POL_SPAM_HEADERS_MAX];	/* first occurrence */
	char		sm_cut[POL_SPAM_NAME_SIZE];	/* a value cut, for logs */
	bool		sm_judged;	/* header rules applied */
	pol_spam_result	sm_result;	/* their verdict, then spamd's */
	bool		sm_collect;	/* keeping the message for spamd */
	bool		sm_body;	/* the header/body separator is in */
	char	       *sm_buf;		/* the message, at most max_size */
	size_t		sm_len, sm_cap;
	size_t		sm_size;	/* bytes the MTA sent, even if more */
	char		sm_why[200];	/* where the verdict came from */
} milt_spam_msg;

/* milt_spam_start - a new message: collect for spamd if c has one. */
void		milt_spam_start(milt_spam_msg *sm, const conf_t *c);
/* milt_spam_free - forget the message (frees what it holds; reusable). */
void		milt_spam_free(milt_spam_msg *sm);
/* milt_spam_header - one header: keep it if a rule reads it, append it
 * to the copy for spamd. */
void		milt_spam_header(milt_spam_msg *sm, const conf_t *c,
    const char *name, const char *value);
/* milt_spam_body - a body chunk, for spamd. */
void		milt_spam_body(milt_spam_msg *sm, const conf_t *c,
    const unsigned char *chunk, size_t len);
/*
 * milt_spam_verdict - at end of message: the header rules' verdict, else
 * spamd's (bounded by spam.timeout_ms), else none (unscanned).  Logs
 * malformed values (qid and idlog name the message).  sm->sm_why says
 * where the verdict came from.
 */
pol_spam_verdict milt_spam_verdict(milt_spam_msg *sm, const conf_t *c,
    const char *qid, const char *idlog);

/* milt_spamd.c - SpamAssassin's spamd, over SPAMC/1.5. */
/*
 * milt_spamd_check - send the len bytes of msg to spamd (CHECK) and parse
 * the answer into *res; the whole exchange, connect included, ends by
 * timeout_ms.  POL_SPAM_NONE with err filled when spamd cannot answer.
 */
pol_spam_verdict milt_spamd_check(const conf_spamd *sd, int timeout_ms,
    const char *msg, size_t len, pol_spam_result *res, char *err,
    size_t errlen);
/* milt_spamd_warn - log that spamd failed, at most once a minute. */
void		milt_spamd_warn(const conf_spamd *sd, const char *err);

/* mlfi.c - register the callbacks with libmilter.  Once, before
 * smfi_main. */
int		milt_register(void);

#endif
