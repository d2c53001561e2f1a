-- inet.lua - sendguard listening on TCP (tests/milter_test.sh starts it
-- with -p inet:PORT@127.0.0.1): the DATA stage, where sendguard judges a
-- message, has its reply over TCP too, so that Postfix's next packet never
-- waits behind an unanswered one (the 44 ms Nagle / delayed-ACK stall,
-- BENCHMARKS.md).
-- Globals from -D: SOCK, DB, TAP.
dofile(TAP .. "/tap.lua")

local conn = mt.connect(SOCK, 50, 0.1)
check(mt.negotiate(conn, nil, nil, nil), "negotiate")
ok(not mt.test_option(conn, SMFIP_NODATA) and not mt.test_option(conn, SMFIP_NR_DATA),
    "on a TCP socket, asks for the DATA stage and answers it")
ok(mt.test_option(conn, SMFIP_NR_CONN) and mt.test_option(conn, SMFIP_NR_RCPT),
    "on a TCP socket too, answers neither connect nor RCPT")
ok(mt.test_action(conn, SMFIF_SETSYMLIST), "on a TCP socket too, names the macros it reads")
check(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
-- (no reply at MAIL FROM to check: refuse_restricted_at = "data")
check(mt.mailfrom(conn, "<tcp@example.com>"), "mailfrom")
check(mt.rcptto(conn, "<a@ext.test>"), "rcptto")
check(mt.data(conn), "data")
is(mt.getreply(conn), SMFIR_ACCEPT, "DATA is answered: the message is accepted there")
ok(sql_soon("SELECT SUM(external) FROM counters WHERE identity='tcp@example.com'", "1") == "1",
    "and counted")
mt.disconnect(conn)

done()
