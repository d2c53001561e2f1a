/*
 * milt_answer.c - what sendguard answers the MTA for a message and the
 * lines it logs about it: the configured refusal, tempfails, what a store
 * failure means (on_store_error), spam.on_message, the restriction record
 * of a crossing and its alert, what MAIL FROM decides when the MTA does
 * not wait for it there.  Called from the callbacks in mlfi.c and the
 * judgement in mlfi_judge.c, on the contexts of mlfi_int.h; no state of
 * its own, thread-safe as they are.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mlfi_int.h"

/* milt_qid - a queue id for a log line */
const char *
milt_qid(const milt_msg *m)
{
	return m->mctx_queue_id[0] != '\0' ? m->mctx_queue_id : "NOQUEUE";
}

/* milt_reply_refused - the configured multi-line reply; libmilter wants the
 * lines as separate arguments, terminated by NULL.  The verdict must have
 * the reply's class, or libmilter drops the text: a 4xx reply tempfails. */
sfsistat
milt_reply_refused(SMFICTX *ctx, const milt_conf *mc)
{
	const conf_reply *r = conf_reply_get(mc->mc_conf);
	char *l[CONF_REPLY_LINES_MAX] = { NULL };
	size_t i;

	for (i = 0; i < mc->mc_nreply; i++)
		l[i] = mc->mc_reply[i];
	if (smfi_setmlreply(ctx, r->cr_code, r->cr_xcode, l[0], l[1], l[2],
	    l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11], l[12],
	    l[13], l[14], l[15], l[16], l[17], l[18], l[19], l[20], l[21],
	    l[22], l[23], l[24], l[25], l[26], l[27], l[28], l[29], l[30],
	    l[31], (char *)NULL) != MI_SUCCESS)
		milt_log(LOG_ERR, "cannot set the refusal reply %s %s; the MTA "
		    "sends its default rejection", r->cr_code, r->cr_xcode);
	return r->cr_code[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}

/* milt_refuse_restricted - the log line, then the configured refusal */
sfsistat
milt_refuse_restricted(SMFICTX *ctx, const milt_conn *c, const char *where,
    const store_restriction *r)
{
	char why[STORE_REASON_SIZE], exp[32];

	milt_log(LOG_INFO, "%s: identity=%s client=%s: refused at %s: "
	    "restricted (%s) %s%s", milt_qid(&c->cctx_msg),
	    c->cctx_msg.mctx_idlog, c->cctx_client, where,
	    milt_printable(r->sr_reason, why, sizeof(why)),
	    r->sr_has_expiry ? "until " : "",
	    milt_format_expiry(r, exp, sizeof(exp)));
	return milt_reply_refused(ctx, c->cctx_conf);
}

/* milt_tempfail - 451 with an enhanced code: the client keeps the message and
 * retries, nothing is lost */
sfsistat
milt_tempfail(SMFICTX *ctx, const char *xcode, const char *text)
{
	(void)smfi_setreply(ctx, "451", (char *)xcode, (char *)text);
	return SMFIS_TEMPFAIL;
}

/* milt_store_failed - what a store failure means for this message */
sfsistat
milt_store_failed(SMFICTX *ctx, milt_conn *c, const char *what,
    const char *err)
{
	milt_msg *m = &c->cctx_msg;

	if (conf_on_store_error(c->cctx_conf->mc_conf) == CONF_STORE_ERROR_ACCEPT) {
		/* The spam verdict needs no database: spam.on_message still
		 * applies (a held message is held already). */
		if (m->mctx_is_spam && conf_spam_on_message(c->cctx_conf->mc_conf)
		    == CONF_SPAM_REJECT) {
			milt_log(LOG_ERR, "%s: identity=%s: database error while "
			    "%s: %s; not counted, refused as spam all the same "
			    "(on_store_error = accept)", milt_qid(m),
			    m->mctx_idlog, what, err);
			return milt_spam_answer(ctx, c);
		}
		milt_log(LOG_ERR, "%s: identity=%s: database error while %s: %s; "
		    "accepting (on_store_error = accept)", milt_qid(m),
		    m->mctx_idlog, what, err);
		return SMFIS_ACCEPT;
	}
	milt_log(LOG_ERR, "%s: identity=%s: database error while %s: %s; "
	    "tempfailing (on_store_error = tempfail)", milt_qid(m),
	    m->mctx_idlog, what, err);
	return milt_tempfail(ctx, "4.3.0",
	    "Outbound sender policy temporarily unavailable, try again later");
}

