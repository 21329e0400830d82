/* Unit tests for agent/config/ (config_*.c): the [service NAME] topology file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <math.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/env.h"

/* The limits these tests' numbers are written for. */
#define TEST_SERVICES 256
#define TEST_SLOTS    64

/* Two configs per test: one and a copy to compare it with. */
static int setup(void **state)
{
	steer_limits_set(&(struct steer_limits){
	    .services = TEST_SERVICES, .replicas_per_service = TEST_SLOTS, .replicas = 4096});
	*state = calloc(2, sizeof(struct steer_config));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct steer_config *cfg = *state;

	config_clear(&cfg[0]);
	config_clear(&cfg[1]);
	free(*state);
	return 0;
}

/* a and b hold the same config (what memcmp said of the whole struct when
 * it held its arrays). */
static void assert_config_equal(const struct steer_config *a, const struct steer_config *b)
{
	struct steer_config x = *a, y = *b;

	x.services = y.services = NULL;
	x.services_cap = y.services_cap = 0;
	assert_memory_equal(&x, &y, sizeof(x));
	for (int i = 0; i < a->nservices; i++) {
		struct svc_config s = a->services[i], t = b->services[i];

		assert_int_equal(s.nreplicas, t.nreplicas);
		if (s.nreplicas) {
			assert_memory_equal(s.replicas, t.replicas,
					    (size_t)s.nreplicas * sizeof(*s.replicas));
			assert_memory_equal(s.ropts, t.ropts,
					    (size_t)s.nreplicas * sizeof(*s.ropts));
		}
		s.replicas = t.replicas = NULL;
		s.ropts = t.ropts = NULL;
		s.replicas_cap = t.replicas_cap = 0;
		assert_memory_equal(&s, &t, sizeof(s));
	}
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
	char *text = many_services(TEST_SERVICES, "");

	assert_int_equal(parse(cfg, text), 0);
	assert_int_equal(cfg->nservices, TEST_SERVICES);
	free(text);

	text = many_replicas(TEST_SLOTS);
	assert_int_equal(parse(cfg, text), 0);
	assert_int_equal(cfg->services[0].nreplicas, TEST_SLOTS);
	free(text);
}

#define WEB		"[service web]\nvip = 1.2.3.4:80\n"
#define HEALTH_ACCEPTED "(accepted: tcp|http PATH|dns NAME [TYPE]|udp HEX [expect HEX]|none)"
#define PATH_ACCEPTED	"(accepted: '/' then at most 254 visible ASCII characters, no blanks)"
#define EXPECT_ACCEPTED "(accepted: a status code 100-599, or LO-HI with 100 <= LO <= HI <= 599)"
#define LINE_ACCEPTED                                                                              \
	"(accepted: [service NAME], KEY = VALUE, a blank line, or a comment starting with ';' or " \
	"'#')"

