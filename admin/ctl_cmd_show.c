/*
 * ctl_cmd_show.c - "sendguardctl show IDENTITY": one sender, whole.
 *
 * Restricted or not (and why, since when, until when), its counts against
 * each effective limit for the last hour and day, the policy those limits
 * come from, its unblocks in the last 30 days against the cap, and its
 * most recent events.  Everything is read in one read transaction, then
 * printed.  Exit 0 if restricted, 1 if not (the rest is shown either way).
 */
#include <stdio.h>

#include "ctl.h"
#include "ctl_json.h"
#include "ctl_time.h"
#include "ctl_view.h"

#define RECENT	10	/* events shown */

/* What show reads about one identity. */
struct facts {
	char			id[POL_ADDR_SIZE];
	bool			restricted;
	store_restriction	r;
	store_counts		sc;
	unsigned		unblocks;
	store_event		recent[RECENT];
	size_t			nrecent;
	pol_effective		eff;
	char			policy[512];
};

/* read_facts - everything about f->id in one snapshot */
static int
read_facts(ctl_t *c, struct facts *f, char *err, size_t errlen)
{
	store_cursor cur = { false, 0, 0 };
	int64_t hour_from, day_from;
	bool ran_out = false;

	ctl_windows(c->ctx_now, &hour_from, &day_from);
	if (store_begin(c->ctx_store, false, err, errlen) != 0 ||
	    store_restriction_lookup(c->ctx_store, f->id, c->ctx_now, &f->r,
	    &f->restricted, &ran_out, err, errlen) != 0)
		goto fail;
	/* counted as the milter counts them: a restriction that ran out
	 * forgave what came before its end */
	if (ran_out)
		pol_window_forgive(f->r.sr_expires_at, &hour_from, &day_from);
	if (store_counts_get(c->ctx_store, f->id, hour_from, day_from, &f->sc,
	    err, errlen) != 0 ||
	    store_unblock_count(c->ctx_store, f->id,
	    c->ctx_now - CTL_UNBLOCK_WINDOW, &f->unblocks, err, errlen) != 0 ||
	    store_history(c->ctx_store, f->id, 0, &cur, f->recent, RECENT,
	    &f->nrecent, err, errlen) != 0 ||
	    store_commit(c->ctx_store, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	store_rollback(c->ctx_store);
	return -1;
}

/* print_json - the show object (sendguardctl.8) */
static void
print_json(const ctl_t *c, const struct facts *f)
{
	ctl_json j;
	size_t i;

	ctl_json_init(&j, stdout);
	ctl_json_open(&j, '{');
	ctl_json_key(&j, "identity");
	ctl_json_string(&j, f->id);
	ctl_json_key(&j, "restricted");
	ctl_json_bool(&j, f->restricted);
	ctl_json_key(&j, "restriction");
	if (f->restricted)
		ctl_restriction_json(&j, &f->r, f->unblocks);
	else
		ctl_json_null(&j);
	ctl_json_key(&j, "policy");
	ctl_json_string(&j, f->policy);
	ctl_json_key(&j, "exempt");
	ctl_json_bool(&j, f->eff.pe_exempt);
	ctl_json_key(&j, "counts");
	ctl_counts_json(&j, &f->sc, &f->eff);
	ctl_json_key(&j, "unblocks_30d");
	ctl_json_uint(&j, f->unblocks);
	ctl_json_key(&j, "unblock_cap");
	if (conf_unblock_max_per_30_days(c->ctx_conf) == 0)
		ctl_json_null(&j);
	else
		ctl_json_uint(&j,
		    (unsigned)conf_unblock_max_per_30_days(c->ctx_conf));
	ctl_json_key(&j, "history");
	ctl_json_open(&j, '[');
	for (i = 0; i < f->nrecent; i++)
		ctl_event_json(&j, &f->recent[i]);
	ctl_json_close(&j, ']');
	ctl_json_close(&j, '}');
	ctl_json_end(&j);
}

/* print_text - the same for people */
static void
print_text(const ctl_t *c, const struct facts *f)
{
	const store_restriction *r = &f->r;
	const ctl_metric *m;
	char t1[CTL_TIME_SIZE], t2[CTL_TIME_SIZE], used[64];
	char txt[STORE_REASON_SIZE], id[POL_ADDR_SIZE];
	int cap = conf_unblock_max_per_30_days(c->ctx_conf);
	size_t i;

	printf("identity:     %s\n", ctl_clean(f->id, id, sizeof(id)));
	if (f->restricted) {
		printf("status:       restricted since %s, %s%s\n",
		    ctl_time_format(r->sr_created_at, t1),
		    r->sr_has_expiry ? "until " : "until cleared",
		    r->sr_has_expiry ? ctl_time_format(r->sr_expires_at, t2) :
		    "");
		printf("reason:       %s\n", ctl_clean(r->sr_reason, txt,
		    sizeof(txt)));
		printf("by:           %s", ctl_clean(r->sr_actor, txt,
		    sizeof(txt)));
		if (r->sr_client_address[0] != '\0')
			printf(", client %s", ctl_clean(r->sr_client_address,
			    txt, sizeof(txt)));
		if (r->sr_queue_id[0] != '\0')
			printf(", queue id %s", ctl_clean(r->sr_queue_id, txt,
			    sizeof(txt)));
		putchar('\n');
	} else
		printf("status:       not restricted\n");
	printf("limits:       %s\n", ctl_clean(f->policy, txt, sizeof(txt)));
	for (i = 0; i < ctl_nmetrics; i++) {
		m = &ctl_metrics[i];
		printf("  %-30s %s\n", pol_limit_name(m->cm_limit),
		    ctl_used(m->cm_count(&f->sc), f->eff.pe_exempt ? 0 :
		    f->eff.pe_limits.lim_value[m->cm_limit], used,
		    sizeof(used)));
	}
	if (cap > 0)
		printf("unblocks:     %u in the last 30 days (cap %d)\n",
		    f->unblocks, cap);
	else
		printf("unblocks:     %u in the last 30 days (no cap)\n",
		    f->unblocks);
	if (f->nrecent == 0) {
		printf("history:      none\n");
		return;
	}
	printf("history (newest first):\n");
	for (i = 0; i < f->nrecent; i++) {
		fputs("  ", stdout);
		ctl_event_line(stdout, &f->recent[i]);
	}
}

int
ctl_cmd_show(ctl_t *c, int argc, char **argv)
{
	const char *json = NULL, *arg[1];
	const ctl_opt opts[] = { { "json", false, &json }, { "login", false,
	    &c->ctx_login }, { NULL, false, NULL } };
	char err[CTL_ERR_SIZE];
	struct facts f;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, arg, 1, 1)) != 0 ||
	    (rc = ctl_identity(c, arg[0], f.id)) != 0 ||
	    (rc = ctl_open(c)) != 0)
		return rc;
	if (read_facts(c, &f, err, sizeof(err)) != 0)
		return ctl_store_failed(c, err);
	ctl_policy_of(c, f.id, &f.eff, f.policy, sizeof(f.policy));
	if (json != NULL)
		print_json(c, &f);
	else
		print_text(c, &f);
	if (!f.restricted) {
		ctl_err(c, "%s is not restricted", ctl_quote(f.id));
		return CTL_EXIT_NOT_FOUND;
	}
	return CTL_EXIT_OK;
}
