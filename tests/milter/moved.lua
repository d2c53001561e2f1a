-- moved.lua - the database file is moved away while sendguard runs: the
-- next message is tempfailed (never counted in a fresh, empty database
-- that knows no restrictions), and it recovers when the file is back.
-- erin sends to an internal recipient: her external count is
-- locked_*.lua's.
dofile(TAP .. "/tap.lua")

ok(sh("mv '" .. DB .. "' '" .. DB .. ".away'"), "the database file is moved away")
local conn = session("203.0.113.9", "erin@example.com")
is(judged(conn, "<erin@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "the next message gets a reply code at DATA")
-- (miltertest cannot read the code at DATA: the log says which it was;
-- reply_eom.lua reads the 451 4.3.0 itself at end of message)
ok(logged_line("identity=erin@example.com: database error while opening the database",
    STORE_TEMPFAIL_LOG), "tempfailed as a database error, not refused (log)")
mt.disconnect(conn)
ok(not sh("test -e '" .. DB .. "'"), "no empty database was created in its place")

ok(sh("mv '" .. DB .. ".away' '" .. DB .. "'"), "the database file is back")
conn = session("203.0.113.9", "bob@example.com")
is(judged(conn, "<bob@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "bob's restriction is in force again")
ok(logged("identity=bob@example.com client=203.0.113.9: refused at DATA: restricted"),
    "refused as restricted, not tempfailed (log)")
mt.disconnect(conn)
conn = session("203.0.113.9", "erin@example.com")
is(judged(conn, "<erin@example.com>", { "<colleague@example.com>" }), SMFIR_ACCEPT,
    "and erin's next message passes")
mt.disconnect(conn)
-- Waited for, too, so that the lock taken next (locked_*.lua) finds no
-- count of hers still to be written.
ok(sql_soon("SELECT SUM(internal) FROM counters WHERE identity='erin@example.com'", "1") == "1",
    "counted in the database that came back, once only")
done()
