/*
 * ctl_cmd_unblock.c - "sendguardctl unblock" and "sendguardctl block": the
 * two commands that write.
 *
 * unblock clears a restriction and resets the sender's counters
 * (store_restriction_clear), recording who, when and why; the milter looks
 * the restriction up for every message, so the very next message is
 * accepted.  It first reminds the admin that a sender over the limits is
 * usually a compromised account, and it refuses (exit 3) past
 * unblock.max_per_30_days unblocks of one identity unless --force.  Only
 * unblocks of the milter's restrictions count, and a block by hand
 * (limit manual) is lifted whatever the count, with a note instead of the
 * reminder: an admin's own blocks must not use up the cap.  The
 * restriction and the cap are checked again inside the write transaction
 * that clears, in that order, so two admins at once cannot both slip past
 * the cap, and the second is told the sender is no longer restricted.
 * Nothing is printed while the write lock is held: a slow terminal must
 * not stall the milter.
 *
 * block restricts an identity by hand until a time or until cleared.  It
 * may replace a restriction in force only by one that ends no sooner:
 * ending it sooner is an unblock, which is what the cap counts (a block
 * --until +1s over the milter's restriction was an unblock the cap never
 * saw, and its running out forgave the counts as well).  That is decided
 * under the write transaction that replaces, and the "blocked" event of a
 * replacement says so in its reason.  A replacement keeps the facts of the
 * restriction it replaces (limit, count, client, queue id, start): they are
 * what the milter found, and the cap counts an unblock by its limit.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_table.h"
#include "ctl_time.h"
#include "ctl_view.h"

#define FORCED	"forced past unblock.max_per_30_days"
#define REPLACING	"replacing the restriction in force"

/* by_hand - is r an admin's block (of a sender that had no restriction)?
 * Its unblock is not what the cap is about, nor is the sender one the
 * limits caught: unblocking it neither counts nor is refused. */
static bool
by_hand(const store_restriction *r)
{
	return strcmp(r->sr_limit, STORE_LIMIT_MANUAL) == 0;
}

/* cap_reached - has id had cap (> 0) unblocks in the last 30 days? */
static bool
cap_reached(int cap, unsigned unblocks)
{
	return cap > 0 && unblocks >= (unsigned)cap;
}

/* refuse_cap - the exit-3 message */
static int
refuse_cap(const ctl_t *c, const char *id, unsigned unblocks, int cap)
{
	ctl_err(c, "%s was unblocked %u times in the last 30 days "
	    "(unblock.max_per_30_days = %d); a sender that keeps going over "
	    "the limits is most likely a compromised account. Secure it "
	    "first; --force unblocks anyway.", ctl_quote(id), unblocks, cap);
	return CTL_EXIT_CAP;
}

/* remind - what to do about the account before it sends again; of a
 * block by hand, whose it was and that its unblock is not counted */
static void
remind(const char *id, const store_restriction *r)
{
	char why[STORE_REASON_SIZE], who[STORE_ACTOR_SIZE];

	if (by_hand(r))
		printf("Note: %s was blocked by hand by %s (%s). Lifting a "
		    "block by hand does not count against "
		    "unblock.max_per_30_days.\n", id,
		    ctl_clean(r->sr_actor, who, sizeof(who)),
		    ctl_clean(r->sr_reason, why, sizeof(why)));
	else
		printf("Reminder: %s was restricted (%s). A sender over the "
		    "limits is usually a compromised account: reset its "
		    "password, and check it for forwarding rules, app "
		    "passwords and sign-ins you do not recognise before it "
		    "sends again.\n", id,
		    ctl_clean(r->sr_reason, why, sizeof(why)));
	fflush(stdout);
}

/* clear - the write transaction: look the restriction up again, check
 * the cap again, clear, commit.  A restriction gone by now (another admin
 * unblocked it, or it ran out) is "no longer restricted" before the cap
 * is counted: the loser of two admins at the cap must not be told the cap
 * refused what is already done.  A block by hand is cleared whatever the
 * count (*counted false).  The recorded reason says "forced past the cap"
 * if the count taken here, under the write lock, is at the cap.  0 done,
 * 1 not restricted any more, 3 cap reached meanwhile, -1 error */
