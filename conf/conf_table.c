/*
 * conf_table.c - sendguard's option table, and the check and store
 * function of every option.
 *
 * One row per option: dotted name, type, default (written exactly as in
 * the file and parsed by the same code, so a default cannot bypass a
 * check), bounds, whether a reload may change it, and the function that
 * checks the value and copies it into the conf_t.  conf/sendguard.conf
 * shows the same defaults.  Store functions return 0, or -1 through
 * conf_fail(); they never log.  Reentrant: the table is read-only and
 * every store writes only into its own load's conf_t.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>

#include "conf_int.h"

static const conf_enum conf_actions[] = {
	{ "block_until_tomorrow", POL_ACT_BLOCK_UNTIL_TOMORROW },
	{ "block", POL_ACT_BLOCK },
	{ "alert", POL_ACT_ALERT },
	{ NULL, 0 }
};

static const conf_enum conf_store_errors[] = {
	{ "tempfail", CONF_STORE_ERROR_TEMPFAIL },
	{ "accept", CONF_STORE_ERROR_ACCEPT },
	{ NULL, 0 }
};

static const conf_enum conf_refuse_ats[] = {
	{ "data", CONF_REFUSE_AT_DATA },
	{ "mail_from", CONF_REFUSE_AT_MAIL },
	{ NULL, 0 }
};

static const conf_enum conf_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	{ NULL, 0 }
};

static int conf_store_str(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_socket_mode(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_socket(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_busy(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_domains(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_delimiter(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_limit(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_action(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_policies(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_match(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_exempt(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_code(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_xcode(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_text(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_on_error(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_refuse_at(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_facility(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);
static int conf_store_member_int(conf_ld *, const conf_opt *, const char *,
    const config_setting_t *, const conf_val *);

#define RESTART	false
#define RELOAD	true
#define LIM	(long long)POL_LIMIT_MAX

/*
 * The option table.  Rows are processed in this order, which is why
 * "policies" comes after "limits" and "action", and "reply.xcode" after
 * "reply.code".  conf/sendguard.conf shows the same defaults.
 */
