/*
 * conf_daemon.c - the store functions of the daemon's own options: user,
 * group, pidfile and alerts.* (the rows are in conf_table.c).  Each checks
 * one value and copies it into the conf_t being loaded; errors go through
 * conf_fail() as "file:line: key: message".  No state; thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

/* conf_store_account - a user or group name as useradd(8) takes it
 * (letters, digits, '.', '_', '-', not starting with '-'), or "" */
int
conf_store_account(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	const char *p = v->cv_str;

	if (strlen(p) > 32)
		return conf_fail(ld, s, key, "\"%s\" is longer than 32 "
		    "characters", p);
	for (; *p != '\0'; p++)
		if (!conf_is_alnum((unsigned char)*p) && *p != '.' &&
		    *p != '_' && (*p != '-' || p == v->cv_str))
			return conf_fail(ld, s, key, "\"%s\" is not a user or "
			    "group name (letters, digits, '.', '_', '-', not "
			    "starting with '-')", v->cv_str);
	return conf_strdup_into(ld, s, key,
	    (char **)((char *)ld->ld_conf + o->co_off), v->cv_str);
}

/* conf_store_abspath - an absolute path (a program is run without a
 * shell or PATH search); "" too when co_arg is 1 */
int
conf_store_abspath(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	const unsigned char *p;

	if (*v->cv_str == '\0' && o->co_arg == 1)
		goto store;
	if (v->cv_str[0] != '/')
		return conf_fail(ld, s, key, "\"%s\" is not an absolute path%s",
		    v->cv_str, o->co_arg == 1 ? " (or \"\" for none)" : "");
	for (p = (const unsigned char *)v->cv_str; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return conf_fail(ld, s, key, "control character at "
			    "position %zu", (size_t)(p -
			    (const unsigned char *)v->cv_str) + 1);
store:
	return conf_strdup_into(ld, s, key,
	    (char **)((char *)ld->ld_conf + o->co_off), v->cv_str);
}

/* conf_store_mail_to - alert recipients: whole addresses, normalised, that
 * cannot be mistaken for an option of sendmail(1) */
int
conf_store_mail_to(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	conf_alerts *ca = &ld->ld_conf->c_alerts;
	int i, n = config_setting_length(s);
	char ekey[CONF_KEY_MAX], norm[POL_ADDR_SIZE];
	pol_addr_status st;
	size_t header = 0;

	(void)o, (void)v;
	if ((ca->ca_mail_to = conf_strarray(n)) == NULL)
		return conf_oom(ld, s, key);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *a = config_setting_get_string(e);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i + 1);
		st = pol_normalize(a, "", norm, sizeof(norm));
		if (st != POL_ADDR_OK || norm[0] == '-' ||
		    strchr(norm, '@') == NULL ||
		    !conf_domain_ok(pol_domain_of(norm), false))
			return conf_fail(ld, e, ekey, "\"%s\" is not an address "
			    "(local@domain, not starting with '-')", a);
		/* the alert mail names them all in its To: header */
		header += strlen(norm) + 2;
		if (header > CONF_MAIL_TO_MAX)
			return conf_fail(ld, e, ekey, "the addresses up to this "
			    "one take %zu bytes in the alert's To: header, the "
			    "most is %d (use a list's address)", header,
			    CONF_MAIL_TO_MAX);
		if ((ca->ca_mail_to[i] = strdup(norm)) == NULL)
			return conf_oom(ld, e, ekey);
		ca->ca_nmail_to++;
	}
	return 0;
}
