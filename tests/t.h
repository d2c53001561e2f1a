/*
 * t.h - the unit tests' tiny harness.
 *
 * Each check prints one TAP line, "ok N - what" or "not ok N - what", which
 * tests/run counts across every test program; t_done() gives the exit
 * status.  Single-threaded, header-only, for tests only.
 */
#ifndef SENDGUARD_T_H
#define SENDGUARD_T_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int t_n, t_failed;

__attribute__((format(printf, 4, 5)))
static bool
t_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t_n++;
	printf("%s %d - ", ok ? "ok" : "not ok", t_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok) {
		t_failed++;
		printf(" # at %s:%d", file, line);
	}
	putchar('\n');
	fflush(stdout);
	return ok;
}

/* t_vis - s with control characters shown as '?', for a TAP line */
__attribute__((unused))
static const char *
t_vis(const char *s)
{
	static char buf[4][128];
	static int k;
	char *b = buf[k++ % 4];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof(buf[0]) - 1; i++)
		b[i] = ((unsigned char)s[i] < 0x20) ? '?' : s[i];
	b[i] = '\0';
	return b;
}

/* T_OK(cond, "what it checks", ...) */
#define T_OK(cond, ...) t_check((cond), __FILE__, __LINE__, __VA_ARGS__)

/* T_STREQ(got, want, "what") - and show both when they differ */
#define T_STREQ(got, want, ...) do { \
	const char *t_g_ = (got), *t_w_ = (want); \
	if (!T_OK(t_g_ != NULL && strcmp(t_g_, t_w_) == 0, __VA_ARGS__)) \
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n", \
		    t_g_ ? t_g_ : "(null)", t_w_); \
} while (0)

/* T_INTEQ(got, want, "what") */
#define T_INTEQ(got, want, ...) do { \
	long long t_g_ = (long long)(got), t_w_ = (long long)(want); \
	if (!T_OK(t_g_ == t_w_, __VA_ARGS__)) \
		printf("#   got:  %lld\n#   want: %lld\n", t_g_, t_w_); \
} while (0)

/* t_done - the exit status: 0 if every check passed */
static int
t_done(void)
{
	printf("# %d checks, %d failed\n", t_n, t_failed);
	return t_failed == 0 ? 0 : 1;
}

#endif
