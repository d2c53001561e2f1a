/*
 * milt_alert.c - the alert thread: one mail and/or one command per
 * restriction, away from the milter's threads.
 *
 * mlfi_eom enqueues a milt_alert after the restriction is committed; this
 * thread takes them in order and, with the configuration current at that
 * moment, runs alerts.sendmail_path (mail to alerts.mail_to) and
 * alerts.command.  Programs are started with posix_spawn(3): execve
 * semantics, no shell, safe in a threaded process; each gets its own
 * process group, default signal handling, an empty signal mask, no
 * inherited descriptors beyond stdin (a pipe with the message or the JSON)
 * and stdout/stderr on /dev/null, and is killed with its whole group after
 * alerts.timeout_ms.  The mail comes from the null sender, which sendguard
 * never counts (a local submission from <> is exempt, see mlfi_envfrom),
 * and carries Auto-Submitted: auto-generated (RFC 3834), so alerts cannot
 * loop.
 *
 * alerts.daily_limit caps alerts per UTC day (in memory: a restart starts
 * the count again); an alert over the cap, or one that finds the queue
 * full, is logged with the day's count of suppressed alerts.  The
 * restriction itself is always in the database and in the log.
 *
 * Memory: the queue is a fixed array; nothing is allocated per alert
 * except by posix_spawn.  Thread-safety: one mutex guards the queue.
 */
#define _GNU_SOURCE		/* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "milt.h"
#include "milt_alert.h"
#include "../util/util.h"

#define MILT_ALERT_QUEUE	64	/* alerts waiting for the thread */
/* the mail or the JSON: headers with the To: of at most CONF_MAIL_TO_MAX
 * bytes, and a body whose facts are bounded by the store's sizes */
#define MILT_ALERT_MSG_SIZE	16384
#define MILT_ALERT_ENV_SIZE	512	/* one environment variable */
#define MILT_ALERT_ENV_MAX	16
#define MILT_ALERT_ARGV_MAX	(8 + 100)	/* options + alerts.mail_to */

static pthread_mutex_t milt_alert_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t milt_alert_cond = PTHREAD_COND_INITIALIZER;
static milt_alert milt_alert_q[MILT_ALERT_QUEUE];
static size_t milt_alert_head, milt_alert_n;	/* guarded by the lock */
static bool milt_alert_stopping;		/* guarded by the lock */
static struct timespec milt_alert_deadline;	/* guarded by the lock */
static pthread_t milt_alert_tid;
static bool milt_alert_running;
/* Alerts the full queue turned away; the thread adds them to the day's. */
static atomic_uint milt_alert_overflow;
static unsigned long milt_alert_seq;		/* Message-ID, thread only */

extern char **environ;

/* utc_time - "2026-11-23T01:02:03Z" */
static const char *
utc_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* expiry_text - the expiry, or "" for none */
static const char *
expiry_text(const store_restriction *r, char *buf, size_t len)
{
	if (!r->sr_has_expiry) {
		buf[0] = '\0';
		return buf;
	}
	return utc_time(r->sr_expires_at, buf, len);
}

/* appendf - printf at the end of buf; false once it no longer fits */
__attribute__((format(printf, 3, 4)))
static bool
appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return r >= 0 && (size_t)r < len - n;
}

bool
milt_json_string(char *out, size_t outlen, const char *s)
{
	size_t start = strlen(out), n = start, k;
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	char esc[8];

#define PUT(str, len) do {					\
		if (n + (len) + 1 > outlen) goto full;		\
		memcpy(out + n, (str), (len));			\
		n += (len);					\
	} while (0)
	PUT("\"", 1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			PUT(esc, 2);
			p++;
		} else if ((k = util_utf8_decode(p, &cp)) == 0) {
			PUT("\\ufffd", 6);
			p++;
		} else if (util_cp_control(cp)) {
			/* C0, DEL, C1, bidi overrides: as sendguardctl */
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			PUT(esc, 6);
			p += k;
		} else {
			PUT(p, k);
			p += k;
		}
	}
	PUT("\"", 1);
