/*
 * ctl_time_test.c - unit tests of sendguardctl's pure parts: RFC 3339 and
 * relative times (admin/ctl_time.c) with a pinned "now", and JSON string
 * escaping (admin/ctl_json.c) and text cleaning for a terminal
 * (ctl_clean, admin/ctl_table.c) of what a database may hold.
 *
 * Table-driven; every row names the behaviour it checks.  Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../admin/ctl_json.h"
#include "../admin/ctl_table.h"
#include "../admin/ctl_time.h"
#include "t.h"

/* 2026-11-23T14:05:00Z */
#define NOW	INT64_C(1795442700)

static const struct {
	const char     *what;
	const char     *in;
	int64_t		want;		/* -1: must be refused */
} parse_cases[] = {
	{ "the epoch", "1970-01-01T00:00:00Z", 0 },
	{ "now in RFC 3339 UTC", "2026-11-23T14:05:00Z", NOW },
	{ "lowercase t and z", "2026-11-23t14:05:00z", NOW },
	{ "a space for the T (RFC 3339 5.6 note)", "2026-11-23 14:05:00Z", NOW },
	{ "fractions of a second are dropped", "2026-11-23T14:05:00.999Z", NOW },
	{ "+01:00 is an hour ahead of UTC", "2026-11-23T15:05:00+01:00", NOW },
	{ "-05:30 is behind UTC", "2026-11-23T08:35:00-05:30", NOW },
	{ "a bare date is 00:00 UTC", "2026-11-23", NOW - 14 * 3600 - 5 * 60 },
	{ "leap day 2024", "2024-02-29T00:00:00Z", INT64_C(1709164800) },
	{ "year 2000 is a leap year", "2000-02-29", INT64_C(951782400) },
	{ "the last second of 9999", "9999-12-31T23:59:59Z",
	  INT64_C(253402300799) },
	{ "+2h", "+2h", NOW + 7200 },
	{ "+1d", "+1d", NOW + 86400 },
	{ "+90s", "+90s", NOW + 90 },
	{ "+30m", "+30m", NOW + 1800 },
	{ "+1w", "+1w", NOW + 7 * 86400 },
	{ "-7d", "-7d", NOW - 7 * 86400 },
	{ "+0h is now", "+0h", NOW },
	{ "refused: empty", "", -1 },
	{ "refused: garbage", "tomorrow", -1 },
	{ "refused: 2100 is not a leap year", "2100-02-29", -1 },
	{ "refused: 2023-02-29", "2023-02-29", -1 },
	{ "refused: month 13", "2026-13-01", -1 },
	{ "refused: day 0", "2026-11-00", -1 },
	{ "refused: hour 24", "2026-11-23T24:00:00Z", -1 },
	{ "refused: minute 60", "2026-11-23T14:60:00Z", -1 },
	{ "refused: no zone", "2026-11-23T14:05:00", -1 },
	{ "refused: zone without colon", "2026-11-23T14:05:00+0100", -1 },
	{ "refused: offset hour 24", "2026-11-23T14:05:00+24:00", -1 },
	{ "refused: a dot without digits", "2026-11-23T14:05:00.Z", -1 },
	{ "refused: trailing text", "2026-11-23T14:05:00Zx", -1 },
	{ "refused: trailing text after a date", "2026-11-23x", -1 },
	{ "refused: before 1970", "1969-12-31T23:59:59Z", -1 },
	{ "refused: before 1970 by offset", "1970-01-01T00:00:00+00:01", -1 },
	{ "refused: a unit missing", "+2", -1 },
	{ "refused: an unknown unit", "+2y", -1 },
	{ "refused: no number", "+h", -1 },
	{ "refused: two units", "+2hh", -1 },
	{ "refused: ten digits", "+1234567890s", -1 },
	{ "refused: before the epoch", "-3000w", -1 },
	{ "refused: a space inside", "+ 2h", -1 },
	{ "refused: a short year", "226-11-23", -1 },
};

