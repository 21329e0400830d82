/*
 * Unit tests for agent/registry/registry_store.c: recorded listings and
 * watch events go in, the config that reconcile would apply comes out; one
 * bad key is logged once, naming it and its value, and costs nothing else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/env.h"
#include "lib/log.h"
#include "registry/registry_store.h"

#define P "/steer/"

struct fixture {
	struct registry_store *s;
	struct steer_env env;
	struct steer_config *cfg;
	char *log;
	size_t loglen;
	FILE *logf;
	int64_t rev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *const envp[] = {NULL};
	char err[256];

	assert_non_null(f);
	f->s = registry_store_new(P);
	f->cfg = config_new();
	/* The limits the tests' numbers are written for. */
	steer_limits_set(
	    &(struct steer_limits){.services = 256, .replicas_per_service = 64, .replicas = 4096});
	assert_int_equal(env_load(&f->env, envp, NULL, err, sizeof(err)), 0);
	f->logf = open_memstream(&f->log, &f->loglen);
	log_set_stream(f->logf);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	log_set_stream(NULL);
	fclose(f->logf);
	free(f->log);
	config_free(f->cfg);
	registry_store_free(f->s);
	free(f);
	return 0;
}

static bool put(struct fixture *f, const char *key, const char *value)
{
	return registry_store_put(f->s, key, strlen(key), value, strlen(value), ++f->rev);
}

static bool del(struct fixture *f, const char *key)
{
	f->rev++;
	return registry_store_delete(f->s, key, strlen(key));
}

static void build(struct fixture *f, const char *file)
{
	char err[512];

	assert_int_equal(
	    registry_store_build(f->s, file, "steer.ini", &f->env, f->cfg, err, sizeof(err)), 0);
	registry_store_applied(f->s);
}

