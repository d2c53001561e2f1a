/*
 * ctl_cmd_list.c - "sendguardctl list": every restriction in force, with
 * each identity's unblocks in the last 30 days.
 *
 * The restrictions are read in pages inside one read transaction (one
 * consistent snapshot, held only while reading, never while printing),
 * then shown as an aligned table or a JSON array.  Memory: one growing
 * array, freed before returning.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "ctl_json.h"
#include "ctl_table.h"
#include "ctl_time.h"
#include "ctl_view.h"

#define PAGE	256

/* One line of the list. */
struct row {
	store_restriction	r;
	unsigned		unblocks;
};

/* read_all - every restriction in force and its unblock count into *rows */
static int
read_all(ctl_t *c, struct row **rows, size_t *n, char *err, size_t errlen)
{
	store_restriction page[PAGE];
	struct row *more;
	const char *after = "";
	size_t got, i, cap = 0;

	*rows = NULL;
	*n = 0;
	do {
		if (store_restriction_list(c->ctx_store, c->ctx_now, after,
		    page, PAGE, &got, err, errlen) != 0)
			return -1;
		if (*n + got > cap) {
			cap = (cap + got) * 2;
			if ((more = realloc(*rows, cap * sizeof(**rows))) ==
			    NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			*rows = more;
		}
		for (i = 0; i < got; i++) {
			(*rows)[*n].r = page[i];
			if (store_unblock_count(c->ctx_store,
			    page[i].sr_identity, c->ctx_now - CTL_UNBLOCK_WINDOW,
			    &(*rows)[*n].unblocks, err, errlen) != 0)
				return -1;
			(*n)++;
		}
		if (got > 0)
			after = (*rows)[*n - 1].r.sr_identity;
	} while (got == PAGE);
	return 0;
}

/* print_table - the aligned table, or a line saying there is nothing */
static int
print_table(const struct row *rows, size_t n)
{
	static const char *const head[] = { "IDENTITY", "SINCE", "UNTIL",
	    "CLIENT", "BY", "UNBLOCKS/30D", "REASON" };
	char since[CTL_TIME_SIZE], until[CTL_TIME_SIZE];
	ctl_table *t;
	size_t i;
	int rc = 0;

	if (n == 0) {
		printf("No sender is restricted.\n");
		return 0;
	}
	if ((t = ctl_table_new(7, head)) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		const store_restriction *r = &rows[i].r;

		rc |= ctl_table_cell(t, "%s", r->sr_identity);
		rc |= ctl_table_cell(t, "%s",
		    ctl_time_format(r->sr_created_at, since));
		rc |= ctl_table_cell(t, "%s", r->sr_has_expiry ?
		    ctl_time_format(r->sr_expires_at, until) : "cleared");
		rc |= ctl_table_cell(t, "%s", r->sr_client_address[0] ?
		    r->sr_client_address : "-");
		rc |= ctl_table_cell(t, "%s", r->sr_actor);
		rc |= ctl_table_cell(t, "%u", rows[i].unblocks);
		rc |= ctl_table_cell(t, "%s", r->sr_reason);
	}
	if (rc == 0)
		rc = ctl_table_print(t, stdout);
	ctl_table_free(t);
	return rc;
}

int
ctl_cmd_list(ctl_t *c, int argc, char **argv)
{
	const char *json = NULL;
	const ctl_opt opts[] = { { "json", false, &json }, { NULL, false,
	    NULL } };
	char err[CTL_ERR_SIZE];
	struct row *rows = NULL;
	ctl_json j;
	size_t n = 0, i;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0 ||
	    (rc = ctl_open(c)) != 0)
		return rc;
	if (store_begin(c->ctx_store, false, err, sizeof(err)) != 0 ||
	    read_all(c, &rows, &n, err, sizeof(err)) != 0 ||
	    store_commit(c->ctx_store, err, sizeof(err)) != 0) {
		store_rollback(c->ctx_store);
		free(rows);
		return ctl_store_failed(c, err);
	}
	if (json != NULL) {
		ctl_json_init(&j, stdout);
		ctl_json_open(&j, '[');
		for (i = 0; i < n; i++)
			ctl_restriction_json(&j, &rows[i].r, rows[i].unblocks);
		ctl_json_close(&j, ']');
		ctl_json_end(&j);
	} else if (print_table(rows, n) != 0) {
		ctl_err(c, "out of memory");
		rc = CTL_EXIT_SOFTWARE;
	}
	free(rows);
	return rc;
}
