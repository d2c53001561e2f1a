/*
 * pol_addr.c - normalisation of addresses and identities.
 *
 * Everything the MTA hands over is untrusted.  pol_normalize() is the one
 * place where an envelope address becomes an identity (and a SASL login,
 * through pol_login_normalize(), if it is an address at all): it
 * bounds the length, refuses control characters and unquoted white space
 * (a quoted local part may hold RFC 5321 quoted-pairs, "john\"smith"),
 * lowercases and strips the subaddress, so that "<Alice+Tag@Example.COM>"
 * and "alice@example.com" are counted as one sender.
 *
 * Pure functions, reentrant; the caller owns every buffer.
 */
#include <stddef.h>
#include <string.h>

#include "policy.h"

/* is_ws - SMTP's white space */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t';
}

/* to_lower - ASCII lowercase; UTF-8 bytes pass unchanged */
static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * never_cut - is the local part local[0..n) one Postfix's split_addr()
 * leaves whole: postmaster, mailer-daemon, double-bounce, and, with '-' a
 * delimiter, owner-* and *-request (owner_request_special, on by
 * default)?  local is lowercase already.
 */
static bool
never_cut(const char *local, size_t n, const char *delimiters)
{
	static const char *const whole[] = { "postmaster", "mailer-daemon",
	    "double-bounce" };
	size_t i;

	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (strlen(whole[i]) == n && memcmp(local, whole[i], n) == 0)
			return true;
	if (strchr(delimiters, '-') == NULL)
		return false;
	return (n >= 6 && memcmp(local, "owner-", 6) == 0) ||
	    (n > 8 && memcmp(local + n - 8, "-request", 8) == 0);
}

pol_addr_status
pol_normalize(const char *in, const char *delimiters, char *out, size_t outlen)
{
	const char *start, *end, *p;
	size_t len, i, at, cut;
	bool quoted = false;

	if (outlen == 0)
		return POL_ADDR_TOO_LONG;
	out[0] = '\0';
	if (in == NULL)
		return POL_ADDR_NULL;

	start = in;
	while (is_ws((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_ws((unsigned char)end[-1]))
		end--;

	/* One pair of angle brackets, balanced or not at all. */
	if (end > start && *start == '<') {
		if (end - start < 2 || end[-1] != '>')
			return POL_ADDR_MALFORMED;
		start++;
		end--;
	} else if (end > start && end[-1] == '>')
		return POL_ADDR_MALFORMED;

	/* RFC 5321 source route "@a,@b:user@domain": only the mailbox counts. */
	if (end > start && *start == '@') {
		p = memchr(start, ':', (size_t)(end - start));
		if (p == NULL)
			return POL_ADDR_MALFORMED;
		start = p + 1;
		/* "@a:@b:c@d" is no route (those are "@a,@b:"): refused,
		 * or normalising "@b:c@d" again would give c@d. */
		if (start < end && *start == '@')
			return POL_ADDR_MALFORMED;
	}
	if (end == start)
		return POL_ADDR_NULL;

	len = (size_t)(end - start);
	if (len > POL_ADDR_MAX || len >= outlen)
		return POL_ADDR_TOO_LONG;

	/* Copy, lowercasing; find the last '@' outside quotes. */
	at = len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)start[i];

		if (c < 0x20 || c == 0x7f)
			goto malformed;
		if (quoted && c == '\\') {
			/* RFC 5321 quoted-pair: "john\"smith" is one local
			 * part; the escaped byte is taken as it is (a control
			 * byte still is not), a '\' last leaves the quote
			 * open and is refused below */
			out[i] = '\\';
			if (i + 1 == len)
				continue;
			c = (unsigned char)start[++i];
			if (c < 0x20 || c == 0x7f)
				goto malformed;
		} else if (c == '"')
			quoted = !quoted;
		else if (!quoted && (is_ws(c) || c == '<' || c == '>'))
			goto malformed;
		else if (!quoted && c == '@')
			at = i;
		out[i] = to_lower((char)c);
	}
	out[len] = '\0';
	if (quoted)
		goto malformed;

	if (at < len) {
		/* "user@" and "@domain" are not mailboxes. */
		if (at == 0 || at == len - 1)
			goto malformed;
		/*
		 * A fully qualified "example.com." is example.com, as Postfix
		 * takes it; "example.com.." is no domain (an empty label),
		 * and stripping one dot would leave one for the next pass.
		 */
		if (out[len - 1] == '.') {
			if (out[len - 2] == '.')
				goto malformed;
			out[--len] = '\0';
			if (at == len - 1)
				goto malformed;
		}
	}

	/*
	 * Subaddress: cut the local part at its first delimiter outside
	 * quotes, unless that is its first character (Postfix does the same:
	 * "+x" stays "+x").  A quoted local part is taken whole: a cut inside
	 * "alice+x" would leave an unbalanced quote.  Postfix's reserved
	 * names stay whole too, as Postfix delivers them.
	 */
	if (delimiters != NULL && *delimiters != '\0' &&
	    !never_cut(out, at, delimiters)) {
		quoted = false;
		for (cut = 0; cut < at; cut++) {
			if (!quoted && strchr(delimiters, out[cut]) != NULL)
				break;
			if (quoted && out[cut] == '\\')
				cut++;	/* the escaped byte is no quote */
			else if (out[cut] == '"')
				quoted = !quoted;
		}
		if (cut > 0 && cut < at) {
			memmove(out + cut, out + at, len - at + 1);
			len -= at - cut;
		}
	}
	return POL_ADDR_OK;

malformed:
	out[0] = '\0';
	return POL_ADDR_MALFORMED;
}

pol_addr_status
pol_login_normalize(const char *in, char *out, size_t outlen)
{
	pol_addr_status st = pol_normalize(in, "", out, outlen);
	const char *end;
	size_t len, i;

	if (st != POL_ADDR_MALFORMED)
		return st;
	/* Not an address: an account name, taken as the SASL service gave
	 * it but for case and the white space around it. */
	while (is_ws((unsigned char)*in))
		in++;
	end = in + strlen(in);
	while (end > in && is_ws((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - in);
	if (len > POL_ADDR_MAX || len >= outlen)
		return POL_ADDR_TOO_LONG;
	for (i = 0; i < len; i++) {
		if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) {
			out[0] = '\0';
			return POL_ADDR_MALFORMED;
		}
		out[i] = to_lower(in[i]);
	}
	out[len] = '\0';
	return POL_ADDR_OK;
}

const char *
pol_addr_status_str(pol_addr_status st)
{
	switch (st) {
	case POL_ADDR_OK:
		return "ok";
	case POL_ADDR_NULL:
		return "null address";
	case POL_ADDR_MALFORMED:
		return "malformed address";
	case POL_ADDR_TOO_LONG:
		return "address too long";
	}
	return "unknown address status";
}

const char *
pol_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

bool
pol_default_exempt(const char *identity)
{
	static const char *const locals[] = { "mailer-daemon", "postmaster" };
	size_t i, n;
	const char *at;

	if (identity == NULL || identity[0] == '\0')
		return true;
	at = strrchr(identity, '@');
	n = at != NULL ? (size_t)(at - identity) : strlen(identity);
	for (i = 0; i < sizeof(locals) / sizeof(locals[0]); i++)
		if (strlen(locals[i]) == n && memcmp(identity, locals[i], n) == 0)
			return true;
	return false;
}
