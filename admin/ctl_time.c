/*
 * ctl_time.c - RFC 3339 times and relative offsets for sendguardctl.
 *
 * The calendar arithmetic is done here (days from a civil date and back,
 * proleptic Gregorian, after Howard Hinnant's algorithms) rather than with
 * timegm() and gmtime_r(), so that parsing depends on neither the time
 * zone nor the locale, and every edge is unit-tested with a pinned "now".
 * Reentrant; nothing is allocated.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl_time.h"

#define DAY		86400
#define TIME_MAX	INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */

/* days_from_civil - days since 1970-01-01 of y-m-d (m 1..12, d 1..31) */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* civil_from_days - the date of day z since 1970-01-01 */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* days_in_month - 28..31 */
static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* digits - n ASCII digits at *p as a number, advancing *p; false if not */
static bool
digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* expect - is **p the character c (either case for letters)?  Advance. */
static bool
expect(const char **p, char c)
{
	char got = **p;

	if (got >= 'a' && got <= 'z')
		got = (char)(got - 'a' + 'A');
	if (got != c)
		return false;
	(*p)++;
	return true;
}

/* parse_relative - "+N" or "-N" and a unit s, m, h, d or w */
static int
parse_relative(const char *text, int64_t now, int64_t *out, char *err,
    size_t errlen)
{
	const char *p = text + 1;
	int64_t n = 0, unit;
	int nd = 0;

	for (; *p >= '0' && *p <= '9'; p++, nd++) {
		if (nd == 9)
			goto bad;
		n = n * 10 + (*p - '0');
	}
	if (nd == 0 || p[0] == '\0' || p[1] != '\0')
		goto bad;
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = DAY; break;
	case 'w': unit = 7 * DAY; break;
	default: goto bad;
	}
	/* n < 10^9 and unit <= 604800: no overflow in int64_t */
	n *= unit;
	*out = text[0] == '+' ? now + n : now - n;
	if (*out < 0 || *out > TIME_MAX) {
		snprintf(err, errlen, "is outside the years 1970..9999");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "is not a relative time (+N or -N and a unit "
	    "s, m, h, d or w, N of 1..9 digits, e.g. +2h or -1d)");
	return -1;
}

int
ctl_time_parse(const char *text, int64_t now, int64_t *out, char *err,
    size_t errlen)
{
	const char *p = text;
	unsigned y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0;
	int64_t t, off = 0;

	if (text[0] == '+' || text[0] == '-')
		return parse_relative(text, now, out, err, errlen);
	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) ||
	    !expect(&p, '-') || !digits(&p, 2, &d))
		goto bad;
	if (*p != '\0') {
		if (!expect(&p, 'T') && !expect(&p, ' '))
			goto bad;
		if (!digits(&p, 2, &h) || !expect(&p, ':') ||
		    !digits(&p, 2, &mi) || !expect(&p, ':') ||
		    !digits(&p, 2, &s))
			goto bad;
		if (*p == '.') {
			/* fractions of a second: at least one digit, dropped */
			if (p[1] < '0' || p[1] > '9')
				goto bad;
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		}
		if (!expect(&p, 'Z')) {
			if (*p != '+' && *p != '-')
				goto bad;
			p++;
			if (!digits(&p, 2, &oh) || !expect(&p, ':') ||
			    !digits(&p, 2, &om) || oh > 23 || om > 59)
				goto bad;
			off = ((int64_t)oh * 3600 + om * 60) *
			    (p[-6] == '-' ? -1 : 1);
		}
		if (*p != '\0')
			goto bad;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60) {
		snprintf(err, errlen, "is not a valid date and time (years "
		    "1970..9999)");
		return -1;
	}
	/* a local time at +01:00 is an hour ahead of UTC */
	t = days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + s - off;
	if (t < 0 || t > TIME_MAX) {
		snprintf(err, errlen, "is outside the years 1970..9999");
		return -1;
	}
	*out = t;
	return 0;
bad:
	snprintf(err, errlen, "is not a time (RFC 3339 such as "
	    "2026-11-23T14:05:00Z, a date such as 2026-11-23, or +2h, +1d, "
	    "-7d)");
	return -1;
}

char *
ctl_time_format(int64_t t, char *out)
{
	int64_t days = t / DAY, rem = t % DAY, y;
	unsigned m, d;
	char buf[64];

	if (rem < 0) {
		rem += DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* the compiler cannot see the ranges: format with room, then copy */
	snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02u:%02u:%02uZ",
	    (long long)(y < 0 ? 0 : y > 9999 ? 9999 : y), m, d,
	    (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
	    (unsigned)(rem % 60));
	memcpy(out, buf, CTL_TIME_SIZE - 1);
	out[CTL_TIME_SIZE - 1] = '\0';
	return out;
}
