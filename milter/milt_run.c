/*
 * milt_run.c - the main thread once sendguard serves mail: signals, reload
 * and a bounded, clean shutdown.
 *
 * libmilter's smfi_main() blocks SIGHUP, SIGTERM and SIGINT in its thread
 * and starts a thread that sigwait()s for them, and any of the three stops
 * the milter.  So smfi_main() runs in a thread of its own, and the main
 * thread (the thread-group leader) keeps the three signals unblocked, with
 * handlers that only set a flag; every other thread is created with them
 * blocked.  For a signal sent to the process (kill(pid)), Linux offers it
 * to the group leader first whenever the leader does not block it and has
 * no other signal pending, so libmilter's thread never sees it: SIGHUP
 * reloads, any number of times.  The handlers run with SA_NODEFER, so the
 * main thread does not block a signal even while it handles one.  (The
 * one exception: a signal that arrives while another signal is still
 * undelivered to the main thread may be taken by libmilter, which then
 * stops; sendguard exits non-zero, and a supervisor restarts it.)
 *
 * Reload: a new conf_t is loaded and validated whole; if it is invalid, or
 * changes a key that needs a restart, the old one stays and the error is
 * logged; otherwise it becomes the generation new connections pin.
 *
 * Shutdown: from the signal on, new connections and new messages are
 * tempfailed (4.3.2), and messages in flight (from MAIL FROM to their end)
 * get up to MILT_DRAIN_SECONDS to finish.  Only then is libmilter stopped:
 * Debian's libmilter is built with its pool of workers, whose controller
 * abandons every open session as soon as smfi_stop() is called, so
 * stopping it first would cut the messages in flight.  smfi_stop() runs
 * in a helper thread (it waits for the listener's mutex, held across the
 * listener's poll()), and connections to our own socket wake the listener
 * at once (it otherwise notices the stop only every MI_CHK_TIME, 5 s).
 * Then the threads stop, the store pool is closed and the pidfile and
 * socket are removed.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milt.h"
#include "milt_alert.h"
#include "milt_daemon.h"

#define MILT_DRAIN_SECONDS	30	/* messages in flight at shutdown */
#define MILT_TICK_MS		200	/* the main loop's longest sleep */

static volatile sig_atomic_t milt_sig_hup;
static volatile sig_atomic_t milt_sig_stop;	/* the signal number */
static atomic_int milt_inflight;
static atomic_bool milt_milter_done;
static atomic_bool milt_drain_flag;
static int milt_milter_rc;

void
milt_inflight_begin(bool *flag)
{
	if (!*flag) {
		*flag = true;
		atomic_fetch_add(&milt_inflight, 1);
	}
}

void
milt_inflight_end(bool *flag)
{
	if (*flag) {
		*flag = false;
		atomic_fetch_sub(&milt_inflight, 1);
	}
}

bool
milt_draining(void)
{
	return atomic_load(&milt_drain_flag);
}

/* on_signal - only note it; the main loop does the work */
static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		milt_sig_hup = 1;
	else
		milt_sig_stop = sig;
}

/* milter_thread - libmilter's main loop, off the main thread */
static void *
milter_thread(void *arg)
{
	(void)arg;
	milt_milter_rc = smfi_main();
	atomic_store(&milt_milter_done, true);
	return NULL;
}

/* sleep_ms - sleep; a signal cuts it short */
static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/* reload - SIGHUP: a whole new configuration, or the old one stays */
static void
reload(const milt_run_opts *o)
{
	char err[1024];
	milt_conf *cur;
	const char *key;
	conf_t *nc;

	if ((nc = conf_load(o->mr_conf_path, err, sizeof(err))) == NULL) {
		milt_log(LOG_ERR, "reload failed, keeping the running "
		    "configuration: %s", err);
		return;
	}
	cur = milt_conf_acquire();
	key = cur != NULL ? conf_restart_needed(cur->mc_conf, nc) : NULL;
	milt_conf_release(cur);
	if (key != NULL) {
		milt_log(LOG_ERR, "reload refused, keeping the running "
		    "configuration: %s: \"%s\" changed, which needs a restart",
		    o->mr_conf_path, key);
		conf_free(nc);
		return;
	}
	if (milt_pool_init(conf_database(nc), conf_busy_timeout_ms(nc), err,
	    sizeof(err)) != 0 ||
	    milt_conf_install(nc, err, sizeof(err)) != 0) {
		milt_log(LOG_ERR, "reload failed, keeping the running "
		    "configuration: %s", err);
		conf_free(nc);
		return;
	}
	/* nc now belongs to the generation; its facility is still valid. */
	cur = milt_conf_acquire();
	milt_log_open(conf_log_facility(cur->mc_conf), o->mr_foreground);
	milt_conf_log_warnings(cur->mc_conf, o->mr_conf_path);
	milt_conf_release(cur);
	milt_log(LOG_INFO, "configuration reloaded from %s", o->mr_conf_path);
}

/* wake_listener - connect to our own socket so that libmilter's listener
 * leaves its poll() and sees the stop flag now; best effort */
