/* The world most agent-module tests start from: one TCP service "web" whose
 * one replica is a real loopback listener, both in an in-memory map layer
 * and in a config, and a libev loop that wakes every 20 ms. */
#ifndef STEER_TEST_ONE_SERVICE_H
#define STEER_TEST_ONE_SERVICE_H

#include <stdint.h>

#include <ev.h>

#include "mem_maps.h"
#include "config/config.h"

struct one_service {
	struct ev_loop *loop;
	struct mem_maps *mem;
	struct map_ops ops; /* over mem */
	struct steer_config *cfg;
	struct svc_config *sc;	 /* cfg->services[0] */
	int replica_fd;		 /* the replica's listener; -1 once closed */
	struct endpoint replica; /* 127.0.0.1:its port */
	ev_timer wake;
};

/* Service svc_id at vip_text with replica replica_id in state. */
void one_service_init(struct one_service *o, const char *vip_text, uint32_t svc_id,
		      uint32_t replica_id, uint8_t state);
void one_service_fini(struct one_service *o);

#endif
