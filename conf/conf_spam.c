/*
 * conf_spam.c - the spam.* options: the header rules (presets and custom
 * rules), where spamd listens, and what a spam message gets.
 *
 * spam.headers is a list whose elements are either a preset name
 * ("spamassassin", "rspamd") or a group { header = "..."; regex = "..."; }
 * or { header = "..."; threshold = 5.0; }.  Each element becomes one
 * pol_spam_rule, in the order written; regexes are compiled here, once,
 * so that a bad one is a file:line error and never a run-time surprise.
 *
 * Store functions as in conf_table.c: 0, or -1 through conf_fail(); they
 * never log.  Reentrant: everything is written into the load's conf_t.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_int.h"

const conf_enum conf_spam_actions[] = {
	{ "accept", CONF_SPAM_ACCEPT },
	{ "hold", CONF_SPAM_HOLD },
	{ "reject", CONF_SPAM_REJECT },
	{ NULL, 0 }
};

/* conf_spam_rule_group - a custom rule: its keys, then the one check that
 * needs them all (exactly one of regex and threshold) */
static int
conf_spam_rule_group(conf_ld *ld, const char *key,
    const config_setting_t *e, pol_spam_rule *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->psr_kind = POL_SR_SPAMASSASSIN;	/* "no test yet" */
	ld->ld_spam_rule = r;
	rc = conf_group(ld, "spam.headers[]", key, e);
	ld->ld_spam_rule = NULL;
	if (rc != 0)
		return -1;
	if (r->psr_kind != POL_SR_REGEX && r->psr_kind != POL_SR_SCORE)
		return conf_fail(ld, e, key, "a custom rule needs regex or "
		    "threshold");
	return 0;
}

int
conf_store_spam_headers(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_spam_set *set = &ld->ld_conf->c_spam;
	int i, n = config_setting_length(s);
	char ekey[CONF_KEY_MAX];

	(void)o, (void)v;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		pol_spam_rule r;

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i + 1);
		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			const char *name = config_setting_get_string(e);

			if (!pol_spam_rule_preset(&r, name))
				return conf_fail(ld, e, ekey, "\"%s\" is not a "
				    "preset (spamassassin, rspamd)", name);
		} else if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
			if (conf_spam_rule_group(ld, ekey, e, &r) != 0) {
				pol_spam_rule_free(&r);
				return -1;
			}
		} else
			return conf_fail(ld, e, ekey, "must be a preset name "
			    "or a group { header = \"...\"; regex = \"...\"; }");
		r.psr_line = conf_line(e);
		if (!pol_spam_set_add(set, &r)) {
			pol_spam_rule_free(&r);
			return conf_fail(ld, e, ekey, "the rules read more than "
			    "%d different headers", POL_SPAM_HEADERS_MAX);
		}
	}
	return 0;
}

int
conf_store_spam_header(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o;
	if (!pol_spam_header_ok(v->cv_str))
		return conf_fail(ld, s, key, "\"%s\" is not a header name "
		    "(1..%d printable ASCII characters, no ':' or space)",
		    v->cv_str, POL_SPAM_NAME_SIZE - 1);
	snprintf(ld->ld_spam_rule->psr_header,
	    sizeof(ld->ld_spam_rule->psr_header), "%s", v->cv_str);
	return 0;
}

int
conf_store_spam_regex(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_spam_rule *r = ld->ld_spam_rule, built;
	char why[256];

	(void)o;
	if (*v->cv_str == '\0')
		return conf_fail(ld, s, key, "must not be empty");
	if (!pol_spam_rule_regex(&built, r->psr_header, v->cv_str, why,
	    sizeof(why)))
		return conf_fail(ld, s, key, "\"%s\": %s", v->cv_str, why);
	*r = built;
	return 0;
}

int
conf_store_spam_threshold(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_spam_rule *r = ld->ld_spam_rule;

	(void)o;
	/* table order: regex was stored first */
	if (r->psr_kind == POL_SR_REGEX)
		return conf_fail(ld, s, key, "a rule has regex or threshold, "
		    "not both");
	r->psr_kind = POL_SR_SCORE;
	r->psr_threshold = v->cv_float;
	return 0;
}

bool
conf_spamd_parse(const char *spec, conf_spamd *out, char *err,
    size_t errlen)
{
	const char *p, *at;
	char host[64];
	size_t n;
	long port = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(spec) >= sizeof(out->cs_spec)) {
		snprintf(err, errlen, "longer than %zu bytes",
		    sizeof(out->cs_spec) - 1);
		return false;
	}
	snprintf(out->cs_spec, sizeof(out->cs_spec), "%s", spec);
	if (strncmp(spec, "unix:", 5) == 0) {
		p = spec + 5;
		if (*p != '/' || strlen(p) >= sizeof(out->cs_path)) {
			snprintf(err, errlen, "want an absolute path of at most "
			    "%zu bytes after \"unix:\"", sizeof(out->cs_path) - 1);
			return false;
		}
		out->cs_unix = true;
		snprintf(out->cs_path, sizeof(out->cs_path), "%s", p);
		return true;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		out->cs_family = POL_NET_IPV4;
		p = spec + 5;
	} else if (strncmp(spec, "inet6:", 6) == 0) {
		out->cs_family = POL_NET_IPV6;
		p = spec + 6;
	} else {
		snprintf(err, errlen, "want unix:/path, inet:PORT@ADDRESS or "
		    "inet6:PORT@ADDRESS");
		return false;
	}
	at = strchr(p, '@');
	n = at != NULL ? (size_t)(at - p) : 0;
	if (n >= 1 && n <= 5 && strspn(p, "0123456789") == n)
		port = strtol(p, NULL, 10);
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "want PORT@ADDRESS, the port a number "
		    "1..65535");
		return false;
	}
	out->cs_port = (unsigned)port;
	if (strlen(at + 1) >= sizeof(host) ||
	    inet_pton(out->cs_family == POL_NET_IPV4 ? AF_INET : AF_INET6,
	    at + 1, out->cs_addr) != 1) {
		snprintf(err, errlen, "the address must be a numeric %s "
		    "address (nothing is looked up)",
		    out->cs_family == POL_NET_IPV4 ? "IPv4" : "IPv6");
		return false;
	}
	return true;
}

int
conf_store_spamd(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	char why[256];

	(void)o;
	ld->ld_conf->c_has_spamd = false;
	if (*v->cv_str == '\0')
		return 0;		/* off */
	if (!conf_spamd_parse(v->cv_str, &ld->ld_conf->c_spamd, why,
	    sizeof(why)))
		return conf_fail(ld, s, key, "\"%s\": %s", v->cv_str, why);
	ld->ld_conf->c_has_spamd = true;
	return 0;
}

int
conf_store_spam_on_message(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	(void)o, (void)key, (void)s;
	ld->ld_conf->c_spam_on_message = (conf_spam_action)v->cv_int;
	return 0;
}
