-- locked_accept.lua - the database is locked; on_store_error = "accept".
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "dave@example.com")
check(mt.mailfrom(conn, "<dave@example.com>"), "mailfrom")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
check(mt.eom(conn), "eom")
local r = mt.getreply(conn)
ok(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT,
    "locked past the busy timeout with on_store_error = accept: the message goes through")
mt.disconnect(conn)
done()
