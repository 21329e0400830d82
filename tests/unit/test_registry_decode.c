/*
 * Unit tests for agent/registry/registry_decode.c: registry keys and JSON
 * values, as an etcd range or watch would hand them, become config text
 * that the config file's own parser accepts, and one bad key or value is
 * refused with a message naming it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "registry/registry_decode.h"

#define PREFIX "/steer/"

static enum registry_key_kind key(const char *k, char *name, char *addr, char *msg)
{
	return registry_key_parse(PREFIX, k, strlen(k), name, addr, msg, 256);
}

static void test_registry_keys_name_services_and_replicas(void **state)
{
	char name[REGISTRY_NAME_MAX], addr[REGISTRY_ADDR_MAX], msg[256];
	static const struct {
		const char *key;
		enum registry_key_kind kind;
		const char *name, *addr;
	} cases[] = {
	    {PREFIX "services/web", REGISTRY_KEY_SERVICE, "web", NULL},
	    {PREFIX "replicas/web/10.0.0.1:80", REGISTRY_KEY_REPLICA, "web", "10.0.0.1:80"},
	    {PREFIX "replicas/web/[fd00::1]:80", REGISTRY_KEY_REPLICA, "web", "[fd00::1]:80"},
	    {"/other/services/web", REGISTRY_KEY_OTHER, NULL, NULL},
	    {PREFIX "leases/x", REGISTRY_KEY_OTHER, NULL, NULL},
	    {PREFIX "services/", REGISTRY_KEY_BAD, NULL, NULL},
	    {PREFIX "services/a/b", REGISTRY_KEY_BAD, NULL, NULL},
	    {PREFIX "services/bad name", REGISTRY_KEY_BAD, NULL, NULL},
	    {PREFIX "replicas/web", REGISTRY_KEY_BAD, NULL, NULL},
	    {PREFIX "replicas/web/", REGISTRY_KEY_BAD, NULL, NULL},
	    {PREFIX "replicas/web/10.0.0.1:80\nx", REGISTRY_KEY_BAD, NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum registry_key_kind k = key(cases[i].key, name, addr, msg);

		assert_int_equal(k, cases[i].kind);
		if (cases[i].name)
			assert_string_equal(name, cases[i].name);
		if (cases[i].addr)
			assert_string_equal(addr, cases[i].addr);
		if (k == REGISTRY_KEY_BAD)
			assert_non_null(strstr(msg, "key '"));
	}
}

/* A service and two replicas, decoded, parse as the file would. */
static void test_registry_values_parse_as_a_config_section(void **state)
{
	const char *svc = "{\"vip\": \"127.77.0.1:8080\", \"protocol\": \"tcp\", "
			  "\"health\": \"http /healthz\", \"retry_max_backoff_ms\": 2000, "
			  "\"retry_backoff_multiplier\": 1.5, \"policy\": \"random\"}";
	const char *rep = "{\"weight\": 3, \"zone\": \"a\"}";
	char text[REGISTRY_LINES_MAX], line[256], msg[256];
	struct steer_config *cfg = config_new();
	char err[512];

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(
	    registry_service_text("web", svc, strlen(svc), text, sizeof(text), msg, sizeof(msg)),
	    0);
	assert_int_equal(registry_replica_text("127.0.0.1:9001", rep, strlen(rep), line,
					       sizeof(line), msg, sizeof(msg)),
			 0);
	assert_string_equal(line, "replica = 127.0.0.1:9001 weight=3 zone=a\n");
	strcat(text, line);
	assert_int_equal(
	    registry_replica_text("127.0.0.1:9002", "{}", 2, line, sizeof(line), msg, sizeof(msg)),
	    0);
	strcat(text, line);
	assert_int_equal(config_parse_string(text, "registry", cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->nservices, 1);
	assert_string_equal(cfg->services[0].name, "web");
	assert_int_equal(cfg->services[0].vip.port, 8080);
	assert_int_equal(cfg->services[0].nreplicas, 2);
	assert_int_equal(cfg->services[0].ropts[0].weight, 3);
	assert_string_equal(cfg->services[0].ropts[0].zone, "a");
	assert_int_equal(cfg->services[0].ropts[1].weight, 1);
	config_free(cfg);
}

/* Each bad value is refused alone, and the message names the member and
 * the value. */
static void test_registry_bad_values_are_named(void **state)
{
	static const struct {
		const char *json, *says;
	} services[] = {
	    {"{\"vip\": ", "not JSON"},
	    {"[1, 2]", "expected a JSON object"},
	    {"{\"vip\": true}", "\"vip\": expected a string or a number"},
	    {"{\"vip\": \"1.2.3.4:80\\nreplica = 6.6.6.6:80\"}", "\"vip\": \"1.2.3.4:80"},
	    {"{\"vip\": \"1.2.3.4:80 ; x\"}", "without ';' or '#'"},
	    {"{\"replica\": \"1.2.3.4:80\"}", "replicas are keys of their own"},
	    {"{\"Vip\": \"1.2.3.4:80\"}", "\"Vip\": not a key"},
	    {"{\"vip\": \"1.2.3.4:80\", \"vip\": \"1.2.3.5:80\"}", "not JSON"},
	};
	static const struct {
		const char *json, *says;
	} replicas[] = {
	    {"{\"weight\": \"3 zone=b\"}", "no blanks"},
	    {"{\"port\": 80}", "\"port\": not a replica option"},
	    {"{\"zone\": [1]}", "\"zone\": expected a string or a number"},
	    {"nope", "not JSON"},
	};
	char out[REGISTRY_LINES_MAX], msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		assert_int_equal(registry_service_text("web", services[i].json,
						       strlen(services[i].json), out, sizeof(out),
						       msg, sizeof(msg)),
				 -1);
		if (!strstr(msg, services[i].says))
			fail_msg("service value %s: message '%s' lacks '%s'", services[i].json, msg,
				 services[i].says);
	}
	for (size_t i = 0; i < sizeof(replicas) / sizeof(replicas[0]); i++) {
		assert_int_equal(registry_replica_text("10.0.0.1:80", replicas[i].json,
						       strlen(replicas[i].json), out, sizeof(out),
						       msg, sizeof(msg)),
				 -1);
		if (!strstr(msg, replicas[i].says))
			fail_msg("replica value %s: message '%s' lacks '%s'", replicas[i].json, msg,
				 replicas[i].says);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry_keys_name_services_and_replicas),
	    cmocka_unit_test(test_registry_values_parse_as_a_config_section),
	    cmocka_unit_test(test_registry_bad_values_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
