/*
 * conf_literal.c - find the integer literals that libconfig wrapped to 32
 * bits, so that a value past them is refused instead of used wrapped.
 *
 * libconfig 1.5 stores a decimal or hex literal without an "L" suffix as a
 * 32-bit int and says nothing: 4294967296 loads as 0 (no limit), 4294967306
 * as 10, 0x100000005 as 5.  The loaded value cannot show it, so the text is
 * read again: each file an int setting came from is lexed once per load,
 * skipping comments and strings as libconfig does, and every "name = N" or
 * "name : N" whose N lies outside the 32-bit range is kept with its line.
 * An int setting was wrapped if such a literal of its name starts on its
 * line and wraps to its value.
 *
 * Limits, all of them outside any file libconfig reads the same way twice:
 * the text is read after libconfig read it, so a file changed in between
 * is judged on its new text; a file that cannot be read again is not
 * checked; two settings of one name on one line whose literals wrap to the
 * same value are told apart by neither, so the message may name the other.
 * An included file is found as libconfig found it: the include directory
 * (conf_load: the main file's) joined to the name as written.
 *
 * Memory: the lists belong to the conf_ld, freed by conf_literal_free().
 * Errors: 0, or -1 through conf_fail().  Single-threaded per load.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

#define CONF_LITERAL_SHOWN	40	/* digits shown before "..." */

/* One literal past 32 bits, after its name. */
typedef struct conf_wide {
	struct conf_wide *cw_next;
	char	       *cw_name;
	int		cw_line;
	bool		cw_past_64;	/* strtoll gave up: matches any value */
	long long	cw_wrapped;	/* what libconfig made of it */
	char		cw_text[CONF_LITERAL_SHOWN + 4];
} conf_wide;

/* One file lexed, named as libconfig names it. */
struct conf_litfile {
	struct conf_litfile *cl_next;
	char	       *cl_file;
	conf_wide      *cl_wide;
};

/* conf_wrap32 - v as libconfig 1.5 stores it in an int */
static long long
conf_wrap32(unsigned long long v)
{
	long long w = (long long)(v & 0xffffffffULL);

	return w > INT32_MAX ? w - 0x100000000LL : w;
}

/* conf_skip_space - past blanks and comments, counting lines */
static const char *
conf_skip_space(const char *p, int *line)
{
	for (;;) {
		if (*p == '\n') {
			++*line;
			p++;
		} else if (isspace((unsigned char)*p)) {
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' &&
			    !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					++*line;
			if (*p != '\0')
				p += 2;
		} else {
			return p;
		}
	}
}

/* conf_is_name - can c go on a libconfig name ([A-Za-z*][-A-Za-z0-9_*]*)? */
static bool
conf_is_name(int c, bool first)
{
	return isalpha(c) || c == '*' ||
	    (!first && (isdigit(c) || c == '-' || c == '_'));
}

/*
 * conf_int_token - if p starts an integer literal as libconfig 1.5 lexes
 * it into an int (no L, not a float), its end; else NULL.  *hex says which.
 */
static const char *
conf_int_token(const char *p, bool *hex)
{
	const char *q = p;

	*hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    isxdigit((unsigned char)p[2]);
	if (*hex) {
		for (q = p + 2; isxdigit((unsigned char)*q); q++)
			;
	} else {
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return NULL;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == '.' || *q == 'e' || *q == 'E')
			return NULL;
	}
	return *q == 'L' ? NULL : q;
}

/* conf_note - keep the literal p..end after name if it is past 32 bits */
static int
conf_note(struct conf_litfile *f, const char *name, size_t namelen,
    int line, const char *p, const char *end, bool hex)
{
	unsigned long long u;
	long long v;
	conf_wide *w;
	size_t n = (size_t)(end - p);

	errno = 0;
	if (hex) {
		u = strtoull(p, NULL, 16);
		v = u > INT32_MAX ? INT64_MAX : (long long)u;
	} else {
		v = strtoll(p, NULL, 10);
		u = (unsigned long long)v;
	}
	if (errno == 0 && v >= INT32_MIN && v <= INT32_MAX)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->cw_name = strndup(name, namelen)) == NULL) {
		free(w);
		return -1;
	}
	w->cw_line = line;
	w->cw_past_64 = errno == ERANGE;
	w->cw_wrapped = conf_wrap32(u);
	if (n > CONF_LITERAL_SHOWN)
		snprintf(w->cw_text, sizeof(w->cw_text), "%.*s...",
		    CONF_LITERAL_SHOWN, p);
	else
		snprintf(w->cw_text, sizeof(w->cw_text), "%.*s", (int)n, p);
	w->cw_next = f->cl_wide;
	f->cl_wide = w;
	return 0;
}

