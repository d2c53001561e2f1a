-- spam.lua - spam verdicts from headers over the milter protocol: the
-- negotiation, counting, the spam limit (3 a day, "reached"), the header
-- a filter inserted at the top winning over the sender's own, malformed
-- values.  sendguard runs on tests/milter/spam.conf.in with
-- on_message = "accept".  Globals from -D: SOCK, DB, TAP.
dofile(TAP .. "/tap.lua")

SPAM = "Yes, score=7.1 required=5.0 tests=BAYES_99,\n\tHTML_MESSAGE autolearn=no\n\tautolearn_force=no version=4.0.1"
HAM = "No, score=-1.9 required=5.0 tests=BAYES_00,\n\tSPF_PASS autolearn=ham version=4.0.1"

-- message(conn, from, rcpt, headers): one message with headers (a list of
-- {name, value}); the replies at MAIL FROM and at the end (DATA or end of
-- message), and the stage of that end: "mail", "data" or "eom"
local function message(conn, from, rcpt, headers)
	check(mt.mailfrom(conn, from), "mailfrom")
	local rmail = mt.getreply(conn)
	if rmail ~= SMFIR_CONTINUE then
		return rmail, nil, "mail"
	end
	check(mt.rcptto(conn, rcpt), "rcptto")
	-- outbound mail is judged at end of message, on its headers; DATA
	-- lets it on (and accepts inbound mail there) unless its sender is
	-- restricted
	check(mt.data(conn), "data")
	local rdata = mt.getreply(conn)
	if rdata ~= SMFIR_CONTINUE then
		return rmail, rdata, "data"
	end
	for _, h in ipairs(headers) do
		check(mt.header(conn, h[1], h[2]), "header")
	end
	check(mt.eom(conn), "eom")
	return rmail, mt.getreply(conn), "eom"
end

local function spam_of(id)
	return sql("SELECT coalesce(SUM(spam), 0) FROM counters WHERE identity='" .. id .. "'")
end

-- spam_after(id, ext): the spam count once the database holds ext external
-- recipients for id, i.e. once the last message's counts are written
local function spam_after(id, ext)
	if sql_soon("SELECT SUM(external) FROM counters WHERE identity='" .. id .. "'",
	    tostring(ext)) ~= tostring(ext) then
		return "(the message's counts were not written within 5 s)"
	end
	return spam_of(id)
end

-- negotiation: headers, without a reply per header; no bodies (no spamd)
do
	local conn = mt.connect(SOCK, 50, 0.1)
	check(mt.negotiate(conn, nil, nil, nil), "negotiate")
	ok(not mt.test_option(conn, SMFIP_NOHDRS), "spam checking on: asks for headers")
	ok(mt.test_option(conn, SMFIP_NR_HDR), "without a reply per header (SMFIP_NR_HDR)")
	ok(mt.test_option(conn, SMFIP_NOBODY), "no spamd: still no bodies")
	ok(mt.test_option(conn, SMFIP_NOHELO) and mt.test_option(conn, SMFIP_NOEOH),
	    "and still no HELO, no end-of-headers")
	ok(mt.test_action(conn, SMFIF_QUARANTINE), "may quarantine")
	ok(not mt.test_action(conn, SMFIF_ADDHDRS) and not mt.test_action(conn, SMFIF_CHGBODY),
	    "but never changes a message")
	mt.disconnect(conn)
end

