/*
 * conf_test.c - unit tests of conf/: the shipped sample, the defaults, a
 * fixture with every key, and a table of bad fixtures with the exact error
 * each must give ("file:line: key: message").  The daemon's own keys
 * (user, group, pidfile, alerts.*) are in conf_daemon_test.c, the texts of
 * internal_networks in conf_net_test.c, the policies as loaded in
 * conf_policy_test.c.
 *
 * Fixtures live in tests/conf/ and are named relative to the source tree:
 * run from the top of it, or pass its path as the first argument.
 * Single-threaded; every conf_t is freed (the test runs clean under
 * valgrind --leak-check=full).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <syslog.h>

#include "conf_fixture.h"

static const char *const default_text[] = {
	"Your message couldn't be delivered because you weren't recognized "
	"as a valid sender. The most common reason for this is that your "
	"email address is suspected of sending spam and it's no longer "
	"allowed to send email. Contact your email admin for assistance.",
	"Access denied, bad outbound sender"
};

/* same_conf - do a and b hold the same values (the path aside)? */
static bool
same_conf(const conf_t *a, const conf_t *b)
{
	const pol_set *pa = conf_policy(a), *pb = conf_policy(b);
	const conf_reply *ra = conf_reply_get(a), *rb = conf_reply_get(b);
	size_t i;

	if (strcmp(conf_socket(a), conf_socket(b)) != 0 ||
	    strcmp(conf_database(a), conf_database(b)) != 0 ||
	    conf_busy_timeout_ms(a) != conf_busy_timeout_ms(b) ||
	    conf_unblock_max_per_30_days(a) !=
	    conf_unblock_max_per_30_days(b) ||
	    conf_on_store_error(a) != conf_on_store_error(b) ||
	    conf_refuse_restricted_at(a) != conf_refuse_restricted_at(b) ||
	    conf_log_facility(a) != conf_log_facility(b) ||
	    strcmp(conf_log_facility_name(a), conf_log_facility_name(b)) != 0)
		return false;
	if (conf_spam_rules(a)->pss_nrules != conf_spam_rules(b)->pss_nrules ||
	    (conf_spam_spamd(a) == NULL) != (conf_spam_spamd(b) == NULL) ||
	    conf_spam_timeout_ms(a) != conf_spam_timeout_ms(b) ||
	    conf_spam_max_size(a) != conf_spam_max_size(b) ||
	    conf_spam_on_message(a) != conf_spam_on_message(b))
		return false;
	if (strcmp(ra->cr_code, rb->cr_code) != 0 ||
	    strcmp(ra->cr_xcode, rb->cr_xcode) != 0 ||
	    ra->cr_nlines != rb->cr_nlines)
		return false;
	for (i = 0; i < ra->cr_nlines; i++)
		if (strcmp(ra->cr_lines[i], rb->cr_lines[i]) != 0)
			return false;
	if (memcmp(&pa->ps_limits, &pb->ps_limits, sizeof(pa->ps_limits)) ||
	    pa->ps_action != pb->ps_action ||
	    strcmp(pa->ps_delimiters, pb->ps_delimiters) != 0 ||
	    pa->ps_nlocal_domains != pb->ps_nlocal_domains ||
	    pa->ps_nnetworks != pb->ps_nnetworks ||
	    pa->ps_nrules != pb->ps_nrules)
		return false;
	for (i = 0; i < pa->ps_nlocal_domains; i++)
		if (strcmp(pa->ps_local_domains[i], pb->ps_local_domains[i]))
			return false;
	for (i = 0; i < pa->ps_nnetworks; i++)
		if (memcmp(&pa->ps_networks[i], &pb->ps_networks[i],
		    sizeof(pol_net)) != 0)
			return false;
	return true;
}

