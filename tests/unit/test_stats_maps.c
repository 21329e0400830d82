/*
 * The per-service stats maps against real kernel maps (bpf_map_create, no
 * program, no pin): the map layer's hashes (a zero write deletes, a missing
 * entry reads as zero, svc_stats_reset deletes) and the copy of an older
 * version's arrays (stats_copy_v1). Without root every case is skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "maps/map_fds.h"
#include "maps/stats_upgrade.h"
#include "bpf/steer_abi.h"

static struct {
	struct map_fds fds;
	struct map_ops ops;
	int v1_hold, v1_relay, v1_check;
	const char *why_skipped;
} W;

static int make_map(enum bpf_map_type type, uint32_t value_size, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd =
	    bpf_map_create(type, NULL, sizeof(uint32_t), value_size, STEER_MAX_SERVICES, &opts);

	if (fd < 0)
		fprintf(stderr, "bpf_map_create: %s\n", strerror(errno));
	return fd;
}

static int make_hash(uint32_t value_size)
{
	return make_map(BPF_MAP_TYPE_HASH, value_size, BPF_F_NO_PREALLOC);
}

static int setup(void **state)
{
	(void)state;
	map_fds_init(&W.fds);
	W.v1_hold = W.v1_relay = W.v1_check = -1;
	if (geteuid() != 0) {
		W.why_skipped = "not root";
		return 0;
	}
	W.fds.hold_stats = make_hash(sizeof(struct steer_hold_stats));
	W.fds.relay_stats = make_hash(sizeof(struct steer_relay_stats));
	W.fds.check_stats = make_hash(sizeof(struct steer_check_stats));
	W.fds.svc_stats = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct steer_svc_stats), 0);
	W.v1_hold = make_map(BPF_MAP_TYPE_ARRAY, sizeof(struct steer_hold_stats), 0);
	W.v1_relay = make_map(BPF_MAP_TYPE_ARRAY, sizeof(struct steer_relay_stats), 0);
	W.v1_check = make_map(BPF_MAP_TYPE_ARRAY, sizeof(struct steer_check_stats), 0);
	if (W.fds.hold_stats < 0 || W.fds.relay_stats < 0 || W.fds.check_stats < 0 ||
	    W.fds.svc_stats < 0 || W.v1_hold < 0 || W.v1_relay < 0 || W.v1_check < 0)
		return -1;
	map_ops_init(&W.ops, &W.fds);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	map_fds_close(&W.fds);
	if (W.v1_hold >= 0)
		close(W.v1_hold);
	if (W.v1_relay >= 0)
		close(W.v1_relay);
	if (W.v1_check >= 0)
		close(W.v1_check);
	return 0;
}

/* Each case starts with empty hashes. */
static int fresh(void **state)
{
	int fds[] = {W.fds.hold_stats, W.fds.relay_stats, W.fds.check_stats};

	(void)state;
	if (W.why_skipped)
		return 0;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		uint32_t key;

		while (bpf_map_get_next_key(fds[i], NULL, &key) == 0)
			bpf_map_delete_elem(fds[i], &key);
	}
	return 0;
}

