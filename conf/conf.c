/*
 * conf.c - load sendguard's libconfig file into a conf_t: the walk of the
 * option table (conf_table.c) over the libconfig tree, the defaults, the
 * error messages, and the accessors.
 *
 * Loading walks the table, not the file: globals are stored before
 * "policies" whatever their order in the file, so a rule inherits the
 * global limits and action.  A missing key takes the row's default, parsed
 * from its text in the table; a missing key inside a rule inherits.
 *
 * Error messages are "file:line: key: message".  Keys are dotted paths;
 * list entries are numbered from 1: "policies[2].limits.recipients_per_day",
 * "reply.text[1]".  Memory: the conf_t owns plain C copies of everything;
 * the config_t is destroyed before conf_load() returns.  Never logs, never
 * exits.  conf_load() is reentrant; a loaded conf_t is read-only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf_int.h"

/* conf_line - the source line of s, or of its nearest ancestor that has one */
int
conf_line(const config_setting_t *s)
{
	for (; s != NULL; s = config_setting_parent(s))
		if (config_setting_source_line(s) != 0)
			return config_setting_source_line(s);
	return 0;
}

char *
conf_source_path(const conf_ld *ld, const char *file)
{
	const char *dir = ld->ld_include_dir;
	size_t n;
	char *path;

	/* libconfig 1.5 joins the include directory to every included name,
	 * even one starting with '/'. */
	if (strcmp(file, ld->ld_file) == 0 || dir == NULL)
		return strdup(file);
	n = strlen(dir) + strlen(file) + 2;
	if ((path = malloc(n)) != NULL)
		snprintf(path, n, "%s%s%s", dir,
		    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/",
		    file);
	return path;
}

/* conf_fail - "file:line: key: message" into the caller's buffer; -1 */
int
conf_fail(conf_ld *ld, const config_setting_t *s, const char *key,
    const char *fmt, ...)
{
	char msg[CONF_REPLY_LINE_MAX + 128];
	const char *file = ld->ld_file;
	int line = conf_line(s);
	va_list ap;

	if (ld->ld_defaulting)
		file = CONF_DEFAULTS_FILE;
	else if (s != NULL && config_setting_source_file(s) != NULL)
		file = config_setting_source_file(s);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(ld->ld_err, ld->ld_errlen, "%s:%d: %s: %s", file, line,
		    key, msg);
	else
		snprintf(ld->ld_err, ld->ld_errlen, "%s: %s: %s", file, key, msg);
	return -1;
}

/* conf_oom - out of memory, reported like any other error */
int
conf_oom(conf_ld *ld, const config_setting_t *s, const char *key)
{
	return conf_fail(ld, s, key, "%s", strerror(ENOMEM));
}

/* conf_enum_list - "a, b, c" for an error message */
static void
conf_enum_list(const conf_enum *e, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (; e->ce_name != NULL && n < outlen; e++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s",
		    n > 0 ? ", " : "", e->ce_name);
}

/* conf_opt_find - the row called name, or NULL */
static const conf_opt *
conf_opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < conf_nopts; i++)
		if (strcmp(conf_opts[i].co_name, name) == 0)
			return &conf_opts[i];
	return NULL;
}

/* conf_opt_child - is row o a direct child of prefix ("" = the root)?
 * Returns its last name component, or NULL. */
static const char *
conf_opt_child(const conf_opt *o, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *leaf;

	if (n == 0)
		leaf = o->co_name;
	else if (strncmp(o->co_name, prefix, n) == 0 && o->co_name[n] == '.')
		leaf = o->co_name + n + 1;
	else
		return NULL;
	return strchr(leaf, '.') == NULL ? leaf : NULL;
}

/* conf_key - a display key: "base.leaf", or "leaf" at the root */
static void
conf_key(char *out, size_t outlen, const char *base, const char *leaf)
{
	if (*base == '\0')
		snprintf(out, outlen, "%s", leaf);
	else
		snprintf(out, outlen, "%s.%s", base, leaf);
}

