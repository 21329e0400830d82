/* Unit tests for agent/maps/sysprep.c: finding a cgroup v2 mount in mountinfo.
 * Fixtures live in tests/unit/fixtures/, found next to this source file. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libgen.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixture.h"
#include "maps/sysprep.h"

/* A fixture that is not there would make the "none" case pass for the wrong
 * reason. */
static void assert_fixture_readable(const char *name)
{
	if (access(fixture(name), R_OK))
		fail_msg("fixture %s: %s", fixture(name), strerror(errno));
}

static const struct {
	const char *file, *want;
} found[] = {
    /* systemd hybrid: cgroup2 among v1 controllers, under a tmpfs */
    {"mountinfo_hybrid", "/sys/fs/cgroup/unified"},
    /* unified hierarchy only */
    {"mountinfo_v2", "/sys/fs/cgroup"},
    /* \040 is a space and \134 a backslash in mountinfo */
    {"mountinfo_escaped", "/run/my cgroup\\v2"},
    /* optional fields (shared:, master:, propagate_from:, unbindable) before
     * " - "; the first cgroup2 mount wins */
    {"mountinfo_optional", "/var/lib/kubelet/cgroup"},
    /* \011 and \012 are a tab and a newline; the v1 mount before it, at an
     * escaped path too, is not taken */
    {"mountinfo_escaped_controls", "/run/tab\tand\nnewline"},
    /* lines cut short are skipped, not the end of the file */
    {"mountinfo_broken", "/sys/fs/cgroup"},
};

static void test_sysprep_finds_cgroup2_mount_point(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		char out[PATH_MAX];
		int ret;

		assert_fixture_readable(found[i].file);
		memset(out, 'x', sizeof(out));
		out[sizeof(out) - 1] = '\0';
		ret = mountinfo_find_cgroup2(fixture(found[i].file), out, sizeof(out));
		if (ret)
			fail_msg("%s: expected 0, got %d", found[i].file, ret);
		if (strcmp(out, found[i].want))
			fail_msg("%s: expected '%s', got '%s'", found[i].file, found[i].want, out);
	}
}

/* tmpfs with source "cgroup2", a v1 mount at .../cgroup2, fstype "cgroup2fs":
 * only the fstype field after " - " counts, and it must be exactly cgroup2. */
static void test_sysprep_no_cgroup2_mount_returns_enoent(void **state)
{
	char out[PATH_MAX] = "untouched";

	(void)state;
	assert_fixture_readable("mountinfo_none");
	assert_int_equal(mountinfo_find_cgroup2(fixture("mountinfo_none"), out, sizeof(out)),
			 -ENOENT);
}

/* An empty mountinfo has no cgroup2 mount either. */
static void test_sysprep_empty_mountinfo_returns_enoent(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mountinfo_find_cgroup2("/dev/null", out, sizeof(out)), -ENOENT);
}

/* A mount point that does not fit out is passed over for the next cgroup2
 * mount, never returned cut. */
static void test_sysprep_mount_point_too_long_for_out_is_skipped(void **state)
{
	char out[sizeof("/var/lib/kubelet/cgroup") - 1]; /* one byte short */

	(void)state;
	assert_fixture_readable("mountinfo_optional");
	assert_int_equal(mountinfo_find_cgroup2(fixture("mountinfo_optional"), out, sizeof(out)),
			 0);
	assert_string_equal(out, "/second/cgroup2");
	assert_int_equal(mountinfo_find_cgroup2(fixture("mountinfo_optional"), out, 8), -ENOENT);
}

static void test_sysprep_missing_mountinfo_returns_negative_errno(void **state)
{
	char out[PATH_MAX];
	int ret;

	(void)state;
	assert_fixture_readable("mountinfo_v2");
	ret = mountinfo_find_cgroup2(fixture("no-such-mountinfo"), out, sizeof(out));
	assert_int_equal(ret, -ENOENT);
	ret = mountinfo_find_cgroup2(fixture("mountinfo_v2/not-a-dir"), out, sizeof(out));
	assert_int_equal(ret, -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sysprep_finds_cgroup2_mount_point),
	    cmocka_unit_test(test_sysprep_no_cgroup2_mount_returns_enoent),
	    cmocka_unit_test(test_sysprep_empty_mountinfo_returns_enoent),
	    cmocka_unit_test(test_sysprep_mount_point_too_long_for_out_is_skipped),
	    cmocka_unit_test(test_sysprep_missing_mountinfo_returns_negative_errno),
	};

	return cmocka_run_group_tests_name("sysprep", tests, NULL, NULL);
}
