/*
 * ctl_table.c - aligned text tables for sendguardctl's human output.
 *
 * Cells are kept as cleaned, allocated copies in one growing array, row
 * after row; widths are measured only when the table is printed, because
 * a column is as wide as its widest cell.  Memory: the table owns every
 * cell; ctl_table_free() releases them.  Single-threaded.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_table.h"
#include "../util/util.h"

#define CELL_MAX	1024	/* longest cell kept, in bytes */

struct ctl_table {
	size_t		t_ncols;
	size_t		t_ncells;	/* headers included */
	size_t		t_cap;
	char	      **t_cells;
};

size_t
ctl_clean_len(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (*p != '\0') {
		if ((n = util_utf8_decode(p, &cp)) == 0 || util_cp_control(cp)) {
			/* one '?' a control character, or a byte that is not
			 * UTF-8 */
			if (i + 1 >= outlen)
				break;
			out[i++] = '?';
			p += n == 0 ? 1 : n;
		} else {
			/* a character whole, or not at all */
			if (i + n >= outlen)
				break;
			memcpy(out + i, p, n);
			i += n;
			p += n;
		}
	}
	out[i] = '\0';
	return (size_t)((const char *)p - s);
}

char *
ctl_clean(const char *s, char *out, size_t outlen)
{
	(void)ctl_clean_len(s, out, outlen);
	return out;
}

/* add - append a cleaned copy of text */
static int
add(ctl_table *t, const char *text)
{
	char clean[CELL_MAX], **cells;
	size_t cap;

	if (t->t_ncells == t->t_cap) {
		cap = t->t_cap * 2;
		if ((cells = realloc(t->t_cells, cap * sizeof(*cells))) == NULL)
			return -1;
		t->t_cells = cells;
		t->t_cap = cap;
	}
	if ((t->t_cells[t->t_ncells] = strdup(ctl_clean(text, clean,
	    sizeof(clean)))) == NULL)
		return -1;
	t->t_ncells++;
	return 0;
}

ctl_table *
ctl_table_new(size_t ncols, const char *const *headers)
{
	ctl_table *t;
	size_t i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->t_ncols = ncols;
	t->t_cap = ncols * 8;
	if ((t->t_cells = calloc(t->t_cap, sizeof(char *))) == NULL) {
		free(t);
		return NULL;
	}
	for (i = 0; i < ncols; i++)
		if (add(t, headers[i]) != 0) {
			ctl_table_free(t);
			return NULL;
		}
	return t;
}

int
ctl_table_cell(ctl_table *t, const char *fmt, ...)
{
	char buf[CELL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return add(t, buf);
}

/* width - UTF-8 characters in s: bytes that do not continue one */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int
ctl_table_print(const ctl_table *t, FILE *f)
{
	size_t *w, i, row, col, last, nrows = t->t_ncells / t->t_ncols;
	char *const *cell;

	if ((w = calloc(t->t_ncols, sizeof(*w))) == NULL)
		return -1;
	for (i = 0; i < nrows * t->t_ncols; i++)
		if (width(t->t_cells[i]) > w[i % t->t_ncols])
			w[i % t->t_ncols] = width(t->t_cells[i]);
	for (row = 0; row < nrows; row++) {
		cell = &t->t_cells[row * t->t_ncols];
		/* no trailing blanks: stop at the last cell with text */
		for (last = t->t_ncols - 1; last > 0 && cell[last][0] == '\0';
		    last--)
			;
		for (col = 0; col < last; col++)
			fprintf(f, "%s%*s", cell[col],
			    (int)(w[col] - width(cell[col]) + 2), "");
		fprintf(f, "%s\n", cell[last]);
	}
	free(w);
	return 0;
}

void
ctl_table_free(ctl_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->t_ncells; i++)
		free(t->t_cells[i]);
	free(t->t_cells);
	free(t);
}
