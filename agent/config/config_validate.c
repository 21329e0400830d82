/* Checks that need the whole config, service by service, after parsing or on
 * a config built in memory (config_validate()). The replica rules are shared
 * with the runtime edits (config_add_replica()) through
 * config_replica_problem(), so a rule and its message exist once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "lib/decimal.h"
#include "config/env.h"
#include "health/dns_msg.h"

static const char *family_name(uint8_t family)
{
	return family == STEER_FAMILY_V4 ? "IPv4" : family == STEER_FAMILY_V6 ? "IPv6" : "unset";
}

/* Line of service i's vip, or its section's line when the file's lines are
 * not known (a config built in memory or edited at runtime). */
static int vip_line(const struct steer_config *cfg, const struct config_lines *lines, int i)
{
	return lines ? lines->svc[i].vip : cfg->services[i].line;
}

/* The services sorted by VIP, so a replica is checked against every VIP in
 * log n: with 1000 services of 10 replicas, the walk of every VIP for each
 * replica was a quarter of a registry apply. */
struct vip_index {
	const struct steer_config *cfg;
	int *svc; /* service indexes, by VIP; NULL: none built (walk instead) */
	/* Per service: the first earlier one with the same VIP and protocol,
	 * or with the same name; -1 for none. NULL: not built (walk). */
	int *same_vip, *same_name;
};

