/*
 * mlfi_judge.c - the judgement of a message (mlfi.c calls it at DATA, or
 * at end of message with spam checking on or from an MTA that sends no
 * DATA stage): is its sender restricted, and do its recipients (or its
 * spam verdict) cross a limit?
 *
 * One read of the database (the restriction and the counts, in one read
 * transaction) plus the counts this process has not written yet, decided
 * and counted under one lock (milt_count.c), so two messages from one
 * sender in parallel cannot both slip under a limit.  A message that
 * crosses a limit marks its sender until the restriction is written; a
 * parallel message that finds the mark waits for the outcome and is judged
 * again, so it is refused by a restriction that exists, never by one a
 * database error kept from being written.
 *
 * Also the read of the restriction alone, where a message is refused
 * before its judgement (MAIL FROM with refuse_restricted_at = "mail_from";
 * DATA with spam checking on).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "milt.h"
#include "milt_alert.h"
#include "mlfi_int.h"

/* judge_now - the clock, read once per pass */
static int64_t
judge_now(void)
{
	return (int64_t)time(NULL);
}

sfsistat
milt_refuse_if_restricted(SMFICTX *ctx, milt_conn *c, const char *where)
{
	char err[MILT_ERR_SIZE];
	const char *what = "opening the database";
	store_restriction r;
	store_errkind_t kind;
	store_t *s;
	int64_t now;
	bool found = false, ran_out = false;

	if ((s = milt_pool_get(err, sizeof(err), &kind)) != NULL) {
		what = "looking up a restriction";
		now = judge_now();
		if (store_restriction_lookup(s, c->cctx_msg.mctx_identity, now,
		    &r, &found, &ran_out, err, sizeof(err)) == 0) {
			milt_pool_put(s, true);
			if (ran_out)
				milt_move_ran_out(c, now);
			return found ? milt_refuse_restricted(ctx, c, where,
			    &r) : SMFIS_CONTINUE;
		}
		milt_pool_put(s, false);
	}
	/* With on_store_error = accept, the judgement still to come tries
	 * again and answers for the message: accepting it here would skip
	 * its counts and its spam verdict. */
	if (conf_on_store_error(c->cctx_conf->mc_conf) ==
	    CONF_STORE_ERROR_ACCEPT) {
		milt_log(LOG_ERR, "%s: identity=%s: database error while %s at "
		    "%s: %s; left to the message's judgement",
		    milt_qid(&c->cctx_msg), c->cctx_msg.mctx_idlog, what, where,
		    err);
		return SMFIS_CONTINUE;
	}
	return milt_store_failed(ctx, c, what, err);
}

/*
 * judge_restrict - the message crossed a limit: record the restriction
 * (after marking any that ran out as expired), then refuse.  The sender is
 * marked in the counts table until then, so a parallel message waits for
 * the outcome and is judged again (milt_judge); a failure lifts the mark
 * and tempfails (on_store_error).
 */
static sfsistat
judge_restrict(SMFICTX *ctx, milt_conn *c, const char *where,
    const pol_crossing *cr, const pol_counts *cur, int64_t now)
{
	milt_msg *m = &c->cctx_msg;
	char err[MILT_ERR_SIZE], exp[32];
	store_restriction r, old;
	store_errkind_t kind;
	store_t *s;
	bool found = false;
	int rc = -1;

	milt_fill_facts(&r, c, cr, now);
	/* Checked again under the write lock: another process (an admin's
	 * block or unblock, another sendguard) may have written one since
	 * this message's read, and it is not ours to replace. */
	if ((s = milt_pool_get(err, sizeof(err), &kind)) != NULL) {
		rc = store_begin(s, true, err, sizeof(err)) != 0 ||
		    store_expire(s, m->mctx_identity, now, 0, NULL, err,
		    sizeof(err)) != 0 ||
		    store_restriction_get(s, m->mctx_identity, now, &old,
		    &found, err, sizeof(err)) != 0 ||
		    (!found && store_restriction_put(s, &r, STORE_EV_RESTRICTED,
		    err, sizeof(err)) != 0) ||
		    store_commit(s, err, sizeof(err)) != 0 ? -1 : 0;
		if (rc != 0)
			store_rollback(s);
		milt_pool_put(s, rc == 0);
	}
	milt_count_unmark(m->mctx_identity);
	if (rc != 0)
		return milt_store_failed(ctx, c, "recording a restriction", err);
	if (found)
		return milt_refuse_restricted(ctx, c, where, &old);
	milt_queue_alert(c, &r, MILT_ALERT_RESTRICTED);
	milt_log_counts(LOG_INFO, c, cur, "refused, counts unchanged");
	milt_log(LOG_WARNING, "%s: identity=%s client=%s: restricted: %s; "
	    "action %s, %s%s", milt_qid(m), m->mctx_idlog, c->cctx_client,
	    r.sr_reason, pol_action_name(m->mctx_policy.pe_action),
	    r.sr_has_expiry ? "until " : "",
	    milt_format_expiry(&r, exp, sizeof(exp)));
	return milt_reply_refused(ctx, c->cctx_conf);
}