static void
test_defaults_are_the_documented_values(void)
{
	char err[512] = "";
	conf_t *c = conf_defaults(err, sizeof(err));
	const pol_set *ps;
	const conf_reply *r;

	if (!T_OK(c != NULL, "conf_defaults succeeds"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	ps = conf_policy(c);
	r = conf_reply_get(c);
	T_STREQ(conf_path(c), "(defaults)", "defaults: path is (defaults)");
	T_STREQ(conf_socket(c),
	    "unix:/var/spool/postfix/sendguard/sendguard.sock",
	    "defaults: socket");
	T_STREQ(conf_database(c), "/var/lib/sendguard/sendguard.db",
	    "defaults: database");
	T_INTEQ(conf_busy_timeout_ms(c), 5000, "defaults: busy_timeout_ms");
	T_INTEQ(conf_unblock_max_per_30_days(c), 3,
	    "defaults: unblock.max_per_30_days");
	T_INTEQ(ps->ps_nlocal_domains, 0, "defaults: no local_domains");
	T_INTEQ(ps->ps_nnetworks, 2, "defaults: two internal_networks");
	T_INTEQ(ps->ps_networks[0].pn_family, POL_NET_IPV4,
	    "defaults: 127.0.0.0/8 is IPv4");
	T_INTEQ(ps->ps_networks[0].pn_prefix, 8, "defaults: 127.0.0.0/8");
	T_INTEQ(ps->ps_networks[0].pn_addr[0], 127, "defaults: 127.0.0.0/8 "
	    "address");
	T_INTEQ(ps->ps_networks[1].pn_family, POL_NET_IPV6,
	    "defaults: ::1/128 is IPv6");
	T_INTEQ(ps->ps_networks[1].pn_prefix, 128, "defaults: ::1/128");
	T_INTEQ(ps->ps_networks[1].pn_addr[15], 1, "defaults: ::1 address");
	T_STREQ(ps->ps_delimiters, "+", "defaults: recipient_delimiter");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_EXT_HOUR], 500,
	    "defaults: external_recipients_per_hour");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_INT_HOUR], 1000,
	    "defaults: internal_recipients_per_hour");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_DAY], 10000,
	    "defaults: recipients_per_day");
	T_INTEQ(ps->ps_action, POL_ACT_BLOCK_UNTIL_TOMORROW,
	    "defaults: action");
	T_INTEQ(ps->ps_nrules, 0, "defaults: no policies");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_SPAM_HOUR], 0,
	    "defaults: spam_messages_per_hour 0 (off)");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_SPAM_DAY], 10,
	    "defaults: spam_messages_per_day 10");
	T_INTEQ(conf_spam_rules(c)->pss_nrules, 0, "defaults: no spam.headers");
	T_OK(conf_spam_spamd(c) == NULL, "defaults: no spamd");
	T_OK(!conf_spam_enabled(c), "defaults: spam checking is off");
	T_INTEQ(conf_spam_timeout_ms(c), 2000, "defaults: spam.timeout_ms");
	T_INTEQ(conf_spam_max_size(c), 524288, "defaults: spam.max_size");
	T_INTEQ(conf_spam_on_message(c), CONF_SPAM_ACCEPT,
	    "defaults: spam.on_message accept");
	T_STREQ(r->cr_code, "550", "defaults: reply.code");
	T_STREQ(r->cr_xcode, "5.1.8", "defaults: reply.xcode");
	T_INTEQ(r->cr_nlines, 2, "defaults: reply.text has two lines");
	if (r->cr_nlines == 2) {
		T_STREQ(r->cr_lines[0], default_text[0],
		    "defaults: reply.text[1]");
		T_STREQ(r->cr_lines[1], default_text[1],
		    "defaults: reply.text[2]");
	}
	T_INTEQ(conf_on_store_error(c), CONF_STORE_ERROR_TEMPFAIL,
	    "defaults: on_store_error");
	T_INTEQ(conf_refuse_restricted_at(c), CONF_REFUSE_AT_DATA,
	    "defaults: refuse_restricted_at = data");
	T_INTEQ(conf_log_facility(c), LOG_MAIL, "defaults: log_facility");
	T_STREQ(conf_log_facility_name(c), "mail",
	    "defaults: log_facility name");
	conf_free(c);
}

static void
test_sample_config_loads_and_equals_defaults(void)
{
	char err[512] = "";
	conf_t *c = conf_load("conf/sendguard.conf", err, sizeof(err));
	conf_t *d = conf_defaults(err, sizeof(err));

	if (!T_OK(c != NULL, "conf/sendguard.conf loads"))
		printf("#   %s\n", t_vis(err));
	if (c != NULL && d != NULL) {
		T_OK(same_conf(c, d), "conf/sendguard.conf holds the defaults");
		T_STREQ(conf_path(c), "conf/sendguard.conf",
		    "conf_path is the file loaded");
		T_OK(conf_restart_needed(d, c) == NULL,
		    "sample vs defaults: no restart needed");
	}
	conf_free(c);
	conf_free(d);
}

static void
test_empty_file_equals_defaults(void)
{
	static const char *const text[] = { "", "policies = ();",
	    "policies = [];local_domains = [];" };
	char path[] = "/tmp/sendguard-conf-test-XXXXXX", err[512] = "";
	int fd = mkstemp(path);
	conf_t *c, *d = conf_defaults(err, sizeof(err));
	size_t i, n;

	for (i = 0; fd >= 0 && i < sizeof(text) / sizeof(text[0]); i++) {
		n = strlen(text[i]);
		c = ftruncate(fd, 0) == 0 && pwrite(fd, text[i], n, 0) ==
		    (ssize_t)n ? conf_load(path, err, sizeof(err)) : NULL;
		T_OK(c != NULL && d != NULL && same_conf(c, d),
		    "\"%s\" gives the defaults %s", text[i], t_vis(err));
		conf_free(c);
	}
	T_OK(fd >= 0 && close(fd) == 0 && unlink(path) == 0, "temporary file");
	conf_free(d);
}

