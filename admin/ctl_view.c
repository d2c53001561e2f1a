/*
 * ctl_view.c - the views several sendguardctl commands share: counts
 * against limits (the ctl_metrics table), restrictions and events in JSON,
 * events as text.
 *
 * JSON field names written here are the stable interface documented in
 * sendguardctl.8: add fields, never rename or remove them.  Text is for
 * people and may change.  Single-threaded; nothing allocated.
 */
#include <stdio.h>
#include <string.h>

#include "ctl_time.h"
#include "ctl_view.h"

static uint32_t ext_hour(const store_counts *sc) { return sc->sc_ext_hour; }
static uint32_t int_hour(const store_counts *sc) { return sc->sc_int_hour; }
static uint32_t day(const store_counts *sc) { return sc->sc_day; }
static uint32_t spam_hour(const store_counts *sc) { return sc->sc_spam_hour; }
static uint32_t spam_day(const store_counts *sc) { return sc->sc_spam_day; }

/* In the order the milter checks the limits (pol_limit_id). */
const ctl_metric ctl_metrics[] = {
	{ POL_LIM_EXT_HOUR, "EXTERNAL/HOUR", ext_hour },
	{ POL_LIM_INT_HOUR, "INTERNAL/HOUR", int_hour },
	{ POL_LIM_DAY, "ALL/DAY", day },
	{ POL_LIM_SPAM_HOUR, "SPAM/HOUR", spam_hour },
	{ POL_LIM_SPAM_DAY, "SPAM/DAY", spam_day },
};
const size_t ctl_nmetrics = sizeof(ctl_metrics) / sizeof(ctl_metrics[0]);

void
ctl_windows(int64_t now, int64_t *hour_from, int64_t *day_from)
{
	*hour_from = pol_window_start(now, POL_HOUR_BUCKETS);
	*day_from = pol_window_start(now, POL_DAY_BUCKETS);
}

void
ctl_policy_of(const ctl_t *c, const char *identity, pol_effective *eff,
    char *where, size_t wherelen)
{
	const pol_set *ps = conf_policy(c->ctx_conf);
	char cut[POL_ADDR_SIZE];

	/* A login if named so, or if the cut would change it: an envelope
	 * sender's identity is already cut. */
	(void)pol_normalize(identity, ps->ps_delimiters, cut, sizeof(cut));
	pol_resolve(ps, identity, c->ctx_login || strcmp(cut, identity) != 0,
	    false, eff);
	if (eff->pe_rule == NULL)
		snprintf(where, wherelen, "global limits");
	else
		snprintf(where, wherelen, "%spolicy at %s:%d",
		    eff->pe_exempt ? "exempt by the " : "",
		    conf_rule_file(c->ctx_conf, eff->pe_rule),
		    eff->pe_rule->pr_line);
}

char *
ctl_used(uint32_t used, uint32_t limit, char *out, size_t len)
{
	if (limit == 0)
		snprintf(out, len, "%u / -", used);
	else
		snprintf(out, len, "%u / %u", used, limit);
	return out;
}

void
ctl_counts_json(ctl_json *j, const store_counts *sc, const pol_effective *eff)
{
	const ctl_metric *m;
	uint32_t lim;
	size_t i;

	ctl_json_open(j, '{');
	for (i = 0; i < ctl_nmetrics; i++) {
		m = &ctl_metrics[i];
		lim = eff->pe_limits.lim_value[m->cm_limit];
		ctl_json_key(j, pol_limit_name(m->cm_limit));
		ctl_json_open(j, '{');
		ctl_json_key(j, "used");
		ctl_json_uint(j, m->cm_count(sc));
		ctl_json_key(j, "limit");
		if (eff->pe_exempt || lim == 0)
			ctl_json_null(j);
		else
			ctl_json_uint(j, lim);
		ctl_json_close(j, '}');
	}
	ctl_json_close(j, '}');
}

