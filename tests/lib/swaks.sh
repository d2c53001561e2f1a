# swaks.sh - read swaks transcripts in end-to-end tests (source
# tests/lib/tap.sh first; POSIX sh).  swaks marks client lines " -> " (or
# " ~> ", " **> ") and server lines "<-  " (or "<~  ", "<** " for errors).
#
#   reply_after FILE ERE        the server's reply lines, marker included,
#                               to the first client line matching ERE
#   transcript_diag FILE        the transcript as "# " lines, EHLO lists cut
#   expect_reply WHAT FILE ERE CODE_ERE
#                               TAP: that reply is one line whose text
#                               matches CODE_ERE
#   client_sent FILE ERE        did the client send a line matching ERE?
#   END_OF_DATA                 the ERE of the client's end of the data
#                               (the dot after the message's content)
#   DATA_COMMAND                the ERE of the client's DATA command

END_OF_DATA='^\.$'
DATA_COMMAND='^DATA$'

# reply_after FILE ERE - the server's reply lines to the client line ERE
reply_after() {
	awk -v re="$2" '
		found && /^ (->|~>|\*\*>) / { exit }
		found && /^<[-~*]/ { print }
		!found && /^ (->|~>) / && substr($0, 5) ~ re { found = 1 }
	' "$1"
}

# client_sent FILE ERE - did the client send a line matching ERE?
client_sent() {
	awk -v re="$2" '
		/^ (->|~>) / && substr($0, 5) ~ re { f = 1 }
		END { exit !f }
	' "$1"
}

# transcript_diag FILE - a swaks transcript as "# " lines, EHLO lists cut
transcript_diag() {
	grep -v '^<-  250-' "$1" | sed -e 's/^/#   | /'
}

# expect_reply WHAT FILE ERE CODE_ERE - the reply to the client line ERE is
# one line whose text (without swaks' marker) matches CODE_ERE
expect_reply() {
	_got=$(reply_after "$2" "$3")
	if printf '%s\n' "$_got" | cut -c5- | grep -qE -- "$4" &&
	    [ "$(printf '%s\n' "$_got" | wc -l)" -eq 1 ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "reply to /$3/ should match /$4/, got:" "$_got"
		transcript_diag "$2"
	fi
}