static void
test_full_fixture_sets_every_key(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "good.conf", err, sizeof(err));
	const pol_set *ps;
	const pol_rule *r;
	const conf_reply *rep;

	if (!T_OK(c != NULL, "good.conf loads"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	ps = conf_policy(c);
	rep = conf_reply_get(c);
	T_STREQ(conf_socket(c), "inet6:8891@::1", "good: socket");
	T_STREQ(conf_database(c), "/tmp/sendguard-test.db", "good: database");
	T_INTEQ(conf_busy_timeout_ms(c), 250, "good: busy_timeout_ms");
	T_INTEQ(conf_unblock_max_per_30_days(c), 0,
	    "good: unblock.max_per_30_days 0 (no cap)");
	T_INTEQ(ps->ps_nlocal_domains, 2, "good: two local_domains");
	T_STREQ(ps->ps_local_domains[0], "example.com",
	    "good: local_domains are lowercased");
	T_STREQ(ps->ps_local_domains[1], ".example.org",
	    "good: a subdomain pattern keeps its dot");
	T_INTEQ(ps->ps_nnetworks, 4, "good: four internal_networks");
	T_INTEQ(ps->ps_networks[1].pn_prefix, 32,
	    "good: a bare IPv4 address is a /32");
	T_INTEQ(ps->ps_networks[2].pn_family, POL_NET_IPV6,
	    "good: 2001:DB8::/32 is IPv6");
	T_INTEQ(ps->ps_networks[2].pn_prefix, 32, "good: 2001:DB8::/32 prefix");
	T_INTEQ(ps->ps_networks[2].pn_addr[1], 0x01, "good: 2001:DB8:: bytes");
	T_INTEQ(ps->ps_networks[2].pn_addr[3], 0xb8, "good: 2001:DB8:: bytes");
	T_STREQ(ps->ps_delimiters, "+-", "good: recipient_delimiter");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_EXT_HOUR], 20,
	    "good: external_recipients_per_hour");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_INT_HOUR], 30,
	    "good: internal_recipients_per_hour");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_DAY], 100,
	    "good: recipients_per_day");
	T_INTEQ(ps->ps_action, POL_ACT_BLOCK, "good: action");
	T_STREQ(rep->cr_code, "451", "good: reply.code");
	T_STREQ(rep->cr_xcode, "4.7.1", "good: reply.xcode");
	T_INTEQ(rep->cr_nlines, 2, "good: two reply lines");
	T_STREQ(rep->cr_lines[1], "100% sure",
	    "good: '%%' is stored as written");
	T_INTEQ(conf_on_store_error(c), CONF_STORE_ERROR_ACCEPT,
	    "good: on_store_error");
	T_INTEQ(conf_refuse_restricted_at(c), CONF_REFUSE_AT_MAIL,
	    "good: refuse_restricted_at = mail_from");
	T_INTEQ(conf_log_facility(c), LOG_LOCAL3, "good: log_facility");
	T_STREQ(conf_log_facility_name(c), "local3",
	    "good: log_facility name");

	T_INTEQ(ps->ps_nrules, 3, "good: three policies");
	if (ps->ps_nrules != 3) {
		conf_free(c);
		return;
	}
	r = &ps->ps_rules[0];
	T_INTEQ(r->pr_line, 3, "rule 1: pr_line is its line");
	T_INTEQ(r->pr_nmatch, 2, "rule 1: two patterns");
	T_STREQ(r->pr_match[0], "news@example.com",
	    "rule 1: an address pattern is lowercased");
	T_STREQ(r->pr_match[1], "@marketing.example.com",
	    "rule 1: a domain pattern is lowercased");
	T_INTEQ(r->pr_limits.lim_value[POL_LIM_DAY], 50000,
	    "rule 1: its own recipients_per_day");
	T_INTEQ(r->pr_limits.lim_value[POL_LIM_EXT_HOUR], 20,
	    "rule 1: inherits the global limit set after it in the file");
	T_INTEQ(r->pr_limits.lim_value[POL_LIM_INT_HOUR], 30,
	    "rule 1: inherits internal_recipients_per_hour");
	T_INTEQ(r->pr_action, POL_ACT_ALERT, "rule 1: its own action");
	T_OK(!r->pr_exempt, "rule 1: not exempt");

	r = &ps->ps_rules[1];
	T_STREQ(r->pr_match[1], "alice", "rule 2: a bare login, lowercased");
	T_OK(r->pr_exempt, "rule 2: exempt");
	T_INTEQ(r->pr_action, POL_ACT_BLOCK,
	    "rule 2: inherits the global action set after it in the file");
	T_OK(memcmp(&r->pr_limits, &ps->ps_limits, sizeof(pol_limits)) == 0,
	    "rule 2: inherits every global limit");

	r = &ps->ps_rules[2];
	T_STREQ(r->pr_match[0], "@.sub.example.net",
	    "rule 3: a subdomain pattern, lowercased");
	T_INTEQ(r->pr_limits.lim_value[POL_LIM_EXT_HOUR], 0,
	    "rule 3: 0 (no limit) overrides the global limit");
	T_INTEQ(r->pr_limits.lim_value[POL_LIM_INT_HOUR], 7,
	    "rule 3: its own internal_recipients_per_hour");
	T_INTEQ(r->pr_limits.lim_value[POL_LIM_DAY], 100,
	    "rule 3: inherits recipients_per_day");
	conf_free(c);
}

