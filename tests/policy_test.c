/*
 * policy_test.c - table-driven tests of the pure decision core, with a
 * pinned clock: normalisation, domain and policy matching, exemptions,
 * CIDR parsing and matching, window edges, the hard cap, alert-once and
 * expiry at midnight UTC.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "../policy/policy.h"
#include "t.h"

/* 2026-11-23 14:30:15 UTC, a pinned "now". */
#define NOW	INT64_C(1795444215)
#define MIDNIGHT_AFTER_NOW	INT64_C(1795478400)	/* 2026-11-24 00:00 */

static void
test_normalize(void)
{
	static const struct {
		const char *in, *delims, *want;
		pol_addr_status st;
	} cases[] = {
		{ "<Alice@Example.COM>", "+", "alice@example.com", POL_ADDR_OK },
		{ "alice+tag@example.com", "+", "alice@example.com", POL_ADDR_OK },
		{ "alice+tag@example.com", "", "alice+tag@example.com", POL_ADDR_OK },
		{ "alice-tag+x@example.com", "+-", "alice@example.com", POL_ADDR_OK },
		{ "+tag@example.com", "+", "+tag@example.com", POL_ADDR_OK },
		{ "  <bob@example.org>  ", "+", "bob@example.org", POL_ADDR_OK },
		{ "bob@Example.org.", "+", "bob@example.org", POL_ADDR_OK },
		{ "<@relay.example,@b.example:carol@example.net>", "+",
		  "carol@example.net", POL_ADDR_OK },
		{ "Alice", "+", "alice", POL_ADDR_OK },
		{ "\"a b\"@example.com", "+", "\"a b\"@example.com", POL_ADDR_OK },
		{ "<>", "+", "", POL_ADDR_NULL },
		{ "", "+", "", POL_ADDR_NULL },
		{ "   ", "+", "", POL_ADDR_NULL },
		{ "<alice@example.com", "+", "", POL_ADDR_MALFORMED },
		{ "alice@example.com>", "+", "", POL_ADDR_MALFORMED },
		{ "al ice@example.com", "+", "", POL_ADDR_MALFORMED },
		{ "alice@exa\r\nmple.com", "+", "", POL_ADDR_MALFORMED },
		{ "alice@", "+", "", POL_ADDR_MALFORMED },
		{ "@example.com", "+", "", POL_ADDR_MALFORMED },
		{ "\"unterminated@example.com", "+", "", POL_ADDR_MALFORMED },
		{ "<<a@b>>", "+", "", POL_ADDR_MALFORMED },
		/* A quoted local part is taken whole: no cut in quotes. */
		{ "\"Alice+x\"@example.com", "+", "\"alice+x\"@example.com",
		  POL_ADDR_OK },
		{ "\"x+y@evil\"@local", "+", "\"x+y@evil\"@local", POL_ADDR_OK },
		{ "alice+\"x\"@example.com", "+", "alice@example.com",
		  POL_ADDR_OK },
		/* Postfix's split_addr() leaves these local parts whole. */
		{ "MAILER-DAEMON@example.com", "+-", "mailer-daemon@example.com",
		  POL_ADDR_OK },
		{ "double-bounce@example.com", "-", "double-bounce@example.com",
		  POL_ADDR_OK },
		{ "owner-list+x@example.com", "+-", "owner-list+x@example.com",
		  POL_ADDR_OK },
		{ "list-request@example.com", "-", "list-request@example.com",
		  POL_ADDR_OK },
		{ "mailer-daemon+x@example.com", "+-", "mailer@example.com",
		  POL_ADDR_OK },
		{ "owner-list+x@example.com", "+", "owner-list@example.com",
		  POL_ADDR_OK },
		{ "bob+x-request@example.com", "+", "bob@example.com",
		  POL_ADDR_OK },
		{ "a-request@x", "+-", "a-request@x", POL_ADDR_OK },
		/* RFC 5321 quoted-pairs: an escaped quote closes nothing. */
		{ "\"John\\\"Smith\"@Ext.test", "+",
		  "\"john\\\"smith\"@ext.test", POL_ADDR_OK },
		{ "\"a\\\\\"+x@example.com", "+", "\"a\\\\\"@example.com",
		  POL_ADDR_OK },
		{ "\"a\\\"+x\"@example.com", "+", "\"a\\\"+x\"@example.com",
		  POL_ADDR_OK },
		{ "\"a\\\"@example.com", "+", "", POL_ADDR_MALFORMED },
		{ "\"a\\\r\"@example.com", "+", "", POL_ADDR_MALFORMED },
		{ "\"a\\", "+", "", POL_ADDR_MALFORMED },
		{ "alice@example.com..", "+", "", POL_ADDR_MALFORMED },
		{ "alice@.", "+", "", POL_ADDR_MALFORMED },
		{ "<@a.example:@b.example:carol@example.net>", "+", "",
		  POL_ADDR_MALFORMED },
	};
	char out[POL_ADDR_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol_addr_status st = pol_normalize(cases[i].in, cases[i].delims,
		    out, sizeof(out));

		T_INTEQ(st, cases[i].st, "normalize status of \"%s\" is %s",
		    t_vis(cases[i].in), pol_addr_status_str(cases[i].st));
		T_STREQ(out, cases[i].want, "normalize \"%s\" with \"%s\"",
		    t_vis(cases[i].in), cases[i].delims);
	}
}

