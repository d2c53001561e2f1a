-- restart.lua - after protocol.lua and a restart of sendguard: the state
-- lives in the database, not in the process.
dofile(TAP .. "/tap.lua")

-- bob sent 3 external recipients before the restart (limit 3).  (No
-- reply at MAIL FROM to check: refuse_restricted_at = "data".)
local conn = session("127.0.0.1", nil)
check(mt.mailfrom(conn, "<bob@example.com>"), "mailfrom")
check(mt.rcptto(conn, "<one-more@ext.test>"), "rcptto")
is(finish(conn), SMFIR_REPLYCODE, "after a restart bob's counts survived: the 4th external recipient is refused")
ok(logged("identity=bob@example.com client=127.0.0.1: restricted: external_recipients_per_hour 3 exceeded: 4 recipients"),
    "as the message that crosses the limit: bob was not restricted before it (log)")
is(judged(conn, "<bob@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "and the restriction refuses his next message")
ok(logged("identity=bob@example.com client=127.0.0.1: refused at DATA: restricted"),
    "refused as restricted, not tempfailed (log)")
mt.disconnect(conn)
done()
