/*
 * mlfi.c - the libmilter callbacks: who is sending, what they send, and
 * the answer to the MTA.
 *
 * Contexts (OpenDKIM's shape, smaller): mlfi_connect allocates a
 * connection context and pins the configuration generation; mlfi_envfrom
 * resets the message part of it; mlfi_abort forgets the message (it
 * counts nothing); mlfi_close frees everything and clears the private
 * pointer.  A message is judged once all its recipients are known, at
 * DATA (mlfi_judge.c): is its sender restricted, and do its recipients
 * cross a limit?
 * Then sendguard is done with it (SMFIS_ACCEPT: the MTA does not hand us
 * the content, nor wait for us at its end).  With spam checking on, an
 * outbound message is judged at end of message instead, where its
 * content says whether it is spam (milt_spam.c), but a restricted sender
 * is still refused at DATA, by a read of its restriction alone; an MTA
 * that sends no DATA stage gets the whole judgement there.  MAIL FROM only
 * works out who is sending; the MTA does not wait for it, unless
 * refuse_restricted_at = "mail_from", where a restricted sender is
 * refused there already.  We never refuse at RCPT: Postfix treats that as
 * a configuration error for local submissions.
 * Headers are asked for only when spam checking is on, and bodies only
 * when spamd is configured; both without a reply per call where the MTA
 * allows it (SMFIP_NR_HDR, SMFIP_NR_BODY).
 *
 * A store failure is never fatal: the message is tempfailed (or accepted,
 * per on_store_error), logged, and the next message tries again.  The
 * judgement is in mlfi_judge.c, the replies and log lines themselves in
 * milt_answer.c; the contexts are in mlfi_int.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "milt.h"
#include "milt_alert.h"
#include "milt_daemon.h"
#include "mlfi_int.h"

/* msg_reset - forget the message, and free what it holds */
static void
msg_reset(milt_msg *m)
{
	milt_spam_free(&m->mctx_spam);
	memset(m, 0, sizeof(*m));
}

/* conn_new - a connection context with the current configuration pinned,
 * attached to ctx; NULL (logged) on failure */
static milt_conn *
conn_new(SMFICTX *ctx)
{
	milt_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		milt_log(LOG_ERR, "out of memory for a new connection; tempfailing");
		return NULL;
	}
	c->cctx_conf = milt_conf_acquire();
	snprintf(c->cctx_client, sizeof(c->cctx_client), "unknown");
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		milt_conf_release(c->cctx_conf);
		free(c);
		milt_log(LOG_ERR, "cannot attach a connection context; tempfailing");
		return NULL;
	}
	return c;
}

/* conn_of - this connection's context */
static milt_conn *
conn_of(SMFICTX *ctx)
{
	return (milt_conn *)smfi_getpriv(ctx);
}

void
milt_capture_queue_id(SMFICTX *ctx, milt_msg *m)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (qid != NULL && *qid != '\0')
		milt_printable(qid, m->mctx_queue_id, sizeof(m->mctx_queue_id));
}


/* no_reply - SMFIS_NOREPLY where the MTA agreed not to wait (nr_flag),
 * else continue */
static sfsistat
no_reply(const milt_conn *c, unsigned long nr_flag)
{
	return c != NULL && (c->cctx_pflags & nr_flag) ? SMFIS_NOREPLY :
	    SMFIS_CONTINUE;
}

/* mlfi_connect - pin the configuration and note the client's address (the
 * context exists already if mlfi_negotiate could allocate it) */
static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	milt_conn *c;
	const pol_set *ps;
	const uint8_t *raw = NULL;
	const char *mta;
	pol_family family = POL_NET_IPV4;

	(void)hostname;
	/* mlfi_negotiate made it, unless the MTA did not negotiate */
	if ((c = conn_of(ctx)) == NULL && (c = conn_new(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	/* Postfix names itself in "v" (in its default milter_connect_macros:
	 * "$mail_name $mail_version", mail_name "Postfix" unless renamed) and
	 * passes the SASL login as is; Sendmail sends no "v" by default (its
	 * $v, if added, is a bare version such as 8.17.1.9) and the login as
	 * xtext. */
	mta = smfi_getsymval(ctx, "v");
	c->cctx_login_xtext = mta == NULL ||
	    isdigit((unsigned char)mta[0]) != 0;
	if (hostaddr != NULL && hostaddr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)hostaddr;

		family = POL_NET_IPV4;
		raw = (const uint8_t *)&sin->sin_addr;
	} else if (hostaddr != NULL && hostaddr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)hostaddr;

		family = POL_NET_IPV6;
		raw = (const uint8_t *)&sin6->sin6_addr;
	}
	if (raw != NULL) {
		if (inet_ntop(family == POL_NET_IPV4 ? AF_INET : AF_INET6, raw,
		    c->cctx_client,
		    sizeof(c->cctx_client)) == NULL)
			snprintf(c->cctx_client, sizeof(c->cctx_client), "unknown");
		ps = conf_policy(c->cctx_conf->mc_conf);
		c->cctx_internal = pol_net_contains(ps->ps_networks,
		    ps->ps_nnetworks, family, raw);
	}
	return no_reply(c, SMFIP_NR_CONN);
}


