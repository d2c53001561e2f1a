/*
 * mlfi_int.h - what mlfi.c (the callbacks), mlfi_judge.c (the judgement
 * of a message) and milt_answer.c (the replies and log lines they give)
 * share: the connection and message contexts.  Private to those files.
 *
 * A milt_conn is made by mlfi_negotiate (or mlfi_connect), owned by
 * libmilter's private pointer and freed by mlfi_close; its milt_msg is
 * reset at every MAIL FROM.  One connection's callbacks never run at the
 * same time, so neither needs a lock.
 */
#ifndef MLFI_INT_H
#define MLFI_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include <libmilter/mfapi.h>

#include "milt.h"
#include "milt_alert.h"

#define MILT_QUEUEID_SIZE	64
#define MILT_ERR_SIZE		512
#define MILT_LOGTXT_SIZE	400

/* Per-message state, reset at every MAIL FROM. */
typedef struct milt_msg {
	bool		mctx_outbound;	/* counted: auth or internal client */
	bool		mctx_auth;	/* identity is a SASL login */
	char		mctx_identity[POL_ADDR_SIZE];
	char		mctx_idlog[POL_ADDR_SIZE];	/* printable, for logs */
	pol_effective	mctx_policy;
	uint32_t	mctx_n_int;	/* recipients in local_domains */
	uint32_t	mctx_n_ext;	/* recipients elsewhere */
	uint32_t	mctx_n_bad;	/* malformed recipients seen */
	char		mctx_bad_rcpt[MILT_LOGTXT_SIZE]; /* the first, cleaned */
	char		mctx_queue_id[MILT_QUEUEID_SIZE];
	bool		mctx_spam_on;	/* spam checking for this message */
	bool		mctx_is_spam;	/* spamd's verdict, once judged */
	const char     *mctx_late_xcode; /* a 451 decided at MAIL FROM and */
	const char     *mctx_late_text;	/* given at the judgement (no reply
					 * at MAIL FROM): static strings */
	milt_spam_msg	mctx_spam;	/* owns memory: see msg_reset */
} milt_msg;

/* Per-connection state. */
typedef struct milt_conn {
	unsigned long	cctx_pflags;	/* protocol options agreed (no_reply) */
	milt_conf      *cctx_conf;	/* pinned generation */
	char		cctx_client[INET6_ADDRSTRLEN];	/* "unknown" if none */
	bool		cctx_internal;	/* in internal_networks */
	bool		cctx_login_xtext; /* {auth_authen} is xtext (Sendmail) */
	bool		cctx_inflight;	/* a message is open that a stop
					 * waits for (milt_inflight_begin) */
	milt_msg	cctx_msg;
} milt_conn;

#define MILT_SPAM_XCODE		"5.7.1"
#define MILT_SPAM_TEXT		"Message refused: it was judged as spam. " \
	"Contact your email admin if this is a mistake"

/* milt_answer.c */

/* milt_qid - the message's queue id for a log line, or "NOQUEUE" */
const char     *milt_qid(const milt_msg *m);
/* milt_reply_refused - set the configured refusal (reply.*) and return
 * the verdict of its class: a 4xx reply tempfails */
sfsistat	milt_reply_refused(SMFICTX *ctx, const milt_conf *mc);
/* milt_refuse_restricted - log that the message is refused at where
 * because its sender is restricted (r), and answer with the refusal */
sfsistat	milt_refuse_restricted(SMFICTX *ctx, const milt_conn *c,
    const char *where, const store_restriction *r);
/* milt_tempfail - 451 with the enhanced code xcode and text */
sfsistat	milt_tempfail(SMFICTX *ctx, const char *xcode, const char *text);
/* milt_store_failed - log a store failure while doing what; the answer
 * on_store_error gives (tempfail or accept) */
sfsistat	milt_store_failed(SMFICTX *ctx, milt_conn *c, const char *what,
    const char *err);
/* milt_format_expiry - r's expiry as RFC 3339 in buf, or "until cleared" */
const char     *milt_format_expiry(const store_restriction *r, char *buf,
    size_t len);
/* milt_log_exempt - the line for an outbound message not counted */
void		milt_log_exempt(const milt_conn *c);
/* milt_log_counts - the line for a counted message: counts against each
 * limit (after: with this message), then result */
void		milt_log_counts(int prio, const milt_conn *c,
    const pol_counts *after, const char *result);
/* milt_spam_hold - ask the MTA to hold a spam message; -1 (logged) if it
 * refuses */
int		milt_spam_hold(SMFICTX *ctx, const milt_conn *c);
/* milt_spam_answer - the answer spam.on_message gives a counted spam
 * message from a sender not restricted */
sfsistat	milt_spam_answer(SMFICTX *ctx, const milt_conn *c);
/* milt_fill_facts - the restriction record of crossing cr at now */
void		milt_fill_facts(store_restriction *r, const milt_conn *c,
    const pol_crossing *cr, int64_t now);
/* milt_mail_tempfail - a 451 decided at MAIL FROM: answered there, or kept
 * for the message's judgement where the MTA does not wait at MAIL FROM
 * (xcode, text: static strings) */
sfsistat	milt_mail_tempfail(SMFICTX *ctx, milt_conn *c, const char *xcode,
    const char *text);
/* milt_mail_pass - a message not ours to count: accepted at MAIL FROM, or
 * no reply there (accepted at DATA) */
sfsistat	milt_mail_pass(const milt_conn *c);
/* milt_move_ran_out - best effort: the sender's restriction that ran out
 * becomes history (logged if it cannot); never under the counts' barrier */
void		milt_move_ran_out(milt_conn *c, int64_t now);
/* milt_queue_alert - hand r to the alert thread (after its commit) */
void		milt_queue_alert(const milt_conn *c, const store_restriction *r,
    milt_alert_kind kind);

/* mlfi.c */

/* milt_capture_queue_id - remember "i" whenever the MTA offers it: Postfix
 * sends it from the first or second RCPT, Sendmail at MAIL FROM */
void		milt_capture_queue_id(SMFICTX *ctx, milt_msg *m);

/* mlfi_judge.c */

/* milt_judge - count the message against the limits, or refuse it whole;
 * at where ("DATA" or "end of message", for the log), which has all the
 * recipients (and, at end of message, the content spam checking reads) */
sfsistat	milt_judge(SMFICTX *ctx, milt_conn *c, const char *where);
/* milt_refuse_if_restricted - read the sender's restriction alone and
 * refuse the message at where if there is one; SMFIS_CONTINUE if not.
 * Read in autocommit: a restriction cleared a moment ago is gone.  The
 * message's judgement is still to come (at DATA or end of message), so a
 * database error under on_store_error = accept leaves the message to it
 * (continue): accepting here would skip its counts and spam verdict. */
sfsistat	milt_refuse_if_restricted(SMFICTX *ctx, milt_conn *c,
    const char *where);

#endif
