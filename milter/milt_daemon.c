/*
 * milt_daemon.c - the pidfile, detaching from the terminal and dropping
 * root, all done once at start-up by the main thread, before any other
 * thread exists (fork and the set*id calls then affect the whole process).
 *
 * The pidfile is locked with flock(2) for the life of the process: a
 * locked file means a live sendguard (start-up refuses, naming its pid), an
 * unlocked one was left by a crash and is overwritten.  Unlike a kill(pid,
 * 0) check, this cannot mistake an unrelated process that reused the pid.
 * Errors: 0 / -1 with err.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include "milt.h"
#include "milt_daemon.h"

static int milt_pid_fd = -1;
static char milt_pid_path[4096];
static bool milt_pid_written;

int
milt_pidfile_lock(const char *path, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(milt_pid_path)) {
		snprintf(err, errlen, "%s: pidfile path too long", path);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot open the pidfile: %s%s", path,
		    strerror(e), e == ENOENT ? " (create its directory, or "
		    "set pidfile = \"\" and run in the foreground with -f)" :
		    "");
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "%s: sendguard is already running "
			    "(pid %s)", path, buf[0] ? buf : "unknown");
		else
			snprintf(err, errlen, "%s: cannot lock the pidfile: %s",
			    path, strerror(e));
		close(fd);
		return -1;
	}
	milt_pid_fd = fd;
	memcpy(milt_pid_path, path, strlen(path) + 1);
	return 0;
}

int
milt_pidfile_write(char *err, size_t errlen)
{
	char buf[32];
	int n;

	if (milt_pid_fd < 0)
		return 0;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(milt_pid_fd, 0) != 0 ||
	    pwrite(milt_pid_fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: cannot write the pidfile: %s",
		    milt_pid_path, strerror(errno));
		return -1;
	}
	milt_pid_written = true;
	return 0;
}

void
milt_pidfile_remove(void)
{
	if (!milt_pid_written)
		return;
	/* After dropping root this needs a directory the user may write.
	 * The unit's /run/sendguard is root's, and systemd removes it when
	 * the service stops: there the file is only emptied (through the
	 * descriptor opened as root), so no reader takes a dead pid for a
	 * live one, and the next start replaces it. */
	if (unlink(milt_pid_path) != 0 && errno != ENOENT) {
		int e = errno;

		if ((e == EACCES || e == EPERM) &&
		    ftruncate(milt_pid_fd, 0) == 0)
			milt_log(LOG_INFO, "%s: pidfile emptied, not removed: "
			    "this user may not write its directory",
			    milt_pid_path);
		else
			milt_log(LOG_WARNING, "%s: cannot remove the pidfile: "
			    "%s; the next start replaces it", milt_pid_path,
			    strerror(e));
	}
	milt_pid_written = false;
}

int
milt_detach(char *err, size_t errlen)
{
	char buf[1024];
	size_t got = 0;
	ssize_t n;
	int p[2];
	pid_t pid;

	if (pipe(p) != 0) {
		snprintf(err, errlen, "cannot detach: pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "cannot detach: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		/* The parent: wait for the child's word, then go. */
		close(p[1]);
		while (got < sizeof(buf) - 1 &&
		    ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0 ||
		    (n < 0 && errno == EINTR)))
			got += n > 0 ? (size_t)n : 0;
		buf[got] = '\0';
		if (got == 0) {
			fprintf(stderr, "sendguard: the daemon exited during "
			    "start-up; see the log\n");
			_exit(EX_SOFTWARE);
		}
		if (got > 1)
			fprintf(stderr, "%s\n", buf + 1);
		_exit((unsigned char)buf[0]);
	}
	close(p[0]);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if (setsid() < 0) {
		snprintf(err, errlen, "cannot detach: setsid: %s",
		    strerror(errno));
		close(p[1]);
		return -1;
	}
	return p[1];
}

void
milt_detach_report(int fd, int status, const char *msg)
{
	char buf[1024];
	int devnull;

	if (fd < 0)
		return;
	buf[0] = (char)status;
	snprintf(buf + 1, sizeof(buf) - 1, "%s", msg != NULL ? msg : "");
	(void)write(fd, buf, 1 + strlen(buf + 1));
	close(fd);
	if (status != 0)
		return;
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(devnull, 0);
		(void)dup2(devnull, 1);
		(void)dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
}

int
milt_privs_resolve(const char *user, const char *group, milt_privs *p,
    char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	memset(p, 0, sizeof(*p));
	if (user[0] != '\0') {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "user \"%s\": %s", user, errno ?
			    strerror(errno) : "no such user");
			return -1;
		}
		p->mp_user_set = p->mp_group_set = true;
		p->mp_uid = pw->pw_uid;
		p->mp_gid = pw->pw_gid;
		snprintf(p->mp_user, sizeof(p->mp_user), "%s", user);
	}
	if (group[0] != '\0') {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, errlen, "group \"%s\": %s", group, errno ?
			    strerror(errno) : "no such group");
			return -1;
		}
		p->mp_group_set = true;
		p->mp_gid = gr->gr_gid;
	}
	return 0;
}

int
milt_privs_chown(const milt_privs *p, const char *path, char *err,
    size_t errlen)
{
	if (!p->mp_user_set && !p->mp_group_set)
		return 0;
	if (chown(path, p->mp_user_set ? p->mp_uid : (uid_t)-1,
	    p->mp_group_set ? p->mp_gid : (gid_t)-1) != 0) {
		snprintf(err, errlen, "%s: cannot give the socket to uid %ld "
		    "gid %ld: %s", path, p->mp_user_set ? (long)p->mp_uid : -1L,
		    p->mp_group_set ? (long)p->mp_gid : -1L, strerror(errno));
		return -1;
	}
	return 0;
}

int
milt_privs_drop(const milt_privs *p, char *err, size_t errlen)
{
	if (!p->mp_user_set && !p->mp_group_set)
		return 0;
	if (geteuid() != 0) {
		/* Nothing to drop: fine if we already are who we should be. */
		if ((!p->mp_user_set || p->mp_uid == geteuid()) &&
		    (!p->mp_group_set || p->mp_gid == getegid()))
			return 0;
		snprintf(err, errlen, "cannot switch to %s%s uid %ld gid %ld: "
		    "not started as root", p->mp_user_set ? "user " : "",
		    p->mp_user, (long)p->mp_uid, (long)p->mp_gid);
		return -1;
	}
	if (p->mp_user_set) {
		if (initgroups(p->mp_user, p->mp_gid) != 0) {
			snprintf(err, errlen, "initgroups(%s): %s", p->mp_user,
			    strerror(errno));
			return -1;
		}
	} else if (setgroups(1, &p->mp_gid) != 0) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (setgid(p->mp_gid) != 0) {
		snprintf(err, errlen, "setgid(%ld): %s", (long)p->mp_gid,
		    strerror(errno));
		return -1;
	}
	if (p->mp_user_set && setuid(p->mp_uid) != 0) {
		snprintf(err, errlen, "setuid(%ld): %s", (long)p->mp_uid,
		    strerror(errno));
		return -1;
	}
	if (getgid() != p->mp_gid || getegid() != p->mp_gid ||
	    (p->mp_user_set && (getuid() != p->mp_uid ||
	    geteuid() != p->mp_uid))) {
		snprintf(err, errlen, "the user or group did not change");
		return -1;
	}
	/* A real drop is for good: getting root back must fail. */
	if (p->mp_user_set && p->mp_uid != 0 &&
	    (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "root could be regained after switching "
		    "to %s; refusing to run", p->mp_user);
		return -1;
	}
	return 0;
}