/* mlfi_envfrom - decide who is sending; with refuse_restricted_at =
 * "mail_from", refuse a restricted sender */
static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	milt_conn *c = conn_of(ctx);
	milt_msg *m;
	const pol_set *ps;
	const char *login, *raw;
	char logtxt[MILT_LOGTXT_SIZE];
	char full[POL_ADDR_SIZE], plain[POL_ADDR_SIZE];
	pol_addr_status st;

	if (c == NULL) {
		milt_log(LOG_ERR, "MAIL FROM without a connection context; "
		    "tempfailing");
		return milt_tempfail(ctx, "4.3.0", "Internal error, try again later");
	}
	m = &c->cctx_msg;
	msg_reset(m);
	milt_capture_queue_id(ctx, m);
	ps = conf_policy(c->cctx_conf->mc_conf);

	login = smfi_getsymval(ctx, "{auth_authen}");
	if (login != NULL && *login != '\0') {
		m->mctx_auth = true;
		raw = login;
		/* Not well-formed xtext: the MTA did not encode it. */
		if (c->cctx_login_xtext &&
		    milt_xtext_decode(login, plain, sizeof(plain)) == 0)
			raw = plain;
	} else if (c->cctx_internal) {
		raw = argv != NULL ? argv[0] : NULL;
	} else {
		/* Inbound: never counted, never refused by sendguard. */
		return milt_mail_pass(c);
	}

	/* The whole address first: the default exemptions look at it before
	 * the subaddress is cut ("mailer-daemon" with "-" as a delimiter).
	 * A login need not be an address at all ("john smith"). */
	st = m->mctx_auth ? pol_login_normalize(raw, full, sizeof(full)) :
	    pol_normalize(raw, "", full, sizeof(full));
	if (st == POL_ADDR_MALFORMED || st == POL_ADDR_TOO_LONG) {
		milt_log(LOG_WARNING, "%s: client=%s: %s %s: \"%s\"; tempfailing",
		    milt_qid(m), c->cctx_client,
		    m->mctx_auth ? "login" : "sender", pol_addr_status_str(st),
		    milt_printable(raw, logtxt, sizeof(logtxt)));
		return m->mctx_auth ?
		    milt_mail_tempfail(ctx, c, "4.7.0", "Cannot handle this login name") :
		    milt_mail_tempfail(ctx, c, "4.1.7", "Bad sender address syntax");
	}
	/* A login of "<>" is nonsense; an empty one was handled above. */
	if (st == POL_ADDR_NULL && m->mctx_auth) {
		milt_log(LOG_WARNING, "%s: client=%s: login \"%s\" is not an "
		    "identity; tempfailing", milt_qid(m), c->cctx_client,
		    milt_printable(raw, logtxt, sizeof(logtxt)));
		return milt_mail_tempfail(ctx, c, "4.7.0",
		    "Cannot handle this login name");
	}
	/* A login is an account's name, taken whole as Postfix takes it
	 * (mary-jane is not mary with "-" as a delimiter); an envelope
	 * sender is an address, its subaddress cut so that tags cannot
	 * escape the limits. */
	if (m->mctx_auth)
		snprintf(m->mctx_identity, sizeof(m->mctx_identity), "%s",
		    full);
	else
		(void)pol_normalize(full, ps->ps_delimiters, m->mctx_identity,
		    sizeof(m->mctx_identity));
	milt_printable(m->mctx_identity, m->mctx_idlog, sizeof(m->mctx_idlog));

	pol_resolve(ps, m->mctx_identity, m->mctx_auth,
	    !m->mctx_auth && pol_default_exempt(full), &m->mctx_policy);
	if (m->mctx_policy.pe_exempt) {
		milt_log_exempt(c);
		return milt_mail_pass(c);
	}
	m->mctx_outbound = true;
	if (conf_spam_enabled(c->cctx_conf->mc_conf)) {
		m->mctx_spam_on = true;
		milt_spam_start(&m->mctx_spam, c->cctx_conf->mc_conf);
	}

	/* refuse_restricted_at = "data": the judgement reads the restriction
	 * with the counts, in one read; nothing to look at here (and, where
	 * the MTA agreed, nothing to answer). */
	if (conf_refuse_restricted_at(c->cctx_conf->mc_conf) ==
	    CONF_REFUSE_AT_DATA)
		return no_reply(c, SMFIP_NR_MAIL);

	return milt_refuse_if_restricted(ctx, c, "MAIL FROM");
}

