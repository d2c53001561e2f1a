/*
 * conf_policy_test.c - unit tests of the policies as conf/ loads them:
 * resolved through the loaded set, and the entries with a subaddress kept
 * whole (for a login) and cut (for envelope senders only).
 *
 * Fixtures live in tests/conf/: run from the top of the source tree, or
 * pass its path as the first argument.  Single-threaded; every conf_t is
 * freed.
 */
#include <stdio.h>

#include "conf_fixture.h"

static void
test_policies_resolve_through_the_loaded_set(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "good.conf", err, sizeof(err));
	pol_effective eff;

	if (c == NULL)
		return;
	pol_resolve(conf_policy(c), "jo@a.sub.example.net", 0, 0, &eff);
	T_OK(eff.pe_rule == &conf_policy(c)->ps_rules[2],
	    "a subdomain sender matches the @.domain rule");
	pol_resolve(conf_policy(c), "bob@marketing.example.com", 0, 0, &eff);
	T_OK(eff.pe_rule == &conf_policy(c)->ps_rules[0] &&
	    eff.pe_action == POL_ACT_ALERT, "@domain rule applies, alert");
	T_OK(pol_domain_listed("x.example.org",
	    conf_policy(c)->ps_local_domains,
	    conf_policy(c)->ps_nlocal_domains),
	    "a subdomain of .example.org is local");
	conf_free(c);
}

static void
test_policy_patterns_are_normalised_like_identities(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "subaddress_match.conf", err, sizeof(err));
	const pol_rule *r;
	pol_effective eff;

	if (!T_OK(c != NULL, "subaddress_match.conf loads"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	r = &conf_policy(c)->ps_rules[0];
	T_INTEQ(r->pr_nmatch, 4, "two entries with a subaddress: four patterns");
	T_STREQ(r->pr_match[0], "alice+news@example.com",
	    "a pattern is kept whole, lowercased (as a login is matched)");
	T_STREQ(r->pr_match[1], "alice@example.com",
	    "and cut at recipient_delimiter (as an envelope sender is)");
	T_STREQ(r->pr_match[2], "bob-list@example.com", "every delimiter "
	    "character cuts: bob-list@ whole");
	T_STREQ(r->pr_match[3], "bob@example.com", "and bob-list@ cut at \"-\"");
	T_OK(!r->pr_cut[0] && r->pr_cut[1] && !r->pr_cut[2] && r->pr_cut[3],
	    "the cut forms are marked as such");
	pol_resolve(conf_policy(c), "alice@example.com", false, false, &eff);
	T_OK(eff.pe_exempt, "the rule matches an envelope sender's identity");
	pol_resolve(conf_policy(c), "bob-list@example.com", true, 0, &eff);
	T_OK(eff.pe_exempt, "and the login bob-list@example.com, taken whole");
	pol_resolve(conf_policy(c), "bob-other@example.com", true, 0, &eff);
	T_OK(!eff.pe_exempt, "but not another login that shares the cut form");
	pol_resolve(conf_policy(c), "bob@example.com", true, false, &eff);
	T_OK(!eff.pe_exempt, "nor the login bob@ (the cut form is for "
	    "envelope senders: bob@ is another account)");
	T_INTEQ(conf_policy(c)->ps_rules[1].pr_nmatch, 1,
	    "an entry without a subaddress is one pattern");
	conf_free(c);
}

int
main(int argc, char **argv)
{
	if (!fx_enter(argc, argv))
		return 2;
	test_policies_resolve_through_the_loaded_set();
	test_policy_patterns_are_normalised_like_identities();
	return t_done();
}
