/* The values a service did not set: the health kind and expected statuses
 * (fixed defaults), and the numeric health and retry values, which come from
 * the STEER_* environment (config_apply_env()). */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "config/env.h"
#include "health/dns_msg.h"

/* The kind a service gets without a `health` key: a UDP service on port 53
 * is DNS and gets `dns .` (a root NS query); other UDP services have no
 * check that suits every protocol, and are left unchecked. */
static enum health_kind default_health_kind(const struct svc_config *svc)
{
	if (svc->proto != IPPROTO_UDP)
		return HEALTH_KIND_TCP;
	return svc->vip.port == 53 ? HEALTH_KIND_DNS : HEALTH_KIND_NONE;
}

void config_fill_static_defaults(struct svc_config *svc)
{
	struct health_config *h = &svc->health;

	if (!h->set.kind) {
		h->kind = default_health_kind(svc);
		if (h->kind == HEALTH_KIND_DNS) {
			strcpy(h->dns_name, ".");
			h->dns_type = dns_default_type(h->dns_name);
		}
	}
	if (!h->set.expect) {
		h->expect_lo = EXPECT_DEFAULT_LO;
		h->expect_hi = EXPECT_DEFAULT_HI;
	}
}

/* One health value for config_apply_env(): the file's, or the environment's
 * default. from gets " (from VAR)" for a message when it is the latter. */
static void fill_from_env(uint32_t *value, bool set, uint32_t env_value, const char *var,
			  char *from, size_t len)
{
	if (set) {
		from[0] = '\0';
	} else {
		*value = env_value;
		snprintf(from, len, " (from %s)", var);
	}
}

/* The retry half of config_apply_env() for one service. */
static int apply_retry_env(struct svc_config *svc, const struct steer_env *env, char *err,
			   size_t errlen)
{
	struct backoff_params *r = &svc->retry;
	char msg[512];

	if (!svc->retry_set.initial_ms)
		r->initial_ms = env->retry_initial_backoff_ms;
	if (!svc->retry_set.multiplier)
		r->multiplier = env->retry_backoff_multiplier;
	if (!svc->retry_set.max_ms)
		r->max_ms = env->retry_max_backoff_ms;
	if (!svc->retry_set.jitter)
		r->jitter = env->retry_jitter;
	if (!svc->retry_set.timeout_ms)
		r->timeout_ms = env->retry_timeout_ms;
	svc->retry_filled = true;
	/* Checked for UDP services too, as the health values are. */
	if (backoff_validate(r, msg, sizeof(msg)) == 0)
		return 0;
	config_retry_message_names_keys(svc, true, msg, sizeof(msg));
	snprintf(err, errlen, "service '%s': %s", svc->name, msg);
	return -1;
}

int config_apply_env(struct steer_config *cfg, const struct steer_env *env, char *err,
		     size_t errlen)
{
	snprintf(cfg->node_zone, sizeof(cfg->node_zone), "%s", env->zone);
	cfg->prefer_local = env->prefer_local;
	cfg->maglev_size = env->maglev_size;
	for (int i = 0; i < cfg->nservices; i++) {
		struct svc_config *svc = &cfg->services[i];
		struct health_config *h = &svc->health;
		char from_interval[64], from_timeout[64], from_rise[64], from_fall[64];

		config_fill_static_defaults(svc);
		fill_from_env(&h->interval_ms, h->set.interval_ms, env->health_interval_ms,
			      "STEER_HEALTH_INTERVAL_MS", from_interval, sizeof(from_interval));
		fill_from_env(&h->timeout_ms, h->set.timeout_ms, env->health_timeout_ms,
			      "STEER_HEALTH_TIMEOUT_MS", from_timeout, sizeof(from_timeout));
		fill_from_env(&h->rise, h->set.rise, env->health_rise, "STEER_HEALTH_RISE",
			      from_rise, sizeof(from_rise));
		fill_from_env(&h->fall, h->set.fall, env->health_fall, "STEER_HEALTH_FALL",
			      from_fall, sizeof(from_fall));
		/* Checked whatever the kind: a value that cannot work is an error
		 * even while it is unused. */
		if (h->timeout_ms > h->interval_ms) {
			snprintf(err, errlen,
				 "service '%s': health_timeout_ms=%u%s is more than "
				 "health_interval_ms=%u%s (accepted: timeout <= interval)",
				 svc->name, (unsigned)h->timeout_ms, from_timeout,
				 (unsigned)h->interval_ms, from_interval);
			return -1;
		}
		if (apply_retry_env(svc, env, err, errlen) < 0)
			return -1;
	}
	return 0;
}