/* milt_format_expiry - "2026-11-24T00:00:00Z" or "until cleared" */
const char *
milt_format_expiry(const store_restriction *r, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	if (!r->sr_has_expiry)
		return "until cleared";
	t = (time_t)r->sr_expires_at;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)r->sr_expires_at);
	return buf;
}

/* milt_log_exempt - the one line for an outbound message that is not
 * counted */
void
milt_log_exempt(const milt_conn *c)
{
	const milt_msg *m = &c->cctx_msg;
	const pol_rule *r = m->mctx_policy.pe_rule;

	if (r != NULL)
		milt_log(LOG_INFO, "%s: identity=%s client=%s: exempt by the "
		    "policy at %s:%d", milt_qid(m), m->mctx_idlog,
		    c->cctx_client, conf_rule_file(c->cctx_conf->mc_conf, r),
		    r->pr_line);
	else
		milt_log(LOG_INFO, "%s: identity=%s client=%s: exempt (null "
		    "sender, MAILER-DAEMON or postmaster)", milt_qid(m),
		    m->mctx_idlog[0] ? m->mctx_idlog : "<>", c->cctx_client);
}

/* milt_log_counts - the one info line of a counted message; the spam part
 * only when spam checking is on */
void
milt_log_counts(int prio, const milt_conn *c, const pol_counts *after,
    const char *result)
{
	const milt_msg *m = &c->cctx_msg;
	const pol_limits *l = &m->mctx_policy.pe_limits;
	char spam[320] = "";

	if (m->mctx_spam_on)
		snprintf(spam, sizeof(spam), "; spam hour %u/%u, spam day "
		    "%u/%u; verdict %s", after->pc_spam_hour,
		    l->lim_value[POL_LIM_SPAM_HOUR], after->pc_spam_day,
		    l->lim_value[POL_LIM_SPAM_DAY], m->mctx_spam.sm_why);
	milt_log(prio, "%s: identity=%s client=%s auth=%s rcpts=%u internal, "
	    "%u external; hour internal %u/%u, hour external %u/%u, day %u/%u%s: %s",
	    milt_qid(m), m->mctx_idlog, c->cctx_client,
	    m->mctx_auth ? "yes" : "no", m->mctx_n_int, m->mctx_n_ext,
	    after->pc_int_hour, l->lim_value[POL_LIM_INT_HOUR],
	    after->pc_ext_hour, l->lim_value[POL_LIM_EXT_HOUR],
	    after->pc_day, l->lim_value[POL_LIM_DAY], spam, result);
}

/* milt_spam_hold - ask the MTA to hold a spam message (spam.on_message =
 * hold); -1 (logged) if it refuses.  Called before the message is
 * counted, so that the tempfail and the client's retry count it once. */
int
milt_spam_hold(SMFICTX *ctx, const milt_conn *c)
{
	const milt_msg *m = &c->cctx_msg;
	char reason[600];

	snprintf(reason, sizeof(reason), "sendguard: %s: %s", m->mctx_idlog,
	    m->mctx_spam.sm_why);
	if (smfi_quarantine(ctx, reason) == MI_SUCCESS)
		return 0;
	milt_log(LOG_ERR, "%s: identity=%s: the MTA refused to hold the "
	    "message (is SMFIF_QUARANTINE allowed?); tempfailing",
	    milt_qid(m), m->mctx_idlog);
	return -1;
}

/* milt_spam_answer - what a spam message from a sender who was not restricted
 * gets, once it is counted: spam.on_message */
sfsistat
milt_spam_answer(SMFICTX *ctx, const milt_conn *c)
{
	const milt_msg *m = &c->cctx_msg;

	switch (conf_spam_on_message(c->cctx_conf->mc_conf)) {
	case CONF_SPAM_HOLD:
		/* milt_spam_hold() asked the MTA before the message was counted */
		milt_log(LOG_INFO, "%s: identity=%s: judged spam: held in the "
		    "MTA's hold queue (spam.on_message = hold)", milt_qid(m),
		    m->mctx_idlog);
		return SMFIS_CONTINUE;
	case CONF_SPAM_REJECT:
		milt_log(LOG_INFO, "%s: identity=%s: judged spam: refused with "
		    "550 %s (spam.on_message = reject)", milt_qid(m),
		    m->mctx_idlog, MILT_SPAM_XCODE);
		(void)smfi_setreply(ctx, "550", MILT_SPAM_XCODE, MILT_SPAM_TEXT);
		return SMFIS_REJECT;
	case CONF_SPAM_ACCEPT:
		break;
	}
	return SMFIS_CONTINUE;
}

