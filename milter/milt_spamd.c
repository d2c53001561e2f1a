/*
 * milt_spamd.c - a client of SpamAssassin's spamd (SPAMC/1.5, CHECK).
 *
 *   CHECK SPAMC/1.5\r\n Content-length: N\r\n \r\n <message>
 *   SPAMD/1.1 0 EX_OK\r\n Spam: True ; 1005.2 / 5.0\r\n \r\n
 *
 * spamd must never hold mail up past spam.timeout_ms: the socket is
 * non-blocking and every step (connect, write, read) polls against one
 * deadline on the monotonic clock.  On any failure the message counts as
 * unscanned; milt_spamd_warn() logs that at most once a minute, with the
 * number of failures in between, so a dead spamd does not flood the log.
 *
 * Thread safety: milt_spamd_check() uses only its arguments and a socket
 * of its own; the warning's clock is behind a mutex.  Errors: the verdict
 * POL_SPAM_NONE with a message in err; nothing here exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "milt.h"

#define SPAMD_ANSWER_MAX	4096	/* CHECK's answer is a few lines */
#define SPAMD_WARN_EVERY	60	/* seconds between warnings */

/* wait_fd - poll fd for events until the deadline; 0, or -1 with err */
static int
wait_fd(int fd, short events, int64_t deadline, const char *what,
    char *err, size_t errlen)
{
	struct pollfd p = { fd, events, 0 };
	int64_t left;
	int rc;

	for (;;) {
		left = deadline - milt_mono_ms();
		if (left <= 0) {
			snprintf(err, errlen, "timed out %s", what);
			return -1;
		}
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll while %s: %s", what,
			    strerror(errno));
			return -1;
		}
	}
}

/* connect_spamd - a connected non-blocking socket, or -1 with err */
static int
connect_spamd(const conf_spamd *sd, int64_t deadline, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, soerr = 0;
	socklen_t el = sizeof(soerr);

	memset(&ss, 0, sizeof(ss));
	if (sd->cs_unix) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;

		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", sd->cs_path);
		sl = sizeof(*un);
	} else if (sd->cs_family == POL_NET_IPV4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)sd->cs_port);
		memcpy(&in->sin_addr, sd->cs_addr, 4);
		sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)sd->cs_port);
		memcpy(&in6->sin6_addr, sd->cs_addr, 16);
		sl = sizeof(*in6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, deadline, "connecting", err, errlen) != 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 ||
	    soerr != 0) {
		snprintf(err, errlen, "connect: %s",
		    strerror(soerr != 0 ? soerr : errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* send_all - write n bytes before the deadline; 0, or -1 with err */
static int
send_all(int fd, const char *p, size_t n, int64_t deadline, char *err,
    size_t errlen)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline, "sending", err, errlen) != 0)
			return -1;
	}
	return 0;
}

pol_spam_verdict
milt_spamd_check(const conf_spamd *sd, int timeout_ms, const char *msg,
    size_t len, pol_spam_result *res, char *err, size_t errlen)
{
	int64_t deadline = milt_mono_ms() + timeout_ms;
	char head[96], answer[SPAMD_ANSWER_MAX];
	pol_spam_verdict v = POL_SPAM_NONE;
	size_t got = 0;
	ssize_t r;
	int fd;

	memset(res, 0, sizeof(*res));
	if ((fd = connect_spamd(sd, deadline, err, errlen)) < 0)
		return POL_SPAM_NONE;
	snprintf(head, sizeof(head), "CHECK SPAMC/1.5\r\nContent-length: "
	    "%zu\r\n\r\n", len);
	if (send_all(fd, head, strlen(head), deadline, err, errlen) != 0 ||
	    send_all(fd, msg, len, deadline, err, errlen) != 0)
		goto out;
	(void)shutdown(fd, SHUT_WR);
	/* spamd answers and closes: read to the end, or a full buffer */
	while (got < sizeof(answer)) {
		r = recv(fd, answer + got, sizeof(answer) - got, 0);
		if (r == 0)
			break;
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "recv: %s", strerror(errno));
			goto out;
		}
		if (wait_fd(fd, POLLIN, deadline, "waiting for the answer",
		    err, errlen) != 0)
			goto out;
	}
	v = pol_spamd_parse(answer, got, res);
	if (v == POL_SPAM_NONE)
		snprintf(err, errlen, "%s", res->psr_note[0] != '\0' ?
		    res->psr_note : "no verdict in the answer");
out:
	close(fd);
	return v;
}

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t warn_last;
static unsigned long warn_quiet;	/* failures since the last warning */

void
milt_spamd_warn(const conf_spamd *sd, const char *err)
{
	char clean[256];
	time_t now = time(NULL);
	unsigned long quiet = 0;
	bool say = false;

	pthread_mutex_lock(&warn_lock);
	if (warn_last == 0 || now - warn_last >= SPAMD_WARN_EVERY ||
	    now < warn_last) {
		say = true;
		quiet = warn_quiet;
		warn_quiet = 0;
		warn_last = now;
	} else
		warn_quiet++;
	pthread_mutex_unlock(&warn_lock);
	if (say)
		milt_log(LOG_WARNING, "spamd %s: %s; messages are accepted "
		    "unscanned (warned at most once a minute; %lu more "
		    "failures since the last warning)", sd->cs_spec,
		    milt_printable(err, clean, sizeof(clean)), quiet);
}