/* conf_value - check s against row o's type and bounds, then store it */
static int
conf_value(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s)
{
	conf_val v = { 0, 0, NULL };
	char allowed[256];
	const conf_enum *e;
	int type = config_setting_type(s), i, n;

	switch (o->co_kind) {
	case CK_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return conf_fail(ld, s, key, "must be an integer");
		if (conf_literal_check(ld, s, key, o->co_min, o->co_max) != 0)
			return -1;
		v.cv_int = config_setting_get_int64(s);
		if (v.cv_int < o->co_min || v.cv_int > o->co_max)
			return conf_fail(ld, s, key,
			    "%lld is out of range (%lld..%lld)",
			    v.cv_int, o->co_min, o->co_max);
		break;
	case CK_FLOAT:
		if (conf_literal_check(ld, s, key, o->co_min, o->co_max) != 0)
			return -1;
		if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
			v.cv_float = (double)config_setting_get_int64(s);
		else if (type == CONFIG_TYPE_FLOAT)
			v.cv_float = config_setting_get_float(s);
		else
			return conf_fail(ld, s, key, "must be a number");
		if (!(v.cv_float >= (double)o->co_min &&
		    v.cv_float <= (double)o->co_max))
			return conf_fail(ld, s, key,
			    "%g is out of range (%lld..%lld)",
			    v.cv_float, o->co_min, o->co_max);
		break;
	case CK_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return conf_fail(ld, s, key,
			    "must be a boolean (true or false)");
		v.cv_int = config_setting_get_bool(s);
		break;
	case CK_STR:
		if (type != CONFIG_TYPE_STRING)
			return conf_fail(ld, s, key, "must be a string");
		v.cv_str = config_setting_get_string(s);
		break;
	case CK_ENUM:
		conf_enum_list(o->co_enum, allowed, sizeof(allowed));
		if (type != CONFIG_TYPE_STRING)
			return conf_fail(ld, s, key,
			    "must be a string, one of: %s", allowed);
		v.cv_str = config_setting_get_string(s);
		for (e = o->co_enum; e->ce_name != NULL; e++)
			if (strcmp(e->ce_name, v.cv_str) == 0)
				break;
		if (e->ce_name == NULL)
			return conf_fail(ld, s, key,
			    "\"%s\" is not one of: %s", v.cv_str, allowed);
		v.cv_int = e->ce_value;
		break;
	case CK_STRLIST:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			return conf_fail(ld, s, key,
			    "must be a list of strings: [ \"...\", ... ]");
		n = config_setting_length(s);
		for (i = 0; i < n; i++)
			if (config_setting_type(config_setting_get_elem(s,
			    (unsigned)i)) != CONFIG_TYPE_STRING)
				return conf_fail(ld,
				    config_setting_get_elem(s, (unsigned)i),
				    key, "must be a list of strings: "
				    "[ \"...\", ... ]");
		if (n < o->co_min && o->co_min == 1 && o->co_max == 0)
			return conf_fail(ld, s, key, "must not be empty");
		if (n < o->co_min || (o->co_max > 0 && n > o->co_max))
			return conf_fail(ld, s, key,
			    "must hold %lld..%lld entries, not %d",
			    o->co_min, o->co_max, n);
		break;
	case CK_LIST:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			return conf_fail(ld, s, key, "must be a list: ( ... )");
		n = config_setting_length(s);
		if (n < o->co_min || (o->co_max > 0 && n > o->co_max))
			return conf_fail(ld, s, key,
			    "must hold %lld..%lld entries, not %d",
			    o->co_min, o->co_max, n);
		break;
	case CK_GROUP:
		if (type != CONFIG_TYPE_GROUP)
			return conf_fail(ld, s, key,
			    "must be a group: { ... }");
		return conf_group(ld, o->co_sub, key, s);
	case CK_GROUPLIST:
		/* [] is no policies, as local_domains = [] is no domains;
		 * libconfig's arrays hold only scalars, so a full one is
		 * still refused */
		if (type != CONFIG_TYPE_LIST && (type != CONFIG_TYPE_ARRAY ||
		    config_setting_length(s) != 0))
			return conf_fail(ld, s, key,
			    "must be a list of groups: ( { ... }, ... )");
		n = config_setting_length(s);
		for (i = 0; i < n; i++)
			if (config_setting_type(config_setting_get_elem(s,
			    (unsigned)i)) != CONFIG_TYPE_GROUP)
				return conf_fail(ld,
				    config_setting_get_elem(s, (unsigned)i),
				    key, "must be a list of groups: "
				    "( { ... }, ... )");
		break;
	}
	return o->co_store(ld, o, key, s, &v);
}

