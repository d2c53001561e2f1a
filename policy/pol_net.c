/*
 * pol_net.c - internal_networks: CIDR parsing and address matching.
 *
 * Addresses are raw bytes in network order, as the milter's connect
 * callback hands them over; an IPv4-mapped IPv6 client (::ffff:a.b.c.d)
 * is matched as the IPv4 address it carries, so a dual-stack listener
 * does not make 127.0.0.0/8 useless.  Pure and reentrant.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

/* prefix_equal - do a and b agree on their first bits bits? */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool
pol_parse_net(const char *text, pol_net *out)
{
	char buf[64], *slash, *end;
	unsigned maxbits;
	unsigned long prefix;
	unsigned i;
	uint8_t masked[16];
	size_t len = strlen(text);

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len + 1);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->pn_addr) == 1) {
		out->pn_family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, out->pn_addr) == 1) {
		out->pn_family = AF_INET6;
		maxbits = 128;
	} else
		return false;

	prefix = maxbits;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return false;
		prefix = strtoul(slash, &end, 10);
		if (*end != '\0' || prefix > maxbits)
			return false;
	}
	out->pn_prefix = (unsigned)prefix;

	/* Host bits set beyond the prefix usually hide a typo: refuse them. */
	memcpy(masked, out->pn_addr, sizeof(masked));
	for (i = out->pn_prefix; i < maxbits; i++)
		masked[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	if (memcmp(masked, out->pn_addr, sizeof(masked)) != 0)
		return false;
	return true;
}

bool
pol_net_contains(const pol_net *nets, size_t nnets, int family,
    const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	size_t i;

	if (addr == NULL)
		return false;
	if (family == AF_INET6 && memcmp(addr, v4mapped, 12) == 0) {
		family = AF_INET;
		addr += 12;
	}
	for (i = 0; i < nnets; i++) {
		if (nets[i].pn_family == family &&
		    prefix_equal(nets[i].pn_addr, addr, nets[i].pn_prefix))
			return true;
	}
	return false;
}
