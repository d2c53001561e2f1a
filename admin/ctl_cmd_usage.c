/*
 * ctl_cmd_usage.c - "sendguardctl usage [IDENTITY] [--top N]": who sends
 * the most now, each with its counts against its own effective limits
 * (per-user and per-domain policies included) over the last hour and day,
 * the windows the milter counts.
 *
 * The busiest are ranked by recipients in the last day (then external and
 * internal in the hour).  A sender whose restriction ran out is counted
 * from its end, as the milter counts it (pol_window_forgive).  Read in
 * one read transaction, then printed.
 * Memory: one array of N rows, freed before returning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_json.h"
#include "ctl_table.h"
#include "ctl_view.h"

#define TOP_DEFAULT	20
#define TOP_MAX		10000

/* One sender's line. */
struct row {
	store_usage	u;
	bool		restricted;
};

/* busier - qsort order of store_usage_top: the day, external and
 * internal in the hour, spam of the day, then the identity */
static int
busier(const void *a, const void *b)
{
	const store_counts *x = &((const struct row *)a)->u.su_counts;
	const store_counts *y = &((const struct row *)b)->u.su_counts;

	if (x->sc_day != y->sc_day)
		return x->sc_day > y->sc_day ? -1 : 1;
	if (x->sc_ext_hour != y->sc_ext_hour)
		return x->sc_ext_hour > y->sc_ext_hour ? -1 : 1;
	if (x->sc_int_hour != y->sc_int_hour)
		return x->sc_int_hour > y->sc_int_hour ? -1 : 1;
	if (x->sc_spam_day != y->sc_spam_day)
		return x->sc_spam_day > y->sc_spam_day ? -1 : 1;
	return strcmp(((const struct row *)a)->u.su_identity,
	    ((const struct row *)b)->u.su_identity);
}

/* read_rows - the top max (or just id) and whether each is restricted;
 * the counts of a sender whose restriction ran out (not yet history) are
 * read again from its end, as the milter counts them, and the top ranked
 * again */
