-- spam_onmsg.lua - spam.on_message "reject" or "hold" (ON_MESSAGE from -D)
-- for a sender under the spam limit.  Globals from -D: SOCK, DB, TAP,
-- ON_MESSAGE.
dofile(TAP .. "/tap.lua")

local id = ON_MESSAGE .. "@example.com"
local conn = session("203.0.113.9", id)
-- (no reply at MAIL FROM to check: refuse_restricted_at = "data")
check(mt.mailfrom(conn, "<" .. id .. ">"), "mailfrom")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
check(mt.header(conn, "X-Spam-Flag", "YES"), "header")
check(mt.eom(conn), "eom")
local r = mt.getreply(conn)
if ON_MESSAGE == "reject" then
	is(r, SMFIR_REPLYCODE, "reject: a spam message is refused")
	ok(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
	    "Message refused: it was judged as spam. Contact your email admin if this is a mistake"),
	    "with 550 5.7.1 and a clear text")
	ok(sql_soon("SELECT SUM(spam) || '/' || SUM(external) FROM counters WHERE identity='" .. id .. "'", "1/0") == "1/0",
	    "it counts as spam, its recipients do not")
else
	is(r, SMFIR_CONTINUE, "hold: the message goes on")
	ok(mt.eom_check(conn, MT_QUARANTINE), "into quarantine (the MTA's hold queue)")
	ok(sql_soon("SELECT SUM(spam) || '/' || SUM(external) FROM counters WHERE identity='" .. id .. "'", "1/1") == "1/1",
	    "it counts as spam and its recipients count")
end
mt.disconnect(conn)

-- a spam message crossing a limit whose action is alert: the log says
-- what spam.on_message did to it, not "accepted"
conn = session("203.0.113.9", "watched@example.com")
check(mt.mailfrom(conn, "<watched@example.com>"), "mailfrom")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
check(mt.header(conn, "X-Spam-Flag", "YES"), "header")
check(mt.eom(conn), "eom")
r = mt.getreply(conn)
local outcome = ON_MESSAGE == "reject" and "refused as spam" or "held as spam"
ok(logged("identity=watched@example.com client=203.0.113.9: limit crossed: " ..
    "spam_messages_per_day 1 reached: 1 spam message; action alert, message " ..
    outcome), ON_MESSAGE .. ": an alert crossing's log line says the message was " .. outcome)
mt.disconnect(conn)
done()
