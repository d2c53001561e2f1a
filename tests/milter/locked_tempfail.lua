-- locked_tempfail.lua - another process holds the database's write lock
-- past busy_timeout_ms; on_store_error = "tempfail".
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "dave@example.com")
check(mt.mailfrom(conn, "<dave@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_CONTINUE, "a locked database does not block readers at MAIL FROM (WAL)")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
check(mt.eom(conn), "eom")
is(mt.getreply(conn), SMFIR_REPLYCODE, "locked past the busy timeout: the message is tempfailed")
ok(reply_is(conn, "451", "4.3.0",
    { "Outbound sender policy temporarily unavailable, try again later" }),
    "with 451 4.3.0, so the client retries")
mt.disconnect(conn)
done()
