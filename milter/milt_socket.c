/*
 * milt_socket.c - make a unix socket path ready for libmilter to listen on.
 *
 * libmilter's smfi_opensocket(true) unlinks whatever is at the path, even
 * the socket of another sendguard that is still serving the MTA; the second
 * instance would silently steal the traffic.  So we check first: if
 * something answers a connect(2), start-up fails; if nothing does (a crash
 * left the file), the stale file is removed.  Run once at start-up, before
 * any thread exists.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "milt.h"

const char *
milt_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (strchr(spec, ':') == NULL && spec[0] == '/')
		return spec;		/* libmilter takes a bare path too */
	return NULL;
}

int
milt_socket_prepare(const char *spec, char *err, size_t errlen)
{
	const char *path = milt_socket_path(spec);
	struct sockaddr_un sun;
	struct stat sb;
	int fd = -1, rc = -1;

	if (path == NULL)
		return 0;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long (at most %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; not removing it",
		    path);
		return -1;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "%s: another milter is listening on this "
		    "socket; stop it first", path);
		goto out;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot tell whether the socket is in "
		    "use: %s", path, strerror(errno));
		goto out;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove stale socket: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