/* conf_default - store row o's default, parsed from its text in the table */
static int
conf_default(conf_ld *ld, const conf_opt *o, const char *key)
{
	config_t cfg;
	char text[1024];
	int rc;

	config_init(&cfg);
	snprintf(text, sizeof(text), "v = %s;", o->co_default);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		/* Only a broken table gets here; conf_test loads every default. */
		rc = conf_fail(ld, NULL, key, "bad default %s: %s",
		    o->co_default, config_error_text(&cfg));
	} else {
		ld->ld_defaulting = true;
		rc = conf_value(ld, o, key, config_lookup(&cfg, "v"));
		ld->ld_defaulting = false;
	}
	config_destroy(&cfg);
	return rc;
}

/*
 * conf_group - unknown keys first (a typo is the likeliest mistake), then
 * every row in table order, from g or from the default.
 */
int
conf_group(conf_ld *ld, const char *prefix, const char *base,
    const config_setting_t *g)
{
	char name[CONF_KEY_MAX], key[CONF_KEY_MAX];
	const config_setting_t *s;
	const char *leaf;
	size_t i;
	int n;

	n = g != NULL ? config_setting_length(g) : 0;
	for (i = 0; i < (size_t)n; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		conf_key(name, sizeof(name), prefix, config_setting_name(s));
		conf_key(key, sizeof(key), base, config_setting_name(s));
		if (conf_opt_find(name) == NULL)
			return conf_fail(ld, s, key, "unknown key");
	}
	for (i = 0; i < conf_nopts; i++) {
		const conf_opt *o = &conf_opts[i];

		if ((leaf = conf_opt_child(o, prefix)) == NULL)
			continue;
		conf_key(key, sizeof(key), base, leaf);
		s = g != NULL ? config_setting_get_member(g, leaf) : NULL;
		if (s != NULL) {
			if (conf_value(ld, o, key, s) != 0)
				return -1;
		} else if (o->co_required) {
			return conf_fail(ld, g, key, "is required");
		} else if (o->co_kind == CK_GROUP && !ld->ld_in_rule) {
			if (conf_group(ld, o->co_sub, key, NULL) != 0)
				return -1;
		} else if (o->co_default != NULL && !ld->ld_in_rule) {
			if (conf_default(ld, o, key) != 0)
				return -1;
		}
	}
	return 0;
}

/* conf_build - a conf_t from a parsed cfg (empty for the defaults) */
static conf_t *
conf_build(const config_t *cfg, const char *path, char *err, size_t errlen)
{
	conf_ld ld;
	conf_t *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->c_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		free(c);
		return NULL;
	}
	memset(&ld, 0, sizeof(ld));
	ld.ld_conf = c;
	ld.ld_file = path;
	ld.ld_err = err;
	ld.ld_errlen = errlen;
	ld.ld_limits = &c->c_pol.ps_limits;
	ld.ld_action = &c->c_pol.ps_action;
	ld.ld_include_dir = config_get_include_dir(cfg);
	if (conf_group(&ld, "", "", config_root_setting(cfg)) != 0) {
		conf_free(c);
		c = NULL;
	}
	conf_literal_free(&ld);
	return c;
}

conf_t *
conf_load(const char *path, char *err, size_t errlen)
{
	config_t cfg;
	conf_t *c = NULL;
	struct stat st;
	char *dir = NULL, *slash;
	FILE *fp;

	/* libconfig says only "file I/O error": find out why ourselves. */
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(EISDIR));
		return NULL;
	}
	fclose(fp);

	config_init(&cfg);
	/*
	 * @include "x" is relative to the main file's directory, in nested
	 * includes too: libconfig 1.5 joins every included name (absolute
	 * ones as well) to this one directory, and has no hook to resolve
	 * a name against the file that includes it.
	 */
	if ((slash = strrchr(path, '/')) != NULL &&
	    (dir = strndup(path, (size_t)(slash - path) + 1)) != NULL)
		config_set_include_dir(&cfg, dir);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_file(&cfg) != NULL)
			snprintf(err, errlen, "%s:%d: %s",
			    config_error_file(&cfg), config_error_line(&cfg),
			    config_error_text(&cfg));
		else
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    config_error_text(&cfg));
		goto out;
	}
	c = conf_build(&cfg, path, err, errlen);
out:
	config_destroy(&cfg);
	free(dir);
	return c;
}

