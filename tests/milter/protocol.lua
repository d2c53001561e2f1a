-- protocol.lua - sendguard over the milter protocol, driven by Debian's
-- miltertest against the real binary (started by tests/milter_test.sh with
-- tests/milter/limits.conf: external_recipients_per_hour = 3, action block).
-- Globals from -D: SOCK (the milter socket), DB (its database), TAP (this
-- directory), MODE (refuse_restricted_at; tap.lua).  Run once per mode,
-- each time on a fresh database.
dofile(TAP .. "/tap.lua")

-- message(conn, from, rcpts): one transaction; returns the replies at MAIL,
-- at the last RCPT and at the judgement (finish: DATA, or end of message
-- if DATA did not decide; nil for stages not reached).  Where sendguard
-- does not answer MAIL FROM, miltertest gives continue.
local function message(conn, from, rcpts)
	check(mt.mailfrom(conn, from), "mailfrom")
	local rmail = mt.getreply(conn)
	if rmail ~= SMFIR_CONTINUE then
		return rmail, nil, nil
	end
	local rrcpt
	for _, r in ipairs(rcpts) do
		check(mt.rcptto(conn, r), "rcptto")
		rrcpt = mt.getreply(conn)
	end
	return rmail, rrcpt, finish(conn)
end

-- through(conn, from, rcpts): was the message let through unjudged
-- (passed, tap.lua)?
local function through(conn, from, rcpts)
	local rm, _, re = message(conn, from, rcpts)
	return passed(rm, re)
end

-- negotiation: only the stages sendguard uses
do
	local conn = mt.connect(SOCK, 50, 0.1)
	check(mt.negotiate(conn, nil, nil, nil), "negotiate")
	ok(mt.test_option(conn, SMFIP_NOHELO), "negotiates away HELO")
	ok(mt.test_option(conn, SMFIP_NOHDRS) and mt.test_option(conn, SMFIP_NOBODY),
	    "negotiates away headers and body")
	ok(not mt.test_action(conn, SMFIF_ADDHDRS) and
	    not mt.test_action(conn, SMFIF_CHGBODY), "asks for no message changes")
	ok(mt.test_option(conn, SMFIP_NR_CONN) and mt.test_option(conn, SMFIP_NR_RCPT),
	    "answers neither connect nor RCPT")
	if AT_MAIL then
		ok(not mt.test_option(conn, SMFIP_NR_MAIL),
		    "mail_from: answers MAIL FROM")
	else
		ok(mt.test_option(conn, SMFIP_NR_MAIL),
		    "data: does not answer MAIL FROM (SMFIP_NR_MAIL)")
	end
	ok(not mt.test_option(conn, SMFIP_NODATA) and
	    not mt.test_option(conn, SMFIP_NR_DATA),
	    "asks for DATA, and answers it: that is where it judges a message")
	ok(mt.test_action(conn, SMFIF_SETSYMLIST), "names the macros it reads")
	mt.disconnect(conn)
end

-- inbound mail is never counted nor refused
do
	local conn = session("203.0.113.9", nil)
	local rm, _, re = message(conn, "<stranger@outside.test>", { "<alice@example.com>" })
	if AT_MAIL then
		is(rm, SMFIR_ACCEPT, "inbound mail from an outside client is accepted at MAIL FROM")
	else
		is(re, SMFIR_ACCEPT, "inbound mail from an outside client is accepted at DATA")
	end
	mt.disconnect(conn)
end

