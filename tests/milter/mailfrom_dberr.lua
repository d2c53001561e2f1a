-- mailfrom_dberr.lua - refuse_restricted_at = "mail_from" and
-- on_store_error = "accept": a database error at the look-up at MAIL FROM
-- leaves the message to its judgement at DATA, which reads again, rather
-- than accept it there (the MTA would then never show sendguard the rest:
-- uncounted, unjudged).  sendguard runs on tests/milter/limits.conf.in.
-- Globals from -D: SOCK, DB, TAP, LOG.
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "hugo@example.com")
ok(sh("mv '" .. DB .. "' '" .. DB .. ".away'"), "the database file is moved away")
check(mt.mailfrom(conn, "<hugo@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_CONTINUE,
    "MAIL FROM: the restriction cannot be read; the message goes on, not accepted")
ok(sh("mv '" .. DB .. ".away' '" .. DB .. "'"), "the database file is back")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
check(mt.rcptto(conn, "<b@ext.test>"), "rcptto")
is(finish(conn), SMFIR_ACCEPT, "DATA: judged there on a fresh read, and accepted")
ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='hugo@example.com'", "2") == "2",
    "and counted")
ok(logged("identity=hugo@example.com: database error while opening the database at MAIL FROM: "),
    "the error at MAIL FROM is logged")
ok(logged("; left to the message's judgement"), "saying the judgement decides")
mt.disconnect(conn)
done()
