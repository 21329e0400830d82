/* Unit tests for agent/maps/slot_space.c: the banks' ranges of steer_slots_v1. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "maps/slot_space.h"

static void test_slot_space_first_fit_then_coalesce_on_free(void **state)
{
	struct slot_space s;
	struct steer_slot_range a, b, c, d;

	(void)state;
	assert_int_equal(slot_space_init(&s, 100, 0), 0);
	assert_int_equal(slot_space_alloc(&s, 0, 0, 10, &a), 0);
	assert_int_equal(slot_space_alloc(&s, 1, 0, 20, &b), 0);
	assert_int_equal(slot_space_alloc(&s, 2, 0, 30, &c), 0);
	assert_int_equal(a.base, 0);
	assert_int_equal(b.base, 10);
	assert_int_equal(c.base, 30);
	assert_int_equal(s.used, 60);
	slot_space_free(&s, &a);
	slot_space_free(&s, &c);
	assert_int_equal(s.nfree, 2); /* [0,10) and [30,100) */
	/* 15 does not fit in [0,10): the first that fits is at 30 */
	assert_int_equal(slot_space_alloc(&s, 3, 0, 15, &d), 0);
	assert_int_equal(d.base, 30);
	slot_space_free(&s, &d);
	slot_space_free(&s, &b);
	assert_int_equal(s.nfree, 1);
	assert_int_equal(s.free[0].base, 0);
	assert_int_equal(s.free[0].len, 100);
	assert_int_equal(s.used, 0);
	slot_space_fini(&s);
}

static void test_slot_space_full_is_enospc_and_empty_needs_nothing(void **state)
{
	struct slot_space s;
	struct steer_slot_range a, z;

	(void)state;
	assert_int_equal(slot_space_init(&s, 8, 0), 0);
	assert_int_equal(slot_space_alloc(&s, 0, 0, 9, &a), -ENOSPC);
	assert_int_equal(slot_space_alloc(&s, 0, 0, 8, &a), 0);
	assert_int_equal(slot_space_alloc(&s, 1, 0, 1, &z), -ENOSPC);
	assert_int_equal(slot_space_alloc(&s, 1, 0, 0, &z), 0);
	assert_int_equal(z.cap, 0);
	slot_space_fini(&s);
}

static void test_slot_space_take_splits_and_refuses_overlaps(void **state)
{
	struct slot_space s;
	struct steer_slot_range r;

	(void)state;
	assert_int_equal(slot_space_init(&s, 100, 0), 0);
	assert_int_equal(slot_space_take(&s, &(struct steer_slot_range){40, 10}), 0);
	assert_int_equal(slot_space_take(&s, &(struct steer_slot_range){45, 10}), -EEXIST);
	assert_int_equal(slot_space_take(&s, &(struct steer_slot_range){95, 10}), -EEXIST);
	assert_int_equal(slot_space_take(&s, &(struct steer_slot_range){0, 40}), 0);
	assert_int_equal(slot_space_alloc(&s, 0, 0, 50, &r), 0);
	assert_int_equal(r.base, 50);
	assert_int_equal(s.used, 100);
	slot_space_fini(&s);
}

static void test_slot_space_stride_gives_each_bank_its_fixed_place(void **state)
{
	struct slot_space s;
	struct steer_slot_range r;

	(void)state;
	assert_int_equal(slot_space_init(&s, 4 * 2 * 64, 64), 0);
	assert_int_equal(slot_space_alloc(&s, 3, 1, 64, &r), 0);
	assert_int_equal(r.base, (3 * 2 + 1) * 64);
	assert_int_equal(r.cap, 64);
	assert_int_equal(slot_space_alloc(&s, 3, 1, 65, &r), -ENOSPC);
	assert_int_equal(slot_space_alloc(&s, 4, 0, 1, &r), -ENOSPC); /* past the array */
	slot_space_fini(&s);
}

/* Random allocations and frees: no two taken ranges ever overlap, the
 * count of used entries is exact, and all free again is one extent. */
static void test_slot_space_random_use_never_overlaps(void **state)
{
	enum { SIZE = 4096, N = 200 };
	struct steer_slot_range held[N] = {{0, 0}};
	unsigned char *owner = calloc(SIZE, 1);
	struct slot_space s;
	uint32_t seed = 12345, used = 0;

	(void)state;
	assert_non_null(owner);
	assert_int_equal(slot_space_init(&s, SIZE, 0), 0);
	for (int step = 0; step < 20000; step++) {
		int i;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 8) % N);
		if (held[i].cap) {
			for (uint32_t k = 0; k < held[i].cap; k++)
				owner[held[i].base + k] = 0;
			used -= held[i].cap;
			slot_space_free(&s, &held[i]);
			held[i].cap = 0;
		} else if (slot_space_alloc(&s, 0, 0, 1 + (seed >> 20) % 64, &held[i]) == 0) {
			for (uint32_t k = 0; k < held[i].cap; k++) {
				assert_int_equal(owner[held[i].base + k], 0);
				owner[held[i].base + k] = 1;
			}
			used += held[i].cap;
		}
		assert_int_equal(s.used, used);
	}
	for (int i = 0; i < N; i++)
		slot_space_free(&s, &held[i]);
	assert_int_equal(s.nfree, 1);
	assert_int_equal(s.free[0].len, SIZE);
	slot_space_fini(&s);
	free(owner);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slot_space_first_fit_then_coalesce_on_free),
	    cmocka_unit_test(test_slot_space_full_is_enospc_and_empty_needs_nothing),
	    cmocka_unit_test(test_slot_space_take_splits_and_refuses_overlaps),
	    cmocka_unit_test(test_slot_space_stride_gives_each_bank_its_fixed_place),
	    cmocka_unit_test(test_slot_space_random_use_never_overlaps),
	};

	return cmocka_run_group_tests_name("slot_space", tests, NULL, NULL);
}
