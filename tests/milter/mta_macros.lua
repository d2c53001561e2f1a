-- mta_macros.lua - the macros as Sendmail 8.17 and Postfix 3.7 really send
-- them (tests/milter/limits.conf: external_recipients_per_hour = 3,
-- recipient_delimiter "+-").  Sendmail: no "v", its default connect macros,
-- the queue id "i" already at MAIL FROM, and {auth_authen} in xtext
-- (xtextify() turns '+' into "+2B", '=' into "+3D").  Postfix: "v" names
-- it and the login arrives as is.  The log lines are checked by
-- tests/milter_test.sh.
dofile(TAP .. "/tap.lua")

-- connect(ip, macros...): a session with these connect-stage macros
local function connect(ip, ...)
	local conn = mt.connect(SOCK, 50, 0.1)
	if conn == nil then
		error("cannot connect to " .. SOCK)
	end
	check(mt.negotiate(conn, nil, nil, nil), "negotiate")
	check(mt.macro(conn, SMFIC_CONNECT, ...), "connect macros")
	check(mt.conninfo(conn, "client.sendguard.test", ip), "conninfo")
	return conn
end

-- message(conn, qid, login, rcpts): MAIL FROM with the macros an MTA sends
-- there, the recipients, DATA (and end of message if DATA did not decide);
-- the replies at MAIL and at the judgement
local function message(conn, qid, login, rcpts)
	check(mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_type}", "PLAIN",
	    "{auth_authen}", login), "mail macros")
	check(mt.mailfrom(conn, "<sender@example.com>"), "mailfrom")
	local rm = mt.getreply(conn)
	if rm ~= SMFIR_CONTINUE then
		return rm, nil
	end
	for _, r in ipairs(rcpts) do
		check(mt.rcptto(conn, r), "rcptto")
	end
	return rm, finish(conn)
end

local function sendmail_connect()
	return connect("203.0.113.9", "j", "mx.sendguard.test",
	    "{daemon_name}", "MTA", "{if_addr}", "127.0.0.1")
end

local function postfix_connect()
	return connect("203.0.113.9", "j", "mx.sendguard.test",
	    "{daemon_name}", "smtpd", "v", "Postfix 3.7.11")
end

-- Sendmail: the login "d=1+x@example.com" arrives as xtext
do
	local conn = sendmail_connect()
	local rm, re = message(conn, "6AN1YhGT002416", "d+3D1+2Bx@example.com",
	    { "<a@ext.test>" })
	if AT_MAIL then
		is(rm, SMFIR_CONTINUE, "mail_from: Sendmail: an xtext login passes MAIL FROM")
	end
	is(re, SMFIR_ACCEPT, "Sendmail: its message is accepted at DATA")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='d=1+x@example.com'", "1") == "1",
	    "Sendmail: {auth_authen} d+3D1+2Bx@example.com is decoded: counted as d=1+x@example.com")
	ok(sql("SELECT COUNT(*) FROM counters WHERE identity LIKE 'd+%' OR identity='d@example.com'") == "0",
	    "Sendmail: and not taken as the xtext, nor cut at its '+'")

	-- over the limit at DATA, then refused (MODE: tap.lua)
	rm, re = message(conn, "6AN1YhGT002417", "d+3D1+2Bx@example.com",
	    { "<b@ext.test>", "<c@ext.test>", "<e@ext.test>" })
	is(re, SMFIR_REPLYCODE, "Sendmail: the crossing message is refused at DATA")
	ok(sql("SELECT queue_id FROM restrictions WHERE identity='d=1+x@example.com'") ==
	    "6AN1YhGT002417", "Sendmail: the restriction records the queue id sent at MAIL FROM")
	rm, re = message(conn, "6AN1YhGT002418", "d+3D1+2Bx@example.com", { "<f@ext.test>" })
	is(final(rm, re), SMFIR_REPLYCODE, "Sendmail: the restricted login is refused " .. WHERE)
	mt.disconnect(conn)
end

-- a login that is not well-formed xtext was not encoded: taken as is
do
	local conn = sendmail_connect()
	local _, re = message(conn, "6AN1YhGT002419", "Gina+Phone@example.com",
	    { "<a@ext.test>" })
	is(re, SMFIR_ACCEPT, "Sendmail: a login that is not xtext is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='gina+phone@example.com'", "1") == "1",
	    "Sendmail: and taken as is (gina+phone@example.com: a login is not cut)")
	mt.disconnect(conn)
end

-- Postfix: "v" says so, and the same bytes are the login itself
do
	local conn = postfix_connect()
	local _, re = message(conn, "", "p=q+3D@example.com", { "<a@ext.test>" })
	is(re, SMFIR_ACCEPT, "Postfix: a login with '+3D' in it is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='p=q+3d@example.com'", "1") == "1",
	    "Postfix: the login is not decoded (p=q+3D@example.com counts as p=q+3d@example.com)")
	mt.disconnect(conn)
end

-- Cyrus SASL logins that are no address: taken as account names, folded
-- to lowercase (they were tempfailed 4.7.0 at every message); a control
-- byte is still refused
do
	local conn = postfix_connect()
	local _, re = message(conn, "", "John Smith", { "<a@ext.test>" })
	is(re, SMFIR_ACCEPT, "Postfix: the login \"John Smith\" is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='john smith'", "1") == "1",
	    "Postfix: and counted as the identity \"john smith\"")
	_, re = message(conn, "", "O\"Neil", { "<a@ext.test>", "<b@ext.test>" })
	is(re, SMFIR_ACCEPT, "Postfix: the login O\"Neil is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='o' || char(34) || 'neil'", "2") == "2",
	    "Postfix: and counted as the identity o\"neil")
	local rm
	rm, re = message(conn, "", "john\001smith", { "<a@ext.test>" })
	is(final(rm, re), SMFIR_REPLYCODE, "Postfix: a login with a control byte is tempfailed " .. WHERE)
	ok(logged("login malformed address: \"john?smith\"; tempfailing"),
	    "Postfix: and logged, cleaned")
	mt.disconnect(conn)
end

-- Postfix with its mail_name renamed: still Postfix, the login as is
do
	local conn = connect("203.0.113.9", "j", "mx.sendguard.test",
	    "{daemon_name}", "smtpd", "v", "ExampleMail 3.7.11")
	local _, re = message(conn, "", "r=s+3D@example.com", { "<a@ext.test>" })
	is(re, SMFIR_ACCEPT, "renamed Postfix: a login with '+3D' in it is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='r=s+3d@example.com'", "1") == "1",
	    "renamed Postfix (v \"ExampleMail 3.7.11\"): the login is not decoded either")
	mt.disconnect(conn)
end

-- Sendmail with $v added to its connect macros: a bare version, xtext
do
	local conn = connect("203.0.113.9", "j", "mx.sendguard.test", "v", "8.17.1.9")
	local _, re = message(conn, "6AN1YhGT002420", "t+3D1@example.com", { "<a@ext.test>" })
	is(re, SMFIR_ACCEPT, "Sendmail with v: the xtext login is accepted")
	ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='t=1@example.com'", "1") == "1",
	    "Sendmail with v \"8.17.1.9\": the login is decoded (t=1@example.com)")
	mt.disconnect(conn)
end

done()
