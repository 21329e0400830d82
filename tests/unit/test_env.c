/* Unit tests for agent/config/env*.c: the STEER_* table, env_load(), suggestions,
 * the number helpers and the printed table. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/env.h"
#include "registry/etcd_members.h"
#include "lib/decimal.h"
#include "lib/log.h"

#define REGISTRY_ACCEPTED "empty, or etcd:" ETCD_MEMBERS_ACCEPTED
#define IFACES_ACCEPTED	  "empty, or up to 16 interface names, comma-separated"
#define IFNAME_RULE	  "1-15 characters, no '/', ':' or blank, not '.' or '..'"
#define MAGLEV_ACCEPTED	  "a prime between 251 and 131071"
/* 16 distinct names: as many as STEER_XDP_IFACES takes */
#define NAMES16		 "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p"
#define CONTROL_ACCEPTED "absolute path, at most 107 bytes"
#define SOCK_DEF	 "/run/steer/steer.sock"
/* 107 and 106 characters: with a leading '/', one byte too many for
 * sockaddr_un.sun_path and its NUL, and exactly enough. */
#define SOCK107                                                                                    \
	"run/steer/"                                                                               \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaa.sock"
#define SOCK106                                                                                    \
	"run/steer/"                                                                               \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaa.sock"

/* env_load() on envp; returns its result, leaves warnings in *warnings
 * (malloc'd) and the error in err. */
static int load(struct steer_env *env, char *const *envp, char **warnings, char *err, size_t errlen)
{
	size_t len;
	FILE *warn = open_memstream(warnings, &len);
	int ret;

	assert_non_null(warn);
	err[0] = '\0';
	ret = env_load(env, envp, warn, err, errlen);
	fclose(warn);
	return ret;
}

static void test_env_defaults_apply_without_variables(void **state)
{
	char *const envp[] = {"PATH=/usr/bin", "HOME=/root", NULL};
	struct steer_env *env = malloc(sizeof(*env));
	char err[256], *warnings;

	(void)state;
	assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
	assert_string_equal(env->bpffs, "/sys/fs/bpf/steer");
	assert_string_equal(env->cgroup, "");
	assert_int_equal(env->log_level, LOG_INFO);
	assert_int_equal(env->health_interval_ms, 500);
	assert_int_equal(env->health_timeout_ms, 250);
	assert_int_equal(env->health_rise, 2);
	assert_int_equal(env->health_fall, 2);
	assert_int_equal(env->passive_eject_failures, 3);
	assert_string_equal(env->control_socket, "/run/steer/steer.sock");
	assert_int_equal(env->retry_initial_backoff_ms, 25);
	assert_true(env->retry_backoff_multiplier == 2.0);
	assert_int_equal(env->retry_max_backoff_ms, 500);
	assert_true(env->retry_jitter == 0.2);
	assert_int_equal(env->retry_timeout_ms, 30000);
	assert_int_equal(env->hold_max, 4096);
	assert_int_equal(env->relay_max, 4096);
	assert_int_equal(env->relay_idle_ms, 600000);
	assert_string_equal(env->xdp_ifaces, "");
	assert_string_equal(env->xdp_mode, "auto");
	assert_int_equal(env->maglev_size, 16381);
	assert_string_equal(warnings, "");
	free(warnings);

	assert_int_equal(env_load(env, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(env->bpffs, "/sys/fs/bpf/steer");
	free(env);
}

static const struct {
	char *var; /* NAME=value as in environ */
	const char *bpffs, *cgroup;
	int log_level;
} good[] = {
    {"STEER_BPFFS=/sys/fs/bpf/test", "/sys/fs/bpf/test", "", LOG_INFO},
    {"STEER_BPFFS=/", "/", "", LOG_INFO},
    {"STEER_BPFFS=/sys/fs/bpf/a..b/", "/sys/fs/bpf/a..b/", "", LOG_INFO},
    {"STEER_CGROUP=/sys/fs/cgroup/steer-test", "/sys/fs/bpf/steer", "/sys/fs/cgroup/steer-test",
     LOG_INFO},
    {"STEER_CGROUP=", "/sys/fs/bpf/steer", "", LOG_INFO},
    {"STEER_LOG_LEVEL=error", "/sys/fs/bpf/steer", "", LOG_ERROR},
    {"STEER_LOG_LEVEL=warn", "/sys/fs/bpf/steer", "", LOG_WARN},
    {"STEER_LOG_LEVEL=info", "/sys/fs/bpf/steer", "", LOG_INFO},
    {"STEER_LOG_LEVEL=debug", "/sys/fs/bpf/steer", "", LOG_DEBUG},
};

static const struct {
	char *vars[3]; /* NAME=value as in environ */
	uint32_t interval_ms, timeout_ms, rise, fall, eject;
	const char *control;
} good_health[] = {
    {{"STEER_HEALTH_INTERVAL_MS=10", "STEER_HEALTH_TIMEOUT_MS=10"}, 10, 10, 2, 2, 3, SOCK_DEF},
    {{"STEER_HEALTH_INTERVAL_MS=3600000", "STEER_HEALTH_TIMEOUT_MS=600000"},
     3600000,
     600000,
     2,
     2,
     3,
     SOCK_DEF},
    {{"STEER_HEALTH_TIMEOUT_MS=1"}, 500, 1, 2, 2, 3, SOCK_DEF},
    {{"STEER_HEALTH_TIMEOUT_MS=500"}, 500, 500, 2, 2, 3, SOCK_DEF}, /* equal: fits */
    {{"STEER_HEALTH_INTERVAL_MS=0250"}, 250, 250, 2, 2, 3, SOCK_DEF},
    {{"STEER_HEALTH_RISE=1", "STEER_HEALTH_FALL=100"}, 500, 250, 1, 100, 3, SOCK_DEF},
    {{"STEER_HEALTH_RISE=100", "STEER_HEALTH_FALL=1"}, 500, 250, 100, 1, 3, SOCK_DEF},
    {{"STEER_PASSIVE_EJECT_FAILURES=0"}, 500, 250, 2, 2, 0, SOCK_DEF},
    {{"STEER_PASSIVE_EJECT_FAILURES=1000"}, 500, 250, 2, 2, 1000, SOCK_DEF},
    {{"STEER_CONTROL_SOCKET=/tmp/s"}, 500, 250, 2, 2, 3, "/tmp/s"},
    {{"STEER_CONTROL_SOCKET=/"}, 500, 250, 2, 2, 3, "/"},
    {{"STEER_CONTROL_SOCKET=/" SOCK106}, 500, 250, 2, 2, 3, "/" SOCK106},
};

static void test_env_accepts_good_health_values(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(good_health) / sizeof(good_health[0]); i++) {
		char *const envp[] = {"OTHER=1", good_health[i].vars[0], good_health[i].vars[1],
				      NULL};
		char err[256], *warnings, got[512], want[512];

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
		assert_string_equal(warnings, "");
		free(warnings);
		snprintf(got, sizeof(got), "%s: %u %u %u %u %u %s", good_health[i].vars[0],
			 env->health_interval_ms, env->health_timeout_ms, env->health_rise,
			 env->health_fall, env->passive_eject_failures, env->control_socket);
		snprintf(want, sizeof(want), "%s: %u %u %u %u %u %s", good_health[i].vars[0],
			 good_health[i].interval_ms, good_health[i].timeout_ms, good_health[i].rise,
			 good_health[i].fall, good_health[i].eject, good_health[i].control);
		assert_string_equal(got, want);
	}
	assert_int_equal(strlen("/" SOCK106), 107);
	assert_int_equal(strlen("/" SOCK107), 108);
	free(env);
}

static const struct {
	char *vars[3]; /* NAME=value as in environ */
	uint32_t initial_ms;
	double multiplier;
	uint32_t max_ms;
	double jitter;
	uint32_t timeout_ms, hold_max;
} good_retry[] = {
    {{"STEER_RETRY_INITIAL_BACKOFF_MS=0"}, 0, 2, 500, 0.2, 30000, 4096},
    {{"STEER_RETRY_INITIAL_BACKOFF_MS=500"}, 500, 2, 500, 0.2, 30000, 4096}, /* equal: fits */
    {{"STEER_RETRY_INITIAL_BACKOFF_MS=3600000", "STEER_RETRY_MAX_BACKOFF_MS=3600000"},
     3600000,
     2,
     3600000,
     0.2,
     30000,
     4096},
    {{"STEER_RETRY_INITIAL_BACKOFF_MS=1", "STEER_RETRY_MAX_BACKOFF_MS=1"},
     1,
     2,
     1,
     0.2,
     30000,
     4096},
    {{"STEER_RETRY_MAX_BACKOFF_MS=25"}, 25, 2, 25, 0.2, 30000, 4096},
    {{"STEER_RETRY_BACKOFF_MULTIPLIER=1"}, 25, 1, 500, 0.2, 30000, 4096},
    {{"STEER_RETRY_BACKOFF_MULTIPLIER=1.5"}, 25, 1.5, 500, 0.2, 30000, 4096},
    {{"STEER_RETRY_BACKOFF_MULTIPLIER=1e6"}, 25, 1e6, 500, 0.2, 30000, 4096},
    {{"STEER_RETRY_BACKOFF_MULTIPLIER=1000000"}, 25, 1e6, 500, 0.2, 30000, 4096},
    {{"STEER_RETRY_JITTER=0"}, 25, 2, 500, 0, 30000, 4096},
    {{"STEER_RETRY_JITTER=-0"}, 25, 2, 500, 0, 30000, 4096},
    {{"STEER_RETRY_JITTER=1"}, 25, 2, 500, 1, 30000, 4096},
    {{"STEER_RETRY_JITTER=.05"}, 25, 2, 500, 0.05, 30000, 4096},
    {{"STEER_RETRY_TIMEOUT_MS=1"}, 25, 2, 500, 0.2, 1, 4096},
    {{"STEER_RETRY_TIMEOUT_MS=86400000"}, 25, 2, 500, 0.2, 86400000, 4096},
    {{"STEER_HOLD_MAX=1"}, 25, 2, 500, 0.2, 30000, 1},
    {{"STEER_HOLD_MAX=1000000"}, 25, 2, 500, 0.2, 30000, 1000000},
};

static void test_env_accepts_good_retry_values(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(good_retry) / sizeof(good_retry[0]); i++) {
		char *const envp[] = {"OTHER=1", good_retry[i].vars[0], good_retry[i].vars[1],
				      NULL};
		char err[256], *warnings, got[512], want[512];

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
		assert_string_equal(warnings, "");
		free(warnings);
		/* %a: the exact double, so 0.05 is not taken for 0.05000001 */
		snprintf(got, sizeof(got), "%s: %u %a %u %a %u %u", good_retry[i].vars[0],
			 env->retry_initial_backoff_ms, env->retry_backoff_multiplier,
			 env->retry_max_backoff_ms, env->retry_jitter, env->retry_timeout_ms,
			 env->hold_max);
		snprintf(want, sizeof(want), "%s: %u %a %u %a %u %u", good_retry[i].vars[0],
			 good_retry[i].initial_ms, good_retry[i].multiplier, good_retry[i].max_ms,
			 good_retry[i].jitter, good_retry[i].timeout_ms, good_retry[i].hold_max);
		assert_string_equal(got, want);
		assert_false(signbit(env->retry_jitter)); /* "-0" is 0, printed as "0" */
	}
	free(env);
}