/* judge_alert_event - the history line of a limit crossed with action
 * alert; the message is counted and accepted even if it cannot be written
 * (the alert itself still goes out) */
static void
judge_alert_event(milt_conn *c, const store_restriction *r, int64_t now)
{
	char err[MILT_ERR_SIZE];
	store_errkind_t kind;
	store_t *s;
	int rc = -1;

	if ((s = milt_pool_get(err, sizeof(err), &kind)) != NULL) {
		rc = store_event_add(s, STORE_EV_ALERTED, now, r, err,
		    sizeof(err));
		milt_pool_put(s, rc == 0);
	}
	if (rc != 0)
		milt_log(LOG_ERR, "%s: identity=%s: database error while "
		    "recording an alert in the history: %s", milt_qid(&c->cctx_msg),
		    c->cctx_msg.mctx_idlog, err);
}

/*
 * judge_pass - one pass of the judgement, spam verdict given: read, decide
 * and count.  *marked: a parallel message is restricting the sender; this
 * pass decided nothing and holds nothing, and its return value means
 * nothing (the caller waits, then passes again).
 */
static sfsistat
judge_pass(SMFICTX *ctx, milt_conn *c, const char *where, bool spam,
    bool *marked)
{
	milt_msg *m = &c->cctx_msg;
	char err[MILT_ERR_SIZE];
	const char *what = "opening the database";
	store_restriction r;
	store_counts sc, pc;
	store_delta delta;
	store_errkind_t kind;
	pol_counts cur, after;
	pol_crossing cr;
	pol_verdict v;
	store_t *s;
	int64_t now, hour_from, day_from;
	bool found = false, ran_out = false, refuse_spam;
	const char *outcome;
	int rc;

	*marked = false;
	now = judge_now();
	hour_from = pol_window_start(now, POL_HOUR_BUCKETS);
	day_from = pol_window_start(now, POL_DAY_BUCKETS);
	if ((s = milt_pool_get(err, sizeof(err), &kind)) == NULL)
		return milt_store_failed(ctx, c, what, err);

	/* The database, then this process's counts it does not hold yet;
	 * decided and counted under the table's lock, so two messages of
	 * one sender never both fit in the same room (milt_count.c). */
	what = "counting recipients";
	milt_count_read_begin();
	rc = store_begin(s, false, err, sizeof(err)) != 0 ||
	    store_restriction_lookup(s, m->mctx_identity, now, &r, &found,
	    &ran_out, err, sizeof(err)) != 0;
	/* A restriction that ran out forgives what came before its end, as
	 * store_expire will (milt_move_ran_out, below, or the housekeeping):
	 * the sender starts again, as after an unblock. */
	if (rc == 0 && ran_out)
		pol_window_forgive(r.sr_expires_at, &hour_from, &day_from);
	if (rc != 0 ||
	    store_counts_get(s, m->mctx_identity, hour_from, day_from, &sc,
	    err, sizeof(err)) != 0 ||
	    store_commit(s, err, sizeof(err)) != 0) {
		milt_count_read_end();
		store_rollback(s);
		milt_pool_put(s, false);
		return milt_store_failed(ctx, c, what, err);
	}
	milt_pool_put(s, true);
	if (found) {
		milt_count_read_end();
		return milt_refuse_restricted(ctx, c, where, &r);
	}
	/* Counts that could not be written: a database error for this
	 * message too (a restricted sender was refused all the same). */
	if (milt_count_failing(err, sizeof(err))) {
		milt_count_read_end();
		return milt_store_failed(ctx, c, what, err);
	}
	milt_count_lock();
	if (milt_count_pending(m->mctx_identity, hour_from, day_from, &pc)) {
		milt_count_unlock();
		milt_count_read_end();
		*marked = true;
		return SMFIS_TEMPFAIL;
	}
	cur.pc_int_hour = pol_sat_add(sc.sc_int_hour, pc.sc_int_hour);
	cur.pc_ext_hour = pol_sat_add(sc.sc_ext_hour, pc.sc_ext_hour);
	cur.pc_day = pol_sat_add(sc.sc_day, pc.sc_day);
	cur.pc_spam_hour = pol_sat_add(sc.sc_spam_hour, pc.sc_spam_hour);
	cur.pc_spam_day = pol_sat_add(sc.sc_spam_day, pc.sc_spam_day);

	v = pol_decide(&m->mctx_policy, &cur, m->mctx_n_int, m->mctx_n_ext,
	    spam, &cr);
	if (v == POL_VERDICT_RESTRICT) {
		rc = milt_count_mark(m->mctx_identity);
		milt_count_unlock();
		milt_count_read_end();
		if (rc != 0)
			return milt_store_failed(ctx, c, what, "no room in "
			    "memory to mark the sender");
		return judge_restrict(ctx, c, where, &cr, &cur, now);
	}

	/* A spam message refused by spam.on_message = reject counts as spam
	 * but reached nobody: its recipients do not count. */
	refuse_spam = spam &&
	    conf_spam_on_message(c->cctx_conf->mc_conf) == CONF_SPAM_REJECT;
	delta.sd_int = refuse_spam ? 0 : m->mctx_n_int;
	delta.sd_ext = refuse_spam ? 0 : m->mctx_n_ext;
	delta.sd_spam = spam ? 1 : 0;
	rc = milt_count_add(m->mctx_identity, pol_bucket(now), &delta);
	milt_count_unlock();
	milt_count_read_end();
	if (rc != 0)
		return milt_store_failed(ctx, c, what, "the counts cannot wait "
		    "in memory (too many waiting to be written, or stopping)");
	after.pc_int_hour = pol_sat_add(cur.pc_int_hour, delta.sd_int);
	after.pc_ext_hour = pol_sat_add(cur.pc_ext_hour, delta.sd_ext);
	after.pc_day = pol_sat_add(cur.pc_day,
	    pol_sat_add(delta.sd_int, delta.sd_ext));
	after.pc_spam_hour = pol_sat_add(cur.pc_spam_hour, delta.sd_spam);
	after.pc_spam_day = pol_sat_add(cur.pc_spam_day, delta.sd_spam);
	if (v == POL_VERDICT_ALERT) {
		milt_fill_facts(&r, c, &cr, now);
		r.sr_has_expiry = false;
		judge_alert_event(c, &r, now);
		milt_queue_alert(c, &r, MILT_ALERT_CROSSED);
	}
	/* what spam.on_message does to a spam message (milt_spam_answer) */
	outcome = refuse_spam ? "refused as spam" : spam &&
	    conf_spam_on_message(c->cctx_conf->mc_conf) == CONF_SPAM_HOLD ?
	    "held as spam" : "accepted";
	milt_log_counts(LOG_INFO, c, &after, outcome);
	if (v == POL_VERDICT_ALERT)
		milt_log(LOG_WARNING, "%s: identity=%s client=%s: limit crossed: "
		    "%s; action alert, message %s", milt_qid(m),
		    m->mctx_idlog, c->cctx_client, r.sr_reason, outcome);
	if (ran_out)
		milt_move_ran_out(c, now);
	return spam ? milt_spam_answer(ctx, c) : SMFIS_CONTINUE;
}

