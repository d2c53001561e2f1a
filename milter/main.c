/*
 * main.c - sendguard's start-up: options, configuration, the database
 * check, the socket, and handing over to libmilter.
 *
 * Start-up is the only place sendguard exits on an error, with a sysexits
 * status: 64 usage, 78 configuration, 69 database or socket unavailable,
 * 71 system error.  Once smfi_main() runs, every failure is handled per
 * message (see mlfi.c).  libmilter owns SIGHUP/SIGTERM/SIGINT while it
 * runs and returns from smfi_main() on them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milt.h"

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

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_FILE, *sock_override = NULL;
	char sock[1024];
	bool foreground = false, check_only = false;
	char err[1024];
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
	if (check_only) {
		printf("%s: configuration is valid\n", path);
		conf_free(c);
		return EX_OK;
	}
	/* A copy: the conf_t goes away at shutdown, before the unlink. */
	snprintf(sock, sizeof(sock), "%s",
	    sock_override != NULL ? sock_override : conf_socket(c));

	milt_log_open(conf_log_facility(c), foreground);
	if (check_database(c, err, sizeof(err)) != 0) {
		milt_log(LOG_ERR, "cannot use the database: %s", err);
		conf_free(c);
		return EX_UNAVAILABLE;
	}
	if (milt_pool_init(conf_database(c), conf_busy_timeout_ms(c), err,
	    sizeof(err)) != 0) {
		milt_log(LOG_ERR, "%s", err);
		conf_free(c);
		return EX_UNAVAILABLE;
	}

	if (milt_socket_prepare(sock, err, sizeof(err)) != 0) {
		milt_log(LOG_ERR, "%s", err);
		conf_free(c);
		return EX_UNAVAILABLE;
	}
	if (smfi_setconn(sock) != MI_SUCCESS || milt_register() != 0 ||
	    smfi_opensocket(false) != MI_SUCCESS) {
		milt_log(LOG_ERR, "cannot listen on %s: %s", sock,
		    errno != 0 ? strerror(errno) : "libmilter refused it");
		conf_free(c);
		return EX_UNAVAILABLE;
	}
	/* smfi_opensocket created it with our umask; the MTA must get in. */
	if (milt_socket_path(sock) != NULL &&
	    chmod(milt_socket_path(sock), (mode_t)conf_socket_mode(c)) != 0) {
		milt_log(LOG_ERR, "%s: cannot set mode %04o: %s",
		    milt_socket_path(sock), conf_socket_mode(c), strerror(errno));
		conf_free(c);
		return EX_UNAVAILABLE;
	}
	if (milt_conf_install(c, err, sizeof(err)) != 0) {
		milt_log(LOG_ERR, "%s", err);
		conf_free(c);
		return EX_OSERR;
	}

	if (!foreground && daemon(1, 0) != 0) {
		milt_log(LOG_ERR, "cannot detach: %s", strerror(errno));
		return EX_OSERR;
	}
	milt_log(LOG_INFO, "sendguard %s starting: socket %s, database %s, "
	    "configuration %s", SENDGUARD_VERSION, sock, conf_database(c), path);

	rc = smfi_main();

	milt_log(LOG_INFO, "sendguard stopping");
	milt_conf_shutdown();
	milt_pool_shutdown();
	if (milt_socket_path(sock) != NULL)
		(void)unlink(milt_socket_path(sock));
	milt_log_close();
	return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
