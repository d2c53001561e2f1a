-- connect.lua - open one milter session from 127.0.0.1, send one message
-- and print "connect X mail Y eom Z": X the answer to the connect event
-- (sendguard negotiates no reply there: miltertest says "continue"), Y the
-- answer to MAIL FROM (continue too by default: refuse_restricted_at =
-- end_of_message), Z the answer at end of message ("-" if MAIL FROM already
-- decided).  daemon_test.sh: no new message during a shutdown.
dofile(TAP .. "/tap.lua")

local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then
	print("connect refused")
	os.exit(0)
end
check(mt.negotiate(conn, nil, nil, nil), "negotiate")
check(mt.conninfo(conn, "client.example", "127.0.0.1"), "conninfo")
local out = "connect " .. rname(mt.getreply(conn))
check(mt.mailfrom(conn, "<new@example.com>"), "mailfrom")
local r = mt.getreply(conn)
out = out .. " mail " .. rname(r)
if r == SMFIR_CONTINUE then
	check(mt.rcptto(conn, "<someone@ext.test>"), "rcptto")
	check(mt.eom(conn), "eom")
	out = out .. " eom " .. rname(mt.getreply(conn))
else
	out = out .. " eom -"
end
print(out)
mt.disconnect(conn)
