/*
 * One case of the XDP fixtures, and what the table (fixtures.c), the map
 * setups of the cases (setups.c) and the runner (runner.c) share.
 */
#ifndef STEER_TESTS_XDP_FIXTURE_H
#define STEER_TESTS_XDP_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "world.h"

enum prog { XDP, TC };

/* What the output is, given the input. */
enum expect {
	SAME,  /* the input, byte for byte */
	ENCAP, /* the input in IPIP / IPv6-in-IPv6 to `to`, outer headers from its route */
	NAT,   /* the input rebuilt with `to` (local) as destination address and port */
	RNAT,  /* the input rebuilt with the VIP as source address and port */
};

/* The input's payload length, when it depends on the redirect MTU. */
enum fill {
	FILL_SPEC,     /* as the spec says */
	FILL_MTU,      /* exactly the MTU once encapsulated */
	FILL_PAST_MTU, /* one byte more */
};

struct fixture;
typedef void setup_fn(const struct fixture *f, const struct pkt_spec *in);

struct fixture {
	const char *name;
	enum prog prog;	 /* XDP unless TC */
	setup_fn *setup; /* on top of the base state; NULL: none */
	enum role table; /* the role every entry of the packet's service's table names; 0: A */
	struct pkt_spec in;
	int verdict;
	enum expect out;
	enum role to;	      /* the replica the packet goes to: checked in the flow table */
	const char *counters; /* steer_xdp_stats fields that move by one, space separated */
	uint16_t meta;	      /* XDP metadata bytes before the frame (a multiple of 4, <= 32) */
	bool zero_csum;	      /* payload chosen so the rewritten UDP checksum computes to 0 */
	enum fill fill;
};

/* The service a packet is for, its flow key, "@role" addresses resolved. */
enum svc fixture_svc(const struct pkt_spec *in);
void fixture_key(const struct pkt_spec *in, struct steer_flow_key *k);
const char *fixture_resolve(const char *text, int family);

/* Runs xdp_steer on the frame (meta bytes of metadata first, which the
 * output also has); returns 0 or a negative errno. */
int fixture_run_xdp(const uint8_t *in, size_t len, uint16_t meta, uint8_t *out, size_t *out_len,
		    int *verdict);

/* Runs one case from the base state; prints a FAIL line per failed check
 * and returns whether all passed. */
bool fixture_run(const struct fixture *f);

/* The setups of the table's cases (setups.c). */
setup_fn setup_flow_b;
setup_fn setup_flow_local;
setup_fn setup_flow_b_down;
setup_fn setup_flow_b_draining;
setup_fn setup_flow_b_ejected;
setup_fn setup_flow_b_moved_addr;
setup_fn setup_flow_b_moved_port;
setup_fn setup_draw0_ejected;
setup_fn setup_draw0_draining;
setup_fn setup_draw0_other_family;
setup_fn setup_draw0_other_service;
setup_fn setup_draw3_b;
setup_fn setup_draws4_down;
setup_fn setup_udp_tcp_backend_ejected;
setup_fn setup_all_down;
setup_fn setup_all_unknown;
setup_fn setup_size0;
setup_fn setup_size_past_table;
setup_fn setup_no_table;
setup_fn setup_count0;
setup_fn setup_bank1;
setup_fn setup_rnat;
setup_fn setup_xdp_first;

#endif /* STEER_TESTS_XDP_FIXTURE_H */
