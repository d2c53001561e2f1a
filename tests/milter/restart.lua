-- restart.lua - after protocol.lua and a restart of sendguard: the state
-- lives in the database, not in the process.
dofile(TAP .. "/tap.lua")

-- bob sent 3 external recipients before the restart (limit 3)
local conn = session("127.0.0.1", nil)
check(mt.mailfrom(conn, "<bob@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_CONTINUE, "after a restart bob is not restricted yet")
check(mt.rcptto(conn, "<one-more@ext.test>"), "rcptto")
is(finish(conn), SMFIR_REPLYCODE, "but his counts survived: the 4th external recipient crosses")
is(judged(conn, "<bob@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "and the restriction refuses his next message")
ok(logged("identity=bob@example.com client=127.0.0.1: refused at DATA: restricted"),
    "refused as restricted, not tempfailed (log)")
mt.disconnect(conn)
done()
