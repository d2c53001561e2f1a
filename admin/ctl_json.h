/*
 * ctl_json.h - a small streaming JSON writer for sendguardctl's --json.
 *
 * The writer places commas, newlines and two-space indentation; the
 * caller opens and closes objects and arrays, names keys and writes
 * values.  Strings are escaped per RFC 8259; bytes that are not UTF-8 are
 * written as U+FFFD, so any database content gives valid JSON.  Times are
 * RFC 3339 strings in UTC.  Memory: none allocated.  One writer per
 * stream, single-threaded.
 */
#ifndef SENDGUARD_CTL_JSON_H
#define SENDGUARD_CTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_JSON_DEPTH	8

typedef struct ctl_json {
	FILE	       *j_f;
	int		j_depth;
	bool		j_empty[CTL_JSON_DEPTH];	/* nothing in it yet */
	bool		j_after_key;
} ctl_json;

void		ctl_json_init(ctl_json *j, FILE *f);
/* ctl_json_open - '{' or '['; ctl_json_close - '}' or ']' */
void		ctl_json_open(ctl_json *j, char c);
void		ctl_json_close(ctl_json *j, char c);
/* ctl_json_key - "name": in the open object; the value follows */
void		ctl_json_key(ctl_json *j, const char *name);
void		ctl_json_string(ctl_json *j, const char *s);
/* ctl_json_string_or_null - null for "" (unknown) */
void		ctl_json_string_or_null(ctl_json *j, const char *s);
void		ctl_json_uint(ctl_json *j, uint64_t v);
void		ctl_json_bool(ctl_json *j, bool v);
void		ctl_json_null(ctl_json *j);
/* ctl_json_time - "YYYY-MM-DDTHH:MM:SSZ", or null when !has */
void		ctl_json_time(ctl_json *j, bool has, int64_t t);
/* ctl_json_end - the newline after the top-level value */
void		ctl_json_end(ctl_json *j);

/* ctl_json_escape - s as a JSON string literal, quotes included */
void		ctl_json_escape(FILE *f, const char *s);

#endif
