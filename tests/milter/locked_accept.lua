-- locked_accept.lua - the database is locked; on_store_error = "accept".
-- As in locked_tempfail.lua, until the writer gives up on the lock; then
-- messages go through uncounted.  Writes the number of messages counted
-- (accepted before that) to DB .. ".accepted".  A restricted sender is
-- refused all along.
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "erin@example.com")

local function one()
	check(mt.mailfrom(conn, "<erin@example.com>"), "mailfrom")
	check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
	return finish(conn)
end

-- Counted or let through uncounted, a message is accepted at DATA either
-- way; the log says which (a line per message let through uncounted).
local GAVE_UP = "accepting (on_store_error = accept)"
local r = one()
is(r, SMFIR_ACCEPT, "the first message is judged on a read, counted and accepted")
ok(not logged(GAVE_UP), "and counted: nothing let through uncounted yet")
local counted, tries = 1, 0
while not logged(GAVE_UP) and tries < 50 do
	os.execute("sleep 0.1")
	r = one()
	if not logged(GAVE_UP) then
		counted = counted + 1
	end
	tries = tries + 1
end
ok(logged(GAVE_UP) and r == SMFIR_ACCEPT,
    "locked past the busy timeout with on_store_error = accept: the message goes through")
local f = io.open(DB .. ".accepted", "w")
f:write(counted, "\n")
f:close()
mt.disconnect(conn)

-- bob is restricted (restart.lua): the lock stops writes, not reads
conn = session("127.0.0.1", nil)
is(judged(conn, "<bob@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "meanwhile a restricted sender is still refused: the database can be read")
ok(logged("identity=bob@example.com client=127.0.0.1: refused at DATA: restricted"),
    "refused as restricted, not let through (log)")
mt.disconnect(conn)
done()
