/*
 * miltgen.c - a milter-protocol load generator: it plays the MTA side of
 * the milter protocol (version 6) against a milter, the way Postfix does,
 * and reports messages/s and the latency of each message.
 *
 * Each of N threads holds one milter connection and sends messages over
 * it: option negotiation, connect (with macros), helo, and per message
 * MAIL (with {auth_authen}), RCPT..., DATA, headers, end of headers, a
 * body chunk and end of message, then ABORT as Postfix's smtpd does after
 * every message.  What the milter negotiated away is honoured: a stage it
 * does not want is not sent (its macros still are, as Postfix does), and
 * no reply is awaited where it said it would not send one; a final reply
 * before end of message (sendguard accepts or refuses at DATA) ends the
 * message there, as the MTA then sends it nothing more.  Writes are
 * buffered and flushed before every read, like Postfix's VSTREAM, so the
 * packets of one step leave in one write.
 *
 * Senders: message k (counted over all threads) authenticates as
 * user<k mod S>@bench.example, so S distinct senders share the load.
 * Latency: from the MAIL packet to the final reply (at DATA or end of
 * message).
 *
 * Output: one line "msgs=... secs=... rate=... p50_us=... p99_us=...
 * max_us=... continue=... accept=... reject=... tempfail=... other=...
 * failed=... pflags=0x..." on stdout.  Exit 0 when every message got a
 * final reply, 1 on any protocol or connection failure, 64 on bad usage.
 *
 * Thread safety: threads share only atomic counters and the options.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#define GEN_BUF_SIZE	8192
#define GEN_MAX_RCPTS	1000

/* What Postfix 3.7 offers: every stage may be skipped or left unanswered. */
#define GEN_OFFER	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | \
	SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | \
	SMFIP_RCPT_REJ | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
	SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | \
	SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)

/* The options, set once before the threads start. */
static struct {
	const char     *spec;		/* unix:/path or inet:port@host */
	unsigned	conns;		/* -c concurrent connections */
	unsigned long	msgs;		/* -n messages in all */
	unsigned long	senders;	/* -S distinct senders */
	unsigned	rcpts;		/* -r recipients per message */
	unsigned long	per_conn;	/* -m messages per connection, 0 = all */
	double		rate;		/* -R messages/s in all, 0 = flat out */
	const char     *client;	/* -a client address at connect */
	unsigned long	slow_ms;	/* -L report messages slower than this */
} opt = { NULL, 10, 10000, 10000, 1, 0, 0, "192.0.2.10", 0 };

static atomic_ulong next_msg;		/* the next message to send */
static atomic_ulong n_continue, n_accept, n_reject, n_tempfail, n_other;
static atomic_ulong n_failed;		/* messages without a final reply */
static atomic_ulong pflags_seen;	/* what the milter negotiated */
static struct timespec t_start;

/* One connection: its socket and the write buffer. */
typedef struct gen_conn {
	int		gc_fd;
	unsigned long	gc_pflags;	/* protocol flags the milter chose */
	char		gc_out[GEN_BUF_SIZE];
	size_t		gc_outlen;
	char		gc_in[GEN_BUF_SIZE];
} gen_conn;

/* Per-thread results. */
typedef struct gen_thread {
	pthread_t	gt_tid;
	unsigned	gt_index;
	uint32_t       *gt_lat;		/* latencies in microseconds */
	size_t		gt_nlat;
	size_t		gt_caplat;
	char		gt_err[256];
} gen_thread;

