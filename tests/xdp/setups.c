/* The map setups of the XDP fixtures: what each case changes in the base
 * state of world.h before its packet runs. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "fixture.h"

#define DRAWS	  4	/* Maglev draws before a miss (bpf/xdp/flow.h MAGLEV_DRAWS) */
#define BIG_TABLE 65521 /* a prime past MAGLEV_TEST_SZ */

enum svc fixture_svc(const struct pkt_spec *in)
{
	return world_svc_of(in->family, in->proto);
}

void fixture_key(const struct pkt_spec *in, struct steer_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	world_addr_words(in->family, in->src, k->saddr);
	world_addr_words(in->family, in->dst, k->daddr);
	k->sport = htons(in->sport);
	k->dport = htons(in->dport);
	k->family = in->family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
	k->proto = in->proto;
}

/* Index of the packet's draw i in a table of size entries: the rule of
 * bpf/xdp/flow.h maglev_pick(), which the ABI states. */
static uint32_t draw(const struct pkt_spec *in, int i, uint32_t size)
{
	struct steer_flow_key k;
	uint32_t h;

	fixture_key(in, &k);
	h = steer_flow_hash(&k);
	return (i ? steer_pick_mix(h + (uint32_t)i * 0x9e3779b9u) : h) % size;
}

/* "@local", "@A" ...: the role's address of the spec's family. */
const char *fixture_resolve(const char *text, int family)
{
	if (!text || text[0] != '@')
		return text;
	for (int r = R_A; r < ROLES; r++)
		if (!strcmp(text + 1, world_role_name(r)))
			return world_addr(r, family);
	world_die("no role '%s'", text + 1);
}

static void put_flow(const struct pkt_spec *in, const struct steer_flow *fl)
{
	struct steer_flow_key k;
	size_t stride = world_percpu_stride(sizeof(*fl));
	char *v = world_percpu_alloc(sizeof(*fl));

	fixture_key(in, &k);
	for (int cpu = 0; cpu < W.ncpus; cpu++)
		memcpy(v + (size_t)cpu * stride, fl, sizeof(*fl));
	if (bpf_map_update_elem(W.flows, &k, v, BPF_ANY))
		world_die("cannot write a flow entry: %s", strerror(errno));
	free(v);
}

/* The entry a flow to role's replica has (seen_ns 1: older than any run). */
static void flow_to(const struct pkt_spec *in, enum role role, struct steer_flow *fl)
{
	struct steer_replica r;

	world_replica(fixture_svc(in), role, &r);
	memset(fl, 0, sizeof(*fl));
	memcpy(fl->addr, r.addr, sizeof(fl->addr));
	fl->port = r.port;
	fl->family = r.family;
	fl->replica_id = world_id(fixture_svc(in), role);
	fl->local = role == R_LOCAL;
	fl->seen_ns = 1;
}

static void set_state(enum svc s, enum role role, uint8_t state)
{
	struct steer_replica r;
	uint32_t id = world_id(s, role);

	world_get_replica(id, &r);
	r.state = state;
	world_put_replica(id, &r);
}

/* Passive ejection's mark on the replica's TCP endpoint (created if the
 * endpoint has none, as for a UDP replica). */
static void eject(enum svc s, enum role role)
{
	struct steer_replica r;
	struct steer_backend_key k;
	struct steer_backend b = {.ejected_ns = 1, .reason = STEER_EJECT_CONNECT_FAILED};

	world_replica(s, role, &r);
	world_backend_key(&r, &k);
	if (bpf_map_update_elem(W.backends, &k, &b, BPF_ANY))
		world_die("cannot eject a backend: %s", strerror(errno));
}

void setup_flow_b(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_flow fl;

	(void)f;
	flow_to(in, R_B, &fl);
	put_flow(in, &fl);
}

void setup_flow_local(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_flow fl;

	(void)f;
	flow_to(in, R_LOCAL, &fl);
	put_flow(in, &fl);
}