static const struct {
	char *var;
	uint32_t relay_max, relay_idle_ms;
} good_relay[] = {
    {"STEER_RELAY_MAX=1", 1, 600000},
    {"STEER_RELAY_MAX=1000000", 1000000, 600000},
    {"STEER_RELAY_IDLE_MS=0", 4096, 0}, /* never */
    {"STEER_RELAY_IDLE_MS=86400000", 4096, 86400000},
};

static void test_env_accepts_good_relay_values(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(good_relay) / sizeof(good_relay[0]); i++) {
		char *const envp[] = {good_relay[i].var, NULL};
		char err[256], *warnings;

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
		assert_string_equal(warnings, "");
		free(warnings);
		assert_int_equal(env->relay_max, good_relay[i].relay_max);
		assert_int_equal(env->relay_idle_ms, good_relay[i].relay_idle_ms);
	}
	free(env);
}

static const struct {
	char *vars[3]; /* NAME=value as in environ */
	const char *ifaces, *mode;
	uint32_t maglev_size;
} good_xdp[] = {
    {{"STEER_XDP_IFACES="}, "", "auto", 16381},
    {{"STEER_XDP_IFACES=eth0"}, "eth0", "auto", 16381},
    {{"STEER_XDP_IFACES=eth0,eth1"}, "eth0,eth1", "auto", 16381},
    {{"STEER_XDP_IFACES=veth-st0.100,br_lan"}, "veth-st0.100,br_lan", "auto", 16381},
    {{"STEER_XDP_IFACES=abcdefghijklmno"}, "abcdefghijklmno", "auto", 16381}, /* 15 */
    {{"STEER_XDP_IFACES=...,.a,a."}, "...,.a,a.", "auto", 16381}, /* only . and .. are not */
    {{"STEER_XDP_IFACES=eth0,ETH0"}, "eth0,ETH0", "auto", 16381}, /* names are exact */
    {{"STEER_XDP_IFACES=" NAMES16}, NAMES16, "auto", 16381},
    {{"STEER_XDP_MODE=auto"}, "", "auto", 16381},
    {{"STEER_XDP_MODE=native", "STEER_XDP_IFACES=eth0"}, "eth0", "native", 16381},
    {{"STEER_XDP_MODE=generic"}, "", "generic", 16381},
    {{"STEER_MAGLEV_SIZE=251"}, "", "auto", 251},
    {{"STEER_MAGLEV_SIZE=0251"}, "", "auto", 251},
    {{"STEER_MAGLEV_SIZE=65537"}, "", "auto", 65537},
    {{"STEER_MAGLEV_SIZE=131071"}, "", "auto", 131071},
};

static void test_env_accepts_good_xdp_values(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(good_xdp) / sizeof(good_xdp[0]); i++) {
		char *const envp[] = {"OTHER=1", good_xdp[i].vars[0], good_xdp[i].vars[1], NULL};
		char err[512], *warnings, got[512], want[512];

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
		assert_string_equal(warnings, "");
		free(warnings);
		snprintf(got, sizeof(got), "%s: '%s' %s %u", good_xdp[i].vars[0], env->xdp_ifaces,
			 env->xdp_mode, env->maglev_size);
		snprintf(want, sizeof(want), "%s: '%s' %s %u", good_xdp[i].vars[0],
			 good_xdp[i].ifaces, good_xdp[i].mode, good_xdp[i].maglev_size);
		assert_string_equal(got, want);
	}
	free(env);
}

/* env_ifaces_next() yields the names of a list, one per call; even on lists
 * env_load() would refuse it skips empty names and cuts long ones. */
static void test_env_ifaces_next_walks_the_names(void **state)
{
	static const struct {
		const char *list, *names; /* names: what it yields, joined by ' ' */
	} lists[] = {
	    {"", ""},
	    {"eth0", "eth0"},
	    {"eth0,eth1", "eth0 eth1"},
	    {NAMES16, "a b c d e f g h i j k l m n o p"},
	    {"abcdefghijklmno,x", "abcdefghijklmno x"},
	    /* unchecked */
	    {",,a,,b,", "a b"},
	    {",", ""},
	    {"abcdefghijklmnopqrstuvwxyz,x", "abcdefghijklmno x"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const char *pos = lists[i].list;
		char name[ENV_IFNAMSIZ], got[512] = "";
		int calls = 0;

		while (env_ifaces_next(&pos, name)) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
				 got[0] ? " " : "", name);
			assert_true(++calls <= ENV_XDP_IFACES_MAX + 2);
		}
		assert_string_equal(got, lists[i].names);
		assert_int_equal(*pos, '\0');
		assert_false(env_ifaces_next(&pos, name)); /* and stays at the end */
	}
}

