/*
 * conf_daemon_test.c - unit tests of the daemon's own keys in conf/ (user,
 * group, pidfile, alerts.*): their defaults, a fixture that sets each,
 * that the sample shows the defaults, which need a restart, and the exact
 * error of each bad fixture.
 *
 * Run from the top of the source tree, or pass its path as the first
 * argument.  Single-threaded; every conf_t is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_fixture.h"

static void
test_daemon_keys(void)
{
	static const struct {
		const char     *file;
		const char     *want;
	} bad_daemon[] = {
		{ "alerts_mail_to_option", ":2: alerts.mail_to[2]: "
		  "\"-oQ/tmp@example.com\" is not an address (local@domain, "
		  "not starting with '-')" },
		{ "alerts_mail_to_too_long", ":1: alerts.mail_to[90]: the "
		  "addresses up to this one take 4140 bytes in the alert's "
		  "To: header, the most is 4096 (use a list's address)" },
		{ "alerts_mail_to_no_domain", ":1: alerts.mail_to[1]: "
		  "\"postmaster\" is not an address (local@domain, not "
		  "starting with '-')" },
		{ "alerts_command_relative", ":1: alerts.command: \"notify "
		  "--all\" is not an absolute path (or \"\" for none)" },
		{ "alerts_sendmail_empty", ":1: alerts.sendmail_path: \"\" is "
		  "not an absolute path" },
		{ "alerts_timeout_too_small", ":1: alerts.timeout_ms: 50 is out "
		  "of range (100..600000)" },
		{ "alerts_daily_limit_negative", ":1: alerts.daily_limit: -1 is "
		  "out of range (0..1000000)" },
		{ "user_dash", ":1: user: \"-root\" is not a user or group name "
		  "(letters, digits, '.', '_', '-', not starting with '-')" },
		{ "group_space", ":1: group: \"mail group\" is not a user or "
		  "group name (letters, digits, '.', '_', '-', not starting "
		  "with '-')" },
		{ "pidfile_relative", ":1: pidfile: \"run/sendguard.pid\" is "
		  "not an absolute path (or \"\" for none)" },
	};
	static const char *const restart[][2] = {
		{ "group = \"mail\";\n", "group" },
		{ "pidfile = \"/tmp/x.pid\";\n", "pidfile" },
		{ "alerts = { daily_limit = 5; };\n", NULL },
	};
	char err[1024] = "", tmp[] = "/tmp/sendguard-conf-test-XXXXXX";
	conf_t *d = conf_defaults(err, sizeof(err));
	conf_t *c = conf_load(FIX "daemon.conf", err, sizeof(err));
	const conf_alerts *a;
	size_t i;
	int fd;

	if (!T_OK(d != NULL && c != NULL, "defaults and daemon.conf load")) {
		printf("#   %s\n", t_vis(err));
		conf_free(c);
		conf_free(d);
		return;
	}
	a = conf_alerts_get(d);
	T_STREQ(conf_user_name(d), "", "defaults: user (none)");
	T_STREQ(conf_group_name(d), "", "defaults: group (none)");
	T_STREQ(conf_pidfile(d), "/run/sendguard/sendguard.pid",
	    "defaults: pidfile");
	T_INTEQ(a->ca_nmail_to, 0, "defaults: alerts.mail_to empty");
	T_STREQ(a->ca_sendmail_path, "/usr/sbin/sendmail",
	    "defaults: alerts.sendmail_path");
	T_STREQ(a->ca_command, "", "defaults: alerts.command (none)");
	T_INTEQ(a->ca_timeout_ms, 10000, "defaults: alerts.timeout_ms");
	T_INTEQ(a->ca_daily_limit, 0, "defaults: alerts.daily_limit");

	a = conf_alerts_get(c);
	T_STREQ(conf_user_name(c), "nobody", "user is read");
	T_STREQ(conf_group_name(c), "nogroup", "group is read");
	T_STREQ(conf_pidfile(c), "/run/other/sendguard.pid", "pidfile is read");
	T_INTEQ(a->ca_nmail_to, 2, "alerts.mail_to has two addresses");
	if (a->ca_nmail_to == 2) {
		T_STREQ(a->ca_mail_to[0], "postmaster@example.com",
		    "alerts.mail_to[1] is normalised (lowercase)");
		T_STREQ(a->ca_mail_to[1], "security@example.org",
		    "alerts.mail_to[2] loses its <>");
	}
	T_STREQ(a->ca_sendmail_path, "/usr/lib/sendmail",
	    "alerts.sendmail_path is read");
	T_STREQ(a->ca_command, "/usr/local/bin/notify", "alerts.command is read");
	T_INTEQ(a->ca_timeout_ms, 2500, "alerts.timeout_ms is read");
	T_INTEQ(a->ca_daily_limit, 20, "alerts.daily_limit is read");
	T_STREQ(conf_restart_needed(d, c), "user", "a new user needs a restart");
	conf_free(c);

	/* The sample shows the defaults of the daemon's keys too. */
	c = conf_load("conf/sendguard.conf", err, sizeof(err));
	a = conf_alerts_get(d);
	T_OK(c != NULL && conf_restart_needed(d, c) == NULL &&
	    conf_alerts_get(c)->ca_nmail_to == a->ca_nmail_to &&
	    strcmp(conf_alerts_get(c)->ca_sendmail_path,
	    a->ca_sendmail_path) == 0 &&
	    strcmp(conf_alerts_get(c)->ca_command, a->ca_command) == 0 &&
	    conf_alerts_get(c)->ca_timeout_ms == a->ca_timeout_ms &&
	    conf_alerts_get(c)->ca_daily_limit == a->ca_daily_limit,
	    "conf/sendguard.conf holds the defaults of user, group, pidfile "
	    "and alerts.*");
	conf_free(c);

	for (i = 0; i < sizeof(restart) / sizeof(restart[0]); i++) {
		memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
		if ((fd = mkstemp(tmp)) < 0)
			break;
		(void)!write(fd, restart[i][0], strlen(restart[i][0]));
		close(fd);
		c = conf_load(tmp, err, sizeof(err));
		if (restart[i][1] != NULL)
			T_STREQ(c != NULL ? conf_restart_needed(d, c) : err,
			    restart[i][1], "a new %s needs a restart",
			    restart[i][1]);
		else
			T_OK(c != NULL && conf_restart_needed(d, c) == NULL,
			    "alerts.* reload without a restart");
		conf_free(c);
		unlink(tmp);
	}
	conf_free(d);

	for (i = 0; i < sizeof(bad_daemon) / sizeof(bad_daemon[0]); i++)
		expect_bad(bad_daemon[i].file, bad_daemon[i].want);
}

int
main(int argc, char **argv)
{
	if (!fx_enter(argc, argv))
		return 2;
	test_daemon_keys();
	return t_done();
}
