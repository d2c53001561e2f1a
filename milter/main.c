/*
 * main.c - sendguard's start-up: options, configuration, the pidfile, the
 * socket, detaching, dropping root, the database check, then the main
 * thread's loop (milt_run.c).
 *
 * The order matters: the pidfile is locked and the socket opened while
 * still root (both may live in root's directories); then the process
 * detaches (before any thread exists), writes its pid and drops to
 * user/group; only then is the database opened and created, so that the
 * file and its -wal and -shm companions belong to the user who will write
 * them, and a database that user cannot write is found now, not at the
 * first message.
 *
 * Start-up is the only place sendguard exits on an error, with a sysexits
 * status: 64 usage, 78 configuration, 69 database, socket or pidfile
 * unavailable, 71 system error, 77 privileges cannot be dropped.  Once
 * it serves mail, every failure is handled per message (see mlfi.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milt.h"
#include "milt_daemon.h"

/* usage - the synopsis, on stderr */
static void
usage(void)
{
	fprintf(stderr, "usage: sendguard [-c FILE] [-f] [-n] [-p SOCKET] [-V]\n"
	    "  -c FILE    configuration file (default %s)\n"
	    "  -f         stay in the foreground and log to stderr too\n"
	    "  -n         check the configuration and exit\n"
	    "  -p SOCKET  listen on SOCKET (unix:/path, inet:PORT@HOST, ...)\n"
	    "  -V         print the version and exit\n", CONF_DEFAULT_FILE);
}

/* print_warning - milt_warn_fn for -n: "FILE: warning: TEXT" on stdout */
static void
print_warning(void *arg, const char *text)
{
	printf("%s: warning: %s\n", (const char *)arg, text);
}

/* check_database - open (creating) the database once, so that a wrong path
 * or a foreign file is found at start-up rather than at the first message */
static int
check_database(const conf_t *c, char *err, size_t errlen)
{
	store_opts opts = { .so_busy_timeout_ms = conf_busy_timeout_ms(c),
	    .so_create = true };
	store_t *st = NULL;

	if (store_open(conf_database(c), &opts, &st, err, errlen) != 0) {
		store_close(st);
		return -1;
	}
	store_close(st);
	return 0;
}

/* Start-up state that the failure path must undo. */
static const char *milt_sock_path;	/* a unix socket we created */
static int milt_report_fd = -1;		/* milt_detach's, or -1 */
static bool milt_foreground;		/* -f: the log goes to stderr too */

/* startup_failed - log, tell a waiting parent, undo, and give the status */
__attribute__((format(printf, 2, 3)))
static int
startup_failed(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	milt_log(LOG_ERR, "%s", msg);
	if (milt_report_fd >= 0)
		milt_detach_report(milt_report_fd, status, msg);
	else if (!milt_foreground)
		fprintf(stderr, "sendguard: %s\n", msg);
	if (milt_sock_path != NULL)
		(void)unlink(milt_sock_path);
	milt_pidfile_remove();
	return status;
}

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_FILE, *sock_override = NULL;
	char sock[1024];
	bool foreground = false, check_only = false;
	char err[1024];
	milt_privs privs;
	milt_run_opts ro;
	conf_t *c;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:fnp:Vh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'p':
			sock_override = optarg;
			break;
		case 'V':
			printf("sendguard %s\n", SENDGUARD_VERSION);
			return EX_OK;
		case 'h':
			usage();
			return EX_OK;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EX_USAGE;
	}

	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (sock_override != NULL &&
	    !conf_socket_valid(sock_override, err, sizeof(err))) {
		fprintf(stderr, "sendguard: -p %s: %s\n", sock_override, err);
		conf_free(c);
		return EX_USAGE;
	}
	if (milt_privs_resolve(conf_user_name(c), conf_group_name(c), &privs,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		conf_free(c);
		return EX_CONFIG;
	}
	if (check_only) {
		(void)milt_conf_warnings(c, print_warning, (void *)path);
		printf("%s: configuration is valid\n", path);
		conf_free(c);
		return EX_OK;
	}
	/* A copy: the conf_t goes away at shutdown, before the unlink. */
	snprintf(sock, sizeof(sock), "%s",
	    sock_override != NULL ? sock_override : conf_socket(c));

	milt_foreground = foreground;
	milt_log_open(conf_log_facility(c), foreground);
	/* In the foreground a supervisor knows the pid: no pidfile. */
	if (!foreground && conf_pidfile(c)[0] != '\0' &&
	    milt_pidfile_lock(conf_pidfile(c), err, sizeof(err)) != 0)
		return startup_failed(EX_UNAVAILABLE, "%s", err);

	if (milt_socket_prepare(sock, err, sizeof(err)) != 0)
		return startup_failed(EX_UNAVAILABLE, "%s", err);
	if (smfi_setconn(sock) != MI_SUCCESS || milt_register() != 0 ||
	    smfi_opensocket(false) != MI_SUCCESS)
		return startup_failed(EX_UNAVAILABLE, "cannot listen on %s: %s",
		    sock, errno != 0 ? strerror(errno) : "libmilter refused it");
	milt_sock_path = milt_socket_path(sock);
	/* smfi_opensocket created it with our umask; the MTA must get in. */
	if (milt_sock_path != NULL &&
	    chmod(milt_sock_path, (mode_t)conf_socket_mode(c)) != 0)
		return startup_failed(EX_UNAVAILABLE, "%s: cannot set mode "
		    "%04o: %s", milt_sock_path, conf_socket_mode(c),
		    strerror(errno));
	if (milt_sock_path != NULL &&
	    milt_privs_chown(&privs, milt_sock_path, err, sizeof(err)) != 0)
		return startup_failed(EX_UNAVAILABLE, "%s", err);

	if (!foreground) {
		if ((milt_report_fd = milt_detach(err, sizeof(err))) < 0)
			return startup_failed(EX_OSERR, "%s", err);
		if (milt_pidfile_write(err, sizeof(err)) != 0)
			return startup_failed(EX_UNAVAILABLE, "%s", err);
	}
	if (milt_privs_drop(&privs, err, sizeof(err)) != 0)
		return startup_failed(EX_NOPERM, "cannot drop privileges: %s",
		    err);

	if (check_database(c, err, sizeof(err)) != 0)
		return startup_failed(EX_UNAVAILABLE, "cannot use the database: "
		    "%s", err);
	if (milt_pool_init(conf_database(c), conf_busy_timeout_ms(c), err,
	    sizeof(err)) != 0)
		return startup_failed(EX_UNAVAILABLE, "%s", err);
	milt_log(LOG_INFO, "sendguard %s starting: socket %s, database %s, "
	    "configuration %s, uid %ld, gid %ld", SENDGUARD_VERSION, sock,
	    conf_database(c), path, (long)getuid(), (long)getgid());
	milt_conf_log_warnings(c, path);
	if (milt_conf_install(c, err, sizeof(err)) != 0)
		return startup_failed(EX_OSERR, "%s", err);

	ro.mr_conf_path = path;
	ro.mr_socket = sock;
	ro.mr_foreground = foreground;
	ro.mr_report_fd = milt_report_fd;
	rc = milt_run(&ro);

	milt_pidfile_remove();
	if (milt_sock_path != NULL && unlink(milt_sock_path) != 0 &&
	    errno != ENOENT)
		milt_log(LOG_WARNING, "%s: cannot remove the socket: %s; the "
		    "next start removes it", milt_sock_path, strerror(errno));
	milt_log_close();
	return rc;
}
