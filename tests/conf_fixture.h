/*
 * conf_fixture.h - what the conf/ unit tests share: where the fixtures are
 * (tests/conf/, relative to the top of the source tree) and the check that
 * a bad fixture is refused with its exact "file:line: key: message".
 */
#ifndef CONF_FIXTURE_H
#define CONF_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "../conf/conf.h"
#include "t.h"

#define FIX	"tests/conf/"
#define BAD	FIX "bad/"

/* expect_bad - BAD/file.conf is refused with the error path + suffix */
__attribute__((unused))
static void
expect_bad(const char *file, const char *suffix)
{
	char path[256], want[1024], err[1024] = "";
	conf_t *c;

	snprintf(path, sizeof(path), BAD "%s.conf", file);
	snprintf(want, sizeof(want), "%s%s", path, suffix);
	c = conf_load(path, err, sizeof(err));
	T_OK(c == NULL, "%s is refused", file);
	T_STREQ(err, want, "%s: the error names file:line and why", file);
	conf_free(c);
}

/* fx_enter - the fixtures are named from the top of the source tree: go
 * there if the first argument names it; false (and why) if that fails */
__attribute__((unused))
static bool
fx_enter(int argc, char **argv)
{
	if (argc > 1 && chdir(argv[1]) != 0) {
		perror(argv[1]);
		return false;
	}
	return true;
}

#endif
