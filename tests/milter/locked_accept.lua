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
	check(mt.eom(conn), "eom")
	return mt.getreply(conn)
end

local r = one()
is(r, SMFIR_CONTINUE, "the first message is judged on a read and counted")
local counted, tries = 1, 0
while r == SMFIR_CONTINUE and tries < 50 do
	os.execute("sleep 0.1")
	r = one()
	if r == SMFIR_CONTINUE then
		counted = counted + 1
	end
	tries = tries + 1
end
is(r, SMFIR_ACCEPT,
    "locked past the busy timeout with on_store_error = accept: the message goes through")
local f = io.open(DB .. ".accepted", "w")
f:write(counted, "\n")
f:close()
mt.disconnect(conn)

-- bob is restricted (restart.lua): the lock stops writes, not reads
conn = session("127.0.0.1", nil)
is(judged(conn, "<bob@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "meanwhile a restricted sender is still refused: the database can be read")
ok(reply_is(conn, "550", "5.1.8", RESTRICTED_REPLY), "with the 550 5.1.8 refusal")
mt.disconnect(conn)
done()
