/*
 * store_test.c - unit tests of store/: opening, creating and versioning a
 * database, foreign and corrupt files, transactions and lock contention.
 * Records and counters are in store_records_test.c.  Hermetic: a fresh
 * temporary database per test (store_fixture.h).  Single-threaded; one
 * test forks processes that open a new database at the same time.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "store_fixture.h"

static void
test_create_on_open_and_reopen_keeps_data(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	fixture fx;
	store_t *st;
	bool found = false;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st != NULL, "open with so_create creates the database");
	T_OK(access(fx.fx_db, F_OK) == 0, "the file exists after open");
	T_INTEQ(put(st, &r, STORE_EV_RESTRICTED), 0, "put on a new database");
	store_close(st);

	st = open_db(fx.fx_db, false, 1000);
	T_OK(st != NULL, "reopen without so_create");
	T_INTEQ(store_restriction_get(st, "alice@example.com", NOW + 1, &got,
	    &found, errbuf, sizeof(errbuf)), 0, "get after reopen");
	T_OK(found, "the restriction survived the reopen");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_schema_version_application_id_and_wal_are_set(void)
{
	char buf[64];
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st != NULL, "open a new database");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION, "user_version is STORE_SCHEMA_VERSION");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA application_id"), 0x53475244,
	    "application_id is 'SGRD'");
	T_STREQ(raw_text(fx.fx_db, "PRAGMA journal_mode", buf, sizeof(buf)),
	    "wal", "the database is in WAL mode");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table' AND name IN"
	    " ('restrictions', 'events', 'counters')"), 3,
	    "the three tables exist");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_missing_file_without_create_is_unavailable(void)
{
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, false, 1000);
	T_OK(st == NULL, "opening a missing file without so_create fails");
	T_INTEQ(store_errkind(NULL), STORE_ERR_UNAVAILABLE,
	    "the failure is UNAVAILABLE");
	T_OK(strstr(errbuf, "does not exist") != NULL &&
	    strstr(errbuf, fx.fx_db) != NULL,
	    "the message names the file and says it does not exist");
	printf("# %s\n", t_vis(errbuf));
	T_OK(access(fx.fx_db, F_OK) != 0, "no file was created");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_missing_directory_is_named(void)
{
	fixture fx;
	store_t *st;
	char path[PATH_MAX + 64];

	fx_setup(&fx);
	snprintf(path, sizeof(path), "%s/gone/sendguard.db", fx.fx_dir);
	st = open_db(path, true, 1000);
	T_OK(st == NULL, "a database in a missing directory cannot be created");
	T_OK(strstr(errbuf, "the directory ") != NULL &&
	    strstr(errbuf, "/gone does not exist") != NULL,
	    "the message says which directory does not exist");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

/* As another user (root's tests only): a directory it may not write */
static void
test_unwritable_directory_is_named(void)
{
	fixture fx;
	store_t *st;
	char got[512] = "";
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0) {
		printf("# skipped: needs root to test another user's access\n");
		return;
	}
	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	store_close(st);
	(void)chmod(fx.fx_dir, 0755);
	if (pipe(fd) != 0 || (pid = fork()) < 0) {
		T_OK(false, "pipe and fork");
		fx_teardown(&fx);
		return;
	}
	if (pid == 0) {
		close(fd[0]);
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(1);
		st = open_db(fx.fx_db, false, 1000);
		if (write(fd[1], errbuf, strlen(errbuf)) < 0)
			_exit(1);
		_exit(st == NULL ? 0 : 2);
	}
	close(fd[1]);
	n = read(fd[0], got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	(void)waitpid(pid, &status, 0);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "uid 65534 cannot open root's database for writing");
	T_OK(strstr(got, "uid 65534 may not write the directory ") != NULL &&
	    strstr(got, fx.fx_dir) != NULL,
	    "the message names the user and the directory it may not write");
	printf("# %s\n", t_vis(got));
	fx_teardown(&fx);
}