void setup_flow_b_down(const struct fixture *f, const struct pkt_spec *in)
{
	setup_flow_b(f, in);
	set_state(fixture_svc(in), R_B, STEER_REPLICA_DOWN);
}

void setup_flow_b_draining(const struct fixture *f, const struct pkt_spec *in)
{
	setup_flow_b(f, in);
	set_state(fixture_svc(in), R_B, STEER_REPLICA_DRAINING);
}

void setup_flow_b_ejected(const struct fixture *f, const struct pkt_spec *in)
{
	setup_flow_b(f, in);
	eject(fixture_svc(in), R_B);
}

/* The flow recorded B's id with an endpoint the id no longer has. */
void setup_flow_b_moved_addr(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_flow fl;

	(void)f;
	flow_to(in, R_B, &fl);
	world_addr_words(in->family, world_addr(R_NOROUTE, in->family), fl.addr);
	put_flow(in, &fl);
}

void setup_flow_b_moved_port(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_flow fl;

	(void)f;
	flow_to(in, R_B, &fl);
	fl.port = htons((uint16_t)(world_rep_port(fixture_svc(in)) + 1));
	put_flow(in, &fl);
}

/* The table names rest everywhere but at the packet's first n draws, which
 * name first. The draw after them must land on rest. */
static void table_draws(const struct pkt_spec *in, int n, uint32_t first, uint32_t rest)
{
	uint32_t idx[DRAWS + 1];

	world_fill_table(fixture_svc(in), 0, rest);
	for (int i = 0; i <= n && i < DRAWS; i++) {
		idx[i] = draw(in, i, MAGLEV_TEST_SZ);
		for (int j = 0; j < i; j++)
			if (idx[i] == idx[j])
				world_die("draws %d and %d of %s:%u land on entry %u: change the "
					  "case's ports",
					  j, i, in->src, in->sport, idx[i]);
	}
	for (int i = 0; i < n; i++)
		world_set_entry(fixture_svc(in), 0, idx[i], first);
}

void setup_draw0_ejected(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	table_draws(in, 1, world_entry(fixture_svc(in), R_A), world_entry(fixture_svc(in), R_B));
	eject(fixture_svc(in), R_A);
}

void setup_draw0_draining(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	table_draws(in, 1, world_entry(fixture_svc(in), R_A), world_entry(fixture_svc(in), R_B));
	set_state(fixture_svc(in), R_A, STEER_REPLICA_DRAINING);
}

void setup_draw0_other_family(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	table_draws(in, 1, world_entry(fixture_svc(in), R_OTHER_FAMILY),
		    world_entry(fixture_svc(in), R_B));
}

/* A table two generations old names an id now given to another service. */
void setup_draw0_other_service(const struct fixture *f, const struct pkt_spec *in)
{
	enum svc other = (enum svc)(fixture_svc(in) ^ 1); /* same family, the other protocol */

	(void)f;
	table_draws(in, 1, world_entry(other, R_A), world_entry(fixture_svc(in), R_B));
}

void setup_draw3_b(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	table_draws(in, DRAWS - 1, world_entry(fixture_svc(in), R_A),
		    world_entry(fixture_svc(in), R_B));
	set_state(fixture_svc(in), R_A, STEER_REPLICA_DOWN);
}

void setup_draws4_down(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	table_draws(in, DRAWS, world_entry(fixture_svc(in), R_A),
		    world_entry(fixture_svc(in), R_B));
	set_state(fixture_svc(in), R_A, STEER_REPLICA_DOWN);
}

void setup_udp_tcp_backend_ejected(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	eject(fixture_svc(in), R_A);
}

static void set_all(uint8_t state)
{
	for (int s = 0; s < SVCS; s++)
		for (int role = R_A; role < ROLES; role++)
			set_state(s, role, state);
}

