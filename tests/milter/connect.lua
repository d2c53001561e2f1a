-- connect.lua - open one milter session from 127.0.0.1 and print
-- "connect X", X the milter's answer to the connect event (continue,
-- tempfail, ...).  daemon_test.sh: no new connection during a shutdown.
dofile(TAP .. "/tap.lua")

local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then
	print("connect refused")
	os.exit(0)
end
check(mt.negotiate(conn, nil, nil, nil), "negotiate")
check(mt.conninfo(conn, "client.example", "127.0.0.1"), "conninfo")
print("connect " .. rname(mt.getreply(conn)))
mt.disconnect(conn)