static void
test_parse(void)
{
	char err[256];
	int64_t got;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		got = -1;
		err[0] = '\0';
		rc = ctl_time_parse(parse_cases[i].in, NOW, &got, err,
		    sizeof(err));
		if (parse_cases[i].want < 0) {
			T_OK(rc == -1 && err[0] != '\0', "parse %s (\"%s\")",
			    parse_cases[i].what, parse_cases[i].in);
		} else {
			T_OK(rc == 0 && got == parse_cases[i].want,
			    "parse %s (\"%s\")", parse_cases[i].what,
			    parse_cases[i].in);
			if (rc != 0 || got != parse_cases[i].want)
				printf("#   got %lld (%s), want %lld\n",
				    (long long)got, err,
				    (long long)parse_cases[i].want);
		}
	}
}

static void
test_format_round_trips(void)
{
	static const int64_t times[] = { 0, 59, 86399, 86400, 951782400,
	    1709164800, NOW, INT64_C(253402300799) };
	char buf[CTL_TIME_SIZE], err[256];
	int64_t back;
	size_t i;
	bool ok = true;

	T_STREQ(ctl_time_format(NOW, buf), "2026-11-23T14:05:00Z",
	    "format: RFC 3339 in UTC with Z");
	T_STREQ(ctl_time_format(0, buf), "1970-01-01T00:00:00Z",
	    "format: the epoch");
	T_STREQ(ctl_time_format(951782400, buf), "2000-02-29T00:00:00Z",
	    "format: a leap day");
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (ctl_time_parse(ctl_time_format(times[i], buf), NOW, &back,
		    err, sizeof(err)) != 0 || back != times[i])
			ok = false;
	T_OK(ok, "format then parse gives the same time");
	/* every day for 100 years from 1970: parse(format(t)) == t */
	ok = true;
	for (back = 0; back < INT64_C(3155760000); back += 86400 + 3661) {
		int64_t again;

		if (ctl_time_parse(ctl_time_format(back, buf), NOW, &again,
		    err, sizeof(err)) != 0 || again != back) {
			ok = false;
			printf("#   %lld -> %s -> %lld\n", (long long)back, buf,
			    (long long)again);
			break;
		}
	}
	T_OK(ok, "format and parse agree over 100 years of days");
}

/* escape - ctl_json_escape into a string (static buffer) */
static const char *
escape(const char *s)
{
	static char buf[256];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (f == NULL)
		return "";
	ctl_json_escape(f, s);
	fclose(f);
	return buf;
}

