# sendguard - outbound restriction milter for Postfix and Sendmail.
#
#   make          build sendguard and sendguardctl
#   make run      install what is missing, build, run on conf/sendguard.conf
#                 in the foreground with the database and socket under ./var
#   make check    install what is missing, build, run every test
#   make install  install the programs, man pages, sample configuration
#                 (never over an existing one) and systemd unit, under
#                 $(DESTDIR)$(PREFIX) (PREFIX=/usr/local by default)
#   make bench    install what is missing, build, run the benchmarks (slow;
#                 not part of check) and print one table (BENCHMARKS.md)
#   make clean

CC	?= cc
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow \
	   -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -fno-common
LDLIBS_MILTER = -lmilter -lpthread
LDLIBS_SQLITE = -lsqlite3
LDLIBS_CONFIG = -lconfig

# Debian packages: what building needs, what the tests need on top.
# tests/deps.sh installs without Recommends: libsasl2-modules (Sendmail's
# AUTH PLAIN, only recommended by libsasl2-2) and procps (ps, for
# tests/lib/net.sh) are named, as is systemd (systemd-analyze verify).
BUILD_PKGS = gcc make libmilter-dev libsqlite3-dev libconfig-dev
TEST_PKGS  = miltertest postfix swaks sqlite3 iproute2 jq spamd spamc \
	     sasl2-bin libsasl2-modules procps systemd \
	     libdb5.3 libldap-2.5-0 libnsl2 libsasl2-2 libssl3
# tests/e2e_sendmail.sh fetches sendmail-bin, sendmail-cf, m4 and libwrap0
# itself (apt-get download into build/sendmail-debs): they conflict with
# postfix.  The libraries above are the rest of what sendmail-bin links.
BENCH_PKGS = postfix policyd-rate-limit

B = build

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
UNITDIR	?= $(PREFIX)/lib/systemd/system
CONFDIR	?= /etc/sendguard
# What make install installs; a program or page that is not built here
# yet is simply one more word.
PROGRAMS = sendguard sendguardctl
MAN5	= conf/sendguard.conf.5
MAN8	= milter/sendguard.8 admin/sendguardctl.8

POLICY_SRC = policy/pol_addr.c policy/pol_match.c policy/pol_net.c \
	     policy/pol_decide.c policy/pol_spam.c
STORE_SRC  = store/store.c store/store_records.c store/store_schema.c \
	     store/store_admin.c store/store_wal.c
UTIL_SRC   = util/util_utf8.c
CONF_SRC   = conf/conf.c conf/conf_table.c conf/conf_spam.c \
	     conf/conf_daemon.c conf/conf_literal.c \
	     conf/conf_net.c
ADMIN_SRC  = admin/ctl_main.c admin/ctl_args.c admin/ctl_time.c \
	     admin/ctl_json.c admin/ctl_table.c admin/ctl_view.c \
	     admin/ctl_cmd_list.c admin/ctl_cmd_show.c admin/ctl_cmd_unblock.c \
	     admin/ctl_cmd_usage.c admin/ctl_cmd_history.c
MILTER_SRC = milter/main.c milter/milt_log.c milter/milt_conf.c \
	     milter/milt_alert.c milter/milt_daemon.c milter/milt_run.c \
	     milter/milt_sweep.c milter/milt_count.c \
	     milter/milt_pool.c milter/milt_socket.c milter/mlfi.c \
	     milter/mlfi_judge.c milter/milt_answer.c \
	     milter/milt_xtext.c milter/milt_spam.c milter/milt_spamd.c

obj = $(patsubst %.c,$(B)/%.o,$(1))

SENDGUARD_OBJ = $(call obj,$(MILTER_SRC) $(POLICY_SRC) $(STORE_SRC) $(CONF_SRC) \
		$(UTIL_SRC))
CTL_OBJ = $(call obj,$(ADMIN_SRC) $(POLICY_SRC) $(STORE_SRC) $(CONF_SRC) \
	  $(UTIL_SRC))

# The benchmark's load generator and null milter: built by check too, so
# they always compile with the project's flags (tests/bench_smoke.sh).
BENCH_PROGS = $(B)/bench/miltgen $(B)/bench/null_milter

UNIT_TESTS = $(B)/tests/policy_test $(B)/tests/store_test \
	     $(B)/tests/store_records_test $(B)/tests/store_writer_test \
	     $(B)/tests/conf_test $(B)/tests/conf_net_test \
	     $(B)/tests/conf_daemon_test $(B)/tests/conf_policy_test \
	     $(B)/tests/store_admin_test $(B)/tests/ctl_time_test \
	     $(B)/tests/alert_json_test $(B)/tests/spam_test \
	     $(B)/tests/count_test