#undef PUT
	out[n] = '\0';
	return true;
full:
	out[start] = '\0';
	return false;
}

const char *
milt_shell_word(const char *s, char *buf, size_t len)
{
	const unsigned char *p;
	bool ascii = true;
	size_t n = 0;

	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789@._+-=") == strlen(s) && *s != '\0' && *s != '-')
		return s;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			ascii = false;
	if (!ascii)
		buf[n++] = '$';
	buf[n++] = '\'';
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (n + 8 > len)
			return NULL;
		if (ascii && *p == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else if (!ascii && (*p == '\'' || *p == '\\')) {
			buf[n++] = '\\';
			buf[n++] = (char)*p;
		} else if (*p < 0x20 || *p > 0x7e)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", *p);
		else
			buf[n++] = (char)*p;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}

/* alert_subject - the one-line summary, cleaned for a header */
static void
alert_subject(const milt_alert *a, char *buf, size_t len)
{
	char id[STORE_IDENTITY_SIZE];

	milt_printable(a->ma_facts.sr_identity, id, sizeof(id));
	if (a->ma_kind == MILT_ALERT_RESTRICTED)
		snprintf(buf, len, "sendguard: %s restricted from sending email",
		    id);
	else
		snprintf(buf, len, "sendguard: %s crossed a limit (action alert, "
		    "nothing refused)", id);
}

bool
milt_alert_mail(const milt_alert *a, const conf_alerts *ca, const char *host,
    char *buf, size_t len)
{
	const store_restriction *r = &a->ma_facts;
	char subject[STORE_IDENTITY_SIZE + 80], date[64], t[32], exp[32];
	char id[STORE_IDENTITY_SIZE], why[STORE_REASON_SIZE];
	char client[STORE_ADDR_SIZE], qid[STORE_QUEUEID_SIZE];
	char word[4 * STORE_IDENTITY_SIZE + 8];
	const char *w;
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	bool ok;

	alert_subject(a, subject, sizeof(subject));
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 +0000");
	milt_printable(r->sr_identity, id, sizeof(id));
	milt_printable(r->sr_reason, why, sizeof(why));
	milt_printable(r->sr_client_address[0] ? r->sr_client_address :
	    "unknown", client, sizeof(client));
	milt_printable(r->sr_queue_id[0] ? r->sr_queue_id : "NOQUEUE", qid,
	    sizeof(qid));

	buf[0] = '\0';
	/* No domain: the MTA qualifies it with its own (Postfix's
	 * $myorigin), where the host name may be unqualified. */
	ok = appendf(buf, len, "From: sendguard <MAILER-DAEMON>\n") &&
	    appendf(buf, len, "To: ");
	for (i = 0; ok && i < ca->ca_nmail_to; i++)
		ok = appendf(buf, len, "%s%s", i > 0 ? ",\n    " : "",
		    ca->ca_mail_to[i]);
	ok = ok && appendf(buf, len, "\nSubject: %s\n"
	    "Date: %s\n"
	    "Message-ID: <%lld.%ld.%lu.sendguard@%s>\n"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n\n",
	    subject, date, (long long)now, (long)getpid(), ++milt_alert_seq,
	    host);
	if (a->ma_kind == MILT_ALERT_RESTRICTED)
		ok = ok && appendf(buf, len, "sendguard on %s restricted %s from "
		    "sending email: every further message\nfrom this sender is "
		    "refused %s.\n\n", host, id, r->sr_has_expiry ?
		    "until the time below" : "until an admin clears it");
	else
		ok = ok && appendf(buf, len, "sendguard on %s saw %s cross a "
		    "limit. The action is \"alert\": the\nlimit refuses "
		    "nothing, and the sender is not restricted.\n\n", host, id);
	ok = ok && appendf(buf, len,
	    "Identity:         %s\n"
	    "Reason:           %s\n"
	    "Limit:            %s = %u\n"
	    "Count:            %u\n"
	    "Action:           %s\n",
	    id, why, r->sr_limit, r->sr_limit_value, r->sr_count, a->ma_action);
	if (a->ma_kind == MILT_ALERT_RESTRICTED)
		ok = ok && appendf(buf, len, "Restricted until: %s\n",
		    r->sr_has_expiry ? utc_time(r->sr_expires_at, exp,
		    sizeof(exp)) : "cleared by an admin");
	ok = ok && appendf(buf, len,
	    "Client address:   %s\n"
	    "Queue id:         %s\n"
	    "Time:             %s\n\n",
	    client, qid, utc_time(r->sr_created_at, t, sizeof(t)));
	/* the identity itself, not its cleaned copy; after "--", which
	 * keeps one that starts with '-' from being read as an option */
	if ((w = milt_shell_word(r->sr_identity, word, sizeof(word))) == NULL)
		w = "IDENTITY";
	if (a->ma_kind == MILT_ALERT_RESTRICTED)
		ok = ok && appendf(buf, len, "What to do: find out why this "
		    "sender sent %s (a stolen password,\na compromised "
		    "script?), then see and lift the restriction:\n\n"
		    "    sendguardctl show -- %s\n"
		    "    sendguardctl unblock -- %s\n",
		    strncmp(r->sr_limit, "spam_", 5) == 0 ? "spam" : "so much",
		    w, w);
	else
		ok = ok && appendf(buf, len, "What to do: check that this "
		    "sender's volume is expected; its history:\n\n"
		    "    sendguardctl show -- %s\n", w);
	return ok;
}

/* build_json - the facts as one JSON object, with a newline */
static bool
build_json(const milt_alert *a, const char *host, char *buf, size_t len)
{
	const store_restriction *r = &a->ma_facts;
	char t[32], exp[32];
	bool ok;

	buf[0] = '\0';
	ok = appendf(buf, len, "{\"event\":") &&
	    milt_json_string(buf, len, a->ma_kind == MILT_ALERT_RESTRICTED ?
	    "restricted" : "alert") &&
	    appendf(buf, len, ",\"identity\":") &&
	    milt_json_string(buf, len, r->sr_identity) &&
	    appendf(buf, len, ",\"reason\":") &&
	    milt_json_string(buf, len, r->sr_reason) &&
	    appendf(buf, len, ",\"limit\":") &&
	    milt_json_string(buf, len, r->sr_limit) &&
	    appendf(buf, len, ",\"limit_value\":%u,\"count\":%u,\"action\":",
	    r->sr_limit_value, r->sr_count) &&
	    milt_json_string(buf, len, a->ma_action) &&
	    appendf(buf, len, ",\"client_address\":") &&
	    milt_json_string(buf, len, r->sr_client_address) &&
	    appendf(buf, len, ",\"queue_id\":") &&
	    milt_json_string(buf, len, r->sr_queue_id) &&
	    appendf(buf, len, ",\"time\":\"%s\",\"unix_time\":%lld,"
	    "\"expires\":", utc_time(r->sr_created_at, t, sizeof(t)),
	    (long long)r->sr_created_at);
	if (a->ma_kind == MILT_ALERT_RESTRICTED && r->sr_has_expiry)
		ok = ok && appendf(buf, len, "\"%s\"", utc_time(r->sr_expires_at,
		    exp, sizeof(exp)));
	else
		ok = ok && appendf(buf, len, "null");
	ok = ok && appendf(buf, len, ",\"host\":") &&
	    milt_json_string(buf, len, host) && appendf(buf, len, "}\n");
	return ok;
}

/* past - has the monotonic clock passed t? */
static bool
past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	    (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}


/* stop_due - sendguard is stopping and the alerts' time is up */
static bool
stop_due(void)
{
	bool due;

	pthread_mutex_lock(&milt_alert_lock);
	due = milt_alert_stopping && past(&milt_alert_deadline);
	pthread_mutex_unlock(&milt_alert_lock);
	return due;
}

/* elapsed_ms - milliseconds since t0 (CLOCK_MONOTONIC) */
static int64_t
elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* run_program - run argv[0] with envp, input on its stdin, killed with its
 * process group after timeout_ms; logs the outcome; 0 if it exited 0 */
static int
run_program(char *const argv[], char *const envp[], const char *input,
    int timeout_ms, const char *what)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct timespec t0;
	int pfd[2] = { -1, -1 }, status = 0, e, rc = -1;
	bool stopping = false;
	size_t len = strlen(input);
	ssize_t w;
	pid_t pid, r;

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		milt_log(LOG_ERR, "alert: %s: pipe: %s", what, strerror(errno));
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	e = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[0]);
	if (e != 0) {
		milt_log(LOG_ERR, "alert: %s: cannot run %s: %s", what, argv[0],
		    strerror(e));
		close(pfd[1]);
		return -1;
	}

	/* The input fits in the pipe's buffer: this write does not block. */
	(void)fcntl(pfd[1], F_SETFL, O_NONBLOCK);
	w = write(pfd[1], input, len);
	if (w != (ssize_t)len)
		milt_log(LOG_WARNING, "alert: %s: %s took %zd of %zu bytes of "
		    "input", what, argv[0], w < 0 ? (ssize_t)0 : w, len);
	close(pfd[1]);

	/* Bounded by the clock, not by ticks (a loaded machine sleeps
	 * longer), and by sendguard's own stop. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	    elapsed_ms(&t0) < timeout_ms && !(stopping = stop_due()))
		nanosleep(&tick, NULL);
	if (r == 0) {
		(void)kill(-pid, SIGKILL);
		while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
		if (stopping)
			milt_log(LOG_ERR, "alert: %s: %s killed after %" PRId64
			    " ms: sendguard is stopping", what, argv[0],
			    elapsed_ms(&t0));
		else
			milt_log(LOG_ERR, "alert: %s: %s killed after %d ms "
			    "(alerts.timeout_ms)", what, argv[0], timeout_ms);
		return -1;
	}
	if (r < 0)
		milt_log(LOG_ERR, "alert: %s: waitpid: %s", what,
		    strerror(errno));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		milt_log(LOG_ERR, "alert: %s: %s exited with status %d", what,
		    argv[0], WEXITSTATUS(status));
	else
		milt_log(LOG_ERR, "alert: %s: %s killed by signal %d", what,
		    argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return rc;
}

/* send_mail - sendmail -i -f <> -- rcpt... with the message on stdin */
static void
send_mail(const milt_alert *a, const conf_alerts *ca, const char *host)
{
	char msg[MILT_ALERT_MSG_SIZE], what[STORE_IDENTITY_SIZE + 16];
	char *argv[MILT_ALERT_ARGV_MAX];
	size_t i, n = 0;

	snprintf(what, sizeof(what), "mail for %s", a->ma_facts.sr_identity);
	if (!milt_alert_mail(a, ca, host, msg, sizeof(msg))) {
		milt_log(LOG_ERR, "alert: %s: the message does not fit in %zu "
		    "bytes; not sent", what, sizeof(msg));
		return;
	}
	argv[n++] = ca->ca_sendmail_path;
	argv[n++] = (char *)"-i";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)"<>";
	argv[n++] = (char *)"--";
	for (i = 0; i < ca->ca_nmail_to && n + 1 < MILT_ALERT_ARGV_MAX; i++)
		argv[n++] = ca->ca_mail_to[i];
	argv[n] = NULL;
	/* sendmail gets sendguard's own environment (MAIL_CONFIG, ...). */
	if (run_program(argv, environ, msg, ca->ca_timeout_ms, what) == 0)
		milt_log(LOG_INFO, "alert: %s sent to %zu recipient(s) with %s",
		    what, ca->ca_nmail_to, ca->ca_sendmail_path);
}