/* An identity normalised again is itself: no input drifts on a second pass. */
static void
test_normalize_is_idempotent(void)
{
	static const char *const in[] = {
		"\"alice+x\"@example.com", "\"x+y@evil\"@local",
		"\"a\"+b@example.com", "a+\"b\"@example.com",
		"\"a@b\"+c@example.com", "\"+\"@example.com",
		"alice@example.com.", "alice@example.com..", "alice@.",
		"alice+@example.com", "+alice+x@example.com", "alice.@example.com.",
		"<@a,@b:c+d@e.>", "<@a:@b:c@d>", "@a:c@d", "a@b@c", "\"a\"@\"b\"",
		"a-b.c_d+e@x", "\"<a@b>\"@c", "a\"@\"b@c", "ALICE", "alice+tag",
		"\"\"@x", "a@b.c.", ".@x", "a@-.",
		"\"john\\\"smith\"@ext.test", "\"a\\\\\"+x@example.com",
		"\"a\\\"+x\"@example.com", "\"a\\\"\"+b\"@c",
		"\"a\\@b\"@c", "\"x\\ y\"@z", "owner-a+b@c", "a-b-request@c",
		"mailer-daemon", "double-bounce+x@c", "owner-@c",
	};
	static const char *const delims[] = { "+", "+-._", "\"", "" };
	char once[POL_ADDR_SIZE], twice[POL_ADDR_SIZE];
	size_t i, j;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		for (j = 0; j < sizeof(delims) / sizeof(delims[0]); j++) {
			if (pol_normalize(in[i], delims[j], once,
			    sizeof(once)) != POL_ADDR_OK)
				continue;
			T_INTEQ(pol_normalize(once, delims[j], twice,
			    sizeof(twice)), POL_ADDR_OK,
			    "\"%s\" (\"%s\") normalises again", t_vis(in[i]),
			    delims[j]);
			T_STREQ(twice, once, "\"%s\" (\"%s\") normalised "
			    "twice is normalised once", t_vis(in[i]),
			    delims[j]);
		}
}

/* A SASL login: an address is normalised as one (never cut); anything
 * else Cyrus SASL allows is an account name, lowercased and trimmed. */
static void
test_login_normalize(void)
{
	static const struct {
		const char *in, *want;
		pol_addr_status st;
	} cases[] = {
		{ " Alice+X@Example.COM. ", "alice+x@example.com", POL_ADDR_OK },
		{ "<Bob@Example.org>", "bob@example.org", POL_ADDR_OK },
		{ "Mary-Jane", "mary-jane", POL_ADDR_OK },
		{ "John Smith", "john smith", POL_ADDR_OK },
		{ "\tO\"Neil ", "o\"neil", POL_ADDR_OK },
		{ "a b@Example.com", "a b@example.com", POL_ADDR_OK },
		{ "<x y>", "<x y>", POL_ADDR_OK },
		{ "J\xc3\x96rg Smith", "j\xc3\x96rg smith", POL_ADDR_OK },
		{ "john\tsmith", "", POL_ADDR_MALFORMED },
		{ "john\r\nsmith", "", POL_ADDR_MALFORMED },
		{ "o\"neil\x7f", "", POL_ADDR_MALFORMED },
		{ "<>", "", POL_ADDR_NULL },
		{ "  ", "", POL_ADDR_NULL },
	};
	char out[POL_ADDR_SIZE], twice[POL_ADDR_SIZE], big[400];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		T_INTEQ(pol_login_normalize(cases[i].in, out, sizeof(out)),
		    cases[i].st, "login \"%s\" is %s", t_vis(cases[i].in),
		    pol_addr_status_str(cases[i].st));
		T_STREQ(out, cases[i].want, "login \"%s\" is \"%s\"",
		    t_vis(cases[i].in), cases[i].want);
		if (cases[i].st == POL_ADDR_OK)
			T_OK(pol_login_normalize(out, twice, sizeof(twice)) ==
			    POL_ADDR_OK && strcmp(twice, out) == 0,
			    "login \"%s\" normalised twice is normalised once",
			    t_vis(cases[i].in));
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = ' ';
	T_INTEQ(pol_login_normalize(big, out, sizeof(out)), POL_ADDR_TOO_LONG,
	    "a 399-byte login with a space is too long");
	big[POL_ADDR_MAX] = '\0';
	T_INTEQ(pol_login_normalize(big, out, sizeof(out)), POL_ADDR_OK,
	    "a %d-byte login with a space is taken", POL_ADDR_MAX);
}