static void test_env_accepts_good_values(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *const envp[] = {"OTHER=1", good[i].var, NULL};
		char err[256], *warnings;

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		assert_string_equal(warnings, "");
		free(warnings);
		assert_string_equal(env->bpffs, good[i].bpffs);
		assert_string_equal(env->cgroup, good[i].cgroup);
		assert_int_equal(env->log_level, good[i].log_level);
	}
	free(env);
}

#define BPFFS_ACCEPTED	"absolute path on a bpf filesystem, no '..', max PATH_MAX-1 chars"
#define CGROUP_ACCEPTED "empty, or absolute path of a cgroup v2 dir, no '..', max PATH_MAX-1 chars"
static const struct {
	char *var;
	const char *err;
} bad[] = {
    {"STEER_BPFFS=", "STEER_BPFFS='': expected " BPFFS_ACCEPTED},
    {"STEER_BPFFS=sys/fs/bpf", "STEER_BPFFS='sys/fs/bpf': expected " BPFFS_ACCEPTED},
    {"STEER_BPFFS=/sys/fs/bpf/..", "STEER_BPFFS='/sys/fs/bpf/..': expected " BPFFS_ACCEPTED},
    {"STEER_BPFFS=/sys/../tmp", "STEER_BPFFS='/sys/../tmp': expected " BPFFS_ACCEPTED},
    {"STEER_BPFFS= /sys/fs/bpf", "STEER_BPFFS=' /sys/fs/bpf': expected " BPFFS_ACCEPTED},
    {"STEER_CGROUP=steer", "STEER_CGROUP='steer': expected " CGROUP_ACCEPTED},
    {"STEER_CGROUP=/sys/fs/cgroup/../x",
     "STEER_CGROUP='/sys/fs/cgroup/../x': expected " CGROUP_ACCEPTED},
    {"STEER_LOG_LEVEL=loud", "STEER_LOG_LEVEL='loud': expected error|warn|info|debug"},
    {"STEER_LOG_LEVEL=INFO", "STEER_LOG_LEVEL='INFO': expected error|warn|info|debug"},
    {"STEER_LOG_LEVEL=", "STEER_LOG_LEVEL='': expected error|warn|info|debug"},
    {"STEER_LOG_LEVEL=info ", "STEER_LOG_LEVEL='info ': expected error|warn|info|debug"},
    {"STEER_HEALTH_INTERVAL_MS=9", "STEER_HEALTH_INTERVAL_MS='9': expected 10-3600000"},
    {"STEER_HEALTH_INTERVAL_MS=3600001", "STEER_HEALTH_INTERVAL_MS='3600001': expected 10-3600000"},
    {"STEER_HEALTH_INTERVAL_MS=-500", "STEER_HEALTH_INTERVAL_MS='-500': expected 10-3600000"},
    {"STEER_HEALTH_INTERVAL_MS=99999999999999999999",
     "STEER_HEALTH_INTERVAL_MS='99999999999999999999': expected 10-3600000"},
    {"STEER_HEALTH_INTERVAL_MS=4294967796",
     "STEER_HEALTH_INTERVAL_MS='4294967796': expected 10-3600000"}, /* 500 + 2^32 */
    {"STEER_HEALTH_INTERVAL_MS=500.0", "STEER_HEALTH_INTERVAL_MS='500.0': expected 10-3600000"},
    {"STEER_HEALTH_INTERVAL_MS=500ms", "STEER_HEALTH_INTERVAL_MS='500ms': expected 10-3600000"},
    {"STEER_HEALTH_INTERVAL_MS=", "STEER_HEALTH_INTERVAL_MS='': expected 10-3600000"},
    {"STEER_HEALTH_TIMEOUT_MS=0",
     "STEER_HEALTH_TIMEOUT_MS='0': expected 1-600000, at most STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_TIMEOUT_MS=600001",
     "STEER_HEALTH_TIMEOUT_MS='600001': expected 1-600000, at most STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_TIMEOUT_MS=-1",
     "STEER_HEALTH_TIMEOUT_MS='-1': expected 1-600000, at most STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_TIMEOUT_MS=99999999999999999999",
     "STEER_HEALTH_TIMEOUT_MS='99999999999999999999': expected 1-600000, at most "
     "STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_TIMEOUT_MS=0.5",
     "STEER_HEALTH_TIMEOUT_MS='0.5': expected 1-600000, at most STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_TIMEOUT_MS=",
     "STEER_HEALTH_TIMEOUT_MS='': expected 1-600000, at most STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_RISE=0", "STEER_HEALTH_RISE='0': expected 1-100"},
    {"STEER_HEALTH_RISE=101", "STEER_HEALTH_RISE='101': expected 1-100"},
    {"STEER_HEALTH_RISE=-2", "STEER_HEALTH_RISE='-2': expected 1-100"},
    {"STEER_HEALTH_RISE=99999999999999999999",
     "STEER_HEALTH_RISE='99999999999999999999': expected 1-100"},
    {"STEER_HEALTH_RISE=2.0", "STEER_HEALTH_RISE='2.0': expected 1-100"},
    {"STEER_HEALTH_RISE=+2", "STEER_HEALTH_RISE='+2': expected 1-100"},
    {"STEER_HEALTH_RISE= 2", "STEER_HEALTH_RISE=' 2': expected 1-100"},
    {"STEER_HEALTH_RISE=", "STEER_HEALTH_RISE='': expected 1-100"},
    {"STEER_HEALTH_FALL=0", "STEER_HEALTH_FALL='0': expected 1-100"},
    {"STEER_HEALTH_FALL=101", "STEER_HEALTH_FALL='101': expected 1-100"},
    {"STEER_HEALTH_FALL=-1", "STEER_HEALTH_FALL='-1': expected 1-100"},
    {"STEER_HEALTH_FALL=99999999999999999999",
     "STEER_HEALTH_FALL='99999999999999999999': expected 1-100"},
    {"STEER_HEALTH_FALL=1e1", "STEER_HEALTH_FALL='1e1': expected 1-100"},
    {"STEER_HEALTH_FALL=0x2", "STEER_HEALTH_FALL='0x2': expected 1-100"},
    {"STEER_HEALTH_FALL=", "STEER_HEALTH_FALL='': expected 1-100"},
    {"STEER_PASSIVE_EJECT_FAILURES=1001", "STEER_PASSIVE_EJECT_FAILURES='1001': expected 0-1000"},
    {"STEER_PASSIVE_EJECT_FAILURES=-1", "STEER_PASSIVE_EJECT_FAILURES='-1': expected 0-1000"},
    {"STEER_PASSIVE_EJECT_FAILURES=99999999999999999999",
     "STEER_PASSIVE_EJECT_FAILURES='99999999999999999999': expected 0-1000"},
    {"STEER_PASSIVE_EJECT_FAILURES=1.5", "STEER_PASSIVE_EJECT_FAILURES='1.5': expected 0-1000"},
    {"STEER_PASSIVE_EJECT_FAILURES=never", "STEER_PASSIVE_EJECT_FAILURES='never': expected 0-1000"},
    {"STEER_PASSIVE_EJECT_FAILURES=", "STEER_PASSIVE_EJECT_FAILURES='': expected 0-1000"},
    {"STEER_CONTROL_SOCKET=", "STEER_CONTROL_SOCKET='': expected " CONTROL_ACCEPTED},
    {"STEER_CONTROL_SOCKET=steer.sock",
     "STEER_CONTROL_SOCKET='steer.sock': expected " CONTROL_ACCEPTED},
    {"STEER_CONTROL_SOCKET=./steer.sock",
     "STEER_CONTROL_SOCKET='./steer.sock': expected " CONTROL_ACCEPTED},
    {"STEER_CONTROL_SOCKET= /run/steer.sock",
     "STEER_CONTROL_SOCKET=' /run/steer.sock': expected " CONTROL_ACCEPTED},
    /* 108 bytes: one too many for sockaddr_un.sun_path with its NUL */
    {"STEER_CONTROL_SOCKET=/" SOCK107,
     "STEER_CONTROL_SOCKET='/" SOCK107 "': expected " CONTROL_ACCEPTED},
    /* retry variables */
    {"STEER_RETRY_INITIAL_BACKOFF_MS=-1",
     "STEER_RETRY_INITIAL_BACKOFF_MS='-1': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOFF_MS=3600001",
     "STEER_RETRY_INITIAL_BACKOFF_MS='3600001': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOFF_MS=99999999999999999999",
     "STEER_RETRY_INITIAL_BACKOFF_MS='99999999999999999999': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOFF_MS=4294967321", /* 25 + 2^32 */
     "STEER_RETRY_INITIAL_BACKOFF_MS='4294967321': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOFF_MS=25ms",
     "STEER_RETRY_INITIAL_BACKOFF_MS='25ms': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOFF_MS=2.5",
     "STEER_RETRY_INITIAL_BACKOFF_MS='2.5': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOFF_MS=",
     "STEER_RETRY_INITIAL_BACKOFF_MS='': expected 0-3600000, at most "
     "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=0.5",
     "STEER_RETRY_BACKOFF_MULTIPLIER='0.5': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=0",
     "STEER_RETRY_BACKOFF_MULTIPLIER='0': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=-2",
     "STEER_RETRY_BACKOFF_MULTIPLIER='-2': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=1000000.5",
     "STEER_RETRY_BACKOFF_MULTIPLIER='1000000.5': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=99999999999999999999",
     "STEER_RETRY_BACKOFF_MULTIPLIER='99999999999999999999': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=1e999",
     "STEER_RETRY_BACKOFF_MULTIPLIER='1e999': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=inf",
     "STEER_RETRY_BACKOFF_MULTIPLIER='inf': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=nan",
     "STEER_RETRY_BACKOFF_MULTIPLIER='nan': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=two",
     "STEER_RETRY_BACKOFF_MULTIPLIER='two': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=2x",
     "STEER_RETRY_BACKOFF_MULTIPLIER='2x': expected a decimal 1-1000000"},
    {"STEER_RETRY_BACKOFF_MULTIPLIER=",
     "STEER_RETRY_BACKOFF_MULTIPLIER='': expected a decimal 1-1000000"},
    {"STEER_RETRY_MAX_BACKOFF_MS=0", "STEER_RETRY_MAX_BACKOFF_MS='0': expected 1-3600000"},
    {"STEER_RETRY_MAX_BACKOFF_MS=3600001",
     "STEER_RETRY_MAX_BACKOFF_MS='3600001': expected 1-3600000"},
    {"STEER_RETRY_MAX_BACKOFF_MS=-500", "STEER_RETRY_MAX_BACKOFF_MS='-500': expected 1-3600000"},
    {"STEER_RETRY_MAX_BACKOFF_MS=99999999999999999999",
     "STEER_RETRY_MAX_BACKOFF_MS='99999999999999999999': expected 1-3600000"},
    {"STEER_RETRY_MAX_BACKOFF_MS=0x1f4", "STEER_RETRY_MAX_BACKOFF_MS='0x1f4': expected 1-3600000"},
    {"STEER_RETRY_JITTER=1.5", "STEER_RETRY_JITTER='1.5': expected a decimal 0-1"},
    {"STEER_RETRY_JITTER=-0.1", "STEER_RETRY_JITTER='-0.1': expected a decimal 0-1"},
    {"STEER_RETRY_JITTER=20%", "STEER_RETRY_JITTER='20%': expected a decimal 0-1"},
    {"STEER_RETRY_JITTER=99999999999999999999",
     "STEER_RETRY_JITTER='99999999999999999999': expected a decimal 0-1"},
    {"STEER_RETRY_JITTER=0x0.1p0", "STEER_RETRY_JITTER='0x0.1p0': expected a decimal 0-1"},
    {"STEER_RETRY_JITTER= 0.2", "STEER_RETRY_JITTER=' 0.2': expected a decimal 0-1"},
    {"STEER_RETRY_JITTER=", "STEER_RETRY_JITTER='': expected a decimal 0-1"},
    {"STEER_RETRY_TIMEOUT_MS=0", "STEER_RETRY_TIMEOUT_MS='0': expected 1-86400000"},
    {"STEER_RETRY_TIMEOUT_MS=86400001", "STEER_RETRY_TIMEOUT_MS='86400001': expected 1-86400000"},
    {"STEER_RETRY_TIMEOUT_MS=-30000", "STEER_RETRY_TIMEOUT_MS='-30000': expected 1-86400000"},
    {"STEER_RETRY_TIMEOUT_MS=99999999999999999999",
     "STEER_RETRY_TIMEOUT_MS='99999999999999999999': expected 1-86400000"},
    {"STEER_RETRY_TIMEOUT_MS=30s", "STEER_RETRY_TIMEOUT_MS='30s': expected 1-86400000"},
    {"STEER_HOLD_MAX=0", "STEER_HOLD_MAX='0': expected 1-1000000"},
    {"STEER_HOLD_MAX=1000001", "STEER_HOLD_MAX='1000001': expected 1-1000000"},
    {"STEER_HOLD_MAX=-1", "STEER_HOLD_MAX='-1': expected 1-1000000"},
    {"STEER_HOLD_MAX=99999999999999999999",
     "STEER_HOLD_MAX='99999999999999999999': expected 1-1000000"},
    {"STEER_HOLD_MAX=4k", "STEER_HOLD_MAX='4k': expected 1-1000000"},
    {"STEER_HOLD_MAX=", "STEER_HOLD_MAX='': expected 1-1000000"},
    {"STEER_RELAY_MAX=0", "STEER_RELAY_MAX='0': expected 1-1000000"},
    {"STEER_RELAY_MAX=1000001", "STEER_RELAY_MAX='1000001': expected 1-1000000"},
    {"STEER_RELAY_MAX=-1", "STEER_RELAY_MAX='-1': expected 1-1000000"},
    {"STEER_RELAY_IDLE_MS=86400001", "STEER_RELAY_IDLE_MS='86400001': expected 0-86400000"},
    {"STEER_RELAY_IDLE_MS=-1", "STEER_RELAY_IDLE_MS='-1': expected 0-86400000"},
    {"STEER_RELAY_IDLE_MS=10m", "STEER_RELAY_IDLE_MS='10m': expected 0-86400000"},
    /* the XDP path: the bad interface name is named */
    {"STEER_XDP_IFACES=eth0,a/b",
     "STEER_XDP_IFACES='eth0,a/b': 'a/b' is not an interface name (" IFNAME_RULE "); "
     "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth0:1",
     "STEER_XDP_IFACES='eth0:1': 'eth0:1' is not an interface name (" IFNAME_RULE "); "
     "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth0, eth1",
     "STEER_XDP_IFACES='eth0, eth1': ' eth1' is not an interface name (" IFNAME_RULE "); "
     "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth\t0",
     "STEER_XDP_IFACES='eth\t0': 'eth\t0' is not an interface name (" IFNAME_RULE "); "
     "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth\xa0",
     "STEER_XDP_IFACES='eth\xa0': 'eth\xa0' is not an interface name (" IFNAME_RULE "); "
     "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=.", "STEER_XDP_IFACES='.': '.' is not an interface name (" IFNAME_RULE "); "
			   "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth0,..",
     "STEER_XDP_IFACES='eth0,..': '..' is not an interface name (" IFNAME_RULE "); "
     "expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=abcdefghijklmnop", /* 16 characters: no room for the NUL */
     "STEER_XDP_IFACES='abcdefghijklmnop': 'abcdefghijklmnop' is not an interface name "
     "(" IFNAME_RULE "); expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth0,eth1,eth0",
     "STEER_XDP_IFACES='eth0,eth1,eth0': 'eth0' is named twice; expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=eth0,",
     "STEER_XDP_IFACES='eth0,': name 2 is empty; expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=,eth0",
     "STEER_XDP_IFACES=',eth0': name 1 is empty; expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=a,,b",
     "STEER_XDP_IFACES='a,,b': name 2 is empty; expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=,", "STEER_XDP_IFACES=',': name 1 is empty; expected " IFACES_ACCEPTED},
    {"STEER_XDP_IFACES=" NAMES16 ",q",
     "STEER_XDP_IFACES='" NAMES16 ",q': more than 16 names; expected " IFACES_ACCEPTED},
    {"STEER_XDP_MODE=Native", "STEER_XDP_MODE='Native': expected auto|native|generic"},
    {"STEER_XDP_MODE=skb", "STEER_XDP_MODE='skb': expected auto|native|generic"},
    {"STEER_XDP_MODE=drv", "STEER_XDP_MODE='drv': expected auto|native|generic"},
    {"STEER_XDP_MODE=auto ", "STEER_XDP_MODE='auto ': expected auto|native|generic"},
    {"STEER_XDP_MODE=", "STEER_XDP_MODE='': expected auto|native|generic"},
    {"STEER_MAGLEV_SIZE=250", "STEER_MAGLEV_SIZE='250': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=252", "STEER_MAGLEV_SIZE='252': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=241", "STEER_MAGLEV_SIZE='241': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=1", "STEER_MAGLEV_SIZE='1': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=0", "STEER_MAGLEV_SIZE='0': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=16383", "STEER_MAGLEV_SIZE='16383': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=131072", "STEER_MAGLEV_SIZE='131072': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=131101", "STEER_MAGLEV_SIZE='131101': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=4294983677", /* 16381 + 2^32 */
     "STEER_MAGLEV_SIZE='4294983677': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=99999999999999999999",
     "STEER_MAGLEV_SIZE='99999999999999999999': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=-16381", "STEER_MAGLEV_SIZE='-16381': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=16381.0", "STEER_MAGLEV_SIZE='16381.0': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=0x3ffd", "STEER_MAGLEV_SIZE='0x3ffd': expected " MAGLEV_ACCEPTED},
    {"STEER_MAGLEV_SIZE=", "STEER_MAGLEV_SIZE='': expected " MAGLEV_ACCEPTED},
    {"STEER_REGISTRY=127.0.0.1:2379",
     "STEER_REGISTRY='127.0.0.1:2379': it must start with 'etcd:'; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:",
     "STEER_REGISTRY='etcd:': member 1 '': empty member; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:127.0.0.1", "STEER_REGISTRY='etcd:127.0.0.1': member 1 '127.0.0.1': no "
				      ":PORT; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:a:1,,b:2",
     "STEER_REGISTRY='etcd:a:1,,b:2': member 2 '': empty member; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:h:0", "STEER_REGISTRY='etcd:h:0': member 1 'h:0': the port must be "
				"1-65535; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:h:65536", "STEER_REGISTRY='etcd:h:65536': member 1 'h:65536': the port "
				    "must be 1-65535; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:::1:2379",
     "STEER_REGISTRY='etcd:::1:2379': member 1 '::1:2379': an IPv6 address is written [ADDR]:PORT; "
     "expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:[::g]:2379",
     "STEER_REGISTRY='etcd:[::g]:2379': member 1 '[::g]:2379': not an IPv6 address inside [ ]; "
     "expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:bad_host:2379",
     "STEER_REGISTRY='etcd:bad_host:2379': member 1 'bad_host:2379': not an IPv4 address or a host "
     "name; expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY=etcd:a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1",
     "STEER_REGISTRY='etcd:a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1': more than 8 members; "
     "expected " REGISTRY_ACCEPTED},
    {"STEER_REGISTRY_PREFIX=steer/",
     "STEER_REGISTRY_PREFIX='steer/': expected '/' then at most 126 visible ASCII characters, no "
     "blanks"},
    {"STEER_REGISTRY_PREFIX=/a b/",
     "STEER_REGISTRY_PREFIX='/a b/': expected '/' then at most 126 visible ASCII characters, no "
     "blanks"},
    {"STEER_REGISTRY_PREFIX=",
     "STEER_REGISTRY_PREFIX='': expected '/' then at most 126 visible ASCII characters, no blanks"},
    {"STEER_REGISTRY_INITIAL_BACKOFF_MS=6000",
     "STEER_REGISTRY_INITIAL_BACKOFF_MS=6000 is more than STEER_REGISTRY_MAX_BACKOFF_MS=5000 "
     "(default) (accepted: initial <= max)"},
    {"STEER_REGISTRY_CA_FILE=ca.pem", "STEER_REGISTRY_CA_FILE='ca.pem': expected empty, or the "
				      "absolute path of a PEM file, no '..'"},
    {"STEER_REGISTRY_TIMEOUT_MS=9", "STEER_REGISTRY_TIMEOUT_MS='9': expected 10-600000"},
    /* the timeout must fit in the interval, set or default */
    {"STEER_HEALTH_INTERVAL_MS=100",
     "STEER_HEALTH_TIMEOUT_MS=250 (default) is more than STEER_HEALTH_INTERVAL_MS=100 "
     "(accepted: timeout <= interval)"},
    {"STEER_HEALTH_TIMEOUT_MS=501",
     "STEER_HEALTH_TIMEOUT_MS=501 is more than STEER_HEALTH_INTERVAL_MS=500 (default) "
     "(accepted: timeout <= interval)"},
};