static int
read_rows(ctl_t *c, const char *id, struct row *rows, size_t max, size_t *n,
    char *err, size_t errlen)
{
	store_restriction r;
	store_usage *u = NULL;
	int64_t hour_from, day_from, h, d;
	bool ran_out, again = false;
	size_t i;

	ctl_windows(c->ctx_now, &hour_from, &day_from);
	*n = 0;
	if (store_begin(c->ctx_store, false, err, errlen) != 0)
		goto fail;
	if (id != NULL) {
		snprintf(rows[0].u.su_identity, sizeof(rows[0].u.su_identity),
		    "%s", id);
		*n = 1;
	} else {
		if ((u = calloc(max, sizeof(*u))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (store_usage_top(c->ctx_store, hour_from, day_from, u, max,
		    n, err, errlen) != 0)
			goto fail;
		for (i = 0; i < *n; i++)
			rows[i].u = u[i];
	}
	for (i = 0; i < *n; i++) {
		ran_out = false;
		if (store_restriction_lookup(c->ctx_store,
		    rows[i].u.su_identity, c->ctx_now, &r, &rows[i].restricted,
		    &ran_out, err, errlen) != 0)
			goto fail;
		if (id == NULL && !ran_out)
			continue;
		h = hour_from;
		d = day_from;
		if (ran_out)
			pol_window_forgive(r.sr_expires_at, &h, &d);
		if (store_counts_get(c->ctx_store, rows[i].u.su_identity, h, d,
		    &rows[i].u.su_counts, err, errlen) != 0)
			goto fail;
		again = again || id == NULL;
	}
	if (store_commit(c->ctx_store, err, errlen) != 0)
		goto fail;
	if (again)
		qsort(rows, *n, sizeof(*rows), busier);
	free(u);
	return 0;
fail:
	store_rollback(c->ctx_store);
	free(u);
	return -1;
}

/* print_json - [{"identity", "restricted", "policy", "counts"}, ...] */
static void
print_json(const ctl_t *c, const struct row *rows, size_t n)
{
	pol_effective eff;
	char where[512];
	ctl_json j;
	size_t i;

	ctl_json_init(&j, stdout);
	ctl_json_open(&j, '[');
	for (i = 0; i < n; i++) {
		ctl_policy_of(c, rows[i].u.su_identity, &eff, where,
		    sizeof(where));
		ctl_json_open(&j, '{');
		ctl_json_key(&j, "identity");
		ctl_json_string(&j, rows[i].u.su_identity);
		ctl_json_key(&j, "restricted");
		ctl_json_bool(&j, rows[i].restricted);
		ctl_json_key(&j, "policy");
		ctl_json_string(&j, where);
		ctl_json_key(&j, "counts");
		ctl_counts_json(&j, &rows[i].u.su_counts, &eff);
		ctl_json_close(&j, '}');
	}
	ctl_json_close(&j, ']');
	ctl_json_end(&j);
}

/* print_table - IDENTITY, one "used / limit" column per metric, STATUS */
static int
print_table(const ctl_t *c, const struct row *rows, size_t n)
{
	const char *head[16];
	pol_effective eff;
	char where[512], used[64];
	ctl_table *t;
	size_t i, k, ncols = ctl_nmetrics + 2;
	int rc = 0;

	if (n == 0) {
		printf("No sender has sent mail in the last day.\n");
		return 0;
	}
	head[0] = "IDENTITY";
	for (k = 0; k < ctl_nmetrics; k++)
		head[k + 1] = ctl_metrics[k].cm_header;
	head[ncols - 1] = "STATUS";
	if ((t = ctl_table_new(ncols, head)) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		ctl_policy_of(c, rows[i].u.su_identity, &eff, where,
		    sizeof(where));
		rc |= ctl_table_cell(t, "%s", rows[i].u.su_identity);
		for (k = 0; k < ctl_nmetrics; k++)
			rc |= ctl_table_cell(t, "%s", ctl_used(
			    ctl_metrics[k].cm_count(&rows[i].u.su_counts),
			    eff.pe_exempt ? 0 :
			    eff.pe_limits.lim_value[ctl_metrics[k].cm_limit],
			    used, sizeof(used)));
		rc |= ctl_table_cell(t, "%s", rows[i].restricted ?
		    "restricted" : eff.pe_exempt ? "exempt" : "");
	}
	if (rc == 0)
		rc = ctl_table_print(t, stdout);
	ctl_table_free(t);
	return rc;
}

int
ctl_cmd_usage(ctl_t *c, int argc, char **argv)
{
	const char *json = NULL, *top = NULL, *arg[1] = { NULL };
	const ctl_opt opts[] = { { "json", false, &json },
	    { "top", true, &top }, { "login", false, &c->ctx_login },
	    { NULL, false, NULL } };
	char id[POL_ADDR_SIZE], err[CTL_ERR_SIZE], *end;
	struct row *rows;
	unsigned long max = TOP_DEFAULT;
	size_t n = 0;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, arg, 0, 1)) != 0)
		return rc;
	if (arg[0] == NULL && c->ctx_login != NULL) {
		ctl_err(c, "--login says how to take an IDENTITY; there is none");
		return CTL_EXIT_USAGE;
	}
	if (arg[0] != NULL && top != NULL) {
		ctl_err(c, "--top lists the busiest senders; it does not go "
		    "with an IDENTITY");
		return CTL_EXIT_USAGE;
	}
	if (top != NULL) {
		max = top[0] >= '0' && top[0] <= '9' ? strtoul(top, &end, 10) :
		    0;
		if (max == 0 || max > TOP_MAX || *end != '\0') {
			ctl_err(c, "--top %s is not a number 1..%d",
			    ctl_quote(top), TOP_MAX);
			return CTL_EXIT_USAGE;
		}
	}
	if (arg[0] != NULL) {
		if ((rc = ctl_identity(c, arg[0], id)) != 0)
			return rc;
		max = 1;
	}
	if ((rc = ctl_open(c)) != 0)
		return rc;
	if ((rows = calloc(max, sizeof(*rows))) == NULL) {
		ctl_err(c, "out of memory");
		return CTL_EXIT_SOFTWARE;
	}
	if (read_rows(c, arg[0] != NULL ? id : NULL, rows, max, &n, err,
	    sizeof(err)) != 0) {
		free(rows);
		return ctl_store_failed(c, err);
	}
	if (json != NULL)
		print_json(c, rows, n);
	else if (print_table(c, rows, n) != 0) {
		ctl_err(c, "out of memory");
		rc = CTL_EXIT_SOFTWARE;
	}
	free(rows);
	return rc;
}
