-- default_action.lua - the default action, "block_until_tomorrow", through
-- the milter.  sendguard runs on tests/milter/limits.conf.in without its
-- global action = "block", with a policy for tom@example.com that sets
-- external_recipients_per_hour = 1 and no action (milter_test.sh): the
-- policy inherits the global action, which is the default.  The
-- restriction must end at the next 00:00 UTC after it was made.  The clock
-- is sendguard's own: the end is computed from the time before and after
-- the message, which differ only across a midnight (then either is right).
-- Globals from -D: SOCK, DB, TAP, LOG.
dofile(TAP .. "/tap.lua")

-- next_midnight(t): the next 00:00 UTC after the unix time t
local function next_midnight(t)
	return (t // 86400 + 1) * 86400
end

local conn = session("203.0.113.9", "tom@example.com")
local before = os.time()
local r = judged(conn, "<tom@example.com>", { "<a@ext.test>", "<b@ext.test>" })
local after = os.time()
is(r, SMFIR_REPLYCODE, "2 external recipients against the policy's 1: refused at DATA")
local row = sql("SELECT limit_name || ' ' || limit_value || ' ' || count || ' ' || expires_at FROM restrictions WHERE identity='tom@example.com'")
ok(row ~= nil and row:find("external_recipients_per_hour 1 2 ", 1, true) == 1,
    "tom is restricted by the policy's limit (" .. tostring(row) .. ")")
local exp = row and tonumber(row:match("(%d+)$"))
local want = next_midnight(before)
if exp == next_midnight(after) then
	want = exp
end
ok(exp == want, "the default action blocks until the next 00:00 UTC: expires_at " ..
    tostring(exp) .. ", want " .. want .. " (" .. os.date("!%Y-%m-%dT%H:%M:%SZ", want) .. ")")
ok(logged("identity=tom@example.com client=203.0.113.9: restricted: " ..
    "external_recipients_per_hour 1 exceeded: 2 recipients; action block_until_tomorrow, until " ..
    os.date("!%Y-%m-%dT%H:%M:%SZ", want)), "logged as action block_until_tomorrow, with its end")
ok(sql("SELECT COUNT(*) FROM events WHERE identity='tom@example.com' AND kind='restricted' AND expires_at=" .. want) == "1",
    "the history records the restriction with the same end")
mt.disconnect(conn)

-- until then, tom is refused
conn = session("203.0.113.9", "tom@example.com")
is(judged(conn, "<tom@example.com>", { "<colleague@example.com>" }), SMFIR_REPLYCODE,
    "his next message, to an internal recipient, is refused")
ok(logged("identity=tom@example.com client=203.0.113.9: refused at DATA: restricted " ..
    "(external_recipients_per_hour 1 exceeded: 2 recipients) until " ..
    os.date("!%Y-%m-%dT%H:%M:%SZ", want)), "as restricted until the next 00:00 UTC (log)")
mt.disconnect(conn)
done()
