/*
 * pol_match.c - which policy applies to a sender, and which domains are
 * local.
 *
 * Patterns were lowercased when the configuration was loaded and
 * identities by pol_normalize(), so every comparison here is a plain byte
 * comparison.  Pure functions over a read-only pol_set; reentrant.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* ends_with_sub - is s a proper subdomain of the domain in dot_suffix
 * (".example.org")?  "a.example.org" yes; "example.org" and
 * "badexample.org" no. */
static bool
ends_with_sub(const char *s, const char *dot_suffix)
{
	size_t ls = strlen(s), lx = strlen(dot_suffix);

	return ls > lx && strcmp(s + ls - lx, dot_suffix) == 0;
}

bool
pol_domain_listed(const char *domain, char *const *patterns, size_t npatterns)
{
	size_t i;

	if (domain == NULL || *domain == '\0')
		return false;
	for (i = 0; i < npatterns; i++) {
		const char *p = patterns[i];

		if (p[0] == '.' ? ends_with_sub(domain, p) : strcmp(domain, p) == 0)
			return true;
	}
	return false;
}

bool
pol_rcpt_internal(const char *rcpt, char *const *local_domains,
    size_t nlocal_domains)
{
	const char *at = strrchr(rcpt, '@'), *end;

	/* an "@" in the local part ("user@host"@local, quoted or not) is
	 * another route: Postfix resolves the dequoted address */
	if (at != NULL && strchr(rcpt, '@') != at)
		return false;
	end = at != NULL ? at : rcpt + strlen(rcpt);
	for (; rcpt < end; rcpt++)
		if (*rcpt == '!' || *rcpt == '%')
			return false;
	return at == NULL ||
	    pol_domain_listed(at + 1, local_domains, nlocal_domains);
}

bool
pol_match(const char *pattern, const char *identity)
{
	const char *domain;

	if (pattern[0] != '@')
		return strcmp(pattern, identity) == 0;
	if (strchr(identity, '@') == NULL)
		return false;
	domain = pol_domain_of(identity);
	if (pattern[1] == '.')
		return ends_with_sub(domain, pattern + 1);
	return strcmp(domain, pattern + 1) == 0;
}

bool
pol_pattern_covers(const char *q, const char *p)
{
	char rep[POL_ADDR_SIZE];

	if (p[0] != '@')
		return pol_match(q, p);
	/* a domain pattern: an exact q names one identity, never a domain */
	if (q[0] != '@')
		return false;
	/* q decides by the domain alone: try one identity p matches; "_"
	 * is no label of a pattern, so "_.d" is a subdomain no q names */
	snprintf(rep, sizeof(rep), "x@%s%s", p[1] == '.' ? "_" : "",
	    p + 1);
	return pol_match(q, rep);
}

void
pol_resolve(const pol_set *set, const char *identity, bool login,
    bool default_exempt, pol_effective *out)
{
	size_t i, j;

	out->pe_limits = set->ps_limits;
	out->pe_action = set->ps_action;
	out->pe_exempt = default_exempt;
	out->pe_rule = NULL;
	if (out->pe_exempt)
		return;
	for (i = 0; i < set->ps_nrules; i++) {
		const pol_rule *r = &set->ps_rules[i];

		for (j = 0; j < r->pr_nmatch; j++) {
			if (login && r->pr_cut[j])
				continue;
			if (pol_match(r->pr_match[j], identity)) {
				out->pe_limits = r->pr_limits;
				out->pe_action = r->pr_action;
				out->pe_exempt = r->pr_exempt;
				out->pe_rule = r;
				return;
			}
		}
	}
}
