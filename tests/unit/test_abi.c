/* Unit tests for bpf/steer_abi.h: the slot index the agent and BPF share. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bpf/steer_abi.h"

static const struct {
	__u32 svc, bank, slot, index;
} known[] = {
    {0, 0, 0, 0},
    {0, 0, STEER_MAX_SLOTS - 1, STEER_MAX_SLOTS - 1},
    {0, 1, 0, STEER_MAX_SLOTS},
    {1, 0, 0, STEER_SLOT_BANKS *STEER_MAX_SLOTS},
    {STEER_MAX_SERVICES - 1, STEER_SLOT_BANKS - 1, STEER_MAX_SLOTS - 1, STEER_MAX_SLOT_ENTRIES - 1},
};

static void test_abi_slot_index_matches_known_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_int_equal(steer_slot_index(known[i].svc, known[i].bank, known[i].slot),
				 known[i].index);
}

/* Every (svc, bank, slot) gets its own index below STEER_MAX_SLOT_ENTRIES, so
 * the map is exactly covered: no two slots alias, none falls off the end. */
static void test_abi_slot_index_is_distinct_and_in_range_for_all_combinations(void **state)
{
	unsigned char *seen = calloc(STEER_MAX_SLOT_ENTRIES, 1);
	__u32 max = 0, count = 0;

	(void)state;
	assert_non_null(seen);
	for (__u32 svc = 0; svc < STEER_MAX_SERVICES; svc++)
		for (__u32 bank = 0; bank < STEER_SLOT_BANKS; bank++)
			for (__u32 slot = 0; slot < STEER_MAX_SLOTS; slot++) {
				__u32 idx = steer_slot_index(svc, bank, slot);

				assert_in_range(idx, 0, STEER_MAX_SLOT_ENTRIES - 1);
				assert_int_equal(seen[idx], 0);
				seen[idx] = 1;
				if (idx > max)
					max = idx;
				count++;
			}
	assert_int_equal(count, STEER_MAX_SLOT_ENTRIES);
	assert_int_equal(max, STEER_MAX_SLOT_ENTRIES - 1);
	free(seen);
}

static void test_abi_banks_of_one_service_do_not_overlap(void **state)
{
	static const __u32 svcs[] = {0, STEER_MAX_SERVICES - 1};

	(void)state;
	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		__u32 svc = svcs[i];
		__u32 bank0_last = steer_slot_index(svc, 0, STEER_MAX_SLOTS - 1);
		__u32 bank1_first = steer_slot_index(svc, 1, 0);

		assert_int_equal(bank1_first, bank0_last + 1);
	}
}

/* A pick starts at hint % count and wraps, so every slot is looked at once. */
static void test_abi_pick_walks_every_slot_once_from_the_hint(void **state)
{
	static const struct {
		uint32_t hint, count, want[4];
	} rows[] = {
	    {0, 4, {0, 1, 2, 3}},
	    {6, 4, {2, 3, 0, 1}},
	    {UINT32_MAX, 3, {0, 1, 2}}, /* 2^32 - 1 = 3 * 1431655765 */
	    {7, 1, {0}},
	};

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++)
		for (uint32_t i = 0; i < rows[r].count; i++)
			if (steer_pick_slot(rows[r].hint, rows[r].count, i) != rows[r].want[i])
				fail_msg("hint %u count %u step %u: expected slot %u, got %u",
					 rows[r].hint, rows[r].count, i, rows[r].want[i],
					 steer_pick_slot(rows[r].hint, rows[r].count, i));
	for (uint32_t count = 1; count <= STEER_MAX_SLOTS; count++) {
		uint64_t seen = 0;

		for (uint32_t i = 0; i < count; i++)
			seen |= 1ull << steer_pick_slot(0x9e3779b9u, count, i);
		assert_int_equal(seen, count == 64 ? UINT64_MAX : (1ull << count) - 1);
	}
}

static void test_abi_only_an_up_replica_of_the_vip_family_may_take(void **state)
{
	struct steer_replica r = {.family = STEER_FAMILY_V4, .state = STEER_REPLICA_UP};

	(void)state;
	assert_true(steer_replica_may_take(&r, STEER_FAMILY_V4));
	assert_false(steer_replica_may_take(&r, STEER_FAMILY_V6));
	for (uint8_t st = STEER_REPLICA_UNUSED; st <= STEER_REPLICA_DRAINING; st++) {
		r.state = st;
		assert_int_equal(steer_replica_may_take(&r, STEER_FAMILY_V4),
				 st == STEER_REPLICA_UP);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_abi_slot_index_matches_known_values),
	    cmocka_unit_test(test_abi_slot_index_is_distinct_and_in_range_for_all_combinations),
	    cmocka_unit_test(test_abi_banks_of_one_service_do_not_overlap),
	    cmocka_unit_test(test_abi_pick_walks_every_slot_once_from_the_hint),
	    cmocka_unit_test(test_abi_only_an_up_replica_of_the_vip_family_may_take),
	};

	return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
