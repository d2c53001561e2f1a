/*
 * ctl_cmd_history.c - "sendguardctl history [IDENTITY] [--since TIME]":
 * the event log (restricted, expired, unblocked, blocked, alerted), newest
 * first.
 *
 * The history can be long, so it is read and printed a page at a time;
 * each page is one short read, so no snapshot is held while the output
 * waits on a pager (a held snapshot would keep the milter's WAL growing).
 * JSON is one array across the pages.  Memory: one page on the heap.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "ctl_json.h"
#include "ctl_time.h"
#include "ctl_view.h"

#define PAGE	200

int
ctl_cmd_history(ctl_t *c, int argc, char **argv)
{
	const char *json = NULL, *since_text = NULL, *arg[1] = { NULL };
	const ctl_opt opts[] = { { "json", false, &json },
	    { "since", true, &since_text }, { "login", false, &c->ctx_login },
	    { NULL, false, NULL } };
	char id[POL_ADDR_SIZE], err[CTL_ERR_SIZE];
	store_cursor cur = { false, 0, 0 };
	store_event *page;
	int64_t since = 0;
	size_t n, i, total = 0;
	ctl_json j;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, arg, 0, 1)) != 0)
		return rc;
	if (arg[0] == NULL && c->ctx_login != NULL) {
		ctl_err(c, "--login says how to take an IDENTITY; there is none");
		return CTL_EXIT_USAGE;
	}
	if (since_text != NULL && ctl_time_parse(since_text, c->ctx_now,
	    &since, err, sizeof(err)) != 0) {
		ctl_err(c, "--since %s %s", ctl_quote(since_text), err);
		return CTL_EXIT_USAGE;
	}
	/* the identity last: it needs the configuration */
	if ((arg[0] != NULL && (rc = ctl_identity(c, arg[0], id)) != 0) ||
	    (rc = ctl_open(c)) != 0)
		return rc;
	if ((page = calloc(PAGE, sizeof(*page))) == NULL) {
		ctl_err(c, "out of memory");
		return CTL_EXIT_SOFTWARE;
	}
	if (json != NULL) {
		ctl_json_init(&j, stdout);
		ctl_json_open(&j, '[');
	}
	do {
		if (store_history(c->ctx_store, arg[0] != NULL ? id : NULL,
		    since, &cur, page, PAGE, &n, err, sizeof(err)) != 0) {
			rc = ctl_store_failed(c, err);
			break;
		}
		for (i = 0; i < n; i++) {
			if (json != NULL)
				ctl_event_json(&j, &page[i]);
			else
				ctl_event_line(stdout, &page[i]);
		}
		total += n;
	} while (n == PAGE);
	if (json != NULL) {
		/* valid JSON even after a failure; the status tells */
		ctl_json_close(&j, ']');
		ctl_json_end(&j);
	} else if (total == 0 && rc == 0)
		printf("No events.\n");
	free(page);
	return rc;
}
