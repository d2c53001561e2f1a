/*
 * pol_spam.c - spam verdicts from header values and from spamd's answer.
 *
 * The presets read what the filters write:
 *   SpamAssassin  X-Spam-Flag: YES
 *                 X-Spam-Status: Yes, score=7.1 required=5.0 tests=...
 *   rspamd        X-Spam: Yes
 *                 X-Spamd-Result: default: True [12.40 / 15.00]; ...
 *                 X-Spam-Action: reject | add header | rewrite subject |
 *                                discard | quarantine (spam),
 *                                no action | greylist | soft reject
 * X-Spam-Flag and X-Spam are only written for spam, so only "YES" means
 * something there; the other headers give both verdicts.  Within a rule
 * the headers are tried in the order above (the spam-only one first, so
 * that a sender's forged "no action" cannot hide the filter's "Yes"); the
 * first that gives a verdict decides.  Values were unfolded and bounded by pol_spam_unfold();
 * whatever does not parse is noted and skipped.
 *
 * Pure functions; the set is read-only once built.  Reentrant.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pol_spam.h"

/* lower - ASCII lowercase, whatever the locale */
static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ieq - equal ignoring ASCII case */
static bool
ieq(const char *a, const char *b)
{
	for (; *a != '\0' && lower((unsigned char)*a) ==
	    lower((unsigned char)*b); a++, b++)
		;
	return *a == '\0' && *b == '\0';
}

/* iprefix - does s start with p (any case)?  Returns what follows, or NULL */
static const char *
iprefix(const char *s, const char *p)
{
	for (; *p != '\0'; s++, p++)
		if (lower((unsigned char)*s) != lower((unsigned char)*p))
			return NULL;
	return s;
}

/* skip_sp - past spaces */
static const char *
skip_sp(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* word_is - is the word at s (up to a space, ',', ';', '[' or the end)
 * exactly w, in any case? */
static bool
word_is(const char *s, const char *w)
{
	const char *e = iprefix(s, w);

	return e != NULL && (*e == '\0' || *e == ' ' || *e == ',' ||
	    *e == ';' || *e == '[');
}

bool
pol_spam_score(const char *s, const char **end, double *out)
{
	double v = 0, scale = 1;
	bool neg = false;
	int n = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	/* 7 digits: a threshold may be as far as 1000000 */
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (n == 7)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (n == 0)
		return false;
	if (*s == '.') {
		s++;
		/* digits past the 6th change nothing a verdict could see */
		for (n = 0; *s >= '0' && *s <= '9'; s++, n++) {
			if (n >= 6)
				continue;
			scale /= 10;
			v += (*s - '0') * scale;
		}
		if (n == 0)
			return false;
	}
	/* "7.1e3", "7x": not a score; nor "7,1", a decimal comma neither
	 * SpamAssassin nor rspamd writes, which would read as 7 */
	if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	    *s == '.' || (*s >= '0' && *s <= '9') ||
	    (*s == ',' && s[1] >= '0' && s[1] <= '9'))
		return false;
	*out = neg ? -v : v;
	if (end != NULL)
		*end = s;
	return true;
}

/* note - remember the first unparsable value, cleaned and cut */
static void
note(pol_spam_result *out, const char *header, const char *what,
    const char *value)
{
	if (out->psr_note[0] != '\0')
		return;
	(void)snprintf(out->psr_note, sizeof(out->psr_note),
	    "%s: %s: \"%.60s%s\"", header, what, value,
	    strlen(value) > 60 ? "..." : "");
}

bool
pol_spam_header_ok(const char *name)
{
	size_t n = 0;

	for (; *name != '\0'; name++, n++)
		if ((unsigned char)*name <= 0x20 ||
		    (unsigned char)*name >= 0x7f || *name == ':')
			return false;
	return n > 0 && n < POL_SPAM_NAME_SIZE;
}

bool
pol_spam_rule_preset(pol_spam_rule *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(name, "spamassassin") == 0)
		r->psr_kind = POL_SR_SPAMASSASSIN;
	else if (strcmp(name, "rspamd") == 0)
		r->psr_kind = POL_SR_RSPAMD;
	else
		return false;
	return true;
}