static int
clear(ctl_t *c, const char *id, const char *actor, const char *reason,
    bool force, int cap, unsigned *unblocks, bool *counted, char *err,
    size_t errlen)
{
	store_t *st = c->ctx_store;
	char why[STORE_REASON_SIZE];
	store_restriction r;
	bool found = false;

	if (store_begin(st, true, err, errlen) != 0 ||
	    store_restriction_get(st, id, c->ctx_now, &r, &found, err,
	    errlen) != 0)
		goto fail;
	if (!found) {
		store_rollback(st);
		return CTL_EXIT_NOT_FOUND;
	}
	if (store_unblock_count(st, id, c->ctx_now - CTL_UNBLOCK_WINDOW,
	    unblocks, err, errlen) != 0)
		goto fail;
	*counted = !by_hand(&r);
	if (*counted && !force && cap_reached(cap, *unblocks)) {
		store_rollback(st);
		return CTL_EXIT_CAP;
	}
	if (*counted && cap_reached(cap, *unblocks))
		snprintf(why, sizeof(why), FORCED "%s%s",
		    reason[0] != '\0' ? ": " : "", reason);
	else
		snprintf(why, sizeof(why), "%s", reason);
	if (store_restriction_clear(st, id, c->ctx_now, actor, why, &found,
	    err, errlen) != 0 || store_commit(st, err, errlen) != 0)
		goto fail;
	return found ? 0 : CTL_EXIT_NOT_FOUND;
fail:
	store_rollback(st);
	return -1;
}

int
ctl_cmd_unblock(ctl_t *c, int argc, char **argv)
{
	const char *reason = "", *force = NULL, *arg[1];
	const ctl_opt opts[] = { { "reason", true, &reason },
	    { "force", false, &force }, { "login", false, &c->ctx_login },
	    { NULL, false, NULL } };
	char id[POL_ADDR_SIZE], err[CTL_ERR_SIZE], actor[STORE_ACTOR_SIZE];
	store_restriction r;
	unsigned unblocks = 0;
	bool found = false, counted = true;
	int cap, rc;

	/* the identity last: it needs the configuration */
	if ((rc = ctl_args(c, argc, argv, opts, arg, 1, 1)) != 0 ||
	    (rc = ctl_reason(c, reason, STORE_REASON_SIZE - sizeof(FORCED ": "))) !=
	    0 || (rc = ctl_identity(c, arg[0], id)) != 0 ||
	    (rc = ctl_open(c)) != 0)
		return rc;
	cap = conf_unblock_max_per_30_days(c->ctx_conf);

	/* Look first (no lock held): the reminder comes before the clear. */
	if (store_restriction_get(c->ctx_store, id, c->ctx_now, &r, &found,
	    err, sizeof(err)) != 0 ||
	    (found && store_unblock_count(c->ctx_store, id,
	    c->ctx_now - CTL_UNBLOCK_WINDOW, &unblocks, err, sizeof(err)) != 0))
		return ctl_store_failed(c, err);
	if (!found) {
		ctl_err(c, "%s is not restricted; nothing to unblock",
		    ctl_quote(id));
		return CTL_EXIT_NOT_FOUND;
	}
	if (force == NULL && !by_hand(&r) && cap_reached(cap, unblocks))
		return refuse_cap(c, id, unblocks, cap);
	remind(id, &r);

	ctl_actor(actor, sizeof(actor));
	rc = clear(c, id, actor, reason, force != NULL, cap, &unblocks,
	    &counted, err, sizeof(err));
	if (rc < 0)
		return ctl_store_failed(c, err);
	if (rc == CTL_EXIT_CAP)
		return refuse_cap(c, id, unblocks, cap);
	if (rc == CTL_EXIT_NOT_FOUND) {
		ctl_err(c, "%s is no longer restricted (cleared or expired "
		    "meanwhile); nothing to unblock", ctl_quote(id));
		return rc;
	}
	printf("%s: restriction cleared and counters reset by %s; the next "
	    "message is accepted. ", id, actor);
	if (counted)
		printf("Unblocks in the last 30 days: %u", unblocks + 1);
	else
		printf("A block by hand is not counted against the cap; "
		    "unblocks in the last 30 days: %u", unblocks);
	if (cap > 0)
		printf(" (cap %d)", cap);
	printf(".\n");
	return CTL_EXIT_OK;
}

/* ends_sooner - would r end before old, which is in force, ends now? */
static bool
ends_sooner(const store_restriction *r, const store_restriction *old)
{
	if (!r->sr_has_expiry)
		return false;
	return !old->sr_has_expiry || r->sr_expires_at < old->sr_expires_at;
}

/* refuse_sooner - the message for a block that would be an unblock */
static int
refuse_sooner(const ctl_t *c, const store_restriction *r,
    const store_restriction *old)
{
	char t1[CTL_TIME_SIZE], t2[CTL_TIME_SIZE];

	ctl_err(c, "%s is restricted until %s; a block until %s would end "
	    "that sooner, which is an unblock: use unblock (where "
	    "unblock.max_per_30_days applies), or block until then or later",
	    ctl_quote(r->sr_identity), old->sr_has_expiry ?
	    ctl_time_format(old->sr_expires_at, t1) : "cleared",
	    ctl_time_format(r->sr_expires_at, t2));
	return CTL_EXIT_USAGE;
}