conf_t *
conf_defaults(char *err, size_t errlen)
{
	config_t cfg;
	conf_t *c;

	config_init(&cfg);
	c = conf_build(&cfg, CONF_DEFAULTS_FILE, err, errlen);
	config_destroy(&cfg);
	return c;
}

void
conf_free(conf_t *c)
{
	pol_set *ps;
	size_t i, j;

	if (c == NULL)
		return;
	ps = &c->c_pol;
	for (i = 0; i < ps->ps_nlocal_domains; i++)
		free(ps->ps_local_domains[i]);
	free(ps->ps_local_domains);
	free(ps->ps_networks);
	for (i = 0; i < ps->ps_nrules; i++) {
		for (j = 0; j < ps->ps_rules[i].pr_nmatch; j++)
			free(ps->ps_rules[i].pr_match[j]);
		free(ps->ps_rules[i].pr_match);
		free(ps->ps_rules[i].pr_cut);
		free(ps->ps_rules[i].pr_file);
	}
	free(ps->ps_rules);
	pol_spam_set_free(&c->c_spam);
	for (i = 0; i < c->c_reply.cr_nlines; i++)
		free((char *)c->c_reply.cr_lines[i]);
	free(c->c_path);
	free(c->c_socket);
	free(c->c_database);
	free(c->c_user);
	free(c->c_group);
	free(c->c_pidfile);
	for (i = 0; i < c->c_alerts.ca_nmail_to; i++)
		free(c->c_alerts.ca_mail_to[i]);
	free(c->c_alerts.ca_mail_to);
	free(c->c_alerts.ca_sendmail_path);
	free(c->c_alerts.ca_command);
	free(c);
}

const char *
conf_restart_needed(const conf_t *old, const conf_t *nc)
{
	size_t i;

	if (old->c_socket_mode != nc->c_socket_mode)
		return "socket_mode";
	for (i = 0; i < conf_nopts; i++) {
		const conf_opt *o = &conf_opts[i];

		/* Every restart-only option is a string member (the table
		 * says where); compare those. */
		if (o->co_reload || o->co_off == 0)
			continue;
		if (strcmp(*(char *const *)((const char *)old + o->co_off),
		    *(char *const *)((const char *)nc + o->co_off)) != 0)
			return o->co_name;
	}
	return NULL;
}

const char *conf_path(const conf_t *c) { return c->c_path; }
const char *
conf_rule_file(const conf_t *c, const pol_rule *r)
{
	return r->pr_file != NULL ? r->pr_file : c->c_path;
}
const char *conf_socket(const conf_t *c) { return c->c_socket; }
int conf_socket_mode(const conf_t *c) { return c->c_socket_mode; }
const char *conf_database(const conf_t *c) { return c->c_database; }
int conf_busy_timeout_ms(const conf_t *c) { return c->c_busy_timeout_ms; }
conf_store_error conf_on_store_error(const conf_t *c) { return c->c_store_error; }
conf_refuse_at conf_refuse_restricted_at(const conf_t *c) { return c->c_refuse_at; }
int conf_log_facility(const conf_t *c) { return c->c_log_facility; }
const char *conf_log_facility_name(const conf_t *c) { return c->c_log_facility_name; }
const conf_reply *conf_reply_get(const conf_t *c) { return &c->c_reply; }
int conf_unblock_max_per_30_days(const conf_t *c) { return c->c_unblock_max; }
const pol_set *conf_policy(const conf_t *c) { return &c->c_pol; }
const char *conf_user_name(const conf_t *c) { return c->c_user; }
const char *conf_group_name(const conf_t *c) { return c->c_group; }
const char *conf_pidfile(const conf_t *c) { return c->c_pidfile; }
const conf_alerts *conf_alerts_get(const conf_t *c) { return &c->c_alerts; }
const pol_spam_set *conf_spam_rules(const conf_t *c) { return &c->c_spam; }
const conf_spamd *conf_spam_spamd(const conf_t *c) { return c->c_has_spamd ? &c->c_spamd : NULL; }
int conf_spam_timeout_ms(const conf_t *c) { return c->c_spam_timeout_ms; }
size_t conf_spam_max_size(const conf_t *c) { return c->c_spam_max_size; }
conf_spam_action conf_spam_on_message(const conf_t *c) { return c->c_spam_on_message; }
bool conf_spam_enabled(const conf_t *c) { return c->c_spam.pss_nrules > 0 || c->c_has_spamd; }