void setup_all_down(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	(void)in;
	set_all(STEER_REPLICA_DOWN);
}

void setup_all_unknown(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	(void)in;
	set_all(STEER_REPLICA_UNKNOWN);
}

static void put_xdp_bank(const struct pkt_spec *in, int bank, __u32 size)
{
	__u32 i = steer_bank_index(fixture_svc(in), bank);
	struct steer_xdp_bank xb = {.maglev_size = size};

	if (bpf_map_update_elem(W.xdp_banks, &i, &xb, BPF_ANY))
		world_die("cannot write bank %u: %s", i, strerror(errno));
}

void setup_size0(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	put_xdp_bank(in, 0, 0);
}

void setup_size_past_table(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	if (draw(in, 0, BIG_TABLE) < MAGLEV_TEST_SZ)
		world_die("the first draw of %s:%u is inside the table: change the case's ports",
			  in->src, in->sport);
	put_xdp_bank(in, 0, BIG_TABLE);
}

void setup_no_table(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	world_unlink_table(fixture_svc(in), 0);
}

/* Rewrites the packet's service value with fn applied. */
static void edit_svc(const struct pkt_spec *in, void (*fn)(struct steer_svc_value *))
{
	struct steer_svc_key k = {};
	struct steer_svc_value v;

	world_addr_words(in->family, in->dst, k.addr);
	k.port = htons(in->dport);
	k.family = in->family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
	k.proto = in->proto;
	if (bpf_map_lookup_elem(W.svc, &k, &v))
		world_die("no service for %s:%u", in->dst, in->dport);
	fn(&v);
	if (bpf_map_update_elem(W.svc, &k, &v, BPF_ANY))
		world_die("cannot write the service of %s:%u: %s", in->dst, in->dport,
			  strerror(errno));
}

static void no_slots(struct steer_svc_value *v)
{
	v->count = 0;
}

static void bank_1(struct steer_svc_value *v)
{
	v->bank = 1;
}

void setup_count0(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	edit_svc(in, no_slots);
}

void setup_bank1(const struct fixture *f, const struct pkt_spec *in)
{
	(void)f;
	world_fill_table(fixture_svc(in), 1, world_entry(fixture_svc(in), R_B));
	edit_svc(in, bank_1);
}

/* What the XDP program writes for a flow NATed to the replica the reply
 * comes from. */
void setup_rnat(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_rnat_key k = {};
	struct steer_rnat v = {};

	(void)f;
	world_addr_words(in->family, in->src, k.raddr);
	world_addr_words(in->family, in->dst, k.caddr);
	k.rport = htons(in->sport);
	k.cport = htons(in->dport);
	k.family = v.family = in->family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
	k.proto = in->proto;
	world_addr_words(in->family, in->family == 6 ? VIP6 : VIP4, v.vip);
	v.vip_port = htons(in->proto == IPPROTO_UDP ? VIP_UDP_PORT : VIP_TCP_PORT);
	if (bpf_map_update_elem(W.rnat, &k, &v, BPF_ANY))
		world_die("cannot write an rnat entry: %s", strerror(errno));
}

/* The client's packet that the reply answers, through the XDP program
 * first (the table names the local replica). */
void setup_xdp_first(const struct fixture *f, const struct pkt_spec *in)
{
	struct pkt_spec fwd = *in;
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	size_t len, out_len;
	int verdict;

	(void)f;
	fwd.src = in->dst;
	fwd.dst = in->family == 6 ? VIP6 : VIP4;
	fwd.sport = in->dport;
	fwd.dport = in->proto == IPPROTO_UDP ? VIP_UDP_PORT : VIP_TCP_PORT;
	len = pkt_build(&fwd, frame, NULL);
	if (fixture_run_xdp(frame, len, 0, out, &out_len, &verdict) || verdict != XDP_PASS)
		printf("    (setup: the client's packet was not NATed: verdict %d)\n", verdict);
}