static const struct {
	const char *what;
	const char *text;
	const char *err;
} bad[] = {
    {"unknown key", "[service web]\nvip = 1.2.3.4:80\nvips = 1.2.3.5:80\n",
     "t.ini:3: unknown key 'vips' in service 'web' (accepted: vip, protocol, replica, health, "
     "policy, max_conns, max_queued, health_interval_ms, health_timeout_ms, health_rise, "
     "health_fall, health_expect, "
     "retry_initial_backoff_ms, retry_backoff_multiplier, retry_max_backoff_ms, retry_jitter, "
     "retry_timeout_ms)"},
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
    /* health keys */
    {"bad health kind", WEB "health = udp\n", "t.ini:3: bad health 'udp' " HEALTH_ACCEPTED},
    {"health kind is case-sensitive", WEB "health = TCP\n",
     "t.ini:3: bad health 'TCP' " HEALTH_ACCEPTED},
    {"health kind with extra text", WEB "health = tcp 80\n",
     "t.ini:3: bad health 'tcp 80' " HEALTH_ACCEPTED},
    {"https is not http", WEB "health = https /x\n",
     "t.ini:3: bad health 'https /x' " HEALTH_ACCEPTED},
    {"http glued to its path", WEB "health = http/x\n",
     "t.ini:3: bad health 'http/x' " HEALTH_ACCEPTED},
    {"empty health", WEB "health =\n", "t.ini:3: bad health '' " HEALTH_ACCEPTED},
    {"http without path", WEB "health = http\n", "t.ini:3: bad health path '' " PATH_ACCEPTED},
    {"http path without leading slash", WEB "health = http healthz\n",
     "t.ini:3: bad health path 'healthz' " PATH_ACCEPTED},
    {"http path with a blank", WEB "health = http /a b\n",
     "t.ini:3: bad health path '/a b' " PATH_ACCEPTED},
    {"http path with a control character",
     WEB "health = http /a\x01"
	 "b\n",
     "t.ini:3: bad health path '/a\x01"
     "b' " PATH_ACCEPTED},
    {"http path with DEL", WEB "health = http /a\x7f\n",
     "t.ini:3: bad health path '/a\x7f' " PATH_ACCEPTED},
    {"http path not ASCII", WEB "health = http /caf\xc3\xa9\n",
     "t.ini:3: bad health path '/caf\xc3\xa9' " PATH_ACCEPTED},
    {"duplicate health key", WEB "health = tcp\nhealth = none\n",
     "t.ini:4: duplicate key 'health' in service 'web' (first at line 3; accepted: once per "
     "service)"},
    {"http on a udp service", "[service dns]\nvip = 1.2.3.4:53\nprotocol = udp\nhealth = http /x\n",
     "t.ini:4: service 'dns' has health = http but protocol udp (accepted for udp: dns NAME "
     "[TYPE]|udp HEX [expect HEX]|tcp|none)"},
    {"http on a service that says udp later",
     "[service dns]\nvip = 1.2.3.4:53\nhealth = http /x\nreplica = 10.0.0.1:53\nprotocol = "
     "udp\n",
     "t.ini:3: service 'dns' has health = http but protocol udp (accepted for udp: dns NAME "
     "[TYPE]|udp HEX [expect HEX]|tcp|none)"},
    {"bad policy", WEB "policy = leastconn\n",
     "t.ini:3: bad policy 'leastconn' (accepted: p2c|random)"},
    {"p2c on a udp service", "[service dns]\nvip = 1.2.3.4:53\nprotocol = udp\npolicy = p2c\n",
     "t.ini:4: service 'dns' has policy = p2c but protocol udp (accepted for udp: random, which "
     "keeps each socket on one replica)"},
    {"duplicate policy key", WEB "policy = p2c\npolicy = random\n",
     "t.ini:4: duplicate key 'policy' in service 'web' (first at line 3; accepted: once per "
     "service)"},
    {"interval below range", WEB "health_interval_ms = 9\n",
     "t.ini:3: bad health_interval_ms '9' (accepted: 10-3600000)"},
    {"interval above range", WEB "health_interval_ms = 3600001\n",
     "t.ini:3: bad health_interval_ms '3600001' (accepted: 10-3600000)"},
    {"interval negative", WEB "health_interval_ms = -500\n",
     "t.ini:3: bad health_interval_ms '-500' (accepted: 10-3600000)"},
    {"interval overflowing", WEB "health_interval_ms = 99999999999999999999\n",
     "t.ini:3: bad health_interval_ms '99999999999999999999' (accepted: 10-3600000)"},
    {"interval as a decimal", WEB "health_interval_ms = 500.0\n",
     "t.ini:3: bad health_interval_ms '500.0' (accepted: 10-3600000)"},
    {"interval with a unit", WEB "health_interval_ms = 500ms\n",
     "t.ini:3: bad health_interval_ms '500ms' (accepted: 10-3600000)"},
    {"interval with a plus", WEB "health_interval_ms = +500\n",
     "t.ini:3: bad health_interval_ms '+500' (accepted: 10-3600000)"},
    {"interval empty", WEB "health_interval_ms =\n",
     "t.ini:3: bad health_interval_ms '' (accepted: 10-3600000)"},
    {"timeout zero", WEB "health_timeout_ms = 0\n",
     "t.ini:3: bad health_timeout_ms '0' (accepted: 1-600000)"},
    {"timeout above range", WEB "health_timeout_ms = 600001\n",
     "t.ini:3: bad health_timeout_ms '600001' (accepted: 1-600000)"},
    {"rise zero", WEB "health_rise = 0\n", "t.ini:3: bad health_rise '0' (accepted: 1-100)"},
    {"rise above range", WEB "health_rise = 101\n",
     "t.ini:3: bad health_rise '101' (accepted: 1-100)"},
    {"fall zero", WEB "health_fall = 0\n", "t.ini:3: bad health_fall '0' (accepted: 1-100)"},
    {"fall above range", WEB "health_fall = 101\n",
     "t.ini:3: bad health_fall '101' (accepted: 1-100)"},
    {"fall in hex", WEB "health_fall = 0x5\n", "t.ini:3: bad health_fall '0x5' (accepted: 1-100)"},
    {"duplicate numeric key", WEB "health_rise = 2\nhealth_rise = 3\n",
     "t.ini:4: duplicate key 'health_rise' in service 'web' (first at line 3; accepted: once "
     "per service)"},
    {"expect below range", WEB "health_expect = 99\n",
     "t.ini:3: bad health_expect '99' " EXPECT_ACCEPTED},
    {"expect above range", WEB "health_expect = 600\n",
     "t.ini:3: bad health_expect '600' " EXPECT_ACCEPTED},
    {"expect range reversed", WEB "health_expect = 300-200\n",
     "t.ini:3: bad health_expect '300-200' " EXPECT_ACCEPTED},
    {"expect range past 599", WEB "health_expect = 200-600\n",
     "t.ini:3: bad health_expect '200-600' " EXPECT_ACCEPTED},
    {"expect range without high end", WEB "health_expect = 200-\n",
     "t.ini:3: bad health_expect '200-' " EXPECT_ACCEPTED},
    {"expect range without low end", WEB "health_expect = -200\n",
     "t.ini:3: bad health_expect '-200' " EXPECT_ACCEPTED},
    {"expect range with blanks", WEB "health_expect = 200 - 299\n",
     "t.ini:3: bad health_expect '200 - 299' " EXPECT_ACCEPTED},
    {"expect range with two dashes", WEB "health_expect = 200--299\n",
     "t.ini:3: bad health_expect '200--299' " EXPECT_ACCEPTED},
    {"expect with a long low end", WEB "health_expect = 00000000000000000200-299\n",
     "t.ini:3: bad health_expect '00000000000000000200-299' " EXPECT_ACCEPTED},
    {"expect as a class", WEB "health_expect = 2xx\n",
     "t.ini:3: bad health_expect '2xx' " EXPECT_ACCEPTED},
    {"expect empty", WEB "health_expect =\n", "t.ini:3: bad health_expect '' " EXPECT_ACCEPTED},
    /* retry keys */
    {"initial negative", WEB "retry_initial_backoff_ms = -1\n",
     "t.ini:3: bad retry_initial_backoff_ms '-1' (accepted: 0-3600000)"},
    {"initial above range", WEB "retry_initial_backoff_ms = 3600001\n",
     "t.ini:3: bad retry_initial_backoff_ms '3600001' (accepted: 0-3600000)"},
    {"initial overflowing", WEB "retry_initial_backoff_ms = 99999999999999999999\n",
     "t.ini:3: bad retry_initial_backoff_ms '99999999999999999999' (accepted: 0-3600000)"},
    {"initial past 2^32", WEB "retry_initial_backoff_ms = 4294967321\n",
     "t.ini:3: bad retry_initial_backoff_ms '4294967321' (accepted: 0-3600000)"},
    {"initial not a number", WEB "retry_initial_backoff_ms = soon\n",
     "t.ini:3: bad retry_initial_backoff_ms 'soon' (accepted: 0-3600000)"},
    {"initial as a decimal", WEB "retry_initial_backoff_ms = 2.5\n",
     "t.ini:3: bad retry_initial_backoff_ms '2.5' (accepted: 0-3600000)"},
    {"initial empty", WEB "retry_initial_backoff_ms =\n",
     "t.ini:3: bad retry_initial_backoff_ms '' (accepted: 0-3600000)"},
    {"multiplier below 1", WEB "retry_backoff_multiplier = 0.5\n",
     "t.ini:3: bad retry_backoff_multiplier '0.5' (accepted: a decimal 1-1000000)"},
    {"multiplier zero", WEB "retry_backoff_multiplier = 0\n",
     "t.ini:3: bad retry_backoff_multiplier '0' (accepted: a decimal 1-1000000)"},
    {"multiplier negative", WEB "retry_backoff_multiplier = -2\n",
     "t.ini:3: bad retry_backoff_multiplier '-2' (accepted: a decimal 1-1000000)"},
    {"multiplier above range", WEB "retry_backoff_multiplier = 1000000.5\n",
     "t.ini:3: bad retry_backoff_multiplier '1000000.5' (accepted: a decimal 1-1000000)"},
    {"multiplier overflowing", WEB "retry_backoff_multiplier = 99999999999999999999\n",
     "t.ini:3: bad retry_backoff_multiplier '99999999999999999999' (accepted: a decimal "
     "1-1000000)"},
    {"multiplier beyond a double", WEB "retry_backoff_multiplier = 1e999\n",
     "t.ini:3: bad retry_backoff_multiplier '1e999' (accepted: a decimal 1-1000000)"},
    {"multiplier inf", WEB "retry_backoff_multiplier = inf\n",
     "t.ini:3: bad retry_backoff_multiplier 'inf' (accepted: a decimal 1-1000000)"},
    {"multiplier nan", WEB "retry_backoff_multiplier = nan\n",
     "t.ini:3: bad retry_backoff_multiplier 'nan' (accepted: a decimal 1-1000000)"},
    {"multiplier not a number", WEB "retry_backoff_multiplier = double\n",
     "t.ini:3: bad retry_backoff_multiplier 'double' (accepted: a decimal 1-1000000)"},
    {"multiplier with a suffix", WEB "retry_backoff_multiplier = 2x\n",
     "t.ini:3: bad retry_backoff_multiplier '2x' (accepted: a decimal 1-1000000)"},
    {"multiplier empty", WEB "retry_backoff_multiplier =\n",
     "t.ini:3: bad retry_backoff_multiplier '' (accepted: a decimal 1-1000000)"},
    {"max zero", WEB "retry_max_backoff_ms = 0\n",
     "t.ini:3: bad retry_max_backoff_ms '0' (accepted: 1-3600000)"},
    {"max above range", WEB "retry_max_backoff_ms = 3600001\n",
     "t.ini:3: bad retry_max_backoff_ms '3600001' (accepted: 1-3600000)"},
    {"max negative", WEB "retry_max_backoff_ms = -500\n",
     "t.ini:3: bad retry_max_backoff_ms '-500' (accepted: 1-3600000)"},
    {"max overflowing", WEB "retry_max_backoff_ms = 99999999999999999999\n",
     "t.ini:3: bad retry_max_backoff_ms '99999999999999999999' (accepted: 1-3600000)"},
    {"max with a unit", WEB "retry_max_backoff_ms = 500ms\n",
     "t.ini:3: bad retry_max_backoff_ms '500ms' (accepted: 1-3600000)"},
    {"jitter above 1", WEB "retry_jitter = 1.5\n",
     "t.ini:3: bad retry_jitter '1.5' (accepted: a decimal 0-1)"},
    {"jitter negative", WEB "retry_jitter = -0.1\n",
     "t.ini:3: bad retry_jitter '-0.1' (accepted: a decimal 0-1)"},
    {"jitter as a percentage", WEB "retry_jitter = 20%\n",
     "t.ini:3: bad retry_jitter '20%' (accepted: a decimal 0-1)"},
    {"jitter overflowing", WEB "retry_jitter = 99999999999999999999\n",
     "t.ini:3: bad retry_jitter '99999999999999999999' (accepted: a decimal 0-1)"},
    {"jitter in hex", WEB "retry_jitter = 0x0.1p0\n",
     "t.ini:3: bad retry_jitter '0x0.1p0' (accepted: a decimal 0-1)"},
    {"jitter empty", WEB "retry_jitter =\n",
     "t.ini:3: bad retry_jitter '' (accepted: a decimal 0-1)"},
    {"timeout zero", WEB "retry_timeout_ms = 0\n",
     "t.ini:3: bad retry_timeout_ms '0' (accepted: 1-86400000)"},
    {"timeout above range", WEB "retry_timeout_ms = 86400001\n",
     "t.ini:3: bad retry_timeout_ms '86400001' (accepted: 1-86400000)"},
    {"timeout negative", WEB "retry_timeout_ms = -30000\n",
     "t.ini:3: bad retry_timeout_ms '-30000' (accepted: 1-86400000)"},
    {"timeout overflowing", WEB "retry_timeout_ms = 99999999999999999999\n",
     "t.ini:3: bad retry_timeout_ms '99999999999999999999' (accepted: 1-86400000)"},
    {"timeout with a unit", WEB "retry_timeout_ms = 30s\n",
     "t.ini:3: bad retry_timeout_ms '30s' (accepted: 1-86400000)"},
    {"duplicate retry key", WEB "retry_jitter = 0.1\nretry_jitter = 0.2\n",
     "t.ini:4: duplicate key 'retry_jitter' in service 'web' (first at line 3; accepted: once "
     "per service)"},
    {"initial above max, both in the file",
     WEB "retry_initial_backoff_ms = 600\nretry_max_backoff_ms = 500\n",
     "t.ini:3: service 'web': retry_initial_backoff_ms=600 is more than retry_max_backoff_ms=500 "
     "(accepted: initial <= max)"},
    {"initial above max, max first",
     WEB "retry_max_backoff_ms = 500\nreplica = 10.0.0.1:80\nretry_initial_backoff_ms = 501\n",
     "t.ini:5: service 'web': retry_initial_backoff_ms=501 is more than retry_max_backoff_ms=500 "
     "(accepted: initial <= max)"},
    {"initial above max on a udp service",
     "[service d]\nvip = 1.2.3.4:53\nprotocol = udp\nretry_initial_backoff_ms = 2\n"
     "retry_max_backoff_ms = 1\n",
     "t.ini:4: service 'd': retry_initial_backoff_ms=2 is more than retry_max_backoff_ms=1 "
     "(accepted: initial <= max)"},
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
	char *text = many_replicas(TEST_SLOTS + 1);

	assert_int_equal(parse(cfg, text), -1);
	assert_string_equal(err, "t.ini:67: service 'web' has more than 64 replicas (limit "
				 "STEER_MAX_REPLICAS_PER_SERVICE=64)");
	free(text);
}

