/*
 * spam_test.c - table-driven tests of policy/pol_spam.c on real header
 * samples: SpamAssassin's and rspamd's headers as the milter receives
 * them (folded over lines), custom regex and score rules, rule order,
 * garbage and huge values, and spamd's answers.  Pure: no I/O.
 */
#include <stdlib.h>

#include "../policy/pol_spam.h"
#include "t.h"

/* SpamAssassin 4.0.1 on a GTUBE message, folded as it writes it. */
#define SA_STATUS_GTUBE "Yes, score=1005.2 required=5.0 tests=GTUBE,\n" \
	"\tMISSING_DATE,MISSING_MID,NO_RECEIVED,NO_RELAYS autolearn=no\n" \
	"\tautolearn_force=no version=4.0.1"
#define SA_STATUS_SPAM "Yes, score=7.1 required=5.0 tests=BAYES_99,\r\n" \
	"\tDKIM_ADSP_NXDOMAIN,HTML_MESSAGE,MIME_HTML_ONLY,RDNS_NONE\r\n" \
	"\tautolearn=no autolearn_force=no version=4.0.1"
#define SA_STATUS_HAM "No, score=-1.9 required=5.0 tests=BAYES_00,\n" \
	"\tDKIM_SIGNED,DKIM_VALID,SPF_PASS autolearn=ham autolearn_force=no\n" \
	"\tversion=4.0.1"
/* rspamd 3.x, milter_headers: extended_spam_headers */
#define RSPAMD_RESULT_SPAM "default: True [12.40 / 15.00];\n" \
	"\t R_SPF_FAIL(1.00)[-all];\n\t BAYES_SPAM(5.10)[99.99%];\n" \
	"\t MIME_GOOD(-0.10)[text/plain]"
#define RSPAMD_RESULT_HAM "default: False [-0.10 / 15.00];\n" \
	"\t MIME_GOOD(-0.10)[text/plain]; ARC_NA(0.00)[]"

/* A set with one rule per preset name, in order; regex rules as
 * "header=regex", score rules as "header>threshold". */
static void
build(pol_spam_set *set, const char *const *rules)
{
	pol_spam_rule r;
	char err[128], hdr[POL_SPAM_NAME_SIZE];
	const char *sep;

	memset(set, 0, sizeof(*set));
	for (; *rules != NULL; rules++) {
		if ((sep = strpbrk(*rules, "=>")) == NULL) {
			if (!pol_spam_rule_preset(&r, *rules))
				abort();
		} else {
			snprintf(hdr, sizeof(hdr), "%.*s", (int)(sep - *rules),
			    *rules);
			if (*sep == '=') {
				if (!pol_spam_rule_regex(&r, hdr, sep + 1, err,
				    sizeof(err)))
					abort();
			} else {
				memset(&r, 0, sizeof(r));
				r.psr_kind = POL_SR_SCORE;
				snprintf(r.psr_header, sizeof(r.psr_header),
				    "%s", hdr);
				r.psr_threshold = atof(sep + 1);
			}
		}
		if (!pol_spam_set_add(set, &r))
			abort();
	}
}

/* judge - the verdict on headers given as name, value pairs (NULL ends);
 * the first occurrence of a name is kept, as the milter keeps it */
static pol_spam_verdict
judge(const pol_spam_set *set, const char *const *hdrs, pol_spam_result *res)
{
	static char vals[POL_SPAM_HEADERS_MAX][POL_SPAM_VALUE_MAX + 1];
	const char *v[POL_SPAM_HEADERS_MAX] = { NULL };
	int i;

	for (; hdrs[0] != NULL; hdrs += 2) {
		i = pol_spam_header_index(set, hdrs[0]);
		if (i < 0 || v[i] != NULL)
			continue;
		(void)pol_spam_unfold(hdrs[1], vals[i]);
		v[i] = vals[i];
	}
	return pol_spam_judge(set, v, res);
}