static int endpoint_cmp(const struct endpoint *a, const struct endpoint *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int by_vip(const void *a, const void *b, void *arg)
{
	const struct steer_config *cfg = arg;
	int i = *(const int *)a, j = *(const int *)b;
	int c = endpoint_cmp(&cfg->services[i].vip, &cfg->services[j].vip);

	return c ? c : (i > j) - (i < j);
}

static int by_name(const void *a, const void *b, void *arg)
{
	const struct steer_config *cfg = arg;
	int i = *(const int *)a, j = *(const int *)b;
	int c = strcmp(cfg->services[i].name, cfg->services[j].name);

	return c ? c : (i > j) - (i < j);
}

/* same_vip[] and same_name[] from the sorted orders: within a run of equal
 * keys the indexes ascend, so the run's first (of the protocol) is the
 * first earlier service. */
static void dup_index_build(struct vip_index *x, const struct steer_config *cfg)
{
	size_t n = (size_t)(cfg->nservices ? cfg->nservices : 1);
	int *order = malloc(n * sizeof(*order));

	x->same_vip = malloc(n * sizeof(*x->same_vip));
	x->same_name = malloc(n * sizeof(*x->same_name));
	if (!order || !x->same_vip || !x->same_name) {
		free(x->same_vip);
		free(x->same_name);
		x->same_vip = x->same_name = NULL;
		free(order);
		return;
	}
	for (int k = 0, first[2] = {-1, -1}; k < cfg->nservices; k++) {
		int i = x->svc[k], u = cfg->services[i].proto == IPPROTO_UDP;

		if (k && endpoint_cmp(&cfg->services[x->svc[k - 1]].vip, &cfg->services[i].vip))
			first[0] = first[1] = -1;
		x->same_vip[i] = first[u];
		if (first[u] < 0)
			first[u] = i;
	}
	for (int i = 0; i < cfg->nservices; i++)
		order[i] = i;
	qsort_r(order, (size_t)cfg->nservices, sizeof(*order), by_name, (void *)cfg);
	for (int k = 0, first = -1; k < cfg->nservices; k++) {
		int i = order[k];

		if (k && strcmp(cfg->services[order[k - 1]].name, cfg->services[i].name))
			first = -1;
		x->same_name[i] = first;
		if (first < 0)
			first = i;
	}
	free(order);
}

static void vip_index_build(struct vip_index *x, const struct steer_config *cfg)
{
	x->cfg = cfg;
	x->same_vip = x->same_name = NULL;
	x->svc = malloc((size_t)(cfg->nservices ? cfg->nservices : 1) * sizeof(*x->svc));
	if (!x->svc)
		return; /* the walk still gives the same answers */
	for (int i = 0; i < cfg->nservices; i++)
		x->svc[i] = i;
	qsort_r(x->svc, (size_t)cfg->nservices, sizeof(*x->svc), by_vip, (void *)cfg);
	dup_index_build(x, cfg);
}

static void vip_index_free(struct vip_index *x)
{
	free(x->svc);
	free(x->same_vip);
	free(x->same_name);
}

/* The first service (in config order) whose VIP is ep, or -1. */
static int vip_owner(const struct vip_index *x, const struct steer_config *cfg,
		     const struct endpoint *ep)
{
	int lo = 0, hi = cfg->nservices;

	if (!x || !x->svc) {
		for (int j = 0; j < cfg->nservices; j++)
			if (endpoint_equal(ep, &cfg->services[j].vip))
				return j;
		return -1;
	}
	while (lo < hi) { /* the first entry not below ep */
		int mid = lo + (hi - lo) / 2;

		if (endpoint_cmp(&cfg->services[x->svc[mid]].vip, ep) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cfg->nservices && endpoint_equal(&cfg->services[x->svc[lo]].vip, ep)
		   ? x->svc[lo]
		   : -1;
}

static int replica_problem(const struct steer_config *cfg, int si, int ri,
			   const struct endpoint *ep, const struct config_lines *lines,
			   const struct vip_index *vips, char *msg, size_t len)
{
	const struct svc_config *svc = &cfg->services[si];
	char a[ADDR_STRLEN], b[ADDR_STRLEN], at[32] = "";
	int j;

	for (int r = 0; r < ri; r++) {
		if (!endpoint_equal(&svc->replicas[r], ep))
			continue;
		endpoint_format(ep, a, sizeof(a));
		if (lines)
			snprintf(at, sizeof(at), " (first at line %d)", lines->svc[si].replica[r]);
		snprintf(msg, len, "duplicate replica %s in service '%s'%s", a, svc->name, at);
		return -1;
	}
	if (ep->family != svc->vip.family) {
		endpoint_format(ep, a, sizeof(a));
		snprintf(msg, len,
			 "replica %s of service '%s' is %s but its vip %s is %s (accepted: "
			 "replicas of the vip's family)",
			 a, svc->name, family_name(ep->family),
			 endpoint_format(&svc->vip, b, sizeof(b)), family_name(svc->vip.family));
		return -1;
	}
	j = vip_owner(vips, cfg, ep);
	if (j >= 0) {
		int line = vip_line(cfg, lines, j);

		endpoint_format(ep, a, sizeof(a));
		if (line)
			snprintf(at, sizeof(at), "line %d; ", line);
		snprintf(msg, len,
			 "replica %s of service '%s' is the vip of service '%s' (%saccepted: an "
			 "address that is no service's vip)",
			 a, svc->name, cfg->services[j].name, at);
		return -1;
	}
	return 0;
}

int config_replica_problem(const struct steer_config *cfg, int si, int ri,
			   const struct endpoint *ep, const struct config_lines *lines, char *msg,
			   size_t len)
{
	return replica_problem(cfg, si, ri, ep, lines, NULL, msg, len);
}

/* p2c needs connections to count, and a UDP socket is steered once per
 * socket by its hash: UDP services take `random` only. */
static int policy_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
			  const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	int line = lines && lines->svc[i].policy ? lines->svc[i].policy : svc->line;

	if (svc->policy != SVC_POLICY_DEFAULT && svc->policy != SVC_POLICY_P2C &&
	    svc->policy != SVC_POLICY_RANDOM)
		return config_report(err, errlen, name, line,
				     "service '%s' has policy %d (accepted: " POLICY_ACCEPTED ")",
				     svc->name, (int)svc->policy);
	if (svc->policy == SVC_POLICY_P2C && svc->proto == IPPROTO_UDP)
		return config_report(err, errlen, name, line,
				     "service '%s' has policy = p2c but protocol udp (accepted for "
				     "udp: random, which keeps each socket on one replica)",
				     svc->name);
	return 0;
}

/* max_conns and max_queued count TCP connections and the hold path's
 * queue; a UDP service has neither. Replica options of a config built in
 * memory are in range. */
static int limits_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
			  const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	char buf[ADDR_STRLEN];

	for (int r = 0; r < svc->nreplicas; r++) {
		const struct replica_opts *o = &svc->ropts[r];
		int line = lines ? lines->svc[i].replica[r] : svc->line;

		endpoint_format(&svc->replicas[r], buf, sizeof(buf));
		if (o->weight > WEIGHT_MAX ||
		    /* 0: not set, taken as 1 */ o->max_conns > MAX_CONNS_MAX ||
		    (o->zone[0] && !zone_name_valid(o->zone, strnlen(o->zone, ZONE_NAME_MAX))))
			return config_report(err, errlen, name, line,
					     "service '%s': replica %s has options out of range "
					     "(accepted: " REPLICA_ACCEPTED ")",
					     svc->name, buf);
		if (svc->proto == IPPROTO_UDP && o->max_conns_set)
			return config_report(err, errlen, name, line,
					     "service '%s': replica %s has max_conns= but protocol "
					     "udp (accepted for udp: weight= and zone= only; "
					     "max_conns counts TCP connections)",
					     svc->name, buf);
	}
	if (svc->proto == IPPROTO_UDP && (svc->limits_set.max_conns || svc->limits_set.max_queued))
		return config_report(err, errlen, name, svc->line,
				     "service '%s' has %s but protocol udp (accepted for tcp only: "
				     "they bound TCP connections and the miss path's queue)",
				     svc->name,
				     svc->limits_set.max_conns ? "max_conns" : "max_queued");
	return 0;
}

/* Health keys of service i that no key handler has vetted: those of a
 * config built in memory, and http on a udp service. */
static int health_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
			  const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	const struct health_config *h = &svc->health;
	int line = lines && lines->svc[i].health ? lines->svc[i].health : svc->line;

	if (h->kind == HEALTH_KIND_HTTP && svc->proto == IPPROTO_UDP)
		return config_report(
		    err, errlen, name, line,
		    "service '%s' has health = http but protocol udp (accepted for "
		    "udp: " HEALTH_UDP_ACCEPTED ")",
		    svc->name);
	if (h->kind == HEALTH_KIND_UDP && svc->proto != IPPROTO_UDP)
		return config_report(err, errlen, name, line,
				     "service '%s' has health = udp but protocol tcp (accepted for "
				     "tcp: " HEALTH_TCP_ACCEPTED ")",
				     svc->name);
	if (h->kind != HEALTH_KIND_NONE && h->kind != HEALTH_KIND_TCP &&
	    h->kind != HEALTH_KIND_HTTP && h->kind != HEALTH_KIND_DNS && h->kind != HEALTH_KIND_UDP)
		return config_report(err, errlen, name, line,
				     "service '%s' has health kind %d (accepted: " HEALTH_ACCEPTED
				     ")",
				     svc->name, (int)h->kind);
	if (h->kind == HEALTH_KIND_DNS &&
	    (strnlen(h->dns_name, HEALTH_DNS_NAME_MAX) == HEALTH_DNS_NAME_MAX ||
	     !dns_name_valid(h->dns_name) || h->dns_type == 0))
		return config_report(err, errlen, name, line,
				     "service '%s' has a bad health dns name '%.*s' or type %u "
				     "(accepted: " DNS_NAME_ACCEPTED "; " DNS_TYPE_ACCEPTED ")",
				     svc->name, HEALTH_DNS_NAME_MAX - 1, h->dns_name,
				     (unsigned)h->dns_type);
	if (h->kind == HEALTH_KIND_UDP &&
	    (h->payload_len == 0 || h->payload_len > HEALTH_PAYLOAD_MAX ||
	     h->reply_prefix_len > HEALTH_PAYLOAD_MAX))
		return config_report(err, errlen, name, line,
				     "service '%s' has a health udp payload of %u bytes and an "
				     "expected prefix of %u (accepted: " HEX_ACCEPTED ")",
				     svc->name, (unsigned)h->payload_len,
				     (unsigned)h->reply_prefix_len);
	if (h->kind == HEALTH_KIND_HTTP && (strnlen(h->path, HEALTH_PATH_MAX) == HEALTH_PATH_MAX ||
					    !config_health_path_ok(h->path)))
		return config_report(
		    err, errlen, name, line,
		    "service '%s' has a bad health path '%.*s' (accepted: " PATH_ACCEPTED ")",
		    svc->name, HEALTH_PATH_MAX - 1, h->path);
	if (h->set.expect &&
	    (h->expect_lo < 100 || h->expect_hi > 599 || h->expect_lo > h->expect_hi))
		return config_report(
		    err, errlen, name, svc->line,
		    "service '%s' has health_expect=%u-%u (accepted: " EXPECT_ACCEPTED ")",
		    svc->name, h->expect_lo, h->expect_hi);
	return 0;
}

