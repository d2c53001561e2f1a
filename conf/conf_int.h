/*
 * conf_int.h - what conf.c (the loader) and conf_table.c (the option table
 * and the checks of each value) share; nothing outside conf/ includes it.
 *
 * A load builds one conf_t through a conf_ld: the loader walks the table
 * and the libconfig tree, each row's store function checks a value and
 * copies it into the conf_t.  Errors go through conf_fail(), "file:line:
 * key: message", and every function returns 0 or -1.  Single-threaded per
 * load; the table is read-only.
 */
#ifndef SENDGUARD_CONF_INT_H
#define SENDGUARD_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "conf.h"

#define CONF_KEY_MAX		256	/* longest dotted key in a message */
#define CONF_DEFAULTS_FILE	"(defaults)"
#define CONF_TEXT_LINE_MAX	(CONF_REPLY_LINE_MAX - 16)	/* room for "550-5.1.8 " */
/* smfi_setmlreply refuses a text past MAXREPLYLEN; the milter doubles '%' */
#define CONF_MILTER_LINE_MAX	980

struct conf {
	char	       *c_path;
	char	       *c_socket;
	int		c_socket_mode;	/* permissions of a unix socket */
	char	       *c_database;
	int		c_busy_timeout_ms;
	conf_store_error c_store_error;
	conf_refuse_at	c_refuse_at;	/* refuse_restricted_at */
	int		c_unblock_max;	/* unblock.max_per_30_days */
	int		c_log_facility;
	const char     *c_log_facility_name;	/* static, from conf_facilities */
	conf_reply	c_reply;		/* lines are ours (strdup) */
	pol_set		c_pol;
	/* The daemon: privileges, pidfile, alerts ("" = none). */
	char	       *c_user;
	char	       *c_group;
	char	       *c_pidfile;
	conf_alerts	c_alerts;		/* strings are ours */
	pol_spam_set	c_spam;			/* spam.headers */
	conf_spamd	c_spamd;		/* spam.spamd */
	bool		c_has_spamd;
	int		c_spam_timeout_ms;
	size_t		c_spam_max_size;
	conf_spam_action c_spam_on_message;
};

/* A load in progress: where values go and where errors are reported. */
typedef struct conf_ld {
	conf_t	       *ld_conf;
	const char     *ld_file;	/* for settings without a source file */
	char	       *ld_err;
	size_t		ld_errlen;
	bool		ld_in_rule;	/* unset keys inherit: no defaults */
	bool		ld_defaulting;	/* the value comes from the table */
	pol_limits     *ld_limits;	/* where limits.* are stored */
	pol_action     *ld_action;	/* where action is stored */
	pol_rule       *ld_rule;	/* the rule being read, or NULL */
	pol_spam_rule  *ld_spam_rule;	/* the spam.headers rule being read */
	const char     *ld_include_dir;	/* libconfig's, or NULL */
	struct conf_litfile *ld_litfiles; /* conf_literal.c: files lexed */
} conf_ld;

typedef enum {
	CK_INT,		/* integer within co_min..co_max */
	CK_BOOL,
	CK_STR,
	CK_ENUM,	/* a string, one of co_enum */
	CK_FLOAT,	/* a number (integer or float) within co_min..co_max */
	CK_STRLIST,	/* [ "a", "b" ] or ( "a", "b" ), co_min..co_max entries */
	CK_LIST,	/* [ ... ] or ( ... ) of anything, co_min..co_max
			 * entries; the store function checks the elements */
	CK_GROUP,	/* { ... }: its keys are the rows "co_sub.*" */
	CK_GROUPLIST	/* ( { ... }, ... ): each element's keys are "co_sub.*" */
} conf_kind;

typedef struct conf_enum {
	const char     *ce_name;
	int		ce_value;
} conf_enum;

/* A checked scalar, handed to a row's store function. */
typedef struct conf_val {
	long long	cv_int;		/* CK_INT, CK_BOOL, CK_ENUM */
	double		cv_float;	/* CK_FLOAT */
	const char     *cv_str;		/* CK_STR, CK_ENUM */
} conf_val;

struct conf_opt;
typedef int (*conf_store_fn)(conf_ld *, const struct conf_opt *,
    const char *key, const config_setting_t *, const conf_val *);

typedef struct conf_opt {
	const char     *co_name;	/* dotted; "policies[]." for rule keys */
	conf_kind	co_kind;
	const char     *co_default;	/* libconfig text; NULL: none */
	long long	co_min, co_max;	/* CK_INT value, CK_STRLIST length */
	const conf_enum *co_enum;	/* CK_ENUM */
	bool		co_reload;	/* false: a change needs a restart */
	bool		co_required;	/* no default and must be present */
	const char     *co_sub;		/* CK_GROUP*: prefix of the keys */
	conf_store_fn	co_store;	/* NULL for CK_GROUP */
	int		co_arg;		/* store-specific (limit id) */
	size_t		co_off;		/* CK_STR via conf_store_str: member */
} conf_opt;

/* The option table, in processing order (conf_table.c). */
extern const conf_opt	conf_opts[];
extern const size_t	conf_nopts;

/* conf_table.c: checks and copies the other store functions share. */
bool	conf_is_alnum(int c);
bool	conf_domain_ok(const char *d, bool dot_ok);
int	conf_strdup_into(conf_ld *ld, const config_setting_t *s,
    const char *key, char **dst, const char *src);
char  **conf_strarray(int n);

/* conf_daemon.c: user, group, pidfile and alerts.* */
int	conf_store_account(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_abspath(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_mail_to(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);

/* conf_net.c: internal_networks */
int	conf_store_networks(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);

/* conf_spam.c: the spam.* options' values and store functions. */
extern const conf_enum	conf_spam_actions[];
int	conf_store_spam_headers(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_spam_header(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_spam_regex(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_spam_threshold(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_spamd(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
int	conf_store_spam_on_message(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);

/*
 * conf_literal_check - refuse int setting s if its literal was past 32
 * bits, which libconfig 1.5 wraps without a word: "N is out of range
 * (min..max)" with N as written; 0 if not (or s is no int setting).
 */
/* conf_source_path - the path of a setting's source file (libconfig's
 * name, joined to the include directory if @included), malloc'd; NULL out
 * of memory */
char   *conf_source_path(const conf_ld *ld, const char *file);

int	conf_literal_check(conf_ld *ld, const config_setting_t *s,
    const char *key, long long min, long long max);
void	conf_literal_free(conf_ld *ld);

/* conf_line - the source line of s, or of its nearest ancestor with one */
int		conf_line(const config_setting_t *s);

/* conf_fail - "file:line: key: message" into the load's error buffer; -1 */
__attribute__((format(printf, 4, 5)))
int		conf_fail(conf_ld *ld, const config_setting_t *s,
    const char *key, const char *fmt, ...);

/* conf_oom - out of memory, reported like any other error; -1 */
int		conf_oom(conf_ld *ld, const config_setting_t *s, const char *key);

/*
 * conf_group - read group g (NULL: absent) whose keys are the rows
 * "prefix.*", shown in messages as "base.*"; 0 or -1.
 */
int		conf_group(conf_ld *ld, const char *prefix, const char *base,
    const config_setting_t *g);

#endif
