/* Unit tests for agent/config.c: the [service NAME] topology file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "agent/config.h"

/* struct steer_config is ~400 KiB: one heap copy per test, never the stack. */
static int setup(void **state)
{
	*state = calloc(2, sizeof(struct steer_config));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static char err[1024];

static int parse(struct steer_config *cfg, const char *text)
{
	err[0] = '\0';
	return config_parse_string(text, "t.ini", cfg, err, sizeof(err));
}

static void assert_ep(const struct endpoint *got, const char *want)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(endpoint_format(got, buf, sizeof(buf)), want);
}

static const char good_file[] = "; steer topology\n"
				"# both comment styles\n"
				"\n"
				"[service web]\n"
				"vip = 10.96.0.1:80   ; the web VIP\n"
				"replica = 10.0.0.1:8080\n"
				"  replica=10.0.0.2:8080 # indented, not a continuation\n"
				"\treplica :10.0.0.3:8080\n"
				"\n"
				"[ service dns.v6-1 ]\r\n"
				"protocol = udp\r\n"
				"vip = [fd00::53]:53\r\n"
				"replica = [fd00::1]:5353\r\n"
				"[service empty_one]\n"
				"vip = 10.96.0.1:80\n"
				"protocol = udp\n";

static void test_config_parses_good_file(void **state)
{
	struct steer_config *cfg = *state;
	const struct svc_config *s;

	assert_int_equal(parse(cfg, good_file), 0);
	assert_string_equal(err, "");
	assert_int_equal(cfg->nservices, 3);

	s = &cfg->services[0];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->line, 4);
	assert_ep(&s->vip, "10.96.0.1:80");
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->nreplicas, 3);
	assert_ep(&s->replicas[0], "10.0.0.1:8080");
	assert_ep(&s->replicas[1], "10.0.0.2:8080");
	assert_ep(&s->replicas[2], "10.0.0.3:8080");

	s = &cfg->services[1];
	assert_string_equal(s->name, "dns.v6-1");
	assert_int_equal(s->line, 10);
	assert_ep(&s->vip, "[fd00::53]:53");
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->nreplicas, 1);
	assert_ep(&s->replicas[0], "[fd00::1]:5353");

	/* same VIP as web but another protocol; no replicas is a valid "miss" */
	s = &cfg->services[2];
	assert_string_equal(s->name, "empty_one");
	assert_int_equal(s->line, 14);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->nreplicas, 0);
}

static void test_config_accepts_empty_file(void **state)
{
	struct steer_config *cfg = *state;

	assert_int_equal(parse(cfg, ""), 0);
	assert_int_equal(cfg->nservices, 0);
	assert_int_equal(parse(cfg, "; nothing yet\n\n"), 0);
	assert_int_equal(cfg->nservices, 0);
}

