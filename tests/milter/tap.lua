-- tap.lua - TAP lines for miltertest scripts: ok(cond, what).  Loaded with
-- dofile(); the counter lives in a global so that several files share it.
tap_n = tap_n or 0
tap_failed = tap_failed or 0

function ok(cond, what)
	tap_n = tap_n + 1
	if cond then
		print(string.format("ok %d - %s", tap_n, what))
	else
		tap_failed = tap_failed + 1
		print(string.format("not ok %d - %s", tap_n, what))
	end
	return cond
end

-- reply names, for messages
local names = {}
names[SMFIR_ACCEPT] = "accept"
names[SMFIR_CONTINUE] = "continue"
names[SMFIR_REPLYCODE] = "replycode"
names[SMFIR_REJECT] = "reject"
names[SMFIR_TEMPFAIL] = "tempfail"
function rname(r)
	return names[r] or tostring(r)
end

-- is(got, want, what): compare milter replies and show both on failure
function is(got, want, what)
	if not ok(got == want, what) then
		print("#   got:  " .. rname(got) .. "\n#   want: " .. rname(want))
	end
end

function check(err, what)
	if err ~= nil then
		error(what .. ": " .. tostring(err))
	end
end

-- session(ip, login): a new connection from ip, with an optional SASL login
-- delivered as {auth_authen} with MAIL FROM, the way Postfix sends it
function session(ip, login)
	local conn = mt.connect(SOCK, 50, 0.1)
	if conn == nil then
		error("cannot connect to " .. SOCK)
	end
	check(mt.negotiate(conn, nil, nil, nil), "negotiate")
	check(mt.conninfo(conn, "client.example", ip), "conninfo")
	if login ~= nil then
		check(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login,
		    "{auth_type}", "PLAIN"), "macro")
	end
	return conn
end

-- sh(cmd): run a shell command; true if it exited 0
function sh(cmd)
	local a, b, c = os.execute(cmd)
	if type(a) == "number" then
		return a == 0
	end
	return a == true and c == 0
end

-- MODE: sendguard's refuse_restricted_at, from -D MODE=... (default
-- "data"); AT_MAIL: it refuses at MAIL FROM; WHERE: in words (with spam
-- checking off, where sendguard judges a message is DATA)
MODE = MODE or "data"
AT_MAIL = MODE == "mail_from"
WHERE = AT_MAIL and "at MAIL FROM" or "at DATA"

-- finish(conn): DATA, then (unless DATA decided the message, as sendguard
-- does with spam checking off) the end of the message; the reply that
-- decided it.  A message sendguard lets through at DATA is accepted
-- there (SMFIR_ACCEPT): the MTA then sends it nothing more of it.
function finish(conn)
	check(mt.data(conn), "data")
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		return r
	end
	check(mt.eom(conn), "eom")
	return mt.getreply(conn)
end

-- final(rm, re): the reply that decided a message, from its replies at
-- MAIL FROM (rm) and at its judgement (re: finish; nil if not reached)
function final(rm, re)
	if rm ~= SMFIR_CONTINUE then
		return rm
	end
	return re
end

-- passed(rm, re): was the message let through without being judged?
-- accepted at MAIL FROM, or (no reply there) accepted at DATA
function passed(rm, re)
	if AT_MAIL then
		return rm == SMFIR_ACCEPT
	end
	return rm == SMFIR_CONTINUE and re == SMFIR_ACCEPT
end

-- judged(conn, from, rcpts): MAIL FROM, the recipients, DATA and the end
-- of the message, up to the first reply other than continue; that reply
-- (where sendguard judges a message depends on MODE)
function judged(conn, from, rcpts)
	check(mt.mailfrom(conn, from), "mailfrom")
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		return r
	end
	for _, rcpt in ipairs(rcpts) do
		check(mt.rcptto(conn, rcpt), "rcptto")
		r = mt.getreply(conn)
		if r ~= SMFIR_CONTINUE then
			return r
		end
	end
	return finish(conn)
end

-- sql(query): the first line sqlite3 prints for query on the test database
function sql(query)
	local p = io.popen("sqlite3 '" .. DB .. "' \"" .. query .. "\"")
	local out = p:read("*l")
	p:close()
	return out
end

-- sql_soon(query, want): sql(query), asked again until it prints want
-- (counts are written up to 20 ms after the reply), at most 50
-- times over about 5 s; the last answer
function sql_soon(query, want)
	local got = sql(query)
	local i = 0
	while got ~= want and i < 50 do
		os.execute("sleep 0.1")
		got = sql(query)
		i = i + 1
	end
	return got
end

function done()
	print(string.format("# %d checks, %d failed", tap_n, tap_failed))
	if tap_failed > 0 then
		os.exit(1)
	end
end

-- log_has(match): does a line of sendguard's log satisfy match(line)?
local function log_has(match)
	local f = io.open(LOG, "r")
	if f == nil then
		return false
	end
	for l in f:lines() do
		if match(l) then
			f:close()
			return true
		end
	end
	f:close()
	return false
end

-- logged(text): does sendguard's log (-D LOG) have a line with text?  The
-- reply to DATA carries no text miltertest can check (it keeps that for
-- end of message): what sendguard decided there is read from its log,
-- and the text itself from the MTA in tests/e2e_postfix.sh.
function logged(text)
	return log_has(function(l) return l:find(text, 1, true) ~= nil end)
end

-- logged_line(first, last): does one line of sendguard's log hold first
-- and end with last, after it?  For a line whose middle (an error text)
-- varies: "database error while ...: <why>; tempfailing (...)".
function logged_line(first, last)
	return log_has(function(l)
		local i = l:find(first, 1, true)
		return i ~= nil and #l >= i + #first + #last - 1 and
		    l:sub(-#last) == last
	end)
end

-- what a store error with on_store_error = "tempfail" ends its log line
-- with, and the reply it sets (sendguard(8))
STORE_TEMPFAIL_LOG = "; tempfailing (on_store_error = tempfail)"
STORE_TEMPFAIL_TEXT = "Outbound sender policy temporarily unavailable, try again later"

-- reply_is(conn, code, xcode, lines): did end-of-message set exactly this
-- (multi-line) reply?  miltertest compares "A B C" (its three arguments
-- joined by spaces) with the raw reply libmilter sent, so the raw text we
-- expect is rebuilt and split at its first two spaces.
function reply_is(conn, code, xcode, lines)
	local parts = {}
	for i, l in ipairs(lines) do
		local sep = (i < #lines) and "-" or " "
		parts[#parts + 1] = code .. sep .. xcode .. " " .. l
	end
	local raw = table.concat(parts, "\r\n")
	local a, b, c = raw:match("^(%S+) (%S+) (.*)$")
	return mt.eom_check(conn, MT_SMTPREPLY, a, b, c)
end

RESTRICTED_REPLY = {
	"Your message couldn't be delivered because you weren't recognized as a valid sender. The most common reason for this is that your email address is suspected of sending spam and it's no longer allowed to send email. Contact your email admin for assistance.",
	"Access denied, bad outbound sender",
}
