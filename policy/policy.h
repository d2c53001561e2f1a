/*
 * policy.h - the pure decision core of sendguard.
 *
 * Everything here is a function of its arguments: no I/O, no clock, no
 * globals, no locks.  The caller passes "now" (seconds since the epoch,
 * UTC) and the counts it read from the store; the core answers with a
 * verdict.  That is what lets the tests pin the clock.
 *
 * Memory: the pol_set and its rules are built by conf/ and owned by the
 * conf_t that holds them; the functions here only read them.  Output
 * buffers are supplied by the caller.
 *
 * Thread safety: all functions are reentrant; a pol_set is read-only once
 * built and may be shared by any number of threads.
 */
#ifndef SENDGUARD_POLICY_H
#define SENDGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321: local part 64, domain 255, plus '@'.  Longer is malformed. */
#define POL_ADDR_MAX	320
/* Room for a normalised address and its terminator. */
#define POL_ADDR_SIZE	(POL_ADDR_MAX + 1)

/* The limits, in the order they are checked (and reported). */
typedef enum {
	POL_LIM_EXT_HOUR = 0,		/* external_recipients_per_hour */
	POL_LIM_INT_HOUR,		/* internal_recipients_per_hour */
	POL_LIM_DAY,			/* recipients_per_day */
	POL_LIM_SPAM_HOUR,		/* spam_messages_per_hour */
	POL_LIM_SPAM_DAY,		/* spam_messages_per_day */
	POL_LIM_COUNT
} pol_limit_id;

#define POL_LIMIT_MAX	1000000u	/* largest configurable limit */

typedef struct pol_limits {
	uint32_t	lim_value[POL_LIM_COUNT];	/* 0 = no limit */
} pol_limits;

typedef enum {
	POL_ACT_BLOCK_UNTIL_TOMORROW = 0,	/* until the next 00:00 UTC */
	POL_ACT_BLOCK,				/* until an admin clears it */
	POL_ACT_ALERT				/* log only, refuse nothing */
} pol_action;

/* One entry of "policies": first match wins. */
typedef struct pol_rule {
	char	      **pr_match;	/* normalised patterns, see pol_match */
	bool	       *pr_cut;		/* per pattern: an entry's cut
					 * form, envelope senders only */
	size_t		pr_nmatch;
	pol_limits	pr_limits;	/* complete: unset keys inherit globals */
	pol_action	pr_action;	/* inherits the global action if unset */
	bool		pr_exempt;	/* never counted, never refused */
	int		pr_line;	/* config line, for log lines */
	char	       *pr_file;	/* its file if @included, else NULL */
} pol_rule;

/* Address families, without <sys/socket.h>. */
typedef enum {
	POL_NET_IPV4 = 4,
	POL_NET_IPV6 = 6
} pol_family;

/* A network of internal_networks, in network byte order. */
typedef struct pol_net {
	pol_family	pn_family;
	uint8_t		pn_addr[16];
	unsigned	pn_prefix;	/* 0..32 or 0..128 */
} pol_net;

/* The whole policy, as conf/ builds it from the configuration file. */
typedef struct pol_set {
	pol_limits	ps_limits;	/* global limits */
	pol_action	ps_action;	/* global action */
	char	      **ps_local_domains; /* "example.com" or ".example.org" */
	size_t		ps_nlocal_domains;
	pol_net	       *ps_networks;
	size_t		ps_nnetworks;
	pol_rule       *ps_rules;
	size_t		ps_nrules;
	char		ps_delimiters[16]; /* recipient_delimiter; "" = off */
} pol_set;

/* What applies to one identity after matching the policies. */
typedef struct pol_effective {
	pol_limits	pe_limits;
	pol_action	pe_action;
	bool		pe_exempt;
	const pol_rule *pe_rule;	/* the rule that matched, or NULL */
} pol_effective;

/* Result of pol_normalize(). */
typedef enum {
	POL_ADDR_OK = 0,
	POL_ADDR_NULL,		/* the null sender "<>" (or empty) */
	POL_ADDR_MALFORMED,	/* control characters, spaces, bad brackets */
	POL_ADDR_TOO_LONG	/* over POL_ADDR_MAX */
} pol_addr_status;