static void
wake_listener(const char *spec)
{
	const char *path = milt_socket_path(spec), *p, *at;
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_un sun;
	char port[8], host[256];
	int fd = -1, inet6;

	if (path != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0)
			(void)connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		goto out;
	}
	inet6 = strncmp(spec, "inet6:", 6) == 0;
	p = spec + (inet6 ? 6 : 5);
	at = strchr(p, '@');
	snprintf(port, sizeof(port), "%.*s", (int)(at != NULL ?
	    (size_t)(at - p) : strlen(p)), p);
	snprintf(host, sizeof(host), "%s", at != NULL && strcmp(at + 1,
	    "0.0.0.0") != 0 && strcmp(at + 1, "::") != 0 ? at + 1 :
	    inet6 ? "::1" : "127.0.0.1");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = inet6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return;
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0)
		(void)connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
out:
	if (fd >= 0)
		close(fd);
}

/* stopper_thread - smfi_stop() sets the stop flag at once, then waits for
 * the listener's mutex, which the listener holds across its poll() */
static void *
stopper_thread(void *arg)
{
	(void)arg;
	(void)smfi_stop();
	return NULL;
}

/* stop_listener - stop accepting connections, without the listener's
 * usual wait of up to MI_CHK_TIME (5 s): each connection to our socket
 * wakes it to check its stop flag */
static void
stop_listener(const char *spec)
{
	pthread_t stopper;
	int waited = 0;

	if (pthread_create(&stopper, NULL, stopper_thread, NULL) != 0) {
		(void)smfi_stop();	/* the slow way */
		return;
	}
	while (!atomic_load(&milt_milter_done) && waited < 10000) {
		wake_listener(spec);
		sleep_ms(50);
		waited += 50;
	}
	pthread_join(stopper, NULL);
}

/* drain - wait (bounded) for the messages in flight; true if none left */
static bool
drain(void)
{
	int waited = 0, n;

	while ((n = atomic_load(&milt_inflight)) > 0 &&
	    waited < MILT_DRAIN_SECONDS * 1000) {
		sleep_ms(50);
		waited += 50;
	}
	if (n > 0)
		milt_log(LOG_WARNING, "%d message(s) still in flight after %d s; "
		    "stopping anyway (the MTA applies its milter default "
		    "action to them)", n, MILT_DRAIN_SECONDS);
	return n <= 0;
}

/* set_handlers - the flag-setting handlers of the main thread */
static int
set_handlers(char *err, size_t errlen)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Never blocked here, not even while the handler runs: a SIGHUP that
	 * came in meanwhile would go to libmilter's thread, which stops. */
	sa.sa_flags = SA_NODEFER;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0) {
			snprintf(err, errlen, "sigaction: %s", strerror(errno));
			return -1;
		}
	sa.sa_handler = SIG_IGN;	/* a gone alert program: EPIPE */
	(void)sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

int
milt_run(const milt_run_opts *o)
{
	sigset_t ours, old;
	pthread_t milter;
	char err[512];
	int e, status = EX_OK, sig;
	bool clean;

	/* Threads inherit the mask: only this one takes our signals. */
	sigemptyset(&ours);
	sigaddset(&ours, SIGHUP);
	sigaddset(&ours, SIGTERM);
	sigaddset(&ours, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ours, &old);
	if (set_handlers(err, sizeof(err)) != 0 ||
	    milt_alert_start(err, sizeof(err)) != 0 ||
	    milt_sweep_start(err, sizeof(err)) != 0 ||
	    milt_count_start(err, sizeof(err)) != 0)
		goto failed;
	if ((e = pthread_create(&milter, NULL, milter_thread, NULL)) != 0) {
		snprintf(err, sizeof(err), "cannot start the milter thread: %s",
		    strerror(e));
		goto failed;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
	milt_detach_report(o->mr_report_fd, 0, NULL);

	while (!milt_sig_stop && !atomic_load(&milt_milter_done)) {
		if (milt_sig_hup) {
			milt_sig_hup = 0;
			milt_log(LOG_INFO, "SIGHUP: reloading %s",
			    o->mr_conf_path);
			reload(o);
			continue;
		}
		sleep_ms(MILT_TICK_MS);
	}

	sig = milt_sig_stop;
	if (sig != 0)
		milt_log(LOG_INFO, "%s: stopping; waiting up to %d s for %d "
		    "message(s) in flight", sig == SIGINT ? "SIGINT" : "SIGTERM",
		    MILT_DRAIN_SECONDS, atomic_load(&milt_inflight));
	else {
		/* Not asked to: exit non-zero, so a supervisor restarts it. */
		milt_log(LOG_ERR, "the milter stopped by itself (libmilter "
		    "status %d); stopping", milt_milter_rc);
		status = EX_SOFTWARE;
	}
	/* Sequentially consistent with mlfi_envfrom_open's count then check:
	 * either it sees the flag, or drain() sees its message. */
	atomic_store(&milt_drain_flag, true);
	clean = drain();
	stop_listener(o->mr_socket);
	pthread_join(milter, NULL);
	if (milt_milter_rc != MI_SUCCESS)
		status = EX_SOFTWARE;

	/* The counts not written yet, before the pool goes. */
	milt_count_stop(clean);
	milt_sweep_stop();
	milt_alert_stop(2000);
	milt_log(LOG_INFO, "sendguard stopping");
	/* A callback still running would use them: only a clean drain frees. */
	if (clean) {
		milt_conf_shutdown();
		milt_pool_shutdown();
	}
	return status;

failed:
	milt_log(LOG_ERR, "%s", err);
	milt_detach_report(o->mr_report_fd, EX_OSERR, err);
	milt_count_stop(true);
	milt_sweep_stop();
	milt_alert_stop(0);
	return EX_OSERR;
}
