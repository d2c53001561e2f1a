/*
 * pol_net.c - internal_networks: network construction and address
 * matching.
 *
 * Addresses are raw bytes in network order.  The text form is parsed by
 * conf/ (inet_pton is POSIX, not the C library this directory is limited
 * to); what makes a network valid is decided here.  An IPv4-mapped IPv6
 * client (::ffff:a.b.c.d) is matched as the IPv4 address it carries, so a
 * dual-stack listener does not make 127.0.0.0/8 useless; for the same
 * reason conf/ turns a mapped network into its IPv4 network, and an IPv6
 * network such as ::/0 never holds an IPv4 client.  Pure, reentrant.
 */
#include <string.h>

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
pol_net_make(pol_family family, const uint8_t *addr, unsigned prefix,
    pol_net *out)
{
	unsigned maxbits = family == POL_NET_IPV4 ? 32 : 128, i;
	uint8_t masked[16];

	if ((family != POL_NET_IPV4 && family != POL_NET_IPV6) ||
	    prefix > maxbits)
		return false;
	memset(out, 0, sizeof(*out));
	out->pn_family = family;
	memcpy(out->pn_addr, addr, maxbits / 8);
	out->pn_prefix = prefix;

	/* Host bits set beyond the prefix usually hide a typo: refuse them. */
	memcpy(masked, out->pn_addr, sizeof(masked));
	for (i = prefix; i < maxbits; i++)
		masked[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return memcmp(masked, out->pn_addr, sizeof(masked)) == 0;
}

bool
pol_net_contains(const pol_net *nets, size_t nnets, pol_family family,
    const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	size_t i;

	if (addr == NULL)
		return false;
	if (family == POL_NET_IPV6 && memcmp(addr, v4mapped, 12) == 0) {
		family = POL_NET_IPV4;
		addr += 12;
	}
	for (i = 0; i < nnets; i++) {
		if (nets[i].pn_family == family &&
		    prefix_equal(nets[i].pn_addr, addr, nets[i].pn_prefix))
			return true;
	}
	return false;
}
