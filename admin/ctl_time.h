/*
 * ctl_time.h - times as sendguardctl reads and writes them: RFC 3339 in
 * UTC on output; RFC 3339, a bare date or a relative "+2h" / "-1d" on
 * input.
 *
 * Pure functions of their arguments (the caller passes now), with no
 * locale, time zone or clock: unit-tested in tests/ctl_time_test.c.
 */
#ifndef SENDGUARD_CTL_TIME_H
#define SENDGUARD_CTL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Room for "YYYY-MM-DDTHH:MM:SSZ" and its terminator. */
#define CTL_TIME_SIZE	21

/*
 * ctl_time_parse - text as seconds since the epoch:
 *   2026-11-23T14:05:00Z, 2026-11-23T15:05:00+01:00 (RFC 3339; 't', 'z'
 *   and a space for the 'T' accepted, fractions of a second dropped),
 *   2026-11-23 (00:00 UTC that day),
 *   +90s, +30m, +2h, +1d, +1w (after now), -2h, -7d (before now).
 * Years 1970..9999.  0, or -1 with the reason in err.
 */
int		ctl_time_parse(const char *text, int64_t now, int64_t *out,
    char *err, size_t errlen);

/* ctl_time_format - "YYYY-MM-DDTHH:MM:SSZ" (out: CTL_TIME_SIZE bytes) */
char	       *ctl_time_format(int64_t t, char *out);

#endif
