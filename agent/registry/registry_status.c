#include "registry/registry_status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void registry_applied_now(struct registry_applied *ap, const struct registry_store *s,
			  int64_t revision)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ap->revision = revision;
	ap->ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	registry_store_counts(s, &ap->counts);
}

int registry_status_write(const struct map_ops *ops, const struct registry *r,
			  const struct registry_applied *ap, char *err, size_t errlen)
{
	struct steer_registry_status out = {};
	struct registry_state st;
	int ret;

	if (r) {
		registry_state_get(r, &st);
		out.conn = (uint32_t)st.conn;
		out.since_ns = st.since_ns;
		out.revision = st.revision;
		out.attempts = st.attempts;
		snprintf(out.member, sizeof(out.member), "%s", st.member);
		snprintf(out.error, sizeof(out.error), "%s", st.error);
		out.applied_revision = ap->revision;
		out.applied_ns = ap->ns;
		out.services = (uint32_t)ap->counts.services;
		out.replicas = (uint32_t)ap->counts.replicas;
		out.skipped = (uint32_t)ap->counts.skipped;
	}
	ret = ops->registry_put(ops->ctx, &out);
	if (ret)
		snprintf(err, errlen, "cannot write %s: %s", STEER_MAP_REGISTRY, strerror(-ret));
	return ret ? -1 : 0;
}