/*
 * pol_normalize - the one place addresses and identities are normalised.
 * Strips surrounding white space and one pair of "<>", an RFC 5321 source
 * route, lowercases, and cuts the subaddress at the first character of
 * "delimiters" found in the local part outside quotes (empty string: no
 * cutting), except where Postfix's split_addr() would not cut (postmaster,
 * mailer-daemon, double-bounce; owner-* and *-request with '-').  Normalising a result again gives it back unchanged.  The
 * result is written to out (at least POL_ADDR_SIZE bytes).  On anything but
 * POL_ADDR_OK, out holds an empty string.
 */
pol_addr_status pol_normalize(const char *in, const char *delimiters,
    char *out, size_t outlen);

/*
 * pol_login_normalize - a SASL login as an identity.  A login that is an
 * address is normalised as one, never cut (so sendguardctl and policies
 * name it as before); any other (Cyrus SASL allows "john smith", o"neil)
 * is an account name: surrounding white space removed, ASCII lowercased,
 * at most POL_ADDR_MAX bytes, no control characters.  No domain is added.
 * Normalising a result again gives it back unchanged; out as for
 * pol_normalize().
 */
pol_addr_status pol_login_normalize(const char *in, char *out,
    size_t outlen);

/* pol_addr_status_str - a short English description for log lines. */
const char     *pol_addr_status_str(pol_addr_status st);

/* pol_domain_of - the domain part of a normalised address, or "" if none. */
const char     *pol_domain_of(const char *addr);

/*
 * pol_domain_listed - does domain match one of the patterns?  "x" matches x
 * only; ".x" matches every subdomain of x (not x itself), as in Postfix.
 * Both domain and patterns must already be lowercase.
 */
bool		pol_domain_listed(const char *domain, char *const *patterns,
    size_t npatterns);

/*
 * pol_rcpt_internal - is a normalised recipient internal: unqualified
 * (delivered locally) or in one of the local domains (patterns as for
 * pol_domain_listed)?  Never one whose local part routes elsewhere with
 * "!", "%" or "@": Postfix (swap_bangpath, allow_percent_hack,
 * resolve_dequoted_address, on by default) sends "host!user",
 * "user%host@local" and "\"user@host\"@local" to user@host, so they
 * count as external, which at worst overcounts.
 */
bool		pol_rcpt_internal(const char *rcpt, char *const *local_domains,
    size_t nlocal_domains);

/*
 * pol_match - does one policy pattern match a normalised identity?
 * "user@domain" (or a bare login) matches exactly; "@domain" matches every
 * identity in domain; "@.domain" every identity in a subdomain of domain.
 */
bool		pol_match(const char *pattern, const char *identity);

/*
 * pol_pattern_covers - does pattern q match every identity that pattern p
 * matches (so that a rule with q shadows p in every later rule)?
 * "@example.com" covers "alice@example.com", "@.example.com" covers
 * "@sub.example.com" and "@.sub.example.com"; "@example.com" does not
 * cover "@.example.com", nor any exact identity a domain.
 */
bool		pol_pattern_covers(const char *q, const char *p);

/*
 * pol_default_exempt - exempt whatever the configuration says: the null
 * sender, MAILER-DAEMON@* and postmaster@* (bounces and reports).  addr is
 * an envelope sender normalised WITHOUT cutting the subaddress ("" for the
 * null sender): with "-" as a delimiter, mailer-daemon@ would become
 * mailer@.  Only for envelope senders: a SASL login is a person's account,
 * and one named "postmaster" can be stolen like any other; bounces and
 * reports do not authenticate.
 */
bool		pol_default_exempt(const char *identity);

/*
 * pol_resolve - what applies to identity: exempt if default_exempt (the
 * caller's pol_default_exempt() verdict), else the first matching rule of
 * set, else the global limits and action.  login: identity is a SASL
 * login, which an entry's cut form (pr_cut) does not match: the cut form
 * of "mary-list@" stands for the envelope senders cut to mary@, not for
 * the account mary.
 */
void		pol_resolve(const pol_set *set, const char *identity,
    bool login, bool default_exempt, pol_effective *out);

/*
 * pol_net_make - the network addr/prefix (addr: 4 or 16 raw bytes in
 * network order).  False when the prefix is longer than the address or
 * host bits beyond it are set, as those usually hide a typo.
 */
bool		pol_net_make(pol_family family, const uint8_t *addr,
    unsigned prefix, pol_net *out);

