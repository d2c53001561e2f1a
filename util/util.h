/*
 * util.h - the little that both programs (sendguard and sendguardctl)
 * need and that belongs to none of policy/, store/ or conf/: prefix util_.
 * Pure functions on caller-supplied memory; thread-safe; no I/O.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * util_utf8_len - the length (1..4) of the well-formed UTF-8 sequence at
 * s, or 0 if s does not start one: a stray or missing continuation byte,
 * an overlong form, a surrogate or a code point beyond U+10FFFF.  s must
 * be NUL-terminated (the NUL ends a sequence cut short).
 */
size_t		util_utf8_len(const unsigned char *s);

/* util_utf8_decode - util_utf8_len, and the code point in *cp (the byte
 * itself when it returns 0) */
size_t		util_utf8_decode(const unsigned char *s, uint32_t *cp);

/*
 * util_cp_control - does code point cp act on a terminal rather than
 * show?  The C0 controls, DEL, the C1 controls (U+0080..U+009F, which
 * some terminals obey as ESC sequences) and the bidirectional embeddings,
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069), which reorder
 * what follows them on the line ("Trojan Source").
 */
bool		util_cp_control(uint32_t cp);

#endif
