/*
 * util_utf8.c - UTF-8 well-formedness (RFC 3629) and the characters that
 * act on a terminal, for what both programs write from the database or
 * the MTA: sendguardctl's text and JSON, the alert command's JSON.  What
 * is not well-formed is written as U+FFFD in JSON and '?' in text, and a
 * control character is escaped in JSON and '?' in text.
 * Pure; thread-safe.
 */
#include "util.h"

size_t
util_utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	*cp = s[0];
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong, surrogate or beyond U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t
util_utf8_len(const unsigned char *s)
{
	uint32_t cp;

	return util_utf8_decode(s, &cp);
}

bool
util_cp_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}
