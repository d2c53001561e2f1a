-- locked_tempfail.lua - another process holds the database's write lock
-- past busy_timeout_ms; on_store_error = "tempfail".  Readers are not
-- blocked (WAL): a message is judged on a read and its counts wait in
-- memory until sendguard's writer gives up on the lock.  From then on,
-- every message is tempfailed until the counts can be written.
-- Writes the number of messages accepted to DB .. ".accepted".
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "dave@example.com")

-- (sendguard answers nothing at MAIL FROM here: refuse_restricted_at =
-- "data"; its judgement at DATA is the reply that says something)
local function one()
	check(mt.mailfrom(conn, "<dave@example.com>"), "mailfrom")
	check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
	return finish(conn)
end

local re = one()
is(re, SMFIR_ACCEPT, "a locked database does not block readers (WAL): the first message is judged on a read and accepted")
-- the writer gives up after busy_timeout_ms (200): at most 50 tries
local accepted, tries = 1, 0
while re == SMFIR_ACCEPT and tries < 50 do
	os.execute("sleep 0.1")
	re = one()
	if re == SMFIR_ACCEPT then
		accepted = accepted + 1
	end
	tries = tries + 1
end
is(re, SMFIR_REPLYCODE, "once its counts cannot be written past the busy timeout, a message gets a reply code at DATA")
ok(logged_line("identity=dave@example.com: database error while counting recipients: writing counts: ",
    STORE_TEMPFAIL_LOG),
    "tempfailed as a database error, not refused (log; the 451 4.3.0 on the wire: e2e_postfix.sh)")
local f = io.open(DB .. ".accepted", "w")
f:write(accepted, "\n")
f:close()
mt.disconnect(conn)
done()