const conf_opt conf_opts[] = {
	{ "socket", CK_STR,
	  "\"unix:/var/spool/postfix/sendguard/sendguard.sock\"",
	  0, 0, NULL, RESTART, false, NULL, conf_store_socket, 0,
	  offsetof(conf_t, c_socket) },
	{ "socket_mode", CK_STR, "\"0660\"", 0, 0, NULL, RESTART, false,
	  NULL, conf_store_socket_mode, 0, 0 },
	{ "database", CK_STR, "\"/var/lib/sendguard/sendguard.db\"",
	  0, 0, NULL, RESTART, false, NULL, conf_store_abspath, 0,
	  offsetof(conf_t, c_database) },
	{ "busy_timeout_ms", CK_INT, "5000", 0, 600000, NULL, RELOAD, false,
	  NULL, conf_store_busy, 0, 0 },
	{ "local_domains", CK_STRLIST, "[]", 0, 0, NULL, RELOAD, false,
	  NULL, conf_store_domains, 0, 0 },
	{ "internal_networks", CK_STRLIST, "[ \"127.0.0.0/8\", \"::1/128\" ]",
	  0, 0, NULL, RELOAD, false, NULL, conf_store_networks, 0, 0 },
	{ "recipient_delimiter", CK_STR, "\"+\"", 0, 15, NULL, RELOAD, false,
	  NULL, conf_store_delimiter, 0, 0 },
	{ "limits", CK_GROUP, NULL, 0, 0, NULL, RELOAD, false,
	  "limits", NULL, 0, 0 },
	{ "limits.external_recipients_per_hour", CK_INT, "500", 0, LIM, NULL,
	  RELOAD, false, NULL, conf_store_limit, POL_LIM_EXT_HOUR, 0 },
	{ "limits.internal_recipients_per_hour", CK_INT, "1000", 0, LIM, NULL,
	  RELOAD, false, NULL, conf_store_limit, POL_LIM_INT_HOUR, 0 },
	{ "limits.recipients_per_day", CK_INT, "10000", 0, LIM, NULL,
	  RELOAD, false, NULL, conf_store_limit, POL_LIM_DAY, 0 },
	{ "limits.spam_messages_per_hour", CK_INT, "0", 0, LIM, NULL,
	  RELOAD, false, NULL, conf_store_limit, POL_LIM_SPAM_HOUR, 0 },
	{ "limits.spam_messages_per_day", CK_INT, "10", 0, LIM, NULL,
	  RELOAD, false, NULL, conf_store_limit, POL_LIM_SPAM_DAY, 0 },
	{ "action", CK_ENUM, "\"block_until_tomorrow\"", 0, 0, conf_actions,
	  RELOAD, false, NULL, conf_store_action, 0, 0 },
	{ "policies", CK_GROUPLIST, "()", 0, 0, NULL, RELOAD, false,
	  "policies[]", conf_store_policies, 0, 0 },
	/* The keys of one rule.  Unset ones inherit: no defaults. */
	{ "policies[].match", CK_STRLIST, NULL, 1, 0, NULL, RELOAD, true,
	  NULL, conf_store_match, 0, 0 },
	{ "policies[].limits", CK_GROUP, NULL, 0, 0, NULL, RELOAD, false,
	  "limits", NULL, 0, 0 },
	{ "policies[].action", CK_ENUM, NULL, 0, 0, conf_actions, RELOAD,
	  false, NULL, conf_store_action, 0, 0 },
	{ "policies[].exempt", CK_BOOL, NULL, 0, 0, NULL, RELOAD, false,
	  NULL, conf_store_exempt, 0, 0 },
	{ "reply", CK_GROUP, NULL, 0, 0, NULL, RELOAD, false,
	  "reply", NULL, 0, 0 },
	{ "reply.code", CK_STR, "\"550\"", 0, 0, NULL, RELOAD, false,
	  NULL, conf_store_code, 0, 0 },
	{ "reply.xcode", CK_STR, "\"5.1.8\"", 0, 0, NULL, RELOAD, false,
	  NULL, conf_store_xcode, 0, 0 },
	{ "reply.text", CK_STRLIST,
	  "[ \"Your message couldn't be delivered because you weren't "
	  "recognized as a valid sender. The most common reason for this is "
	  "that your email address is suspected of sending spam and it's no "
	  "longer allowed to send email. Contact your email admin for "
	  "assistance.\", \"Access denied, bad outbound sender\" ]",
	  1, CONF_REPLY_LINES_MAX, NULL, RELOAD, false, NULL,
	  conf_store_text, 0, 0 },
	{ "on_store_error", CK_ENUM, "\"tempfail\"", 0, 0, conf_store_errors,
	  RELOAD, false, NULL, conf_store_on_error, 0, 0 },
	/* a reload reaches new SMTP sessions: the MTA agrees on whether it
	 * waits at MAIL FROM once per milter connection */
	{ "refuse_restricted_at", CK_ENUM, "\"data\"", 0, 0,
	  conf_refuse_ats, RELOAD, false, NULL, conf_store_refuse_at, 0, 0 },
	{ "log_facility", CK_ENUM, "\"mail\"", 0, 0, conf_facilities, RELOAD,
	  false, NULL, conf_store_facility, 0, 0 },
	/* sendguardctl's cap on unblocks, as Exchange Online caps them */
	{ "unblock", CK_GROUP, NULL, 0, 0, NULL, RELOAD, false,
	  "unblock", NULL, 0, 0 },
	{ "unblock.max_per_30_days", CK_INT, "3", 0, 1000, NULL, RELOAD,
	  false, NULL, conf_store_member_int, 0,
	  offsetof(conf_t, c_unblock_max) },
	/* The daemon: whom it runs as, its pidfile, whom it alerts.
	 * co_arg 1: the empty string is allowed (the feature is off). */
	{ "user", CK_STR, "\"\"", 0, 0, NULL, RESTART, false, NULL,
	  conf_store_account, 1, offsetof(conf_t, c_user) },
	{ "group", CK_STR, "\"\"", 0, 0, NULL, RESTART, false, NULL,
	  conf_store_account, 1, offsetof(conf_t, c_group) },
	{ "pidfile", CK_STR, "\"/run/sendguard/sendguard.pid\"", 0, 0, NULL,
	  RESTART, false, NULL, conf_store_abspath, 1,
	  offsetof(conf_t, c_pidfile) },
	{ "alerts", CK_GROUP, NULL, 0, 0, NULL, RELOAD, false,
	  "alerts", NULL, 0, 0 },
	{ "alerts.mail_to", CK_STRLIST, "[]", 0, 100, NULL, RELOAD, false,
	  NULL, conf_store_mail_to, 0, 0 },
	{ "alerts.sendmail_path", CK_STR, "\"/usr/sbin/sendmail\"", 0, 0, NULL,
	  RELOAD, false, NULL, conf_store_abspath, 0,
	  offsetof(conf_t, c_alerts.ca_sendmail_path) },
	{ "alerts.command", CK_STR, "\"\"", 0, 0, NULL, RELOAD, false, NULL,
	  conf_store_abspath, 1, offsetof(conf_t, c_alerts.ca_command) },
	{ "alerts.timeout_ms", CK_INT, "10000", 100, 600000, NULL, RELOAD,
	  false, NULL, conf_store_member_int, 0,
	  offsetof(conf_t, c_alerts.ca_timeout_ms) },
	{ "alerts.daily_limit", CK_INT, "0", 0, 1000000, NULL, RELOAD, false,
	  NULL, conf_store_member_int, 0,
	  offsetof(conf_t, c_alerts.ca_daily_limit) },
	/* Spam verdicts (conf_spam.c).  A rule's keys have no defaults. */
	{ "spam", CK_GROUP, NULL, 0, 0, NULL, RELOAD, false, "spam", NULL,
	  0, 0 },
	{ "spam.headers", CK_LIST, "()", 0, POL_SPAM_RULES_MAX, NULL, RELOAD,
	  false, "spam.headers[]", conf_store_spam_headers, 0, 0 },
	{ "spam.headers[].header", CK_STR, NULL, 0, 0, NULL, RELOAD, true,
	  NULL, conf_store_spam_header, 0, 0 },
	{ "spam.headers[].regex", CK_STR, NULL, 0, 0, NULL, RELOAD, false,
	  NULL, conf_store_spam_regex, 0, 0 },
	{ "spam.headers[].threshold", CK_FLOAT, NULL, -1000000, 1000000, NULL,
	  RELOAD, false, NULL, conf_store_spam_threshold, 0, 0 },
	{ "spam.spamd", CK_STR, "\"\"", 0, 0, NULL, RELOAD, false, NULL,
	  conf_store_spamd, 0, 0 },
	{ "spam.timeout_ms", CK_INT, "2000", 1, 60000, NULL, RELOAD, false,
	  NULL, conf_store_member_int, 0,
	  offsetof(conf_t, c_spam_timeout_ms) },
	{ "spam.max_size", CK_INT, "524288", 1024, 67108864, NULL, RELOAD,
	  false, NULL, conf_store_member_int, 1,
	  offsetof(conf_t, c_spam_max_size) },
	{ "spam.on_message", CK_ENUM, "\"accept\"", 0, 0, conf_spam_actions,
	  RELOAD, false, NULL, conf_store_spam_on_message, 0, 0 },
};