/* mlfi_envrcpt - classify and count one recipient (refusals wait for the
 * judgement) */
static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	milt_conn *c = conn_of(ctx);
	milt_msg *m;
	const pol_set *ps;
	char rcpt[POL_ADDR_SIZE];
	pol_addr_status st;

	if (c == NULL || !c->cctx_msg.mctx_outbound)
		return no_reply(c, SMFIP_NR_RCPT);
	m = &c->cctx_msg;
	milt_capture_queue_id(ctx, m);
	ps = conf_policy(c->cctx_conf->mc_conf);

	st = pol_normalize(argv != NULL ? argv[0] : NULL, "", rcpt, sizeof(rcpt));
	if (st != POL_ADDR_OK) {
		if (m->mctx_n_bad++ == 0)
			milt_printable(argv != NULL ? argv[0] : NULL,
			    m->mctx_bad_rcpt, sizeof(m->mctx_bad_rcpt));
		return no_reply(c, SMFIP_NR_RCPT);
	}
	/* Unqualified or local, unless routed elsewhere (pol_rcpt_internal) */
	if (pol_rcpt_internal(rcpt, ps->ps_local_domains,
	    ps->ps_nlocal_domains))
		m->mctx_n_int = pol_sat_add(m->mctx_n_int, 1);
	else
		m->mctx_n_ext = pol_sat_add(m->mctx_n_ext, 1);
	return no_reply(c, SMFIP_NR_RCPT);
}


/* mlfi_header - keep what the spam rules read (and the message, for
 * spamd); no reply when the MTA agreed to SMFIP_NR_HDR */
static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	milt_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->cctx_msg.mctx_spam_on)
		milt_spam_header(&c->cctx_msg.mctx_spam, c->cctx_conf->mc_conf,
		    name, value);
	return no_reply(c, SMFIP_NR_HDR);
}

/* mlfi_body - a body chunk, kept for spamd */
static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	milt_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->cctx_msg.mctx_spam_on)
		milt_spam_body(&c->cctx_msg.mctx_spam, c->cctx_conf->mc_conf,
		    chunk, len);
	return no_reply(c, SMFIP_NR_BODY);
}


/* mlfi_data - all the recipients are in: judge the message now, unless
 * spam checking wants its content (then at end of message).  Let through,
 * it is accepted: sendguard is done with it, so the MTA neither sends us
 * its content nor waits for us at its end. */
static sfsistat
mlfi_data(SMFICTX *ctx)
{
	milt_conn *c = conn_of(ctx);
	sfsistat r;

	/* No context (it could not be made): nothing known of the message,
	 * which must not pass unjudged. */
	if (c == NULL) {
		milt_log(LOG_ERR, "DATA without a connection context; "
		    "tempfailing");
		return milt_tempfail(ctx, "4.3.0", "Internal error, try again later");
	}
	/* (a 451 kept from MAIL FROM comes before the sender is outbound)
	 * The verdict needs the content; the restriction does not: a
	 * restricted sender is refused here, before sending the content
	 * (and spamd scanning it), at the price of a second read for the
	 * messages spam checking reads.  With refuse_restricted_at =
	 * "mail_from" it was read there already. */
	if (c->cctx_msg.mctx_outbound && c->cctx_msg.mctx_spam_on)
		return conf_refuse_restricted_at(c->cctx_conf->mc_conf) ==
		    CONF_REFUSE_AT_DATA ? milt_refuse_if_restricted(ctx, c, "DATA") :
		    SMFIS_CONTINUE;
	r = milt_judge(ctx, c, "DATA");
	return r == SMFIS_CONTINUE ? SMFIS_ACCEPT : r;
}

/* mlfi_eom - the judgement of a message spam checking reads, or of one
 * whose MTA sent no DATA stage */