/* keep_facts - a block that replaces old keeps what the milter found
 * (the limit crossed, its value and count, the client and queue id of the
 * message) and when it began; only the end, the actor and the reason are
 * the block's */
static void
keep_facts(store_restriction *r, const store_restriction *old)
{
	memcpy(r->sr_limit, old->sr_limit, sizeof(r->sr_limit));
	r->sr_limit_value = old->sr_limit_value;
	r->sr_count = old->sr_count;
	r->sr_created_at = old->sr_created_at;
	memcpy(r->sr_client_address, old->sr_client_address,
	    sizeof(r->sr_client_address));
	memcpy(r->sr_queue_id, old->sr_queue_id, sizeof(r->sr_queue_id));
}

/* put - the write transaction of block: expire a ran-out restriction,
 * refuse to end one in force sooner, replace it (keeping its facts; the
 * event's reason then says so), commit.  0 done, 2 refused (*old filled),
 * -1 error */
static int
put(ctl_t *c, store_restriction *r, const char *reason,
    store_restriction *old, bool *had, char *err, size_t errlen)
{
	store_t *st = c->ctx_store;

	/* A restriction that ran out but was not swept yet becomes its
	 * "expired" event first, as the milter does, rather than be replaced
	 * without a trace. */
	if (store_begin(st, true, err, errlen) != 0 ||
	    store_expire(st, r->sr_identity, c->ctx_now, 0, NULL, err,
	    errlen) != 0 ||
	    store_restriction_get(st, r->sr_identity, c->ctx_now, old, had,
	    err, errlen) != 0)
		goto fail;
	if (*had && ends_sooner(r, old)) {
		store_rollback(st);
		return CTL_EXIT_USAGE;
	}
	if (*had) {
		keep_facts(r, old);
		snprintf(r->sr_reason, sizeof(r->sr_reason), REPLACING ": %s",
		    reason);
	} else
		snprintf(r->sr_reason, sizeof(r->sr_reason), "%s", reason);
	/* the blocked event is dated now, also when the row keeps the start
	 * of the restriction it replaced */
	if (store_restriction_put_at(st, r, STORE_EV_BLOCKED, c->ctx_now, err,
	    errlen) != 0 || store_commit(st, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

int
ctl_cmd_block(ctl_t *c, int argc, char **argv)
{
	const char *reason = "blocked by hand", *until = NULL, *arg[1];
	const ctl_opt opts[] = { { "reason", true, &reason },
	    { "until", true, &until }, { "login", false, &c->ctx_login },
	    { NULL, false, NULL } };
	char err[CTL_ERR_SIZE], when[CTL_TIME_SIZE], where[512];
	store_restriction r, old;
	pol_effective eff;
	bool had = false;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = ctl_args(c, argc, argv, opts, arg, 1, 1)) != 0 ||
	    (rc = ctl_reason(c, reason, sizeof(r.sr_reason) -
	    sizeof(REPLACING ": "))) != 0)
		return rc;
	if (until != NULL) {
		if (ctl_time_parse(until, c->ctx_now, &r.sr_expires_at, err,
		    sizeof(err)) != 0) {
			ctl_err(c, "--until %s %s", ctl_quote(until), err);
			return CTL_EXIT_USAGE;
		}
		if (r.sr_expires_at <= c->ctx_now) {
			ctl_err(c, "--until %s is not in the future",
			    ctl_quote(until));
			return CTL_EXIT_USAGE;
		}
		r.sr_has_expiry = true;
	}
	/* the identity last: it needs the configuration */
	if ((rc = ctl_identity(c, arg[0], r.sr_identity)) != 0 ||
	    (rc = ctl_open(c)) != 0)
		return rc;
	snprintf(r.sr_limit, sizeof(r.sr_limit), "manual");
	r.sr_created_at = c->ctx_now;
	ctl_actor(r.sr_actor, sizeof(r.sr_actor));

	if ((rc = put(c, &r, reason, &old, &had, err, sizeof(err))) < 0)
		return ctl_store_failed(c, err);
	if (rc == CTL_EXIT_USAGE)
		return refuse_sooner(c, &r, &old);
	printf("%s: blocked %s%s by %s%s.\n", r.sr_identity,
	    r.sr_has_expiry ? "until " : "until cleared",
	    r.sr_has_expiry ? ctl_time_format(r.sr_expires_at, when) : "",
	    r.sr_actor, had ? " (replacing the restriction it had)" : "");
	ctl_policy_of(c, r.sr_identity, &eff, where, sizeof(where));
	if (eff.pe_exempt)
		ctl_err(c, "warning: %s is %s: the milter does not refuse "
		    "it while the policy exempts it", ctl_quote(r.sr_identity),
		    where);
	return CTL_EXIT_OK;
}
