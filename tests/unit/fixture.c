#include "fixture.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* tests/unit/fixtures/NAME. __FILE__ is relative to the repository root when
 * built by the Makefile, so from another working directory fall back to the
 * root two levels above the binary (build/tests/test_NAME). */
const char *fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	const char *dir = slash ? __FILE__ : ".";
	char exe[PATH_MAX];
	ssize_t n;

	/* Relative to the source when the tests run from the repository (the
	 * fixtures directory exists), whatever the fixture itself is. */
	snprintf(path, sizeof(path), "%.*s/fixtures", dirlen, dir);
	if (__FILE__[0] == '/' || access(path, F_OK) == 0) {
		snprintf(path, sizeof(path), "%.*s/fixtures/%s", dirlen, dir, name);
		return path;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return path;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../../%.*s/fixtures/%s", dirname(exe), dirlen, dir, name);
	return path;
}
