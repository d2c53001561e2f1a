-- spam_dberr.lua - spam checking on and on_store_error = "accept": a
-- database error at the read of the restriction at DATA leaves the
-- message to its judgement at end of message, which reads again, rather
-- than accept it there uncounted and unjudged.  sendguard runs on
-- tests/milter/spam.conf.in with on_message "accept" and on_store_error
-- "accept".  Globals from -D: SOCK, DB, TAP, LOG.
dofile(TAP .. "/tap.lua")

local conn
if ON_MESSAGE == "accept" then
conn = session("203.0.113.9", "fay@example.com")
-- (no reply at MAIL FROM to check: refuse_restricted_at = "data")
check(mt.mailfrom(conn, "<fay@example.com>"), "mailfrom")
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
ok(logged("; left to the message's judgement"), "saying the judgement at the end decides")
mt.disconnect(conn)
end

-- ON_MESSAGE "reject": spam is refused whether or not the database answers
-- (the verdict needs none); on_store_error = accept must not deliver it
if ON_MESSAGE == "reject" then
	conn = session("203.0.113.9", "gus@example.com")
	check(mt.mailfrom(conn, "<gus@example.com>"), "mailfrom")
	check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
	check(mt.data(conn), "data")
	check(mt.header(conn, "X-Spam-Flag", "YES"), "header")
	ok(sh("mv '" .. DB .. "' '" .. DB .. ".away'"), "the database file is moved away")
	check(mt.eom(conn), "eom")
	is(mt.getreply(conn), SMFIR_REPLYCODE,
	    "on_message reject, on_store_error accept: spam is refused all the same")
	ok(sh("mv '" .. DB .. ".away' '" .. DB .. "'"), "the database file is back")
	ok(logged("identity=gus@example.com: database error while opening the database"),
	    "the database error is logged")
	ok(logged("not counted, refused as spam all the same (on_store_error = accept)"),
	    "saying the spam is refused though nothing is counted")
	mt.disconnect(conn)
end
done()