const size_t conf_nopts = sizeof(conf_opts) / sizeof(conf_opts[0]);

/* conf_is_alnum - ASCII only, whatever the locale */
bool
conf_is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* conf_is_digits - n > 0 ASCII digits and nothing else */
static bool
conf_is_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* conf_lower - ASCII lowercase in place */
static void
conf_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * conf_domain_ok - letters, digits, '-' and '.', labels of 1..63, at most
 * 253 in all; one leading '.' ("every subdomain of") if dot_ok.
 */
bool
conf_domain_ok(const char *d, bool dot_ok)
{
	size_t label = 0;

	if (dot_ok && *d == '.')
		d++;
	if (*d == '\0' || strlen(d) > 253)
		return false;
	for (; *d != '\0'; d++) {
		if (*d == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (conf_is_alnum((unsigned char)*d) || *d == '-') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return label > 0;
}

/* conf_strdup_into - *dst = copy of src */
int
conf_strdup_into(conf_ld *ld, const config_setting_t *s, const char *key,
    char **dst, const char *src)
{
	char *copy = strdup(src);

	if (copy == NULL)
		return conf_oom(ld, s, key);
	free(*dst);
	*dst = copy;
	return 0;
}

/* conf_store_str - a non-empty string into the conf_t member at co_off */
static int
conf_store_str(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	if (*v->cv_str == '\0')
		return conf_fail(ld, s, key, "must not be empty");
	return conf_strdup_into(ld, s, key,
	    (char **)((char *)ld->ld_conf + o->co_off), v->cv_str);
}

/* conf_store_socket - a libmilter socket spec */
static int
conf_store_socket(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	char why[256];

	if (!conf_socket_valid(v->cv_str, why, sizeof(why)))
		return conf_fail(ld, s, key, "\"%s\": %s", v->cv_str, why);
	return conf_store_str(ld, o, key, s, v);
}

/* conf_store_socket_mode - octal permissions, as chmod(1) takes them; a
 * string because libconfig has no octal integers */
static int
conf_store_socket_mode(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	const char *p = v->cv_str;
	long mode = 0;

	(void)o;
	if (*p == '\0' || strlen(p) > 4)
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			goto bad;
		mode = mode * 8 + (*p - '0');
	}
	if (mode > 0777)
		goto bad;
	ld->ld_conf->c_socket_mode = (int)mode;
	return 0;
bad:
	return conf_fail(ld, s, key, "\"%s\" is not an octal mode (0000..0777)",
	    v->cv_str);
}

static int
conf_store_busy(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o, (void)key, (void)s;
	ld->ld_conf->c_busy_timeout_ms = (int)v->cv_int;
	return 0;
}

/* conf_strarray - a zeroed array of n string pointers */
char **
conf_strarray(int n)
{
	return calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
}

/* conf_store_domains - local_domains: checked, lowercased copies */
static int
conf_store_domains(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_set *ps = &ld->ld_conf->c_pol;
	int i, n = config_setting_length(s);
	char ekey[CONF_KEY_MAX];

	(void)o, (void)v;
	if ((ps->ps_local_domains = conf_strarray(n)) == NULL)
		return conf_oom(ld, s, key);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *d = config_setting_get_string(e);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i + 1);
		if (!conf_domain_ok(d, true))
			return conf_fail(ld, e, ekey, "\"%s\" is not a domain "
			    "(letters, digits, '-', labels of 1..63, "
			    "a leading '.' for subdomains)", d);
		if ((ps->ps_local_domains[i] = strdup(d)) == NULL)
			return conf_oom(ld, e, ekey);
		ps->ps_nlocal_domains++;
		conf_lower(ps->ps_local_domains[i]);
	}
	return 0;
}