/* "[service sN]" / "vip = ..." for n services, then extra. */
static char *many_services(int n, const char *extra)
{
	size_t cap = (size_t)n * 64 + strlen(extra) + 1, len = 0;
	char *text = malloc(cap);

	for (int i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(text + len, cap - len, "[service s%d]\nvip = 10.1.%d.%d:80\n",
				     i, i / 256, i % 256);
	snprintf(text + len, cap - len, "%s", extra);
	return text;
}

/* "[service web]", a vip, then n replicas. */
static char *many_replicas(int n)
{
	size_t cap = (size_t)n * 32 + 64, len = 0;
	char *text = malloc(cap);

	len += (size_t)snprintf(text, cap, "[service web]\nvip = 10.96.0.1:80\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "replica = 10.0.%d.%d:80\n", i / 256,
					i % 256);
	return text;
}

static void test_config_accepts_limits_exactly(void **state)
{
	struct steer_config *cfg = *state;
	char *text = many_services(STEER_MAX_SERVICES, "");

	assert_int_equal(parse(cfg, text), 0);
	assert_int_equal(cfg->nservices, STEER_MAX_SERVICES);
	free(text);

	text = many_replicas(STEER_MAX_SLOTS);
	assert_int_equal(parse(cfg, text), 0);
	assert_int_equal(cfg->services[0].nreplicas, STEER_MAX_SLOTS);
	free(text);
}

#define LINE_ACCEPTED                                                                              \
	"(accepted: [service NAME], KEY = VALUE, a blank line, or a comment starting with ';' or " \
	"'#')"

static const struct {
	const char *what;
	const char *text;
	const char *err;
} bad[] = {
    {"unknown key", "[service web]\nvip = 1.2.3.4:80\nvips = 1.2.3.5:80\n",
     "t.ini:3: unknown key 'vips' in service 'web' (accepted: vip, protocol, replica)"},
    {"duplicate vip key", "[service web]\nvip = 1.2.3.4:80\nvip = 1.2.3.5:80\n",
     "t.ini:3: duplicate key 'vip' in service 'web' (first at line 2; accepted: once per "
     "service)"},
    {"duplicate protocol key", "[service web]\nprotocol = tcp\nvip = 1.2.3.4:80\nprotocol=udp\n",
     "t.ini:4: duplicate key 'protocol' in service 'web' (first at line 2; accepted: once per "
     "service)"},
    {"bad vip", "[service web]\nvip = 1.2.3:80\n",
     "t.ini:2: vip: bad address '1.2.3:80' (accepted: A.B.C.D:PORT or [IPV6]:PORT)"},
    {"empty vip", "[service web]\nvip =\n",
     "t.ini:2: vip: bad address '' (accepted: A.B.C.D:PORT or [IPV6]:PORT)"},
    {"bad replica port", "[service web]\nvip = 1.2.3.4:80\nreplica = 10.0.0.1:70000\n",
     "t.ini:3: replica: bad port '70000' in '10.0.0.1:70000' (accepted: 1-65535)"},
    {"bare ipv6 replica", "[service web]\nvip = [::1]:80\nreplica = ::2:80\n",
     "t.ini:3: replica: bad address '::2:80' (accepted: A.B.C.D:PORT or [IPV6]:PORT)"},
    {"bad protocol", "[service web]\nvip = 1.2.3.4:80\nprotocol = sctp\n",
     "t.ini:3: bad protocol 'sctp' (accepted: tcp|udp)"},
    {"protocol is case-sensitive", "[service web]\nprotocol = TCP\n",
     "t.ini:2: bad protocol 'TCP' (accepted: tcp|udp)"},
    {"missing vip",
     "[service a]\nvip = 1.2.3.4:80\n\n# b has none\n[service web]\nreplica = "
     "10.0.0.1:80\n",
     "t.ini:5: service 'web' has no vip (accepted: vip = A.B.C.D:PORT or [IPV6]:PORT)"},
    {"missing vip in empty section", "[service web]\n",
     "t.ini:1: service 'web' has no vip (accepted: vip = A.B.C.D:PORT or [IPV6]:PORT)"},
    {"duplicate service", "[service web]\nvip = 1.2.3.4:80\n[service web]\nvip = 1.2.3.5:80\n",
     "t.ini:3: duplicate service 'web' (first at line 1)"},
    {"duplicate vip", "[service a]\nvip = 1.2.3.4:80\n[service b]\nvip = 1.2.3.4:80\n",
     "t.ini:4: service 'b' has the same vip 1.2.3.4:80 (tcp) as service 'a' (line 2)"},
    {"duplicate vip v6 udp",
     "[service a]\nprotocol = udp\nvip = [::1]:53\n[service b]\nvip = [0::1]:53\nprotocol = "
     "udp\n",
     "t.ini:5: service 'b' has the same vip [::1]:53 (udp) as service 'a' (line 3)"},
    {"duplicate replica",
     "[service web]\nvip = 1.2.3.4:80\nreplica = 10.0.0.1:80\nreplica = 10.0.0.2:80\nreplica = "
     "10.0.0.1:80\n",
     "t.ini:5: duplicate replica 10.0.0.1:80 in service 'web' (first at line 3)"},
    {"replica family differs from vip",
     "[service web]\nvip = 1.2.3.4:80\nreplica = 10.0.0.1:80\nreplica = [::1]:80\n",
     "t.ini:4: replica [::1]:80 of service 'web' is IPv6 but its vip 1.2.3.4:80 is IPv4 "
     "(accepted: replicas of the vip's family)"},
    {"replica before a v6 vip", "[service web]\nreplica = 10.0.0.1:80\nvip = [::1]:80\n",
     "t.ini:2: replica 10.0.0.1:80 of service 'web' is IPv4 but its vip [::1]:80 is IPv6 "
     "(accepted: replicas of the vip's family)"},
    {"replica is its own vip", "[service web]\nvip = 1.2.3.4:80\nreplica = 1.2.3.4:80\n",
     "t.ini:3: replica 1.2.3.4:80 of service 'web' is the vip of service 'web' (line 2; "
     "accepted: an address that is no service's vip)"},
    {"replica is a later service's vip",
     "[service web]\nvip = 1.2.3.4:80\nreplica = 10.0.0.9:53\n\n[service dns]\nprotocol = "
     "udp\nvip = 10.0.0.9:53\n",
     "t.ini:3: replica 10.0.0.9:53 of service 'web' is the vip of service 'dns' (line 7; "
     "accepted: an address that is no service's vip)"},
    {"syntax error", "[service web]\nvip 1.2.3.4\n",
     "t.ini:2: syntax error: 'vip 1.2.3.4' " LINE_ACCEPTED},
    {"syntax error wins over a later error", "[service web]\nvip = 1.2.3.4:80\nreplica\nfoo = 1\n",
     "t.ini:3: syntax error: 'replica' " LINE_ACCEPTED},
    {"syntax error after a comment", "[service web]\n; note\nreplica ; = 1.2.3.4:80\n",
     "t.ini:3: syntax error: 'replica' " LINE_ACCEPTED},
    {"unknown section", "[global]\nvip = 1.2.3.4:80\n",
     "t.ini:1: unknown section '[global]' (accepted: [service NAME])"},
    {"unknown section after a good one", "[service web]\nvip = 1.2.3.4:80\n[services web2]\n",
     "t.ini:3: unknown section '[services web2]' (accepted: [service NAME])"},
    {"section without name", "[service]\n",
     "t.ini:1: bad service name '' (accepted: 1-63 characters of A-Z a-z 0-9 _ . -)"},
    {"bad service name", "[service a/b]\n",
     "t.ini:1: bad service name 'a/b' (accepted: 1-63 characters of A-Z a-z 0-9 _ . -)"},
    {"service name with a blank", "[service a b]\n",
     "t.ini:1: bad service name 'a b' (accepted: 1-63 characters of A-Z a-z 0-9 _ . -)"},
    {"service name of 64 characters",
     "[service 0123456789012345678901234567890123456789012345678901234567890123]\n",
     "t.ini:1: bad service name "
     "'0123456789012345678901234567890123456789012345678901234567890123' (accepted: 1-63 "
     "characters of A-Z a-z 0-9 _ . -)"},
    {"section header without ]", "[service web\nvip = 1.2.3.4:80\n",
     "t.ini:1: bad section header '[service web' (accepted: [service NAME])"},
    {"text after section header", "[service web] extra\n",
     "t.ini:1: bad section header '[service web] extra' (accepted: [service NAME])"},
    {"key before any section", "\nvip = 1.2.3.4:80\n[service web]\n",
     "t.ini:2: key 'vip' before the first section (accepted: keys inside a [service NAME] "
     "section)"},
};

static void test_config_rejects_bad_input_with_file_line_and_accepted(void **state)
{
	struct steer_config *cfg = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char got[sizeof(err) + 128], want[sizeof(err) + 128];

		assert_int_equal(parse(cfg, bad[i].text), -1);
		/* prefixed with the case, so a failure says which row broke */
		snprintf(got, sizeof(got), "%s: %s", bad[i].what, err);
		snprintf(want, sizeof(want), "%s: %s", bad[i].what, bad[i].err);
		assert_string_equal(got, want);
	}
}

