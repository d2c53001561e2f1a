/*
 * alert_json_test.c - milt_json_string, which writes every untrusted fact
 * of an alert (identity, reason, client, queue id) into the JSON object an
 * alert command reads: quotes, backslashes and control characters are
 * escaped, valid UTF-8 passes, invalid bytes become U+FFFD, and a string
 * that does not fit is left out whole.  Table-driven.
 */
#include <stdio.h>
#include <string.h>

#include "../milter/milt_alert.h"
#include "t.h"

static const struct {
	const char     *in;
	const char     *out;
	const char     *what;
} cases[] = {
	{ "alice@example.com", "\"alice@example.com\"", "a plain address" },
	{ "", "\"\"", "the empty string" },
	{ "a\"b", "\"a\\\"b\"", "a double quote is escaped" },
	{ "a\\b", "\"a\\\\b\"", "a backslash is escaped" },
	{ "a\nb\r\tc", "\"a\\u000ab\\u000d\\u0009c\"", "CR, LF, tab as \\u" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "other control bytes" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"", "valid two-byte UTF-8 passes" },
	{ "\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xe2\x82\xac\xf0\x9f\x98\x80\"",
	  "valid three- and four-byte UTF-8 pass" },
	{ "a\xe9z", "\"a\\ufffdz\"", "a Latin-1 byte becomes U+FFFD" },
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "an overlong '/' is refused" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate is refused" },
	{ "\xe2\x82", "\"\\ufffd\\ufffd\"", "a truncated sequence is refused" },
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
	  "beyond U+10FFFF is refused" },
};

int
main(void)
{
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf[0] = '\0';
		T_OK(milt_json_string(buf, sizeof(buf), cases[i].in) &&
		    strcmp(buf, cases[i].out) == 0, "%s: %s", cases[i].what,
		    t_vis(buf));
	}

	/* Appends to what is there. */
	snprintf(buf, sizeof(buf), "{\"a\":");
	T_OK(milt_json_string(buf, sizeof(buf), "x") &&
	    strcmp(buf, "{\"a\":\"x\"") == 0, "appends after the text there");

	/* Too long: nothing of it stays, the text before is intact. */
	snprintf(buf, 8, "ab");
	T_OK(!milt_json_string(buf, 8, "abcdef") && strcmp(buf, "ab") == 0,
	    "a string that does not fit is left out whole");
	buf[0] = '\0';
	T_OK(!milt_json_string(buf, 5, "abc") && buf[0] == '\0',
	    "no room for the terminator: refused");
	buf[0] = '\0';
	T_OK(milt_json_string(buf, 6, "abc") && strcmp(buf, "\"abc\"") == 0,
	    "exactly enough room: written");
	return t_done();
}
