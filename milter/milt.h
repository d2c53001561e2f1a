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

#include "../conf/conf.h"
#include "../store/store.h"

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

/* mlfi.c - register the callbacks with libmilter. */
int		milt_register(void);

#endif