/* conf_store_delimiter - like Postfix: each character is a delimiter */
static int
conf_store_delimiter(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	const unsigned char *p;
	size_t len = strlen(v->cv_str);

	if (len > (size_t)o->co_max)
		return conf_fail(ld, s, key, "\"%s\" is longer than %lld "
		    "characters", v->cv_str, o->co_max);
	for (p = (const unsigned char *)v->cv_str; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || conf_is_alnum(*p) || *p == '@')
			return conf_fail(ld, s, key, "character %zu (0x%02x) "
			    "cannot be a delimiter (no letters, digits, '@', "
			    "spaces, control or non-ASCII characters)",
			    (size_t)(p - (const unsigned char *)v->cv_str) + 1,
			    *p);
	memcpy(ld->ld_conf->c_pol.ps_delimiters, v->cv_str, len + 1);
	return 0;
}

/* conf_store_limit - into the global limits or the rule's */
static int
conf_store_limit(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)key, (void)s;
	ld->ld_limits->lim_value[o->co_arg] = (uint32_t)v->cv_int;
	return 0;
}

/* conf_store_action - into the global action or the rule's */
static int
conf_store_action(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o, (void)key, (void)s;
	*ld->ld_action = (pol_action)v->cv_int;
	return 0;
}

/*
 * conf_store_policies - every rule starts as a copy of the (complete)
 * global limits and action, then its own keys override them.
 */
