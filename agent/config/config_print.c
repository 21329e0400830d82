/* The effective config as check-config shows it: set keys as keys, filled
 * defaults as comments that say where they came from, so the output parses
 * back to the same values and the same `set` flags. */
#include <stdio.h>

#include "config/config_internal.h"
#include "lib/decimal.h"
#include "config/env.h"
#include "health/dns_msg.h"

static const char *health_kind_name(enum health_kind kind)
{
	switch (kind) {
	case HEALTH_KIND_NONE:
		return "none";
	case HEALTH_KIND_TCP:
		return "tcp";
	case HEALTH_KIND_HTTP:
		return "http";
	case HEALTH_KIND_DNS:
		return "dns";
	case HEALTH_KIND_UDP:
		return "udp";
	}
	return "?";
}

/* One numeric health key: as a key if the file set it; as a comment naming
 * where it came from if config_apply_env() filled it (0: not filled yet, so
 * nothing to show). */
static void print_uint(FILE *out, const char *key, uint32_t value, bool set, const char *var)
{
	if (set)
		fprintf(out, "%s = %u\n", key, (unsigned)value);
	else if (value)
		fprintf(out, "; %s = %u (default: %s)\n", key, (unsigned)value, var);
}

/* The retry keys, as print_uint() shows the health ones: set keys always,
 * the environment's defaults (once filled) for TCP services only, the ones
 * that have a miss path. */
static void print_retry(const struct svc_config *svc, FILE *out)
{
	bool show_defaults = svc->retry_filled && svc->proto == IPPROTO_TCP;

	for (size_t k = 0; k < CONFIG_NKEYS; k++) {
		const struct key_def *def = &config_keys[k];
		char value[64];
		bool set;

		if (!config_key_is_retry(def))
			continue;
		set = config_key_is_set(svc, def);
		if (!set && !show_defaults)
			continue;
		if (config_key_is_decimal(def))
			decimal_format(config_key_decimal(svc, def), value, sizeof(value));
		else
			snprintf(value, sizeof(value), "%u", (unsigned)config_key_uint(svc, def));
		if (set)
			fprintf(out, "%s = %s\n", def->key, value);
		else
			fprintf(out, "; %s = %s (default: %s)\n", def->key, value, def->var);
	}
}

static void print_hex(FILE *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", b[i]);
}

/* The value of `health`, as the key takes it: the kind and its arguments. */
static void print_health_value(const struct health_config *h, FILE *out)
{
	char type[16];

	fputs(health_kind_name(h->kind), out);
	if (h->kind == HEALTH_KIND_HTTP) {
		fprintf(out, " %s", h->path);
	} else if (h->kind == HEALTH_KIND_DNS) {
		fprintf(out, " %s %s", h->dns_name, dns_type_name(h->dns_type, type, sizeof(type)));
	} else if (h->kind == HEALTH_KIND_UDP) {
		fputc(' ', out);
		print_hex(out, h->payload, h->payload_len);
		if (h->reply_prefix_len) {
			fputs(" expect ", out);
			print_hex(out, h->reply_prefix, h->reply_prefix_len);
		}
	}
}

static void print_health(const struct svc_config *svc, FILE *out)
{
	const struct health_config *h = &svc->health;
	bool checked = h->kind != HEALTH_KIND_NONE;
	char expect[16];

	if (h->set.kind) {
		fputs("health = ", out);
		print_health_value(h, out);
		fputc('\n', out);
	} else {
		fputs("; health = ", out);
		print_health_value(h, out);
		fprintf(out, " (default for %s%s)\n", proto_name(svc->proto),
			h->kind == HEALTH_KIND_DNS ? " on port 53" : "");
		if (svc->proto == IPPROTO_UDP && !checked)
			fputs("; warning: no health checks: a dead replica keeps its share of the "
			      "datagrams (set health = dns NAME [TYPE] or udp HEX [expect HEX])\n",
			      out);
	}
	/* Defaults that do not apply to the kind are left out; set keys never. */
	if (h->set.interval_ms || checked)
		print_uint(out, "health_interval_ms", h->interval_ms, h->set.interval_ms,
			   "STEER_HEALTH_INTERVAL_MS");
	if (h->set.timeout_ms || checked)
		print_uint(out, "health_timeout_ms", h->timeout_ms, h->set.timeout_ms,
			   "STEER_HEALTH_TIMEOUT_MS");
	if (h->set.rise || checked)
		print_uint(out, "health_rise", h->rise, h->set.rise, "STEER_HEALTH_RISE");
	if (h->set.fall || checked)
		print_uint(out, "health_fall", h->fall, h->set.fall, "STEER_HEALTH_FALL");
	if (h->expect_lo == h->expect_hi)
		snprintf(expect, sizeof(expect), "%u", h->expect_lo);
	else
		snprintf(expect, sizeof(expect), "%u-%u", h->expect_lo, h->expect_hi);
	if (h->set.expect)
		fprintf(out, "health_expect = %s\n", expect);
	else if (h->kind == HEALTH_KIND_HTTP)
		fprintf(out, "; health_expect = %s (default)\n", expect);
}

/* A replica line with the options that differ from their defaults. */
static void print_replica(const struct svc_config *svc, int r, FILE *out)
{
	const struct replica_opts *o = &svc->ropts[r];
	char buf[ADDR_STRLEN];

	fprintf(out, "replica = %s", endpoint_format(&svc->replicas[r], buf, sizeof(buf)));
	if (o->weight > 1)
		fprintf(out, " weight=%u", (unsigned)o->weight);
	if (o->max_conns_set)
		fprintf(out, " max_conns=%u", (unsigned)o->max_conns);
	if (o->zone[0])
		fprintf(out, " zone=%s", o->zone);
	fputc('\n', out);
}

void config_print(const struct steer_config *cfg, FILE *out)
{
	char buf[ADDR_STRLEN];

	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *svc = &cfg->services[i];

		fprintf(out, "%s[service %s]\n", i ? "\n" : "", svc->name);
		fprintf(out, "vip = %s\n", endpoint_format(&svc->vip, buf, sizeof(buf)));
		fprintf(out, "protocol = %s\n", proto_name(svc->proto));
		print_health(svc, out);
		if (svc->policy != SVC_POLICY_DEFAULT)
			fprintf(out, "policy = %s\n", svc_policy_name(svc_policy_effective(svc)));
		else
			fprintf(out, "; policy = %s (default for %s)\n",
				svc_policy_name(svc_policy_effective(svc)), proto_name(svc->proto));
		if (svc->limits_set.max_conns)
			fprintf(out, "max_conns = %u\n", (unsigned)svc->max_conns);
		if (svc->limits_set.max_queued)
			fprintf(out, "max_queued = %u\n", (unsigned)svc->max_queued);
		print_retry(svc, out);
		for (int r = 0; r < svc->nreplicas; r++)
			print_replica(svc, r, out);
	}
}

void config_print_retry_schedules(const struct steer_config *cfg, FILE *out)
{
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *svc = &cfg->services[i];
		char waits[256], jitter[64];

		if (svc->proto != IPPROTO_TCP)
			continue;
		backoff_format_schedule(&svc->retry, 8, waits, sizeof(waits));
		decimal_format(svc->retry.jitter, jitter, sizeof(jitter));
		fprintf(out, "# service %s: retry waits %s (timeout %u ms, jitter %s)\n", svc->name,
			waits, (unsigned)svc->retry.timeout_ms, jitter);
	}
}
