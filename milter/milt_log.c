/*
 * milt_log.c - logging through syslog(3), with the configured facility.
 *
 * With -f, openlog's LOG_PERROR copies every line to stderr as well, which
 * is what an operator running in the foreground wants (and these machines
 * often have no syslog daemon).  syslog(3) is thread-safe; so is this.
 */
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#include "milt.h"

void
milt_log_open(int facility, bool to_stderr)
{
	openlog("sendguard", LOG_PID | LOG_NDELAY | (to_stderr ? LOG_PERROR : 0),
	    facility);
}

void
milt_log_close(void)
{
	closelog();
}

void
milt_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
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
