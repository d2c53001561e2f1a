/*
 * milt_conf.c - the current configuration generation, reference-counted.
 *
 * mlfi_connect pins the generation current at that moment and mlfi_close
 * unpins it, so installing a new, fully validated conf_t never pulls a
 * configuration out from under a running message: the old generation is
 * freed by whoever drops its last reference.
 *
 * One mutex guards the current pointer and every reference count; the
 * critical sections are a few instructions long.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milt.h"

static pthread_mutex_t milt_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static milt_conf *milt_conf_current;

/* milt_conf_free - free a generation nobody uses any more */
static void
milt_conf_free(milt_conf *mc)
{
	size_t i;

	for (i = 0; i < mc->mc_nreply; i++)
		free(mc->mc_reply[i]);
	conf_free(mc->mc_conf);
	free(mc);
}

/* escape_percent - a copy of s with every '%' doubled (libmilter drops a
 * reply text with a single '%', as printf would misread it) */
static char *
escape_percent(const char *s)
{
	size_t n = strlen(s), extra = 0, i, j;
	char *out;

	for (i = 0; i < n; i++)
		extra += s[i] == '%';
	if ((out = malloc(n + extra + 1)) == NULL)
		return NULL;
	for (i = j = 0; i < n; i++) {
		out[j++] = s[i];
		if (s[i] == '%')
			out[j++] = '%';
	}
	out[j] = '\0';
	return out;
}

int
milt_conf_install(conf_t *c, char *err, size_t errlen)
{
	const conf_reply *r = conf_reply_get(c);
	milt_conf *mc, *old;
	size_t i;

	if ((mc = calloc(1, sizeof(*mc))) == NULL)
		goto nomem;
	mc->mc_conf = c;
	mc->mc_refs = 1;		/* the "current" reference */
	for (i = 0; i < r->cr_nlines; i++) {
		if ((mc->mc_reply[i] = escape_percent(r->cr_lines[i])) == NULL)
			goto nomem;
		mc->mc_nreply = i + 1;
	}

	pthread_mutex_lock(&milt_conf_lock);
	old = milt_conf_current;
	milt_conf_current = mc;
	if (old != NULL && --old->mc_refs == 0)
		milt_conf_free(old);
	pthread_mutex_unlock(&milt_conf_lock);
	return 0;

nomem:
	if (mc != NULL) {
		mc->mc_conf = NULL;	/* the caller still owns c */
		milt_conf_free(mc);
	}
	snprintf(err, errlen, "out of memory installing the configuration");
	return -1;
}

milt_conf *
milt_conf_acquire(void)
{
	milt_conf *mc;

	pthread_mutex_lock(&milt_conf_lock);
	mc = milt_conf_current;
	if (mc != NULL)
		mc->mc_refs++;
	pthread_mutex_unlock(&milt_conf_lock);
	return mc;
}

void
milt_conf_release(milt_conf *mc)
{
	bool last;

	if (mc == NULL)
		return;
	pthread_mutex_lock(&milt_conf_lock);
	last = --mc->mc_refs == 0;
	pthread_mutex_unlock(&milt_conf_lock);
	if (last)
		milt_conf_free(mc);
}

void
milt_conf_shutdown(void)
{
	milt_conf *mc;

	pthread_mutex_lock(&milt_conf_lock);
	mc = milt_conf_current;
	milt_conf_current = NULL;
	pthread_mutex_unlock(&milt_conf_lock);
	milt_conf_release(mc);
}

/* The largest busy_timeout_ms whose worst wait (twice it, and a second)
 * stays under an MTA's default 30 s milter timeout, with room to spare. */
#define MILT_BUSY_WARN_MS	12000
#define MILT_AT_SIZE		300	/* a policy's "FILE:LINE", in a warning */

/* shadowed - the first pattern of an earlier rule than r that covers
 * pattern i of r, with that rule in *by; NULL if none.  An entry's cut
 * form matches envelope senders only: it covers no login. */
static const char *
shadowed(const pol_set *ps, const pol_rule *r, size_t i,
    const pol_rule **by)
{
	const pol_rule *k;
	size_t j;

	for (k = ps->ps_rules; k < r; k++)
		for (j = 0; j < k->pr_nmatch; j++)
			if ((!k->pr_cut[j] || r->pr_cut[i]) &&
			    pol_pattern_covers(k->pr_match[j],
			    r->pr_match[i])) {
				*by = k;
				return k->pr_match[j];
			}
	return NULL;
}

/* rule_at - "line N" of the main file, or "FILE:N" of an @included one */
static const char *
rule_at(const pol_rule *r, char *buf, size_t len)
{
	if (r->pr_file != NULL)
		snprintf(buf, len, "%s:%d", r->pr_file, r->pr_line);
	else
		snprintf(buf, len, "line %d", r->pr_line);
	return buf;
}

unsigned
milt_conf_warnings(const conf_t *c, milt_warn_fn emit, void *arg)
{
	const pol_set *ps = conf_policy(c);
	const char *hit = strpbrk(ps->ps_delimiters, "-._"), *q;
	const pol_rule *r, *by;
	char buf[MILT_WARNING_SIZE], at1[MILT_AT_SIZE], at2[MILT_AT_SIZE];
	unsigned n = 0;
	size_t j;

	if (hit != NULL) {
		snprintf(buf, sizeof(buf), "recipient_delimiter contains "
		    "\"%c\", which user names often contain: an envelope "
		    "sender is cut at it, so that mary%cjane@ and mary%cann@ "
		    "sending from internal_networks without a login count as "
		    "one identity, mary@, with one set of counts and one "
		    "restriction (SASL logins are taken whole; "
		    "sendguard.conf(5))", *hit, *hit, *hit);
		emit(arg, buf);
		n++;
	}
	/* milt_judge waits up to twice busy_timeout_ms and a second for a
	 * parallel message's restriction; the MTA waits 30 s by default */
	if (conf_busy_timeout_ms(c) > MILT_BUSY_WARN_MS) {
		snprintf(buf, sizeof(buf), "busy_timeout_ms = %d: a message "
		    "may wait up to %d ms for the database, longer than "
		    "Postfix's milter_command_timeout (30s) and Sendmail's "
		    "R:30s; the MTA then tempfails it, and its retry is "
		    "counted again (keep it at %d or less)",
		    conf_busy_timeout_ms(c),
		    2 * conf_busy_timeout_ms(c) + MILT_MARK_SLACK_MS,
		    MILT_BUSY_WARN_MS);
		emit(arg, buf);
		n++;
	}
	/* the first matching policy wins: an entry that an earlier policy
	 * matches in full never applies, a common slip when a domain's
	 * policy comes before its exceptions */
	for (r = ps->ps_rules; r < ps->ps_rules + ps->ps_nrules; r++)
		for (j = 0; j < r->pr_nmatch; j++) {
			if ((q = shadowed(ps, r, j, &by)) == NULL)
				continue;
			snprintf(buf, sizeof(buf), "%s: policies: match "
			    "\"%s\" never applies: the policy at %s matches "
			    "it first (\"%s\"), and the first matching policy "
			    "wins", rule_at(r, at1, sizeof(at1)), r->pr_match[j],
			    rule_at(by, at2, sizeof(at2)), q);
			emit(arg, buf);
			n++;
		}
	return n;
}

/* log_warning - milt_warn_fn for milt_conf_log_warnings */
static void
log_warning(void *arg, const char *text)
{
	milt_log(LOG_WARNING, "%s: %s", (const char *)arg, text);
}

void
milt_conf_log_warnings(const conf_t *c, const char *path)
{
	(void)milt_conf_warnings(c, log_warning, (void *)path);
}
