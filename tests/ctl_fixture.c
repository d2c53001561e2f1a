/*
 * ctl_fixture.c - builds the databases sendguardctl's tests run against,
 * through the real store (so the files are exactly what the milter
 * writes), with the times the test chooses.
 *
 *   ctl_fixture DB create
 *   ctl_fixture DB restrict IDENTITY LIMIT VALUE COUNT CREATED EXPIRES CLIENT QID
 *   ctl_fixture DB count IDENTITY TIME INTERNAL EXTERNAL [SPAM]
 *   ctl_fixture DB event KIND IDENTITY AT ACTOR REASON
 *
 * Times are seconds since the epoch; EXPIRES "-" is until cleared; CLIENT
 * and QID "-" are unknown.  Exit 0, or 1 with the store's message on
 * stderr.  For tests only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"

/* num - a decimal argument */
static long long
num(const char *s)
{
	return strtoll(s, NULL, 10);
}

/* text - an argument, "-" for unknown, into a record's array */
static void
text(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", strcmp(s, "-") == 0 ? "" : s);
}

int
main(int argc, char **argv)
{
	store_opts so = { .so_busy_timeout_ms = 5000, .so_create = true };
	store_restriction r;
	char err[512] = "";
	store_t *st = NULL;
	int k, rc = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: ctl_fixture DB COMMAND ARG...\n");
		return 2;
	}
	if (store_open(argv[1], &so, &st, err, sizeof(err)) != 0)
		goto out;
	memset(&r, 0, sizeof(r));
	if (strcmp(argv[2], "create") == 0 && argc == 3) {
		rc = 0;
	} else if (strcmp(argv[2], "restrict") == 0 && argc == 11) {
		text(r.sr_identity, sizeof(r.sr_identity), argv[3]);
		text(r.sr_limit, sizeof(r.sr_limit), argv[4]);
		r.sr_limit_value = (uint32_t)num(argv[5]);
		r.sr_count = (uint32_t)num(argv[6]);
		snprintf(r.sr_reason, sizeof(r.sr_reason), "%s %s exceeded: "
		    "%s recipients", argv[4], argv[5], argv[6]);
		r.sr_created_at = num(argv[7]);
		r.sr_has_expiry = strcmp(argv[8], "-") != 0;
		r.sr_expires_at = r.sr_has_expiry ? num(argv[8]) : 0;
		text(r.sr_client_address, sizeof(r.sr_client_address),
		    argv[9]);
		text(r.sr_queue_id, sizeof(r.sr_queue_id), argv[10]);
		snprintf(r.sr_actor, sizeof(r.sr_actor), "sendguard");
		rc = store_restriction_put(st, &r, STORE_EV_RESTRICTED, err,
		    sizeof(err));
	} else if (strcmp(argv[2], "count") == 0 && (argc == 7 || argc == 8)) {
		store_delta d = { (uint32_t)num(argv[5]),
		    (uint32_t)num(argv[6]), argc == 8 ? (uint32_t)num(argv[7]) : 0 };

		rc = store_counts_add(st, argv[3], num(argv[4]) / 60, &d, 0,
		    err, sizeof(err));
	} else if (strcmp(argv[2], "event") == 0 && argc == 8) {
		for (k = 0; strcmp(store_event_kind_name((store_event_kind)k),
		    "unknown") != 0; k++)
			if (strcmp(store_event_kind_name((store_event_kind)k),
			    argv[3]) == 0)
				break;
		text(r.sr_identity, sizeof(r.sr_identity), argv[4]);
		text(r.sr_actor, sizeof(r.sr_actor), argv[6]);
		text(r.sr_reason, sizeof(r.sr_reason), argv[7]);
		rc = store_event_add(st, (store_event_kind)k, num(argv[5]), &r,
		    err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "bad command or argument count");
	}
out:
	if (rc != 0)
		fprintf(stderr, "ctl_fixture: %s\n", err);
	store_close(st);
	return rc == 0 ? 0 : 1;
}