/* The first retry wait must fit under the cap, set or default; the message
 * is backoff_validate()'s, with the defaults marked. */
static const struct {
	char *vars[3];
	const char *err;
} bad_retry[] = {
    {{"STEER_REGISTRY_CERT_FILE=/etc/steer/c.pem"},
     "STEER_REGISTRY_CERT_FILE is set but STEER_REGISTRY_KEY_FILE is empty (accepted: both set, "
     "for a client certificate, or neither)"},
    {{"STEER_REGISTRY_KEY_FILE=/etc/steer/k.pem"},
     "STEER_REGISTRY_KEY_FILE is set but STEER_REGISTRY_CERT_FILE is empty (accepted: both set, "
     "for a client certificate, or neither)"},
    {{"STEER_REGISTRY_CERT_FILE=/etc/steer/c.pem", "STEER_REGISTRY_KEY_FILE=/etc/steer/k.pem"},
     "STEER_REGISTRY_CERT_FILE is set but STEER_REGISTRY_CA_FILE is empty (accepted: a client "
     "certificate over TLS, which needs the CA)"},
    {{"STEER_RETRY_INITIAL_BACKOFF_MS=501"},
     "STEER_RETRY_INITIAL_BACKOFF_MS=501 is more than STEER_RETRY_MAX_BACKOFF_MS=500 (default) "
     "(accepted: initial <= max)"},
    {{"STEER_RETRY_MAX_BACKOFF_MS=24"},
     "STEER_RETRY_INITIAL_BACKOFF_MS=25 (default) is more than STEER_RETRY_MAX_BACKOFF_MS=24 "
     "(accepted: initial <= max)"},
    {{"STEER_RETRY_INITIAL_BACKOFF_MS=3600000", "STEER_RETRY_MAX_BACKOFF_MS=1"},
     "STEER_RETRY_INITIAL_BACKOFF_MS=3600000 is more than STEER_RETRY_MAX_BACKOFF_MS=1 "
     "(accepted: initial <= max)"},
    /* a range error comes first, and is the variable's own */
    {{"STEER_RETRY_MAX_BACKOFF_MS=0", "STEER_RETRY_INITIAL_BACKOFF_MS=26"},
     "STEER_RETRY_MAX_BACKOFF_MS='0': expected 1-3600000"},
};