static void
test_empty_file_without_create_is_unavailable(void)
{
	fixture fx;
	store_t *st;
	FILE *f;

	fx_setup(&fx);
	f = fopen(fx.fx_db, "w");
	if (f != NULL)
		fclose(f);
	st = open_db(fx.fx_db, false, 1000);
	T_OK(st == NULL, "an empty file is not initialised without so_create");
	T_INTEQ(store_errkind(NULL), STORE_ERR_UNAVAILABLE,
	    "the failure is UNAVAILABLE");
	store_close(st);
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st != NULL, "with so_create the empty file becomes a database");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_text_file_is_corrupt(void)
{
	fixture fx;
	store_t *st;
	FILE *f;

	fx_setup(&fx);
	f = fopen(fx.fx_db, "w");
	if (f != NULL) {
		for (int i = 0; i < 200; i++)
			fputs("this is a text file, not a database\n", f);
		fclose(f);
	}
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL, "opening a text file fails");
	T_INTEQ(store_errkind(NULL), STORE_ERR_CORRUPT,
	    "the failure is CORRUPT");
	T_OK(strstr(errbuf, "file is not a database") != NULL,
	    "the message says the file is not a database");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_foreign_database_is_not_a_sendguard_database(void)
{
	char buf[64];
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	raw_exec(fx.fx_db, "CREATE TABLE mailboxes (address TEXT);");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL, "a database with foreign tables is refused");
	T_INTEQ(store_errkind(NULL), STORE_ERR_SCHEMA,
	    "the failure is SCHEMA");
	T_OK(strstr(errbuf, "not a sendguard database") != NULL,
	    "the message says it is not a sendguard database");
	printf("# %s\n", t_vis(errbuf));
	T_STREQ(raw_text(fx.fx_db, "PRAGMA journal_mode", buf, sizeof(buf)),
	    "delete", "the foreign database was not switched to WAL");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM sqlite_master"), 1,
	    "nothing was added to the foreign database");
	store_close(st);
	fx_teardown(&fx);

	fx_setup(&fx);
	raw_exec(fx.fx_db, "PRAGMA application_id = 42;");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL && store_errkind(NULL) == STORE_ERR_SCHEMA &&
	    strstr(errbuf, "not a sendguard database") != NULL,
	    "a database of another application is refused as SCHEMA");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_newer_schema_version_is_refused(void)
{
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	store_close(open_db(fx.fx_db, true, 1000));
	raw_exec(fx.fx_db, "PRAGMA user_version = 99;");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL, "a database of schema version 99 is refused");
	T_INTEQ(store_errkind(NULL), STORE_ERR_SCHEMA,
	    "the failure is SCHEMA");
	T_OK(strstr(errbuf, "schema version 99 is newer than this sendguard "
	    "supports (2)") != NULL, "the message says the schema is newer");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

/* The version 1 schema exactly as sendguard 0.1.0 created it. */
static const char v1_schema[] =
    "CREATE TABLE restrictions (identity TEXT NOT NULL PRIMARY KEY,"
    " reason TEXT NOT NULL DEFAULT '', limit_name TEXT NOT NULL DEFAULT '',"
    " limit_value INTEGER NOT NULL DEFAULT 0,"
    " count INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    " expires_at INTEGER, client_address TEXT NOT NULL DEFAULT '',"
    " queue_id TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT ''"
    ") WITHOUT ROWID;"
    "CREATE INDEX restrictions_expires_at ON restrictions (expires_at)"
    " WHERE expires_at IS NOT NULL;"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('restricted', 'expired',"
    " 'unblocked', 'blocked', 'alerted')), identity TEXT NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '', limit_name TEXT NOT NULL DEFAULT '',"
    " limit_value INTEGER NOT NULL DEFAULT 0,"
    " count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER,"
    " client_address TEXT NOT NULL DEFAULT '',"
    " queue_id TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX events_identity_at ON events (identity, at);"
    "CREATE INDEX events_at ON events (at);"
    "CREATE TABLE counters (identity TEXT NOT NULL,"
    " bucket INTEGER NOT NULL, internal INTEGER NOT NULL DEFAULT 0,"
    " external INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (identity, bucket)"
    ") WITHOUT ROWID;"
    "CREATE INDEX counters_bucket ON counters (bucket);"
    "PRAGMA application_id = 1397183044;"	/* 0x53475244, 'SGRD' */
    "PRAGMA user_version = 1;";

static void
test_version_1_database_is_upgraded_in_place(void)
{
	store_counts c;
	fixture fx;
	store_t *st;
	ino_t before;
	struct stat sb;

	fx_setup(&fx);
	raw_exec(fx.fx_db, v1_schema);
	raw_exec(fx.fx_db, "PRAGMA journal_mode = WAL;"
	    "INSERT INTO counters VALUES ('a@x', 100, 2, 3);"
	    "INSERT INTO restrictions (identity, reason, created_at)"
	    " VALUES ('r@x', 'old', 5);");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"), 1,
	    "a version 1 database is built");
	before = stat(fx.fx_db, &sb) == 0 ? sb.st_ino : 0;
	st = open_db(fx.fx_db, false, 1000);
	if (!T_OK(st != NULL, "sendguard opens a version 1 database"))
		printf("# %s\n", t_vis(errbuf));
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"), 2,
	    "it is migrated to version 2");
	T_OK(stat(fx.fx_db, &sb) == 0 && sb.st_ino == before,
	    "in place: the same file");
	T_INTEQ(raw_int(fx.fx_db, "SELECT spam FROM counters"
	    " WHERE identity = 'a@x'"), 0,
	    "an old counter row has spam 0");
	T_INTEQ(raw_int(fx.fx_db, "SELECT internal * 10 + external"
	    " FROM counters WHERE identity = 'a@x'"), 23,
	    "and keeps its recipient counts");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM restrictions"
	    " WHERE identity = 'r@x' AND reason = 'old'"), 1,
	    "a restriction survives the migration");
	if (st != NULL) {
		T_INTEQ(add_spam(st, "a@x", 100, 2), 0,
		    "spam is added to the old bucket");
		c = counts(st, "a@x", 100, 100);
		T_OK(c.sc_int_hour == 2 && c.sc_ext_hour == 3 &&
		    c.sc_spam_hour == 2 && c.sc_spam_day == 2,
		    "and read back with the recipients");
	}
	store_close(st);
	st = open_db(fx.fx_db, false, 1000);
	T_OK(st != NULL, "a migrated database opens again as is");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_version_3_database_is_refused_untouched(void)
{
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	store_close(open_db(fx.fx_db, true, 1000));
	raw_exec(fx.fx_db, "PRAGMA user_version = 3;");
	st = open_db(fx.fx_db, true, 1000);
	T_OK(st == NULL && store_errkind(NULL) == STORE_ERR_SCHEMA,
	    "a version 3 database is refused as SCHEMA");
	T_OK(strstr(errbuf, "schema version 3 is newer than this sendguard "
	    "supports (2)") != NULL, "the message names both versions");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"), 3,
	    "and the file keeps its version");
	store_close(st);
	fx_teardown(&fx);
}

