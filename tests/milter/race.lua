-- race.lua - one message from racer@example.com to one external
-- recipient; prints "result accepted" or "result refused".  milter_test.sh
-- runs many of these at once to show that the limit is a hard cap across
-- libmilter's threads.
dofile(TAP .. "/tap.lua")

local conn = session("203.0.113.9", "racer@example.com")
check(mt.mailfrom(conn, "<racer@example.com>"), "mailfrom")
local r = mt.getreply(conn)
if r == SMFIR_CONTINUE then
	check(mt.rcptto(conn, "<someone@ext.test>"), "rcptto")
	-- the barrier: say we are ready, then block opening the fifo "go"
	-- until the test opens its other end, which wakes all racers at once
	io.open(RACE .. "/ready." .. ME, "w"):close()
	local go = io.open(RACE .. "/go", "r")
	if go then
		go:close()
	end
	r = finish(conn)
end
if r == SMFIR_CONTINUE or r == SMFIR_ACCEPT then
	print("result accepted")
else
	print("result refused")
end
mt.disconnect(conn)
