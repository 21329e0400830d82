#include "config/limits.h"

struct steer_limits steer_limits = {
    .services = STEER_MAX_SERVICES,
    .replicas_per_service = STEER_MAX_SLOTS,
    .replicas = STEER_MAX_REPLICAS,
    .slots = STEER_MAX_SLOT_ENTRIES,
};

void steer_limits_set(const struct steer_limits *l)
{
	steer_limits = *l;
	if (!steer_limits.slots)
		steer_limits.slots = steer_limits_slot_entries(l);
}

uint32_t steer_limits_slot_entries(const struct steer_limits *l)
{
	return 2 * l->replicas + l->replicas_per_service;
}