static void
test_spam_fixture_sets_every_spam_key(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "spam.conf", err, sizeof(err));
	const pol_spam_set *ss;
	const conf_spamd *sd;
	const pol_set *ps;
	pol_effective eff;

	if (!T_OK(c != NULL, "spam.conf loads"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	ss = conf_spam_rules(c);
	ps = conf_policy(c);
	T_OK(conf_spam_enabled(c), "spam: checking is on");
	T_INTEQ(ss->pss_nrules, 5, "spam: five rules");
	if (ss->pss_nrules == 5) {
		T_INTEQ(ss->pss_rules[0].psr_kind, POL_SR_RSPAMD,
		    "spam: rule 1 is the rspamd preset");
		T_INTEQ(ss->pss_rules[1].psr_kind, POL_SR_REGEX,
		    "spam: rule 2 is a regex rule");
		T_STREQ(ss->pss_rules[1].psr_header, "X-Acme-Verdict",
		    "spam: on its header");
		T_INTEQ(ss->pss_rules[1].psr_line, 5, "spam: rule 2's line");
		T_INTEQ(ss->pss_rules[2].psr_kind, POL_SR_SPAMASSASSIN,
		    "spam: rule 3 is the SpamAssassin preset");
		T_INTEQ(ss->pss_rules[3].psr_kind, POL_SR_SCORE,
		    "spam: rule 4 is a score rule");
		T_OK(ss->pss_rules[3].psr_threshold == 6.5,
		    "spam: with a float threshold");
		T_OK(ss->pss_rules[4].psr_threshold == 4.0,
		    "spam: an integer threshold is a number too");
	}
	T_INTEQ(ss->pss_nheaders, 8, "spam: eight distinct headers read");
	sd = conf_spam_spamd(c);
	T_OK(sd != NULL && !sd->cs_unix && sd->cs_family == POL_NET_IPV4 &&
	    sd->cs_port == 7830 && sd->cs_addr[0] == 127 && sd->cs_addr[3] == 1,
	    "spam: spamd inet:7830@127.0.0.1 is parsed");
	T_INTEQ(conf_spam_timeout_ms(c), 1500, "spam: timeout_ms");
	T_INTEQ(conf_spam_max_size(c), 100000, "spam: max_size");
	T_INTEQ(conf_spam_on_message(c), CONF_SPAM_HOLD, "spam: on_message");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_SPAM_HOUR], 3,
	    "spam: spam_messages_per_hour");
	T_INTEQ(ps->ps_limits.lim_value[POL_LIM_SPAM_DAY], 20,
	    "spam: spam_messages_per_day");
	pol_resolve(ps, "bulk@example.com", false, false, &eff);
	T_OK(eff.pe_limits.lim_value[POL_LIM_SPAM_DAY] == 0 &&
	    eff.pe_limits.lim_value[POL_LIM_SPAM_HOUR] == 3,
	    "spam: a policy turns the day limit off and inherits the hour's");
	pol_resolve(ps, "x@example.org", false, false, &eff);
	T_OK(eff.pe_limits.lim_value[POL_LIM_SPAM_HOUR] == 1 &&
	    eff.pe_limits.lim_value[POL_LIM_SPAM_DAY] == 20,
	    "spam: a policy's own hour limit, the global day limit");
	conf_free(c);

	c = conf_load(FIX "spam_unix.conf", err, sizeof(err));
	if (!T_OK(c != NULL, "spam_unix.conf loads"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	sd = conf_spam_spamd(c);
	T_OK(sd != NULL && sd->cs_unix &&
	    strcmp(sd->cs_path, "/run/spamd.sock") == 0,
	    "spam: spamd unix:/run/spamd.sock");
	T_OK(conf_spam_enabled(c), "spam: spamd alone turns checking on");
	T_INTEQ(conf_spam_on_message(c), CONF_SPAM_REJECT,
	    "spam: on_message reject");
	conf_free(c);
}

static void
test_xcode_default_follows_reply_code_class(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "reply_code_only.conf", err, sizeof(err));

	if (!T_OK(c != NULL, "reply.code alone loads"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	T_STREQ(conf_reply_get(c)->cr_code, "421", "reply.code 421");
	T_STREQ(conf_reply_get(c)->cr_xcode, "4.1.8",
	    "the default xcode takes the code's class");
	conf_free(c);
}

static void
test_include_is_relative_to_the_main_file(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "include.conf", err, sizeof(err));

	if (!T_OK(c != NULL, "@include relative to the main file's directory"))
		printf("#   %s\n", t_vis(err));
	if (c == NULL)
		return;
	T_INTEQ(conf_busy_timeout_ms(c), 42, "the included value is read");
	T_OK(conf_policy(c)->ps_nrules == 1 && strstr(conf_rule_file(c,
	    conf_policy(c)->ps_rules), "/include_part.inc") != NULL,
	    "an included policy is said to be in its own file");
	conf_free(c);
}

/* libconfig 1.5 resolves every @include, nested ones too, against one
 * directory (conf_load: the main file's): it has no per-file hook. */
static void
test_nested_include_is_relative_to_the_main_file(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "include_nested.conf", err, sizeof(err));

	if (!T_OK(c != NULL, "a nested @include is relative to the main "
	    "file's directory"))
		printf("#   %s\n", t_vis(err));
	if (c != NULL)
		T_INTEQ(conf_busy_timeout_ms(c), 43,
		    "the value of the nested include is read");
	conf_free(c);
	c = conf_load(BAD "include_nested_relative.conf", err, sizeof(err));
	T_OK(c == NULL, "a nested @include relative to its own file is not "
	    "found");
	T_STREQ(err, "include_sub/outer.inc:2: cannot open include file",
	    "the error names the including file and line (libconfig 1.5 "
	    "does not give the included name)");
	conf_free(c);
}