#define SKIP_WITHOUT_ROOT()                                                                        \
	do {                                                                                       \
		if (W.why_skipped) {                                                               \
			fprintf(stderr, "skipped: %s\n", W.why_skipped);                           \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static uint32_t entries(int fd)
{
	uint32_t key, n = 0;
	const uint32_t *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		static uint32_t last;

		last = key;
		prev = &last;
		n++;
	}
	return n;
}

static void test_stats_missing_entry_reads_as_zero_with_enoent(void **state)
{
	static const struct steer_hold_stats zero;
	struct steer_hold_stats h;

	(void)state;
	SKIP_WITHOUT_ROOT();
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(W.ops.hold_stats_get(W.ops.ctx, 7, &h), -ENOENT);
	assert_memory_equal(&h, &zero, sizeof(h));
}

static void test_stats_nonzero_put_creates_and_zero_put_deletes(void **state)
{
	struct steer_check_stats c = {.checks = 3}, got;

	(void)state;
	SKIP_WITHOUT_ROOT();
	assert_int_equal(W.ops.check_stats_put(W.ops.ctx, 5, &c), 0);
	assert_int_equal(entries(W.fds.check_stats), 1);
	assert_int_equal(W.ops.check_stats_get(W.ops.ctx, 5, &got), 0);
	assert_int_equal(got.checks, 3);
	memset(&c, 0, sizeof(c));
	assert_int_equal(W.ops.check_stats_put(W.ops.ctx, 5, &c), 0);
	assert_int_equal(entries(W.fds.check_stats), 0);
	/* A zero put where there is no entry is no error. */
	assert_int_equal(W.ops.check_stats_put(W.ops.ctx, 5, &c), 0);
}

static void test_stats_zero_puts_of_idle_services_create_nothing(void **state)
{
	static const struct steer_hold_stats zero_hold;
	static const struct steer_relay_stats zero_relay;

	(void)state;
	SKIP_WITHOUT_ROOT();
	for (uint32_t id = 0; id < STEER_MAX_SERVICES; id++) {
		assert_int_equal(W.ops.hold_stats_put(W.ops.ctx, id, &zero_hold), 0);
		assert_int_equal(W.ops.relay_stats_put(W.ops.ctx, id, &zero_relay), 0);
	}
	assert_int_equal(entries(W.fds.hold_stats), 0);
	assert_int_equal(entries(W.fds.relay_stats), 0);
}

static void test_stats_svc_reset_deletes_the_services_entries(void **state)
{
	struct steer_hold_stats h = {.served = 1};
	struct steer_relay_stats r = {.started = 1};
	struct steer_check_stats c = {.checks = 1};

	(void)state;
	SKIP_WITHOUT_ROOT();
	assert_int_equal(W.ops.hold_stats_put(W.ops.ctx, 2, &h), 0);
	assert_int_equal(W.ops.relay_stats_put(W.ops.ctx, 2, &r), 0);
	assert_int_equal(W.ops.check_stats_put(W.ops.ctx, 2, &c), 0);
	assert_int_equal(W.ops.hold_stats_put(W.ops.ctx, 3, &h), 0);
	assert_int_equal(W.ops.svc_stats_reset(W.ops.ctx, 2), 0);
	assert_int_equal(W.ops.hold_stats_get(W.ops.ctx, 2, &h), -ENOENT);
	assert_int_equal(W.ops.relay_stats_get(W.ops.ctx, 2, &r), -ENOENT);
	assert_int_equal(W.ops.check_stats_get(W.ops.ctx, 2, &c), -ENOENT);
	assert_int_equal(W.ops.hold_stats_get(W.ops.ctx, 3, &h), 0); /* another id: kept */
}

static void v1_put(int fd, uint32_t id, const void *val)
{
	assert_int_equal(bpf_map_update_elem(fd, &id, val, BPF_ANY), 0);
}

static void test_stats_copy_v1_carries_nonzero_entries_only(void **state)
{
	struct steer_check_stats c = {.checks = 1234, .ejections = {0, 9, 0, 0}}, got;
	static const struct steer_check_stats zero;

	(void)state;
	SKIP_WITHOUT_ROOT();
	v1_put(W.v1_check, 0, &c);
	v1_put(W.v1_check, STEER_MAX_SERVICES - 1, &c);
	v1_put(W.v1_check, 1, &zero);
	assert_int_equal(stats_copy_v1(W.v1_check, W.fds.check_stats, sizeof(c), STATS_KEEP_ALL),
			 2);
	assert_int_equal(entries(W.fds.check_stats), 2);
	assert_int_equal(W.ops.check_stats_get(W.ops.ctx, STEER_MAX_SERVICES - 1, &got), 0);
	assert_memory_equal(&got, &c, sizeof(c));
	v1_put(W.v1_check, 0, &zero);
	v1_put(W.v1_check, STEER_MAX_SERVICES - 1, &zero);
}

static void test_stats_copy_v1_restarts_held_now(void **state)
{
	struct steer_hold_stats only_held = {.held_now = 4}, some = {.held_now = 2, .served = 6};
	struct steer_hold_stats got;
	static const struct steer_hold_stats zero;

	(void)state;
	SKIP_WITHOUT_ROOT();
	v1_put(W.v1_hold, 1, &only_held);
	v1_put(W.v1_hold, 2, &some);
	assert_int_equal(stats_copy_v1(W.v1_hold, W.fds.hold_stats, sizeof(some),
				       offsetof(struct steer_hold_stats, held_now)),
			 1);
	assert_int_equal(W.ops.hold_stats_get(W.ops.ctx, 1, &got), -ENOENT);
	assert_int_equal(W.ops.hold_stats_get(W.ops.ctx, 2, &got), 0);
	assert_int_equal(got.held_now, 0);
	assert_int_equal(got.served, 6);
	v1_put(W.v1_hold, 1, &zero);
	v1_put(W.v1_hold, 2, &zero);
}

static void test_stats_copy_v1_never_replaces_a_newer_entry(void **state)
{
	struct steer_relay_stats old = {.started = 3}, newer = {.started = 10}, got;
	static const struct steer_relay_stats zero;

	(void)state;
	SKIP_WITHOUT_ROOT();
	v1_put(W.v1_relay, 4, &old);
	assert_int_equal(W.ops.relay_stats_put(W.ops.ctx, 4, &newer), 0);
	assert_int_equal(stats_copy_v1(W.v1_relay, W.fds.relay_stats, sizeof(old),
				       offsetof(struct steer_relay_stats, open)),
			 0);
	assert_int_equal(W.ops.relay_stats_get(W.ops.ctx, 4, &got), 0);
	assert_int_equal(got.started, 10);
	v1_put(W.v1_relay, 4, &zero);
}

static void test_stats_copy_v1_refuses_another_layout(void **state)
{
	(void)state;
	SKIP_WITHOUT_ROOT();
	/* The relay array (48-byte values) is not a hold stats array. */
	assert_int_equal(stats_copy_v1(W.v1_relay, W.fds.hold_stats,
				       sizeof(struct steer_hold_stats), STATS_KEEP_ALL),
			 -EINVAL);
	/* A hash is not an array of every id. */
	assert_int_equal(stats_copy_v1(W.fds.relay_stats, W.fds.relay_stats,
				       sizeof(struct steer_relay_stats), STATS_KEEP_ALL),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_stats_missing_entry_reads_as_zero_with_enoent, fresh),
	    cmocka_unit_test_setup(test_stats_nonzero_put_creates_and_zero_put_deletes, fresh),
	    cmocka_unit_test_setup(test_stats_zero_puts_of_idle_services_create_nothing, fresh),
	    cmocka_unit_test_setup(test_stats_svc_reset_deletes_the_services_entries, fresh),
	    cmocka_unit_test_setup(test_stats_copy_v1_carries_nonzero_entries_only, fresh),
	    cmocka_unit_test_setup(test_stats_copy_v1_restarts_held_now, fresh),
	    cmocka_unit_test_setup(test_stats_copy_v1_never_replaces_a_newer_entry, fresh),
	    cmocka_unit_test_setup(test_stats_copy_v1_refuses_another_layout, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
