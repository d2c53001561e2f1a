/*
 * ctl_main.c - sendguardctl: the admin's companion for restricted senders.
 *
 *   sendguardctl [-c FILE] [--now TIME | --now=TIME] COMMAND [ARG...]
 *
 * Reads the global options and runs one command, which checks its own
 * arguments first and then loads the configuration (the database path,
 * busy_timeout_ms, recipient_delimiter, the limits and policies, the
 * unblock cap) and opens the existing database without ever creating it:
 * a bad command line is 2 whatever -c names.  The exit status is the
 * command's, or 2 for a bad command line, 78 for a bad configuration, 69
 * when the database is missing, unreadable, foreign or newer than this
 * program, 75 when it stays locked past busy_timeout_ms.  Output that
 * cannot be written is 70 for a read, but only a warning after unblock or
 * block: their write is committed, and a retry would unblock twice; they
 * ignore SIGPIPE, which would otherwise kill them after the commit.
 *
 * --now TIME pretends the clock reads TIME: the tests pin the clock with
 * it (expiry, the 30-day cap) instead of sleeping.  For unblock and block
 * only where SENDGUARDCTL_TEST_CLOCK=1: a write dated by a made-up clock
 * would falsify the history and step around the unblock cap (an unblock
 * dated 31 days ahead finds none in its 30 days).  Single-threaded; all
 * resources are released before exit.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_time.h"

/* Where --now may also date writes: the test suite sets it. */
#define CTL_NOW_WRITES_ENV	"SENDGUARDCTL_TEST_CLOCK"

/* The commands, by name; writes record events dated by the clock. */
static const struct {
	const char     *name;
	int		(*fn)(ctl_t *, int, char **);
	bool		writes;
} commands[] = {
	{ "list", ctl_cmd_list, false },
	{ "show", ctl_cmd_show, false },
	{ "unblock", ctl_cmd_unblock, true },
	{ "block", ctl_cmd_block, true },
	{ "usage", ctl_cmd_usage, false },
	{ "history", ctl_cmd_history, false },
};

void
ctl_usage(FILE *f)
{
	fputs("usage: sendguardctl [-c FILE] list [--json]\n"
	    "       sendguardctl [-c FILE] show IDENTITY [--login] [--json]\n"
	    "       sendguardctl [-c FILE] unblock IDENTITY [--login] "
	    "[--reason TEXT] [--force]\n"
	    "       sendguardctl [-c FILE] block IDENTITY [--login] "
	    "[--reason TEXT] [--until TIME]\n"
	    "       sendguardctl [-c FILE] usage [IDENTITY [--login]] [--top N] "
	    "[--json]\n"
	    "       sendguardctl [-c FILE] history [IDENTITY [--login]] "
	    "[--since TIME] [--json]\n"
	    "TIME: 2026-11-23T14:05:00Z (RFC 3339), 2026-11-23, +2h, +1d, -7d.\n"
	    "--login: IDENTITY is a SASL login, taken whole (no subaddress "
	    "cut).\n"
	    "-c defaults to " CONF_DEFAULT_FILE "; see sendguardctl(8).\n", f);
}

int
ctl_load(ctl_t *c)
{
	char err[CTL_ERR_SIZE];

	if (c->ctx_conf != NULL)
		return 0;
	if ((c->ctx_conf = conf_load(c->ctx_conf_file, err, sizeof(err))) !=
	    NULL)
		return 0;
	ctl_err(c, "%s", err);
	return CTL_EXIT_CONFIG;
}

int
ctl_open(ctl_t *c)
{
	/* Never upgrade the schema: the milter that uses it may be older. */
	store_opts so = { .so_create = false, .so_keep_schema = true };
	char err[CTL_ERR_SIZE];
	int rc;

	if (c->ctx_store != NULL)
		return 0;
	if ((rc = ctl_load(c)) != 0)
		return rc;
	so.so_busy_timeout_ms = conf_busy_timeout_ms(c->ctx_conf);
	if (store_open(conf_database(c->ctx_conf), &so, &c->ctx_store, err,
	    sizeof(err)) == 0)
		return 0;
	return ctl_store_failed(c, err);
}