do
	local conn = session("203.0.113.9", "spammer@example.com")
	local rm, re = message(conn, "<spammer@example.com>", "<a@ext.test>",
	    { { "From", "spammer@example.com" }, { "X-Spam-Flag", "YES" },
	      { "X-Spam-Status", SPAM } })
	is(re, SMFIR_CONTINUE, "spam 1 of a limit of 3: accepted (on_message accept)")
	ok(sql_soon("SELECT coalesce(SUM(spam), 0) FROM counters WHERE identity='spammer@example.com'", "1") == "1",
	    "and counted as spam")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='spammer@example.com'", "1") == "1",
	    "its recipient counts too")

	rm, re = message(conn, "<spammer@example.com>", "<b@ext.test>",
	    { { "X-Spam-Status", HAM } })
	is(re, SMFIR_CONTINUE, "a clean message: accepted")
	ok(spam_after("spammer@example.com", 2) == "1", "a clean message does not count as spam")

	rm, re = message(conn, "<spammer@example.com>", "<c@ext.test>",
	    { { "Subject", "no verdict at all" } })
	is(re, SMFIR_CONTINUE, "a message without verdict headers: accepted")
	ok(spam_after("spammer@example.com", 3) == "1", "and not counted as spam")

	-- the filter inserted its header at the top, above the sender's
	rm, re = message(conn, "<spammer@example.com>", "<d@ext.test>",
	    { { "X-Spam-Status", SPAM }, { "X-Spam-Flag", "NO" },
	      { "X-Spam-Status", HAM } })
	is(re, SMFIR_CONTINUE, "spam 2 of 3: accepted")
	ok(spam_after("spammer@example.com", 4) == "2",
	    "the topmost X-Spam-Status (the filter's) wins over the sender's No and its X-Spam-Flag: NO")

	-- the third spam message reaches the limit: refused, restricted
	local stage
	rm, re, stage = message(conn, "<spammer@example.com>", "<e@ext.test>",
	    { { "x-acme-verdict", "SPAM, says Acme" } })
	is(re, SMFIR_REPLYCODE, "spam 3 of 3 (a custom regex rule): refused")
	is(stage, "eom", "at end of message, where its verdict was read")
	ok(reply_is(conn, "550", "5.1.8", RESTRICTED_REPLY), "with the 550 5.1.8 reply")
	ok(sql("SELECT limit_name || ' ' || limit_value || ' ' || count || '|' || reason FROM restrictions WHERE identity='spammer@example.com'")
	    == "spam_messages_per_day 3 3|spam_messages_per_day 3 reached: 3 spam messages",
	    "the restriction says spam_messages_per_day 3 reached")
	ok(spam_of("spammer@example.com") == "2", "the refused message counts nothing")
	rm, re, stage = message(conn, "<spammer@example.com>", "<f@ext.test>",
	    { { "X-Spam-Status", HAM } })
	is(final(rm, re), SMFIR_REPLYCODE, "the next message is refused, clean or not")
	is(stage, "data", "at DATA, before its content")
	ok(logged("identity=spammer@example.com client=203.0.113.9: refused at DATA: restricted (spam_messages_per_day 3 reached"),
	    "and logged as refused at DATA")
	mt.disconnect(conn)
end

-- a sender's own header first (a filter that appends its own below it)
-- is the sender's verdict: what the README warns about
do
	local conn = session("203.0.113.9", "forger@example.com")
	local rm, re = message(conn, "<forger@example.com>", "<a@ext.test>",
	    { { "X-Spam-Status", HAM }, { "X-Spam-Status", SPAM } })
	is(re, SMFIR_CONTINUE, "forged ham above the filter's spam: accepted")
	ok(spam_after("forger@example.com", 1) == "0",
	    "the first occurrence is read: header order matters (README)")
	-- a malformed value: no verdict, no crash (huge values go through the
	-- real Postfix in e2e_spam.sh: miltertest overflows its own stack on
	-- a header value over about 1 kB)
	rm, re = message(conn, "<forger@example.com>", "<b@ext.test>",
	    { { "X-Spam-Status", "Maybe, score=lots" } })
	is(re, SMFIR_CONTINUE, "a malformed X-Spam-Status: accepted")
	ok(spam_after("forger@example.com", 2) == "0", "and no verdict")
	mt.disconnect(conn)
end

-- alert: the crossing spam message is accepted and recorded
do
	local conn = session("203.0.113.9", "watched@example.com")
	local rm, re = message(conn, "<watched@example.com>", "<a@ext.test>",
	    { { "X-Spam-Flag", "YES" } })
	is(re, SMFIR_CONTINUE, "alert policy: the spam message reaching 1 is accepted")
	ok(sql("SELECT COUNT(*) FROM events WHERE identity='watched@example.com' AND kind='alerted' AND limit_name='spam_messages_per_day'") == "1",
	    "and an alerted event is recorded")
	ok(sql("SELECT COUNT(*) FROM restrictions WHERE identity='watched@example.com'") == "0",
	    "without a restriction")
	mt.disconnect(conn)
end

-- inbound mail: never judged, whatever its headers say
do
	local conn = session("198.51.100.7", nil)
	local rm, re = message(conn, "<someone@outside.test>", "<alice@example.com>",
	    { { "X-Spam-Flag", "YES" } })
	ok(passed(rm, re), "inbound mail is let through " .. WHERE ..
	    " (its headers unread), spam or not")
	mt.disconnect(conn)
end

done()