sfsistat
milt_judge(SMFICTX *ctx, milt_conn *c, const char *where)
{
	milt_msg *m = &c->cctx_msg;
	char why[96];
	int64_t deadline = 0, left;
	bool spam = false, marked;
	sfsistat r;

	/* Decided at MAIL FROM, where the MTA did not wait for an answer. */
	if (m->mctx_late_xcode != NULL)
		return milt_tempfail(ctx, m->mctx_late_xcode, m->mctx_late_text);
	if (!m->mctx_outbound)
		return SMFIS_CONTINUE;
	milt_capture_queue_id(ctx, m);

	if (m->mctx_n_bad > 0) {
		milt_log(LOG_WARNING, "%s: identity=%s client=%s: %u malformed "
		    "recipient address(es), first \"%s\"; tempfailing",
		    milt_qid(m), m->mctx_idlog, c->cctx_client,
		    m->mctx_n_bad, m->mctx_bad_rcpt);
		return milt_tempfail(ctx, "4.1.3", "Bad recipient address syntax");
	}
	/* Before any database lock: spamd may take up to spam.timeout_ms. */
	if (m->mctx_spam_on)
		spam = milt_spam_verdict(&m->mctx_spam, c->cctx_conf->mc_conf,
		    milt_qid(m), m->mctx_idlog) == POL_SPAM_SPAM;
	m->mctx_is_spam = spam;	/* a store failure must not deliver it */
	if (spam && conf_spam_on_message(c->cctx_conf->mc_conf) ==
	    CONF_SPAM_HOLD && milt_spam_hold(ctx, c) != 0)
		return milt_tempfail(ctx, "4.7.1", "Cannot hold this message for "
		    "review, try again later");

	/* A parallel message restricting the sender: wait for the outcome,
	 * then judge again (its restriction refuses this message too, or its
	 * failure leaves this one to be judged as any other); no outcome
	 * before the deadline is a database error (on_store_error). */
	for (;;) {
		r = judge_pass(ctx, c, where, spam, &marked);
		if (!marked)
			return r;
		if (deadline == 0)
			deadline = milt_mono_ms() + 2 * (int64_t)conf_busy_timeout_ms(
			    c->cctx_conf->mc_conf) + MILT_MARK_SLACK_MS;
		left = deadline - milt_mono_ms();
		if (left <= 0 ||
		    !milt_count_wait_unmarked(m->mctx_identity, (unsigned)left))
			break;
	}
	snprintf(why, sizeof(why), "not written in time (%lld ms)",
	    (long long)(2 * (int64_t)conf_busy_timeout_ms(c->cctx_conf->mc_conf)
	    + MILT_MARK_SLACK_MS));
	return milt_store_failed(ctx, c, "waiting for a parallel message's "
	    "restriction of the sender", why);
}