/* libconfig 1.5 wraps an integer literal without L to 32 bits */
static void
test_int_past_32_bits_is_refused_in_an_included_file(void)
{
	char err[512] = "";
	conf_t *c = conf_load(BAD "int_wraps_in_include.conf", err,
	    sizeof(err));

	T_OK(c == NULL, "an included value past 32 bits is refused");
	T_STREQ(err, "int_wraps_part.inc:2: alerts.timeout_ms: 4294967396 "
	    "is out of range (100..600000)",
	    "the error names the included file as libconfig gives it");
	conf_free(c);
}

static void
test_restart_needed_names_socket_and_database(void)
{
	char err[512] = "";
	conf_t *d = conf_defaults(err, sizeof(err));
	conf_t *g = conf_load(FIX "good.conf", err, sizeof(err));
	conf_t *i = conf_load(FIX "include.conf", err, sizeof(err));

	if (d != NULL && g != NULL && i != NULL) {
		T_STREQ(conf_restart_needed(d, g), "socket",
		    "a new socket needs a restart");
		T_OK(conf_restart_needed(d, i) == NULL,
		    "other changes reload");
	}
	conf_free(d);
	conf_free(g);
	conf_free(i);
}

static void
test_socket_specs(void)
{
	static const struct {
		const char     *spec;
		bool		ok;
	} cases[] = {
		{ "unix:/var/run/s.sock", true },
		{ "local:/var/run/s.sock", true },
		{ "unix:relative.sock", false },
		{ "local:var/s.sock", false },
		{ "inet:8891@localhost", true },
		{ "inet:8891@127.0.0.1", true },
		{ "inet:8891", true },
		{ "inet6:8891@::1", true },
		{ "inet:1", true },
		{ "inet:65535@h", true },
		{ "unix:", false },
		{ "local:", false },
		{ "inet:", false },
		{ "inet:0@localhost", false },
		{ "inet:65536", false },
		{ "inet:http@localhost", false },
		{ "inet:8891@", false },
		{ "inet:8891@local host", false },
		{ "inet:-1", false },
		{ "/var/run/s.sock", false },
		{ "tcp:8891", false },
		{ "", false },
	};
	char err[256], longpath[200];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		T_OK(conf_socket_valid(cases[i].spec, err, sizeof(err)) ==
		    cases[i].ok, "socket \"%s\" is %s", cases[i].spec,
		    cases[i].ok ? "valid" : "refused");
		if (!cases[i].ok)
			T_OK(err[0] != '\0', "socket \"%s\": a reason is given",
			    cases[i].spec);
	}
	snprintf(longpath, sizeof(longpath), "unix:/%0150d", 0);
	T_OK(!conf_socket_valid(longpath, err, sizeof(err)),
	    "a unix socket path longer than sun_path is refused");
}