/* The numeric keys (health_*, retry_*) that service i sets, each in its
 * range: only a config built in memory can have them out of it. */
static int range_problem(const struct steer_config *cfg, int i, const char *name, char *err,
			 size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	char value[64], range[64];

	for (size_t k = 0; k < CONFIG_NKEYS; k++) {
		const struct key_def *def = &config_keys[k];

		if (config_key_is_uint(def) && config_key_is_set(svc, def)) {
			uint32_t v = config_key_uint(svc, def);

			if (v >= def->lo && v <= def->hi)
				continue;
			snprintf(value, sizeof(value), "%u", (unsigned)v);
		} else if (config_key_is_decimal(def) && config_key_is_set(svc, def)) {
			double v = config_key_decimal(svc, def);

			if (v >= def->lo && v <= def->hi) /* false for NaN */
				continue;
			decimal_format(v, value, sizeof(value));
		} else {
			continue;
		}
		return config_report(err, errlen, name, svc->line,
				     "service '%s' has %s=%s (accepted: %s)", svc->name, def->key,
				     value, config_key_range(def, range, sizeof(range)));
	}
	return 0;
}

/* The rules between the retry values of service i (initial <= max), as
 * backoff_validate() states them. Before config_apply_env() the values not
 * set are still to come from the environment (it checks them then): here
 * they stand in as values no rule refuses. */