bool
pol_spam_rule_regex(pol_spam_rule *r, const char *header,
    const char *pattern, char *err, size_t errlen)
{
	regex_t *re;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((re = malloc(sizeof(*re))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return false;
	}
	rc = regcomp(re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		(void)regerror(rc, re, err, errlen);
		free(re);
		return false;
	}
	r->psr_kind = POL_SR_REGEX;
	(void)snprintf(r->psr_header, sizeof(r->psr_header), "%s", header);
	r->psr_regex = re;
	return true;
}

void
pol_spam_rule_free(pol_spam_rule *r)
{
	if (r->psr_regex != NULL) {
		regfree(r->psr_regex);
		free(r->psr_regex);
		r->psr_regex = NULL;
	}
}

/* The headers each kind of rule reads, in the order it reads them. */
static const char *const sa_headers[] = { "x-spam-flag", "x-spam-status",
    NULL };
static const char *const rspamd_headers[] = { "x-spam", "x-spamd-result",
    "x-spam-action", NULL };

/* add_header - register name (lowercased) once; false when full */
static bool
add_header(pol_spam_set *set, const char *name)
{
	char *dst;
	size_t i;

	if (pol_spam_header_index(set, name) >= 0)
		return true;
	if (set->pss_nheaders == POL_SPAM_HEADERS_MAX)
		return false;
	dst = set->pss_headers[set->pss_nheaders++];
	for (i = 0; name[i] != '\0' && i + 1 < POL_SPAM_NAME_SIZE; i++)
		dst[i] = (char)lower((unsigned char)name[i]);
	dst[i] = '\0';
	return true;
}

bool
pol_spam_set_add(pol_spam_set *set, const pol_spam_rule *r)
{
	const char *const *h = NULL;

	if (set->pss_nrules == POL_SPAM_RULES_MAX)
		return false;
	if (r->psr_kind == POL_SR_SPAMASSASSIN)
		h = sa_headers;
	else if (r->psr_kind == POL_SR_RSPAMD)
		h = rspamd_headers;
	if (h != NULL) {
		for (; *h != NULL; h++)
			if (!add_header(set, *h))
				return false;
	} else if (!add_header(set, r->psr_header))
		return false;
	set->pss_rules[set->pss_nrules++] = *r;
	return true;
}

void
pol_spam_set_free(pol_spam_set *set)
{
	size_t i;

	for (i = 0; i < set->pss_nrules; i++)
		pol_spam_rule_free(&set->pss_rules[i]);
	memset(set, 0, sizeof(*set));
}

int
pol_spam_header_index(const pol_spam_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->pss_nheaders; i++)
		if (ieq(set->pss_headers[i], name))
			return (int)i;
	return -1;
}