# Programs the shell tests use (not tests themselves).
TEST_TOOLS = $(B)/tests/ctl_fixture $(B)/tests/chain_milter

.PHONY: all run check bench deps deps-test deps-bench install clean

all: sendguard sendguardctl

sendguard: $(SENDGUARD_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_MILTER) $(LDLIBS_SQLITE) $(LDLIBS_CONFIG)

sendguardctl: $(CTL_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE) $(LDLIBS_CONFIG)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

$(B)/tests/policy_test: $(call obj,tests/policy_test.c $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^
$(B)/tests/chain_milter: $(call obj,tests/chain_milter.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_MILTER)
$(B)/tests/spam_test: $(call obj,tests/spam_test.c $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^
$(B)/tests/store_test: $(call obj,tests/store_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/store_records_test: $(call obj,tests/store_records_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/store_writer_test: $(call obj,tests/store_writer_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/conf_test: $(call obj,tests/conf_test.c $(CONF_SRC) $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CONFIG)
$(B)/tests/conf_net_test: $(call obj,tests/conf_net_test.c $(CONF_SRC) $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CONFIG)
$(B)/tests/conf_policy_test: $(call obj,tests/conf_policy_test.c $(CONF_SRC) \
	    $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CONFIG)
$(B)/tests/conf_daemon_test: $(call obj,tests/conf_daemon_test.c $(CONF_SRC) \
	    $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CONFIG)
$(B)/tests/store_admin_test: $(call obj,tests/store_admin_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/ctl_time_test: $(call obj,tests/ctl_time_test.c admin/ctl_time.c \
	    admin/ctl_json.c admin/ctl_table.c $(UTIL_SRC))
	$(CC) $(LDFLAGS) -o $@ $^
$(B)/tests/count_test: $(call obj,tests/count_test.c milter/milt_count.c \
	    milter/milt_pool.c milter/milt_log.c $(STORE_SRC) $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE) -lpthread
$(B)/tests/ctl_fixture: $(call obj,tests/ctl_fixture.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/alert_json_test: $(call obj,tests/alert_json_test.c \
	    milter/milt_alert.c milter/milt_log.c milter/milt_conf.c \
	    $(CONF_SRC) $(POLICY_SRC) $(UTIL_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CONFIG) -lpthread

$(B)/bench/miltgen: $(call obj,bench/miltgen.c)
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread
$(B)/bench/null_milter: $(call obj,bench/null_milter.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_MILTER)

# Install missing Debian packages (as root, or through sudo).
deps:
	@sh tests/deps.sh $(BUILD_PKGS)
deps-test:
	@sh tests/deps.sh $(BUILD_PKGS) $(TEST_PKGS)
deps-bench:
	@sh tests/deps.sh $(BUILD_PKGS) $(TEST_PKGS) $(BENCH_PKGS)

# make run's socket: RUN_SOCKET=inet:10025@127.0.0.1 for a chrooted Postfix
RUN_SOCKET = unix:$(CURDIR)/var/sendguard.sock

run: deps
	@$(MAKE) --no-print-directory sendguard sendguardctl
	@mkdir -p var
	@sed -e 's|^socket = .*|socket = "$(RUN_SOCKET)";|' \
	     -e 's|^database = .*|database = "$(CURDIR)/var/sendguard.db";|' \
	     conf/sendguard.conf > var/sendguard.conf
	./sendguard -f -c var/sendguard.conf

check: deps-test
	@$(MAKE) --no-print-directory sendguard sendguardctl $(UNIT_TESTS) \
	    $(TEST_TOOLS) $(BENCH_PROGS)
	@sh tests/run $(TESTS)

bench: deps-bench
	@$(MAKE) --no-print-directory sendguard $(BENCH_PROGS)
	@sh bench/run.sh

install: $(PROGRAMS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|/etc/sendguard/|$(CONFDIR)/|g' \
	    conf/sendguard.service >$(DESTDIR)$(UNITDIR)/sendguard.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sendguard.service
	@if [ -e $(DESTDIR)$(CONFDIR)/sendguard.conf ]; then \
	    echo "$(DESTDIR)$(CONFDIR)/sendguard.conf exists: not replaced"; \
	else \
	    install -m 0644 conf/sendguard.conf $(DESTDIR)$(CONFDIR)/; \
	fi

clean:
	rm -rf $(B) sendguard sendguardctl
