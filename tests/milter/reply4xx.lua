-- reply4xx.lua - reply = { code = "451"; xcode = "4.7.1"; ... }: a
-- restricted sender is tempfailed with the configured reply (libmilter
-- only sends a reply whose class matches the verdict: a reply code, not a
-- bare tempfail, means it kept our text; the code and text cannot be read
-- back at DATA, see tap.lua: logged; reply_eom.lua reads them at end of
-- message, e2e_postfix.sh on the wire at DATA).
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "fred@example.com")
check(mt.mailfrom(conn, "<fred@example.com>"), "mailfrom")
for _, r in ipairs({ "<a@ext.test>", "<b@ext.test>", "<c@ext.test>", "<d@ext.test>" }) do
	check(mt.rcptto(conn, r), "rcptto")
end
is(finish(conn), SMFIR_REPLYCODE,
    "4 external recipients against a limit of 3 are refused with a reply code")
ok(sql("SELECT limit_name FROM restrictions WHERE identity='fred@example.com'") ==
    "external_recipients_per_hour", "and fred is restricted")
mt.disconnect(conn)
done()
