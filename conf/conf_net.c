/*
 * conf_net.c - internal_networks: the networks whose clients send
 * outbound mail, as CIDR text checked and turned into pol_net values.
 * Reentrant; errors through conf_fail().
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_int.h"

/*
 * conf_net - conf_parse_net, and *mapped_short set for an IPv4-mapped
 * network with a prefix under 96, which no client can match.
 *
 * The milter matches a mapped client (::ffff:a.b.c.d, as a dual-stack
 * listener reports IPv4 clients) as the IPv4 address it carries, so a
 * mapped network is taken as its IPv4 network: ::ffff:10.0.0.0/104 is
 * 10.0.0.0/8.  Kept as IPv6, it would never match anything.
 */
static bool
conf_net(const char *text, pol_net *out, bool *mapped_short)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char buf[64], *slash, *end;
	uint8_t addr[16];
	unsigned long prefix;
	pol_family family;
	size_t len = strlen(text);

	*mapped_short = false;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		family = POL_NET_IPV4;
		prefix = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		family = POL_NET_IPV6;
		prefix = 128;
	} else
		return false;
	if (slash != NULL) {
		/* digits only: strtoul would take " 8", "+8" and "-1" */
		if (*slash < '0' || *slash > '9')
			return false;
		prefix = strtoul(slash, &end, 10);
		if (*end != '\0' || prefix > 128)
			return false;
	}
	if (family == POL_NET_IPV6 && memcmp(addr, v4mapped, 12) == 0) {
		if (prefix < 96) {
			*mapped_short = true;
			return false;
		}
		return pol_net_make(POL_NET_IPV4, addr + 12,
		    (unsigned)prefix - 96, out);
	}
	return pol_net_make(family, addr, (unsigned)prefix, out);
}

bool
conf_parse_net(const char *text, pol_net *out)
{
	bool mapped_short;

	return conf_net(text, out, &mapped_short);
}

/* conf_store_networks - internal_networks through conf_parse_net */
int
conf_store_networks(conf_ld *ld, const conf_opt *o, const char *key,
    const config_setting_t *s, const conf_val *v)
{
	pol_set *ps = &ld->ld_conf->c_pol;
	int i, n = config_setting_length(s);
	char ekey[CONF_KEY_MAX];
	bool ok, mapped_short;

	(void)o, (void)v;
	ps->ps_networks = calloc(n > 0 ? (size_t)n : 1, sizeof(pol_net));
	if (ps->ps_networks == NULL)
		return conf_oom(ld, s, key);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *t = config_setting_get_string(e);

		snprintf(ekey, sizeof(ekey), "%s[%d]", key, i + 1);
		ok = conf_net(t, &ps->ps_networks[i], &mapped_short);
		if (!ok && mapped_short)
			return conf_fail(ld, e, ekey, "\"%s\" is an IPv4-mapped "
			    "network with a prefix under 96 (::ffff:0:0/96 "
			    "holds every IPv4 address)", t);
		if (!ok)
			return conf_fail(ld, e, ekey, "\"%s\" is not a network "
			    "(ADDRESS[/PREFIX], IPv4 or IPv6, no host bits set)",
			    t);
		ps->ps_nnetworks++;
	}
	return 0;
}
