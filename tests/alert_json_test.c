/*
 * alert_json_test.c - milt_json_string, which writes every untrusted fact
 * of an alert (identity, reason, client, queue id) into the JSON object an
 * alert command reads: quotes, backslashes and control characters are
 * escaped, valid UTF-8 passes, invalid bytes become U+FFFD, and a string
 * that does not fit is left out whole.  And milt_shell_word, the identity
 * in the alert mail's sendguardctl commands: bash must give back exactly
 * the identity; and the commands themselves (milt_alert_mail), which put
 * it after "--".  Table-driven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../milter/milt_alert.h"
#include "t.h"

static const struct {
	const char     *in;
	const char     *out;
	const char     *what;
} cases[] = {
	{ "alice@example.com", "\"alice@example.com\"", "a plain address" },
	{ "", "\"\"", "the empty string" },
	{ "a\"b", "\"a\\\"b\"", "a double quote is escaped" },
	{ "a\\b", "\"a\\\\b\"", "a backslash is escaped" },
	{ "a\nb\r\tc", "\"a\\u000ab\\u000d\\u0009c\"", "CR, LF, tab as \\u" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "other control bytes" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"", "valid two-byte UTF-8 passes" },
	{ "\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xe2\x82\xac\xf0\x9f\x98\x80\"",
	  "valid three- and four-byte UTF-8 pass" },
	{ "a\xe9z", "\"a\\ufffdz\"", "a Latin-1 byte becomes U+FFFD" },
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "an overlong '/' is refused" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate is refused" },
	{ "\xe2\x82", "\"\\ufffd\\ufffd\"", "a truncated sequence is refused" },
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
	  "beyond U+10FFFF is refused" },
	{ "a\xc2\x85" "b\xc2\x9b" "c", "\"a\\u0085b\\u009bc\"",
	  "C1 controls (NEL, CSI) as \\u" },
	{ "x\xe2\x80\xaey\xe2\x81\xa6z", "\"x\\u202ey\\u2066z\"",
	  "bidi override and isolate as \\u" },
	{ "\xc2\xa0\xe2\x80\xaf", "\"\xc2\xa0\xe2\x80\xaf\"",
	  "their neighbours (no-break spaces) pass" },
};

static const struct {
	const char     *in;
	const char     *out;
	const char     *what;
} words[] = {
	{ "alice@example.com", "alice@example.com", "a plain identity is bare" },
	{ "o'neil@example.com", "'o'\\''neil@example.com'",
	  "a quote in printable ASCII: single-quoted" },
	{ "\"a b\"@example.com", "'\"a b\"@example.com'", "a quoted local part" },
	{ "-x@example.com", "'-x@example.com'", "a leading '-' is quoted" },
	{ "j\xc3\xb6rg@example.com", "$'j\\xc3\\xb6rg@example.com'",
	  "non-ASCII bytes as \\xHH in $'...', the mail stays ASCII" },
	{ "\xc3\xa9'\\", "$'\\xc3\\xa9\\'\\\\'", "and ' and \\ escaped there" },
};

/* bash_echo - what bash makes of word, as a line of a script that an
 * admin pasted it into: printf %s WORD */
static const char *
bash_echo(const char *word)
{
	static char out[256];
	char script[] = "/tmp/sendguard-word.XXXXXX";
	size_t n;
	FILE *f;
	int fd;

	out[0] = '\0';
	if ((fd = mkstemp(script)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return "";
	fprintf(f, "printf %%s %s\n", word);
	fclose(f);
	snprintf(out, sizeof(out), "bash %s", script);
	if ((f = popen(out, "r")) != NULL) {
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		pclose(f);
	}
	unlink(script);
	return out;
}

/* test_mail_commands - the mail's commands for an identity that starts
 * with '-': after "--", or sendguardctl takes it for an option */
static void
test_mail_commands(void)
{
	static char mail[16384];
	char *to[] = { "postmaster@example.com" };
	conf_alerts ca = { to, 1, "/usr/sbin/sendmail", "", 1000, 0 };
	milt_alert a;

	memset(&a, 0, sizeof(a));
	a.ma_kind = MILT_ALERT_RESTRICTED;
	snprintf(a.ma_action, sizeof(a.ma_action), "block");
	snprintf(a.ma_facts.sr_identity, sizeof(a.ma_facts.sr_identity),
	    "-x@example.com");
	snprintf(a.ma_facts.sr_limit, sizeof(a.ma_facts.sr_limit),
	    "recipients_per_day");
	T_OK(milt_alert_mail(&a, &ca, "mx1", mail, sizeof(mail)) &&
	    strstr(mail, "\n    sendguardctl show -- '-x@example.com'\n"
	    "    sendguardctl unblock -- '-x@example.com'\n") != NULL,
	    "a restriction's mail: show -- ID and unblock -- ID");
	a.ma_kind = MILT_ALERT_CROSSED;
	T_OK(milt_alert_mail(&a, &ca, "mx1", mail, sizeof(mail)) &&
	    strstr(mail, "\n    sendguardctl show -- '-x@example.com'\n") !=
	    NULL, "a crossing's mail: show -- ID");
}

int
main(void)
{
	char buf[128];
	const char *w;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		w = milt_shell_word(words[i].in, buf, sizeof(buf));
		T_OK(w != NULL && strcmp(w, words[i].out) == 0, "%s: %s",
		    words[i].what, t_vis(w != NULL ? w : "(null)"));
		T_OK(w != NULL && strcmp(bash_echo(w), words[i].in) == 0,
		    "and bash gives the identity back: %s", t_vis(words[i].in));
	}
	T_OK(milt_shell_word("j\xc3\xb6rg@example.com", buf, 12) == NULL,
	    "a word that does not fit is refused, not cut");
	test_mail_commands();

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf[0] = '\0';
		T_OK(milt_json_string(buf, sizeof(buf), cases[i].in) &&
		    strcmp(buf, cases[i].out) == 0, "%s: %s", cases[i].what,
		    t_vis(buf));
	}

	/* Appends to what is there. */
	snprintf(buf, sizeof(buf), "{\"a\":");
	T_OK(milt_json_string(buf, sizeof(buf), "x") &&
	    strcmp(buf, "{\"a\":\"x\"") == 0, "appends after the text there");

	/* Too long: nothing of it stays, the text before is intact. */
	snprintf(buf, 8, "ab");
	T_OK(!milt_json_string(buf, 8, "abcdef") && strcmp(buf, "ab") == 0,
	    "a string that does not fit is left out whole");
	buf[0] = '\0';
	T_OK(!milt_json_string(buf, 5, "abc") && buf[0] == '\0',
	    "no room for the terminator: refused");
	buf[0] = '\0';
	T_OK(milt_json_string(buf, 6, "abc") && strcmp(buf, "\"abc\"") == 0,
	    "exactly enough room: written");
	return t_done();
}