static const struct {
	const char     *what;
	const char     *in;
	const char     *want;
} escape_cases[] = {
	{ "plain text is quoted", "alice@example.com",
	  "\"alice@example.com\"" },
	{ "quote and backslash are escaped", "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "newline and tab", "a\nb\tc", "\"a\\nb\\tc\"" },
	{ "other control characters as \\u00XX", "a\rb\x01" "c\x7f",
	  "\"a\\u000db\\u0001c\\u007f\"" },
	{ "UTF-8 passes through", "j\xc3\xb6rg@\xc3\xa9xample.com",
	  "\"j\xc3\xb6rg@\xc3\xa9xample.com\"" },
	{ "a four-byte character passes", "\xf0\x9f\x93\xa7",
	  "\"\xf0\x9f\x93\xa7\"" },
	{ "a stray continuation byte is U+FFFD", "a\x80z", "\"a\\ufffdz\"" },
	{ "Latin-1 is U+FFFD", "j\xf6rg", "\"j\\ufffdrg\"" },
	{ "an overlong '/' is U+FFFD", "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
	{ "a surrogate is U+FFFD", "\xed\xa0\x80",
	  "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "a sequence cut short is U+FFFD", "\xe2\x82",
	  "\"\\ufffd\\ufffd\"" },
	{ "beyond U+10FFFF is U+FFFD", "\xf4\x90\x80\x80",
	  "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "C1 controls (NEL, CSI) as \\u", "a\xc2\x85" "b\xc2\x9b" "c",
	  "\"a\\u0085b\\u009bc\"" },
	{ "bidi overrides and isolates as \\u",
	  "\xe2\x80\xaa\xe2\x80\xae\xe2\x81\xa6\xe2\x81\xa9",
	  "\"\\u202a\\u202e\\u2066\\u2069\"" },
	{ "their neighbours pass", "\xc2\xa0\xe2\x80\xa9\xe2\x80\xaf"
	  "\xe2\x81\xaa", "\"\xc2\xa0\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xaa\"" },
};

/* What a terminal is shown (ctl_clean): controls and bad bytes as '?'. */
static const struct {
	const char     *what;
	const char     *in;
	size_t		outlen;
	const char     *want;
	size_t		taken;
} clean_cases[] = {
	{ "plain text passes", "alice@example.com", 64, "alice@example.com",
	  17 },
	{ "UTF-8 passes", "j\xc3\xb6rg", 64, "j\xc3\xb6rg", 5 },
	{ "C0 controls and DEL are '?'", "a\033[2Jb\x7f", 64, "a?[2Jb?", 7 },
	{ "a C1 control is one '?'", "a\xc2\x9b" "31mb\xc2\x85", 64, "a?31mb?",
	  9 },
	{ "a bidi override or isolate is one '?'",
	  "x\xe2\x80\xaey\xe2\x81\xa6z\xe2\x81\xa9", 64, "x?y?z?", 12 },
	{ "each byte that is not UTF-8 is '?'", "j\xf6rg\xc0\xaf\xe2\x82", 64,
	  "j?rg????", 8 },
	{ "no-break spaces are not controls", "\xc2\xa0\xe2\x80\xaf", 64,
	  "\xc2\xa0\xe2\x80\xaf", 5 },
	{ "cut before a character, never inside", "ab\xc3\xb6", 4, "ab", 2 },
	{ "a '?' fits where the character did not", "ab\xc2\x85", 4, "ab?",
	  4 },
};

static void
test_clean(void)
{
	char out[64];
	size_t i, taken;

	for (i = 0; i < sizeof(clean_cases) / sizeof(clean_cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		taken = ctl_clean_len(clean_cases[i].in, out,
		    clean_cases[i].outlen);
		T_STREQ(out, clean_cases[i].want, "clean: %s",
		    clean_cases[i].what);
		T_INTEQ(taken, clean_cases[i].taken, "clean: %s: bytes taken",
		    clean_cases[i].what);
	}
}

static void
test_json_escape(void)
{
	size_t i;

	for (i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++)
		T_STREQ(escape(escape_cases[i].in), escape_cases[i].want,
		    "json: %s", escape_cases[i].what);
}

static void
test_json_writer(void)
{
	char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	ctl_json j;

	if (!T_OK(f != NULL, "fmemopen"))
		return;
	ctl_json_init(&j, f);
	ctl_json_open(&j, '[');
	ctl_json_open(&j, '{');
	ctl_json_key(&j, "a");
	ctl_json_uint(&j, 1);
	ctl_json_key(&j, "t");
	ctl_json_time(&j, false, 0);
	ctl_json_key(&j, "e");
	ctl_json_open(&j, '[');
	ctl_json_close(&j, ']');
	ctl_json_close(&j, '}');
	ctl_json_open(&j, '{');
	ctl_json_key(&j, "s");
	ctl_json_string_or_null(&j, "");
	ctl_json_close(&j, '}');
	ctl_json_close(&j, ']');
	ctl_json_end(&j);
	fclose(f);
	T_STREQ(buf, "[\n  {\n    \"a\": 1,\n    \"t\": null,\n    \"e\": []\n"
	    "  },\n  {\n    \"s\": null\n  }\n]\n",
	    "json writer: commas, indentation, empty array, nulls");
}

int
main(void)
{
	test_parse();
	test_format_round_trips();
	test_json_escape();
	test_clean();
	test_json_writer();
	return t_done();
}