/* conf_lex - note every "name = N" or "name : N" in text past 32 bits */
static int
conf_lex(struct conf_litfile *f, const char *text)
{
	const char *p = text, *name = NULL, *end;
	size_t namelen = 0;
	int line = 1, name_line = 0;
	bool after_name = false, after_eq = false, hex;

	while (*(p = conf_skip_space(p, &line)) != '\0') {
		if (after_eq && (end = conf_int_token(p, &hex)) != NULL) {
			if (conf_note(f, name, namelen, name_line, p, end,
			    hex) != 0)
				return -1;
			p = end;
			after_name = after_eq = false;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p != '\0')
				p++;
			after_name = after_eq = false;
		} else if (conf_is_name((unsigned char)*p, true)) {
			for (name = p; conf_is_name((unsigned char)*p, false);
			    p++)
				;
			namelen = (size_t)(p - name);
			name_line = line;
			after_name = true;
			after_eq = false;
		} else {
			after_eq = after_name && (*p == '=' || *p == ':');
			after_name = false;
			/* A number not after "=" is skipped whole: 1e5 is
			 * not the name e5. */
			if (isdigit((unsigned char)*p))
				while (isalnum((unsigned char)*p) || *p == '.')
					p++;
			else
				p++;
		}
	}
	return 0;
}

/* conf_slurp - the whole of path, NUL-terminated, or NULL */
static char *
conf_slurp(const char *path)
{
	FILE *fp;
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp)) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
out:
	fclose(fp);
	return buf;
}

/* conf_litfile_get - file lexed (once per load), or NULL if out of memory */
static struct conf_litfile *
conf_litfile_get(conf_ld *ld, const char *file)
{
	struct conf_litfile *f;
	char *path, *text;
	int rc = 0;

	for (f = ld->ld_litfiles; f != NULL; f = f->cl_next)
		if (strcmp(f->cl_file, file) == 0)
			return f;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->cl_file = strdup(file)) == NULL) {
		free(f);
		return NULL;
	}
	f->cl_next = ld->ld_litfiles;
	ld->ld_litfiles = f;
	if ((path = conf_source_path(ld, file)) == NULL)
		return NULL;
	text = conf_slurp(path);
	if (text != NULL)
		rc = conf_lex(f, text);
	free(text);
	free(path);
	return rc == 0 ? f : NULL;
}

int
conf_literal_check(conf_ld *ld, const config_setting_t *s, const char *key,
    long long min, long long max)
{
	const struct conf_litfile *f;
	const conf_wide *w;
	const char *file = config_setting_source_file(s);
	const char *name = config_setting_name(s);
	int line = (int)config_setting_source_line(s);
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT || file == NULL ||
	    name == NULL || ld->ld_defaulting)
		return 0;
	if ((f = conf_litfile_get(ld, file)) == NULL)
		return conf_oom(ld, s, key);
	v = config_setting_get_int(s);
	for (w = f->cl_wide; w != NULL; w = w->cw_next)
		if (w->cw_line == line && strcmp(w->cw_name, name) == 0 &&
		    (w->cw_past_64 || w->cw_wrapped == v))
			return conf_fail(ld, s, key,
			    "%s is out of range (%lld..%lld)", w->cw_text,
			    min, max);
	return 0;
}

void
conf_literal_free(conf_ld *ld)
{
	struct conf_litfile *f, *nf;
	conf_wide *w, *nw;

	for (f = ld->ld_litfiles; f != NULL; f = nf) {
		nf = f->cl_next;
		for (w = f->cl_wide; w != NULL; w = nw) {
			nw = w->cw_next;
			free(w->cw_name);
			free(w);
		}
		free(f->cl_file);
		free(f);
	}
	ld->ld_litfiles = NULL;
}