static void test_env_rejects_retry_initial_above_max_naming_the_default(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(bad_retry) / sizeof(bad_retry[0]); i++) {
		char *const envp[] = {bad_retry[i].vars[0], bad_retry[i].vars[1], NULL};
		char err[512], *warnings;

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), -1);
		assert_string_equal(err, bad_retry[i].err);
		free(warnings);
	}
	free(env);
}

static void test_env_rejects_bad_values_naming_variable_value_and_accepted(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const envp[] = {bad[i].var, NULL};
		char err[512], *warnings;

		assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].err);
		free(warnings);
	}
	free(env);
}

static void test_env_rejects_path_of_path_max_characters(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));
	char *var = malloc(strlen("STEER_BPFFS=") + PATH_MAX + 1);
	char *envp[] = {var, NULL};
	char err[256], *warnings;

	(void)state;
	strcpy(var, "STEER_BPFFS=");
	memset(var + strlen(var), 'a', PATH_MAX);
	var[strlen("STEER_BPFFS=")] = '/';
	var[strlen("STEER_BPFFS=") + PATH_MAX] = '\0';
	assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), -1);
	assert_memory_equal(err, "STEER_BPFFS='/aaa", 17);
	free(warnings);

	var[strlen("STEER_BPFFS=") + PATH_MAX - 1] = '\0'; /* PATH_MAX-1 characters: fits */
	assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
	assert_int_equal(strlen(env->bpffs), PATH_MAX - 1);
	free(warnings);
	free(var);
	free(env);
}

