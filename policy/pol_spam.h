/*
 * pol_spam.h - spam verdicts from text: the header rules (SpamAssassin and
 * rspamd presets, custom regex or score rules) and spamd's answer.
 *
 * Pure string work, like the rest of policy/: no I/O, no clock, no
 * globals.  Header values are untrusted: the milter keeps a bounded,
 * unfolded copy of the first occurrence of each header a rule reads
 * (pol_spam_unfold), and pol_spam_judge() reads nothing else.  A value
 * that cannot be parsed gives no verdict and a note for the log, never a
 * crash.
 *
 * Regex rules use POSIX <regex.h> (glibc, the same C library as the rest):
 * compiled once at configuration load by pol_spam_rule_regex(), read-only
 * afterwards; regexec() on a const regex_t is reentrant.  Only pol_spam.c
 * includes <regex.h>; the rule holds it behind a void pointer.
 *
 * Memory: a pol_spam_set and its rules are built by conf/ and owned by the
 * conf_t; pol_spam_rule_free() releases a rule's compiled regex.
 * Thread safety: everything is reentrant; a built set is read-only.
 */
#ifndef SENDGUARD_POL_SPAM_H
#define SENDGUARD_POL_SPAM_H

#include <stdbool.h>
#include <stddef.h>

#define POL_SPAM_VALUE_MAX	2048	/* bytes of a header value kept */
#define POL_SPAM_NAME_SIZE	80	/* a header name and its terminator */
#define POL_SPAM_HEADERS_MAX	32	/* distinct header names rules read */
#define POL_SPAM_RULES_MAX	16	/* entries of spam.headers */
#define POL_SPAM_NOTE_SIZE	160

typedef enum {
	POL_SPAM_NONE = 0,	/* no verdict: absent, unparsable, unscanned */
	POL_SPAM_HAM,		/* judged not spam */
	POL_SPAM_SPAM		/* judged spam */
} pol_spam_verdict;

typedef enum {
	POL_SR_SPAMASSASSIN = 0,	/* X-Spam-Flag, X-Spam-Status */
	POL_SR_RSPAMD,			/* X-Spamd-Result, X-Spam-Action, X-Spam */
	POL_SR_REGEX,			/* header matches an ERE: spam */
	POL_SR_SCORE			/* header's number >= threshold: spam */
} pol_spam_rule_kind;

/* One entry of spam.headers. */
typedef struct pol_spam_rule {
	pol_spam_rule_kind psr_kind;
	char		psr_header[POL_SPAM_NAME_SIZE];	/* custom rules */
	void	       *psr_regex;	/* regex_t, POL_SR_REGEX */
	double		psr_threshold;	/* POL_SR_SCORE */
	int		psr_line;	/* config line, for log lines */
} pol_spam_rule;

/* The rules in order, and the distinct header names they read. */
typedef struct pol_spam_set {
	pol_spam_rule	pss_rules[POL_SPAM_RULES_MAX];
	size_t		pss_nrules;
	/* lowercase; pss_headers[i] is values[i] of pol_spam_judge */
	char		pss_headers[POL_SPAM_HEADERS_MAX][POL_SPAM_NAME_SIZE];
	size_t		pss_nheaders;
} pol_spam_set;

/* What gave a verdict, for the log line. */
typedef struct pol_spam_result {
	pol_spam_verdict psr_verdict;
	const pol_spam_rule *psr_rule;	/* NULL for spamd */
	const char     *psr_header;	/* the header that decided, or NULL */
	bool		psr_has_score;
	double		psr_score;
	bool		psr_has_required;
	double		psr_required;
	/* the first value that could not be parsed, "" if none */
	char		psr_note[POL_SPAM_NOTE_SIZE];
} pol_spam_result;

/*
 * pol_spam_rule_preset - the preset called name ("spamassassin",
 * "rspamd"); false if there is none.
 */
bool		pol_spam_rule_preset(pol_spam_rule *r, const char *name);

/*
 * pol_spam_rule_regex - make r a regex rule on header (its name in any
 * case): a POSIX extended regex, matched case-insensitively anywhere in
 * the unfolded value.  False with regerror()'s text in err.  Free with
 * pol_spam_rule_free().
 */
bool		pol_spam_rule_regex(pol_spam_rule *r, const char *header,
    const char *pattern, char *err, size_t errlen);

/* pol_spam_rule_free - release what a rule holds (not the rule itself). */
void		pol_spam_rule_free(pol_spam_rule *r);

/*
 * pol_spam_header_ok - is name a header field name (RFC 5322: printable
 * ASCII but ':' and space, at most POL_SPAM_NAME_SIZE - 1 bytes)?
 */
bool		pol_spam_header_ok(const char *name);

/*
 * pol_spam_set_add - append rule r (copied, the set takes its regex) and
 * register the headers it reads.  False when the set is full.
 */
bool		pol_spam_set_add(pol_spam_set *set, const pol_spam_rule *r);

/* pol_spam_set_free - free every rule's regex; the set may be reused. */
void		pol_spam_set_free(pol_spam_set *set);

/* pol_spam_header_index - the index of name (any case) in pss_headers, or
 * -1 if no rule reads it. */
int		pol_spam_header_index(const pol_spam_set *set, const char *name);

/*
 * pol_spam_unfold - the bounded, unfolded copy of a header value that the
 * rules read: CR and LF removed (a folded header is one line), tabs become
 * spaces, other control bytes '?', leading and trailing white space cut.
 * out must hold POL_SPAM_VALUE_MAX + 1 bytes; a longer value is cut there.
 * Returns true if the value was cut.
 */
bool		pol_spam_unfold(const char *raw, char *out);

/*
 * pol_spam_judge - the verdict of the first rule of set that gives one,
 * from the values of the headers it reads (values[i] for pss_headers[i],
 * NULL if the message has no such header).  POL_SPAM_NONE if no rule does.
 */
pol_spam_verdict pol_spam_judge(const pol_spam_set *set,
    const char *const *values, pol_spam_result *out);

/*
 * pol_spam_score - parse a score at s: optional sign, 1..7 digits,
 * optionally '.' and 1 or more digits (those past the 6th ignored); no
 * exponent, no inf/nan, no locale, no decimal comma ("7,1" is refused).
 * On success *end points past it.  False if s does not start with one.
 */
bool		pol_spam_score(const char *s, const char **end, double *out);

/*
 * pol_spamd_parse - the verdict in spamd's answer to CHECK or SYMBOLS
 * (SPAMD/1.x 0 EX_OK, then "Spam: True ; 7.1 / 5.0"), len bytes at resp
 * (not necessarily terminated).  POL_SPAM_NONE with a note in out when the
 * answer is an error or cannot be parsed.
 */
pol_spam_verdict pol_spamd_parse(const char *resp, size_t len,
    pol_spam_result *out);

/* pol_spam_verdict_name - "spam", "ham" or "none". */
const char     *pol_spam_verdict_name(pol_spam_verdict v);

#endif