static void
test_normalize_bounds(void)
{
	char big[10240], out[POL_ADDR_SIZE], small[8];
	size_t i;

	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a';
	big[sizeof(big) - 1] = '\0';
	big[100] = '@';
	T_INTEQ(pol_normalize(big, "+", out, sizeof(out)), POL_ADDR_TOO_LONG,
	    "a 10 kB address is too long");
	T_STREQ(out, "", "a too long address leaves an empty result");

	/* Exactly POL_ADDR_MAX characters still fit. */
	memset(big, 'b', POL_ADDR_MAX);
	big[POL_ADDR_MAX] = '\0';
	big[64] = '@';
	T_INTEQ(pol_normalize(big, "+", out, sizeof(out)), POL_ADDR_OK,
	    "an address of exactly %d characters is accepted", POL_ADDR_MAX);
	big[POL_ADDR_MAX] = 'b';
	big[POL_ADDR_MAX + 1] = '\0';
	T_INTEQ(pol_normalize(big, "+", out, sizeof(out)), POL_ADDR_TOO_LONG,
	    "an address of %d characters is too long", POL_ADDR_MAX + 1);
	T_INTEQ(pol_normalize("alice@example.com", "+", small, sizeof(small)),
	    POL_ADDR_TOO_LONG, "a short output buffer is detected, not overrun");
	T_INTEQ(pol_normalize(NULL, "+", out, sizeof(out)), POL_ADDR_NULL,
	    "NULL input is the null sender");
}