-- an authenticated user: counted by login, case folded
do
	local conn = session("203.0.113.9", "Alice@Example.COM")
	local rm, rr, re = message(conn, "<alice@example.com>",
	    { "<a@ext.test>", "<b@ext.test>", "<colleague@example.com>" })
	-- (where sendguard answers nothing, miltertest says continue: these
	-- checks of a stage's reply mean something in mail_from mode only)
	if AT_MAIL then
		is(rm, SMFIR_CONTINUE, "mail_from: an authenticated sender is let through MAIL FROM")
	end
	is(re, SMFIR_ACCEPT, "2 external + 1 internal recipients, limit 3: accepted at DATA")
	ok(sql_soon("SELECT SUM(external) || '/' || SUM(internal) FROM counters WHERE identity='alice@example.com'", "2/1") == "2/1",
	    "the login is normalised to alice@example.com and counted 2 external, 1 internal")
	ok(sql("SELECT COUNT(*) FROM counters WHERE identity LIKE '%outside.test'") == "0",
	    "the inbound message before it counted nothing")

	-- the crossing message: refused whole at DATA
	rm, rr, re = message(conn, "<alice@example.com>", { "<c@ext.test>", "<d@ext.test>" })
	is(re, SMFIR_REPLYCODE, "the crossing message is refused at DATA")
	ok(logged("identity=alice@example.com client=203.0.113.9: restricted: external_recipients_per_hour 3 exceeded"),
	    "as the message that restricts its sender (log)")
	ok(sql("SELECT SUM(external) FROM counters WHERE identity='alice@example.com'") == "2",
	    "the refused message counts nothing")
	ok(sql("SELECT limit_name || ' ' || limit_value || ' ' || count || ' ' || client_address FROM restrictions WHERE identity='alice@example.com'")
	    == "external_recipients_per_hour 3 4 203.0.113.9",
	    "the restriction records the limit, its value, the count and the client")
	ok(sql("SELECT expires_at IS NULL FROM restrictions WHERE identity='alice@example.com'") == "1",
	    "action block: the restriction lasts until cleared")
	ok(sql("SELECT COUNT(*) FROM events WHERE identity='alice@example.com' AND kind='restricted'") == "1",
	    "the history records the restriction")

	-- the next message, even to one internal recipient
	rm, rr, re = message(conn, "<alice@example.com>", { "<colleague@example.com>" })
	is(final(rm, re), SMFIR_REPLYCODE, "a restricted sender is refused " .. WHERE)
	if AT_MAIL then
		is(rm, SMFIR_REPLYCODE, "mail_from: before any recipient")
	else
		ok(logged("identity=alice@example.com client=203.0.113.9: refused at DATA: restricted (external_recipients_per_hour 3 exceeded"),
		    "data: refused at DATA as a restricted sender (log)")
	end
	ok(sql("SELECT SUM(internal) FROM counters WHERE identity='alice@example.com'") == "1",
	    "the refused message counts nothing")
	mt.disconnect(conn)
end

-- the same person from another login form, and mail TO them
do
	local conn = session("198.51.100.20", "ALICE@example.com")
	local rm, _, re = message(conn, "<whatever@example.com>", { "<x@ext.test>" })
	is(final(rm, re), SMFIR_REPLYCODE,
	    "the restriction follows the identity, not the envelope sender")
	mt.disconnect(conn)
	conn = session("203.0.113.9", nil)
	rm, _, re = message(conn, "<friend@outside.test>", { "<alice@example.com>" })
	ok(passed(rm, re), "a restricted user still receives mail")
	mt.disconnect(conn)
end

-- a cleared restriction takes effect on the very next message
do
	ok(sh("sqlite3 '" .. DB .. "' \"DELETE FROM restrictions WHERE identity='alice@example.com'\""),
	    "an admin deletes the restriction row with sqlite3")
	local conn = session("203.0.113.9", "alice@example.com")
	local rm, _, re = message(conn, "<alice@example.com>", { "<colleague@example.com>" })
	if AT_MAIL then
		is(rm, SMFIR_CONTINUE, "mail_from: the very next message passes MAIL FROM")
	end
	is(re, SMFIR_ACCEPT, "and is accepted (an internal recipient, under its limit)")
	mt.disconnect(conn)
end

-- an internal client without a login: the envelope sender is the identity
do
	local conn = session("127.0.0.1", nil)
	local rm, _, re = message(conn, "<Bob@Example.com>",
	    { "<a@ext.test>", "<b@ext.test>", "<c@ext.test>" })
	is(re, SMFIR_ACCEPT, "an internal client's sender reaching its limit exactly is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='bob@example.com'", "3") == "3",
	    "counted against the envelope sender bob@example.com")
	check(mt.mailfrom(conn, "<bob@example.com>"), "mailfrom")
	check(mt.rcptto(conn, "<e@ext.test>"), "rcptto")
	check(mt.abort(conn), "abort")
	ok(sql("SELECT SUM(external) FROM counters WHERE identity='bob@example.com'") == "3",
	    "an aborted message counts nothing")

	ok(through(conn, "<>", { "<a@ext.test>" }),
	    "the null sender (a bounce) is exempt")
	ok(through(conn, "<MAILER-DAEMON@example.com>", { "<a@ext.test>" }),
	    "MAILER-DAEMON@ is exempt")
	ok(through(conn, "<postmaster@example.com>", { "<a@ext.test>" }),
	    "postmaster@ is exempt")
	ok(through(conn, "<noreply@example.com>", { "<a@ext.test>" }),
	    "a sender exempted by a policy is not counted")
	ok(through(conn, "<noreply+news@example.com>", { "<a@ext.test>" }),
	    "a policy matches the sender with its subaddress cut")

	rm, _, re = message(conn, "<bad address@example.com>", { "<a@ext.test>" })
	is(final(rm, re), SMFIR_REPLYCODE, "a malformed sender is tempfailed " .. WHERE)
	ok(logged('sender malformed address: "<bad address@example.com>"; tempfailing'),
	    "as a malformed sender (log)")
	rm, _, re = message(conn, "<bob2@example.com>", { "<a@ext.test>", "<broken<@ext.test>" })
	is(re, SMFIR_REPLYCODE, "a malformed recipient tempfails the message at DATA")
	ok(logged("identity=bob2@example.com client=127.0.0.1: 1 malformed recipient address(es)"),
	    "as a malformed recipient (log)")
	ok(sql("SELECT COUNT(*) FROM counters WHERE identity='bob2@example.com'") == "0",
	    "and counts nothing")
	mt.disconnect(conn)
