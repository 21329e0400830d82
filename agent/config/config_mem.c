/* The heap arrays of a config: services grow by doubling as the parser or
 * the registry adds them, each service's replicas likewise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

struct steer_config *config_new(void)
{
	return calloc(1, sizeof(struct steer_config));
}

static void svc_release(struct svc_config *svc)
{
	free(svc->replicas);
	free(svc->ropts);
	svc->replicas = NULL;
	svc->ropts = NULL;
	svc->replicas_cap = 0;
}

/* Entries past nservices are zero or a service dropped by lowering
 * nservices: their arrays are released too. */
void config_clear(struct steer_config *cfg)
{
	for (int i = 0; i < cfg->services_cap; i++)
		svc_release(&cfg->services[i]);
	free(cfg->services);
	memset(cfg, 0, sizeof(*cfg));
}

void config_free(struct steer_config *cfg)
{
	if (!cfg)
		return;
	config_clear(cfg);
	free(cfg);
}

int svc_reserve(struct svc_config *svc, int n)
{
	struct endpoint *eps;
	struct replica_opts *opts;
	int cap = svc->replicas_cap ? svc->replicas_cap : 4;

	if (n <= svc->replicas_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	eps = realloc(svc->replicas, (size_t)cap * sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	svc->replicas = eps;
	opts = realloc(svc->ropts, (size_t)cap * sizeof(*opts));
	if (!opts)
		return -ENOMEM;
	svc->ropts = opts;
	memset(eps + svc->replicas_cap, 0, (size_t)(cap - svc->replicas_cap) * sizeof(*eps));
	memset(opts + svc->replicas_cap, 0, (size_t)(cap - svc->replicas_cap) * sizeof(*opts));
	svc->replicas_cap = cap;
	return 0;
}

int svc_push_replica(struct svc_config *svc, const struct endpoint *ep,
		     const struct replica_opts *opts)
{
	if (svc_reserve(svc, svc->nreplicas + 1))
		return -ENOMEM;
	svc->replicas[svc->nreplicas] = *ep;
	svc->ropts[svc->nreplicas] = *opts;
	svc->nreplicas++;
	return 0;
}

struct svc_config *config_add_service(struct steer_config *cfg)
{
	struct svc_config *svc;

	if (cfg->nservices == cfg->services_cap) {
		int cap = cfg->services_cap ? 2 * cfg->services_cap : 8;
		struct svc_config *s = realloc(cfg->services, (size_t)cap * sizeof(*s));

		if (!s)
			return NULL;
		memset(s + cfg->services_cap, 0, (size_t)(cap - cfg->services_cap) * sizeof(*s));
		cfg->services = s;
		cfg->services_cap = cap;
	}
	svc = &cfg->services[cfg->nservices++];
	svc_release(svc); /* one a lower nservices dropped */
	memset(svc, 0, sizeof(*svc));
	return svc;
}

int config_copy(struct steer_config *dst, const struct steer_config *src)
{
	struct steer_config tmp = *src;

	if (dst == src)
		return 0;
	tmp.services = NULL;
	tmp.services_cap = 0;
	tmp.nservices = 0;
	if (src->nservices) {
		tmp.services = calloc((size_t)src->nservices, sizeof(*tmp.services));
		if (!tmp.services)
			return -ENOMEM;
		tmp.services_cap = src->nservices;
	}
	for (int i = 0; i < src->nservices; i++) {
		const struct svc_config *from = &src->services[i];
		struct svc_config *to = &tmp.services[i];

		*to = *from;
		to->replicas = NULL;
		to->ropts = NULL;
		to->replicas_cap = 0;
		tmp.nservices = i + 1;
		if (svc_reserve(to, from->nreplicas)) {
			config_clear(&tmp);
			return -ENOMEM;
		}
		if (from->nreplicas) {
			memcpy(to->replicas, from->replicas,
			       (size_t)from->nreplicas * sizeof(*to->replicas));
			memcpy(to->ropts, from->ropts,
			       (size_t)from->nreplicas * sizeof(*to->ropts));
		}
	}
	config_clear(dst);
	*dst = tmp;
	return 0;
}

struct svc_lines *config_lines_of(struct config_lines *lines, int i)
{
	if (i >= lines->cap) {
		int cap = lines->cap ? 2 * lines->cap : 8;
		struct svc_lines *s;

		while (cap <= i)
			cap *= 2;
		s = realloc(lines->svc, (size_t)cap * sizeof(*s));
		if (!s)
			return NULL;
		memset(s + lines->cap, 0, (size_t)(cap - lines->cap) * sizeof(*s));
		lines->svc = s;
		lines->cap = cap;
	}
	return &lines->svc[i];
}

int config_lines_reserve(struct svc_lines *l, int r)
{
	int cap = l->replica_cap ? l->replica_cap : 4;
	int *p;

	if (r < l->replica_cap)
		return 0;
	while (cap <= r)
		cap *= 2;
	p = realloc(l->replica, (size_t)cap * sizeof(*p));
	if (!p)
		return -1;
	memset(p + l->replica_cap, 0, (size_t)(cap - l->replica_cap) * sizeof(*p));
	l->replica = p;
	l->replica_cap = cap;
	return 0;
}

void config_lines_free(struct config_lines *lines)
{
	for (int i = 0; i < lines->cap; i++)
		free(lines->svc[i].replica);
	free(lines->svc);
	lines->svc = NULL;
	lines->cap = 0;
}
