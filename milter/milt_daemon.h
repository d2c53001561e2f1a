/*
 * milt_daemon.h - running sendguard as a daemon: detaching, the pidfile,
 * dropping privileges (milt_daemon.c); the main thread's loop of signals,
 * reload and shutdown, and the count of messages in flight (milt_run.c);
 * background housekeeping of the database (milt_sweep.c).
 *
 * Errors: 0 / -1 with a message in the caller's buffer; the caller logs
 * and chooses the exit status.  Everything here except the in-flight count
 * and milt_sweep is called from the main thread only.
 */
#ifndef SENDGUARD_MILT_DAEMON_H
#define SENDGUARD_MILT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * milt_pidfile_lock - open path and take an exclusive lock on it, held
 * until the process exits.  A pidfile locked by a live sendguard is an
 * error naming its pid; an unlocked one is stale and will be replaced.
 */
int		milt_pidfile_lock(const char *path, char *err, size_t errlen);
/* milt_pidfile_write - write this process's pid into the locked file. */
int		milt_pidfile_write(char *err, size_t errlen);
/* milt_pidfile_remove - remove it at exit, if we wrote it (logs a failure). */
void		milt_pidfile_remove(void);

/*
 * milt_detach - fork and setsid.  The parent waits until the child
 * reports (milt_detach_report) and exits with the status the child sends,
 * printing its message on stderr, so that a start-up error is seen by
 * whoever started sendguard (and systemd's Type=forking gets a pidfile
 * that is already written).  Returns the child's report descriptor.
 */
int		milt_detach(char *err, size_t errlen);
/* milt_detach_report - tell the waiting parent: status 0 = running (stdio
 * then goes to /dev/null), or an exit status and a message. */
void		milt_detach_report(int fd, int status, const char *msg);

/* Whom to run as, resolved from the user and group keys at start-up. */
typedef struct milt_privs {
	bool		mp_user_set;	/* change the user */
	bool		mp_group_set;	/* change the group */
	uid_t		mp_uid;
	gid_t		mp_gid;
	char		mp_user[64];
} milt_privs;

/* milt_privs_resolve - look up user and group ("" = unchanged). */
int		milt_privs_resolve(const char *user, const char *group,
    milt_privs *p, char *err, size_t errlen);
/* milt_privs_chown - give a unix socket to the user and group, if set. */
int		milt_privs_chown(const milt_privs *p, const char *path,
    char *err, size_t errlen);
/*
 * milt_privs_drop - initgroups, setgid, setuid, each checked, then make
 * sure root cannot be regained.  Nothing to do if neither is set.
 */
int		milt_privs_drop(const milt_privs *p, char *err, size_t errlen);

/* The main thread's job once the socket is open (milt_run.c). */
typedef struct milt_run_opts {
	const char     *mr_conf_path;	/* re-read on SIGHUP */
	const char     *mr_socket;	/* the spec listened on */
	bool		mr_foreground;	/* -f: log to stderr too */
	int		mr_report_fd;	/* milt_detach's, or -1 */
} milt_run_opts;

/*
 * milt_run - start the alert, housekeeping and milter threads, then serve
 * signals until SIGTERM or SIGINT: SIGHUP reloads the configuration.
 * Returns the exit status (0 after a clean stop).
 */
int		milt_run(const milt_run_opts *o);

/* Messages in flight, for a bounded drain at shutdown.  *flag is the
 * connection's own mark, so that begin/end pair up whatever the path. */
void		milt_inflight_begin(bool *flag);
void		milt_inflight_end(bool *flag);
/* milt_draining - has a shutdown begun (no new connection or message)? */
bool		milt_draining(void);

/* milt_sweep.c - expiry and pruning in small batches, in a thread. */
int		milt_sweep_start(char *err, size_t errlen);
void		milt_sweep_stop(void);

#endif