/* facts_json - the fields a restriction and an event share */
static void
facts_json(ctl_json *j, const store_restriction *r)
{
	ctl_json_key(j, "identity");
	ctl_json_string(j, r->sr_identity);
	ctl_json_key(j, "reason");
	/* an unblock without --reason has none: null, as documented */
	ctl_json_string_or_null(j, r->sr_reason);
	ctl_json_key(j, "limit");
	ctl_json_string_or_null(j, r->sr_limit);
	ctl_json_key(j, "limit_value");
	ctl_json_uint(j, r->sr_limit_value);
	ctl_json_key(j, "count");
	ctl_json_uint(j, r->sr_count);
	ctl_json_key(j, "expires_at");
	ctl_json_time(j, r->sr_has_expiry, r->sr_expires_at);
	ctl_json_key(j, "client_address");
	ctl_json_string_or_null(j, r->sr_client_address);
	ctl_json_key(j, "queue_id");
	ctl_json_string_or_null(j, r->sr_queue_id);
	ctl_json_key(j, "actor");
	ctl_json_string_or_null(j, r->sr_actor);
}

void
ctl_restriction_json(ctl_json *j, const store_restriction *r,
    unsigned unblocks_30d)
{
	ctl_json_open(j, '{');
	facts_json(j, r);
	ctl_json_key(j, "created_at");
	ctl_json_time(j, true, r->sr_created_at);
	ctl_json_key(j, "unblocks_30d");
	ctl_json_uint(j, unblocks_30d);
	ctl_json_close(j, '}');
}

void
ctl_event_json(ctl_json *j, const store_event *e)
{
	ctl_json_open(j, '{');
	ctl_json_key(j, "id");
	ctl_json_uint(j, (uint64_t)e->se_id);
	ctl_json_key(j, "at");
	ctl_json_time(j, true, e->se_at);
	ctl_json_key(j, "kind");
	ctl_json_string(j, store_event_kind_name(e->se_kind));
	facts_json(j, &e->se_facts);
	ctl_json_close(j, '}');
}

void
ctl_event_line(FILE *f, const store_event *e)
{
	const store_restriction *r = &e->se_facts;
	char at[CTL_TIME_SIZE], until[CTL_TIME_SIZE], id[STORE_IDENTITY_SIZE];
	char who[STORE_ACTOR_SIZE], why[STORE_REASON_SIZE];
	char addr[STORE_ADDR_SIZE], qid[STORE_QUEUEID_SIZE];
	bool starts = e->se_kind == STORE_EV_RESTRICTED ||
	    e->se_kind == STORE_EV_BLOCKED;

	fprintf(f, "%s  %-10s  %s  by %s", ctl_time_format(e->se_at, at),
	    store_event_kind_name(e->se_kind),
	    ctl_clean(r->sr_identity, id, sizeof(id)),
	    r->sr_actor[0] != '\0' ? ctl_clean(r->sr_actor, who, sizeof(who)) :
	    "?");
	if (r->sr_reason[0] != '\0')
		fprintf(f, ": %s", ctl_clean(r->sr_reason, why, sizeof(why)));
	/* A restriction's start says how long it lasts; its end (expired,
	 * unblocked) carries the facts of the restriction it ends, and a
	 * block those of the restriction it replaced (a new block has no
	 * client): the words say so, lest they read as the admin's. */
	if (starts)
		fprintf(f, "; until %s", r->sr_has_expiry ?
		    ctl_time_format(r->sr_expires_at, until) : "cleared");
	if (r->sr_client_address[0] != '\0' || r->sr_queue_id[0] != '\0')
		fprintf(f, " (%sclient %s, queue id %s)",
		    e->se_kind == STORE_EV_RESTRICTED ||
		    e->se_kind == STORE_EV_ALERTED ? "" : "restriction: ",
		    r->sr_client_address[0] != '\0' ? ctl_clean(
		    r->sr_client_address, addr, sizeof(addr)) : "unknown",
		    r->sr_queue_id[0] != '\0' ? ctl_clean(r->sr_queue_id, qid,
		    sizeof(qid)) : "unknown");
	fputc('\n', f);
}
