-- send.lua - one message from FROM (an internal client, 127.0.0.1) to N
-- external recipients; prints "result accepted", "result refused" (a
-- reply code or a reject) or "result other".  With HOLD set (a directory), it
-- stops before DATA: it creates HOLD/ready and blocks opening the fifo
-- HOLD/go until the test opens its other end (daemon_test.sh: a message
-- in flight during a shutdown).
dofile(TAP .. "/tap.lua")

local conn = session("127.0.0.1", nil)
check(mt.mailfrom(conn, "<" .. FROM .. ">"), "mailfrom")
local r = mt.getreply(conn)
if r == SMFIR_CONTINUE then
	for i = 1, tonumber(N) do
		check(mt.rcptto(conn, "<r" .. i .. "@ext.test>"), "rcptto")
	end
	if HOLD ~= nil and HOLD ~= "" then
		io.open(HOLD .. "/ready", "w"):close()
		local go = io.open(HOLD .. "/go", "r")
		if go then
			go:close()
		end
	end
	r = finish(conn)
end
if r == SMFIR_CONTINUE or r == SMFIR_ACCEPT then
	print("result accepted")
elseif r == SMFIR_REPLYCODE or r == SMFIR_REJECT then
	print("result refused")
else
	print("result other " .. tostring(r))
end
mt.disconnect(conn)