/* now_ns - monotonic nanoseconds */
static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* write_all - the whole buffer, or -1 */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* read_all - exactly n bytes, or -1 on EOF or error */
static int
read_all(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* flush - send what is buffered in one write */
static int
flush(gen_conn *c)
{
	int rc = c->gc_outlen > 0 ? write_all(c->gc_fd, c->gc_out,
	    c->gc_outlen) : 0;

	c->gc_outlen = 0;
	return rc;
}

/* put - buffer one packet: cmd and the strings or bytes in parts */
static int
put(gen_conn *c, char cmd, const char *data, size_t len)
{
	uint32_t nl = htonl((uint32_t)(len + 1));

	if (len + 5 > sizeof(c->gc_out))
		return -1;
	if (c->gc_outlen + len + 5 > sizeof(c->gc_out) && flush(c) != 0)
		return -1;
	memcpy(c->gc_out + c->gc_outlen, &nl, 4);
	c->gc_out[c->gc_outlen + 4] = cmd;
	if (len > 0)
		memcpy(c->gc_out + c->gc_outlen + 5, data, len);
	c->gc_outlen += len + 5;
	return 0;
}

/* pack - append NUL-terminated strings from a NULL-terminated list */
static size_t
pack(char *buf, size_t size, const char *const *strs)
{
	size_t n = 0, l;

	for (; *strs != NULL; strs++) {
		l = strlen(*strs) + 1;
		if (n + l > size)
			return size + 1;
		memcpy(buf + n, *strs, l);
		n += l;
	}
	return n;
}

/* put_strs - a packet of cmd, an optional leading byte and strings */
static int
put_strs(gen_conn *c, char cmd, char lead, const char *const *strs)
{
	char buf[2048];
	size_t off = lead != 0 ? 1 : 0, n;

	buf[0] = lead;
	n = pack(buf + off, sizeof(buf) - off, strs);
	if (n > sizeof(buf) - off)
		return -1;
	return put(c, cmd, buf, n + off);
}

/* get - read one reply packet: its command and data (NUL-terminated) */
static int
get(gen_conn *c, char *cmd, size_t *len)
{
	uint32_t nl;
	size_t n;

	if (flush(c) != 0 || read_all(c->gc_fd, (char *)&nl, 4) != 0)
		return -1;
	n = ntohl(nl);
	if (n < 1 || n > sizeof(c->gc_in))
		return -1;
	if (read_all(c->gc_fd, c->gc_in, n) != 0)
		return -1;
	*cmd = c->gc_in[0];
	memmove(c->gc_in, c->gc_in + 1, n - 1);
	c->gc_in[n - 1] = '\0';
	*len = n - 1;
	return 0;
}

/* want_reply - does the milter answer this stage? */
static bool
want_reply(const gen_conn *c, unsigned long nr_flag)
{
	return (c->gc_pflags & nr_flag) == 0;
}

/* step_reply - wait for an intermediate reply; 0 continue, 1 the message
 * was decided early (accept/reject/tempfail), -1 failure */
static int
step_reply(gen_conn *c, char *final)
{
	char cmd;
	size_t len;

	for (;;) {
		if (get(c, &cmd, &len) != 0)
			return -1;
		if (cmd == SMFIR_PROGRESS)
			continue;
		if (cmd == SMFIR_CONTINUE || cmd == SMFIR_SKIP)
			return 0;
		*final = cmd;
		return 1;
	}
}

/* count_final - tally a final reply */
static void
count_final(char cmd)
{
	switch (cmd) {
	case SMFIR_CONTINUE:
		atomic_fetch_add(&n_continue, 1);
		break;
	case SMFIR_ACCEPT:
		atomic_fetch_add(&n_accept, 1);
		break;
	case SMFIR_REJECT:
		atomic_fetch_add(&n_reject, 1);
		break;
	case SMFIR_TEMPFAIL:
		atomic_fetch_add(&n_tempfail, 1);
		break;
	case SMFIR_REPLYCODE:
		/* the code says which: "4xx" or "5xx" */
		atomic_fetch_add(&n_other, 1);
		break;
	default:
		atomic_fetch_add(&n_other, 1);
	}
}

/* conn_open - connect to the milter; -1 with err */
static int
conn_open(gen_conn *c, char *err, size_t errlen)
{
	const char *spec = opt.spec;
	int fd = -1;

	memset(c, 0, sizeof(*c));
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sun;
		const char *path = strchr(spec, ':') + 1;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		memcpy(sun.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) != 0)
			goto fail;
	} else if (strncmp(spec, "inet:", 5) == 0) {
		char port[16], host[256];
		const char *at = strchr(spec + 5, '@');
		struct addrinfo hints, *ai = NULL;
		int rc;

		snprintf(port, sizeof(port), "%.*s",
		    (int)(at != NULL ? (size_t)(at - spec - 5) :
		    strlen(spec + 5)), spec + 5);
		snprintf(host, sizeof(host), "%s", at != NULL ? at + 1 :
		    "127.0.0.1");
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
			snprintf(err, errlen, "%s: %s", spec, gai_strerror(rc));
			return -1;
		}
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			freeaddrinfo(ai);
			goto fail;
		}
		freeaddrinfo(ai);
	} else {
		snprintf(err, errlen, "%s: want unix:/path or inet:port@host",
		    spec);
		return -1;
	}
	c->gc_fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* session_start - negotiate, connect, helo; -1 with err */