/*
 * pol_net_contains - is the address (family, raw bytes in network order)
 * inside one of the networks?  An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is checked as the IPv4 address it carries.
 */
bool		pol_net_contains(const pol_net *nets, size_t nnets,
    pol_family family, const uint8_t *addr);

/* Sliding windows are counted in one-minute buckets. */
#define POL_BUCKET_SECONDS	60
#define POL_HOUR_BUCKETS	60
#define POL_DAY_BUCKETS		1440

/* pol_bucket - the bucket number of a time. */
int64_t		pol_bucket(int64_t now);

/*
 * pol_window_start - the first bucket that counts for a window of nbuckets
 * at time now.  One bucket more than the window is counted, so that every
 * exact window ending at or before now lies inside the counted range: the
 * count is never below the true one, and a limit is a hard cap.  The error
 * is at most one bucket, 1/60 of the hour window.
 */
int64_t		pol_window_start(int64_t now, int nbuckets);

/*
 * pol_window_forgive - a restriction that ran out at ended forgives the
 * counts from before its end, as an unblock resets them: move the window
 * starts *hour_from and *day_from up to ended's bucket if they are older.
 * The milter judges with it and sendguardctl shows counts with it.
 */
void		pol_window_forgive(int64_t ended, int64_t *hour_from,
    int64_t *day_from);

/* Counts already accepted in the windows, as read from the store. */
typedef struct pol_counts {
	uint32_t	pc_int_hour;	/* internal recipients, last hour */
	uint32_t	pc_ext_hour;	/* external recipients, last hour */
	uint32_t	pc_day;		/* all recipients, last day */
	uint32_t	pc_spam_hour;	/* spam-judged messages, last hour */
	uint32_t	pc_spam_day;	/* spam-judged messages, last day */
} pol_counts;

/* pol_sat_add - a + n, saturating at UINT32_MAX (counters never wrap). */
uint32_t	pol_sat_add(uint32_t a, uint32_t n);

typedef enum {
	POL_VERDICT_ACCEPT = 0,		/* within every limit */
	POL_VERDICT_ALERT,		/* crosses a limit; action is alert */
	POL_VERDICT_RESTRICT		/* crosses a limit; refuse, restrict */
} pol_verdict;

/* Which limit a message crossed, for the store and the logs. */
typedef struct pol_crossing {
	pol_limit_id	pcr_limit;
	uint32_t	pcr_value;	/* the limit */
	uint32_t	pcr_count;	/* the count the message would reach */
} pol_crossing;

/*
 * pol_decide - the verdict for a message of n_int internal and n_ext
 * external recipients, judged as spam or not, from a sender with counts
 * cur.  A recipient limit is crossed when the count with this message
 * would exceed it; a spam limit when the count of spam messages with this
 * one would reach it (spam_messages_per_day = 10: the tenth spam message
 * in the window restricts, so at most 9 get through).  Either way the
 * crossing message is the one refused.  On a crossing, *cross names the
 * first limit crossed (in pol_limit_id order).  An alert verdict is only
 * given for the message that crosses (once per crossing): a sender
 * already over (or at) a limit whose action is alert gets
 * POL_VERDICT_ACCEPT.
 */
pol_verdict	pol_decide(const pol_effective *eff, const pol_counts *cur,
    uint32_t n_int, uint32_t n_ext, bool spam, pol_crossing *cross);

/*
 * pol_expiry - when a restriction made at now with action expires.
 * Returns false for a restriction that lasts until cleared (block);
 * block_until_tomorrow ends at the next 00:00 UTC.
 */
bool		pol_expiry(pol_action action, int64_t now, int64_t *expires);

/* pol_limit_name - the configuration name of a limit. */
const char     *pol_limit_name(pol_limit_id id);

/* pol_action_name - the configuration name of an action. */
const char     *pol_action_name(pol_action action);

/* pol_limit_is_spam - is id one of the spam limits? */
bool		pol_limit_is_spam(pol_limit_id id);

/*
 * pol_reason - the human text of a crossing, e.g.
 * "external_recipients_per_hour 500 exceeded: 501 recipients" or
 * "spam_messages_per_day 10 reached: 10 spam messages".  Truncates safely.
 */
void		pol_reason(const pol_crossing *cross, char *out, size_t outlen);

#endif
