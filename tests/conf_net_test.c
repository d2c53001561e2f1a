/*
 * conf_net_test.c - unit tests of conf/conf_net.c: which texts are
 * networks of internal_networks, and that an IPv4-mapped network is taken
 * as the IPv4 network the milter matches a mapped client against.
 * No files; single-threaded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../conf/conf.h"
#include "t.h"

static void
test_network_texts(void)
{
	static const struct {
		const char *text;
		bool ok;
	} parse[] = {
		{ "127.0.0.0/8", true }, { "::1/128", true },
		{ "10.1.2.3", true }, { "2001:db8::/32", true },
		{ "0.0.0.0/0", true }, { "::/0", true },
		{ "10.0.0.0/33", false }, { "10.0.0.1/8", false },
		{ "banana", false }, { "10.0.0.0/", false }, { "10.0.0.0/-1", false },
		{ "10.0.0.0/+8", false }, { "2001:db8::1/32", false }, { "", false },
		{ "10.0.0.0/8x", false }, { "::/129", false },
		{ "::ffff:10.0.0.0/104", true }, { "::ffff:0:0/96", true },
		{ "::ffff:10.0.0.1", true }, { "::ffff:0:0/80", false },
	};
	static const uint8_t ten[4] = { 10, 0, 0, 0 }, ten_one[4] = { 10, 0,
	    0, 1 }, mapped_ten_one[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 10, 0, 0, 1 };
	size_t i;
	pol_net n;

	for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++)
		T_INTEQ(conf_parse_net(parse[i].text, &n), parse[i].ok,
		    "network \"%s\" is %s", parse[i].text,
		    parse[i].ok ? "valid" : "refused");

	/* The milter matches a mapped client as IPv4: so must the network. */
	T_OK(conf_parse_net("::ffff:10.0.0.0/104", &n) &&
	    n.pn_family == POL_NET_IPV4 && n.pn_prefix == 8 &&
	    memcmp(n.pn_addr, ten, 4) == 0,
	    "::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8");
	T_OK(pol_net_contains(&n, 1, POL_NET_IPV6, mapped_ten_one),
	    "::ffff:10.0.0.0/104 holds the client ::ffff:10.0.0.1");
	T_OK(pol_net_contains(&n, 1, POL_NET_IPV4, ten_one),
	    "::ffff:10.0.0.0/104 holds the client 10.0.0.1");
	T_OK(conf_parse_net("::ffff:0:0/96", &n) &&
	    n.pn_family == POL_NET_IPV4 && n.pn_prefix == 0,
	    "::ffff:0:0/96 is all of IPv4");
	T_OK(conf_parse_net("::/0", &n) &&
	    !pol_net_contains(&n, 1, POL_NET_IPV6, mapped_ten_one),
	    "::/0 does not hold a mapped IPv4 client");
}

int
main(void)
{
	test_network_texts();
	return t_done();
}
