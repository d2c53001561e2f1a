/*
 * util.h - the little that both programs (sendguard and sendguardctl)
 * need and that belongs to none of policy/, store/ or conf/: prefix util_.
 * Pure functions on caller-supplied memory; thread-safe; no I/O.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>

/*
 * util_utf8_len - the length (1..4) of the well-formed UTF-8 sequence at
 * s, or 0 if s does not start one: a stray or missing continuation byte,
 * an overlong form, a surrogate or a code point beyond U+10FFFF.  s must
 * be NUL-terminated (the NUL ends a sequence cut short).
 */
size_t		util_utf8_len(const unsigned char *s);

#endif