static void
test_several_processes_create_one_new_database(void)
{
	enum { NPROC = 6 };
	int fds[2], i, ok = 0;
	pid_t pids[NPROC];
	fixture fx;

	fx_setup(&fx);
	/* children must not inherit and repeat buffered TAP lines */
	fflush(stdout);
	if (pipe(fds) != 0) {
		perror("pipe");
		exit(2);
	}
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char c;
			store_t *st;
			int rc;

			/* wait for the start: the parent closes the pipe */
			close(fds[1]);
			rc = (int)read(fds[0], &c, 1);
			(void)rc;
			st = open_db(fx.fx_db, true, 5000);
			if (st == NULL)
				printf("# child: %s\n", t_vis(errbuf));
			fflush(stdout);
			store_close(st);
			_exit(st != NULL ? 0 : 1);
		}
	}
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < NPROC; i++) {
		int status;

		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	T_INTEQ(ok, NPROC, "every process opening a new database succeeds");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table'"), 3, "the schema was created once");
	T_INTEQ(raw_int(fx.fx_db, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION, "and has the current version");
	fx_teardown(&fx);
}

/* ---- restrictions ---- */

static void
test_busy_writer_fails_busy_then_succeeds_after_commit(void)
{
	const store_delta one = { 1, 0, 0 };
	store_restriction got;
	struct timespec t0;
	store_t *a, *b;
	bool found;
	fixture fx;
	long ms;

	fx_setup(&fx);
	a = open_db(fx.fx_db, true, BUSY_MS);
	b = open_db(fx.fx_db, true, BUSY_MS);
	T_OK(a != NULL && b != NULL, "two handles on one database");
	T_INTEQ(store_begin(b, true, errbuf, sizeof(errbuf)), 0,
	    "handle B takes the write lock");
	add(b, "a@x", 1, 1, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_INTEQ(store_begin(a, true, errbuf, sizeof(errbuf)), -1,
	    "handle A cannot begin a write transaction");
	ms = ms_since(&t0);
	T_INTEQ(store_errkind(a), STORE_ERR_BUSY, "the failure is BUSY");
	printf("# %s (after %ld ms)\n", t_vis(errbuf), ms);
	T_OK(ms >= BUSY_MS - 5, "A waited for its busy timeout");
	T_INTEQ(store_counts_add(a, "a@x", 1, &one, 0, errbuf,
	    sizeof(errbuf)), -1, "a write without a transaction fails too");
	T_INTEQ(store_errkind(a), STORE_ERR_BUSY, "also BUSY");
	T_INTEQ(store_restriction_get(a, "a@x", NOW, &got, &found, errbuf,
	    sizeof(errbuf)), 0, "but A can read (WAL)");
	T_INTEQ(counts(a, "a@x", 0, 0).sc_day, 0,
	    "and does not see B's uncommitted count");

	T_INTEQ(store_commit(b, errbuf, sizeof(errbuf)), 0, "B commits");
	T_INTEQ(store_begin(a, true, errbuf, sizeof(errbuf)), 0,
	    "now A can begin a write transaction");
	T_INTEQ(store_errkind(a), STORE_ERR_NONE, "the error kind is cleared");
	T_INTEQ(add(a, "a@x", 1, 1, 0), 0, "A writes");
	T_INTEQ(store_commit(a, errbuf, sizeof(errbuf)), 0, "A commits");
	T_INTEQ(counts(b, "a@x", 0, 0).sc_day, 2, "both writes are there");
	store_close(a);
	store_close(b);
	fx_teardown(&fx);
}

static void
test_rollback_discards_and_is_a_no_op_without_a_transaction(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	bool found = true;
	fixture fx;
	store_t *st;

	fx_setup(&fx);
	st = open_db(fx.fx_db, true, 1000);
	T_INTEQ(add(st, "keep@example.com", 1, 1, 0), 0,
	    "a write in autocommit mode");
	store_rollback(st);
	{
		store_counts kc;

		T_OK(store_counts_get(st, "keep@example.com", 0, 0, &kc, errbuf,
		    sizeof(errbuf)) == 0 && kc.sc_int_hour == 1,
		    "rollback without a transaction is a no-op: the write stays");
	}
	T_INTEQ(store_begin(st, true, errbuf, sizeof(errbuf)), 0,
	    "begin a write transaction");
	T_INTEQ(put(st, &r, STORE_EV_RESTRICTED), 0, "put inside it");
	T_INTEQ(add(st, "alice@example.com", 1, 3, 3), 0, "add inside it");
	store_restriction_get(st, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(found, "the transaction sees its own write");
	store_rollback(st);
	store_restriction_get(st, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(!found, "the rollback discarded the restriction");
	T_INTEQ(counts(st, "alice@example.com", 0, 0).sc_day, 0,
	    "and the counts");
	T_INTEQ(raw_int(fx.fx_db, "SELECT count(*) FROM events"), 0,
	    "and the event");
	store_rollback(st);
	T_INTEQ(store_begin(st, false, errbuf, sizeof(errbuf)), 0,
	    "a read transaction can begin after it");
	T_INTEQ(store_commit(st, errbuf, sizeof(errbuf)), 0,
	    "and commit");
	T_INTEQ(store_commit(st, errbuf, sizeof(errbuf)), -1,
	    "commit without a transaction fails");
	printf("# %s\n", t_vis(errbuf));
	store_close(st);
	fx_teardown(&fx);
}

static void
test_a_commit_is_visible_to_another_handle_at_once(void)
{
	store_restriction r = restriction("alice@example.com", NOW, false, 0);
	store_restriction got;
	store_t *a, *b;
	bool found;
	fixture fx;

	fx_setup(&fx);
	a = open_db(fx.fx_db, true, 1000);
	b = open_db(fx.fx_db, true, 1000);
	store_restriction_get(b, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(!found, "B reads: no restriction yet");
	T_INTEQ(counts(b, "alice@example.com", 0, 0).sc_day, 0,
	    "B reads: no counts yet");
	put(a, &r, STORE_EV_RESTRICTED);
	add(a, "alice@example.com", 1, 2, 3);
	store_restriction_get(b, "alice@example.com", NOW, &got, &found,
	    errbuf, sizeof(errbuf));
	T_OK(found, "B sees A's restriction at once");
	T_INTEQ(counts(b, "alice@example.com", 0, 0).sc_day, 5,
	    "B sees A's counts at once");
	store_close(a);
	store_close(b);
	fx_teardown(&fx);
}

static void
test_close_rolls_back_an_open_transaction(void)
{
	fixture fx;
	store_t *a, *b;

	fx_setup(&fx);
	a = open_db(fx.fx_db, true, BUSY_MS);
	b = open_db(fx.fx_db, true, BUSY_MS);
	store_begin(a, true, errbuf, sizeof(errbuf));
	add(a, "a@x", 1, 1, 1);
	store_close(a);
	T_INTEQ(store_begin(b, true, errbuf, sizeof(errbuf)), 0,
	    "closing a handle releases its write lock");
	T_INTEQ(counts(b, "a@x", 0, 0).sc_day, 0,
	    "and discards its uncommitted writes");
	store_rollback(b);
	store_close(b);
	store_close(NULL);
	fx_teardown(&fx);
}

int
main(void)
{
	test_create_on_open_and_reopen_keeps_data();
	test_schema_version_application_id_and_wal_are_set();
	test_missing_file_without_create_is_unavailable();
	test_empty_file_without_create_is_unavailable();
	test_missing_directory_is_named();
	test_unwritable_directory_is_named();
	test_text_file_is_corrupt();
	test_foreign_database_is_not_a_sendguard_database();
	test_newer_schema_version_is_refused();
	test_version_1_database_is_upgraded_in_place();
	test_version_3_database_is_refused_untouched();
	test_several_processes_create_one_new_database();
	test_busy_writer_fails_busy_then_succeeds_after_commit();
	test_rollback_discards_and_is_a_no_op_without_a_transaction();
	test_a_commit_is_visible_to_another_handle_at_once();
	test_close_rolls_back_an_open_transaction();
	return t_done();
}