end

-- a login is taken whole, an envelope sender cut at the delimiters "+-":
-- the accounts mary-jane and mary-ann are two people, while mary-jane@
-- and mary-ann@ as envelope senders of an internal client are one, mary@
do
	local conn = session("203.0.113.9", "Mary-Jane@example.com")
	local _, _, re = message(conn, "<mary@example.com>",
	    { "<a@ext.test>", "<b@ext.test>", "<c@ext.test>" })
	is(re, SMFIR_ACCEPT, "the login mary-jane: 3 external, its limit")
	mt.disconnect(conn)
	conn = session("203.0.113.9", "mary-ann@example.com")
	_, _, re = message(conn, "<mary@example.com>", { "<d@ext.test>" })
	is(re, SMFIR_ACCEPT,
	    "the login mary-ann is not mary-jane: its first recipient is accepted")
	ok(sql_soon("SELECT group_concat(identity || '=' || n, ' ') FROM (SELECT identity, SUM(external) AS n FROM counters WHERE identity LIKE 'mary%' GROUP BY identity ORDER BY identity)",
	    "mary-ann@example.com=1 mary-jane@example.com=3") == "mary-ann@example.com=1 mary-jane@example.com=3",
	    "each login counted whole, under its own identity")
	mt.disconnect(conn)
	conn = session("127.0.0.1", nil)
	_, _, re = message(conn, "<Mary-Jane+News@example.com>", { "<e@ext.test>" })
	is(re, SMFIR_ACCEPT, "an envelope sender mary-jane+news@: accepted")
	_, _, re = message(conn, "<mary-ann@example.com>", { "<f@ext.test>", "<g@ext.test>" })
	is(re, SMFIR_ACCEPT, "an envelope sender mary-ann@: accepted (3 for mary@)")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='mary@example.com'", "3") == "3",
	    "envelope senders are cut at the first delimiter: both count as mary@example.com")
	_, _, re = message(conn, "<mary_x-y@example.com>", { "<h@ext.test>" })
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='mary_x@example.com'", "1") == "1",
	    "mary_x-y@ is cut at its first delimiter, to mary_x@ ('_' is not one)")
	_, _, re = message(conn, "<mary+z@example.com>", { "<i@ext.test>" })
	is(re, SMFIR_REPLYCODE, "mary@'s fourth recipient crosses the limit: refused")
	ok(sql("SELECT COUNT(*) FROM restrictions WHERE identity LIKE 'mary%'") == "1" and
	    sql("SELECT identity FROM restrictions WHERE identity LIKE 'mary%'") == "mary@example.com",
	    "only mary@example.com is restricted, not the logins mary-jane or mary-ann")
	mt.disconnect(conn)
end

-- a SASL login is a person's account, even one named postmaster
do
	local conn = session("203.0.113.9", "postmaster@example.com")
	local rm, _, re = message(conn, "<postmaster@example.com>", { "<a@ext.test>" })
	if AT_MAIL then
		is(rm, SMFIR_CONTINUE, "mail_from: a SASL login named postmaster passes MAIL FROM")
	end
	is(re, SMFIR_ACCEPT, "a SASL login named postmaster: its message is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='postmaster@example.com'", "1") == "1",
	    "and counted: a login is not exempt (the exempt envelope postmaster before it counted nothing)")
	ok(sql("SELECT COUNT(*) FROM counters WHERE identity IN ('<>', '', 'mailer@example.com', 'mailer-daemon@example.com', 'noreply@example.com')") == "0",
	    "the exempt senders before it counted nothing")
	mt.disconnect(conn)