/* env_is_one - is the environment variable NAME set to "1"? */
static bool
env_is_one(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && strcmp(v, "1") == 0;
}

int
main(int argc, char **argv)
{
	const char *conf_file = CONF_DEFAULT_FILE, *now_text = NULL;
	char err[CTL_ERR_SIZE];
	ctl_t c = { NULL, NULL, NULL, 0, NULL, NULL };
	size_t k;
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		} else if ((strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--now") == 0) && i + 1 == argc) {
			ctl_err(NULL, "%s needs a value", argv[i]);
			return CTL_EXIT_USAGE;
		} else if (strcmp(argv[i], "-c") == 0) {
			conf_file = argv[++i];
		} else if (strcmp(argv[i], "--now") == 0) {
			now_text = argv[++i];
		} else if (strncmp(argv[i], "--now=", 6) == 0) {
			/* as a command's options take --name=value */
			now_text = argv[i] + 6;
		} else {
			ctl_err(NULL, "unknown option %s (-h for help)",
			    ctl_quote(argv[i]));
			return CTL_EXIT_USAGE;
		}
	}
	if (i == argc) {
		ctl_err(NULL, "no command: list, show, unblock, block, usage or "
		    "history (-h for help)");
		return CTL_EXIT_USAGE;
	}
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			break;
	if (k == sizeof(commands) / sizeof(commands[0])) {
		ctl_err(NULL, "unknown command %s: list, show, unblock, block, "
		    "usage or history (-h for help)", ctl_quote(argv[i]));
		return CTL_EXIT_USAGE;
	}

	/* A reader gone (unblock x | head -c 10) must not kill a write
	 * after its commit (exit 141): a write to the pipe fails instead, and
	 * the failure is the warning below.  A read keeps SIGPIPE, so that
	 * history | head ends quietly, as a filter does. */
	if (commands[k].writes)
		signal(SIGPIPE, SIG_IGN);
	if (now_text != NULL && commands[k].writes &&
	    !env_is_one(CTL_NOW_WRITES_ENV)) {
		ctl_err(NULL, "--now cannot be used with %s: a write dated by "
		    "a made-up clock would falsify the history and the unblock "
		    "cap (only the test suite may, with " CTL_NOW_WRITES_ENV
		    "=1)", commands[k].name);
		return CTL_EXIT_USAGE;
	}
	c.ctx_now = (int64_t)time(NULL);
	if (now_text != NULL &&
	    ctl_time_parse(now_text, c.ctx_now, &c.ctx_now, err,
	    sizeof(err)) != 0) {
		ctl_err(NULL, "--now %s %s", ctl_quote(now_text), err);
		return CTL_EXIT_USAGE;
	}
	/* The command loads the configuration once its command line is
	 * checked (ctl_load): a bad one is a usage error whatever -c names. */
	c.ctx_conf_file = conf_file;
	c.ctx_cmd = commands[k].name;
	rc = commands[k].fn(&c, argc - i, argv + i);
	if (rc == CTL_HELP_SHOWN)
		rc = CTL_EXIT_OK;
	store_close(c.ctx_store);
	conf_free(c.ctx_conf);
	/* A write is committed by now: its status stands, or a script that
	 * retries on 70 would unblock again and use up the cap. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && commands[k].writes)
		ctl_err(&c, "warning: cannot write the output; the exit "
		    "status is still that of the %s", c.ctx_cmd);
	else if (ferror(stdout)) {
		ctl_err(&c, "cannot write the output");
		if (rc == CTL_EXIT_OK)
			rc = CTL_EXIT_SOFTWARE;
	}
	return rc;
}