/* How often needle is in what was logged. */
static int logged(struct fixture *f, const char *needle)
{
	int n = 0;

	fflush(f->logf);
	for (const char *p = f->log; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void registry_counts_check(struct fixture *f, int skipped)
{
	struct registry_counts c;

	registry_store_counts(f->s, &c);
	assert_int_equal(c.skipped, skipped);
}

static const struct svc_config *svc(struct fixture *f, const char *name)
{
	for (int i = 0; i < f->cfg->nservices; i++)
		if (!strcmp(f->cfg->services[i].name, name))
			return &f->cfg->services[i];
	return NULL;
}

#define WEB "{\"vip\": \"127.77.0.1:80\", \"protocol\": \"tcp\", \"health\": \"none\"}"
#define DNS "{\"vip\": \"127.77.0.2:53\", \"protocol\": \"udp\"}"

static void test_store_builds_services_with_their_replicas(void **state)
{
	struct fixture *f = *state;
	struct registry_counts c;

	assert_true(put(f, P "services/web", WEB));
	assert_true(put(f, P "replicas/web/127.0.0.1:9002", "{\"weight\": 2}"));
	assert_true(put(f, P "replicas/web/127.0.0.1:9001", "{}"));
	assert_true(put(f, P "services/dns", DNS));
	assert_false(put(f, "/other/services/x", WEB)); /* not under the prefix */
	assert_false(put(f, P "leases/x", "{}"));	/* not steer's */
	build(f, NULL);
	assert_int_equal(f->cfg->nservices, 2);
	assert_non_null(svc(f, "web"));
	assert_int_equal(svc(f, "web")->nreplicas, 2);
	/* replicas in key order, whatever order they came in */
	assert_int_equal(svc(f, "web")->replicas[0].port, 9001);
	assert_int_equal(svc(f, "web")->ropts[1].weight, 2);
	assert_int_equal(svc(f, "dns")->nreplicas, 0);
	registry_store_counts(f->s, &c);
	assert_int_equal(c.services, 2);
	assert_int_equal(c.replicas, 2);
	assert_int_equal(c.skipped, 0);
}

/* A replica that arrives before its service waits for it; a service key
 * deleted keeps its replicas' keys for when it comes back. */
static void test_store_replicas_wait_for_their_service(void **state)
{
	struct fixture *f = *state;

	put(f, P "replicas/web/127.0.0.1:9001", "{}");
	build(f, NULL);
	assert_int_equal(f->cfg->nservices, 0);
	assert_true(put(f, P "services/web", WEB));
	build(f, NULL);
	assert_int_equal(svc(f, "web")->nreplicas, 1);
	assert_true(del(f, P "services/web"));
	build(f, NULL);
	assert_int_equal(f->cfg->nservices, 0);
	put(f, P "services/web", WEB);
	build(f, NULL);
	assert_int_equal(svc(f, "web")->nreplicas, 1);
	assert_true(del(f, P "replicas/web/127.0.0.1:9001"));
	assert_false(del(f, P "replicas/web/127.0.0.1:9001"));
	build(f, NULL);
	assert_int_equal(svc(f, "web")->nreplicas, 0);
}

/* Bad JSON in one key: logged once with the key and the value's problem;
 * the key keeps its last good value, the others are applied. */
static void test_store_bad_json_keeps_last_good_value_and_logs_once(void **state)
{
	struct fixture *f = *state;
	struct registry_counts c;

	put(f, P "services/web", WEB);
	put(f, P "replicas/web/127.0.0.1:9001", "{\"weight\": 3}");
	build(f, NULL);
	assert_false(put(f, P "replicas/web/127.0.0.1:9001", "{\"weight\": 3"));
	assert_true(put(f, P "replicas/web/127.0.0.1:9002", "{}"));
	assert_false(put(f, P "replicas/web/127.0.0.1:9003", "[]"));
	build(f, NULL);
	assert_int_equal(svc(f, "web")->nreplicas, 2);
	assert_int_equal(svc(f, "web")->ropts[0].weight, 3);
	assert_int_equal(logged(f, "key '" P "replicas/web/127.0.0.1:9001': not JSON"), 1);
	assert_int_equal(logged(f, "it keeps its last good value"), 1);
	assert_int_equal(logged(f, "key '" P "replicas/web/127.0.0.1:9003': expected a JSON "
				   "object; skipped"),
			 1);
	/* A re-list of the same revisions logs nothing new. */
	registry_store_list_begin(f->s);
	registry_store_put(f->s, P "services/web", strlen(P "services/web"), WEB, strlen(WEB), 1);
	registry_store_put(f->s, P "replicas/web/127.0.0.1:9003",
			   strlen(P "replicas/web/127.0.0.1:9003"), "[]", 2, 5);
	registry_store_list_end(f->s);
	build(f, NULL);
	assert_int_equal(logged(f, "127.0.0.1:9003"), 1);
	/* the listing did not hold 9001 and 9002: gone */
	assert_int_equal(svc(f, "web")->nreplicas, 0);
	registry_store_counts(f->s, &c);
	assert_int_equal(c.skipped, 1);
}

/* A value the config's rules refuse (here a bad VIP, a replica weight out
 * of range) is named in the log and left out; a service refused takes its
 * replicas with it, and the other services are applied. */
static void test_store_value_the_config_refuses_is_skipped_alone(void **state)
{
	struct fixture *f = *state;

	put(f, P "services/web", WEB);
	put(f, P "replicas/web/127.0.0.1:9001", "{\"weight\": 101}");
	put(f, P "replicas/web/127.0.0.1:9002", "{}");
	put(f, P "services/bad", "{\"vip\": \"nonsense\"}");
	put(f, P "replicas/bad/127.0.0.1:9003", "{}");
	put(f, P "services/dns", DNS);
	build(f, NULL);
	assert_int_equal(f->cfg->nservices, 2);
	assert_null(svc(f, "bad"));
	assert_int_equal(svc(f, "web")->nreplicas, 1);
	assert_int_equal(svc(f, "web")->replicas[0].port, 9002);
	assert_int_equal(logged(f, "key '" P "services/bad': vip: bad address 'nonsense'"), 1);
	assert_int_equal(logged(f, "skipped, with its replicas"), 1);
	assert_int_equal(logged(f, "key '" P "replicas/web/127.0.0.1:9001': "), 1);
	assert_int_equal(logged(f, "weight=101"), 1);
}

/* A service whose new value the rules refuse keeps the value last applied. */
static void test_store_refused_change_keeps_last_applied_value(void **state)
{
	struct fixture *f = *state;

	put(f, P "services/web", WEB);
	build(f, NULL);
	put(f, P "services/web",
	    "{\"vip\": \"127.77.0.1:80\", \"protocol\": \"tcp\", \"health_rise\": 0}");
	build(f, NULL);
	assert_non_null(svc(f, "web"));
	assert_int_equal(logged(f, "it keeps its last applied value"), 1);
}

/* Two services on one VIP: the running one stays, whatever the names'
 * order; of two new ones, the later in name order is refused. */
static void test_store_duplicate_vip_refuses_the_newer_key(void **state)
{
	struct fixture *f = *state;

	put(f, P "services/web", WEB);
	put(f, P "replicas/web/127.0.0.1:9001", "{}");
	build(f, NULL);
	put(f, P "services/aaa", WEB);
	build(f, NULL);
	assert_int_equal(f->cfg->nservices, 1);
	assert_non_null(svc(f, "web"));
	assert_int_equal(svc(f, "web")->nreplicas, 1);
	assert_int_equal(logged(f, "key '" P "services/aaa': "), 1);
	put(f, P "services/b", WEB);
	put(f, P "services/c", WEB);
	build(f, NULL);
	assert_non_null(svc(f, "web"));
	assert_int_equal(f->cfg->nservices, 1);
}

/* The file and the registry merge; a name in both keeps the file's, and
 * the registry's key is refused with a message saying so. */
static void test_store_merges_with_the_file_and_refuses_a_clash(void **state)
{
	struct fixture *f = *state;
	const char *file = "[service web]\nvip = 127.77.0.9:80\nreplica = 127.0.0.1:7000\n";

	put(f, P "services/web", WEB);
	put(f, P "replicas/web/127.0.0.1:9001", "{}");
	put(f, P "services/dns", DNS);
	build(f, file);
	assert_int_equal(f->cfg->nservices, 2);
	assert_int_equal(svc(f, "web")->vip.port, 80);
	assert_int_equal(svc(f, "web")->nreplicas, 1);
	assert_int_equal(svc(f, "web")->replicas[0].port, 7000);
	assert_non_null(svc(f, "dns"));
	assert_int_equal(logged(f, "key '" P "services/web': the config file has a [service] of "
				   "that name too"),
			 1);
	assert_int_equal(logged(f, "key '" P "replicas/web/127.0.0.1:9001': the service is the "
				   "config file's"),
			 1);
	registry_counts_check(f, 2);
	/* a registry service on the file's VIP is refused, the file's kept */
	put(f, P "services/clash", "{\"vip\": \"127.77.0.9:80\"}");
	build(f, file);
	assert_null(svc(f, "clash"));
	assert_int_equal(logged(f, "key '" P "services/clash': "), 1);
}

/* A replica of the file's service, with no services/ key of its own, is
 * counted as skipped as well. */
static void test_store_counts_replicas_of_a_file_service(void **state)
{
	struct fixture *f = *state;
	struct registry_counts c;

	put(f, P "replicas/web/127.0.0.1:9001", "{}");
	build(f, "[service web]\nvip = 127.77.0.9:80\n");
	registry_store_counts(f->s, &c);
	assert_int_equal(c.skipped, 1);
	assert_int_equal(svc(f, "web")->nreplicas, 0);
}

/* Past the maps' replica ids, the replicas last in build order are left
 * out, logged, and the rest applied: never the whole change refused. */
static void test_store_replicas_past_the_limit_are_skipped_alone(void **state)
{
	struct fixture *f = *state;
	struct registry_counts c;
	char key[128], value[128];
	int total = 0;

	for (int i = 0; i < 70; i++) {
		snprintf(key, sizeof(key), P "services/s%02d", i);
		snprintf(value, sizeof(value),
			 "{\"vip\": \"127.78.%d.1:80\", \"health\": \"none\"}", i);
		put(f, key, value);
		for (int r = 0; r < 60; r++) {
			snprintf(key, sizeof(key), P "replicas/s%02d/127.0.%d.%d:80", i, i, r + 1);
			put(f, key, "{}");
		}
	}
	build(f, NULL);
	for (int i = 0; i < f->cfg->nservices; i++)
		total += f->cfg->services[i].nreplicas;
	assert_int_equal(f->cfg->nservices, 70);
	assert_int_equal(total, 4096);
	registry_store_counts(f->s, &c);
	assert_int_equal(c.skipped, 70 * 60 - 4096);
	assert_int_equal(logged(f, "replicas in all (limit STEER_MAX_REPLICAS="), 70 * 60 - 4096);
}

/* A malformed key name is logged once and ignored. */
static void test_store_bad_key_name_is_logged_once(void **state)
{
	struct fixture *f = *state;

	assert_false(registry_store_put(f->s, P "services/bad name", strlen(P "services/bad name"),
					WEB, strlen(WEB), 7));
	assert_false(registry_store_put(f->s, P "services/bad name", strlen(P "services/bad name"),
					WEB, strlen(WEB), 7));
	assert_int_equal(logged(f, "key '" P "services/bad name'"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_builds_services_with_their_replicas, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_store_replicas_wait_for_their_service, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_store_bad_json_keeps_last_good_value_and_logs_once,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_value_the_config_refuses_is_skipped_alone,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_refused_change_keeps_last_applied_value,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_duplicate_vip_refuses_the_newer_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_store_merges_with_the_file_and_refuses_a_clash,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_counts_replicas_of_a_file_service, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_store_replicas_past_the_limit_are_skipped_alone,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_bad_key_name_is_logged_once, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