/* inih reads lines into a 200-byte buffer: 197 characters, "\r\n" and NUL. */
static void test_config_rejects_line_longer_than_inih_buffer(void **state)
{
	struct steer_config *cfg = *state;
	char text[512], want[512];
	int n;

	/* 197 characters after cleaning, a long comment does not count */
	n = snprintf(text, sizeof(text),
		     "[service web]\nvip = 1.2.3.4:80\nreplica = %0187d   ; %0200d\n", 5, 0);
	assert_true(n > 0);
	assert_int_equal(parse(cfg, text), -1);
	snprintf(want, sizeof(want),
		 "t.ini:3: replica: bad address '%0187d' (accepted: A.B.C.D:PORT or [IPV6]:PORT)",
		 5);
	assert_string_equal(err, want);

	snprintf(text, sizeof(text), "[service web]\nvip = 1.2.3.4:80\nreplica = %0188d\n", 5);
	assert_int_equal(parse(cfg, text), -1);
	assert_string_equal(err, "t.ini:3: line of 198 characters (accepted: at most 197, not "
				 "counting comments and surrounding blanks)");
}

static void test_config_rejects_more_than_max_slots_replicas(void **state)
{
	struct steer_config *cfg = *state;
	char *text = many_replicas(STEER_MAX_SLOTS + 1);

	assert_int_equal(parse(cfg, text), -1);
	assert_string_equal(err, "t.ini:67: service 'web' has more than 64 replicas (limit "
				 "STEER_MAX_SLOTS=64)");
	free(text);
}

