-- moved.lua - the database file is moved away while sendguard runs: the
-- next message is tempfailed (never counted in a fresh, empty database
-- that knows no restrictions), and it recovers when the file is back.
dofile(TAP .. "/tap.lua")

ok(sh("mv '" .. DB .. "' '" .. DB .. ".away'"), "the database file is moved away")
local conn = session("203.0.113.9", "erin@example.com")
check(mt.mailfrom(conn, "<erin@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_REPLYCODE, "the next message is tempfailed at MAIL FROM")
mt.disconnect(conn)
ok(not sh("test -e '" .. DB .. "'"), "no empty database was created in its place")

ok(sh("mv '" .. DB .. ".away' '" .. DB .. "'"), "the database file is back")
conn = session("203.0.113.9", "bob@example.com")
check(mt.mailfrom(conn, "<bob@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_REPLYCODE, "bob's restriction is in force again")
mt.disconnect(conn)
conn = session("203.0.113.9", "erin@example.com")
check(mt.mailfrom(conn, "<erin@example.com>"), "mailfrom")
is(mt.getreply(conn), SMFIR_CONTINUE, "and erin's next message passes")
mt.disconnect(conn)
done()
