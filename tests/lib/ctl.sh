# ctl.sh - run sendguardctl in a shell test and check what it did (source
# it after tests/lib/tap.sh and tests/lib/dblock.sh; POSIX sh).
#
#   ctl_setup NAME               a private directory DIR (removed at exit,
#                                with a db_lock holder stopped), CTL, FIX
#                                (build/tests/ctl_fixture), the clock NOW
#                                and T0 (its seconds), DB and CONF, written
#                                with the database, local_domains
#                                example.com and external_recipients_per_hour
#                                3 (append to it); SUDO_USER admin-tester
#                                and SENDGUARDCTL_TEST_CLOCK=1 exported;
#                                TAP: jq and sqlite3 are there
#   run NAME [--at TIME] ARG...  sendguardctl -c $CONF --now $NOW (or TIME)
#                                ARG...; stdout and stderr go to
#                                $DIR/NAME.out and $DIR/NAME.err, the
#                                status to $RC
#   status WHAT WANT             TAP: the last run's exit status is WANT
#   json WHAT NAME FILTER        TAP: NAME.out is JSON and jq -e FILTER
#                                holds on it
#   one_line WHAT NAME           TAP: NAME.err is one line under 300 bytes

ctl_setup() {
	CTL=./sendguardctl
	FIX=./build/tests/ctl_fixture
	DIR=$(mktemp -d "/tmp/sendguard-$1.XXXXXX") || exit 2
	trap ctl_cleanup EXIT
	trap 'exit 1' INT TERM
	NOW=2026-11-23T14:05:00Z
	T0=1795442700			# $NOW in seconds
	DB=$DIR/sg.db
	CONF=$DIR/sg.conf
	# the actor recorded for unblock and block, as sudo would set it
	export SUDO_USER=admin-tester
	# --now may date unblock and block here (only here: a made-up clock
	# would step around the unblock cap; see sendguardctl(8))
	export SENDGUARDCTL_TEST_CLOCK=1
	cat >"$CONF" <<EOF
database = "$DB";
busy_timeout_ms = 200;
local_domains = [ "example.com" ];
limits = { external_recipients_per_hour = 3; };
EOF
	for _t in jq sqlite3; do
		command -v $_t >/dev/null 2>&1 ||
		    tap_fail "prerequisite $_t present (make deps-test)"
	done
}

# ctl_cleanup - the EXIT trap: stop a lock holder, remove DIR
ctl_cleanup() {
	[ -n "$DB_LOCK_PID" ] && kill "$DB_LOCK_PID" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$DIR"
}

run() {
	_name=$1
	shift
	_at=$NOW
	if [ "$1" = "--at" ]; then
		_at=$2
		shift 2
	fi
	"$CTL" -c "$CONF" --now "$_at" "$@" >"$DIR/$_name.out" \
	    2>"$DIR/$_name.err"
	RC=$?
}

status() {
	tap_eq "$1 (exit $2)" "$RC" "$2" || { tap_diag "$DIR/$_name.out";
	    tap_diag "$DIR/$_name.err"; }
}

json() {
	if jq -e "$3" "$DIR/$2.out" >/dev/null 2>"$DIR/jq.err"; then
		tap_ok "$1"
	else
		tap_fail "$1" "jq -e '$3' is false or the JSON is invalid:"
		tap_diag "$DIR/jq.err"
		tap_diag "$DIR/$2.out"
	fi
}

one_line() {
	if [ "$(wc -l <"$DIR/$2.err")" -eq 1 ] &&
	    [ "$(wc -c <"$DIR/$2.err")" -lt 300 ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "stderr is not one short line:"
		head -c 600 "$DIR/$2.err" | sed -e 's/^/#   | /'
	fi
}