bool
pol_spam_unfold(const char *raw, char *out)
{
	size_t n = 0;
	bool cut = false;

	if (raw == NULL)
		raw = "";
	for (; *raw == ' ' || *raw == '\t' || *raw == '\r' || *raw == '\n';
	    raw++)
		;
	for (; *raw != '\0'; raw++) {
		unsigned char c = (unsigned char)*raw;

		if (c == '\r' || c == '\n')
			continue;
		if (n == POL_SPAM_VALUE_MAX) {
			cut = true;
			break;
		}
		out[n++] = c == '\t' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' :
		    (char)c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return cut;
}

/* value_of - the kept value of header name, or NULL */
static const char *
value_of(const pol_spam_set *set, const char *const *values,
    const char *name)
{
	int i = pol_spam_header_index(set, name);

	return i < 0 ? NULL : values[i];
}

/* judge_sa_status - "Yes, score=7.1 required=5.0 tests=..." */
static pol_spam_verdict
judge_sa_status(const char *v, pol_spam_result *out)
{
	pol_spam_verdict verdict;
	const char *p;

	if (word_is(v, "yes"))
		verdict = POL_SPAM_SPAM;
	else if (word_is(v, "no"))
		verdict = POL_SPAM_HAM;
	else {
		note(out, "X-Spam-Status", "neither Yes nor No", v);
		return POL_SPAM_NONE;
	}
	/* The score is for the log; a malformed one does not undo the word. */
	if ((p = strstr(v, "score=")) != NULL) {
		out->psr_has_score = pol_spam_score(p + 6, NULL,
		    &out->psr_score);
		if (!out->psr_has_score)
			note(out, "X-Spam-Status", "malformed score", p);
	}
	if ((p = strstr(v, "required=")) != NULL) {
		out->psr_has_required = pol_spam_score(p + 9, NULL,
		    &out->psr_required);
		if (!out->psr_has_required)
			note(out, "X-Spam-Status", "malformed required score",
			    p);
	}
	return verdict;
}

/* judge_spamd_result - "default: True [12.40 / 15.00]; SYMBOL(1.0)..." */
static pol_spam_verdict
judge_spamd_result(const char *v, pol_spam_result *out)
{
	pol_spam_verdict verdict;
	const char *p = v, *colon = strchr(v, ':');

	/* an optional metric name ("default") before the colon */
	if (colon != NULL && (strchr(v, '[') == NULL || colon < strchr(v, '[')))
		p = colon + 1;
	p = skip_sp(p);
	if (word_is(p, "true"))
		verdict = POL_SPAM_SPAM;
	else if (word_is(p, "false"))
		verdict = POL_SPAM_HAM;
	else {
		note(out, "X-Spamd-Result", "neither True nor False", v);
		return POL_SPAM_NONE;
	}
	if ((p = strchr(p, '[')) != NULL) {
		out->psr_has_score = pol_spam_score(skip_sp(p + 1), &p,
		    &out->psr_score);
		if (out->psr_has_score && *(p = skip_sp(p)) == '/')
			out->psr_has_required = pol_spam_score(
			    skip_sp(p + 1), NULL, &out->psr_required);
		if (!out->psr_has_score || !out->psr_has_required)
			note(out, "X-Spamd-Result", "malformed score", v);
	}
	return verdict;
}

/*
 * judge_spam_action - rspamd's action name.  discard and quarantine
 * (rspamd 1.9) act on spam.  soft reject asks the MTA to try again later:
 * rspamd's greylisting and rate limits emit it, below add header's score
 * or regardless of content, so it is no spam verdict, as greylist is not.
 */
static pol_spam_verdict
judge_spam_action(const char *v, pol_spam_result *out)
{
	static const char *const spam[] = { "reject", "add header",
	    "add_header", "rewrite subject", "rewrite_subject", "discard",
	    "quarantine", NULL };
	static const char *const ham[] = { "no action", "no_action",
	    "greylist", "soft reject", "soft_reject", NULL };
	size_t i;

	for (i = 0; spam[i] != NULL; i++)
		if (ieq(v, spam[i]))
			return POL_SPAM_SPAM;
	for (i = 0; ham[i] != NULL; i++)
		if (ieq(v, ham[i]))
			return POL_SPAM_HAM;
	note(out, "X-Spam-Action", "unknown action", v);
	return POL_SPAM_NONE;
}

/* judge_rule - the verdict of one rule, and the header that gave it */
static pol_spam_verdict
judge_rule(const pol_spam_set *set, const pol_spam_rule *r,
    const char *const *values, pol_spam_result *out)
{
	pol_spam_verdict v = POL_SPAM_NONE;
	const char *s, *end;
	double score;

	switch (r->psr_kind) {
	case POL_SR_SPAMASSASSIN:
		if ((s = value_of(set, values, "x-spam-flag")) != NULL &&
		    word_is(s, "yes")) {
			out->psr_header = "X-Spam-Flag";
			/* the score, if SpamAssassin wrote its status too */
			if ((s = value_of(set, values, "x-spam-status")) != NULL)
				(void)judge_sa_status(s, out);
			return POL_SPAM_SPAM;
		}
		if ((s = value_of(set, values, "x-spam-status")) != NULL &&
		    (v = judge_sa_status(s, out)) != POL_SPAM_NONE)
			out->psr_header = "X-Spam-Status";
		return v;
	case POL_SR_RSPAMD:
		/* X-Spam is written only for spam, so a sender's forged
		 * "X-Spam-Action: no action" must not hide it: it goes first,
		 * as X-Spam-Flag does for SpamAssassin. */
		if ((s = value_of(set, values, "x-spam")) != NULL &&
		    word_is(s, "yes")) {
			out->psr_header = "X-Spam";
			/* the score, if rspamd wrote its result too */
			if ((s = value_of(set, values, "x-spamd-result")) !=
			    NULL)
				(void)judge_spamd_result(s, out);
			return POL_SPAM_SPAM;
		}
		if ((s = value_of(set, values, "x-spamd-result")) != NULL &&
		    (v = judge_spamd_result(s, out)) != POL_SPAM_NONE) {
			out->psr_header = "X-Spamd-Result";
			return v;
		}
		if ((s = value_of(set, values, "x-spam-action")) != NULL &&
		    (v = judge_spam_action(s, out)) != POL_SPAM_NONE)
			out->psr_header = "X-Spam-Action";
		return v;
	case POL_SR_REGEX:
		if ((s = value_of(set, values, r->psr_header)) == NULL)
			return POL_SPAM_NONE;
		out->psr_header = r->psr_header;
		return regexec(r->psr_regex, s, 0, NULL, 0) == 0 ?
		    POL_SPAM_SPAM : POL_SPAM_HAM;
	case POL_SR_SCORE:
		if ((s = value_of(set, values, r->psr_header)) == NULL)
			return POL_SPAM_NONE;
		if (!pol_spam_score(s, &end, &score) ||
		    (*end != '\0' && *end != ' ' && *end != ',' &&
		    *end != ';' && *end != '/')) {
			note(out, r->psr_header, "malformed score", s);
			return POL_SPAM_NONE;
		}
		out->psr_header = r->psr_header;
		out->psr_has_score = true;
		out->psr_score = score;
		out->psr_has_required = true;
		out->psr_required = r->psr_threshold;
		return score >= r->psr_threshold ? POL_SPAM_SPAM :
		    POL_SPAM_HAM;
	}
	return POL_SPAM_NONE;
}

pol_spam_verdict
pol_spam_judge(const pol_spam_set *set, const char *const *values,
    pol_spam_result *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < set->pss_nrules; i++) {
		pol_spam_result r;
		pol_spam_verdict v;

		memset(&r, 0, sizeof(r));
		v = judge_rule(set, &set->pss_rules[i], values, &r);
		if (out->psr_note[0] == '\0')
			memcpy(out->psr_note, r.psr_note, sizeof(r.psr_note));
		if (v == POL_SPAM_NONE)
			continue;
		memcpy(r.psr_note, out->psr_note, sizeof(r.psr_note));
		*out = r;
		out->psr_verdict = v;
		out->psr_rule = &set->pss_rules[i];
		return v;
	}
	return POL_SPAM_NONE;
}

