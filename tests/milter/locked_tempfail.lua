-- locked_tempfail.lua - another process holds the database's write lock
-- past busy_timeout_ms; on_store_error = "tempfail".  Readers are not
-- blocked (WAL): a message is judged on a read and its counts wait in
-- memory until sendguard's writer gives up on the lock.  From then on,
-- every message is tempfailed until the counts can be written.
-- Writes the number of messages accepted to DB .. ".accepted".
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "dave@example.com")

local function one()
	check(mt.mailfrom(conn, "<dave@example.com>"), "mailfrom")
	local rm = mt.getreply(conn)
	check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
	check(mt.eom(conn), "eom")
	return rm, mt.getreply(conn)
end

local rm, re = one()
is(rm, SMFIR_CONTINUE, "a locked database does not block readers at MAIL FROM (WAL)")
is(re, SMFIR_CONTINUE, "the first message is judged on a read and accepted")
-- the writer gives up after busy_timeout_ms (200): at most 50 tries
local accepted, tries = 1, 0
while re == SMFIR_CONTINUE and tries < 50 do
	os.execute("sleep 0.1")
	rm, re = one()
	if re == SMFIR_CONTINUE then
		accepted = accepted + 1
	end
	tries = tries + 1
end
is(re, SMFIR_REPLYCODE, "once its counts cannot be written past the busy timeout, a message is tempfailed")
ok(reply_is(conn, "451", "4.3.0",
    { "Outbound sender policy temporarily unavailable, try again later" }),
    "with 451 4.3.0, so the client retries")
local f = io.open(DB .. ".accepted", "w")
f:write(accepted, "\n")
f:close()
mt.disconnect(conn)
done()