static int retry_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
			 const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	struct backoff_params p = svc->retry;
	int line = lines && lines->svc[i].retry_initial ? lines->svc[i].retry_initial : svc->line;
	char msg[512];

	if (!svc->retry_filled) {
		if (!svc->retry_set.initial_ms)
			p.initial_ms = 0;
		if (!svc->retry_set.multiplier)
			p.multiplier = 1;
		if (!svc->retry_set.max_ms)
			p.max_ms = 3600000; /* the largest: no set initial is above it */
		if (!svc->retry_set.jitter)
			p.jitter = 0;
		if (!svc->retry_set.timeout_ms)
			p.timeout_ms = 86400000;
	}
	if (backoff_validate(&p, msg, sizeof(msg)) == 0)
		return 0;
	config_retry_message_names_keys(svc, svc->retry_filled, msg, sizeof(msg));
	return config_report(err, errlen, name, line, "service '%s': %s", svc->name, msg);
}

/* What the parser rules out line by line (name, duplicates, protocol,
 * replica count); only an in-memory config can get here with these wrong. */
static int service_problem(const struct steer_config *cfg, int i, const struct vip_index *x,
			   const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];

	if (!svc_name_valid(svc->name, strnlen(svc->name, SVC_NAME_MAX)))
		return config_report(err, errlen, name, svc->line,
				     "bad service name '%.*s' (accepted: " SVC_NAME_ACCEPTED ")",
				     SVC_NAME_MAX - 1, svc->name);
	for (int j = x->same_name ? x->same_name[i] : 0; j >= 0 && j < i; j++) {
		char at[32] = "";

		if (strcmp(cfg->services[j].name, svc->name) != 0)
			continue;
		if (cfg->services[j].line)
			snprintf(at, sizeof(at), " (first at line %d)", cfg->services[j].line);
		return config_report(err, errlen, name, svc->line, "duplicate service '%s'%s",
				     svc->name, at);
	}
	if (svc->proto != IPPROTO_TCP && svc->proto != IPPROTO_UDP)
		return config_report(err, errlen, name, svc->line,
				     "service '%s' has protocol %u (accepted: tcp|udp)", svc->name,
				     svc->proto);
	if (svc->nreplicas < 0)
		return config_report(err, errlen, name, svc->line,
				     "service '%s' has %d replicas (accepted: 0-%u)", svc->name,
				     svc->nreplicas, steer_limits.replicas_per_service);
	if ((uint32_t)svc->nreplicas > steer_limits.replicas_per_service)
		return config_report(err, errlen, name, svc->line,
				     "service '%s' has more than %u replicas (limit "
				     "STEER_MAX_REPLICAS_PER_SERVICE=%u)",
				     svc->name, steer_limits.replicas_per_service,
				     steer_limits.replicas_per_service);
	return 0;
}

