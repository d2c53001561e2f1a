# net.sh - loopback and process helpers shared by the end-to-end test
# libraries (source it before tests/lib/postfix.sh, sendmail.sh and
# sendguard.sh).
#
#   net_sleep_tick          sleep 0.1 s
#   wait_for CMD...         run CMD until it succeeds, at most 10 s
#   proc_alive PID          is PID running (a zombie is not)?
#   net_port_listening P    is something listening on TCP port P?
#   net_pick_port           print a free TCP port below the ephemeral range
#   stop_pid PID NAME       SIGTERM a child, wait (10 s), SIGKILL, reap
#
# Functions return 0 on success, 1 on failure and never exit.

# net_sleep_tick - sleep 0.1 s (sleep(1) with fractions is GNU and busybox)
net_sleep_tick() {
	sleep 0.1 2>/dev/null || sleep 1
}

# wait_for CMD... - run CMD every 0.1 s until it succeeds, at most 100
# times (about 10 s); 1 if it never did
wait_for() {
	_wf_i=0
	while [ "$_wf_i" -lt 100 ]; do
		"$@" && return 0
		net_sleep_tick
		_wf_i=$((_wf_i + 1))
	done
	return 1
}

# proc_alive PID - is PID running (a zombie is not)?
proc_alive() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in
	"" | Z*) return 1 ;;
	esac
	return 0
}

# net_port_listening PORT - is something listening on 127.0.0.1:PORT?
net_port_listening() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# net_pick_port - print a free TCP port in 10000..(the kernel's first
# ephemeral port - 1), 10000..32767 by default: a port in the ephemeral
# range may be the local end of a client connection by the time a daemon
# binds it ("Address already in use"); free means no socket of any state
# uses it
net_pick_port() {
	_net_i=0
	_net_top=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	case $_net_top in
	'' | *[!0-9]*) _net_top=32768 ;;
	esac
	[ "$_net_top" -gt 11000 ] || _net_top=32768
	while [ "$_net_i" -lt 50 ]; do
		# from /dev/urandom, so that two picks in one shell differ
		_net_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_net_p=$((10000 + ${_net_r:-0} % (_net_top - 10000)))
		if ! ss -Htan "sport = :$_net_p" 2>/dev/null | grep -q .; then
			echo "$_net_p"
			return 0
		fi
		_net_i=$((_net_i + 1))
	done
	echo "net_pick_port: no free port found" >&2
	return 1
}

# stop_pid PID NAME - SIGTERM a child of ours, wait (bounded: NET_WAIT
# tenths of a second, default 10 s) for it to exit, SIGKILL it past that,
# reap it; 1 if it had to be killed
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	_sp_i=0
	while [ "$_sp_i" -lt "${NET_WAIT:-100}" ] && proc_alive "$1"; do
		net_sleep_tick
		_sp_i=$((_sp_i + 1))
	done
	_sp_rc=0
	if proc_alive "$1"; then
		echo "# $2 $1 ignored SIGTERM for $((${NET_WAIT:-100} / 10)) s; killing it"
		kill -KILL "$1" 2>/dev/null
		_sp_rc=1
	fi
	wait "$1" 2>/dev/null
	return $_sp_rc
}