static void test_config_rejects_more_than_max_services(void **state)
{
	struct steer_config *cfg = *state;
	char *text = many_services(TEST_SERVICES + 1, "");

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
	/* without config_apply_env(), only the kind's default is known */
	assert_string_equal(out,
			    "[service web]\n"
			    "vip = 10.96.0.1:80\n"
			    "protocol = tcp\n"
			    "; health = tcp (default for tcp)\n"
			    "; policy = p2c (default for tcp)\n"
			    "replica = 10.0.0.1:8080\n"
			    "replica = 10.0.0.2:8080\n"
			    "replica = 10.0.0.3:8080\n"
			    "\n"
			    "[service dns.v6-1]\n"
			    "vip = [fd00::53]:53\n"
			    "protocol = udp\n"
			    "; health = dns . NS (default for udp on port 53)\n"
			    "; policy = random (default for udp)\n"
			    "replica = [fd00::1]:5353\n"
			    "\n"
			    "[service empty_one]\n"
			    "vip = 10.96.0.1:80\n"
			    "protocol = udp\n"
			    "; health = none (default for udp)\n"
			    "; warning: no health checks: a dead replica keeps its share of "
			    "the datagrams (set health = dns NAME [TYPE] or udp HEX [expect HEX])\n"
			    "; policy = random (default for udp)\n");

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

/* What the health keys of a service parse to (before config_apply_env()). */
static const struct {
	const char *what;
	const char *text; /* one service */
	enum health_kind kind;
	const char *path;
	uint32_t interval_ms, timeout_ms, rise, fall;
	uint16_t expect_lo, expect_hi;
	const char *set; /* set.kind, interval_ms, timeout_ms, rise, fall, expect as 0/1 */
} health_good[] = {
    {"tcp service checks tcp by default", WEB, HEALTH_KIND_TCP, "", 0, 0, 0, 0, 200, 399, "000000"},
    {"udp service has no checks by default", "[service d]\nvip = 1.2.3.4:5353\nprotocol = udp\n",
     HEALTH_KIND_NONE, "", 0, 0, 0, 0, 200, 399, "000000"},
    {"udp service on port 53 checks dns by default",
     "[service d]\nvip = 1.2.3.4:53\nprotocol = udp\n", HEALTH_KIND_DNS, "", 0, 0, 0, 0, 200, 399,
     "000000"},
    {"protocol after the other keys still decides the default",
     "[service d]\nvip = 1.2.3.4:5353\nreplica = 10.0.0.1:53\nprotocol = udp\n", HEALTH_KIND_NONE,
     "", 0, 0, 0, 0, 200, 399, "000000"},
    {"tcp service on port 53 checks tcp by default", "[service d]\nvip = 1.2.3.4:53\n",
     HEALTH_KIND_TCP, "", 0, 0, 0, 0, 200, 399, "000000"},
    {"explicit tcp", WEB "health = tcp\n", HEALTH_KIND_TCP, "", 0, 0, 0, 0, 200, 399, "100000"},
    {"tcp checks on a udp service", "[service d]\nvip = 1.2.3.4:53\nprotocol = udp\nhealth = tcp\n",
     HEALTH_KIND_TCP, "", 0, 0, 0, 0, 200, 399, "100000"},
    {"none on a tcp service", WEB "health = none\n", HEALTH_KIND_NONE, "", 0, 0, 0, 0, 200, 399,
     "100000"},
    {"http with a path", WEB "health = http /healthz?full=1&x=%20\n", HEALTH_KIND_HTTP,
     "/healthz?full=1&x=%20", 0, 0, 0, 0, 200, 399, "100000"},
    {"http with blanks before the path and a comment after",
     WEB "health = http \t /ready   ; the readiness check\n", HEALTH_KIND_HTTP, "/ready", 0, 0, 0,
     0, 200, 399, "100000"},
    {"http path of one slash", WEB "health = http /\n", HEALTH_KIND_HTTP, "/", 0, 0, 0, 0, 200, 399,
     "100000"},
    {"http path with '#' and ';' not after a blank", WEB "health = http /a;b#c\n", HEALTH_KIND_HTTP,
     "/a;b#c", 0, 0, 0, 0, 200, 399, "100000"},
    {"lower limits",
     WEB "health_interval_ms = 10\nhealth_timeout_ms = 1\nhealth_rise = 1\nhealth_fall = "
	 "1\nhealth_expect = 100\n",
     HEALTH_KIND_TCP, "", 10, 1, 1, 1, 100, 100, "011111"},
    {"upper limits",
     WEB "health_interval_ms = 3600000\nhealth_timeout_ms = 600000\nhealth_rise = "
	 "100\nhealth_fall = 100\nhealth_expect = 599\n",
     HEALTH_KIND_TCP, "", 3600000, 600000, 100, 100, 599, 599, "011111"},
    {"expect range", WEB "health_expect = 200-204\n", HEALTH_KIND_TCP, "", 0, 0, 0, 0, 200, 204,
     "000001"},
    {"widest expect range", WEB "health_expect = 100-599\n", HEALTH_KIND_TCP, "", 0, 0, 0, 0, 100,
     599, "000001"},
    {"leading zeros", WEB "health_rise = 007\nhealth_expect = 0200-0299\n", HEALTH_KIND_TCP, "", 0,
     0, 7, 0, 200, 299, "000101"},
};

static void test_config_parses_health_keys(void **state)
{
	struct steer_config *cfg = *state;

	for (size_t i = 0; i < sizeof(health_good) / sizeof(health_good[0]); i++) {
		const struct health_config *h;
		char got[512], want[512];

		assert_int_equal(parse(cfg, health_good[i].text), 0);
		h = &cfg->services[0].health;
		snprintf(
		    got, sizeof(got), "%s: kind=%d path='%s' %u %u %u %u %u-%u set=%d%d%d%d%d%d",
		    health_good[i].what, h->kind, h->path, h->interval_ms, h->timeout_ms, h->rise,
		    h->fall, h->expect_lo, h->expect_hi, h->set.kind, h->set.interval_ms,
		    h->set.timeout_ms, h->set.rise, h->set.fall, h->set.expect);
		snprintf(want, sizeof(want), "%s: kind=%d path='%s' %u %u %u %u %u-%u set=%s",
			 health_good[i].what, health_good[i].kind, health_good[i].path,
			 health_good[i].interval_ms, health_good[i].timeout_ms, health_good[i].rise,
			 health_good[i].fall, health_good[i].expect_lo, health_good[i].expect_hi,
			 health_good[i].set);
		assert_string_equal(got, want);
	}
}

#define UDP53 "[service dns]\nvip = 1.2.3.4:53\nprotocol = udp\n"

/* health = dns and health = udp: what they parse to, and the line
 * check-config prints for them (which parses back to the same). */
static const struct {
	const char *what;
	const char *text;
	const char *printed; /* the health line of config_print() */
} dns_udp_good[] = {
    {"default for udp on port 53", UDP53, "; health = dns . NS (default for udp on port 53)"},
    {"dns with its default type", UDP53 "health = dns example.com\n", "health = dns example.com A"},
    {"dns of the root defaults to NS", UDP53 "health = dns .\n", "health = dns . NS"},
    {"dns with a type, any case", UDP53 "health = dns Example.COM. aaaa\n",
     "health = dns Example.COM. AAAA"},
    {"dns with a numeric type", UDP53 "health = dns _dns.resolver.arpa TYPE64\n",
     "health = dns _dns.resolver.arpa TYPE64"},
    {"dns type as a number", UDP53 "health = dns a.b 16\n", "health = dns a.b TXT"},
    {"dns on a tcp service", "[service d]\nvip = 1.2.3.4:53\nhealth = dns a.b SOA\n",
     "health = dns a.b SOA"},
    {"udp payload", UDP53 "health = udp 00ff\n", "health = udp 00ff"},
    {"udp payload and expected prefix, upper case hex", UDP53 "health = udp C0FFEE expect 0A\n",
     "health = udp c0ffee expect 0a"},
};

static void test_config_parses_dns_and_udp_health(void **state)
{
	struct steer_config *cfg = *state, *again = cfg + 1;

	for (size_t i = 0; i < sizeof(dns_udp_good) / sizeof(dns_udp_good[0]); i++) {
		char *out = NULL, line[256] = "";
		size_t len;
		FILE *f;

		if (parse(cfg, dns_udp_good[i].text) != 0)
			fail_msg("%s: %s", dns_udp_good[i].what, err);
		f = open_memstream(&out, &len);
		config_print(cfg, f);
		fclose(f);
		if (strstr(out, "; health = "))
			sscanf(strstr(out, "; health = "), "%255[^\n]", line);
		else
			sscanf(strstr(out, "health = "), "%255[^\n]", line);
		assert_string_equal(line, dns_udp_good[i].printed);
		assert_int_equal(parse(again, out), 0);
		assert_int_equal(again->services[0].health.kind, cfg->services[0].health.kind);
		assert_string_equal(again->services[0].health.dns_name,
				    cfg->services[0].health.dns_name);
		assert_int_equal(again->services[0].health.dns_type,
				 cfg->services[0].health.dns_type);
		assert_int_equal(again->services[0].health.payload_len,
				 cfg->services[0].health.payload_len);
		assert_memory_equal(again->services[0].health.payload,
				    cfg->services[0].health.payload, HEALTH_PAYLOAD_MAX);
		assert_int_equal(again->services[0].health.reply_prefix_len,
				 cfg->services[0].health.reply_prefix_len);
		assert_memory_equal(again->services[0].health.reply_prefix,
				    cfg->services[0].health.reply_prefix, HEALTH_PAYLOAD_MAX);
		free(out);
	}
	assert_int_equal(parse(cfg, UDP53 "health = udp C0FFEE expect 0A\n"), 0);
	assert_int_equal(cfg->services[0].health.payload_len, 3);
	assert_memory_equal(cfg->services[0].health.payload, "\xc0\xff\xee", 3);
	assert_int_equal(cfg->services[0].health.reply_prefix_len, 1);
	assert_int_equal(cfg->services[0].health.reply_prefix[0], 0x0a);
}

#define DNS_NAME_ACC                                                                               \
	"(accepted: '.' or dot-separated labels of 1-63 of A-Z a-z 0-9 - _, 253 at most)"
#define DNS_TYPE_ACC "(accepted: A|AAAA|NS|SOA|CNAME|PTR|MX|TXT|SRV|CAA|ANY|TYPE1-65535|1-65535)"
#define HEX_ACC	     "(accepted: 1-92 bytes as pairs of hex digits, e.g. 0a1b)"

static const struct {
	const char *what;
	const char *text;
	const char *err;
} dns_udp_bad[] = {
    {"dns without a name", UDP53 "health = dns\n", "t.ini:4: bad health 'dns' " HEALTH_ACCEPTED},
    {"dns with an empty label", UDP53 "health = dns a..b\n",
     "t.ini:4: bad health dns name 'a..b' " DNS_NAME_ACC},
    {"dns with a leading dot", UDP53 "health = dns .a\n",
     "t.ini:4: bad health dns name '.a' " DNS_NAME_ACC},
    {"dns label of 64",
     UDP53 "health = dns "
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b\n",
     "t.ini:4: bad health dns name "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b' " DNS_NAME_ACC},
    {"dns name with an escape", UDP53 "health = dns a\\.b\n",
     "t.ini:4: bad health dns name 'a\\.b' " DNS_NAME_ACC},
    {"dns with a bad type", UDP53 "health = dns a.b AAA\n",
     "t.ini:4: bad health dns type 'AAA' " DNS_TYPE_ACC},
    {"dns type 0", UDP53 "health = dns a.b TYPE0\n",
     "t.ini:4: bad health dns type 'TYPE0' " DNS_TYPE_ACC},
    {"dns type too big", UDP53 "health = dns a.b 65536\n",
     "t.ini:4: bad health dns type '65536' " DNS_TYPE_ACC},
    {"dns with a third word", UDP53 "health = dns a.b A x\n",
     "t.ini:4: bad health 'dns a.b A x' " HEALTH_ACCEPTED},
    {"udp without a payload", UDP53 "health = udp\n", "t.ini:4: bad health 'udp' " HEALTH_ACCEPTED},
    {"udp odd hex", UDP53 "health = udp abc\n", "t.ini:4: bad health udp payload 'abc' " HEX_ACC},
    {"udp not hex", UDP53 "health = udp zz\n", "t.ini:4: bad health udp payload 'zz' " HEX_ACC},
    {"udp 0x prefix", UDP53 "health = udp 0x01\n",
     "t.ini:4: bad health udp payload '0x01' " HEX_ACC},
    {"udp expect without prefix", UDP53 "health = udp 01 expect\n",
     "t.ini:4: bad health udp option 'expect' (accepted: udp HEX [expect HEX])"},
    {"udp other option", UDP53 "health = udp 01 want 02\n",
     "t.ini:4: bad health udp option 'want 02' (accepted: udp HEX [expect HEX])"},
    {"udp bad prefix", UDP53 "health = udp 01 expect 0g\n",
     "t.ini:4: bad health udp expect '0g' " HEX_ACC},
    {"udp on a tcp service", "[service web]\nvip = 1.2.3.4:80\nhealth = udp 01\n",
     "t.ini:3: service 'web' has health = udp but protocol tcp (accepted for tcp: tcp|http "
     "PATH|dns NAME [TYPE]|none)"},
};

static void test_config_rejects_bad_dns_and_udp_health(void **state)
{
	struct steer_config *cfg = *state;

	for (size_t i = 0; i < sizeof(dns_udp_bad) / sizeof(dns_udp_bad[0]); i++) {
		char got[1200], want[1200];

		assert_int_equal(parse(cfg, dns_udp_bad[i].text), -1);
		snprintf(got, sizeof(got), "%s: %s", dns_udp_bad[i].what, err);
		snprintf(want, sizeof(want), "%s: %s", dns_udp_bad[i].what, dns_udp_bad[i].err);
		assert_string_equal(got, want);
	}
}

/* env_load() of a NULL-terminated list of "K=V" into a static env. */
static const struct steer_env *load_env(char *const *envp)
{
	static struct steer_env env;
	char msg[256];

	if (env_load(&env, envp, NULL, msg, sizeof(msg)) < 0)
		fail_msg("env_load: %s", msg);
	return &env;
}

static void test_config_apply_env_fills_only_unset_values(void **state)
{
	struct steer_config *cfg = *state;
	char *const envp[] = {"STEER_HEALTH_INTERVAL_MS=1000", "STEER_HEALTH_RISE=5", NULL};
	const struct health_config *a, *b;

	assert_int_equal(parse(cfg,
			       "[service a]\nvip = 1.2.3.4:80\n"
			       "[service b]\nvip = 1.2.3.5:80\nhealth_interval_ms = 2000\n"
			       "health_timeout_ms = 2000\nhealth_fall = 7\nhealth_expect = 204\n"),
			 0);
	a = &cfg->services[0].health;
	b = &cfg->services[1].health;
	assert_int_equal(config_apply_env(cfg, load_env(envp), err, sizeof(err)), 0);
	assert_int_equal(a->interval_ms, 1000);
	assert_int_equal(a->timeout_ms, 250);
	assert_int_equal(a->rise, 5);
	assert_int_equal(a->fall, 2);
	assert_int_equal(a->expect_lo, 200);
	assert_int_equal(a->expect_hi, 399);
	assert_false(a->set.interval_ms || a->set.timeout_ms || a->set.rise || a->set.fall ||
		     a->set.expect || a->set.kind);
	assert_int_equal(b->interval_ms, 2000);
	assert_int_equal(b->timeout_ms, 2000);
	assert_int_equal(b->rise, 5);
	assert_int_equal(b->fall, 7);
	assert_int_equal(b->expect_lo, 204);
	assert_int_equal(b->expect_hi, 204);

	/* Applied again with another environment (a reload): the defaults
	 * follow it, the file's values stay. */
	assert_int_equal(config_apply_env(cfg, load_env(NULL), err, sizeof(err)), 0);
	assert_int_equal(a->interval_ms, 500);
	assert_int_equal(a->rise, 2);
	assert_int_equal(b->interval_ms, 2000);
	assert_int_equal(b->rise, 2);
	assert_int_equal(b->fall, 7);
}

static const struct {
	const char *what;
	const char *text;
	char *env[3];
	const char *err; /* NULL: accepted */
} timeouts[] = {
    {"timeout equal to interval",
     WEB "health_timeout_ms = 500\nhealth_interval_ms = 500\n",
     {NULL},
     NULL},
    {"both from the file",
     WEB "health_timeout_ms = 600\nhealth_interval_ms = 500\n",
     {NULL},
     "service 'web': health_timeout_ms=600 is more than health_interval_ms=500 (accepted: "
     "timeout <= interval)"},
    {"interval from the environment",
     WEB "health_timeout_ms = 600\n",
     {NULL},
     "service 'web': health_timeout_ms=600 is more than health_interval_ms=500 (from "
     "STEER_HEALTH_INTERVAL_MS) (accepted: timeout <= interval)"},
    {"timeout from the environment",
     WEB "health_interval_ms = 100\n",
     {NULL},
     "service 'web': health_timeout_ms=250 (from STEER_HEALTH_TIMEOUT_MS) is more than "
     "health_interval_ms=100 (accepted: timeout <= interval)"},
    {"timeout from a set environment variable",
     WEB "health_interval_ms = 100\n",
     {"STEER_HEALTH_TIMEOUT_MS=100", NULL},
     NULL},
    {"checked on a service without checks too",
     "[service d]\nvip = 1.2.3.4:53\nprotocol = udp\nhealth_timeout_ms = 501\n",
     {NULL},
     "service 'd': health_timeout_ms=501 is more than health_interval_ms=500 (from "
     "STEER_HEALTH_INTERVAL_MS) (accepted: timeout <= interval)"},
    {"the first service that breaks the rule is named",
     "[service a]\nvip = 1.2.3.4:80\n[service b]\nvip = 1.2.3.5:80\nhealth_interval_ms = 20\n",
     {"STEER_HEALTH_TIMEOUT_MS=30", "STEER_HEALTH_INTERVAL_MS=40", NULL},
     "service 'b': health_timeout_ms=30 (from STEER_HEALTH_TIMEOUT_MS) is more than "
     "health_interval_ms=20 (accepted: timeout <= interval)"},
};

static void test_config_apply_env_refuses_timeout_over_interval(void **state)
{
	struct steer_config *cfg = *state;

	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		char got[sizeof(err) + 128], want[sizeof(err) + 128];
		int ret;

		assert_int_equal(parse(cfg, timeouts[i].text), 0);
		ret = config_apply_env(cfg, load_env(timeouts[i].env), err, sizeof(err));
		snprintf(got, sizeof(got), "%s: %d %s", timeouts[i].what, ret, ret ? err : "");
		snprintf(want, sizeof(want), "%s: %d %s", timeouts[i].what,
			 timeouts[i].err ? -1 : 0, timeouts[i].err ? timeouts[i].err : "");
		assert_string_equal(got, want);
	}
}

/* What the retry keys of a service parse to (before config_apply_env()). */
static const struct {
	const char *what;
	const char *text; /* one service */
	struct backoff_params p;
	const char *set; /* retry_set.initial_ms, multiplier, max_ms, jitter, timeout_ms as 0/1 */
} retry_good[] = {
    {"none set", WEB, {0, 0, 0, 0, 0}, "00000"},
    {"lower limits",
     WEB "retry_initial_backoff_ms = 0\nretry_backoff_multiplier = 1\nretry_max_backoff_ms = "
	 "1\nretry_jitter = 0\nretry_timeout_ms = 1\n",
     {0, 1, 1, 0, 1},
     "11111"},
    {"upper limits",
     WEB "retry_initial_backoff_ms = 3600000\nretry_backoff_multiplier = 1000000\n"
	 "retry_max_backoff_ms = 3600000\nretry_jitter = 1\nretry_timeout_ms = 86400000\n",
     {3600000, 1e6, 3600000, 1, 86400000},
     "11111"},
    {"decimals",
     WEB "retry_backoff_multiplier = 1.5\nretry_jitter = .05\n",
     {0, 1.5, 0, 0.05, 0},
     "01010"},
    {"exponent",
     WEB "retry_backoff_multiplier = 1e3\nretry_jitter = 5e-1\n",
     {0, 1000, 0, 0.5, 0},
     "01010"},
    {"initial equal to max",
     WEB "retry_initial_backoff_ms = 70\nretry_max_backoff_ms = 70\n",
     {70, 0, 70, 0, 0},
     "10100"},
    {"initial alone may exceed the default max",
     WEB "retry_initial_backoff_ms = 3600000\n",
     {3600000, 0, 0, 0, 0},
     "10000"},
    {"on a udp service",
     "[service d]\nvip = 1.2.3.4:53\nprotocol = udp\nretry_timeout_ms = 007\n",
     {0, 0, 0, 0, 7},
     "00001"},
};

static void test_config_parses_retry_keys(void **state)
{
	struct steer_config *cfg = *state;

	for (size_t i = 0; i < sizeof(retry_good) / sizeof(retry_good[0]); i++) {
		const struct backoff_params *r, *w = &retry_good[i].p;
		const struct svc_config *svc;
		char got[512], want[512];

		assert_int_equal(parse(cfg, retry_good[i].text), 0);
		svc = &cfg->services[0];
		r = &svc->retry;
		snprintf(got, sizeof(got), "%s: %u %a %u %a %u set=%d%d%d%d%d filled=%d",
			 retry_good[i].what, r->initial_ms, r->multiplier, r->max_ms, r->jitter,
			 r->timeout_ms, svc->retry_set.initial_ms, svc->retry_set.multiplier,
			 svc->retry_set.max_ms, svc->retry_set.jitter, svc->retry_set.timeout_ms,
			 svc->retry_filled);
		snprintf(want, sizeof(want), "%s: %u %a %u %a %u set=%s filled=0",
			 retry_good[i].what, w->initial_ms, w->multiplier, w->max_ms, w->jitter,
			 w->timeout_ms, retry_good[i].set);
		assert_string_equal(got, want);
	}
}

static void test_config_apply_env_fills_unset_retry_values_per_service(void **state)
{
	struct steer_config *cfg = *state;
	char *const envp[] = {"STEER_RETRY_INITIAL_BACKOFF_MS=10", "STEER_RETRY_JITTER=0.5", NULL};
	const struct svc_config *a, *b;

	assert_int_equal(parse(cfg,
			       "[service a]\nvip = 1.2.3.4:80\n"
			       "[service b]\nvip = 1.2.3.5:80\nretry_initial_backoff_ms = 100\n"
			       "retry_backoff_multiplier = 3\nretry_max_backoff_ms = 900\n"
			       "retry_timeout_ms = 5000\n"),
			 0);
	a = &cfg->services[0];
	b = &cfg->services[1];
	assert_int_equal(config_apply_env(cfg, load_env(envp), err, sizeof(err)), 0);
	assert_int_equal(a->retry.initial_ms, 10);
	assert_true(a->retry.multiplier == 2);
	assert_int_equal(a->retry.max_ms, 500);
	assert_true(a->retry.jitter == 0.5);
	assert_int_equal(a->retry.timeout_ms, 30000);
	assert_true(a->retry_filled);
	assert_false(a->retry_set.initial_ms || a->retry_set.multiplier || a->retry_set.max_ms ||
		     a->retry_set.jitter || a->retry_set.timeout_ms);
	assert_int_equal(b->retry.initial_ms, 100);
	assert_true(b->retry.multiplier == 3);
	assert_int_equal(b->retry.max_ms, 900);
	assert_true(b->retry.jitter == 0.5); /* the one b leaves out */
	assert_int_equal(b->retry.timeout_ms, 5000);

	/* Applied again with another environment (a reload): the defaults
	 * follow it, the file's values stay. */
	assert_int_equal(config_apply_env(cfg, load_env(NULL), err, sizeof(err)), 0);
	assert_int_equal(a->retry.initial_ms, 25);
	assert_true(a->retry.jitter == 0.2);
	assert_int_equal(b->retry.initial_ms, 100);
	assert_true(b->retry.jitter == 0.2);
	assert_int_equal(b->retry.timeout_ms, 5000);
}

static const struct {
	const char *what;
	const char *text;
	char *env[3];
	const char *err; /* NULL: accepted */
} retry_rules[] = {
    {"initial from the file above max from the environment",
     WEB "retry_initial_backoff_ms = 600\n",
     {NULL},
     "service 'web': retry_initial_backoff_ms=600 is more than retry_max_backoff_ms=500 (from "
     "STEER_RETRY_MAX_BACKOFF_MS) (accepted: initial <= max)"},
    {"max from the file below initial from the environment",
     WEB "retry_max_backoff_ms = 10\n",
     {NULL},
     "service 'web': retry_initial_backoff_ms=25 (from STEER_RETRY_INITIAL_BACKOFF_MS) is more "
     "than retry_max_backoff_ms=10 (accepted: initial <= max)"},
    {"max from the file below a set environment variable",
     WEB "retry_max_backoff_ms = 10\n",
     {"STEER_RETRY_INITIAL_BACKOFF_MS=11", NULL},
     "service 'web': retry_initial_backoff_ms=11 (from STEER_RETRY_INITIAL_BACKOFF_MS) is more "
     "than retry_max_backoff_ms=10 (accepted: initial <= max)"},
    {"a file's max makes room for the environment's initial",
     WEB "retry_max_backoff_ms = 700\n",
     {"STEER_RETRY_INITIAL_BACKOFF_MS=600", "STEER_RETRY_MAX_BACKOFF_MS=1000", NULL},
     NULL},
    {"initial equal to max", WEB "retry_initial_backoff_ms = 500\n", {NULL}, NULL},
    {"checked on a udp service too",
     "[service d]\nvip = 1.2.3.4:53\nprotocol = udp\nretry_initial_backoff_ms = 501\n",
     {NULL},
     "service 'd': retry_initial_backoff_ms=501 is more than retry_max_backoff_ms=500 (from "
     "STEER_RETRY_MAX_BACKOFF_MS) (accepted: initial <= max)"},
    {"the first service that breaks the rule is named",
     "[service a]\nvip = 1.2.3.4:80\n[service b]\nvip = 1.2.3.5:80\nretry_max_backoff_ms = 5\n",
     {"STEER_RETRY_INITIAL_BACKOFF_MS=6", "STEER_RETRY_MAX_BACKOFF_MS=6", NULL},
     "service 'b': retry_initial_backoff_ms=6 (from STEER_RETRY_INITIAL_BACKOFF_MS) is more "
     "than retry_max_backoff_ms=5 (accepted: initial <= max)"},
    {"health is checked first",
     WEB "health_timeout_ms = 600\nretry_initial_backoff_ms = 600\n",
     {NULL},
     "service 'web': health_timeout_ms=600 is more than health_interval_ms=500 (from "
     "STEER_HEALTH_INTERVAL_MS) (accepted: timeout <= interval)"},
};

static void test_config_apply_env_refuses_retry_initial_over_max(void **state)
{
	struct steer_config *cfg = *state;

	for (size_t i = 0; i < sizeof(retry_rules) / sizeof(retry_rules[0]); i++) {
		char got[sizeof(err) + 128], want[sizeof(err) + 128];
		int ret;

		assert_int_equal(parse(cfg, retry_rules[i].text), 0);
		ret = config_apply_env(cfg, load_env(retry_rules[i].env), err, sizeof(err));
		snprintf(got, sizeof(got), "%s: %d %s", retry_rules[i].what, ret, ret ? err : "");
		snprintf(want, sizeof(want), "%s: %d %s", retry_rules[i].what,
			 retry_rules[i].err ? -1 : 0, retry_rules[i].err ? retry_rules[i].err : "");
		assert_string_equal(got, want);
	}
}

static void ep(struct endpoint *out, const char *text)
{
	char msg[256];

	if (endpoint_parse(text, out, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
}

/* Two services built in memory, as a runtime caller would: web (tcp,
 * 10.96.0.1:80, two replicas) and dns (udp, [fd00::53]:53, one replica). */
static void build(struct steer_config *cfg)
{
	struct svc_config *web, *dns;

	config_clear(cfg);
	web = config_add_service(cfg);
	dns = config_add_service(cfg);
	web = &cfg->services[0]; /* the second add may have moved the first */
	assert_non_null(dns);
	assert_int_equal(svc_reserve(web, 2), 0);
	assert_int_equal(svc_reserve(dns, 1), 0);
	strcpy(web->name, "web");
	ep(&web->vip, "10.96.0.1:80");
	web->proto = IPPROTO_TCP;
	web->nreplicas = 2;
	ep(&web->replicas[0], "10.0.0.1:80");
	ep(&web->replicas[1], "10.0.0.2:80");
	web->health.kind = HEALTH_KIND_TCP;
	strcpy(dns->name, "dns");
	ep(&dns->vip, "[fd00::53]:53");
	dns->proto = IPPROTO_UDP;
	dns->nreplicas = 1;
	ep(&dns->replicas[0], "[fd00::1]:53");
}

static void break_no_vip(struct steer_config *c)
{
	memset(&c->services[0].vip, 0, sizeof(c->services[0].vip));
}
static void break_no_vip_at_line(struct steer_config *c)
{
	break_no_vip(c);
	c->services[0].line = 4;
}
static void break_same_vip(struct steer_config *c)
{
	c->services[1].vip = c->services[0].vip;
	c->services[1].proto = IPPROTO_TCP;
}
static void break_same_vip_at_lines(struct steer_config *c)
{
	break_same_vip(c);
	c->services[0].line = 1;
	c->services[1].line = 6;
}
static void break_family(struct steer_config *c)
{
	ep(&c->services[0].replicas[1], "[fd00::2]:80");
}
static void break_replica_is_vip(struct steer_config *c)
{
	ep(&c->services[1].replicas[0], "[fd00::53]:53");
}
static void break_replica_is_vip_at_line(struct steer_config *c)
{
	break_replica_is_vip(c);
	c->services[1].line = 9;
}
static void break_duplicate_replica(struct steer_config *c)
{
	c->services[0].replicas[1] = c->services[0].replicas[0];
}
static void break_too_many_replicas(struct steer_config *c)
{
	c->services[0].nreplicas = TEST_SLOTS + 1;
}
static void break_negative_replicas(struct steer_config *c)
{
	c->services[0].nreplicas = -1;
}
static void break_too_many_services(struct steer_config *c)
{
	c->nservices = TEST_SERVICES + 1;
}
static void break_http_on_udp(struct steer_config *c)
{
	c->services[1].health.kind = HEALTH_KIND_HTTP;
	strcpy(c->services[1].health.path, "/x");
}
static void break_http_path(struct steer_config *c)
{
	c->services[0].health.kind = HEALTH_KIND_HTTP;
	strcpy(c->services[0].health.path, "x");
}
static void break_http_path_unterminated(struct steer_config *c)
{
	c->services[0].health.kind = HEALTH_KIND_HTTP;
	c->services[0].health.path[0] = '/';
	memset(c->services[0].health.path + 1, 'a', HEALTH_PATH_MAX - 1);
}
static void break_set_rise(struct steer_config *c)
{
	c->services[0].health.set.rise = true; /* rise is 0 */
}
static void break_set_interval(struct steer_config *c)
{
	c->services[0].health.interval_ms = 3600001;
	c->services[0].health.set.interval_ms = true;
}
static void break_expect(struct steer_config *c)
{
	c->services[0].health.expect_lo = 300;
	c->services[0].health.expect_hi = 200;
	c->services[0].health.set.expect = true;
}
static void break_retry_jitter(struct steer_config *c)
{
	c->services[0].retry.jitter = 1.5;
	c->services[0].retry_set.jitter = true;
}
static void break_retry_multiplier_nan(struct steer_config *c)
{
	c->services[1].retry.multiplier = NAN;
	c->services[1].retry_set.multiplier = true;
}
static void break_retry_timeout(struct steer_config *c)
{
	c->services[0].retry_set.timeout_ms = true; /* timeout is 0 */
}
static void break_retry_initial_over_max(struct steer_config *c)
{
	c->services[0].retry.initial_ms = 600;
	c->services[0].retry.max_ms = 500;
	c->services[0].retry_set.initial_ms = true;
	c->services[0].retry_set.max_ms = true;
}
/* As config_apply_env() leaves it, with initial from the environment. */
static void break_retry_filled(struct steer_config *c)
{
	struct backoff_params p = {25, 2, 20, 0.2, 30000};

	c->services[0].retry = p;
	c->services[0].retry_set.max_ms = true;
	c->services[0].retry_filled = true;
}
static void break_name(struct steer_config *c)
{
	strcpy(c->services[1].name, "a b");
}
static void break_same_name(struct steer_config *c)
{
	strcpy(c->services[1].name, "web");
}
static void break_protocol(struct steer_config *c)
{
	c->services[0].proto = IPPROTO_ICMP;
}

static const struct {
	const char *what;
	void (*mutate)(struct steer_config *cfg);
	const char *err;
} mem_bad[] = {
    {"no vip", break_no_vip,
     "mem: service 'web' has no vip (accepted: vip = A.B.C.D:PORT or [IPV6]:PORT)"},
    {"no vip, section line known", break_no_vip_at_line,
     "mem:4: service 'web' has no vip (accepted: vip = A.B.C.D:PORT or [IPV6]:PORT)"},
    {"same vip", break_same_vip,
     "mem: service 'dns' has the same vip 10.96.0.1:80 (tcp) as service 'web'"},
    {"same vip, section lines known", break_same_vip_at_lines,
     "mem:6: service 'dns' has the same vip 10.96.0.1:80 (tcp) as service 'web' (line 1)"},
    {"replica family", break_family,
     "mem: replica [fd00::2]:80 of service 'web' is IPv6 but its vip 10.96.0.1:80 is IPv4 "
     "(accepted: replicas of the vip's family)"},
    {"replica is a vip", break_replica_is_vip,
     "mem: replica [fd00::53]:53 of service 'dns' is the vip of service 'dns' (accepted: an "
     "address that is no service's vip)"},
    {"replica is a vip, section line known", break_replica_is_vip_at_line,
     "mem: replica [fd00::53]:53 of service 'dns' is the vip of service 'dns' (line 9; "
     "accepted: an address that is no service's vip)"},
    {"duplicate replica", break_duplicate_replica,
     "mem: duplicate replica 10.0.0.1:80 in service 'web'"},
    {"too many replicas", break_too_many_replicas,
     "mem: service 'web' has more than 64 replicas (limit STEER_MAX_REPLICAS_PER_SERVICE=64)"},
    {"negative replica count", break_negative_replicas,
     "mem: service 'web' has -1 replicas (accepted: 0-64)"},
    {"too many services", break_too_many_services,
     "mem: 257 services (limit STEER_MAX_SERVICES=256)"},
    {"http on udp", break_http_on_udp,
     "mem: service 'dns' has health = http but protocol udp (accepted for udp: dns NAME [TYPE]|udp "
     "HEX [expect HEX]|tcp|none)"},
    {"bad http path", break_http_path,
     "mem: service 'web' has a bad health path 'x' (accepted: '/' then at most 254 visible "
     "ASCII characters, no blanks)"},
    {"rise set to 0", break_set_rise, "mem: service 'web' has health_rise=0 (accepted: 1-100)"},
    {"interval set above range", break_set_interval,
     "mem: service 'web' has health_interval_ms=3600001 (accepted: 10-3600000)"},
    {"expect reversed", break_expect,
     "mem: service 'web' has health_expect=300-200 (accepted: a status code 100-599, or LO-HI "
     "with 100 <= LO <= HI <= 599)"},
    {"retry jitter set above 1", break_retry_jitter,
     "mem: service 'web' has retry_jitter=1.5 (accepted: a decimal 0-1)"},
    {"retry multiplier set to NaN", break_retry_multiplier_nan,
     "mem: service 'dns' has retry_backoff_multiplier=nan (accepted: a decimal 1-1000000)"},
    {"retry timeout set to 0", break_retry_timeout,
     "mem: service 'web' has retry_timeout_ms=0 (accepted: 1-86400000)"},
    {"retry initial above max", break_retry_initial_over_max,
     "mem: service 'web': retry_initial_backoff_ms=600 is more than retry_max_backoff_ms=500 "
     "(accepted: initial <= max)"},
    {"retry initial above max after config_apply_env()", break_retry_filled,
     "mem: service 'web': retry_initial_backoff_ms=25 (from STEER_RETRY_INITIAL_BACKOFF_MS) is "
     "more than retry_max_backoff_ms=20 (accepted: initial <= max)"},
    {"bad name", break_name,
     "mem: bad service name 'a b' (accepted: 1-63 characters of A-Z a-z 0-9 _ . -)"},
    {"same name", break_same_name, "mem: duplicate service 'web'"},
    {"bad protocol", break_protocol, "mem: service 'web' has protocol 1 (accepted: tcp|udp)"},
};

static void test_config_validate_checks_a_config_built_in_memory(void **state)
{
	struct steer_config *cfg = *state;
	char want[HEALTH_PATH_MAX + 200];

	build(cfg);
	assert_int_equal(config_validate(cfg, "mem", err, sizeof(err)), 0);
	/* unset health values (still 0) are config_apply_env()'s to fill */
	assert_int_equal(cfg->services[0].health.rise, 0);

	for (size_t i = 0; i < sizeof(mem_bad) / sizeof(mem_bad[0]); i++) {
		char got[sizeof(err) + 128], exp[sizeof(err) + 128];

		build(cfg);
		mem_bad[i].mutate(cfg);
		err[0] = '\0';
		assert_int_equal(config_validate(cfg, "mem", err, sizeof(err)), -1);
		cfg->nservices = 2; /* a count a mutation broke: what the arrays hold */
		snprintf(got, sizeof(got), "%s: %s", mem_bad[i].what, err);
		snprintf(exp, sizeof(exp), "%s: %s", mem_bad[i].what, mem_bad[i].err);
		assert_string_equal(got, exp);
	}

	/* A 255-character path fits; the same without its NUL does not. */
	build(cfg);
	break_http_path_unterminated(cfg);
	cfg->services[0].health.path[HEALTH_PATH_MAX - 1] = '\0';
	assert_int_equal(config_validate(cfg, "mem", err, sizeof(err)), 0);
	build(cfg);
	break_http_path_unterminated(cfg);
	assert_int_equal(config_validate(cfg, "mem", err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "mem: service 'web' has a bad health path '/%0254d' (accepted: '/' then at "
		 "most 254 visible ASCII characters, no blanks)",
		 0);
	memset(want + strlen("mem: service 'web' has a bad health path '/"), 'a', 254);
	assert_string_equal(err, want);
}

static const char edit_file[] = "[service web]\n"
				"vip = 10.96.0.1:80\n"
				"replica = 10.0.0.1:80\n"
				"replica = 10.0.0.2:80\n"
				"replica = 10.0.0.3:80\n"
				"\n"
				"[service api]\n"
				"vip = 10.96.0.2:443\n"
				"\n"
				"[service dns6]\n"
				"protocol = udp\n"
				"vip = [fd00::53]:53\n";

static void test_config_add_replica_appends_a_valid_replica(void **state)
{
	struct steer_config *cfg = *state;
	struct svc_config *web, *dns6;
	struct endpoint e;

	assert_int_equal(parse(cfg, edit_file), 0);
	web = config_find_service(cfg, "web");
	dns6 = config_find_service(cfg, "dns6");
	assert_ptr_equal(web, &cfg->services[0]);
	assert_ptr_equal(dns6, &cfg->services[2]);
	assert_null(config_find_service(cfg, "we"));
	assert_null(config_find_service(cfg, ""));

	ep(&e, "10.0.0.4:80");
	assert_int_equal(config_add_replica(cfg, "web", &e, err, sizeof(err)), 0);
	assert_int_equal(web->nreplicas, 4);
	assert_true(endpoint_equal(&web->replicas[3], &e));
	ep(&e, "[fd00::1]:53");
	assert_int_equal(config_add_replica(cfg, "dns6", &e, err, sizeof(err)), 0);
	assert_int_equal(dns6->nreplicas, 1);
	/* the same address under another service is fine */
	ep(&e, "10.0.0.4:80");
	assert_int_equal(config_add_replica(cfg, "api", &e, err, sizeof(err)), 0);
	assert_int_equal(config_validate(cfg, "edited", err, sizeof(err)), 0);
}

static const struct {
	const char *what;
	const char *service, *replica;
	const char *err;
} add_bad[] = {
    {"unknown service", "nope", "10.0.0.9:80", "unknown service 'nope'"},
    {"service names are exact", "WEB", "10.0.0.9:80", "unknown service 'WEB'"},
    {"duplicate", "web", "10.0.0.2:80", "duplicate replica 10.0.0.2:80 in service 'web'"},
    {"own vip", "web", "10.96.0.1:80",
     "replica 10.96.0.1:80 of service 'web' is the vip of service 'web' (line 1; accepted: an "
     "address that is no service's vip)"},
    {"another service's vip", "web", "10.96.0.2:443",
     "replica 10.96.0.2:443 of service 'web' is the vip of service 'api' (line 7; accepted: an "
     "address that is no service's vip)"},
    {"wrong family", "web", "[fd00::9]:80",
     "replica [fd00::9]:80 of service 'web' is IPv6 but its vip 10.96.0.1:80 is IPv4 "
     "(accepted: replicas of the vip's family)"},
    {"wrong family for v6", "dns6", "10.0.0.9:53",
     "replica 10.0.0.9:53 of service 'dns6' is IPv4 but its vip [fd00::53]:53 is IPv6 "
     "(accepted: replicas of the vip's family)"},
};

static void test_config_add_replica_refuses_and_leaves_config_unchanged(void **state)
{
	struct steer_config *cfg = *state, *copy = cfg + 1;
	char *full;

	assert_int_equal(parse(cfg, edit_file), 0);
	assert_int_equal(config_copy(copy, cfg), 0);
	for (size_t i = 0; i < sizeof(add_bad) / sizeof(add_bad[0]); i++) {
		char got[sizeof(err) + 128], want[sizeof(err) + 128];
		struct endpoint e;

		ep(&e, add_bad[i].replica);
		err[0] = '\0';
		assert_int_equal(config_add_replica(cfg, add_bad[i].service, &e, err, sizeof(err)),
				 -1);
		snprintf(got, sizeof(got), "%s: %s", add_bad[i].what, err);
		snprintf(want, sizeof(want), "%s: %s", add_bad[i].what, add_bad[i].err);
		assert_string_equal(got, want);
		assert_config_equal(cfg, copy);
	}

	/* a full service */
	full = many_replicas(TEST_SLOTS);
	assert_int_equal(parse(cfg, full), 0);
	assert_int_equal(config_copy(copy, cfg), 0);
	{
		struct endpoint e;

		ep(&e, "10.9.9.9:80");
		assert_int_equal(config_add_replica(cfg, "web", &e, err, sizeof(err)), -1);
		assert_string_equal(err, "service 'web' has more than 64 replicas (limit "
					 "STEER_MAX_REPLICAS_PER_SERVICE=64)");
		assert_config_equal(cfg, copy);
	}
	free(full);
}

static void test_config_remove_replica_keeps_the_others_in_order(void **state)
{
	struct steer_config *cfg = *state;
	struct svc_config *web;
	struct endpoint e, zero;

	memset(&zero, 0, sizeof(zero));
	assert_int_equal(parse(cfg, edit_file), 0);
	web = &cfg->services[0];
	ep(&e, "10.0.0.1:80");
	assert_int_equal(config_remove_replica(cfg, "web", &e, err, sizeof(err)), 0);
	assert_int_equal(web->nreplicas, 2);
	assert_ep(&web->replicas[0], "10.0.0.2:80");
	assert_ep(&web->replicas[1], "10.0.0.3:80");
	assert_memory_equal(&web->replicas[2], &zero, sizeof(zero));

	ep(&e, "10.0.0.3:80");
	assert_int_equal(config_remove_replica(cfg, "web", &e, err, sizeof(err)), 0);
	ep(&e, "10.0.0.2:80");
	assert_int_equal(config_remove_replica(cfg, "web", &e, err, sizeof(err)), 0);
	assert_int_equal(web->nreplicas, 0);
	assert_memory_equal(&web->replicas[0], &zero, sizeof(zero));

	/* removed, it can be added back */
	assert_int_equal(config_add_replica(cfg, "web", &e, err, sizeof(err)), 0);
	assert_int_equal(web->nreplicas, 1);
	assert_int_equal(config_validate(cfg, "edited", err, sizeof(err)), 0);
}

static const struct {
	const char *what;
	const char *service, *replica;
	const char *err;
} remove_bad[] = {
    {"unknown service", "nope", "10.0.0.1:80", "unknown service 'nope'"},
    {"not a replica", "web", "10.0.0.9:80", "service 'web' has no replica 10.0.0.9:80"},
    {"another service's replica", "api", "10.0.0.1:80", "service 'api' has no replica 10.0.0.1:80"},
    {"same address, other port", "web", "10.0.0.1:81", "service 'web' has no replica 10.0.0.1:81"},
    {"the vip", "web", "10.96.0.1:80", "service 'web' has no replica 10.96.0.1:80"},
};

static void test_config_remove_replica_refuses_and_leaves_config_unchanged(void **state)
{
	struct steer_config *cfg = *state, *copy = cfg + 1;

	assert_int_equal(parse(cfg, edit_file), 0);
	assert_int_equal(config_copy(copy, cfg), 0);
	for (size_t i = 0; i < sizeof(remove_bad) / sizeof(remove_bad[0]); i++) {
		char got[sizeof(err) + 128], want[sizeof(err) + 128];
		struct endpoint e;

		ep(&e, remove_bad[i].replica);
		err[0] = '\0';
		assert_int_equal(
		    config_remove_replica(cfg, remove_bad[i].service, &e, err, sizeof(err)), -1);
		snprintf(got, sizeof(got), "%s: %s", remove_bad[i].what, err);
		snprintf(want, sizeof(want), "%s: %s", remove_bad[i].what, remove_bad[i].err);
		assert_string_equal(got, want);
		assert_config_equal(cfg, copy);
	}
}

static const char health_file[] = "[service web]\n"
				  "vip = 10.96.0.1:80\n"
				  "health = http /healthz\n"
				  "health_interval_ms = 1000\n"
				  "health_expect = 200\n"
				  "replica = 10.0.0.1:8080\n"
				  "\n"
				  "[service dns]\n"
				  "protocol = udp\n"
				  "vip = [fd00::53]:53\n"
				  "replica = [fd00::1]:53\n"
				  "\n"
				  "[service db]\n"
				  "vip = 10.96.0.5:5432\n"
				  "health = tcp\n"
				  "health_timeout_ms = 100\n"
				  "health_rise = 3\n"
				  "health_fall = 1\n"
				  "\n"
				  "[service quiet]\n"
				  "vip = 10.96.0.6:80\n"
				  "health = none\n"
				  "health_rise = 4\n"
				  "\n"
				  "[service api]\n"
				  "vip = 10.96.0.7:80\n"
				  "health = http /\n"
				  "health_expect = 200-299\n";

static char *print(const struct steer_config *cfg)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	config_print(cfg, f);
	fclose(f);
	return out;
}

/* The effective health settings are shown; those that came from the
 * environment as comments, so parsing the output back and applying the same
 * environment gives the same config. */
static void test_config_print_round_trips_health_keys(void **state)
{
	struct steer_config *cfg = *state, *again = cfg + 1;
	const struct steer_env *env = load_env(NULL);
	char *out, *out2;

	assert_int_equal(parse(cfg, health_file), 0);
	assert_int_equal(config_apply_env(cfg, env, err, sizeof(err)), 0);
	out = print(cfg);
	assert_string_equal(
	    out, "[service web]\n"
		 "vip = 10.96.0.1:80\n"
		 "protocol = tcp\n"
		 "health = http /healthz\n"
		 "health_interval_ms = 1000\n"
		 "; health_timeout_ms = 250 (default: STEER_HEALTH_TIMEOUT_MS)\n"
		 "; health_rise = 2 (default: STEER_HEALTH_RISE)\n"
		 "; health_fall = 2 (default: STEER_HEALTH_FALL)\n"
		 "health_expect = 200\n"
		 "; policy = p2c (default for tcp)\n"
		 "; retry_initial_backoff_ms = 25 (default: STEER_RETRY_INITIAL_BACKOFF_MS)\n"
		 "; retry_backoff_multiplier = 2 (default: STEER_RETRY_BACKOFF_MULTIPLIER)\n"
		 "; retry_max_backoff_ms = 500 (default: STEER_RETRY_MAX_BACKOFF_MS)\n"
		 "; retry_jitter = 0.2 (default: STEER_RETRY_JITTER)\n"
		 "; retry_timeout_ms = 30000 (default: STEER_RETRY_TIMEOUT_MS)\n"
		 "replica = 10.0.0.1:8080\n"
		 "\n"
		 "[service dns]\n"
		 "vip = [fd00::53]:53\n"
		 "protocol = udp\n"
		 "; health = dns . NS (default for udp on port 53)\n"
		 "; health_interval_ms = 500 (default: STEER_HEALTH_INTERVAL_MS)\n"
		 "; health_timeout_ms = 250 (default: STEER_HEALTH_TIMEOUT_MS)\n"
		 "; health_rise = 2 (default: STEER_HEALTH_RISE)\n"
		 "; health_fall = 2 (default: STEER_HEALTH_FALL)\n"
		 "; policy = random (default for udp)\n"
		 "replica = [fd00::1]:53\n"
		 "\n"
		 "[service db]\n"
		 "vip = 10.96.0.5:5432\n"
		 "protocol = tcp\n"
		 "health = tcp\n"
		 "; health_interval_ms = 500 (default: STEER_HEALTH_INTERVAL_MS)\n"
		 "health_timeout_ms = 100\n"
		 "health_rise = 3\n"
		 "health_fall = 1\n"
		 "; policy = p2c (default for tcp)\n"
		 "; retry_initial_backoff_ms = 25 (default: STEER_RETRY_INITIAL_BACKOFF_MS)\n"
		 "; retry_backoff_multiplier = 2 (default: STEER_RETRY_BACKOFF_MULTIPLIER)\n"
		 "; retry_max_backoff_ms = 500 (default: STEER_RETRY_MAX_BACKOFF_MS)\n"
		 "; retry_jitter = 0.2 (default: STEER_RETRY_JITTER)\n"
		 "; retry_timeout_ms = 30000 (default: STEER_RETRY_TIMEOUT_MS)\n"
		 "\n"
		 "[service quiet]\n"
		 "vip = 10.96.0.6:80\n"
		 "protocol = tcp\n"
		 "health = none\n"
		 "health_rise = 4\n"
		 "; policy = p2c (default for tcp)\n"
		 "; retry_initial_backoff_ms = 25 (default: STEER_RETRY_INITIAL_BACKOFF_MS)\n"
		 "; retry_backoff_multiplier = 2 (default: STEER_RETRY_BACKOFF_MULTIPLIER)\n"
		 "; retry_max_backoff_ms = 500 (default: STEER_RETRY_MAX_BACKOFF_MS)\n"
		 "; retry_jitter = 0.2 (default: STEER_RETRY_JITTER)\n"
		 "; retry_timeout_ms = 30000 (default: STEER_RETRY_TIMEOUT_MS)\n"
		 "\n"
		 "[service api]\n"
		 "vip = 10.96.0.7:80\n"
		 "protocol = tcp\n"
		 "health = http /\n"
		 "; health_interval_ms = 500 (default: STEER_HEALTH_INTERVAL_MS)\n"
		 "; health_timeout_ms = 250 (default: STEER_HEALTH_TIMEOUT_MS)\n"
		 "; health_rise = 2 (default: STEER_HEALTH_RISE)\n"
		 "; health_fall = 2 (default: STEER_HEALTH_FALL)\n"
		 "health_expect = 200-299\n"
		 "; policy = p2c (default for tcp)\n"
		 "; retry_initial_backoff_ms = 25 (default: STEER_RETRY_INITIAL_BACKOFF_MS)\n"
		 "; retry_backoff_multiplier = 2 (default: STEER_RETRY_BACKOFF_MULTIPLIER)\n"
		 "; retry_max_backoff_ms = 500 (default: STEER_RETRY_MAX_BACKOFF_MS)\n"
		 "; retry_jitter = 0.2 (default: STEER_RETRY_JITTER)\n"
		 "; retry_timeout_ms = 30000 (default: STEER_RETRY_TIMEOUT_MS)\n");

	assert_int_equal(parse(again, out), 0);
	assert_int_equal(config_apply_env(again, env, err, sizeof(err)), 0);
	assert_int_equal(again->nservices, cfg->nservices);
	for (int i = 0; i < cfg->nservices; i++) {
		/* everything but the section's line, which the printout moves */
		again->services[i].line = cfg->services[i].line;
	}
	assert_config_equal(again, cfg);
	{
	}
	out2 = print(again);
	assert_string_equal(out2, out);
	free(out);
	free(out2);
}

static const char retry_file[] = "[service web]\n"
				 "vip = 10.96.0.1:80\n"
				 "retry_backoff_multiplier = 1.5\n"
				 "retry_max_backoff_ms = 1000\n"
				 "retry_timeout_ms = 5000\n"
				 "\n"
				 "[service api]\n"
				 "vip = 10.96.0.2:80\n"
				 "health = none\n"
				 "retry_initial_backoff_ms = 0\n"
				 "retry_jitter = 0\n"
				 "\n"
				 "[service dns]\n"
				 "protocol = udp\n"
				 "vip = [fd00::53]:5353\n"
				 "retry_jitter = 0.05\n";

/* The retry keys print as the health ones do: the file's as keys, the
 * environment's as comments (not for UDP services, which hold nothing), and
 * the output parses back to the same config. */
static void test_config_print_round_trips_retry_keys(void **state)
{
	struct steer_config *cfg = *state, *again = cfg + 1;
	char *const envp[] = {"STEER_RETRY_INITIAL_BACKOFF_MS=0", "STEER_RETRY_JITTER=0.125", NULL};
	const struct steer_env *env = load_env(envp);
	char *out, *out2;

	assert_int_equal(parse(cfg, retry_file), 0);
	assert_int_equal(config_apply_env(cfg, env, err, sizeof(err)), 0);
	out = print(cfg);
	assert_string_equal(
	    out, "[service web]\n"
		 "vip = 10.96.0.1:80\n"
		 "protocol = tcp\n"
		 "; health = tcp (default for tcp)\n"
		 "; health_interval_ms = 500 (default: STEER_HEALTH_INTERVAL_MS)\n"
		 "; health_timeout_ms = 250 (default: STEER_HEALTH_TIMEOUT_MS)\n"
		 "; health_rise = 2 (default: STEER_HEALTH_RISE)\n"
		 "; health_fall = 2 (default: STEER_HEALTH_FALL)\n"
		 "; policy = p2c (default for tcp)\n"
		 "; retry_initial_backoff_ms = 0 (default: STEER_RETRY_INITIAL_BACKOFF_MS)\n"
		 "retry_backoff_multiplier = 1.5\n"
		 "retry_max_backoff_ms = 1000\n"
		 "; retry_jitter = 0.125 (default: STEER_RETRY_JITTER)\n"
		 "retry_timeout_ms = 5000\n"
		 "\n"
		 "[service api]\n"
		 "vip = 10.96.0.2:80\n"
		 "protocol = tcp\n"
		 "health = none\n"
		 "; policy = p2c (default for tcp)\n"
		 "retry_initial_backoff_ms = 0\n"
		 "; retry_backoff_multiplier = 2 (default: STEER_RETRY_BACKOFF_MULTIPLIER)\n"
		 "; retry_max_backoff_ms = 500 (default: STEER_RETRY_MAX_BACKOFF_MS)\n"
		 "retry_jitter = 0\n"
		 "; retry_timeout_ms = 30000 (default: STEER_RETRY_TIMEOUT_MS)\n"
		 "\n"
		 "[service dns]\n"
		 "vip = [fd00::53]:5353\n"
		 "protocol = udp\n"
		 "; health = none (default for udp)\n"
		 "; warning: no health checks: a dead replica keeps its share of the datagrams "
		 "(set health = dns NAME [TYPE] or udp HEX [expect HEX])\n"
		 "; policy = random (default for udp)\n"
		 "retry_jitter = 0.05\n");

	assert_int_equal(parse(again, out), 0);
	assert_int_equal(config_apply_env(again, env, err, sizeof(err)), 0);
	assert_int_equal(again->nservices, cfg->nservices);
	for (int i = 0; i < cfg->nservices; i++) {
		again->services[i].line = cfg->services[i].line;
		assert_memory_equal(&again->services[i], &cfg->services[i],
				    sizeof(cfg->services[i]));
	}
	out2 = print(again);
	assert_string_equal(out2, out);
	free(out);
	free(out2);

	/* before config_apply_env(), only the file's values are known */
	assert_int_equal(parse(cfg, retry_file), 0);
	out = print(cfg);
	assert_non_null(strstr(out, "protocol = tcp\n"
				    "; health = tcp (default for tcp)\n"
				    "; policy = p2c (default for tcp)\n"
				    "retry_backoff_multiplier = 1.5\n"
				    "retry_max_backoff_ms = 1000\n"
				    "retry_timeout_ms = 5000\n\n"));
	assert_null(strstr(out, "; retry_"));
	free(out);
}

static void test_config_print_retry_schedules_for_tcp_services(void **state)
{
	struct steer_config *cfg = *state;
	char *out;
	size_t len;
	FILE *f;

	assert_int_equal(parse(cfg, retry_file), 0);
	assert_int_equal(config_apply_env(cfg, load_env(NULL), err, sizeof(err)), 0);
	f = open_memstream(&out, &len);
	config_print_retry_schedules(cfg, f);
	fclose(f);
	assert_string_equal(
	    out, "# service web: retry waits 0, 25, 37.5, 56.25, 84.375, 126.563, 189.844, "
		 "284.766 ms (timeout 5000 ms, jitter 0.2)\n"
		 "# service api: retry waits 0, 0, 0, 0, 0, 0, 0, 0 ms (timeout 30000 ms, jitter "
		 "0)\n");
	free(out);

	assert_int_equal(parse(cfg, WEB), 0);
	assert_int_equal(config_apply_env(cfg, load_env(NULL), err, sizeof(err)), 0);
	f = open_memstream(&out, &len);
	config_print_retry_schedules(cfg, f);
	fclose(f);
	assert_string_equal(out, "# service web: retry waits 0, 25, 50, 100, 200, 400, 500, 500 ms "
				 "(timeout 30000 ms, jitter 0.2)\n");
	free(out);
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
	char *text = many_services(TEST_SERVICES, ""), *path = temp_file(text, strlen(text));

	assert_true(strlen(text) > 8192);
	assert_int_equal(config_load(path, cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->nservices, TEST_SERVICES);
	assert_string_equal(cfg->services[TEST_SERVICES - 1].name, "s255");
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
	    cmocka_unit_test_setup_teardown(test_config_parses_health_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_parses_dns_and_udp_health, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_bad_dns_and_udp_health, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_apply_env_fills_only_unset_values, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_apply_env_refuses_timeout_over_interval,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_validate_checks_a_config_built_in_memory,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_add_replica_appends_a_valid_replica, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_add_replica_refuses_and_leaves_config_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_remove_replica_keeps_the_others_in_order,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_remove_replica_refuses_and_leaves_config_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_print_round_trips_health_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_parses_retry_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_apply_env_fills_unset_retry_values_per_service, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_apply_env_refuses_retry_initial_over_max,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_print_round_trips_retry_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_print_retry_schedules_for_tcp_services,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_reads_file_and_names_it_in_errors,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_rejects_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_rejects_nul_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_reads_files_larger_than_one_buffer,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