/* line_end - the end of the line at p within [p, e): at '\n' or e */
static const char *
line_end(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	return nl != NULL ? nl : e;
}

pol_spam_verdict
pol_spamd_parse(const char *resp, size_t len, pol_spam_result *out)
{
	char line[256];
	const char *p = resp, *e = resp + len, *le, *s;
	size_t n;
	bool first = true;

	memset(out, 0, sizeof(*out));
	while (p < e) {
		le = line_end(p, e);
		n = (size_t)(le - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		/* never let a NUL or control byte reach a log line */
		for (s = line; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20)
				line[s - line] = '?';
		p = le < e ? le + 1 : e;
		if (first) {
			first = false;
			if ((s = iprefix(line, "SPAMD/")) == NULL) {
				note(out, "spamd", "not a spamd answer", line);
				return POL_SPAM_NONE;
			}
			s = strchr(s, ' ');
			if (s == NULL || skip_sp(s)[0] != '0' ||
			    (skip_sp(s)[1] != ' ' && skip_sp(s)[1] != '\0')) {
				note(out, "spamd", "error", line);
				return POL_SPAM_NONE;
			}
			continue;
		}
		if (line[0] == '\0')
			break;		/* end of the answer's headers */
		if ((s = iprefix(line, "Spam:")) == NULL)
			continue;
		s = skip_sp(s);
		if (word_is(s, "true") || word_is(s, "yes"))
			out->psr_verdict = POL_SPAM_SPAM;
		else if (word_is(s, "false") || word_is(s, "no"))
			out->psr_verdict = POL_SPAM_HAM;
		else {
			note(out, "spamd", "malformed Spam line", line);
			return POL_SPAM_NONE;
		}
		if ((s = strchr(s, ';')) != NULL &&
		    (out->psr_has_score = pol_spam_score(skip_sp(s + 1), &s,
		    &out->psr_score)) && *(s = skip_sp(s)) == '/')
			out->psr_has_required = pol_spam_score(skip_sp(s + 1),
			    NULL, &out->psr_required);
		if (!out->psr_has_score || !out->psr_has_required)
			note(out, "spamd", "malformed score", line);
		return out->psr_verdict;
	}
	note(out, "spamd", "no Spam line in the answer", first ? "" : line);
	return POL_SPAM_NONE;
}

const char *
pol_spam_verdict_name(pol_spam_verdict v)
{
	switch (v) {
	case POL_SPAM_SPAM:
		return "spam";
	case POL_SPAM_HAM:
		return "ham";
	case POL_SPAM_NONE:
		break;
	}
	return "none";
}