static int
conf_store_policies(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_set *ps = &ld->ld_conf->c_pol;
	int i, n = config_setting_length(s), rc = 0;
	char rkey[CONF_KEY_MAX];
	const char *file;

	(void)v;
	ps->ps_rules = calloc(n > 0 ? (size_t)n : 1, sizeof(pol_rule));
	if (ps->ps_rules == NULL)
		return conf_oom(ld, s, key);
	for (i = 0; i < n && rc == 0; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		pol_rule *r = &ps->ps_rules[ps->ps_nrules++];

		r->pr_limits = ps->ps_limits;
		r->pr_action = ps->ps_action;
		r->pr_line = conf_line(e);
		file = config_setting_source_file(e);
		if (file != NULL && strcmp(file, ld->ld_file) != 0 &&
		    (r->pr_file = conf_source_path(ld, file)) == NULL)
			return conf_oom(ld, e, key);
		snprintf(rkey, sizeof(rkey), "%s[%d]", key, i + 1);
		ld->ld_in_rule = true;
		ld->ld_rule = r;
		ld->ld_limits = &r->pr_limits;
		ld->ld_action = &r->pr_action;
		rc = conf_group(ld, o->co_sub, rkey, e);
		ld->ld_in_rule = false;
		ld->ld_rule = NULL;
		ld->ld_limits = &ps->ps_limits;
		ld->ld_action = &ps->ps_action;
	}
	return rc;
}

/* conf_add_pattern - append a lowercased copy of pattern to r, cut: the
 * cut form of an entry; -1 out of memory (r->pr_match and r->pr_cut have
 * room: conf_store_match sized them) */
static int
conf_add_pattern(pol_rule *r, const char *pattern, bool cut)
{
	if ((r->pr_match[r->pr_nmatch] = strdup(pattern)) == NULL)
		return -1;
	conf_lower(r->pr_match[r->pr_nmatch]);
	r->pr_cut[r->pr_nmatch++] = cut;
	return 0;
}

/*
 * conf_store_match - "user@domain", "login", "@domain" or "@.domain",
 * lowercased.  An address or login is normalised as an identity and kept
 * whole, as a SASL login is matched; if recipient_delimiter cuts it, its
 * cut form is kept too, for envelope senders only (so
 * "alice+x@example.com" matches the envelope senders cut to
 * alice@example.com, and "mary-jane@example.com" with "-" both the login
 * mary-jane@example.com and the envelope senders cut to mary@example.com,
 * but not the login mary@example.com, another account).
 */
