/*
 * ctl.h - what the files of sendguardctl share: the run's context, exit
 * statuses, argument parsing, identities, and the commands.
 *
 * sendguardctl is a short-lived, single-threaded command.  It reaches the
 * database only through store.h and the configuration only through conf.h
 * (never <sqlite3.h>); it normalises identities with the milter's own
 * pol_normalize() and shows limits with pol_resolve().  Every command
 * returns its exit status; messages for people go to stderr as one line,
 * "sendguardctl: ...".  The text layouts (ctl_table.c), the JSON writer
 * (ctl_json.c), times (ctl_time.c) and the shared views (ctl_view.c) have
 * headers of their own.
 */
#ifndef SENDGUARD_CTL_H
#define SENDGUARD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../conf/conf.h"
#include "../policy/policy.h"
#include "../store/store.h"

/* Exit statuses; sendguardctl.8 documents them. */
#define CTL_EXIT_OK		0
#define CTL_EXIT_NOT_FOUND	1	/* not restricted */
#define CTL_EXIT_USAGE		2	/* bad command line */
#define CTL_EXIT_CAP		3	/* unblock cap reached, no --force */
#define CTL_EXIT_UNAVAILABLE	69	/* EX_UNAVAILABLE: database */
#define CTL_EXIT_SOFTWARE	70	/* EX_SOFTWARE: out of memory, bug */
#define CTL_EXIT_TEMPFAIL	75	/* EX_TEMPFAIL: locked, try again */
#define CTL_EXIT_CONFIG		78	/* EX_CONFIG: bad configuration */

#define CTL_ERR_SIZE		1024
#define CTL_UNBLOCK_WINDOW	(30 * 86400)	/* the cap's 30 days */

/*
 * ctl_args's answer to -h or --help after the command: not an exit status;
 * the synopsis is printed and main exits 0.
 */
#define CTL_HELP_SHOWN		(-1)

/* One run: the configuration (loaded once the command line is checked),
 * the open database, the clock. */
typedef struct ctl {
	const char     *ctx_conf_file;	/* -c, or the default */
	conf_t	       *ctx_conf;
	store_t	       *ctx_store;
	int64_t		ctx_now;	/* seconds since the epoch, UTC */
	const char     *ctx_cmd;	/* the command's name, for messages */
	const char     *ctx_login;	/* --login: the identity is a login */
} ctl_t;

/*
 * ctl_load - load the configuration (once), when a check or the command
 * needs it: a bad command line is a usage error before a bad
 * configuration is one.  0, or CTL_EXIT_CONFIG after saying why.
 */
int		ctl_load(ctl_t *c);

/*
 * ctl_open - load the configuration and open the configured database
 * (once) after the command line was checked: never created, waiting up to
 * busy_timeout_ms for locks.  0, or the exit status after saying why.
 */
int		ctl_open(ctl_t *c);

/* ctl_usage - the synopsis */
void		ctl_usage(FILE *f);

/* ctl_err - "sendguardctl: CMD: message" on stderr */
__attribute__((format(printf, 2, 3)))
void		ctl_err(const ctl_t *c, const char *fmt, ...);

/* ctl_store_failed - report a store failure (err) and map its kind to an
 * exit status: 75 busy, 70 internal, 69 otherwise */
int		ctl_store_failed(const ctl_t *c, const char *err);

/*
 * ctl_quote - arg for a message, in double quotes: cleaned (ctl_clean:
 * control characters and bytes that are not UTF-8 as '?'), at most 64
 * bytes, cut before a UTF-8 character, and "..." (a 10 kB argument is not
 * echoed whole).  The result
 * lives in one of four static buffers.
 */
const char     *ctl_quote(const char *arg);

/* One option of a command: "--name" (a flag) or "--name VALUE". */
typedef struct ctl_opt {
	const char     *co_name;	/* without the dashes */
	bool		co_arg;		/* takes a value */
	const char    **co_val;		/* set to the value, or "" for a flag */
} ctl_opt;

/*
 * ctl_args - parse argv (after the command name) against opts, accepting
 * "--name VALUE", "--name=VALUE" and "--" before positional arguments;
 * positional arguments go to pos[], at least minpos and at most maxpos.
 * -h or --help prints the synopsis (CTL_HELP_SHOWN); a global option (-c,
 * --now) is refused as going before the command.  0, CTL_HELP_SHOWN, or
 * CTL_EXIT_USAGE after saying why.
 */
int		ctl_args(const ctl_t *c, int argc, char **argv,
    const ctl_opt *opts, const char **pos, size_t minpos, size_t maxpos);

/*
 * ctl_identity - normalise arg as the milter does (case, "<>", source
 * route) into out (POL_ADDR_SIZE), loading the configuration for the
 * delimiter.  The subaddress is cut at recipient_delimiter, as the
 * milter cuts an envelope sender, unless the identity is a SASL login,
 * which the milter takes whole: with --login, or when the database holds
 * something of the whole form (it opens the database to look).  0,
 * CTL_EXIT_CONFIG, a store failure's status, or CTL_EXIT_USAGE after
 * saying why (empty, too long, malformed).
 */
int		ctl_identity(ctl_t *c, const char *arg, char *out);

/*
 * ctl_reason - check a --reason: at most max bytes, no control characters.
 * 0, or CTL_EXIT_USAGE after saying why.
 */
int		ctl_reason(const ctl_t *c, const char *text, size_t max);

/*
 * ctl_actor - who runs this: SUDO_USER if set, else the invoking Unix
 * user's name (or "uid N"), cleaned and cut to fit the store.
 */
void		ctl_actor(char *out, size_t outlen);

/* The commands: argv[0] is the command name; each returns an exit status. */
int		ctl_cmd_list(ctl_t *c, int argc, char **argv);
int		ctl_cmd_show(ctl_t *c, int argc, char **argv);
int		ctl_cmd_unblock(ctl_t *c, int argc, char **argv);
int		ctl_cmd_block(ctl_t *c, int argc, char **argv);
int		ctl_cmd_usage(ctl_t *c, int argc, char **argv);
int		ctl_cmd_history(ctl_t *c, int argc, char **argv);

#endif
