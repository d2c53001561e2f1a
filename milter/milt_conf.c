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

const char *
milt_conf_warning(const conf_t *c, char *buf, size_t len)
{
	const char *d = conf_policy(c)->ps_delimiters;
	const char *hit = strpbrk(d, "-._");

	if (hit == NULL)
		return NULL;
	snprintf(buf, len, "recipient_delimiter contains \"%c\", which user "
	    "names often contain: an envelope sender is cut at it, so that "
	    "mary%cjane@ and mary%cann@ sending from internal_networks without "
	    "a login count as one identity, mary@, with one set of counts and "
	    "one restriction (SASL logins are taken whole; sendguard.conf(5))",
	    *hit, *hit, *hit);
	return buf;
}
