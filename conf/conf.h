/*
 * conf.h - sendguard's configuration: loading and validating the libconfig
 * file, and the values the daemon and the admin tool read from it.
 *
 * conf_load() reads a whole file, checks every key against the option table
 * in conf.c (name, type, default, bounds, reloadable) and builds a conf_t
 * that owns plain C copies of everything: no libconfig object outlives the
 * load.  Errors are "file:line: message" in the caller's buffer, naming the
 * allowed range where there is one; conf never logs and never exits.
 *
 * Memory: the conf_t owns its strings and its pol_set; conf_free() frees
 * them all.  Thread safety: a loaded conf_t is read-only and may be shared
 * by any number of threads (the milter reference-counts it across reloads).
 */
#ifndef SENDGUARD_CONF_H
#define SENDGUARD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "../policy/policy.h"
#include "../policy/pol_spam.h"

#define CONF_DEFAULT_FILE	"/etc/sendguard/sendguard.conf"
#define CONF_REPLY_LINES_MAX	32	/* libmilter's smfi_setmlreply bound */
#define CONF_REPLY_LINE_MAX	512	/* RFC 5321 reply line, with code */
#define CONF_MAIL_TO_MAX	4096	/* alerts.mail_to, ", "-joined */

typedef struct conf conf_t;

typedef enum {
	CONF_STORE_ERROR_TEMPFAIL = 0,	/* 451 4.3.0: the client retries */
	CONF_STORE_ERROR_ACCEPT		/* let the message through */
} conf_store_error;

/* Where a restricted sender's message is refused (refuse_restricted_at). */
typedef enum {
	CONF_REFUSE_AT_DATA = 0,	/* where the message is judged (DATA,
					 * or end of message with spam
					 * checking): the MTA does not wait
					 * for us at MAIL FROM */
	CONF_REFUSE_AT_MAIL		/* MAIL FROM, before the data */
} conf_refuse_at;

/* The reply given to a restricted sender. */
typedef struct conf_reply {
	char		cr_code[4];	/* "550" */
	char		cr_xcode[16];	/* "5.1.8" */
	const char     *cr_lines[CONF_REPLY_LINES_MAX];
	size_t		cr_nlines;
} conf_reply;

/* Who is told when a sender is restricted (alerts.*). */
typedef struct conf_alerts {
	char	      **ca_mail_to;	/* normalised addresses */
	size_t		ca_nmail_to;
	char	       *ca_sendmail_path;	/* absolute */
	char	       *ca_command;	/* absolute, or "" = none */
	int		ca_timeout_ms;	/* per sendmail or command run */
	int		ca_daily_limit;	/* alerts per UTC day; 0 = no cap */
} conf_alerts;
/* What happens to a spam-judged message from a sender not restricted. */
typedef enum {
	CONF_SPAM_ACCEPT = 0,		/* deliver it (it still counts) */
	CONF_SPAM_HOLD,			/* the MTA's hold queue (quarantine) */
	CONF_SPAM_REJECT		/* 550 5.7.1 */
} conf_spam_action;

/* Where spamd listens (spam.spamd), parsed once at load. */
typedef struct conf_spamd {
	bool		cs_unix;	/* unix:/path, else inet(6):PORT@ADDR */
	char		cs_path[108];	/* sun_path */
	pol_family	cs_family;	/* inet: POL_NET_IPV4 or POL_NET_IPV6 */
	uint8_t		cs_addr[16];	/* network byte order */
	unsigned	cs_port;
	char		cs_spec[160];	/* as written, for log lines */
} conf_spamd;

/*
 * conf_load - read and validate path.  Returns a new conf_t, or NULL with
 * "file:line: message" in err.  A missing file is an error.
 */
conf_t	       *conf_load(const char *path, char *err, size_t errlen);

/* conf_defaults - a conf_t with every default, as if from an empty file. */
conf_t	       *conf_defaults(char *err, size_t errlen);

/* conf_free - free a conf_t; NULL is fine. */
void		conf_free(conf_t *c);

const char     *conf_path(const conf_t *c);	/* the file it came from */
/* conf_rule_file - the file of a policy: an @included one, or conf_path */
const char     *conf_rule_file(const conf_t *c, const pol_rule *r);
const char     *conf_socket(const conf_t *c);	/* libmilter socket spec */
int		conf_socket_mode(const conf_t *c);	/* unix socket permissions */
const char     *conf_database(const conf_t *c);	/* SQLite file path */
int		conf_busy_timeout_ms(const conf_t *c);
conf_store_error conf_on_store_error(const conf_t *c);
conf_refuse_at	conf_refuse_restricted_at(const conf_t *c);
int		conf_log_facility(const conf_t *c);	/* LOG_MAIL, ... */
const char     *conf_log_facility_name(const conf_t *c);
const conf_reply *conf_reply_get(const conf_t *c);
/* unblock.max_per_30_days: sendguardctl's unblocks of one identity in 30
 * days before it wants --force; 0 = no cap */
int		conf_unblock_max_per_30_days(const conf_t *c);
const pol_set  *conf_policy(const conf_t *c);
const char     *conf_user_name(const conf_t *c);	/* "" = keep the user */
const char     *conf_group_name(const conf_t *c);	/* "" = the user's group */
const char     *conf_pidfile(const conf_t *c);	/* "" = none */
const conf_alerts *conf_alerts_get(const conf_t *c);

/* spam.*: the header rules, spamd (NULL when not configured), bounds. */
const pol_spam_set *conf_spam_rules(const conf_t *c);
const conf_spamd *conf_spam_spamd(const conf_t *c);
int		conf_spam_timeout_ms(const conf_t *c);
size_t		conf_spam_max_size(const conf_t *c);
conf_spam_action conf_spam_on_message(const conf_t *c);
/* conf_spam_enabled - is there any source of verdicts (rules or spamd)? */
bool		conf_spam_enabled(const conf_t *c);

/*
 * conf_spamd_parse - "unix:/path", "inet:PORT@ADDR" or "inet6:PORT@ADDR"
 * (ADDR a numeric address: nothing is looked up at run time).  On false,
 * err says why, without the spec.
 */
bool		conf_spamd_parse(const char *spec, conf_spamd *out, char *err,
    size_t errlen);

/*
 * conf_restart_needed - the name of the first option that differs between
 * old and nc and that a reload cannot change ("socket", "socket_mode",
 * "database", "user", "group", "pidfile"), or NULL if nc can be swapped in for old.
 */
const char     *conf_restart_needed(const conf_t *old, const conf_t *nc);

/*
 * conf_parse_net - parse a network of internal_networks: "a.b.c.d/n",
 * "x::y/n" or a bare address (the full prefix).  Host bits beyond the
 * prefix are refused (pol_net_make).  An IPv4-mapped network
 * ::ffff:a.b.c.d/n (n >= 96) is the IPv4 network a.b.c.d/(n - 96), as the
 * milter matches a mapped client; one under /96 is refused.  Returns true
 * on success.
 */
bool		conf_parse_net(const char *text, pol_net *out);

/*
 * conf_socket_valid - is spec a socket libmilter can listen on:
 * "unix:/path", "local:/path", "inet:PORT@HOST", "inet6:PORT@HOST"
 * (HOST optional for both), the path absolute?  On false, err says why,
 * without the spec.
 */
bool		conf_socket_valid(const char *spec, char *err, size_t errlen);

#endif