static void test_env_first_occurrence_wins_like_getenv(void **state)
{
	char *const envp[] = {"STEER_LOG_LEVEL=debug", "STEER_LOG_LEVEL=loud", NULL};
	struct steer_env *env = malloc(sizeof(*env));
	char err[256], *warnings;

	(void)state;
	assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
	assert_int_equal(env->log_level, LOG_DEBUG);
	free(warnings);
	free(env);
}

static void test_env_warns_about_unknown_steer_variables_with_suggestion(void **state)
{
	char *const envp[] = {
	    "STEER_BPFS=/x", "STEER_LOGLEVEL=debug", "STEER_CGROUPS",  "STEER_XYZZY=1",
	    "STEERING=1",    "steer_bpffs=/x",	     "STEER_BPFFS=/y", NULL};
	struct steer_env *env = malloc(sizeof(*env));
	char err[256], *warnings;

	(void)state;
	assert_int_equal(load(env, envp, &warnings, err, sizeof(err)), 0);
	assert_string_equal(warnings,
			    "steer: warn: unknown variable STEER_BPFS; did you mean STEER_BPFFS?\n"
			    "steer: warn: unknown variable STEER_LOGLEVEL; did you mean "
			    "STEER_LOG_LEVEL?\n"
			    "steer: warn: unknown variable STEER_CGROUPS; did you mean "
			    "STEER_CGROUP?\n"
			    "steer: warn: unknown variable STEER_XYZZY (steer --help lists the "
			    "known ones)\n");
	assert_string_equal(env->bpffs, "/y");
	free(warnings);
	free(env);
}

static const struct {
	const char *name;
	const char *closest; /* NULL: nothing close enough */
} near[] = {
    {"STEER_BPFFS", "STEER_BPFFS"},
    {"STEER_BPFS", "STEER_BPFFS"},
    {"STEER_BPF_FS", "STEER_BPFFS"},
    {"STEER_bpffs", NULL}, /* 5 edits, limit max(3, 11/3) */
    {"STEER_CGRUOP", "STEER_CGROUP"},
    {"STEER_LOG_LEVL", "STEER_LOG_LEVEL"},
    {"STEER_LOGLEVEL", "STEER_LOG_LEVEL"},
    {"STEER_LOGGING", NULL},
    {"STEER_QWXJKVB", NULL},
    {"STEER_HEALTH_INTERVAL", "STEER_HEALTH_INTERVAL_MS"},
    {"STEER_HEALTH_RISES", "STEER_HEALTH_RISE"},
    {"STEER_HEALTH_FAIL", "STEER_HEALTH_FALL"},
    {"STEER_PASSIVE_EJECT_FAILURE", "STEER_PASSIVE_EJECT_FAILURES"},
    {"STEER_CONTROL_SOCK", "STEER_CONTROL_SOCKET"},
    {"STEER_RETRY_JITER", "STEER_RETRY_JITTER"},
    {"STEER_RETRY_TIMEOUT", "STEER_RETRY_TIMEOUT_MS"},
    {"STEER_RETRY_MAX_BACKOFF", "STEER_RETRY_MAX_BACKOFF_MS"},
    {"STEER_RETRY_INITIAL_BACKOF_MS", "STEER_RETRY_INITIAL_BACKOFF_MS"},
    {"STEER_BACKOFF_MULTIPLIER", "STEER_RETRY_BACKOFF_MULTIPLIER"},
    {"STEER_HOLDMAX", "STEER_HOLD_MAX"},
    {"", NULL},
};

static void test_env_closest_suggests_only_near_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		const char *got = env_closest(near[i].name);

		if (near[i].closest)
			assert_string_equal(got ? got : "(null)", near[i].closest);
		else
			assert_string_equal(got ? got : "(null)", "(null)");
	}
}

static const struct {
	const char *text;
	long long lo, hi;
	int ret;
	long long value;
} ints[] = {
    {"0", 0, 10, 0, 0},
    {"10", 0, 10, 0, 10},
    {"007", 0, 10, 0, 7},
    {"-5", -10, 10, 0, -5},
    {"9223372036854775807", 0, 9223372036854775807LL, 0, 9223372036854775807LL},
    {"11", 0, 10, -1, 0},
    {"-1", 0, 10, -1, 0},
    {"9223372036854775808", 0, 9223372036854775807LL, -1, 0},
    {"-99999999999999999999", -10, 10, -1, 0},
    {"", 0, 10, -1, 0},
    {"-", 0, 10, -1, 0},
    {"+5", 0, 10, -1, 0},
    {" 5", 0, 10, -1, 0},
    {"5 ", 0, 10, -1, 0},
    {"5x", 0, 10, -1, 0},
    {"0x5", 0, 10, -1, 0},
    {"1.0", 0, 10, -1, 0},
};

static void test_env_parse_int_checks_range_and_junk(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		long long v = 12345;

		assert_int_equal(env_parse_int(ints[i].text, ints[i].lo, ints[i].hi, &v),
				 ints[i].ret);
		assert_true(v == (ints[i].ret == 0 ? ints[i].value : 12345));
	}
}

static const struct {
	const char *text;
	double lo, hi;
	int ret;
	double value;
} decimals[] = {
    {"0", 0, 1, 0, 0},		 {"0.5", 0, 1, 0, 0.5},
    {".25", 0, 1, 0, 0.25},	 {"1", 0, 1, 0, 1},
    {"1e2", 0, 1000, 0, 100},	 {"-0.5", -1, 1, 0, -0.5},
    {"1.5", 0, 1, -1, 0},	 {"-0.1", 0, 1, -1, 0},
    {"1e999", 0, 1e300, -1, 0},	 {"1e-999", 0, 1, -1, 0},
    {"inf", 0, 1e300, -1, 0},	 {"nan", 0, 1, -1, 0},
    {"0x1p-1", 0, 1, -1, 0},	 {"", 0, 1, -1, 0},
    {".", 0, 1, -1, 0},		 {" 0.5", 0, 1, -1, 0},
    {"0.5 ", 0, 1, -1, 0},	 {"0.5.1", 0, 1, -1, 0},
    {"1e", 0, 10, -1, 0},	 {"-0", 0, 1, 0, 0},
    {"1000000", 1, 1e6, 0, 1e6}, {"1000000.1", 1, 1e6, -1, 0},
};

