/*
 * milt_xtext.c - decode the xtext form (RFC 3461 section 4) in which
 * Sendmail hands a SASL login to milters as {auth_authen}.
 *
 * Sendmail runs the login through xtextify() before it defines the macro:
 * '+', '=', the characters <>\") and every byte outside '!'..'~' become
 * "+XX" (two upper-case hex digits), so the login "d=1+x@example.com"
 * arrives as "d+3D1+2Bx@example.com", which taken as is would be another
 * account's name.  Postfix passes the login unchanged, so mlfi.c decodes
 * only for an MTA that is not Postfix.
 *
 * Pure function on caller-supplied buffers; thread-safe; no I/O.
 */
#include <string.h>

#include "milt.h"

/* hexval - the value of an upper-case hex digit, or -1 */
static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
milt_xtext_decode(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	int hi, lo;

	if (in == NULL || outlen == 0)
		return -1;
	while (*in != '\0') {
		if (n + 1 >= outlen)
			return -1;
		if (*in != '+') {
			out[n++] = *in++;
			continue;
		}
		hi = hexval(in[1]);
		lo = hi < 0 ? -1 : hexval(in[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;	/* not xtext, or an encoded NUL */
		out[n++] = (char)(hi * 16 + lo);
		in += 3;
	}
	out[n] = '\0';
	return 0;
}
