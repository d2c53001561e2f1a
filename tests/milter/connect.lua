-- connect.lua - open one milter session from 127.0.0.1, send one message
-- and print "connect X mail Y data Z [eom W]": X the answer to the connect
-- event (sendguard negotiates no reply there: miltertest says "continue"),
-- Y the answer to MAIL FROM (continue too by default: refuse_restricted_at
-- = "data"), Z the answer to DATA ("-" if MAIL FROM already decided), W
-- the answer at end of message, only if DATA said continue.
-- daemon_test.sh: no new message during a shutdown.
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
	check(mt.data(conn), "data")
	r = mt.getreply(conn)
	out = out .. " data " .. rname(r)
	if r == SMFIR_CONTINUE then
		check(mt.eom(conn), "eom")
		out = out .. " eom " .. rname(mt.getreply(conn))
	end
else
	out = out .. " data -"
end
print(out)
mt.disconnect(conn)
