/*
 * milt_spam.c - one message's spam verdict, from the headers the spam
 * filters before us wrote, or from spamd.
 *
 * Headers: only the first occurrence of a header a rule reads is kept,
 * unfolded and cut at POL_SPAM_VALUE_MAX bytes (pol_spam_unfold).  The
 * first occurrence is the topmost: SpamAssassin's and rspamd's milters
 * insert theirs at the top, above anything the sender wrote (see the
 * README on rule order and header stripping).  Nothing else of the
 * message is kept unless spamd is configured; then the message is rebuilt
 * as the MTA delivered it (headers, CRLF, body, CRLF line ends) up to
 * spam.max_size bytes, and a larger message is not scanned.
 *
 * Memory: a milt_spam_msg owns its header values and buffer; free them
 * with milt_spam_free().  One message, one thread at a time (libmilter
 * calls one connection's callbacks in order).  Errors never fail a
 * message: whatever cannot be judged is logged and counts as unscanned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milt.h"

#define MILT_SPAM_BUF_START	16384	/* first allocation of the copy */

void
milt_spam_free(milt_spam_msg *sm)
{
	size_t i;

	for (i = 0; i < POL_SPAM_HEADERS_MAX; i++)
		free(sm->sm_hdr[i]);
	free(sm->sm_buf);
	memset(sm, 0, sizeof(*sm));
}

void
milt_spam_start(milt_spam_msg *sm, const conf_t *c)
{
	milt_spam_free(sm);
	sm->sm_collect = conf_spam_spamd(c) != NULL;
}

/* stop_collecting - the copy is not needed (or too big): drop it */
static void
stop_collecting(milt_spam_msg *sm)
{
	sm->sm_collect = false;
	free(sm->sm_buf);
	sm->sm_buf = NULL;
	sm->sm_len = sm->sm_cap = 0;
}

/* append - n bytes to the copy; past max_size the message is not
 * scanned and the copy is dropped */
static void
append(milt_spam_msg *sm, const conf_t *c, const char *p, size_t n)
{
	size_t max = conf_spam_max_size(c), cap;
	char *nb;

	sm->sm_size = n > SIZE_MAX - sm->sm_size ? SIZE_MAX : sm->sm_size + n;
	if (!sm->sm_collect)
		return;
	if (sm->sm_size > max) {
		stop_collecting(sm);
		return;
	}
	if (sm->sm_len + n > sm->sm_cap) {
		cap = sm->sm_cap > 0 ? sm->sm_cap : MILT_SPAM_BUF_START;
		while (cap < sm->sm_len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if ((nb = realloc(sm->sm_buf, cap)) == NULL) {
			milt_log(LOG_ERR, "out of memory for a message copy of "
			    "%zu bytes; it is not scanned", cap);
			stop_collecting(sm);
			return;
		}
		sm->sm_buf = nb;
		sm->sm_cap = cap;
	}
	memcpy(sm->sm_buf + sm->sm_len, p, n);
	sm->sm_len += n;
}

/* append_crlf - text with every line end (LF or CRLF) written as CRLF */
static void
append_crlf(milt_spam_msg *sm, const conf_t *c, const char *p, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n && sm->sm_collect; i++) {
		if (p[i] != '\n' || (i > 0 && p[i - 1] == '\r'))
			continue;
		append(sm, c, p + from, i - from);
		append(sm, c, "\r\n", 2);
		from = i + 1;
	}
	if (sm->sm_collect)
		append(sm, c, p + from, n - from);
}

/* judge_headers - apply the header rules once */
static void
judge_headers(milt_spam_msg *sm, const conf_t *c)
{
	if (sm->sm_judged)
		return;
	sm->sm_judged = true;
	(void)pol_spam_judge(conf_spam_rules(c),
	    (const char *const *)sm->sm_hdr, &sm->sm_result);
}

/* end_of_headers - once, at the first chunk or at the end: all headers
 * are in, so judge them; if they decide, spamd is not asked */
static void
end_of_headers(milt_spam_msg *sm, const conf_t *c)
{
	if (sm->sm_body)
		return;
	sm->sm_body = true;
	judge_headers(sm, c);
	if (sm->sm_result.psr_verdict != POL_SPAM_NONE)
		stop_collecting(sm);
	append(sm, c, "\r\n", 2);
}

