/*
 * milt_alert.h - telling admins that a sender was restricted, or crossed a
 * limit with action "alert": a mail through the MTA's sendmail(1) to
 * alerts.mail_to and/or a run of alerts.command.
 *
 * The milter's threads only enqueue a small record (milt_alert_enqueue,
 * which never blocks and never fails the message); one alert thread does
 * the work, with the configuration generation current at that moment.
 * A full queue, a daily cap, a failing or hanging program: each is logged
 * and counted, never felt by mail.  Thread-safe.
 */
#ifndef SENDGUARD_MILT_ALERT_H
#define SENDGUARD_MILT_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include "../conf/conf.h"
#include "../store/store.h"

typedef enum {
	MILT_ALERT_RESTRICTED = 0,	/* the sender is now refused */
	MILT_ALERT_CROSSED		/* action "alert": nothing refused */
} milt_alert_kind;

/* One notification: the facts as committed to the database. */
typedef struct milt_alert {
	milt_alert_kind	ma_kind;
	char		ma_action[32];	/* pol_action_name() */
	store_restriction ma_facts;
} milt_alert;

/* milt_alert_start - start the alert thread; 0, or -1 with err. */
int		milt_alert_start(char *err, size_t errlen);

/*
 * milt_alert_enqueue - hand a copy of a to the alert thread.  Never
 * blocks: if the queue is full the alert is logged as suppressed.
 */
void		milt_alert_enqueue(const milt_alert *a);

/*
 * milt_alert_stop - let the thread finish what is queued for at most
 * wait_ms (what is left is logged as dropped), then join it.
 */
void		milt_alert_stop(int wait_ms);

/*
 * milt_json_string - append s to out (size outlen, NUL-terminated) as a
 * JSON string with its quotes: '"', '\\' and control characters (C0,
 * DEL, C1, bidi overrides and isolates: util_cp_control) escaped, bytes
 * that are not valid UTF-8 replaced by U+FFFD.  Returns false if it
 * did not fit (out then ends before the string).
 */
bool		milt_json_string(char *out, size_t outlen, const char *s);

/*
 * milt_alert_mail - the whole alert mail of a, headers and body, to the
 * admins of ca, from sendguard on host, into buf (len bytes).  Its
 * sendguardctl commands name the identity exactly (milt_shell_word) after
 * "--", so that one starting with '-' is not taken for an option.  false
 * if it does not fit.
 */
bool		milt_alert_mail(const milt_alert *a, const conf_alerts *ca,
    const char *host, char *buf, size_t len);

/*
 * milt_shell_word - s as one word for an admin to paste into bash: bare
 * if plain, single-quoted if printable ASCII, else $'...' with \xHH for
 * the other bytes (the alert mail is ASCII, and names the identity
 * exactly).  buf or s itself; NULL if it does not fit in buf (len).
 */
const char     *milt_shell_word(const char *s, char *buf, size_t len);

#endif
