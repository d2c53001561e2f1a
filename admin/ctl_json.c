/*
 * ctl_json.c - sendguardctl's JSON writer: separators, indentation and
 * string escaping (RFC 8259).
 *
 * Identities and reasons come from the database, which the milter filled
 * from SMTP: they may hold anything.  Control characters are escaped
 * (RFC 8259 asks it of C0; C1 and the bidirectional overrides and isolates
 * too, util_cp_control, so the JSON shown raw on a terminal is inert),
 * and a byte that does not start a well-formed UTF-8 sequence (overlong,
 * surrogate, beyond U+10FFFF, cut short) becomes U+FFFD, so the output is
 * always valid JSON in UTF-8.  Nothing is allocated; write errors are
 * caught by the caller's final fflush()/ferror().
 */
#include <stdio.h>

#include "ctl_json.h"
#include "ctl_time.h"
#include "../util/util.h"

void
ctl_json_init(ctl_json *j, FILE *f)
{
	j->j_f = f;
	j->j_depth = 0;
	j->j_empty[0] = true;
	j->j_after_key = false;
}

/* indent - a newline and two spaces per level */
static void
indent(ctl_json *j)
{
	int i;

	fputc('\n', j->j_f);
	for (i = 0; i < j->j_depth; i++)
		fputs("  ", j->j_f);
}

/* before_value - the separator a value (or a key) needs where it goes */
static void
before_value(ctl_json *j)
{
	if (j->j_after_key) {
		j->j_after_key = false;
		return;
	}
	if (j->j_depth > 0) {
		if (!j->j_empty[j->j_depth])
			fputc(',', j->j_f);
		indent(j);
	}
	j->j_empty[j->j_depth] = false;
}

void
ctl_json_open(ctl_json *j, char c)
{
	before_value(j);
	fputc(c, j->j_f);
	if (j->j_depth + 1 < CTL_JSON_DEPTH)
		j->j_depth++;
	j->j_empty[j->j_depth] = true;
}

void
ctl_json_close(ctl_json *j, char c)
{
	bool empty = j->j_empty[j->j_depth];

	if (j->j_depth > 0)
		j->j_depth--;
	if (!empty)
		indent(j);
	fputc(c, j->j_f);
}

void
ctl_json_key(ctl_json *j, const char *name)
{
	before_value(j);
	ctl_json_escape(j->j_f, name);
	fputs(": ", j->j_f);
	j->j_after_key = true;
}

void
ctl_json_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	fputc('"', f);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p == '\n') {
			fputs("\\n", f), p++;
		} else if (*p == '\t') {
			fputs("\\t", f), p++;
		} else if ((n = util_utf8_decode(p, &cp)) == 0) {
			fputs("\\ufffd", f), p++;
		} else if (util_cp_control(cp)) {
			/* the same string to a parser, inert on a terminal */
			fprintf(f, "\\u%04x", (unsigned)cp), p += n;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

void
ctl_json_string(ctl_json *j, const char *s)
{
	before_value(j);
	ctl_json_escape(j->j_f, s);
}

void
ctl_json_string_or_null(ctl_json *j, const char *s)
{
	if (s == NULL || *s == '\0')
		ctl_json_null(j);
	else
		ctl_json_string(j, s);
}

void
ctl_json_uint(ctl_json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->j_f, "%llu", (unsigned long long)v);
}

void
ctl_json_bool(ctl_json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->j_f);
}

void
ctl_json_null(ctl_json *j)
{
	before_value(j);
	fputs("null", j->j_f);
}

void
ctl_json_time(ctl_json *j, bool has, int64_t t)
{
	char buf[CTL_TIME_SIZE];

	if (!has) {
		ctl_json_null(j);
		return;
	}
	before_value(j);
	fprintf(j->j_f, "\"%s\"", ctl_time_format(t, buf));
}

void
ctl_json_end(ctl_json *j)
{
	fputc('\n', j->j_f);
}