/* Each bad fixture and the exact error it must give. */
static const struct {
	const char     *file;
	const char     *want;	/* after "tests/conf/bad/FILE" */
} bad[] = {
	{ "unknown_root_key", ":2: sockett: unknown key" },
	{ "unknown_limits_key", ":2: limits.recipients_per_week: unknown key" },
	{ "unknown_policy_key", ":3: policies[1].exmept: unknown key" },
	{ "unknown_policy_limits_key",
	  ":3: policies[1].limits.per_minute: unknown key" },
	{ "unknown_reply_key", ":1: reply.cod: unknown key" },
	{ "int_as_string", ":1: busy_timeout_ms: must be an integer" },
	{ "string_as_int", ":1: database: must be a string" },
	{ "float_limit", ":1: limits.recipients_per_day: must be an integer" },
	{ "list_as_string", ":1: local_domains: must be a list of strings: "
	  "[ \"...\", ... ]" },
	{ "list_of_ints", ":1: internal_networks: must be a list of strings: "
	  "[ \"...\", ... ]" },
	{ "bool_as_string",
	  ":1: policies[1].exempt: must be a boolean (true or false)" },
	{ "limits_not_group", ":1: limits: must be a group: { ... }" },
	{ "policies_not_list",
	  ":1: policies: must be a list of groups: ( { ... }, ... )" },
	{ "out_of_range", ":2: limits.external_recipients_per_hour: 2000000 "
	  "is out of range (0..1000000)" },
	{ "negative", ":1: busy_timeout_ms: -1 is out of range (0..600000)" },
	{ "unblock_max_too_big", ":2: unblock.max_per_30_days: 1001 is out "
	  "of range (0..1000)" },
	{ "busy_too_big",
	  ":1: busy_timeout_ms: 600001 is out of range (0..600000)" },
	{ "policy_limit_out_of_range", ":4: policies[2].limits."
	  "recipients_per_day: -5 is out of range (0..1000000)" },
	{ "int_wraps_to_zero", ":2: limits.external_recipients_per_hour: "
	  "4294967296 is out of range (0..1000000)" },
	{ "int_wraps_into_range",
	  ":2: busy_timeout_ms: 4294967306 is out of range (0..600000)" },
	{ "int_wraps_negative", ":2: unblock.max_per_30_days: 3000000000 is "
	  "out of range (0..1000)" },
	{ "policy_limit_int_wraps", ":4: policies[2].limits."
	  "recipients_per_day: -4294967296 is out of range (0..1000000)" },
	{ "int_past_64_bits", ":1: alerts.daily_limit: 99999999999999999999 "
	  "is out of range (0..1000000)" },
	{ "int_hex_wraps",
	  ":2: spam.timeout_ms: 0x100000005 is out of range (1..60000)" },
	{ "spam_threshold_int_wraps", ":2: spam.headers[1].threshold: "
	  "4294967301 is out of range (-1000000..1000000)" },
	{ "cidr_prefix_too_long", ":2: internal_networks[2]: \"10.0.0.0/33\" "
	  "is not a network (ADDRESS[/PREFIX], IPv4 or IPv6, no host bits set)" },
	{ "cidr_host_bits", ":1: internal_networks[1]: \"10.0.0.1/8\" "
	  "is not a network (ADDRESS[/PREFIX], IPv4 or IPv6, no host bits set)" },
	{ "cidr_banana", ":1: internal_networks[1]: \"banana\" "
	  "is not a network (ADDRESS[/PREFIX], IPv4 or IPv6, no host bits set)" },
	{ "cidr_ipv6_bad", ":1: internal_networks[1]: \"2001:db8::/129\" "
	  "is not a network (ADDRESS[/PREFIX], IPv4 or IPv6, no host bits set)" },
	{ "cidr_mapped_short", ":1: internal_networks[2]: \"::ffff:0:0/80\" "
	  "is an IPv4-mapped network with a prefix under 96 (::ffff:0:0/96 "
	  "holds every IPv4 address)" },
	{ "bad_action", ":1: action: \"reject\" is not one of: "
	  "block_until_tomorrow, block, alert" },
	{ "bad_policy_action", ":1: policies[1].action: \"drop\" is not one "
	  "of: block_until_tomorrow, block, alert" },
	{ "bad_on_store_error",
	  ":1: on_store_error: \"ignore\" is not one of: tempfail, accept" },
	{ "bad_refuse_at", ":1: refuse_restricted_at: \"rcpt\" is not one "
	  "of: data, mail_from" },
	{ "bad_log_facility", ":1: log_facility: \"kern\" is not one of: "
	  "mail, daemon, user, local0, local1, local2, local3, local4, "
	  "local5, local6, local7" },
	{ "reply_code_250",
	  ":1: reply.code: \"250\" is not a 4xx or 5xx reply code" },
	{ "reply_code_55",
	  ":1: reply.code: \"55\" is not a 4xx or 5xx reply code" },
	{ "reply_code_letters",
	  ":1: reply.code: \"5x0\" is not a 4xx or 5xx reply code" },
	{ "xcode_class_mismatch", ":3: reply.xcode: class 4 of \"4.1.8\" "
	  "does not match reply.code \"550\"" },
	{ "xcode_malformed", ":1: reply.xcode: \"5.1\" is not an enhanced "
	  "status code (4.X.Y or 5.X.Y, X and Y of 1..3 digits)" },
	{ "xcode_long_digits", ":1: reply.xcode: \"5.1234.8\" is not an "
	  "enhanced status code (4.X.Y or 5.X.Y, X and Y of 1..3 digits)" },
	{ "reply_text_newline", ":2: reply.text[2]: character 4 (0x0a) is "
	  "not printable ASCII (no CR, LF or other control characters)" },
	{ "reply_text_cr", ":1: reply.text[1]: character 9 (0x0d) is "
	  "not printable ASCII (no CR, LF or other control characters)" },
	{ "reply_text_percent", ":1: reply.text[1]: has 491 '%' characters, "
	  "which libmilter's reply doubles: 982 bytes then, the most is 980" },
	{ "reply_text_non_ascii", ":1: reply.text[1]: character 4 (0xc3) is "
	  "not printable ASCII (no CR, LF or other control characters)" },
	{ "reply_text_empty_list",
	  ":1: reply.text: must hold 1..32 entries, not 0" },
	{ "reply_text_empty_line", ":1: reply.text[1]: must not be empty" },
	{ "policy_without_match", ":3: policies[2].match: is required" },
	{ "policy_empty_match", ":1: policies[1].match: must not be empty" },
	{ "policy_bad_pattern", ":1: policies[1].match[1]: "
	  "\"alice smith@example.com\": malformed address" },
	{ "policy_bad_domain_pattern", ":1: policies[1].match[1]: "
	  "\"@exa_mple.com\": \"@\" must be followed by a domain or "
	  "\".domain\"" },
	{ "syntax_error", ":2: syntax error" },
	{ "duplicate_key", ":2: duplicate setting name" },
	{ "bad_socket", ":1: socket: \"tcp:8891@localhost\": want "
	  "unix:/path, local:/path, inet:PORT[@HOST] or inet6:PORT[@HOST]" },
	{ "bad_socket_port", ":1: socket: \"inet:70000@localhost\": the port "
	  "must be a number 1..65535" },
	{ "bad_socket_empty_path",
	  ":1: socket: \"unix:\": no path after the ':'" },
	{ "bad_socket_relative", ":1: socket: \"unix:relative/sg.sock\": "
	  "want an absolute path after the ':'" },
	{ "empty_database", ":1: database: \"\" is not an absolute path" },
	{ "relative_database", ":1: database: \"var/sendguard.db\" is not an "
	  "absolute path" },
	{ "delimiter_alnum", ":1: recipient_delimiter: character 2 (0x61) "
	  "cannot be a delimiter (no letters, digits, '@', spaces, control "
	  "or non-ASCII characters)" },
	{ "delimiter_at", ":1: recipient_delimiter: character 1 (0x40) "
	  "cannot be a delimiter (no letters, digits, '@', spaces, control "
	  "or non-ASCII characters)" },
	{ "delimiter_space", ":1: recipient_delimiter: character 1 (0x20) "
	  "cannot be a delimiter (no letters, digits, '@', spaces, control "
	  "or non-ASCII characters)" },
	{ "delimiter_too_long", ":1: recipient_delimiter: "
	  "\"+-_=+-_=+-_=+-_=\" is longer than 15 characters" },
	{ "bad_local_domain", ":1: local_domains[2]: \"bad..example.com\" is "
	  "not a domain (letters, digits, '-', labels of 1..63, a leading '.' "
	  "for subdomains)" },
	{ "spam_bad_header_name",
	  ":1: spam.headers[1].header: \"X Spam\" is not a header name "
	  "(1..79 printable ASCII characters, no ':' or space)" },
	{ "spam_bad_on_message",
	  ":1: spam.on_message: \"drop\" is not one of: accept, hold, reject" },
	{ "spam_bad_preset",
	  ":1: spam.headers[1]: \"spamassasin\" is not a preset "
	  "(spamassassin, rspamd)" },
	{ "spam_bad_regex",
	  ":2: spam.headers[1].regex: \"(unclosed\": Unmatched ( or \\(" },
	{ "spam_bad_spamd",
	  ":1: spam.spamd: \"tcp:783@127.0.0.1\": want unix:/path, "
	  "inet:PORT@ADDRESS or inet6:PORT@ADDRESS" },
	{ "spam_headers_int_element",
	  ":1: spam.headers[1]: must be a preset name or a group { "
	  "header = \"...\"; regex = \"...\"; }" },
	{ "spam_headers_not_list",
	  ":1: spam.headers: must be a list: ( ... )" },
	{ "spam_limit_out_of_range",
	  ":2: limits.spam_messages_per_day: 1000001 is out of range (0..1000000)" },
	{ "spam_max_size_small",
	  ":1: spam.max_size: 100 is out of range (1024..67108864)" },
	{ "spam_policy_limit_negative",
	  ":2: policies[1].limits.spam_messages_per_hour: -1 is out of "
	  "range (0..1000000)" },
	{ "spam_rule_both",
	  ":2: spam.headers[1].threshold: a rule has regex or threshold, not both" },
	{ "spam_rule_no_header",
	  ":2: spam.headers[2].header: is required" },
	{ "spam_rule_unknown_key",
	  ":1: spam.headers[1].regx: unknown key" },
	{ "spam_rule_without_test",
	  ":1: spam.headers[1]: a custom rule needs regex or threshold" },
	{ "spam_spamd_hostname",
	  ":1: spam.spamd: \"inet:783@localhost\": the address must be a "
	  "numeric IPv4 address (nothing is looked up)" },
	{ "spam_spamd_port",
	  ":1: spam.spamd: \"inet:0@127.0.0.1\": want PORT@ADDRESS, the "
	  "port a number 1..65535" },
	{ "spam_spamd_relative",
	  ":1: spam.spamd: \"unix:spamd.sock\": want an absolute path of "
	  "at most 107 bytes after \"unix:\"" },
	{ "spam_threshold_range",
	  ":1: spam.headers[1].threshold: 1e+07 is out of range (-1000000..1000000)" },
	{ "spam_threshold_string",
	  ":1: spam.headers[1].threshold: must be a number" },
	{ "spam_timeout_zero",
	  ":1: spam.timeout_ms: 0 is out of range (1..60000)" },
	{ "spam_too_many_rules",
	  ":1: spam.headers: must hold 0..16 entries, not 17" },
	{ "spam_unknown_key",
	  ":1: spam.heders: unknown key" },
	{ "local_domain_trailing_dot", ":1: local_domains[1]: "
	  "\"example.com.\" is not a domain (letters, digits, '-', labels of "
	  "1..63, a leading '.' for subdomains)" },
};

