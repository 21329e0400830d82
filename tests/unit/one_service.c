#include "one_service.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "loopback.h"

void one_service_init(struct one_service *o, const char *vip_text, uint32_t svc_id,
		      uint32_t replica_id, uint8_t state)
{
	struct endpoint vip;
	char err[128];

	o->loop = ev_loop_new(EVFLAG_AUTO);
	o->mem = mem_maps_new();
	o->cfg = config_new();
	assert_non_null(o->loop);
	assert_non_null(o->mem);
	assert_non_null(o->cfg);
	o->ops = mem_maps_ops(o->mem);
	o->replica_fd = test_listen_loopback(0, &o->replica);
	assert_int_equal(endpoint_parse(vip_text, &vip, err, sizeof(err)), 0);
	mem_maps_add_service(o->mem, svc_id, &vip, IPPROTO_TCP, &o->replica, 1, replica_id, state);
	/* Room for tests to put more replicas in place themselves. */
	o->sc = config_add_service(o->cfg);
	assert_non_null(o->sc);
	assert_int_equal(svc_reserve(o->sc, 64), 0);
	snprintf(o->sc->name, sizeof(o->sc->name), "web");
	o->sc->vip = vip;
	o->sc->proto = IPPROTO_TCP;
	o->sc->nreplicas = 1;
	o->sc->replicas[0] = o->replica;
	test_wake_start(o->loop, &o->wake);
}

void one_service_fini(struct one_service *o)
{
	ev_timer_stop(o->loop, &o->wake);
	if (o->replica_fd >= 0)
		close(o->replica_fd);
	ev_loop_destroy(o->loop);
	config_free(o->cfg);
	mem_maps_free(o->mem);
}
