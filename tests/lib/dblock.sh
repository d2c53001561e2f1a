# dblock.sh - hold an SQLite database's write lock from another process, as
# an admin's sqlite3 or a stuck writer would (source it, POSIX sh).
#
#   db_lock DB FIFO   start sqlite3 on DB reading from FIFO (made here), on
#                     file descriptor 3, and take the write lock (BEGIN
#                     IMMEDIATE and a write); returns 0 once another
#                     connection cannot take it, 1 after 5 s.  Sets
#                     DB_LOCK_PID.  Programs started meanwhile should get
#                     3>&- so they do not keep the fifo open.
#   db_unlock         roll back, close fd 3 and wait (at most 5 s) for
#                     sqlite3 to exit, then kill and reap it.
#
# Every wait is bounded; the caller's EXIT trap should kill DB_LOCK_PID.

DB_LOCK_PID=""

db_lock() {
	mkfifo "$2" || return 1
	sqlite3 "$1" <"$2" >/dev/null 2>&1 &
	DB_LOCK_PID=$!
	exec 3>"$2"
	# The holder waits for the lock itself (someone may hold it a moment).
	echo ".timeout 5000" >&3
	echo "BEGIN IMMEDIATE; INSERT INTO events(at, identity, kind) VALUES(0, 'lock', 'blocked');" >&3
	# The lock is taken once sqlite3 has run the statement; wait for it.
	_dbl_i=0
	while [ "$_dbl_i" -lt 50 ]; do
		sqlite3 "$1" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1 ||
		    return 0
		sleep 0.1
		_dbl_i=$((_dbl_i + 1))
	done
	return 1
}

db_unlock() {
	[ -n "$DB_LOCK_PID" ] || return 0
	echo "ROLLBACK;" >&3
	exec 3>&-
	# sqlite3 exits at the end of its input; bounded, then it is killed.
	_dbl_i=0
	while kill -0 "$DB_LOCK_PID" 2>/dev/null && [ "$_dbl_i" -lt 50 ]; do
		sleep 0.1
		_dbl_i=$((_dbl_i + 1))
	done
	kill "$DB_LOCK_PID" 2>/dev/null
	wait "$DB_LOCK_PID" 2>/dev/null
	DB_LOCK_PID=""
}
