/*
 * ctl_view.h - what several commands show the same way: a restriction and
 * an event in JSON, an event as a line of text, and an identity's counts
 * against its limits.
 *
 * The counts are a table (ctl_metrics[]): one row per limit, naming the
 * limit, the short column header and how to read its count from a
 * store_counts.  A new count (a new column of counters and a new limit in
 * policy/) is one more row here, and list, show and usage all show it.
 * Single-threaded; nothing allocated.
 */
#ifndef SENDGUARD_CTL_VIEW_H
#define SENDGUARD_CTL_VIEW_H

#include <stdio.h>

#include "ctl.h"
#include "ctl_json.h"
#include "ctl_table.h"

/* One count shown against its limit. */
typedef struct ctl_metric {
	pol_limit_id	cm_limit;	/* its name is the JSON key */
	const char     *cm_header;	/* column header of the usage table */
	uint32_t      (*cm_count)(const store_counts *sc);
} ctl_metric;

extern const ctl_metric	ctl_metrics[];
extern const size_t	ctl_nmetrics;

/* The window starts the milter counts from, at now. */
void		ctl_windows(int64_t now, int64_t *hour_from, int64_t *day_from);

/*
 * ctl_policy_of - identity's effective limits (pol_resolve, as the milter
 * resolves a SASL login) and, into where, "global limits", "policy at
 * FILE:LINE" or "exempt by the policy at FILE:LINE".
 */
void		ctl_policy_of(const ctl_t *c, const char *identity,
    pol_effective *eff, char *where, size_t wherelen);

/* ctl_used - "used / limit" or "used / -" (no limit) into out */
char	       *ctl_used(uint32_t used, uint32_t limit, char *out, size_t len);

/* ctl_counts_json - {"LIMIT_NAME": {"used": N, "limit": N or null}, ...} */
void		ctl_counts_json(ctl_json *j, const store_counts *sc,
    const pol_effective *eff);

/* ctl_restriction_json - the restriction object (sendguardctl.8) */
void		ctl_restriction_json(ctl_json *j, const store_restriction *r,
    unsigned unblocks_30d);

/* ctl_event_json - the event object (sendguardctl.8) */
void		ctl_event_json(ctl_json *j, const store_event *e);

/* ctl_event_line - one event as a line of text:
 * "AT  KIND  IDENTITY  by ACTOR: REASON (client ..., queue id ...)" */
void		ctl_event_line(FILE *f, const store_event *e);

#endif