static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	milt_conn *c = conn_of(ctx);

	if (c == NULL) {
		milt_log(LOG_ERR, "end of message without a connection "
		    "context; tempfailing");
		return milt_tempfail(ctx, "4.3.0", "Internal error, try again later");
	}
	return milt_judge(ctx, c, "end of message");
}

/* mlfi_connect_open - no new connection once a shutdown has begun */
static sfsistat
mlfi_connect_open(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	sfsistat r = mlfi_connect(ctx, hostname, hostaddr);
	const milt_conn *c = conn_of(ctx);

	/* With no reply at connect, the MTA hears it at MAIL FROM (4.3.2),
	 * or at DATA where it does not wait at MAIL FROM. */
	if (milt_draining())
		return c != NULL && (c->cctx_pflags & SMFIP_NR_CONN) ?
		    SMFIS_NOREPLY : SMFIS_TEMPFAIL;
	return r;
}

/* mlfi_envfrom_open - a message is in flight from MAIL FROM to its
 * judgement (DATA or eom), abort or close; none starts once a shutdown
 * has begun.  Counted before the check, so that the shutdown cannot miss
 * it (milt_run.c). */
static sfsistat
mlfi_envfrom_open(SMFICTX *ctx, char **argv)
{
	milt_conn *c = conn_of(ctx);
	sfsistat r;

	if (c == NULL)
		return mlfi_envfrom(ctx, argv);
	milt_inflight_begin(&c->cctx_inflight);
	if (milt_draining()) {
		/* Where the 451 waits for the judgement (DATA), so does
		 * the stop (at most its 30 s): the MTA hears it from us. */
		if (!(c->cctx_pflags & SMFIP_NR_MAIL))
			milt_inflight_end(&c->cctx_inflight);
		milt_log(LOG_INFO, "client=%s: new message tempfailed (451 "
		    "4.3.2): sendguard is stopping", c->cctx_client);
		msg_reset(&c->cctx_msg);
		return milt_mail_tempfail(ctx, c, "4.3.2", "Service shutting down, "
		    "try again later");
	}
	/* Answered here: done.  Not answered (refuse_restricted_at =
	 * "data"), even a message we let through or tempfail at its
	 * judgement stays in flight until then, so that a stop waits for it
	 * rather than leave it to the MTA's default action. */
	if ((r = mlfi_envfrom(ctx, argv)) != SMFIS_CONTINUE &&
	    r != SMFIS_NOREPLY)
		milt_inflight_end(&c->cctx_inflight);
	return r;
}

/* mlfi_data_done - DATA; a message judged there is no longer in flight
 * (the shutdown drain waits for it) */
static sfsistat
mlfi_data_done(SMFICTX *ctx)
{
	sfsistat r = mlfi_data(ctx);
	milt_conn *c = conn_of(ctx);

	if (c != NULL && r != SMFIS_CONTINUE)
		milt_inflight_end(&c->cctx_inflight);
	return r;
}

/* mlfi_eom_done - end-of-message, then the message is no longer in
 * flight (the shutdown drain waits for it) */
static sfsistat
mlfi_eom_done(SMFICTX *ctx)
{
	sfsistat r = mlfi_eom(ctx);
	milt_conn *c = conn_of(ctx);

	if (c != NULL) {
		/* The copy for spamd (up to spam.max_size) is done with. */
		milt_spam_free(&c->cctx_msg.mctx_spam);
		milt_inflight_end(&c->cctx_inflight);
	}
	return r;
}

/* mlfi_abort - the message is gone: it counts nothing */
static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	milt_conn *c = conn_of(ctx);

	if (c != NULL) {
		msg_reset(&c->cctx_msg);
		milt_inflight_end(&c->cctx_inflight);
	}
	return SMFIS_CONTINUE;
}