static void test_config_rejects_more_than_max_services(void **state)
{
	struct steer_config *cfg = *state;
	char *text = many_services(STEER_MAX_SERVICES + 1, "");

	assert_int_equal(parse(cfg, text), -1);
	assert_string_equal(err, "t.ini:513: more than 256 services (limit STEER_MAX_SERVICES=256) "
				 "at service 's256'");
	free(text);
}

static void test_config_rejects_duplicate_vip(void **state)
{
	struct steer_config *cfg = *state;
	char *text = many_services(3, "[service again]\nvip = 10.1.0.1:80\n");

	assert_int_equal(parse(cfg, text), -1);
	assert_string_equal(err, "t.ini:8: service 'again' has the same vip 10.1.0.1:80 (tcp) as "
				 "service 's1' (line 4)");
	free(text);
}

static void test_config_print_round_trips(void **state)
{
	struct steer_config *cfg = *state, *again = cfg + 1;
	char *out, *out2;
	size_t len;
	FILE *f;

	assert_int_equal(parse(cfg, good_file), 0);
	f = open_memstream(&out, &len);
	config_print(cfg, f);
	fclose(f);
	assert_string_equal(out, "[service web]\n"
				 "vip = 10.96.0.1:80\n"
				 "protocol = tcp\n"
				 "replica = 10.0.0.1:8080\n"
				 "replica = 10.0.0.2:8080\n"
				 "replica = 10.0.0.3:8080\n"
				 "\n"
				 "[service dns.v6-1]\n"
				 "vip = [fd00::53]:53\n"
				 "protocol = udp\n"
				 "replica = [fd00::1]:5353\n"
				 "\n"
				 "[service empty_one]\n"
				 "vip = 10.96.0.1:80\n"
				 "protocol = udp\n");

	assert_int_equal(parse(again, out), 0);
	assert_int_equal(again->nservices, cfg->nservices);
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *a = &cfg->services[i], *b = &again->services[i];

		assert_string_equal(a->name, b->name);
		assert_true(endpoint_equal(&a->vip, &b->vip));
		assert_int_equal(a->proto, b->proto);
		assert_int_equal(a->nreplicas, b->nreplicas);
		for (int r = 0; r < a->nreplicas; r++)
			assert_true(endpoint_equal(&a->replicas[r], &b->replicas[r]));
	}
	f = open_memstream(&out2, &len);
	config_print(again, f);
	fclose(f);
	assert_string_equal(out2, out);
	free(out);
	free(out2);
}

/* Write text (len bytes) to a fresh temporary file; returns its path. */
static char *temp_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/steer-test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_config_load_reads_file_and_names_it_in_errors(void **state)
{
	struct steer_config *cfg = *state;
	const char bad_text[] = "[service web]\nvip = 1.2.3.4:80\nprotocol = icmp\n";
	char *path = temp_file(good_file, strlen(good_file)), want[512];

	assert_int_equal(config_load(path, cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->nservices, 3);
	unlink(path);
	free(path);

	path = temp_file(bad_text, strlen(bad_text));
	assert_int_equal(config_load(path, cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: bad protocol 'icmp' (accepted: tcp|udp)", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
}

static void test_config_load_rejects_missing_file(void **state)
{
	assert_int_equal(config_load("/nonexistent/steer.ini", *state, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot open /nonexistent/steer.ini: No such file or directory");
}

static void test_config_load_rejects_nul_byte(void **state)
{
	const char text[] = "[service web]\nvip = 1.2.3.4:80\x00\nreplica = 10.0.0.1:80\n";
	char *path = temp_file(text, sizeof(text) - 1), want[512];

	assert_int_equal(config_load(path, *state, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: NUL byte (accepted: text)", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
}

static void test_config_load_reads_files_larger_than_one_buffer(void **state)
{
	struct steer_config *cfg = *state;
	char *text = many_services(STEER_MAX_SERVICES, ""), *path = temp_file(text, strlen(text));

	assert_true(strlen(text) > 8192);
	assert_int_equal(config_load(path, cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->nservices, STEER_MAX_SERVICES);
	assert_string_equal(cfg->services[STEER_MAX_SERVICES - 1].name, "s255");
	unlink(path);
	free(path);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_parses_good_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_accepts_empty_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_accepts_limits_exactly, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_rejects_bad_input_with_file_line_and_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_line_longer_than_inih_buffer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_more_than_max_slots_replicas, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_more_than_max_services, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_duplicate_vip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_print_round_trips, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_reads_file_and_names_it_in_errors,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_rejects_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_rejects_nul_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_reads_files_larger_than_one_buffer,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
