/*
 * Unit tests for agent/xdp/tables.c against the in-memory maps: the Maglev
 * table of a bank follows the routable replicas, and a change of the
 * routable set reaches the datapath only through the idle bank and a flip.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "lib/addr.h"
#include "maps/keys.h"
#include "xdp/tables.h"
#include "mem_maps.h"

#define SIZE 251 /* the smallest table: quick, and enough to count shares */

struct world {
	struct mem_maps *m;
	struct map_ops ops;
	struct endpoint vip, rep[3];
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char err[128];

	assert_non_null(w);
	w->m = mem_maps_new();
	assert_non_null(w->m);
	w->m->xdp = true;
	w->ops = mem_maps_ops(w->m);
	assert_int_equal(endpoint_parse("198.18.100.1:80", &w->vip, err, sizeof(err)), 0);
	assert_int_equal(endpoint_parse("198.18.2.2:80", &w->rep[0], err, sizeof(err)), 0);
	assert_int_equal(endpoint_parse("198.18.2.3:80", &w->rep[1], err, sizeof(err)), 0);
	assert_int_equal(endpoint_parse("198.18.2.4:80", &w->rep[2], err, sizeof(err)), 0);
	mem_maps_add_service(w->m, 0, &w->vip, IPPROTO_TCP, w->rep, 3, 10, STEER_REPLICA_UP);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	mem_maps_free(w->m);
	free(w);
	return 0;
}

/* How many entries of the bank's table name replica id. */
static int share(const struct world *w, uint32_t bank, uint32_t id)
{
	const uint32_t *t = w->m->maglev[steer_bank_index(0, bank)];
	int n = 0;

	for (uint32_t i = 0; t && i < SIZE; i++)
		n += (t[i] & STEER_MAGLEV_ID_MASK) == id;
	return n;
}

static void test_stage_builds_the_table_over_up_replicas(void **state)
{
	struct world *w = *state;

	w->m->replicas[11].state = STEER_REPLICA_DOWN;
	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	assert_int_equal(w->m->xdp_banks[0].maglev_size, SIZE);
	assert_int_equal(share(w, 0, 11), 0);
	assert_int_equal(share(w, 0, 10) + share(w, 0, 12), SIZE);
	assert_in_range(share(w, 0, 10), SIZE / 2 - 2, SIZE / 2 + 2);
}

static void test_stage_marks_replicas_on_this_node_local(void **state)
{
	struct world *w = *state;

	mem_maps_backend(w->m, &w->rep[0])->local = 1;
	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	for (uint32_t i = 0; i < SIZE; i++) {
		uint32_t e = w->m->maglev[0][i];

		assert_int_equal(!!(e & STEER_MAGLEV_F_LOCAL), (e & STEER_MAGLEV_ID_MASK) == 10);
	}
}

static void test_no_routable_replica_leaves_no_table(void **state)
{
	struct world *w = *state;

	for (int r = 10; r < 13; r++)
		w->m->replicas[r].state = STEER_REPLICA_UNKNOWN;
	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	assert_int_equal(w->m->xdp_banks[0].maglev_size, 0);
	assert_null(w->m->maglev[0]);
}

static void test_ejected_backend_is_left_out(void **state)
{
	struct world *w = *state;

	mem_maps_backend(w->m, &w->rep[2])->ejected_ns = 1;
	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	assert_int_equal(share(w, 0, 12), 0);
}

static void test_sync_flips_once_when_the_routable_set_changes(void **state)
{
	struct world *w = *state;
	char err[256];

	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	assert_int_equal(xdp_tables_sync(&w->ops, SIZE, err, sizeof(err)), 0); /* current */
	assert_int_equal(w->m->svc_val[0].bank, 0);

	w->m->replicas[11].state = STEER_REPLICA_DOWN;
	assert_int_equal(xdp_tables_sync(&w->ops, SIZE, err, sizeof(err)), 1);
	assert_int_equal(w->m->svc_val[0].bank, 1);
	assert_int_equal(share(w, 1, 11), 0);
	/* The socket hooks see the same slots in the new bank. */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(
		    w->m->slots[w->m->ranges[steer_bank_index(0, 1)].base + i].replica_id, 10 + i);
	/* The old bank's table is untouched (a reader may still hold it). */
	assert_true(share(w, 0, 11) > 0);
	assert_int_equal(xdp_tables_sync(&w->ops, SIZE, err, sizeof(err)), 0);
}

static void test_sync_keeps_other_replicas_entries(void **state)
{
	struct world *w = *state;
	char err[256];
	int moved = 0;

	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	w->m->replicas[12].state = STEER_REPLICA_DOWN;
	assert_int_equal(xdp_tables_sync(&w->ops, SIZE, err, sizeof(err)), 1);
	for (uint32_t i = 0; i < SIZE; i++)
		if ((w->m->maglev[0][i] & STEER_MAGLEV_ID_MASK) != 12)
			moved += w->m->maglev[0][i] != w->m->maglev[1][i];
	/* Maglev moves few of the others' entries (a few % of a small table;
	 * the flow table keeps established flows where they are anyway). */
	assert_in_range(moved, 0, SIZE * 3 / 100);
}

static void test_without_xdp_maps_nothing_is_written(void **state)
{
	struct world *w = *state;
	char err[256];

	w->m->xdp = false;
	assert_int_equal(xdp_table_stage(&w->ops, &w->m->svc_key[0], 0, 0, 3, SIZE), 0);
	w->m->replicas[11].state = STEER_REPLICA_DOWN;
	assert_int_equal(xdp_tables_sync(&w->ops, SIZE, err, sizeof(err)), 0);
	assert_int_equal(w->m->maglev_writes, 0);
	assert_int_equal(w->m->svc_val[0].bank, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stage_builds_the_table_over_up_replicas, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stage_marks_replicas_on_this_node_local, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_no_routable_replica_leaves_no_table, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ejected_backend_is_left_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_flips_once_when_the_routable_set_changes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_keeps_other_replicas_entries, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_without_xdp_maps_nothing_is_written, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
