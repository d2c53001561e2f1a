/*
 * milt_log.c - logging through syslog(3), with the configured facility.
 *
 * With -f every line goes to stderr as well, which is what an operator
 * running in the foreground wants (and these machines often have no
 * syslog daemon).
 *
 * Without /dev/log, glibc's syslog(3) tries to reconnect on every call: a
 * socket(), a failed connect() and a close() per line, about a third of
 * sendguard's system calls per message.  So a line goes to syslog only
 * while /dev/log exists, which is looked at once at start-up and then at
 * most every MILT_LOG_RECHECK seconds, so a syslog daemon started later
 * is picked up.  The stderr copy is written here, in one write(2).
 *
 * Thread-safe: syslog(3) is; the state here is atomic.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "milt.h"

#define MILT_LOG_PATH		"/dev/log"
#define MILT_LOG_RECHECK	60	/* seconds between looks at /dev/log */
#define MILT_LOG_LINE		2048

static bool milt_log_stderr;
static atomic_bool milt_log_syslog;	/* /dev/log was there last time */
static _Atomic int64_t milt_log_checked;	/* when we last looked */

/* syslog_present - is there a /dev/log to log to?  (cached) */
static bool
syslog_present(void)
{
	int64_t now = (int64_t)time(NULL), last = atomic_load(&milt_log_checked);
	struct stat sb;

	if (now - last >= MILT_LOG_RECHECK &&
	    atomic_compare_exchange_strong(&milt_log_checked, &last, now))
		atomic_store(&milt_log_syslog, stat(MILT_LOG_PATH, &sb) == 0);
	return atomic_load(&milt_log_syslog);
}

void
milt_log_open(int facility, bool to_stderr)
{
	struct stat sb;

	milt_log_stderr = to_stderr;
	atomic_store(&milt_log_syslog, stat(MILT_LOG_PATH, &sb) == 0);
	atomic_store(&milt_log_checked, (int64_t)time(NULL));
	openlog("sendguard", LOG_PID | LOG_NDELAY, facility);
}

void
milt_log_close(void)
{
	closelog();
}

void
milt_log(int priority, const char *fmt, ...)
{
	char line[MILT_LOG_LINE];
	va_list ap;
	int n;

	if (syslog_present()) {
		va_start(ap, fmt);
		vsyslog(priority, fmt, ap);
		va_end(ap);
	}
	if (!milt_log_stderr)
		return;
	n = snprintf(line, sizeof(line), "sendguard[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, (size_t)n);
}

char *
milt_printable(const char *in, char *out, size_t outlen)
{
	size_t i;

	if (in == NULL)
		in = "(none)";
	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[i] = '\0';
	if (in[i] != '\0' && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
	return out;
}