static void
test_header_samples(void)
{
	static const char *const sa[] = { "spamassassin", NULL };
	static const char *const rs[] = { "rspamd", NULL };
	static const char *const rs_then_sa[] = { "rspamd", "spamassassin",
	    NULL };
	static const char *const custom[] = { "X-Acme-Verdict=^(spam|bulk)",
	    "X-Spam-Score>5", "spamassassin", NULL };
	static const struct {
		const char *what;
		const char *const *rules;
		const char *hdrs[9];
		pol_spam_verdict want;
		const char *header;	/* that decided */
		double score;		/* -1000: none */
		bool noted;		/* a malformed value was noted */
	} cases[] = {
		{ "SpamAssassin: X-Spam-Flag YES", sa,
		  { "X-Spam-Flag", "YES", "X-Spam-Status", SA_STATUS_SPAM },
		  POL_SPAM_SPAM, "X-Spam-Flag", 7.1, false },
		{ "SpamAssassin: the folded GTUBE status alone", sa,
		  { "X-Spam-Status", SA_STATUS_GTUBE },
		  POL_SPAM_SPAM, "X-Spam-Status", 1005.2, false },
		{ "SpamAssassin: folded with CRLF", sa,
		  { "x-spam-status", SA_STATUS_SPAM },
		  POL_SPAM_SPAM, "X-Spam-Status", 7.1, false },
		{ "SpamAssassin: No, score=-1.9 is ham", sa,
		  { "X-Spam-Status", SA_STATUS_HAM },
		  POL_SPAM_HAM, "X-Spam-Status", -1.9, false },
		{ "SpamAssassin: a sender's X-Spam-Flag: NO decides nothing",
		  sa, { "X-Spam-Flag", "NO", "X-Spam-Status", SA_STATUS_SPAM },
		  POL_SPAM_SPAM, "X-Spam-Status", 7.1, false },
		{ "SpamAssassin: the first X-Spam-Status wins (the filter's, "
		  "at the top)", sa, { "X-Spam-Status", SA_STATUS_SPAM,
		  "X-Spam-Status", SA_STATUS_HAM },
		  POL_SPAM_SPAM, "X-Spam-Status", 7.1, false },
		{ "SpamAssassin: no headers, no verdict", sa,
		  { "Subject", "hello" }, POL_SPAM_NONE, NULL, -1000, false },
		{ "SpamAssassin: garbage status gives no verdict, noted", sa,
		  { "X-Spam-Status", "Maybe; score=lots" },
		  POL_SPAM_NONE, NULL, -1000, true },
		{ "SpamAssassin: a malformed score keeps the Yes, noted", sa,
		  { "X-Spam-Status", "Yes, score=1e9 required=5.0" },
		  POL_SPAM_SPAM, "X-Spam-Status", -1000, true },
		{ "SpamAssassin: score=nan is malformed", sa,
		  { "X-Spam-Status", "No, score=nan required=5.0" },
		  POL_SPAM_HAM, "X-Spam-Status", -1000, true },
		{ "SpamAssassin: an 8-digit score is malformed", sa,
		  { "X-Spam-Status", "Yes, score=12345678.0 required=5.0" },
		  POL_SPAM_SPAM, "X-Spam-Status", -1000, true },
		{ "SpamAssassin: a decimal comma is malformed", sa,
		  { "X-Spam-Status", "No, score=7,1 required=5,0" },
		  POL_SPAM_HAM, "X-Spam-Status", -1000, true },
		{ "custom score with 7 fraction digits is read", custom,
		  { "X-Spam-Score", "7.1234567" }, POL_SPAM_SPAM,
		  "X-Spam-Score", 7.123456, false },
		{ "custom score 1000000, the largest threshold, is read",
		  custom, { "X-Spam-Score", "1000000" }, POL_SPAM_SPAM,
		  "X-Spam-Score", 1000000, false },
		{ "custom score \"7,1\" (a decimal comma) is malformed", custom,
		  { "X-Spam-Score", "7,1" }, POL_SPAM_NONE, NULL, -1000,
		  true },
		{ "custom score \"7, 1\" is 7 (a comma ends the number)",
		  custom, { "X-Spam-Score", "7, 1" }, POL_SPAM_SPAM,
		  "X-Spam-Score", 7, false },
		{ "rspamd: X-Spamd-Result True, folded", rs,
		  { "X-Spamd-Result", RSPAMD_RESULT_SPAM },
		  POL_SPAM_SPAM, "X-Spamd-Result", 12.4, false },
		{ "rspamd: X-Spam: Yes decides, the result gives the score",
		  rs, { "X-Spamd-Result", RSPAMD_RESULT_SPAM, "X-Spam", "Yes" },
		  POL_SPAM_SPAM, "X-Spam", 12.4, false },
		{ "rspamd: a forged X-Spam-Action: no action does not hide "
		  "X-Spam: Yes", rs, { "X-Spam-Action", "no action",
		  "X-Spam", "Yes" }, POL_SPAM_SPAM, "X-Spam", -1000, false },
		{ "rspamd: a forged X-Spamd-Result False does not hide "
		  "X-Spam: Yes", rs, { "X-Spamd-Result", RSPAMD_RESULT_HAM,
		  "X-Spam", "Yes" }, POL_SPAM_SPAM, "X-Spam", -0.1, false },
		{ "rspamd: a sender's X-Spam: No decides nothing", rs,
		  { "X-Spam", "No", "X-Spam-Action", "reject" },
		  POL_SPAM_SPAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spamd-Result False is ham", rs,
		  { "X-Spamd-Result", RSPAMD_RESULT_HAM },
		  POL_SPAM_HAM, "X-Spamd-Result", -0.1, false },
		{ "rspamd: X-Spam-Action reject", rs,
		  { "X-Spam-Action", "reject" },
		  POL_SPAM_SPAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam-Action add header", rs,
		  { "X-Spam-Action", "add header" },
		  POL_SPAM_SPAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam-Action no action is ham", rs,
		  { "X-Spam-Action", "no action" },
		  POL_SPAM_HAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam-Action discard is spam", rs,
		  { "X-Spam-Action", "discard" },
		  POL_SPAM_SPAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam-Action quarantine is spam", rs,
		  { "X-Spam-Action", "Quarantine" },
		  POL_SPAM_SPAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam-Action soft reject is not spam, not noted",
		  rs, { "X-Spam-Action", "soft reject" },
		  POL_SPAM_HAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam-Action soft_reject is not spam", rs,
		  { "X-Spam-Action", "soft_reject" },
		  POL_SPAM_HAM, "X-Spam-Action", -1000, false },
		{ "rspamd: X-Spam: Yes alone", rs, { "X-Spam", "Yes" },
		  POL_SPAM_SPAM, "X-Spam", -1000, false },
		{ "rspamd: a garbage result falls back to the action, noted",
		  rs, { "X-Spamd-Result", "default: Perhaps [x / y]",
		  "X-Spam-Action", "rewrite subject" },
		  POL_SPAM_SPAM, "X-Spam-Action", -1000, true },
		{ "rspamd: a malformed score keeps True, noted", rs,
		  { "X-Spamd-Result", "default: True [12.4.5 / 15.00]" },
		  POL_SPAM_SPAM, "X-Spamd-Result", -1000, true },
		{ "rspamd: an unknown action gives no verdict, noted", rs,
		  { "X-Spam-Action", "explode" },
		  POL_SPAM_NONE, NULL, -1000, true },
		{ "order: rspamd's ham comes before SpamAssassin's spam",
		  rs_then_sa, { "X-Spam-Status", SA_STATUS_SPAM,
		  "X-Spam-Action", "no action" },
		  POL_SPAM_HAM, "X-Spam-Action", -1000, false },
		{ "order: rspamd silent, SpamAssassin decides", rs_then_sa,
		  { "X-Spam-Status", SA_STATUS_SPAM },
		  POL_SPAM_SPAM, "X-Spam-Status", 7.1, false },
		{ "custom regex, case-insensitive", custom,
		  { "X-Acme-Verdict", "BULK mail", "X-Spam-Status",
		  SA_STATUS_HAM }, POL_SPAM_SPAM, "X-Acme-Verdict", -1000,
		  false },
		{ "custom regex present but not matching is ham", custom,
		  { "X-Acme-Verdict", "clean", "X-Spam-Status",
		  SA_STATUS_SPAM }, POL_SPAM_HAM, "X-Acme-Verdict", -1000,
		  false },
		{ "custom score at the threshold is spam", custom,
		  { "X-Spam-Score", "5" }, POL_SPAM_SPAM, "X-Spam-Score", 5,
		  false },
		{ "custom score under the threshold is ham", custom,
		  { "X-Spam-Score", " -2.25" }, POL_SPAM_HAM, "X-Spam-Score",
		  -2.25, false },
		{ "custom score \"inf\" is ignored, the next rule decides",
		  custom, { "X-Spam-Score", "inf", "X-Spam-Status",
		  SA_STATUS_SPAM }, POL_SPAM_SPAM, "X-Spam-Status", 7.1, true },
		{ "custom score \"7.5abc\" is malformed", custom,
		  { "X-Spam-Score", "7.5abc" }, POL_SPAM_NONE, NULL, -1000,
		  true },
		{ "custom score with a control byte is malformed", custom,
		  { "X-Spam-Score", "7\0015" }, POL_SPAM_NONE, NULL, -1000,
		  true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol_spam_set set;
		pol_spam_result res;
		pol_spam_verdict v;

		build(&set, cases[i].rules);
		v = judge(&set, cases[i].hdrs, &res);
		T_STREQ(pol_spam_verdict_name(v),
		    pol_spam_verdict_name(cases[i].want), "%s: verdict",
		    cases[i].what);
		if (cases[i].header != NULL)
			T_STREQ(res.psr_header, cases[i].header,
			    "%s: decided by %s", cases[i].what,
			    cases[i].header);
		if (cases[i].score > -1000)
			T_OK(res.psr_has_score && res.psr_score >
			    cases[i].score - 0.001 && res.psr_score <
			    cases[i].score + 0.001, "%s: score %.2f",
			    cases[i].what, cases[i].score);
		T_INTEQ(res.psr_note[0] != '\0', cases[i].noted,
		    "%s: %s", cases[i].what, cases[i].noted ?
		    "the malformed value is noted" : "nothing noted");
		if (res.psr_note[0] != '\0')
			printf("# note: %s\n", t_vis(res.psr_note));
		pol_spam_set_free(&set);
	}
}

static void
test_unfold_and_bounds(void)
{
	char out[POL_SPAM_VALUE_MAX + 1], *huge;
	static const char *const sa[] = { "spamassassin", NULL };
	const char *hdrs[3] = { "X-Spam-Status", NULL, NULL };
	pol_spam_result res;
	pol_spam_set set;
	size_t n = 1 << 20;

	T_OK(!pol_spam_unfold("  Yes,\r\n\tscore=7.1\n required=5.0  ", out),
	    "a folded value is not cut");
	T_STREQ(out, "Yes, score=7.1 required=5.0", "unfolded: CR LF gone, "
	    "tab a space, ends trimmed");
	(void)pol_spam_unfold("a\001b\177c", out);
	T_STREQ(out, "a?b?c", "control bytes become '?'");
	(void)pol_spam_unfold(NULL, out);
	T_STREQ(out, "", "a NULL value is empty");

	/* A megabyte of header: cut at the bound, still judged. */
	huge = malloc(n + 1);
	if (huge == NULL)
		abort();
	memset(huge, 'A', n);
	memcpy(huge, "Yes, score=9.9 tests=", 21);
	huge[n] = '\0';
	T_OK(pol_spam_unfold(huge, out), "a 1 MB value is cut");
	T_INTEQ(strlen(out), POL_SPAM_VALUE_MAX, "at POL_SPAM_VALUE_MAX bytes");
	build(&set, sa);
	hdrs[1] = huge;
	T_INTEQ(judge(&set, hdrs, &res), POL_SPAM_SPAM,
	    "a huge X-Spam-Status is judged on its first bytes");
	memset(huge, ' ', n);
	T_INTEQ(judge(&set, hdrs, &res), POL_SPAM_NONE,
	    "a megabyte of spaces is no verdict");
	memset(huge, 'x', n);
	T_INTEQ(judge(&set, hdrs, &res), POL_SPAM_NONE,
	    "a megabyte of garbage is no verdict, without a crash");
	T_OK(strlen(res.psr_note) < POL_SPAM_NOTE_SIZE && res.psr_note[0],
	    "and the note about it is short: %s", t_vis(res.psr_note));
	pol_spam_set_free(&set);
	free(huge);
}

static void
test_rule_set(void)
{
	static const char *const both[] = { "spamassassin", "rspamd",
	    "X-Spam-Status=^yes", NULL };
	pol_spam_rule r;
	pol_spam_set set;
	char err[128];

	build(&set, both);
	T_INTEQ(set.pss_nheaders, 5, "two presets read 5 distinct headers; a "
	    "custom rule on one of them adds none");
	T_OK(pol_spam_header_index(&set, "x-SPAM-flag") >= 0,
	    "header names match in any case");
	T_INTEQ(pol_spam_header_index(&set, "X-Spam-Level"), -1,
	    "a header no rule reads is not kept");
	pol_spam_set_free(&set);
	T_OK(!pol_spam_rule_preset(&r, "SpamAssassin"),
	    "preset names are exact");
	T_OK(!pol_spam_rule_regex(&r, "X-A", "(unclosed", err, sizeof(err)) &&
	    err[0] != '\0', "a bad regex is refused with a reason: %s", err);
	T_OK(pol_spam_header_ok("X-Spam-Flag"), "X-Spam-Flag is a header name");
	T_OK(!pol_spam_header_ok("X Spam"), "a space is not");
	T_OK(!pol_spam_header_ok("X-Spam:"), "a colon is not");
	T_OK(!pol_spam_header_ok(""), "empty is not");
}

static void
test_scores(void)
{
	static const struct {
		const char *in;
		bool ok;
		double want;
	} cases[] = {
		{ "7.1", true, 7.1 }, { "-1.9", true, -1.9 }, { "+3", true, 3 },
		{ "1005.2 ", true, 1005.2 }, { "0.000001", true, 0.000001 },
		{ "", false, 0 }, { "-", false, 0 }, { ".5", false, 0 },
		{ "5.", false, 0 }, { "1e3", false, 0 }, { "inf", false, 0 },
		{ "nan", false, 0 }, { "0x10", false, 0 },
		{ "1234567", true, 1234567 }, { "-1000000", true, -1000000 },
		{ "12345678", false, 0 }, { "1.1234567", true, 1.123456 },
		{ "7.12345678901234567890", true, 7.123456 },
		{ "7,1", false, 0 }, { "7,", true, 7 },
		{ "1.2.3", false, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double d = -12345;
		bool ok = pol_spam_score(cases[i].in, NULL, &d);

		T_OK(ok == cases[i].ok && (!ok || (d > cases[i].want - 1e-9 &&
		    d < cases[i].want + 1e-9)), "score \"%s\" is %s",
		    cases[i].in, cases[i].ok ? "read" : "refused");
	}
}

static void
test_spamd_answers(void)
{
	static const struct {
		const char *what, *answer;
		pol_spam_verdict want;
		double score, required;
	} cases[] = {
		{ "CHECK on GTUBE", "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n"
		  "Spam: True ; 1005.2 / 5.0\r\n\r\n", POL_SPAM_SPAM, 1005.2,
		  5.0 },
		{ "CHECK on a clean message", "SPAMD/1.1 0 EX_OK\r\n"
		  "Spam: False ; -0.1 / 5.0\r\n\r\n", POL_SPAM_HAM, -0.1, 5.0 },
		{ "SYMBOLS answer, symbols after the headers",
		  "SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: Yes ; "
		  "7.0 / 5.0\r\n\r\nGTUBE,MISSING_DATE,NO_RELAYS",
		  POL_SPAM_SPAM, 7.0, 5.0 },
		{ "bare LF line ends", "SPAMD/1.1 0 EX_OK\nSpam: True ; 6 / 5"
		  "\n\n", POL_SPAM_SPAM, 6, 5 },
		{ "an error status", "SPAMD/1.0 76 Bad header line: "
		  "Content-length\r\n", POL_SPAM_NONE, 0, 0 },
		{ "not spamd at all", "HTTP/1.1 400 Bad Request\r\n\r\n",
		  POL_SPAM_NONE, 0, 0 },
		{ "no Spam line", "SPAMD/1.1 0 EX_OK\r\n\r\n", POL_SPAM_NONE,
		  0, 0 },
		{ "a Spam line after the headers does not count",
		  "SPAMD/1.1 0 EX_OK\r\n\r\nSpam: True ; 9 / 5\r\n",
		  POL_SPAM_NONE, 0, 0 },
		{ "a garbage Spam line", "SPAMD/1.1 0 EX_OK\r\nSpam: Sure\r\n",
		  POL_SPAM_NONE, 0, 0 },
		{ "an empty answer (spamd closed)", "", POL_SPAM_NONE, 0, 0 },
		{ "a cut answer", "SPAMD/1.1 0 EX", POL_SPAM_NONE, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol_spam_result res;
		pol_spam_verdict v = pol_spamd_parse(cases[i].answer,
		    strlen(cases[i].answer), &res);

		T_STREQ(pol_spam_verdict_name(v),
		    pol_spam_verdict_name(cases[i].want), "spamd: %s",
		    cases[i].what);
		if (cases[i].want != POL_SPAM_NONE)
			T_OK(res.psr_has_score && res.psr_has_required &&
			    res.psr_score > cases[i].score - 1e-6 &&
			    res.psr_score < cases[i].score + 1e-6 &&
			    res.psr_required > cases[i].required - 1e-6 &&
			    res.psr_required < cases[i].required + 1e-6,
			    "spamd: %s: score and threshold", cases[i].what);
		else
			T_OK(res.psr_note[0] != '\0', "spamd: %s: a reason: %s",
			    cases[i].what, t_vis(res.psr_note));
	}
	{
		/* a NUL inside the answer is data, not an end */
		static const char nul[] = "SPAMD/1.1 0 EX_OK\r\nX: a\0b\r\n"
		    "Spam: True ; 8 / 5\r\n\r\n";
		pol_spam_result res;

		T_INTEQ(pol_spamd_parse(nul, sizeof(nul) - 1, &res),
		    POL_SPAM_SPAM, "spamd: a NUL byte in the answer is "
		    "handled by length");
	}
}

int
main(void)
{
	test_header_samples();
	test_unfold_and_bounds();
	test_rule_set();
	test_scores();
	test_spamd_answers();
	return t_done();
}