static void
test_default_exempt(void)
{
	static const struct {
		const char *id;
		bool exempt;
	} cases[] = {
		{ "", true },
		{ "mailer-daemon@example.com", true },
		{ "postmaster@example.org", true },
		{ "postmaster", true },
		{ "postmaster2@example.org", false },
		{ "alice@example.com", false },
		{ "mailer-daemon.x@example.com", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_INTEQ(pol_default_exempt(cases[i].id), cases[i].exempt,
		    "\"%s\" is %sexempt by default", cases[i].id,
		    cases[i].exempt ? "" : "not ");
}

static void
test_domains(void)
{
	char *pats[] = { "example.com", ".example.org" };
	static const struct {
		const char *domain;
		bool listed;
	} cases[] = {
		{ "example.com", true },
		{ "sub.example.com", false },
		{ "example.org", false },
		{ "a.example.org", true },
		{ "a.b.example.org", true },
		{ "badexample.org", false },
		{ "example.com.evil", false },
		{ "", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_INTEQ(pol_domain_listed(cases[i].domain, pats, 2),
		    cases[i].listed, "domain \"%s\" %s local", cases[i].domain,
		    cases[i].listed ? "is" : "is not");
}

/* Recipients: unqualified or local is internal, unless the local part
 * routes the message elsewhere as Postfix rewrites it. */
static void
test_rcpt_internal(void)
{
	char *pats[] = { "example.com", ".example.org" };
	static const struct {
		const char *rcpt;
		bool internal;
	} cases[] = {
		{ "bob@example.com", true },
		{ "bob@a.example.org", true },
		{ "bob", true },
		{ "bob@gmail.com", false },
		{ "gmail.com!victim", false },
		{ "victim%gmail.com@example.com", false },
		{ "a!b@example.com", false },
		{ "\"odd%name\"@example.com", false },
		{ "mail%room@gmail.com", false },
		{ "\"victim@gmail.com\"@example.com", false },
		{ "victim@gmail.com@example.com", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_INTEQ(pol_rcpt_internal(cases[i].rcpt, pats, 2),
		    cases[i].internal, "recipient \"%s\" %s internal",
		    cases[i].rcpt, cases[i].internal ? "is" : "is not");
}

static void
test_match(void)
{
	static const struct {
		const char *pat, *id;
		bool match;
	} cases[] = {
		{ "news@example.com", "news@example.com", true },
		{ "news@example.com", "news2@example.com", false },
		{ "@marketing.example.com", "bob@marketing.example.com", true },
		{ "@marketing.example.com", "bob@x.marketing.example.com", false },
		{ "@.example.com", "bob@x.example.com", true },
		{ "@.example.com", "bob@example.com", false },
		{ "@example.com", "example.com", false },
		{ "alice", "alice", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_INTEQ(pol_match(cases[i].pat, cases[i].id), cases[i].match,
		    "pattern \"%s\" %s \"%s\"", cases[i].pat,
		    cases[i].match ? "matches" : "does not match", cases[i].id);
}

static void
test_pattern_covers_what_an_earlier_rule_takes_first(void)
{
	static const struct {
		const char *q, *p;
		bool covers;
	} cases[] = {
		{ "alice@example.com", "alice@example.com", true },
		{ "alice@example.com", "bob@example.com", false },
		{ "@example.com", "alice@example.com", true },
		{ "@example.com", "alice@sub.example.com", false },
		{ "@.example.com", "alice@sub.example.com", true },
		{ "@.example.com", "alice@example.com", false },
		{ "@example.com", "@example.com", true },
		{ "@example.com", "@.example.com", false },
		{ "@.example.com", "@sub.example.com", true },
		{ "@.example.com", "@.sub.example.com", true },
		{ "@.example.com", "@.example.com", true },
		{ "@.example.com", "@example.com", false },
		{ "@.example.com", "@badexample.com", false },
		{ "@sub.example.com", "@.sub.example.com", false },
		{ "x@example.com", "@example.com", false },
		{ "alice", "alice", true },
		{ "@example.com", "alice", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_INTEQ(pol_pattern_covers(cases[i].q, cases[i].p),
		    cases[i].covers, "pattern \"%s\" %s \"%s\"", cases[i].q,
		    cases[i].covers ? "covers" : "does not cover", cases[i].p);
}

static void
test_resolve_order(void)
{
	char *m1[] = { "news@example.com", "@marketing.example.com" };
	char *m2[] = { "@example.com" };
	char *m3[] = { "noreply@example.com" };
	bool c1[] = { false, false }, c2[] = { false }, c3[] = { false };
	pol_rule rules[3] = {
		{ m1, c1, 2, { { 0, 0, 50000 } }, POL_ACT_ALERT, false, 10,
		    NULL },
		{ m2, c2, 1, { { 5, 6, 7 } }, POL_ACT_BLOCK, false, 20, NULL },
		/* Never reached for example.com: rule 2 wins first. */
		{ m3, c3, 1, { { 0, 0, 0 } }, POL_ACT_BLOCK, true, 30, NULL },
	};
	pol_set set = { .ps_limits = { { 500, 1000, 10000 } },
	    .ps_action = POL_ACT_BLOCK_UNTIL_TOMORROW,
	    .ps_rules = rules, .ps_nrules = 3 };
	pol_effective eff;

	pol_resolve(&set, "news@example.com", false, false, &eff);
	T_OK(eff.pe_rule == &rules[0] && eff.pe_action == POL_ACT_ALERT &&
	    eff.pe_limits.lim_value[POL_LIM_DAY] == 50000,
	    "the first matching rule wins (news@ gets rule 1, not @example.com)");
	pol_resolve(&set, "noreply@example.com", false, false, &eff);
	T_OK(eff.pe_rule == &rules[1] && !eff.pe_exempt,
	    "a later rule is not reached once an earlier one matched");
	pol_resolve(&set, "dave@example.net", false, false, &eff);
	T_OK(eff.pe_rule == NULL && eff.pe_action == POL_ACT_BLOCK_UNTIL_TOMORROW
	    && eff.pe_limits.lim_value[POL_LIM_EXT_HOUR] == 500,
	    "no match: the global limits and action apply");
	pol_resolve(&set, "postmaster@example.com", false, true, &eff);
	T_OK(eff.pe_exempt && eff.pe_rule == NULL,
	    "a default exemption wins before any rule is consulted");
	rules[1].pr_match = m3;
	pol_resolve(&set, "noreply@example.com", false, false, &eff);
	T_OK(eff.pe_rule == &rules[1], "a rule listing the exact address matches");
	rules[1].pr_match = m2;
	rules[0].pr_match = m3;
	rules[0].pr_cut = c3;
	rules[0].pr_exempt = true;
	pol_resolve(&set, "noreply@example.com", false, false, &eff);
	T_OK(eff.pe_exempt, "an exempt rule makes its senders exempt");
	/* an entry's cut form stands for envelope senders, not for a login */
	c3[0] = true;
	pol_resolve(&set, "noreply@example.com", true, false, &eff);
	T_OK(eff.pe_rule == &rules[1], "a login passes over an entry's cut "
	    "form to the next rule");
	pol_resolve(&set, "noreply@example.com", false, false, &eff);
	T_OK(eff.pe_rule == &rules[0], "which an envelope sender's identity "
	    "matches");
}

static void
test_nets(void)
{
	static const uint8_t lo[4] = { 127, 0, 0, 0 }, host[4] = { 10, 0, 0, 1 };
	pol_net nets[2], n;
	uint8_t a4[4], a6[16];

	T_OK(pol_net_make(POL_NET_IPV4, lo, 8, &nets[0]) &&
	    nets[0].pn_family == POL_NET_IPV4 && nets[0].pn_prefix == 8,
	    "127.0.0.0/8 is a network");
	T_OK(!pol_net_make(POL_NET_IPV4, host, 8, &n),
	    "10.0.0.1/8 is refused: host bits set beyond the prefix");
	T_OK(pol_net_make(POL_NET_IPV4, host, 32, &n), "10.0.0.1/32 is a host");
	T_OK(!pol_net_make(POL_NET_IPV4, lo, 33, &n), "an IPv4 prefix of 33 is refused");
	T_OK(pol_net_make(POL_NET_IPV4, lo, 0, &n) == false,
	    "127.0.0.0/0 is refused (host bits)");
	inet_pton(AF_INET6, "2001:db8::", a6);
	T_OK(pol_net_make(POL_NET_IPV6, a6, 32, &nets[1]), "2001:db8::/32 is a network");
	T_OK(!pol_net_make(POL_NET_IPV6, a6, 129, &n), "an IPv6 prefix of 129 is refused");
	inet_pton(AF_INET6, "2001:db8::1", a6);
	T_OK(!pol_net_make(POL_NET_IPV6, a6, 32, &n), "2001:db8::1/32 is refused");
	T_OK(!pol_net_make((pol_family)5, a6, 8, &n), "an unknown family is refused");

	inet_pton(AF_INET, "127.0.0.1", a4);
	T_OK(pol_net_contains(nets, 2, POL_NET_IPV4, a4), "127.0.0.1 is in 127/8");
	inet_pton(AF_INET, "128.0.0.1", a4);
	T_OK(!pol_net_contains(nets, 2, POL_NET_IPV4, a4), "128.0.0.1 is not");
	inet_pton(AF_INET6, "2001:db8:ffff::9", a6);
	T_OK(pol_net_contains(nets, 2, POL_NET_IPV6, a6), "2001:db8:ffff::9 is in 2001:db8::/32");
	inet_pton(AF_INET6, "2001:db9::9", a6);
	T_OK(!pol_net_contains(nets, 2, POL_NET_IPV6, a6), "2001:db9::9 is not");
	inet_pton(AF_INET6, "::ffff:127.0.0.5", a6);
	T_OK(pol_net_contains(nets, 2, POL_NET_IPV6, a6),
	    "an IPv4-mapped IPv6 client matches as IPv4");
	T_OK(!pol_net_contains(nets, 2, POL_NET_IPV4, NULL), "no address is never internal");
}

static void
test_windows(void)
{
	/* A message at the first second of a minute and one at its last
	 * second both count the bucket 60 minutes back. */
	T_INTEQ(pol_bucket(NOW), NOW / 60, "the bucket is the minute number");
	T_INTEQ(pol_window_start(NOW, POL_HOUR_BUCKETS), NOW / 60 - 60,
	    "the hour window counts 61 buckets: never less than the exact hour");
	T_INTEQ(pol_window_start(NOW, POL_DAY_BUCKETS), NOW / 60 - 1440,
	    "the day window counts 1441 buckets");
	T_INTEQ(pol_bucket(-1), -1, "buckets floor before the epoch");
	T_INTEQ(pol_sat_add(UINT32_MAX - 1, 5), UINT32_MAX, "counters saturate");
	T_INTEQ(pol_sat_add(3, 4), 7, "counters add");
}

static void
test_window_forgive(void)
{
	static const struct {
		const char *what;
		int64_t ended;		/* seconds before NOW */
		int64_t hour, day;	/* the starts wanted, buckets before NOW's */
	} cases[] = {
		{ "ended 5 minutes ago: both windows start at its end",
		    300, 5, 5 },
		{ "ended 2 hours ago: the hour is untouched, the day starts there",
		    7200, 60, 120 },
		{ "ended 2 days ago: nothing is forgiven twice", 172800, 60, 1440 },
	};
	int64_t h, d;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = pol_window_start(NOW, POL_HOUR_BUCKETS);
		d = pol_window_start(NOW, POL_DAY_BUCKETS);
		pol_window_forgive(NOW - cases[i].ended, &h, &d);
		T_INTEQ(NOW / 60 - h, cases[i].hour, "forgive, hour: %s",
		    cases[i].what);
		T_INTEQ(NOW / 60 - d, cases[i].day, "forgive, day: %s",
		    cases[i].what);
	}
}

static void
test_decide(void)
{
	static const struct {
		const char *what;
		pol_action action;
		pol_counts cur;
		uint32_t n_int, n_ext;
		pol_verdict want;
		pol_limit_id lim;
		uint32_t count;
	} cases[] = {
		{ "under every limit", POL_ACT_BLOCK, { 0, 0, 0, 0, 0 }, 1, 1,
		  POL_VERDICT_ACCEPT, 0, 0 },
		{ "reaching the external limit exactly is allowed", POL_ACT_BLOCK,
		  { 0, 498, 498, 0, 0 }, 0, 2, POL_VERDICT_ACCEPT, 0, 0 },
		{ "one over the external limit restricts", POL_ACT_BLOCK,
		  { 0, 499, 499, 0, 0 }, 0, 2, POL_VERDICT_RESTRICT, POL_LIM_EXT_HOUR, 501 },
		{ "internal recipients do not count against external", POL_ACT_BLOCK,
		  { 0, 500, 500, 0, 0 }, 10, 0, POL_VERDICT_ACCEPT, 0, 0 },
		{ "internal hour limit", POL_ACT_BLOCK_UNTIL_TOMORROW,
		  { 1000, 0, 1000, 0, 0 }, 1, 0, POL_VERDICT_RESTRICT, POL_LIM_INT_HOUR, 1001 },
		{ "day limit counts both kinds", POL_ACT_BLOCK, { 100, 100, 9990, 0, 0 },
		  6, 5, POL_VERDICT_RESTRICT, POL_LIM_DAY, 10001 },
		{ "the first limit in order is reported", POL_ACT_BLOCK,
		  { 1000, 500, 10000, 0, 0 }, 1, 1, POL_VERDICT_RESTRICT, POL_LIM_EXT_HOUR, 501 },
		{ "alert on the crossing message", POL_ACT_ALERT, { 0, 500, 500, 0, 0 },
		  0, 1, POL_VERDICT_ALERT, POL_LIM_EXT_HOUR, 501 },
		{ "no second alert beyond the limit", POL_ACT_ALERT,
		  { 0, 501, 501, 0, 0 }, 0, 1, POL_VERDICT_ACCEPT, 0, 0 },
		{ "a huge message alone crosses", POL_ACT_BLOCK, { 0, 0, 0, 0, 0 }, 0,
		  UINT32_MAX, POL_VERDICT_RESTRICT, POL_LIM_EXT_HOUR, UINT32_MAX },
		{ "an empty message crosses nothing", POL_ACT_BLOCK,
		  { 5000, 5000, 50000, 0, 0 }, 0, 0, POL_VERDICT_ACCEPT, 0, 0 },
	};
	pol_effective eff = { .pe_limits = { { 500, 1000, 10000 } } };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol_crossing cr = { 0, 0, 0 };
		pol_verdict v;

		eff.pe_action = cases[i].action;
		v = pol_decide(&eff, &cases[i].cur, cases[i].n_int,
		    cases[i].n_ext, false, &cr);
		T_INTEQ(v, cases[i].want, "decide: %s", cases[i].what);
		if (cases[i].want != POL_VERDICT_ACCEPT) {
			T_INTEQ(cr.pcr_limit, cases[i].lim, "decide: %s: which limit",
			    cases[i].what);
			T_INTEQ(cr.pcr_count, cases[i].count, "decide: %s: count",
			    cases[i].what);
		}
	}

	/* 0 = no limit; exempt = never. */
	{
		pol_effective off = { .pe_limits = { { 0, 0, 0 } },
		    .pe_action = POL_ACT_BLOCK };
		pol_counts big = { UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, 0 };
		pol_crossing cr;

		T_INTEQ(pol_decide(&off, &big, 10, 10, true, &cr), POL_VERDICT_ACCEPT,
		    "a limit of 0 is no limit");
		eff.pe_exempt = true;
		T_INTEQ(pol_decide(&eff, &big, 10, 10, true, &cr), POL_VERDICT_ACCEPT,
		    "an exempt sender is never restricted");
	}
}

/* Spam limits: the message that brings the count to the limit is the one
 * refused ("reached"), only spam messages add to them, and the recipient
 * limits come first. */
static void
test_decide_spam(void)
{
	static const struct {
		const char *what;
		pol_action action;
		uint32_t spam_hour, spam_day;	/* the limits */
		pol_counts cur;
		uint32_t n_ext;
		bool spam;
		pol_verdict want;
		pol_limit_id lim;
		uint32_t count;
	} cases[] = {
		{ "the first spam message under a day limit of 10",
		  POL_ACT_BLOCK, 0, 10, { 0, 0, 0, 0, 0 }, 1, true,
		  POL_VERDICT_ACCEPT, 0, 0 },
		{ "the ninth spam message of the day passes", POL_ACT_BLOCK, 0,
		  10, { 0, 0, 0, 8, 8 }, 1, true, POL_VERDICT_ACCEPT, 0, 0 },
		{ "the tenth spam message reaches 10: refused, restricted",
		  POL_ACT_BLOCK, 0, 10, { 0, 0, 0, 9, 9 }, 1, true,
		  POL_VERDICT_RESTRICT, POL_LIM_SPAM_DAY, 10 },
		{ "a clean message at 9 spam of 10 passes", POL_ACT_BLOCK, 0,
		  10, { 0, 0, 0, 9, 9 }, 1, false, POL_VERDICT_ACCEPT, 0, 0 },
		{ "a clean message far beyond the spam limit passes",
		  POL_ACT_BLOCK, 0, 10, { 0, 0, 0, 50, 50 }, 1, false,
		  POL_VERDICT_ACCEPT, 0, 0 },
		{ "a spam limit of 1: the first spam message restricts",
		  POL_ACT_BLOCK, 0, 1, { 0, 0, 0, 0, 0 }, 1, true,
		  POL_VERDICT_RESTRICT, POL_LIM_SPAM_DAY, 1 },
		{ "a spam limit of 0 is no limit", POL_ACT_BLOCK, 0, 0,
		  { 0, 0, 0, 1000, 1000 }, 1, true, POL_VERDICT_ACCEPT, 0, 0 },
		{ "the hour limit is checked before the day limit",
		  POL_ACT_BLOCK, 3, 3, { 0, 0, 0, 2, 2 }, 1, true,
		  POL_VERDICT_RESTRICT, POL_LIM_SPAM_HOUR, 3 },
		{ "the hour window alone", POL_ACT_BLOCK_UNTIL_TOMORROW, 3, 10,
		  { 0, 0, 0, 2, 7 }, 1, true, POL_VERDICT_RESTRICT,
		  POL_LIM_SPAM_HOUR, 3 },
		{ "a recipient limit is reported before a spam limit",
		  POL_ACT_BLOCK, 0, 10, { 0, 500, 500, 9, 9 }, 1, true,
		  POL_VERDICT_RESTRICT, POL_LIM_EXT_HOUR, 501 },
		{ "alert on the spam message that reaches the limit",
		  POL_ACT_ALERT, 0, 10, { 0, 0, 0, 9, 9 }, 1, true,
		  POL_VERDICT_ALERT, POL_LIM_SPAM_DAY, 10 },
		{ "no second alert at or beyond the spam limit", POL_ACT_ALERT,
		  0, 10, { 0, 0, 0, 10, 10 }, 1, true, POL_VERDICT_ACCEPT, 0,
		  0 },
		{ "a spam message without recipients still counts",
		  POL_ACT_BLOCK, 0, 2, { 0, 0, 0, 1, 1 }, 0, true,
		  POL_VERDICT_RESTRICT, POL_LIM_SPAM_DAY, 2 },
		{ "a saturated spam count cannot wrap under the limit",
		  POL_ACT_BLOCK, 0, 10, { 0, 0, 0, UINT32_MAX, UINT32_MAX }, 0,
		  true, POL_VERDICT_RESTRICT, POL_LIM_SPAM_DAY, UINT32_MAX },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol_effective eff = { .pe_limits = { { 500, 1000, 10000,
		    cases[i].spam_hour, cases[i].spam_day } },
		    .pe_action = cases[i].action };
		pol_crossing cr = { 0, 0, 0 };
		pol_verdict v;

		v = pol_decide(&eff, &cases[i].cur, 0, cases[i].n_ext,
		    cases[i].spam, &cr);
		T_INTEQ(v, cases[i].want, "spam: %s", cases[i].what);
		if (cases[i].want != POL_VERDICT_ACCEPT) {
			T_INTEQ(cr.pcr_limit, cases[i].lim, "spam: %s: which "
			    "limit", cases[i].what);
			T_INTEQ(cr.pcr_count, cases[i].count, "spam: %s: count",
			    cases[i].what);
		}
	}
}

/* Over a simulated day with every message spam and a day limit of 10,
 * counting as the milter does (a refused message counts nothing): exactly
 * 9 get through and the 10th is the first refused. */
static void
test_spam_day_limit_lets_limit_minus_one_through(void)
{
	pol_effective eff = { .pe_limits = { { 0, 0, 0, 0, 10 } },
	    .pe_action = POL_ACT_BLOCK };
	pol_counts c = { 0, 0, 0, 0, 0 };
	pol_crossing cr;
	int i, first_refused = 0, accepted = 0;

	for (i = 1; i <= 30; i++) {
		if (pol_decide(&eff, &c, 0, 1, true, &cr) != POL_VERDICT_ACCEPT) {
			if (first_refused == 0)
				first_refused = i;
			continue;
		}
		accepted++;
		c.pc_spam_day++;
	}
	T_INTEQ(accepted, 9, "spam_messages_per_day 10: 9 spam messages pass");
	T_INTEQ(first_refused, 10, "and the 10th is the one refused");
}

/* A hard cap over a simulated hour: send one recipient every 7 seconds,
 * counting with the real bucket arithmetic, and check that no exact
 * 3600-second window ever holds more accepted recipients than the limit. */
static void
test_hard_cap_sliding(void)
{
	enum { STEPS = 2000, LIMIT = 100 };
	static int64_t accepted_at[STEPS];
	static uint32_t bucket_count[STEPS * 7 / 60 + 2];
	pol_effective eff = { .pe_limits = { { LIMIT, 0, 0 } },
	    .pe_action = POL_ACT_BLOCK };
	int64_t t0 = NOW - NOW % 60 + 37, t;
	size_t nacc = 0, i, j, worst = 0;

	for (i = 0; i < STEPS; i++) {
		pol_counts c = { 0, 0, 0, 0, 0 };
		pol_crossing cr;
		int64_t from, b;

		t = t0 + (int64_t)i * 7;
		from = pol_window_start(t, POL_HOUR_BUCKETS);
		for (b = from; b <= pol_bucket(t); b++)
			if (b >= pol_bucket(t0))
				c.pc_ext_hour += bucket_count[b - pol_bucket(t0)];
		if (pol_decide(&eff, &c, 0, 1, false, &cr) != POL_VERDICT_ACCEPT)
			continue;
		bucket_count[pol_bucket(t) - pol_bucket(t0)]++;
		accepted_at[nacc++] = t;
	}
	for (i = 0; i < nacc; i++) {
		size_t n = 0;

		for (j = i; j < nacc && accepted_at[j] < accepted_at[i] + 3600; j++)
			n++;
		if (n > worst)
			worst = n;
	}
	T_OK(worst <= LIMIT && worst >= LIMIT - 2 && nacc > 3 * LIMIT,
	    "sliding hour: at most %d accepted in any exact hour (worst %zu), "
	    "and the window slides (%zu accepted over %d hours)", LIMIT, worst,
	    nacc, STEPS * 7 / 3600);
}

static void
test_expiry(void)
{
	int64_t exp = 0;

	T_OK(pol_expiry(POL_ACT_BLOCK_UNTIL_TOMORROW, NOW, &exp) &&
	    exp == MIDNIGHT_AFTER_NOW,
	    "block_until_tomorrow expires at the next 00:00 UTC");
	T_OK(pol_expiry(POL_ACT_BLOCK_UNTIL_TOMORROW, MIDNIGHT_AFTER_NOW, &exp)
	    && exp == MIDNIGHT_AFTER_NOW + 86400,
	    "restricted exactly at midnight: until the next midnight");
	T_OK(pol_expiry(POL_ACT_BLOCK_UNTIL_TOMORROW, MIDNIGHT_AFTER_NOW - 1,
	    &exp) && exp == MIDNIGHT_AFTER_NOW,
	    "restricted at 23:59:59: one second later");
	T_OK(!pol_expiry(POL_ACT_BLOCK, NOW, &exp), "block lasts until cleared");
}

static void
test_reason(void)
{
	pol_crossing cr = { POL_LIM_EXT_HOUR, 500, 501 };
	char small[16], buf[128];

	pol_reason(&cr, buf, sizeof(buf));
	T_STREQ(buf, "external_recipients_per_hour 500 exceeded: 501 recipients",
	    "the reason names the limit, its value and the count");
	pol_reason(&cr, small, sizeof(small));
	T_INTEQ(strlen(small), sizeof(small) - 1, "a reason is truncated safely");
	cr = (pol_crossing){ POL_LIM_SPAM_DAY, 10, 10 };
	pol_reason(&cr, buf, sizeof(buf));
	T_STREQ(buf, "spam_messages_per_day 10 reached: 10 spam messages",
	    "a spam reason says spam and that the limit was reached");
	cr = (pol_crossing){ POL_LIM_SPAM_HOUR, 3, 3 };
	pol_reason(&cr, buf, sizeof(buf));
	T_STREQ(buf, "spam_messages_per_hour 3 reached: 3 spam messages",
	    "the hourly spam reason");
	cr = (pol_crossing){ POL_LIM_SPAM_DAY, 1, 1 };
	pol_reason(&cr, buf, sizeof(buf));
	T_STREQ(buf, "spam_messages_per_day 1 reached: 1 spam message",
	    "one spam message is singular");
	T_STREQ(pol_limit_name(POL_LIM_SPAM_HOUR), "spam_messages_per_hour",
	    "the hourly spam limit's name");
	T_STREQ(pol_limit_name(POL_LIM_SPAM_DAY), "spam_messages_per_day",
	    "the daily spam limit's name");
}

int
main(void)
{
	test_normalize();
	test_normalize_is_idempotent();
	test_login_normalize();
	test_normalize_bounds();
	test_default_exempt();
	test_domains();
	test_rcpt_internal();
	test_match();
	test_pattern_covers_what_an_earlier_rule_takes_first();
	test_resolve_order();
	test_nets();
	test_windows();
	test_window_forgive();
	test_decide();
	test_decide_spam();
	test_spam_day_limit_lets_limit_minus_one_through();
	test_hard_cap_sliding();
	test_expiry();
	test_reason();
	return t_done();
}