void
milt_spam_header(milt_spam_msg *sm, const conf_t *c, const char *name,
    const char *value)
{
	int i;

	if (name == NULL)
		return;
	if (value == NULL)
		value = "";
	i = pol_spam_header_index(conf_spam_rules(c), name);
	if (i >= 0 && sm->sm_hdr[i] == NULL) {
		if ((sm->sm_hdr[i] = malloc(POL_SPAM_VALUE_MAX + 1)) == NULL)
			milt_log(LOG_ERR, "out of memory for a header value; "
			    "its rule gives no verdict");
		else if (pol_spam_unfold(value, sm->sm_hdr[i]))
			milt_printable(name, sm->sm_cut, sizeof(sm->sm_cut));
	}
	if (sm->sm_collect) {
		append(sm, c, name, strlen(name));
		append(sm, c, ": ", 2);
		append_crlf(sm, c, value, strlen(value));
		append(sm, c, "\r\n", 2);
	}
}

void
milt_spam_body(milt_spam_msg *sm, const conf_t *c,
    const unsigned char *chunk, size_t len)
{
	end_of_headers(sm, c);
	append(sm, c, (const char *)chunk, len);
}

/* describe - where the verdict came from, for the log line */
static void
describe(milt_spam_msg *sm, const conf_t *c, const char *source)
{
	const pol_spam_result *r = &sm->sm_result;
	char score[64] = "";

	if (r->psr_has_score && r->psr_has_required)
		snprintf(score, sizeof(score), ", score %.2f/%.2f",
		    r->psr_score, r->psr_required);
	else if (r->psr_has_score)
		snprintf(score, sizeof(score), ", score %.2f", r->psr_score);
	if (r->psr_rule != NULL)
		snprintf(sm->sm_why, sizeof(sm->sm_why), "%s by %s (rule at "
		    "%s:%d%s)", pol_spam_verdict_name(r->psr_verdict),
		    r->psr_header != NULL ? r->psr_header : "?", conf_path(c),
		    r->psr_rule->psr_line, score);
	else
		snprintf(sm->sm_why, sizeof(sm->sm_why), "%s by %s%s",
		    pol_spam_verdict_name(r->psr_verdict), source, score);
}

pol_spam_verdict
milt_spam_verdict(milt_spam_msg *sm, const conf_t *c, const char *qid,
    const char *idlog)
{
	const conf_spamd *sd = conf_spam_spamd(c);
	char err[256], note[POL_SPAM_NOTE_SIZE];
	pol_spam_verdict v;

	end_of_headers(sm, c);		/* a message without a body */
	if (sm->sm_cut[0] != '\0')
		milt_log(LOG_INFO, "%s: identity=%s: header %s longer than %d "
		    "bytes; its rules read the first %d", qid, idlog,
		    sm->sm_cut, POL_SPAM_VALUE_MAX, POL_SPAM_VALUE_MAX);
	if (sm->sm_result.psr_note[0] != '\0')
		milt_log(LOG_WARNING, "%s: identity=%s: ignored malformed "
		    "header: %s", qid, idlog, milt_printable(
		    sm->sm_result.psr_note, note, sizeof(note)));
	if ((v = sm->sm_result.psr_verdict) != POL_SPAM_NONE) {
		describe(sm, c, "headers");
		return v;
	}
	if (sd == NULL) {
		snprintf(sm->sm_why, sizeof(sm->sm_why), "none (no header "
		    "verdict)");
		return POL_SPAM_NONE;
	}
	if (!sm->sm_collect) {
		snprintf(sm->sm_why, sizeof(sm->sm_why), "unscanned (%zu "
		    "bytes, spam.max_size %zu)", sm->sm_size,
		    conf_spam_max_size(c));
		return POL_SPAM_NONE;
	}
	v = milt_spamd_check(sd, conf_spam_timeout_ms(c), sm->sm_buf,
	    sm->sm_len, &sm->sm_result, err, sizeof(err));
	if (v == POL_SPAM_NONE) {
		milt_spamd_warn(sd, err);
		snprintf(sm->sm_why, sizeof(sm->sm_why), "unscanned (spamd: "
		    "%.150s)", err);
		return POL_SPAM_NONE;
	}
	if (sm->sm_result.psr_note[0] != '\0')
		milt_log(LOG_WARNING, "%s: identity=%s: %s", qid, idlog,
		    milt_printable(sm->sm_result.psr_note, note, sizeof(note)));
	describe(sm, c, "spamd");
	return v;
}
