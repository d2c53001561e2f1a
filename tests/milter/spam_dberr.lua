-- spam_dberr.lua - spam checking on and on_store_error = "accept": a
-- database error at the read of the restriction at DATA leaves the
-- message to its judgement at end of message, which reads again, rather
-- than accept it there uncounted and unjudged.  sendguard runs on
-- tests/milter/spam.conf.in with on_message "accept" and on_store_error
-- "accept".  Globals from -D: SOCK, DB, TAP, LOG.
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "fay@example.com")
check(mt.mailfrom(conn, "<fay@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_CONTINUE, "MAIL FROM: nothing to say yet")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
ok(sh("mv '" .. DB .. "' '" .. DB .. ".away'"), "the database file is moved away")
check(mt.data(conn), "data")
is(mt.getreply(conn), SMFIR_CONTINUE,
    "DATA: the restriction cannot be read, the message goes on to its judgement")
ok(sh("mv '" .. DB .. ".away' '" .. DB .. "'"), "the database file is back")
check(mt.header(conn, "X-Spam-Flag", "YES"), "header")
check(mt.eom(conn), "eom")
is(mt.getreply(conn), SMFIR_CONTINUE,
    "end of message: judged there, a spam message accepted (on_message accept)")
ok(sql_soon("SELECT coalesce(SUM(spam), 0) || ' ' || coalesce(SUM(external), 0) FROM counters WHERE identity='fay@example.com'", "1 1") == "1 1",
    "and counted: one spam message, one recipient")
ok(logged("identity=fay@example.com: database error while opening the database at DATA:"),
    "the error at DATA is logged")
ok(logged("; judged at end of message"), "saying the judgement at the end decides")
mt.disconnect(conn)
done()
