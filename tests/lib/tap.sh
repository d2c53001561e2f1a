# tap.sh - TAP helpers for sendguard's shell tests (source it, POSIX sh).
#
# Each assertion prints one line, "ok N - what" or "not ok N - what", which
# tests/run counts across every test; diagnostics go on "# " lines.  A
# failed assertion never stops the script: tap_done gives the exit status
# (0 only if every assertion passed and at least one ran).
#
#   tap_ok "what"                  record a pass
#   tap_fail "what" [diag...]      record a failure, each diag on a "# " line
#   tap_check "what" cmd [arg...]  pass if cmd exits 0
#   tap_grep "what" FILE PATTERN   pass if FILE has a line matching the
#                                  fixed string PATTERN (grep -F), else show
#                                  the file
#   tap_grep_re "what" FILE ERE    same with an extended regular expression
#   tap_eq "what" GOT WANT         pass if the two strings are equal
#   tap_diag FILE                  copy FILE to stdout as "# " lines
#   tap_done                       print the plan "1..N" and a "# N passed,
#                                  N failed" comment (the runner prints the
#                                  real summary line), return the status

TAP_N=0
TAP_FAILED=0

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	shift
	for _tap_l in "$@"; do
		printf '%s\n' "$_tap_l" | sed -e 's/^/#   /'
	done
	return 1
}

tap_diag() {
	[ -f "$1" ] || { echo "#   ($1: no such file)"; return 0; }
	sed -e 's/^/#   | /' "$1"
}

tap_check() {
	_tap_what=$1
	shift
	if "$@"; then
		tap_ok "$_tap_what"
	else
		tap_fail "$_tap_what" "command failed: $*"
	fi
}

# _tap_grep FLAG WORDS WHAT FILE PATTERN - tap_grep and tap_grep_re
_tap_grep() {
	if [ -f "$4" ] && grep -q"$1" -- "$5" "$4"; then
		tap_ok "$3"
	else
		tap_fail "$3" "no line $2: $5" "in $4:"
		tap_diag "$4"
	fi
}

tap_grep() {
	_tap_grep F "with" "$@"
}

tap_grep_re() {
	_tap_grep E "matching" "$@"
}

tap_eq() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "got:  \"$2\"" "want: \"$3\""
	fi
}

# tap_eq_soon WHAT WANT CMD... - like tap_eq on CMD's output, for a value
# written in the background (sendguard writes counts up to 20 ms
# after the reply): CMD is run again until it prints WANT, at most 50
# times over about 5 s
tap_eq_soon() {
	_what=$1 _want=$2
	shift 2
	_i=0
	while _got=$("$@") && [ "$_got" != "$_want" ] && [ "$_i" -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	tap_eq "$_what" "$_got" "$_want"
}

tap_done() {
	echo "1..$TAP_N"
	echo "# $((TAP_N - TAP_FAILED)) passed, $TAP_FAILED failed"
	[ "$TAP_FAILED" -eq 0 ] && [ "$TAP_N" -gt 0 ]
}