/* add_env - append NAME=value to envp (storage in slots) */
static void
add_env(char **envp, size_t *n, char slots[][MILT_ALERT_ENV_SIZE],
    const char *name, const char *value)
{
	if (*n + 1 >= MILT_ALERT_ENV_MAX)
		return;
	snprintf(slots[*n], MILT_ALERT_ENV_SIZE, "%s=%s", name, value);
	envp[*n] = slots[*n];
	envp[++*n] = NULL;
}

/* run_command - alerts.command with SENDGUARD_* and the JSON on stdin */
static void
run_command(const milt_alert *a, const conf_alerts *ca, const char *host)
{
	static char slots[MILT_ALERT_ENV_MAX][MILT_ALERT_ENV_SIZE];
	const store_restriction *r = &a->ma_facts;
	char json[MILT_ALERT_MSG_SIZE], what[STORE_IDENTITY_SIZE + 16];
	char *envp[MILT_ALERT_ENV_MAX], *argv[2], num[3][16], t[32], exp[32];
	size_t n = 0;

	snprintf(what, sizeof(what), "command for %s", r->sr_identity);
	if (!build_json(a, host, json, sizeof(json))) {
		milt_log(LOG_ERR, "alert: %s: the JSON does not fit in %zu "
		    "bytes; not run", what, sizeof(json));
		return;
	}
	snprintf(num[0], sizeof(num[0]), "%u", r->sr_limit_value);
	snprintf(num[1], sizeof(num[1]), "%u", r->sr_count);
	snprintf(num[2], sizeof(num[2]), "%lld", (long long)r->sr_created_at);
	envp[0] = NULL;
	add_env(envp, &n, slots, "PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
	add_env(envp, &n, slots, "SENDGUARD_EVENT",
	    a->ma_kind == MILT_ALERT_RESTRICTED ? "restricted" : "alert");
	add_env(envp, &n, slots, "SENDGUARD_IDENTITY", r->sr_identity);
	add_env(envp, &n, slots, "SENDGUARD_REASON", r->sr_reason);
	add_env(envp, &n, slots, "SENDGUARD_LIMIT", r->sr_limit);
	add_env(envp, &n, slots, "SENDGUARD_LIMIT_VALUE", num[0]);
	add_env(envp, &n, slots, "SENDGUARD_COUNT", num[1]);
	add_env(envp, &n, slots, "SENDGUARD_ACTION", a->ma_action);
	add_env(envp, &n, slots, "SENDGUARD_CLIENT_ADDRESS",
	    r->sr_client_address);
	add_env(envp, &n, slots, "SENDGUARD_QUEUE_ID", r->sr_queue_id);
	add_env(envp, &n, slots, "SENDGUARD_TIME",
	    utc_time(r->sr_created_at, t, sizeof(t)));
	add_env(envp, &n, slots, "SENDGUARD_UNIX_TIME", num[2]);
	add_env(envp, &n, slots, "SENDGUARD_EXPIRES",
	    a->ma_kind == MILT_ALERT_RESTRICTED ? expiry_text(r, exp,
	    sizeof(exp)) : "");
	add_env(envp, &n, slots, "SENDGUARD_HOST", host);
	argv[0] = ca->ca_command;
	argv[1] = NULL;
	if (run_program(argv, envp, json, ca->ca_timeout_ms, what) == 0)
		milt_log(LOG_INFO, "alert: %s: %s succeeded", what,
		    ca->ca_command);
}

/* alert_one - deliver one alert under the daily cap; *day, *sent and
 * *suppressed are the thread's count for the current UTC day */
static void
alert_one(const milt_alert *a, int64_t *day, unsigned *sent,
    unsigned *suppressed)
{
	milt_conf *mc = milt_conf_acquire();
	const conf_alerts *ca;
	char host[256], id[STORE_IDENTITY_SIZE];
	int64_t today = (int64_t)time(NULL) / 86400;
	unsigned over;

	if (mc == NULL)
		return;
	ca = conf_alerts_get(mc->mc_conf);
	if (today != *day) {
		if (*suppressed > 0)
			milt_log(LOG_WARNING, "alert: %u alert(s) suppressed on "
			    "the previous day", *suppressed);
		*day = today;
		*sent = *suppressed = 0;
	}
	if ((over = atomic_exchange(&milt_alert_overflow, 0)) > 0)
		*suppressed += over;
	if (ca->ca_nmail_to == 0 && ca->ca_command[0] == '\0')
		goto out;		/* alerts are off */
	milt_printable(a->ma_facts.sr_identity, id, sizeof(id));
	if (ca->ca_daily_limit > 0 && *sent >= (unsigned)ca->ca_daily_limit) {
		++*suppressed;
		milt_log(LOG_WARNING, "alert: %s for %s (%s) suppressed: "
		    "alerts.daily_limit %d reached today; %u suppressed today",
		    a->ma_kind == MILT_ALERT_RESTRICTED ? "restriction" :
		    "limit crossing", id, a->ma_facts.sr_reason,
		    ca->ca_daily_limit, *suppressed);
		goto out;
	}
	++*sent;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (ca->ca_nmail_to > 0)
		send_mail(a, ca, host);
	if (ca->ca_command[0] != '\0')
		run_command(a, ca, host);
out:
	milt_conf_release(mc);
}

/* alert_thread - take alerts off the queue, in order, until stopped */
static void *
alert_thread(void *arg)
{
	int64_t day = 0;
	unsigned sent = 0, suppressed = 0;
	milt_alert a;

	(void)arg;
	pthread_mutex_lock(&milt_alert_lock);
	for (;;) {
		while (milt_alert_n == 0 && !milt_alert_stopping)
			pthread_cond_wait(&milt_alert_cond, &milt_alert_lock);
		if (milt_alert_n == 0 ||
		    (milt_alert_stopping && past(&milt_alert_deadline)))
			break;
		a = milt_alert_q[milt_alert_head];
		milt_alert_head = (milt_alert_head + 1) % MILT_ALERT_QUEUE;
		milt_alert_n--;
		pthread_mutex_unlock(&milt_alert_lock);
		alert_one(&a, &day, &sent, &suppressed);
		pthread_mutex_lock(&milt_alert_lock);
	}
	if (milt_alert_n > 0)
		milt_log(LOG_WARNING, "alert: %zu alert(s) not sent: sendguard "
		    "is stopping", milt_alert_n);
	pthread_mutex_unlock(&milt_alert_lock);
	return NULL;
}

int
milt_alert_start(char *err, size_t errlen)
{
	int e;

	if ((e = pthread_create(&milt_alert_tid, NULL, alert_thread, NULL))
	    != 0) {
		snprintf(err, errlen, "cannot start the alert thread: %s",
		    strerror(e));
		return -1;
	}
	milt_alert_running = true;
	return 0;
}

void
milt_alert_enqueue(const milt_alert *a)
{
	char id[STORE_IDENTITY_SIZE];
	bool full;

	pthread_mutex_lock(&milt_alert_lock);
	full = milt_alert_n == MILT_ALERT_QUEUE || milt_alert_stopping;
	if (!full) {
		milt_alert_q[(milt_alert_head + milt_alert_n) %
		    MILT_ALERT_QUEUE] = *a;
		milt_alert_n++;
		pthread_cond_signal(&milt_alert_cond);
	}
	pthread_mutex_unlock(&milt_alert_lock);
	if (full) {
		atomic_fetch_add(&milt_alert_overflow, 1);
		milt_log(LOG_WARNING, "alert for %s (%s) suppressed: %d alerts "
		    "are already waiting", milt_printable(a->ma_facts.sr_identity,
		    id, sizeof(id)), a->ma_facts.sr_reason, MILT_ALERT_QUEUE);
	}
}

void
milt_alert_stop(int wait_ms)
{
	if (!milt_alert_running)
		return;
	pthread_mutex_lock(&milt_alert_lock);
	milt_alert_stopping = true;
	clock_gettime(CLOCK_MONOTONIC, &milt_alert_deadline);
	milt_alert_deadline.tv_sec += wait_ms / 1000;
	milt_alert_deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (milt_alert_deadline.tv_nsec >= 1000000000L) {
		milt_alert_deadline.tv_sec++;
		milt_alert_deadline.tv_nsec -= 1000000000L;
	}
	pthread_cond_signal(&milt_alert_cond);
	pthread_mutex_unlock(&milt_alert_lock);
	pthread_join(milt_alert_tid, NULL);
	milt_alert_running = false;
}