/* mlfi_close - free the connection and unpin its configuration */
static sfsistat
mlfi_close(SMFICTX *ctx)
{
	milt_conn *c = conn_of(ctx);

	if (c != NULL) {
		msg_reset(&c->cctx_msg);
		milt_inflight_end(&c->cctx_inflight);
		milt_conf_release(c->cctx_conf);
		free(c);
		(void)smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/* set_macro_lists - ask the MTA for the macros we read, and no others
 * (smfi_setsymlist, in mlfi_negotiate only); 0, or -1 if libmilter
 * refused one */
static int
set_macro_lists(SMFICTX *ctx)
{
	static const struct {
		int		stage;
		const char     *macros;
	} lists[] = {
		{ SMFIM_CONNECT, "v" },		/* Postfix or Sendmail */
		{ SMFIM_ENVFROM, "i {auth_authen}" },
		{ SMFIM_ENVRCPT, "i" },		/* Postfix: the queue id */
		{ SMFIM_DATA, "i" },
		{ SMFIM_EOM, "i" },
	};
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (smfi_setsymlist(ctx, lists[i].stage,
		    (char *)lists[i].macros) != MI_SUCCESS)
			return -1;
	return 0;
}

/*
 * mlfi_negotiate - ask only for the stages we use, and for no reply where
 * our answer is always "continue" or can wait: connect (a failure there is
 * noticed at MAIL FROM), MAIL FROM (with refuse_restricted_at = "data":
 * what it decides is said at the judgement) and RCPT (recipients are
 * judged together).  Headers only with spam checking on, bodies only with
 * spamd, neither answered one by one.
 *
 * DATA is where a message is judged, and answered.  A message let through
 * there is accepted (SMFIS_ACCEPT), so the MTA neither sends us its
 * content nor waits for us at its end: per message it waits for us once
 * (DATA), plus the negotiation once per SMTP session; MAIL FROM adds one
 * with "mail_from", end of message one with spam checking on.  Postfix
 * hands a milter still interested in the message to cleanup(8) for its
 * content and end, which costs it more than the round trip itself (see
 * BENCHMARKS.md).  DATA answered also avoids a TCP stall: a DATA stage
 * skipped or unanswered (SMFIP_NODATA, SMFIP_NR_DATA) leaves Postfix's
 * DATA macros flushed on their own, and its next packet waits behind them
 * (Nagle) for the milter host's delayed ACK, about 44 ms per message.
 *
 * Macros: only those we read (smfi_setsymlist, where the MTA offers it):
 * "v" at connect, "i" and {auth_authen} at MAIL, "i" at RCPT, DATA and
 * end of message.  Postfix otherwise sends its milter_*_macros defaults,
 * some of which ({mail_host}, {rcpt_mailer}...) cost it an address
 * resolution.
 * A stage we list nothing for keeps the MTA's default list (Postfix
 * treats an empty list as "default"); HELO's defaults are TLS macros,
 * empty without TLS.  See BENCHMARKS.md.
 *
 * The connection context is made here: the configuration that decided
 * the protocol is the one the connection uses, and it remembers what was
 * agreed.  Without it (out of memory) the negotiation fails, and the MTA
 * applies its milter default action.
 */
static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOUNKNOWN |
	    SMFIP_NR_CONN | SMFIP_NR_RCPT;
	const conf_t *conf;
	milt_conn *c;

	(void)f2;
	(void)f3;
	if ((c = conn_of(ctx)) == NULL && (c = conn_new(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	conf = c->cctx_conf->mc_conf;
	*pf0 = 0;			/* we never modify mail */
	if (!conf_spam_enabled(conf))
		want |= SMFIP_NOHDRS | SMFIP_NOBODY;
	else {
		want |= SMFIP_NR_HDR;
		want |= conf_spam_spamd(conf) != NULL ? SMFIP_NR_BODY :
		    SMFIP_NOBODY;
		/* spam.on_message = "hold" quarantines */
		*pf0 = SMFIF_QUARANTINE & f0;
	}
	if (conf_refuse_restricted_at(conf) == CONF_REFUSE_AT_DATA)
		want |= SMFIP_NR_MAIL;
	if ((f0 & SMFIF_SETSYMLIST) != 0) {
		if (set_macro_lists(ctx) != 0) {
			milt_log(LOG_ERR, "cannot set the macro lists; tempfailing");
			return SMFIS_TEMPFAIL;
		}
		*pf0 |= SMFIF_SETSYMLIST;
	}
	/* only what the MTA offers, or libmilter fakes (the SMFIP_NR_*
	 * flags: it answers "continue" for us where the MTA waits) */
	*pf1 = want & f1;
	*pf2 = 0;
	*pf3 = 0;
	c->cctx_pflags = *pf1;
	return SMFIS_CONTINUE;
}

static struct smfiDesc milt_desc = {
	.xxfi_name = "sendguard",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_QUARANTINE,	/* negotiated only for spam */
	.xxfi_connect = mlfi_connect_open,
	.xxfi_envfrom = mlfi_envfrom_open,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_data = mlfi_data_done,
	.xxfi_header = mlfi_header,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom_done,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};

int
milt_register(void)
{
	return smfi_register(milt_desc) == MI_SUCCESS ? 0 : -1;
}