static int
session_start(gen_conn *c, char *err, size_t errlen)
{
	char buf[12], cmd, final = 0;
	uint32_t v[3];
	size_t len;
	static const char *const conn_macros[] = { "j", "mx.bench.example",
	    "{daemon_name}", "smtpd", "{daemon_addr}", "127.0.0.1",
	    "v", "Postfix 3.7", "_", "client.bench.example [192.0.2.10]",
	    NULL };

	v[0] = htonl(SMFI_PROT_VERSION);
	v[1] = htonl(SMFI_CURR_ACTS);
	v[2] = htonl(GEN_OFFER);
	memcpy(buf, v, sizeof(buf));
	if (put(c, SMFIC_OPTNEG, buf, sizeof(buf)) != 0 ||
	    get(c, &cmd, &len) != 0 || cmd != SMFIC_OPTNEG || len < 12) {
		snprintf(err, errlen, "option negotiation failed");
		return -1;
	}
	memcpy(v, c->gc_in, sizeof(v));
	c->gc_pflags = ntohl(v[2]);
	atomic_store(&pflags_seen, c->gc_pflags);

	/* connect: macros, then the event (unless negotiated away) */
	if (put_strs(c, SMFIC_MACRO, SMFIC_CONNECT, conn_macros) != 0)
		goto fail;
	if (!(c->gc_pflags & SMFIP_NOCONNECT)) {
		char cb[300];
		uint16_t port = htons(40000);
		int n = snprintf(cb, sizeof(cb), "client.bench.example");

		cb[n++] = '\0';
		cb[n++] = SMFIA_INET;
		memcpy(cb + n, &port, 2);
		n += 2;
		n += snprintf(cb + n, sizeof(cb) - (size_t)n, "%s",
		    opt.client) + 1;
		if (put(c, SMFIC_CONNECT, cb, (size_t)n) != 0)
			goto fail;
		if (want_reply(c, SMFIP_NR_CONN) &&
		    step_reply(c, &final) != 0) {
			snprintf(err, errlen, "connect refused ('%c')",
			    final ? final : '?');
			return -1;
		}
	}
	if (!(c->gc_pflags & SMFIP_NOHELO)) {
		static const char *const helo[] = { "client.bench.example",
		    NULL };

		if (put_strs(c, SMFIC_HELO, 0, helo) != 0)
			goto fail;
		if (want_reply(c, SMFIP_NR_HELO) &&
		    step_reply(c, &final) != 0) {
			snprintf(err, errlen, "helo refused ('%c')",
			    final ? final : '?');
			return -1;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "connection lost during the session start");
	return -1;
}

/* message - one message; 0 with *final set, -1 on connection failure */
static int
message(gen_conn *c, unsigned long k, char *final)
{
	char login[64], from[80], rcpt[80], qid[32];
	const char *mmac[] = { "{auth_type}", "PLAIN", "{auth_authen}", login,
	    "{mail_addr}", from, NULL };
	const char *rmac[] = { "i", qid, "{rcpt_addr}", rcpt, NULL };
	const char *imac[] = { "i", qid, NULL };
	const char *margs[] = { from, NULL };
	const char *rargs[] = { rcpt, NULL };
	static const char *const hdrs[][2] = {
		{ "From", "<sender@bench.example>" },
		{ "To", "<rcpt@bench.example>" },
		{ "Subject", "milter load test" },
		{ "Message-ID", "<bench@bench.example>" },
	};
	static const char body[] = "This is a test message.\r\n";
	unsigned i;
	int r;

	*final = 0;
	snprintf(login, sizeof(login), "user%lu@bench.example",
	    k % opt.senders);
	snprintf(from, sizeof(from), "<%s>", login);
	snprintf(qid, sizeof(qid), "B%lX", k);

	if (put_strs(c, SMFIC_MACRO, SMFIC_MAIL, mmac) != 0)
		return -1;
	if (!(c->gc_pflags & SMFIP_NOMAIL)) {
		if (put_strs(c, SMFIC_MAIL, 0, margs) != 0)
			return -1;
		if (want_reply(c, SMFIP_NR_MAIL) &&
		    (r = step_reply(c, final)) != 0)
			return r < 0 ? -1 : 0;
	}
	for (i = 0; i < opt.rcpts; i++) {
		snprintf(rcpt, sizeof(rcpt), "<rcpt%u@dest%u.example>", i,
		    i % 7);
		if (put_strs(c, SMFIC_MACRO, SMFIC_RCPT, rmac) != 0)
			return -1;
		if (c->gc_pflags & SMFIP_NORCPT)
			continue;
		if (put_strs(c, SMFIC_RCPT, 0, rargs) != 0)
			return -1;
		/* a refused recipient does not end the message */
		if (want_reply(c, SMFIP_NR_RCPT) &&
		    step_reply(c, final) < 0)
			return -1;
		*final = 0;
	}
	if (put_strs(c, SMFIC_MACRO, SMFIC_DATA, imac) != 0)
		return -1;
	if (!(c->gc_pflags & SMFIP_NODATA)) {
		if (put(c, SMFIC_DATA, NULL, 0) != 0)
			return -1;
		if (want_reply(c, SMFIP_NR_DATA) &&
		    (r = step_reply(c, final)) != 0)
			return r < 0 ? -1 : 0;
	}
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		const char *h[] = { hdrs[i][0], hdrs[i][1], NULL };

		if (put_strs(c, SMFIC_MACRO, SMFIC_HEADER, imac) != 0)
			return -1;
		if (c->gc_pflags & SMFIP_NOHDRS)
			continue;
		if (put_strs(c, SMFIC_HEADER, 0, h) != 0)
			return -1;
		if (want_reply(c, SMFIP_NR_HDR) &&
		    (r = step_reply(c, final)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (put_strs(c, SMFIC_MACRO, SMFIC_EOH, imac) != 0)
		return -1;
	if (!(c->gc_pflags & SMFIP_NOEOH)) {
		if (put(c, SMFIC_EOH, NULL, 0) != 0)
			return -1;
		if (want_reply(c, SMFIP_NR_EOH) &&
		    (r = step_reply(c, final)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (!(c->gc_pflags & SMFIP_NOBODY)) {
		if (put(c, SMFIC_BODY, body, sizeof(body) - 1) != 0)
			return -1;
		if (want_reply(c, SMFIP_NR_BODY) &&
		    (r = step_reply(c, final)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (put_strs(c, SMFIC_MACRO, SMFIC_BODYEOB, imac) != 0 ||
	    put(c, SMFIC_BODYEOB, NULL, 0) != 0)
		return -1;
	/* modification requests may come first; then the decision */
	for (;;) {
		char cmd;
		size_t len;

		if (get(c, &cmd, &len) != 0)
			return -1;
		if (cmd == SMFIR_PROGRESS || cmd == SMFIR_ADDHEADER ||
		    cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER ||
		    cmd == SMFIR_ADDRCPT || cmd == SMFIR_DELRCPT ||
		    cmd == SMFIR_ADDRCPT_PAR || cmd == SMFIR_REPLBODY ||
		    cmd == SMFIR_CHGFROM || cmd == SMFIR_QUARANTINE)
			continue;
		*final = cmd;
		return 0;
	}
}

/* record - keep one latency */
static int
record(gen_thread *t, int64_t ns)
{
	if (t->gt_nlat == t->gt_caplat) {
		size_t cap = t->gt_caplat ? t->gt_caplat * 2 : 4096;
		uint32_t *p = realloc(t->gt_lat, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		t->gt_lat = p;
		t->gt_caplat = cap;
	}
	t->gt_lat[t->gt_nlat++] = ns / 1000 > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(ns / 1000);
	return 0;
}

/* pace - with -R, wait until message k is due */
static void
pace(unsigned long k)
{
	struct timespec due;
	int64_t at;

	if (opt.rate <= 0)
		return;
	at = (int64_t)((double)k * 1e9 / opt.rate);
	due.tv_sec = t_start.tv_sec + (time_t)(at / 1000000000);
	due.tv_nsec = t_start.tv_nsec + (long)(at % 1000000000);
	if (due.tv_nsec >= 1000000000) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) ==
	    EINTR)
		;
}

/* worker - one connection's life: sessions of -m messages until done */
static void *
worker(void *arg)
{
	gen_thread *t = arg;
	gen_conn *c = malloc(sizeof(*c));
	unsigned long k, in_session = 0;
	bool open = false;
	char final;
	int64_t t0;

	if (c == NULL) {
		snprintf(t->gt_err, sizeof(t->gt_err), "out of memory");
		return NULL;
	}
	while ((k = atomic_fetch_add(&next_msg, 1)) < opt.msgs) {
		pace(k);
		if (!open) {
			if (conn_open(c, t->gt_err, sizeof(t->gt_err)) != 0 ||
			    session_start(c, t->gt_err,
			    sizeof(t->gt_err)) != 0) {
				atomic_fetch_add(&n_failed, 1);
				if (c->gc_fd > 0)
					close(c->gc_fd);
				break;
			}
			open = true;
			in_session = 0;
		}
		t0 = now_ns();
		if (message(c, k, &final) != 0) {
			snprintf(t->gt_err, sizeof(t->gt_err), "connection lost "
			    "in message %lu", k);
			atomic_fetch_add(&n_failed, 1);
			close(c->gc_fd);
			open = false;
			break;
		}
		if (opt.slow_ms > 0 && now_ns() - t0 >= (int64_t)opt.slow_ms *
		    1000000)
			fprintf(stderr, "miltgen: message %lu took %.1f ms, at "
			    "%.3f s\n", k, (double)(now_ns() - t0) / 1e6,
			    (double)(t0 - (int64_t)t_start.tv_sec * 1000000000 -
			    t_start.tv_nsec) / 1e9);
		if (record(t, now_ns() - t0) != 0) {
			snprintf(t->gt_err, sizeof(t->gt_err), "out of memory");
			atomic_fetch_add(&n_failed, 1);
			break;
		}
		count_final(final);
		/* Postfix's smtpd resets the milter after every message */
		(void)put(c, SMFIC_ABORT, NULL, 0);
		if (opt.per_conn > 0 && ++in_session >= opt.per_conn) {
			(void)put(c, SMFIC_QUIT, NULL, 0);
			(void)flush(c);
			close(c->gc_fd);
			open = false;
		}
	}
	if (open) {
		(void)put(c, SMFIC_QUIT, NULL, 0);
		(void)flush(c);
		close(c->gc_fd);
	}
	free(c);
	return NULL;
}

/* cmp_u32 - qsort order */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* usage - the synopsis */
static void
usage(void)
{
	fprintf(stderr, "usage: miltgen -s SOCKET [-c CONNS] [-n MSGS] "
	    "[-S SENDERS] [-r RCPTS]\n"
	    "               [-m MSGS_PER_CONN] [-R RATE] [-a CLIENT_ADDR] "
	    "[-L SLOW_MS]\n"
	    "  SOCKET unix:/path or inet:PORT@HOST\n");
}

/* num - a positive number option, or exit 64 */
static unsigned long
num(const char *s, const char *what, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *s == '-' || v > max) {
		fprintf(stderr, "miltgen: %s: bad number \"%s\"\n", what, s);
		exit(64);
	}
	return v;
}

int
main(int argc, char **argv)
{
	gen_thread *th;
	uint32_t *all;
	size_t n = 0, i;
	unsigned u;
	double secs;
	int ch;

	while ((ch = getopt(argc, argv, "a:c:L:m:n:r:R:s:S:")) != -1) {
		switch (ch) {
		case 'a':
			opt.client = optarg;
			break;
		case 'c':
			opt.conns = (unsigned)num(optarg, "-c", 10000);
			break;
		case 'L':
			opt.slow_ms = num(optarg, "-L", 3600000);
			break;
		case 'm':
			opt.per_conn = num(optarg, "-m", ULONG_MAX);
			break;
		case 'n':
			opt.msgs = num(optarg, "-n", 1000000000);
			break;
		case 'r':
			opt.rcpts = (unsigned)num(optarg, "-r", GEN_MAX_RCPTS);
			break;
		case 'R':
			opt.rate = (double)num(optarg, "-R", 10000000);
			break;
		case 's':
			opt.spec = optarg;
			break;
		case 'S':
			opt.senders = num(optarg, "-S", 1000000000);
			break;
		default:
			usage();
			return 64;
		}
	}
	if (opt.spec == NULL || optind != argc || opt.conns == 0 ||
	    opt.senders == 0) {
		usage();
		return 64;
	}
	if ((th = calloc(opt.conns, sizeof(*th))) == NULL) {
		perror("miltgen");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	for (u = 0; u < opt.conns; u++) {
		th[u].gt_index = u;
		if (pthread_create(&th[u].gt_tid, NULL, worker, &th[u]) != 0) {
			perror("miltgen: pthread_create");
			return 1;
		}
	}
	for (u = 0; u < opt.conns; u++) {
		pthread_join(th[u].gt_tid, NULL);
		n += th[u].gt_nlat;
	}
	secs = (double)(now_ns() - (int64_t)t_start.tv_sec * 1000000000 -
	    t_start.tv_nsec) / 1e9;

	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL) {
		perror("miltgen");
		return 1;
	}
	for (u = 0, n = 0; u < opt.conns; u++) {
		if (th[u].gt_err[0] != '\0')
			fprintf(stderr, "miltgen: connection %u: %s\n", u,
			    th[u].gt_err);
		for (i = 0; i < th[u].gt_nlat; i++)
			all[n++] = th[u].gt_lat[i];
		free(th[u].gt_lat);
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	printf("msgs=%zu secs=%.3f rate=%.0f p50_us=%" PRIu32 " p99_us=%"
	    PRIu32 " max_us=%" PRIu32 " continue=%lu accept=%lu reject=%lu "
	    "tempfail=%lu other=%lu failed=%lu pflags=0x%lx\n", n, secs,
	    secs > 0 ? (double)n / secs : 0.0,
	    n ? all[n / 2] : 0, n ? all[(n * 99) / 100] : 0,
	    n ? all[n - 1] : 0, atomic_load(&n_continue),
	    atomic_load(&n_accept), atomic_load(&n_reject),
	    atomic_load(&n_tempfail), atomic_load(&n_other),
	    atomic_load(&n_failed), atomic_load(&pflags_seen));
	free(all);
	free(th);
	return atomic_load(&n_failed) == 0 && n == opt.msgs ? 0 : 1;
}