static int
conf_store_match(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_rule *r = ld->ld_rule;
	int i, n = config_setting_length(s);
	char ekey[CONF_KEY_MAX], norm[POL_ADDR_SIZE], cut[POL_ADDR_SIZE];
	pol_addr_status st;

	(void)o, (void)v;
	/* at most two patterns an entry: whole and cut */
	if ((r->pr_match = conf_strarray(2 * n)) == NULL ||
	    (r->pr_cut = calloc(n > 0 ? 2 * (size_t)n : 1,
	    sizeof(bool))) == NULL)
		return conf_oom(ld, s, key);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *p = config_setting_get_string(e);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i + 1);
		cut[0] = '\0';
		if (p[0] == '@') {
			if (!conf_domain_ok(p + 1, true))
				return conf_fail(ld, e, ekey, "\"%s\": \"@\" "
				    "must be followed by a domain or "
				    "\".domain\"", p);
			snprintf(norm, sizeof(norm), "%s", p);
		} else {
			st = pol_normalize(p, "", norm, sizeof(norm));
			if (st != POL_ADDR_OK)
				return conf_fail(ld, e, ekey, "\"%s\": %s", p,
				    pol_addr_status_str(st));
			if (strchr(norm, '@') != NULL &&
			    !conf_domain_ok(pol_domain_of(norm), false))
				return conf_fail(ld, e, ekey, "\"%s\": bad "
				    "domain after '@'", p);
			(void)pol_normalize(norm,
			    ld->ld_conf->c_pol.ps_delimiters, cut, sizeof(cut));
		}
		if (conf_add_pattern(r, norm, false) != 0 ||
		    (cut[0] != '\0' && strcmp(cut, norm) != 0 &&
		    conf_add_pattern(r, cut, true) != 0))
			return conf_oom(ld, e, ekey);
	}
	return 0;
}

static int
conf_store_exempt(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o, (void)key, (void)s;
	ld->ld_rule->pr_exempt = v->cv_int != 0;
	return 0;
}

/* conf_store_code - three digits, 4xx or 5xx: a refusal */
static int
conf_store_code(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	const char *c = v->cv_str;

	(void)o;
	if (strlen(c) != 3 || !conf_is_digits(c, 3) ||
	    (c[0] != '4' && c[0] != '5'))
		return conf_fail(ld, s, key, "\"%s\" is not a 4xx or 5xx "
		    "reply code", c);
	memcpy(ld->ld_conf->c_reply.cr_code, c, 4);
	return 0;
}

/*
 * conf_store_xcode - "C.S.D" (RFC 3463), class C the code's first digit.
 * The default follows the code's class, so that code = "451" alone works.
 */
static int
conf_store_xcode(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	conf_reply *cr = &ld->ld_conf->c_reply;
	const char *x = v->cv_str, *d1, *d2;

	(void)o;
	d1 = strchr(x, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL || d1 != x + 1 || (x[0] != '4' && x[0] != '5') ||
	    d2 - d1 - 1 > 3 || !conf_is_digits(d1 + 1, (size_t)(d2 - d1 - 1)) ||
	    strlen(d2 + 1) > 3 || !conf_is_digits(d2 + 1, strlen(d2 + 1)))
		return conf_fail(ld, s, key, "\"%s\" is not an enhanced status "
		    "code (4.X.Y or 5.X.Y, X and Y of 1..3 digits)", x);
	if (x[0] != cr->cr_code[0] && !ld->ld_defaulting)
		return conf_fail(ld, s, key, "class %c of \"%s\" does not match "
		    "reply.code \"%s\"", x[0], x, cr->cr_code);
	snprintf(cr->cr_xcode, sizeof(cr->cr_xcode), "%s", x);
	cr->cr_xcode[0] = cr->cr_code[0];
	return 0;
}

/* conf_store_text - printable ASCII lines, as written ('%' is the
 * milter's business) */
