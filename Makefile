# sendguard - outbound restriction milter for Postfix and Sendmail.
#
#   make          build sendguard
#   make run      install what is missing, build, run on conf/sendguard.conf
#                 in the foreground with the database and socket under ./var
#   make check    install what is missing, build, run every test
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
BUILD_PKGS = gcc make libmilter-dev libsqlite3-dev libconfig-dev
TEST_PKGS  = miltertest postfix swaks sqlite3 iproute2
BENCH_PKGS = postfix policyd-rate-limit

B = build

POLICY_SRC = policy/pol_addr.c policy/pol_match.c policy/pol_net.c \
	     policy/pol_decide.c
STORE_SRC  = store/store.c store/store_records.c store/store_schema.c
CONF_SRC   = conf/conf.c conf/conf_table.c
MILTER_SRC = milter/main.c milter/milt_log.c milter/milt_conf.c \
	     milter/milt_pool.c milter/milt_socket.c milter/mlfi.c

obj = $(patsubst %.c,$(B)/%.o,$(1))

SENDGUARD_OBJ = $(call obj,$(MILTER_SRC) $(POLICY_SRC) $(STORE_SRC) $(CONF_SRC))

# The benchmark's load generator and null milter: built by check too, so
# they always compile with the project's flags (tests/bench_smoke.sh).
BENCH_PROGS = $(B)/bench/miltgen $(B)/bench/null_milter

UNIT_TESTS = $(B)/tests/policy_test $(B)/tests/store_test \
	     $(B)/tests/store_records_test $(B)/tests/store_writer_test \
	     $(B)/tests/conf_test

.PHONY: all run check bench deps deps-test deps-bench clean

all: sendguard

sendguard: $(SENDGUARD_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_MILTER) $(LDLIBS_SQLITE) $(LDLIBS_CONFIG)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

$(B)/tests/policy_test: $(call obj,tests/policy_test.c $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^
$(B)/tests/store_test: $(call obj,tests/store_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/store_records_test: $(call obj,tests/store_records_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/store_writer_test: $(call obj,tests/store_writer_test.c $(STORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SQLITE)
$(B)/tests/conf_test: $(call obj,tests/conf_test.c $(CONF_SRC) $(POLICY_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CONFIG)

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

run: deps
	@$(MAKE) --no-print-directory sendguard
	@mkdir -p var
	@sed -e 's|^socket = .*|socket = "unix:$(CURDIR)/var/sendguard.sock";|' \
	     -e 's|^database = .*|database = "$(CURDIR)/var/sendguard.db";|' \
	     conf/sendguard.conf > var/sendguard.conf
	./sendguard -f -c var/sendguard.conf

check: deps-test
	@$(MAKE) --no-print-directory sendguard $(UNIT_TESTS) $(BENCH_PROGS)
	@sh tests/run

bench: deps-bench
	@$(MAKE) --no-print-directory sendguard $(BENCH_PROGS)
	@sh bench/run.sh

clean:
	rm -rf $(B) sendguard
