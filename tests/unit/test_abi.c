/* Unit tests for bpf/steer_abi.h: the pick rule the agent and BPF share. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/steer_abi.h"

/* After its draws, a pick walks from a start of its own and wraps, so every
 * slot is looked at; one slot is all there is to look at for a service of
 * one. */
static void test_abi_pick_ends_with_a_walk_over_every_slot(void **state)
{
	static const struct {
		uint32_t hint, count;
	} rows[] = {
	    {0, 4}, {6, 4}, {UINT32_MAX, 3}, /* 2^32 - 1 = 3 * 1431655765 */
	};

	(void)state;
	assert_int_equal(steer_pick_steps(1), 1);
	assert_int_equal(steer_pick_slot(7, 1, 0), 0);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		assert_int_equal(steer_pick_steps(rows[r].count), STEER_PICK_DRAWS + rows[r].count);
		assert_int_equal(steer_pick_slot(rows[r].hint, rows[r].count, 0),
				 rows[r].hint % rows[r].count);
		/* The walk visits every slot once, in order, from its own start. */
		for (uint32_t i = 0; i < rows[r].count; i++) {
			uint32_t start =
			    steer_pick_slot(rows[r].hint, rows[r].count, STEER_PICK_DRAWS);
			uint32_t got =
			    steer_pick_slot(rows[r].hint, rows[r].count, STEER_PICK_DRAWS + i);

			if (got != (start + i) % rows[r].count)
				fail_msg("hint %u count %u walk step %u: expected slot %u, got %u",
					 rows[r].hint, rows[r].count, i,
					 (start + i) % rows[r].count, got);
		}
	}
	for (uint32_t count = 2; count <= STEER_MAX_SLOTS; count++) {
		static bool seen[STEER_MAX_SLOTS];
		uint32_t n = 0;

		memset(seen, 0, sizeof(seen));
		for (uint32_t i = 0; i < steer_pick_steps(count); i++) {
			uint32_t slot = steer_pick_slot(0x9e3779b9u, count, i);

			assert_true(slot < count);
			if (i >= STEER_PICK_DRAWS && !seen[slot]) {
				seen[slot] = true;
				n++;
			}
		}
		assert_int_equal(n, count);
	}
}

/* The first routable slot of a pick, for a bank whose slots dead[] are
 * not routable. */
static uint32_t pick(uint32_t hint, uint32_t count, const bool *dead)
{
	for (uint32_t i = 0; i < steer_pick_steps(count); i++) {
		uint32_t slot = steer_pick_slot(hint, count, i);

		if (!dead[slot])
			return slot;
	}
	return UINT32_MAX;
}

/* One failure must not double one neighbour's load: with 1 of 3 slots dead
 * the other two split within 2% of even, for TCP's random hints and for
 * UDP's cookie hashes alike; with 2 of 4 dead as well. */
static void test_abi_an_unroutable_slot_spreads_its_share_evenly(void **state)
{
	static const struct {
		uint32_t count;
		bool dead[4];
	} banks[] = {
	    {3, {true, false, false}},
	    {3, {false, true, false}},
	    {4, {true, false, true, false}},
	};
	const uint32_t n = 60000;

	(void)state;
	for (size_t b = 0; b < sizeof(banks) / sizeof(banks[0]); b++) {
		uint32_t got[4] = {0}, alive = 0, x = 12345;

		for (uint32_t k = 0; k < n; k++) {
			x = x * 1664525u + 1013904223u; /* any spread of hints */
			got[pick(x, banks[b].count, banks[b].dead)]++;
		}
		for (uint32_t s = 0; s < banks[b].count; s++)
			alive += !banks[b].dead[s];
		for (uint32_t s = 0; s < banks[b].count; s++) {
			double share = (double)got[s] / n,
			       want = banks[b].dead[s] ? 0 : 1.0 / alive;

			if (share < want - 0.02 || share > want + 0.02)
				fail_msg("bank %zu slot %u: share %.3f, want %.3f +- 0.02", b, s,
					 share, want);
		}
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
	    cmocka_unit_test(test_abi_pick_ends_with_a_walk_over_every_slot),
	    cmocka_unit_test(test_abi_an_unroutable_slot_spreads_its_share_evenly),
	    cmocka_unit_test(test_abi_only_an_up_replica_of_the_vip_family_may_take),
	};

	return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