/* expect_bad - tests/conf/bad/FILE.conf is refused with FILE.conf + want */
static void
test_bad_fixtures_give_their_exact_error(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i].file, bad[i].want);
}

static void
test_missing_file_is_an_error(void)
{
	char err[512] = "";
	conf_t *c = conf_load(FIX "no-such-file.conf", err, sizeof(err));

	T_OK(c == NULL, "a missing file is refused");
	T_STREQ(err, FIX "no-such-file.conf: cannot read: "
	    "No such file or directory", "a missing file: the error says so");
	conf_free(c);
	c = conf_load(FIX "bad", err, sizeof(err));
	T_OK(c == NULL, "a directory is refused");
	T_STREQ(err, FIX "bad: cannot read: Is a directory",
	    "a directory: the error says so");
	conf_free(c);
}

static void
test_short_error_buffer_is_terminated(void)
{
	char err[16];
	conf_t *c;

	memset(err, 'x', sizeof(err));
	c = conf_load(BAD "out_of_range.conf", err, sizeof(err));
	T_OK(c == NULL && memchr(err, '\0', sizeof(err)) != NULL,
	    "a short error buffer is truncated, not overrun");
	conf_free(c);
}

/* The daemon's keys: user, group, pidfile, alerts.* */
int
main(int argc, char **argv)
{
	if (!fx_enter(argc, argv))
		return 2;
	test_defaults_are_the_documented_values();
	test_sample_config_loads_and_equals_defaults();
	test_empty_file_equals_defaults();
	test_full_fixture_sets_every_key();
	test_spam_fixture_sets_every_spam_key();
	test_xcode_default_follows_reply_code_class();
	test_include_is_relative_to_the_main_file();
	test_nested_include_is_relative_to_the_main_file();
	test_int_past_32_bits_is_refused_in_an_included_file();
	test_restart_needed_names_socket_and_database();
	test_socket_specs();
	test_bad_fixtures_give_their_exact_error();
	test_missing_file_is_an_error();
	test_short_error_buffer_is_terminated();
	return t_done();
}
