/* Runtime edits of a loaded config, for the control socket. A replica added
 * here meets the same rules, with the same messages, as one in the file
 * (config_replica_problem()); cfg changes only when the edit is valid. */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

struct svc_config *config_find_service(struct steer_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nservices; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}

int config_add_replica(struct steer_config *cfg, const char *service, const struct endpoint *ep,
		       char *err, size_t errlen)
{
	struct svc_config *svc = config_find_service(cfg, service);

	if (!svc) {
		snprintf(err, errlen, "unknown service '%s'", service);
		return -1;
	}
	if (config_replica_problem(cfg, svc_index(cfg, svc), svc->nreplicas, ep, NULL, err,
				   errlen) < 0)
		return -1;
	if ((uint32_t)svc->nreplicas >= steer_limits.replicas_per_service) {
		snprintf(err, errlen,
			 "service '%s' has more than %u replicas (limit "
			 "STEER_MAX_REPLICAS_PER_SERVICE=%u)",
			 svc->name, steer_limits.replicas_per_service,
			 steer_limits.replicas_per_service);
		return -1;
	}
	if (svc_push_replica(svc, ep, &(struct replica_opts){.weight = 1})) {
		snprintf(err, errlen, "service '%s': out of memory", svc->name);
		return -1;
	}
	return 0;
}

int config_remove_replica(struct steer_config *cfg, const char *service, const struct endpoint *ep,
			  char *err, size_t errlen)
{
	struct svc_config *svc = config_find_service(cfg, service);
	char buf[ADDR_STRLEN];

	if (!svc) {
		snprintf(err, errlen, "unknown service '%s'", service);
		return -1;
	}
	for (int r = 0; r < svc->nreplicas; r++) {
		if (!endpoint_equal(&svc->replicas[r], ep))
			continue;
		/* Keep the others in order: slots follow the config's order. */
		memmove(&svc->replicas[r], &svc->replicas[r + 1],
			(size_t)(svc->nreplicas - r - 1) * sizeof(svc->replicas[0]));
		memmove(&svc->ropts[r], &svc->ropts[r + 1],
			(size_t)(svc->nreplicas - r - 1) * sizeof(svc->ropts[0]));
		svc->nreplicas--;
		memset(&svc->replicas[svc->nreplicas], 0, sizeof(svc->replicas[0]));
		memset(&svc->ropts[svc->nreplicas], 0, sizeof(svc->ropts[0]));
		return 0;
	}
	snprintf(err, errlen, "service '%s' has no replica %s", svc->name,
		 endpoint_format(ep, buf, sizeof(buf)));
	return -1;
}