/* Service i has a vip, and no earlier service of its protocol has it too. */
static int vip_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
		       const struct vip_index *x, const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	char a[ADDR_STRLEN];

	if (svc->vip.family == STEER_FAMILY_NONE)
		return config_report(err, errlen, name, svc->line,
				     "service '%s' has no vip (accepted: vip = " ADDR_ACCEPTED ")",
				     svc->name);
	for (int j = x->same_vip ? x->same_vip[i] : 0; j >= 0 && j < i; j++) {
		const struct svc_config *o = &cfg->services[j];
		char at[32] = "";

		if (o->proto != svc->proto || !endpoint_equal(&o->vip, &svc->vip))
			continue;
		if (vip_line(cfg, lines, j))
			snprintf(at, sizeof(at), " (line %d)", vip_line(cfg, lines, j));
		return config_report(err, errlen, name, vip_line(cfg, lines, i),
				     "service '%s' has the same vip %s (%s) as service '%s'%s",
				     svc->name, endpoint_format(&svc->vip, a, sizeof(a)),
				     proto_name(svc->proto), o->name, at);
	}
	return 0;
}

int config_validate_lines(const struct steer_config *cfg, const struct config_lines *lines,
			  const char *name, char *err, size_t errlen)
{
	struct vip_index vips;
	char msg[512];
	int ret = 0;

	if (cfg->nservices < 0 || (uint32_t)cfg->nservices > steer_limits.services)
		return config_report(err, errlen, name, 0,
				     "%d services (limit STEER_MAX_SERVICES=%u)", cfg->nservices,
				     steer_limits.services);
	vip_index_build(&vips, cfg);
	for (int i = 0; i < cfg->nservices && ret == 0; i++) {
		const struct svc_config *svc = &cfg->services[i];

		if (service_problem(cfg, i, &vips, name, err, errlen) < 0 ||
		    vip_problem(cfg, i, lines, &vips, name, err, errlen) < 0 ||
		    health_problem(cfg, i, lines, name, err, errlen) < 0 ||
		    policy_problem(cfg, i, lines, name, err, errlen) < 0 ||
		    limits_problem(cfg, i, lines, name, err, errlen) < 0 ||
		    range_problem(cfg, i, name, err, errlen) < 0 ||
		    retry_problem(cfg, i, lines, name, err, errlen) < 0) {
			ret = -1;
			break;
		}
		for (int r = 0; r < svc->nreplicas && ret == 0; r++)
			if (replica_problem(cfg, i, r, &svc->replicas[r], lines, &vips, msg,
					    sizeof(msg)) < 0)
				ret =
				    config_report(err, errlen, name,
						  lines ? lines->svc[i].replica[r] : 0, "%s", msg);
	}
	vip_index_free(&vips);
	return ret;
}

int config_validate(const struct steer_config *cfg, const char *name, char *err, size_t errlen)
{
	return config_validate_lines(cfg, NULL, name, err, errlen);
}