static int
conf_store_text(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	conf_reply *cr = &ld->ld_conf->c_reply;
	int i, n = config_setting_length(s);
	char ekey[CONF_KEY_MAX];
	size_t j, len, npct;

	(void)o, (void)v;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *t = config_setting_get_string(e);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i + 1);
		len = strlen(t);
		if (len == 0)
			return conf_fail(ld, e, ekey, "must not be empty");
		if (len > CONF_TEXT_LINE_MAX)
			return conf_fail(ld, e, ekey, "is %zu bytes long, the "
			    "most is %d", len, CONF_TEXT_LINE_MAX);
		for (j = 0, npct = 0; j < len; j++) {
			if ((unsigned char)t[j] < 0x20 ||
			    (unsigned char)t[j] > 0x7e)
				return conf_fail(ld, e, ekey, "character %zu "
				    "(0x%02x) is not printable ASCII (no CR, "
				    "LF or other control characters)", j + 1,
				    (unsigned char)t[j]);
			npct += t[j] == '%';
		}
		/* the milter doubles each '%' for libmilter, which refuses a
		 * text past MAXREPLYLEN: the MTA would then send its own */
		if (len + npct > CONF_MILTER_LINE_MAX)
			return conf_fail(ld, e, ekey, "has %zu '%%' "
			    "characters, which libmilter's reply doubles: "
			    "%zu bytes then, the most is %d", npct,
			    len + npct, CONF_MILTER_LINE_MAX);
		if ((cr->cr_lines[i] = strdup(t)) == NULL)
			return conf_oom(ld, e, ekey);
		cr->cr_nlines++;
	}
	return 0;
}

static int
conf_store_on_error(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o, (void)key, (void)s;
	ld->ld_conf->c_store_error = (conf_store_error)v->cv_int;
	return 0;
}

static int
conf_store_refuse_at(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o, (void)key, (void)s;
	ld->ld_conf->c_refuse_at = (conf_refuse_at)v->cv_int;
	return 0;
}

static int
conf_store_facility(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	const conf_enum *e;

	(void)key, (void)s;
	ld->ld_conf->c_log_facility = (int)v->cv_int;
	for (e = o->co_enum; e->ce_name != NULL; e++)
		if (strcmp(e->ce_name, v->cv_str) == 0)
			ld->ld_conf->c_log_facility_name = e->ce_name;
	return 0;
}

/* conf_store_member_int - the conf_t member at co_off: co_arg 0 an int,
 * 1 a size_t (the bounds are checked already) */
static int
conf_store_member_int(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	char *member = (char *)ld->ld_conf + o->co_off;

	(void)key, (void)s;
	if (o->co_arg == 1)
		*(size_t *)(void *)member = (size_t)v->cv_int;
	else
		*(int *)(void *)member = (int)v->cv_int;
	return 0;
}

/* conf_prefix - s after prefix, or NULL */
static const char *
conf_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

bool
conf_socket_valid(const char *spec, char *err, size_t errlen)
{
	const char *p, *at;
	size_t n;
	long port;

	if ((p = conf_prefix(spec, "unix:")) != NULL ||
	    (p = conf_prefix(spec, "local:")) != NULL) {
		if (*p == '\0') {
			snprintf(err, errlen, "no path after the ':'");
			return false;
		}
		/* relative, it would name a file under whatever directory
		 * sendguard was started from (/ under systemd), which the
		 * MTA naming it cannot know (as spam.spamd, database) */
		if (*p != '/') {
			snprintf(err, errlen, "want an absolute path after "
			    "the ':'");
			return false;
		}
		if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "the path is longer than %zu "
			    "bytes", sizeof(((struct sockaddr_un *)0)->sun_path)
			    - 1);
			return false;
		}
		return true;
	}
	if ((p = conf_prefix(spec, "inet:")) == NULL &&
	    (p = conf_prefix(spec, "inet6:")) == NULL) {
		snprintf(err, errlen, "want unix:/path, local:/path, "
		    "inet:PORT[@HOST] or inet6:PORT[@HOST]");
		return false;
	}
	at = strchr(p, '@');
	n = at != NULL ? (size_t)(at - p) : strlen(p);
	port = n <= 5 && conf_is_digits(p, n) ? strtol(p, NULL, 10) : 0;
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "the port must be a number 1..65535");
		return false;
	}
	if (at != NULL) {
		if (at[1] == '\0') {
			snprintf(err, errlen, "no host after the '@'");
			return false;
		}
		for (p = at + 1; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 ||
			    (unsigned char)*p >= 0x7f || *p == '@') {
				snprintf(err, errlen, "the host has a space, "
				    "'@', control or non-ASCII character");
				return false;
			}
	}
	return true;
}
