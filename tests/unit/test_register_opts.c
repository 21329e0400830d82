/*
 * Unit tests for agent/registry/register_opts.c: `steer register`'s
 * arguments, and the key and value it keeps, which the agents' decoder
 * must accept as they are.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "registry/register_opts.h"
#include "registry/registry_decode.h"

static int parse(struct register_opts *o, char *err, const char *a0, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, a0);
	for (const char *a = a0; a && argc < 16; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	return register_opts_parse(argc, argv, o, err, 256);
}

static void test_register_key_and_value_decode_as_the_agents_read_them(void **state)
{
	struct register_opts o;
	char err[256], key[256], value[128], name[REGISTRY_NAME_MAX], addr[REGISTRY_ADDR_MAX];
	char line[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--service", "web", "--replica", "[fd00::1]:8080",
			       "--weight=3", "--zone", "a", NULL),
			 0);
	assert_int_equal(o.ttl_ms, REGISTER_TTL_MS_DEFAULT);
	assert_int_equal(register_key(&o, "/steer/", key, sizeof(key)), 0);
	assert_string_equal(key, "/steer/replicas/web/[fd00::1]:8080");
	assert_int_equal(register_value(&o, value, sizeof(value)), 0);
	assert_string_equal(value, "{\"weight\": 3, \"zone\": \"a\"}");
	assert_int_equal(registry_key_parse("/steer/", key, strlen(key), name, addr, err, 256),
			 REGISTRY_KEY_REPLICA);
	assert_string_equal(name, "web");
	assert_int_equal(
	    registry_replica_text(addr, value, strlen(value), line, sizeof(line), err, 256), 0);
	assert_string_equal(line, "replica = [fd00::1]:8080 weight=3 zone=a\n");

	assert_int_equal(parse(&o, err, "--replica", "127.0.0.1:80", "--service", "web", NULL), 0);
	assert_int_equal(register_value(&o, value, sizeof(value)), 0);
	assert_string_equal(value, "{}");
	assert_int_equal(
	    parse(&o, err, "--service", "w", "--replica", "127.0.0.1:80", "--zone", "b", NULL), 0);
	assert_int_equal(register_value(&o, value, sizeof(value)), 0);
	assert_string_equal(value, "{\"zone\": \"b\"}");
}

/* etcd's leases are whole seconds: the TTL is rounded up, never down. */
static void test_register_ttl_rounds_up_to_seconds(void **state)
{
	static const struct {
		const char *ms;
		int64_t s;
	} cases[] = {{"1000", 1}, {"1001", 2}, {"5000", 5}, {"2500", 3}, {"3600000", 3600}};
	struct register_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(&o, err, "--service", "w", "--replica", "127.0.0.1:80",
				       "--ttl-ms", cases[i].ms, NULL),
				 0);
		assert_int_equal(register_ttl_s(&o), cases[i].s);
	}
}

static void test_register_bad_arguments_are_named(void **state)
{
	static const struct {
		const char *a[6];
		const char *msg;
	} cases[] = {
	    {{"--replica", "127.0.0.1:80"}, "missing --service"},
	    {{"--service", "web"}, "missing --replica"},
	    {{"--service", "bad name", "--replica", "127.0.0.1:80"}, "--service 'bad name'"},
	    {{"--service", "w", "--replica", "127.0.0.1"}, "--replica '127.0.0.1'"},
	    {{"--service", "w", "--replica", "127.0.0.1:0"}, "--replica '127.0.0.1:0'"},
	    {{"--service", "w", "--replica", "1.2.3.4:5", "--ttl-ms", "999"},
	     "--ttl-ms '999': expected 1000-3600000"},
	    {{"--service", "w", "--replica", "1.2.3.4:5", "--weight", "0"}, "--weight '0'"},
	    {{"--service", "w", "--replica", "1.2.3.4:5", "--weight", "101"}, "--weight '101'"},
	    {{"--service", "w", "--replica", "1.2.3.4:5", "--zone", "a b"}, "--zone 'a b'"},
	    {{"--service", "w", "--replica", "1.2.3.4:5", "--color", "x"}, "'--color'"},
	    {{"--service", "w", "--replica", "1.2.3.4:5", "extra"}, "unexpected argument 'extra'"},
	    {{"--service"}, "'--service'"},
	};
	struct register_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6];
		int argc = 0;

		while (argc < 6 && cases[i].a[argc]) {
			argv[argc] = (char *)cases[i].a[argc];
			argc++;
		}
		assert_int_equal(register_opts_parse(argc, argv, &o, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' does not hold '%s'", i, err, cases[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_key_and_value_decode_as_the_agents_read_them),
	    cmocka_unit_test(test_register_ttl_rounds_up_to_seconds),
	    cmocka_unit_test(test_register_bad_arguments_are_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