static void test_env_parse_decimal_checks_range_and_junk(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decimals) / sizeof(decimals[0]); i++) {
		double v = 12345;

		assert_int_equal(
		    env_parse_decimal(decimals[i].text, decimals[i].lo, decimals[i].hi, &v),
		    decimals[i].ret);
		assert_true(v == (decimals[i].ret == 0 ? decimals[i].value : 12345));
	}
}

static const struct {
	double v;
	const char *text;
} formats[] = {
    {0, "0"},
    {-0.0, "-0"},
    {0.2, "0.2"},
    {0.05, "0.05"},
    {1.5, "1.5"},
    {2, "2"},
    {1e6, "1000000"},
    {1.0 / 3, "0.3333333333333333"},
    {1e-7, "1e-07"},
    {1e300, "1e+300"},
    {NAN, "nan"},
    {INFINITY, "inf"},
    {-INFINITY, "-inf"},
};

static void test_decimal_format_gives_the_shortest_text_that_reads_back(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char buf[64];
		double back = 0;

		decimal_format(formats[i].v, buf, sizeof(buf));
		assert_string_equal(buf, formats[i].text);
		if (isfinite(formats[i].v) && formats[i].v >= 0) {
			assert_int_equal(env_parse_decimal(buf, 0, 1e308, &back), 0);
			assert_true(back == formats[i].v);
		}
	}
}

static const struct {
	const char *msg, *name, *rename, *note, *want;
} notes[] = {
    {"A=1 is more than B=2 (accepted: a <= b)", "B", NULL, " (default)",
     "A=1 is more than B=2 (default) (accepted: a <= b)"},
    {"A=1 is more than B=2 (accepted: a <= b)", "A", "key_a", " (from A)",
     "key_a=1 (from A) is more than B=2 (accepted: a <= b)"},
    {"X_A=1: expected 0-1", "X_A", "x", "", "x=1: expected 0-1"},
    {"X_A=0.5", "X_A", NULL, "!", "X_A=0.5!"},
    /* whole names only, with '=' after them */
    {"XX_A=1 and X_A=2", "X_A", "y", "", "XX_A=1 and y=2"},
    {"X_AB=1 and X_A=2", "X_A", "y", "", "X_AB=1 and y=2"},
    {"X_A is 1", "X_A", "y", " (no)", "X_A is 1"},
};

static void test_env_note_value_renames_and_annotates_one_value(void **state)
{
	char msg[64];

	(void)state;
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		snprintf(msg, sizeof(msg), "%s", notes[i].msg);
		env_note_value(msg, sizeof(msg), notes[i].name, notes[i].rename, notes[i].note);
		assert_string_equal(msg, notes[i].want);
	}
	/* cut to the buffer */
	snprintf(msg, 12, "A=1 then");
	env_note_value(msg, 12, "A", "longer", "");
	assert_string_equal(msg, "longer=1 th");
}

static void test_env_table_defaults_parse_and_rows_are_complete(void **state)
{
	struct steer_env *env = malloc(sizeof(*env));

	(void)state;
	assert_int_equal(env_vars_count, 39);
	for (size_t i = 0; i < env_vars_count; i++) {
		char err[256] = "";

		assert_non_null(env_vars[i].name);
		assert_memory_equal(env_vars[i].name, "STEER_", 6);
		assert_non_null(env_vars[i].def);
		assert_true(strlen(env_vars[i].accepted) > 0);
		assert_true(strlen(env_vars[i].meaning) > 0);
		assert_int_equal(
		    env_var_parse(&env_vars[i], env_vars[i].def, env, err, sizeof(err)), 0);
	}
	free(env);
}

/* Each row sets a field of its own, of the size its kind writes, inside
 * struct steer_env (a row copied without changing its FIELD() would
 * overwrite another variable), and a numeric row's `accepted` text starts
 * with the range it checks. */
static void test_env_table_rows_set_distinct_fields_of_their_kind(void **state)
{
	static const size_t kind_size[ENV_KIND_COUNT] = {
	    [ENV_KIND_UINT] = sizeof(uint32_t),	       [ENV_KIND_DECIMAL] = sizeof(double),
	    [ENV_KIND_LOG_LEVEL] = sizeof(int),	       [ENV_KIND_FLAG] = sizeof(bool),
	    [ENV_KIND_MAGLEV_SIZE] = sizeof(uint32_t),
	};

	(void)state;
	for (size_t i = 0; i < env_vars_count; i++) {
		const struct env_var *v = &env_vars[i];

		assert_true(v->kind < ENV_KIND_COUNT);
		assert_true(v->offset + v->size <= sizeof(struct steer_env));
		if (kind_size[v->kind])
			assert_int_equal(v->size, kind_size[v->kind]);
		else
			assert_true(v->size > 1); /* a char[] with room for more than the NUL */
		if (v->kind == ENV_KIND_UINT || v->kind == ENV_KIND_DECIMAL) {
			char range[64]; /* what `accepted` says must be the range checked */

			snprintf(range, sizeof(range), "%s%.0f-%.0f",
				 v->kind == ENV_KIND_DECIMAL ? "a decimal " : "", v->lo, v->hi);
			assert_memory_equal(v->accepted, range, strlen(range));
		}
		if (v->kind == ENV_KIND_FLAG) {
			assert_non_null(v->words[0]);
			assert_non_null(v->words[1]);
		}
		if (v->kind == ENV_KIND_FLAG || v->kind == ENV_KIND_CHOICE) {
			char words[128] = ""; /* `accepted` must be the words, '|'-separated */
			size_t nwords = sizeof(v->words) / sizeof(v->words[0]);

			assert_null(v->words[nwords - 1]); /* a CHOICE's list ends */
			for (size_t w = 0; w < nwords && v->words[w]; w++)
				snprintf(words + strlen(words), sizeof(words) - strlen(words),
					 "%s%s", w ? "|" : "", v->words[w]);
			assert_string_equal(v->accepted, words);
		}
		for (size_t j = 0; j < i; j++)
			assert_true(env_vars[j].offset + env_vars[j].size <= v->offset ||
				    v->offset + v->size <= env_vars[j].offset);
	}
}

static void test_env_print_table_aligns_columns(void **state)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	const char *line;
	ptrdiff_t col = -1;
	size_t rows = 0;

	(void)state;
	env_print_table(f);
	fclose(f);
	/* The MEANING column starts at the same offset on every line. */
	for (line = out; *line; line = strchr(line, '\n') + 1, rows++) {
		const char *m =
		    rows == 0 ? strstr(line, "MEANING") : strstr(line, env_vars[rows - 1].meaning);

		assert_non_null(m);
		if (col < 0)
			col = m - line;
		assert_int_equal(m - line, col);
		assert_memory_equal(line, rows == 0 ? "NAME " : env_vars[rows - 1].name,
				    strlen(rows == 0 ? "NAME " : env_vars[rows - 1].name));
	}
	assert_int_equal(rows, env_vars_count + 1);
	/* the longest name, STEER_REGISTRY_INITIAL_BACKOFF_MS, sets the width */
	assert_non_null(strstr(out, "\nSTEER_CGROUP                       (empty) "));
	assert_non_null(strstr(out, "\nSTEER_REGISTRY_INITIAL_BACKOFF_MS  100 "));
	assert_non_null(strstr(out, "\nSTEER_RETRY_JITTER                 0.2 "));
	free(out);
}

