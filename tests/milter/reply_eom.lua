-- reply_eom.lua - the replies sendguard sets, read where miltertest can
-- read them: at end of message.  At DATA miltertest only tells that a
-- reply code was sent, not which (moved.lua, locked_tempfail.lua and
-- reply4xx.lua read what was decided there from the log, e2e_postfix.sh
-- reads the codes on the wire); with spam checking on, a message is judged
-- at end of message.  sendguard runs on tests/milter/spam.conf.in with
-- on_message "accept", on_store_error "tempfail" (the default) and reply =
-- { code = "451"; xcode = "4.7.1"; two lines } (milter_test.sh).
-- Globals from -D: SOCK, DB, TAP, LOG.
dofile(TAP .. "/tap.lua")

-- spam(conn, from, before_eom): one spam message to one external
-- recipient; before_eom() runs between its header and its end.  The reply
-- that decided it and where ("data" or "eom").
local function spam(conn, from, before_eom)
	check(mt.mailfrom(conn, from), "mailfrom")
	check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
	check(mt.data(conn), "data")
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		return r, "data"
	end
	check(mt.header(conn, "X-Spam-Flag", "YES"), "header")
	if before_eom then
		before_eom()
	end
	check(mt.eom(conn), "eom")
	return mt.getreply(conn), "eom"
end

-- the configured reply: a sender reaching spam_messages_per_day (3)
do
	local conn = session("203.0.113.9", "paused@example.com")
	local r1 = spam(conn, "<paused@example.com>")
	local r2 = spam(conn, "<paused@example.com>")
	ok(r1 == SMFIR_CONTINUE and r2 == SMFIR_CONTINUE,
	    "spam 1 and 2 of 3: accepted (on_message accept)")
	local r3, stage = spam(conn, "<paused@example.com>")
	is(r3, SMFIR_REPLYCODE, "spam 3 of 3 reaches the limit: refused with a reply code")
	ok(stage == "eom" and reply_is(conn, "451", "4.7.1",
	    { "Outbound mail paused for this sender", "Ask your admin" }),
	    "with the configured reply.code 451, reply.xcode 4.7.1 and both lines of reply.text")
	mt.disconnect(conn)
end

-- a store error: 451 4.3.0 and its own text, not the configured reply
do
	local conn = session("203.0.113.9", "tina@example.com")
	local moved
	local r, stage = spam(conn, "<tina@example.com>", function()
		moved = sh("mv '" .. DB .. "' '" .. DB .. ".away'")
	end)
	ok(moved, "the database file is moved away before the end of the message")
	is(r, SMFIR_REPLYCODE, "a database error at end of message: a reply code")
	ok(stage == "eom" and reply_is(conn, "451", "4.3.0", { STORE_TEMPFAIL_TEXT }),
	    "451 4.3.0 " .. STORE_TEMPFAIL_TEXT .. " (on_store_error = tempfail)")
	ok(sh("mv '" .. DB .. ".away' '" .. DB .. "'"), "the database file is back")
	ok(logged_line("identity=tina@example.com: database error while ",
	    STORE_TEMPFAIL_LOG), "logged as a database error, tempfailed")
	mt.disconnect(conn)
end
done()