/* milt_fill_facts - the restriction record of a crossing */
void
milt_fill_facts(store_restriction *r, const milt_conn *c,
    const pol_crossing *cr, int64_t now)
{
	const milt_msg *m = &c->cctx_msg;

	memset(r, 0, sizeof(*r));
	snprintf(r->sr_identity, sizeof(r->sr_identity), "%s", m->mctx_identity);
	pol_reason(cr, r->sr_reason, sizeof(r->sr_reason));
	snprintf(r->sr_limit, sizeof(r->sr_limit), "%s",
	    pol_limit_name(cr->pcr_limit));
	r->sr_limit_value = cr->pcr_value;
	r->sr_count = cr->pcr_count;
	r->sr_created_at = now;
	r->sr_has_expiry = pol_expiry(m->mctx_policy.pe_action, now,
	    &r->sr_expires_at);
	snprintf(r->sr_client_address, sizeof(r->sr_client_address), "%s",
	    c->cctx_client);
	snprintf(r->sr_queue_id, sizeof(r->sr_queue_id), "%s", m->mctx_queue_id);
	snprintf(r->sr_actor, sizeof(r->sr_actor), "sendguard");
}

/* milt_queue_alert - tell the admins (milt_alert.c), once r is committed */
void
milt_queue_alert(const milt_conn *c, const store_restriction *r,
    milt_alert_kind kind)
{
	milt_alert a;

	a.ma_kind = kind;
	snprintf(a.ma_action, sizeof(a.ma_action), "%s",
	    pol_action_name(c->cctx_msg.mctx_policy.pe_action));
	a.ma_facts = *r;
	milt_alert_enqueue(&a);
}

/* milt_mail_tempfail - a 451 decided at MAIL FROM: given there, or at the
 * message's judgement where the MTA does not wait for our answer at MAIL FROM
 * (xcode and text: static strings) */
sfsistat
milt_mail_tempfail(SMFICTX *ctx, milt_conn *c, const char *xcode,
    const char *text)
{
	if (!(c->cctx_pflags & SMFIP_NR_MAIL))
		return milt_tempfail(ctx, xcode, text);
	c->cctx_msg.mctx_late_xcode = xcode;
	c->cctx_msg.mctx_late_text = text;
	return SMFIS_NOREPLY;
}

/* milt_mail_pass - a message not ours to count (inbound, exempt): accepted at
 * MAIL FROM, or at DATA (no reply at MAIL FROM) */
sfsistat
milt_mail_pass(const milt_conn *c)
{
	return (c->cctx_pflags & SMFIP_NR_MAIL) ? SMFIS_NOREPLY : SMFIS_ACCEPT;
}

/* milt_move_ran_out - a restriction of the sender's that ran out becomes
 * history the moment the sender is back.  Best effort: nothing is in
 * force, so a failure (another process holding the write lock) costs the
 * message nothing; the housekeeping, or a new restriction, moves it
 * later.  Never under the counts' barrier: it waits for the write lock. */
void
milt_move_ran_out(milt_conn *c, int64_t now)
{
	milt_msg *m = &c->cctx_msg;
	char err[MILT_ERR_SIZE];
	store_errkind_t kind;
	store_t *s;

	if ((s = milt_pool_get(err, sizeof(err), &kind)) == NULL)
		goto failed;
	if (store_begin(s, true, err, sizeof(err)) != 0 ||
	    store_expire(s, m->mctx_identity, now, 0, NULL, err,
	    sizeof(err)) != 0 || store_commit(s, err, sizeof(err)) != 0) {
		store_rollback(s);
		milt_pool_put(s, false);
		goto failed;
	}
	milt_pool_put(s, true);
	return;
failed:
	milt_log(LOG_WARNING, "%s: identity=%s: cannot move the restriction "
	    "that ran out to the history now: %s; the housekeeping will",
	    milt_qid(m), m->mctx_idlog, err);
}
