/*
 * ctl_args.c - sendguardctl's command lines and the checks of what people
 * type: options, identities, the actor, and how failures are reported.
 *
 * Everything typed is untrusted: an identity goes through the milter's
 * own pol_normalize(), an argument echoed in a message is cut and cleaned
 * (ctl_quote), and each failure is one line on stderr with the documented
 * exit status.  Single-threaded (ctl_quote's static buffers).
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_table.h"

#define QUOTE_MAX	64

void
ctl_err(const ctl_t *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (c != NULL && c->ctx_cmd != NULL)
		fprintf(stderr, "sendguardctl: %s: ", c->ctx_cmd);
	else
		fputs("sendguardctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_store_failed(const ctl_t *c, const char *err)
{
	store_errkind_t kind = store_errkind(c->ctx_store);

	switch (kind) {
	case STORE_ERR_BUSY:
		ctl_err(c, "%s (the database stayed locked past "
		    "busy_timeout_ms; try again)", err);
		return CTL_EXIT_TEMPFAIL;
	case STORE_ERR_NONE:		/* out of memory outside the store */
	case STORE_ERR_INTERNAL:
		ctl_err(c, "%s", err);
		return CTL_EXIT_SOFTWARE;
	default:
		ctl_err(c, "%s", err);
		return CTL_EXIT_UNAVAILABLE;
	}
}

const char *
ctl_quote(const char *arg)
{
	static char buf[4][QUOTE_MAX + 8];
	static int k;
	char *b = buf[k++ % 4];

	/* cleaned, and cut before a character, never inside one */
	b[0] = '"';
	if (arg[ctl_clean_len(arg, b + 1, QUOTE_MAX + 1)] != '\0')
		strcat(b, "...");
	strcat(b, "\"");
	return b;
}

/* find - the option called name (len bytes), or NULL */
static const ctl_opt *
find(const ctl_opt *opts, const char *name, size_t len)
{
	for (; opts != NULL && opts->co_name != NULL; opts++)
		if (strlen(opts->co_name) == len &&
		    strncmp(opts->co_name, name, len) == 0)
			return opts;
	return NULL;
}

int
ctl_args(const ctl_t *c, int argc, char **argv, const ctl_opt *opts,
    const char **pos, size_t minpos, size_t maxpos)
{
	const ctl_opt *o;
	const char *a, *eq;
	size_t npos = 0;
	bool dashdash = false;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (npos == maxpos) {
				ctl_err(c, "unexpected argument %s",
				    ctl_quote(a));
				return CTL_EXIT_USAGE;
			}
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			ctl_usage(stdout);
			return CTL_HELP_SHOWN;
		}
		eq = strchr(a, '=');
		o = a[1] == '-' ? find(opts, a + 2,
		    eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2)) : NULL;
		if (o == NULL && (strcmp(a, "-c") == 0 ||
		    strcmp(a, "--now") == 0 || strncmp(a, "--now=", 6) == 0)) {
			ctl_err(c, "%s goes before the command: sendguardctl "
			    "%s %s ...", a[1] == 'c' ? "-c" : "--now",
			    a[1] == 'c' ? "-c FILE" : "--now TIME", c->ctx_cmd);
			return CTL_EXIT_USAGE;
		}
		if (o == NULL) {
			ctl_err(c, "unknown option %s", ctl_quote(a));
			return CTL_EXIT_USAGE;
		}
		if (!o->co_arg) {
			if (eq != NULL) {
				ctl_err(c, "--%s takes no value", o->co_name);
				return CTL_EXIT_USAGE;
			}
			*o->co_val = "";
		} else if (eq != NULL) {
			*o->co_val = eq + 1;
		} else if (i + 1 < argc) {
			*o->co_val = argv[++i];
		} else {
			ctl_err(c, "--%s needs a value", o->co_name);
			return CTL_EXIT_USAGE;
		}
	}
	if (npos < minpos) {
		ctl_err(c, "missing argument (-h for help)");
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* ctl_identity_cut - cut id's subaddress unless it is a login's (see
 * ctl_identity) */
static int
ctl_identity_cut(ctl_t *c, char *id)
{
	char cut[POL_ADDR_SIZE], err[CTL_ERR_SIZE];
	bool known;
	int rc;

	(void)pol_normalize(id, conf_policy(c->ctx_conf)->ps_delimiters, cut,
	    sizeof(cut));
	if (c->ctx_login != NULL || strcmp(cut, id) == 0)
		return 0;
	/* mary-jane@ is a login's identity if the milter has seen it whole;
	 * else the envelope senders cut to mary@ are meant */
	if ((rc = ctl_open(c)) != 0)
		return rc;
	if (store_identity_known(c->ctx_store, id, &known, err,
	    sizeof(err)) != 0)
		return ctl_store_failed(c, err);
	if (!known)
		memcpy(id, cut, strlen(cut) + 1);
	return 0;
}

int
ctl_identity(ctl_t *c, const char *arg, char *out)
{
	pol_addr_status st;
	int rc;

	if (arg[0] == '\0') {
		ctl_err(c, "the identity is empty");
		return CTL_EXIT_USAGE;
	}
	/* recipient_delimiter is the configuration's */
	if ((rc = ctl_load(c)) != 0)
		return rc;
	/* --login: as the milter takes a login, which need not be an
	 * address ("john smith"), and never cut */
	if (c->ctx_login != NULL)
		st = pol_login_normalize(arg, out, POL_ADDR_SIZE);
	else
		st = pol_normalize(arg, "", out, POL_ADDR_SIZE);
	switch (st) {
	case POL_ADDR_OK:
		return c->ctx_login != NULL ? 0 : ctl_identity_cut(c, out);
	case POL_ADDR_NULL:
		if (strchr(arg, '<') == NULL)
			ctl_err(c, "the identity is empty");
		else
			ctl_err(c, "%s is the null sender, never an identity",
			    ctl_quote(arg));
		break;
	case POL_ADDR_TOO_LONG:
		ctl_err(c, "the identity is %zu bytes long; the most is %d",
		    strlen(arg), POL_ADDR_MAX);
		break;
	default:
		ctl_err(c, "%s is not an identity: %s%s", ctl_quote(arg),
		    pol_addr_status_str(st), c->ctx_login != NULL ? "" :
		    " (a SASL login that is no address: --login)");
		break;
	}
	return CTL_EXIT_USAGE;
}

int
ctl_reason(const ctl_t *c, const char *text, size_t max)
{
	const unsigned char *p;

	if (strlen(text) > max) {
		ctl_err(c, "--reason is %zu bytes long; the most is %zu",
		    strlen(text), max);
		return CTL_EXIT_USAGE;
	}
	for (p = (const unsigned char *)text; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			ctl_err(c, "--reason has a control character at byte "
			    "%zu", (size_t)(p - (const unsigned char *)text) +
			    1);
			return CTL_EXIT_USAGE;
		}
	return 0;
}

void
ctl_actor(char *out, size_t outlen)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw;
	char uid[32];

	if (who == NULL || who[0] == '\0') {
		if ((pw = getpwuid(getuid())) != NULL)
			who = pw->pw_name;
		else {
			snprintf(uid, sizeof(uid), "uid %lu",
			    (unsigned long)getuid());
			who = uid;
		}
	}
	ctl_clean(who, out, outlen);
}