static void test_env_print_effective_shows_name_value_lines(void **state)
{
	char *const envp[] = {"STEER_LOG_LEVEL=debug", NULL};
	struct steer_env *env = malloc(sizeof(*env));
	char err[256], *out;
	size_t len;
	FILE *f;

	(void)state;
	assert_int_equal(env_load(env, envp, NULL, err, sizeof(err)), 0);
	f = open_memstream(&out, &len);
	env_print_effective(env, f);
	fclose(f);
	assert_string_equal(out, "STEER_BPFFS=/sys/fs/bpf/steer\n"
				 "STEER_CGROUP=(cgroup v2 root)\n"
				 "STEER_LOG_LEVEL=debug\n"
				 "STEER_HEALTH_INTERVAL_MS=500\n"
				 "STEER_HEALTH_TIMEOUT_MS=250\n"
				 "STEER_HEALTH_RISE=2\n"
				 "STEER_HEALTH_FALL=2\n"
				 "STEER_PASSIVE_EJECT_FAILURES=3\n"
				 "STEER_ZONE=(none)\n"
				 "STEER_PREFER_LOCAL=1\n"
				 "STEER_SOCK_DESTROY_TCP=off\n"
				 "STEER_CONTROL_SOCKET=/run/steer/steer.sock\n"
				 "STEER_RETRY_INITIAL_BACKOFF_MS=25\n"
				 "STEER_RETRY_BACKOFF_MULTIPLIER=2\n"
				 "STEER_RETRY_MAX_BACKOFF_MS=500\n"
				 "STEER_RETRY_JITTER=0.2\n"
				 "STEER_RETRY_TIMEOUT_MS=30000\n"
				 "STEER_HOLD_MAX=4096\n"
				 "STEER_RELAY_MAX=4096\n"
				 "STEER_RELAY_IDLE_MS=600000\n"
				 "STEER_MAX_SERVICES=65536\n"
				 "STEER_MAX_REPLICAS_PER_SERVICE=1024\n"
				 "STEER_MAX_REPLICAS=262144\n"
				 "STEER_METRICS_ADDR=127.0.0.1:9477\n"
				 "STEER_LOG_FORMAT=text\n"
				 "STEER_CONTROL_GROUP=(root only)\n"
				 "STEER_XDP_IFACES=(none)\n"
				 "STEER_XDP_MODE=auto\n"
				 "STEER_MAGLEV_SIZE=16381\n"
				 "STEER_REGISTRY=(none)\n"
				 "STEER_REGISTRY_PREFIX=/steer/\n"
				 "STEER_REGISTRY_INITIAL_BACKOFF_MS=100\n"
				 "STEER_REGISTRY_BACKOFF_MULTIPLIER=2\n"
				 "STEER_REGISTRY_MAX_BACKOFF_MS=5000\n"
				 "STEER_REGISTRY_JITTER=0.2\n"
				 "STEER_REGISTRY_TIMEOUT_MS=2000\n"
				 "STEER_REGISTRY_CA_FILE=(plain HTTP)\n"
				 "STEER_REGISTRY_CERT_FILE=(none)\n"
				 "STEER_REGISTRY_KEY_FILE=(none)\n");
	free(out);

	/* decimals read back the same: no "0.20000000000000001", no "1e+06" */
	env->retry_backoff_multiplier = 1e6;
	env->retry_jitter = 0.05;
	f = open_memstream(&out, &len);
	env_print_effective(env, f);
	fclose(f);
	assert_non_null(strstr(out, "\nSTEER_RETRY_BACKOFF_MULTIPLIER=1000000\n"));
	assert_non_null(strstr(out, "\nSTEER_RETRY_JITTER=0.05\n"));
	free(out);

	strcpy(env->cgroup, "/sys/fs/cgroup/x");
	f = open_memstream(&out, &len);
	env_print_effective(env, f);
	fclose(f);
	assert_non_null(strstr(out, "\nSTEER_CGROUP=/sys/fs/cgroup/x\n"));
	free(out);
	free(env);
}

static void test_env_log_level_names_round_trip(void **state)
{
	(void)state;
	for (int l = LOG_ERROR; l <= LOG_DEBUG; l++)
		assert_int_equal(log_level_parse(log_level_name(l)), l);
	assert_int_equal(log_level_parse("verbose"), -1);
}

static void test_env_metrics_addr_and_log_format(void **state)
{
	static const struct {
		const char *value;
		int ok;
		const char *want_err;
	} metrics[] = {
	    {"off", 0, ""},
	    {"127.0.0.1:9477", 0, ""},
	    {"[::1]:9100", 0, ""},
	    {"localhost:9477", -1,
	     "STEER_METRICS_ADDR='localhost:9477': expected ADDR:PORT or off"},
	    {"127.0.0.1:0", -1, "STEER_METRICS_ADDR='127.0.0.1:0': expected ADDR:PORT or off"},
	};
	struct steer_env env;
	char err[256], kv[128];

	(void)state;
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		char *envp[] = {kv, NULL};

		snprintf(kv, sizeof(kv), "STEER_METRICS_ADDR=%s", metrics[i].value);
		err[0] = '\0';
		assert_int_equal(env_load(&env, envp, NULL, err, sizeof(err)), metrics[i].ok);
		assert_string_equal(err, metrics[i].want_err);
	}
	{
		char *envp[] = {"STEER_METRICS_ADDR=off", "STEER_LOG_FORMAT=json", NULL};

		assert_int_equal(env_load(&env, envp, NULL, err, sizeof(err)), 0);
		assert_string_equal(env.metrics_addr, "");
		assert_true(env.log_json);
	}
	{
		char *envp[] = {"STEER_LOG_FORMAT=yaml", NULL};

		assert_int_equal(env_load(&env, envp, NULL, err, sizeof(err)), -1);
		assert_string_equal(err, "STEER_LOG_FORMAT='yaml': expected text|json");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_metrics_addr_and_log_format),
	    cmocka_unit_test(test_env_defaults_apply_without_variables),
	    cmocka_unit_test(test_env_accepts_good_values),
	    cmocka_unit_test(test_env_accepts_good_health_values),
	    cmocka_unit_test(test_env_accepts_good_retry_values),
	    cmocka_unit_test(test_env_accepts_good_relay_values),
	    cmocka_unit_test(test_env_accepts_good_xdp_values),
	    cmocka_unit_test(test_env_ifaces_next_walks_the_names),
	    cmocka_unit_test(test_env_rejects_bad_values_naming_variable_value_and_accepted),
	    cmocka_unit_test(test_env_rejects_retry_initial_above_max_naming_the_default),
	    cmocka_unit_test(test_env_rejects_path_of_path_max_characters),
	    cmocka_unit_test(test_env_first_occurrence_wins_like_getenv),
	    cmocka_unit_test(test_env_warns_about_unknown_steer_variables_with_suggestion),
	    cmocka_unit_test(test_env_closest_suggests_only_near_names),
	    cmocka_unit_test(test_env_parse_int_checks_range_and_junk),
	    cmocka_unit_test(test_env_parse_decimal_checks_range_and_junk),
	    cmocka_unit_test(test_decimal_format_gives_the_shortest_text_that_reads_back),
	    cmocka_unit_test(test_env_note_value_renames_and_annotates_one_value),
	    cmocka_unit_test(test_env_table_defaults_parse_and_rows_are_complete),
	    cmocka_unit_test(test_env_table_rows_set_distinct_fields_of_their_kind),
	    cmocka_unit_test(test_env_print_table_aligns_columns),
	    cmocka_unit_test(test_env_print_effective_shows_name_value_lines),
	    cmocka_unit_test(test_env_log_level_names_round_trip),
	};

	return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
