/*
 * ctl_table.h - aligned text tables for people: a header row, then rows of
 * cells, each column as wide as its widest cell, two spaces apart.
 *
 * Cells are copied when added, cleaned by ctl_clean, so nothing from the
 * database can move the cursor of the terminal that shows it or reorder
 * its line.  Widths count UTF-8 characters, not bytes.  The table
 * owns its copies; ctl_table_free() releases them.  Single-threaded.
 */
#ifndef SENDGUARD_CTL_TABLE_H
#define SENDGUARD_CTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

typedef struct ctl_table ctl_table;

/* ctl_table_new - a table of ncols columns with these headers; NULL if out
 * of memory */
ctl_table      *ctl_table_new(size_t ncols, const char *const *headers);

/*
 * ctl_table_cell - append one cell (printf-style) to the current row; the
 * row is complete after ncols cells and the next cell starts a new one.
 * 0, or -1 if out of memory.
 */
__attribute__((format(printf, 2, 3)))
int		ctl_table_cell(ctl_table *t, const char *fmt, ...);

/* ctl_table_print - header and rows, aligned, with no trailing blanks;
 * 0, or -1 (nothing printed) if out of memory */
int		ctl_table_print(const ctl_table *t, FILE *f);

/* ctl_table_free - NULL is fine */
void		ctl_table_free(ctl_table *t);

/*
 * ctl_clean - s into out (outlen > 0 bytes) for a terminal: a control
 * character (C0, DEL, C1, a bidirectional override or isolate:
 * util_cp_control) as one '?', each byte that is not well-formed UTF-8 as
 * '?'; other characters (jörg) as they are.  Cut before a character that
 * does not fit, never inside one.  Returns out.
 */
char	       *ctl_clean(const char *s, char *out, size_t outlen);

/* ctl_clean_len - ctl_clean, returning how many bytes of s it took (all of
 * s, strlen(s), unless out was too small) */
size_t		ctl_clean_len(const char *s, char *out, size_t outlen);

#endif