end

-- a policy with action alert: accepted, recorded once per crossing
do
	local conn = session("203.0.113.9", "news@example.com")
	local _, _, r1 = message(conn, "<news@example.com>", { "<a@ext.test>", "<b@ext.test>", "<c@ext.test>" })
	local _, _, r2 = message(conn, "<news@example.com>", { "<d@ext.test>" })
	is(r1, SMFIR_ACCEPT, "action alert: the crossing message is accepted")
	is(r2, SMFIR_ACCEPT, "action alert: later messages are accepted")
	ok(sql("SELECT COUNT(*) FROM events WHERE identity='news@example.com' AND kind='alerted'") == "1",
	    "action alert: one alert event per crossing, not per message")
	ok(sql("SELECT COUNT(*) FROM restrictions WHERE identity='news@example.com'") == "0",
	    "action alert: nobody is restricted")
	mt.disconnect(conn)
end

-- an expired restriction no longer refuses, and becomes history
do
	ok(sh("sqlite3 '" .. DB .. "' \"INSERT INTO restrictions(identity, reason, limit_name, limit_value, count, created_at, expires_at, client_address, queue_id, actor) VALUES('carol@example.com', 'test', 'recipients_per_day', 1, 2, 1000, 2000, '', '', 'test')\""),
	    "a restriction that expired long ago is in the database")
	local conn = session("203.0.113.9", "carol@example.com")
	local rm, _, re = message(conn, "<carol@example.com>", { "<a@ext.test>" })
	is(final(rm, re), SMFIR_ACCEPT, "an expired restriction does not refuse: the message is accepted")
	ok(sql("SELECT COUNT(*) FROM restrictions WHERE identity='carol@example.com'") == "0" and
	    sql("SELECT COUNT(*) FROM events WHERE identity='carol@example.com' AND kind='expired'") == "1",
	    "the expired restriction is moved to the history as expired")
	mt.disconnect(conn)
end

-- recipients routed elsewhere through a local domain or a bang path are
-- external: Postfix rewrites both to victim@ext.test
do
	local conn = session("203.0.113.9", "router@example.com")
	local rm, _, re = message(conn, "<router@example.com>",
	    { "<ext.test!victim>", "<victim%ext.test@example.com>", "<colleague@example.com>" })
	is(final(rm, re), SMFIR_ACCEPT, "a bang path and a percent hack: accepted (2 of 3 external)")
	ok(sql_soon("SELECT SUM(external) || ' ' || SUM(internal) FROM counters WHERE identity='router@example.com'", "2 1") == "2 1",
	    "counted as 2 external and 1 internal recipients")
	mt.disconnect(conn)
end

-- a restriction that ran out a minute ago forgives the counts before it,
-- as an unblock does: dora had 3 external recipients of her 3 an hour,
-- 5 minutes ago; without that she would be restricted again by her first
-- message after the restriction's end
do
	local now = os.time()
	ok(sh("sqlite3 '" .. DB .. "' \"INSERT INTO restrictions(identity, reason, limit_name, limit_value, count, created_at, expires_at, client_address, queue_id, actor) VALUES('dora@example.com', 'test', 'external_recipients_per_hour', 3, 4, " .. (now - 300) .. ", " .. (now - 60) .. ", '', '', 'test'); INSERT INTO counters(identity, bucket, internal, external) VALUES('dora@example.com', " .. ((now - 300) // 60) .. ", 0, 3)\""),
	    "dora: 3 external recipients 5 minutes ago, a restriction that ran out a minute ago")
	local conn = session("203.0.113.9", "dora@example.com")
	local rm, _, re = message(conn, "<dora@example.com>", { "<a@ext.test>" })
	is(final(rm, re), SMFIR_ACCEPT, "her next message is accepted, not restricted again")
	ok(sql_soon("SELECT group_concat(external) FROM counters WHERE identity='dora@example.com'", "1") == "1",
	    "the counts from before the restriction's end are gone; the new message counts 1")
	ok(sql("SELECT COUNT(*) FROM restrictions WHERE identity='dora@example.com'") == "0" and
	    sql("SELECT COUNT(*) FROM events WHERE identity='dora@example.com' AND kind='expired'") == "1",
	    "and the restriction is history")
	mt.disconnect(conn)
end

done()
