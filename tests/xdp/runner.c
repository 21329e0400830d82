/* The runner of the XDP fixtures: one case from the base state, its packet
 * through bpf_prog_test_run_opts(), and every check of fixtures.c's header
 * comment, each failure on a line of its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "fixture.h"

#define COUNTER(f)                                                                                 \
	{                                                                                          \
#f, offsetof(struct steer_xdp_stats, f)                                            \
	}
static const struct {
	const char *name;
	size_t off;
} counters[] = {
    COUNTER(passed),	COUNTER(flow_hits),   COUNTER(flow_new),    COUNTER(encap),
    COUNTER(nat_local), COUNTER(miss_passed), COUNTER(frag_passed), COUNTER(malformed),
    COUNTER(too_big),	COUNTER(fib_failed),  COUNTER(errors),	    COUNTER(rnat),
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))
_Static_assert(NCOUNTERS * sizeof(__u64) == sizeof(struct steer_xdp_stats),
	       "a counter of steer_xdp_stats is not checked");

#define NREPLICAS (SVCS * IDS_PER_SVC)

/* The counters a case may move, summed over CPUs. */
struct snapshot {
	__u64 xdp[NCOUNTERS];
	__u64 svc_steered, svc_misses, svc_errors;
	__u64 replica_steered[NREPLICAS];
};

static void snapshot(struct snapshot *s)
{
	size_t st = world_percpu_stride(sizeof(struct steer_xdp_stats));
	char *v = world_percpu_alloc(sizeof(struct steer_xdp_stats));
	__u32 zero = 0;

	memset(s, 0, sizeof(*s));
	if (bpf_map_lookup_elem(W.stats, &zero, v))
		world_die("cannot read %s: %s", STEER_MAP_XDP_STATS, strerror(errno));
	for (int cpu = 0; cpu < W.ncpus; cpu++)
		for (size_t c = 0; c < NCOUNTERS; c++)
			s->xdp[c] += *(__u64 *)(v + (size_t)cpu * st + counters[c].off);
	free(v);
	st = world_percpu_stride(sizeof(struct steer_svc_stats));
	v = world_percpu_alloc(sizeof(struct steer_svc_stats));
	for (__u32 id = 0; id < SVCS; id++) {
		if (bpf_map_lookup_elem(W.svc_stats, &id, v))
			world_die("cannot read %s: %s", STEER_MAP_SVC_STATS, strerror(errno));
		for (int cpu = 0; cpu < W.ncpus; cpu++) {
			const struct steer_svc_stats *ss = (void *)(v + (size_t)cpu * st);

			s->svc_steered += ss->steered;
			s->svc_misses += ss->misses;
			s->svc_errors += ss->errors;
		}
	}
	free(v);
	st = world_percpu_stride(sizeof(struct steer_replica_stats));
	v = world_percpu_alloc(sizeof(struct steer_replica_stats));
	for (__u32 id = 0; id < NREPLICAS; id++) {
		if (bpf_map_lookup_elem(W.replica_stats, &id, v))
			world_die("cannot read %s: %s", STEER_MAP_REPLICA_STATS, strerror(errno));
		for (int cpu = 0; cpu < W.ncpus; cpu++)
			s->replica_steered[id] +=
			    ((const struct steer_replica_stats *)(v + (size_t)cpu * st))->steered;
	}
	free(v);
}

static void expected_counters(const struct fixture *f, __u64 want[NCOUNTERS])
{
	char buf[256], *save = NULL;

	memset(want, 0, NCOUNTERS * sizeof(want[0]));
	snprintf(buf, sizeof(buf), "%s", f->counters ? f->counters : "");
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		size_t c = 0;

		while (c < NCOUNTERS && strcmp(w, counters[c].name))
			c++;
		if (c == NCOUNTERS)
			world_die("case '%s': no counter '%s'", f->name, w);
		want[c]++;
	}
}

static size_t counter_index(const char *name)
{
	for (size_t c = 0; c < NCOUNTERS; c++)
		if (!strcmp(counters[c].name, name))
			return c;
	world_die("no counter %s", name);
}

int fixture_run_xdp(const uint8_t *in, size_t len, uint16_t meta, uint8_t *out, size_t *out_len,
		    int *verdict)
{
	uint8_t buf[PKT_MAX + 32];
	struct xdp_md ctx = {
	    .data = meta, .data_end = (__u32)(meta + len), .ingress_ifindex = (__u32)W.in.ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = (__u32)(meta + len),
		    .data_out = out, .data_size_out = PKT_MAX + 32, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));

	memset(buf, 0x5a, meta);
	memcpy(buf + meta, in, len);
	if (bpf_prog_test_run_opts(W.xdp_fd, &opts))
		return -errno;
	*verdict = (int)opts.retval;
	*out_len = opts.data_size_out;
	return 0;
}

static int run_tc(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len, int *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = PKT_MAX + 32);

	if (bpf_prog_test_run_opts(W.tc_fd, &opts))
		return -errno;
	*verdict = (int)opts.retval;
	*out_len = opts.data_size_out;
	return 0;
}

static const char *verdict_name(enum prog prog, int v)
{
	static const char *const xdp[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					  "XDP_REDIRECT"};
	static char other[32];

	if (prog == XDP && v >= 0 && v <= XDP_REDIRECT)
		return xdp[v];
	if (prog == TC && v == TC_ACT_UNSPEC)
		return "TC_ACT_UNSPEC";
	if (prog == TC && v == TC_ACT_OK)
		return "TC_ACT_OK";
	if (prog == TC && v == TC_ACT_SHOT)
		return "TC_ACT_SHOT";
	snprintf(other, sizeof(other), "%d", v);
	return other;
}

static int case_fails;

static void fail(const struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(const struct fixture *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL %s: ", f->name);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	case_fails++;
}

static void dump(const char *what, const uint8_t *p, size_t len)
{
	printf("    %s (%zu bytes):", what, len);
	for (size_t i = 0; i < len; i++)
		printf("%s%02x", i % 16 ? " " : "\n      ", p[i]);
	putchar('\n');
}

/* The 16 bytes around the first difference, both sides, marked. */
static void hexdiff(const uint8_t *want, size_t wlen, const uint8_t *got, size_t glen)
{
	size_t n = wlen < glen ? wlen : glen, i = 0, from;

	while (i < n && want[i] == got[i])
		i++;
	from = i & ~(size_t)7;
	printf("    first difference at byte %zu (expected %zu bytes, got %zu)\n", i, wlen, glen);
	printf("    expected %4zu:", from);
	for (size_t k = from; k < from + 16 && k < wlen; k++)
		printf(" %02x", want[k]);
	printf("\n    got      %4zu:", from);
	for (size_t k = from; k < from + 16 && k < glen; k++)
		printf(" %02x", got[k]);
	printf("\n                  ");
	for (size_t k = from; k < from + 16 && (k < wlen || k < glen); k++)
		printf(k < wlen && k < glen && want[k] == got[k] ? "   " : " ^^");
	putchar('\n');
	if (getenv("V") && !strcmp(getenv("V"), "1")) {
		dump("expected", want, wlen);
		dump("got", got, glen);
	}
}

/* The spec the expected output is built from, for NAT and RNAT. */
static void rewritten(const struct fixture *f, const struct pkt_spec *in, struct pkt_spec *s)
{
	*s = *in;
	if (f->out == NAT) {
		s->dst = world_addr(f->to, in->family);
		s->dport = world_rep_port(fixture_svc(in));
	} else if (f->out == RNAT) {
		s->src = in->family == 6 ? VIP6 : VIP4;
		s->sport = in->proto == IPPROTO_UDP ? VIP_UDP_PORT : VIP_TCP_PORT;
	}
}

static size_t expected_frame(const struct fixture *f, const struct pkt_spec *in,
			     const uint8_t *frame, size_t len, uint8_t *out)
{
	const struct world_path *path = f->to == R_REDIRECT ? &W.redirect : &W.in;
	struct pkt_outer o = {.family = in->family, .tos = in->tos, .ttl = 64};
	struct pkt_spec s;
	struct pkt_info info;
	struct steer_flow_key k;
	uint8_t scratch[PKT_MAX];

	switch (f->out) {
	case SAME:
		memcpy(out, frame, len);
		return len;
	case NAT:
	case RNAT:
		rewritten(f, in, &s);
		return pkt_build(&s, out, NULL);
	case ENCAP:
		break;
	}
	/* A next hop with no neighbour yet: the stack gets the packet as it
	 * came, MACs included, and resolves the neighbour itself. */
	o.dmac = f->to == R_NONEIGH ? in->dmac : path->gw_mac;
	o.smac = f->to == R_NONEIGH ? in->smac : path->mac;
	o.src = path->src[in->family == 6];
	o.dst = world_addr(f->to, in->family);
	fixture_key(in, &k);
	o.flow_label = steer_flow_hash(&k) & 0xfffff;
	pkt_build(in, scratch, &info); /* where the inner packet ends */
	return pkt_encap(&o, frame, len, info.l3_len, out);
}

static void check_flow(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_flow_key k;
	struct steer_replica r;
	char *v = world_percpu_alloc(sizeof(struct steer_flow));
	const struct steer_flow *fl;
	uint32_t id = world_id(fixture_svc(in), f->to);

	fixture_key(in, &k);
	if (bpf_map_lookup_elem(W.flows, &k, v)) {
		fail(f, "no flow table entry for the packet's 5-tuple");
		free(v);
		return;
	}
	fl = (const void *)(v + (size_t)W.cpu * world_percpu_stride(sizeof(*fl)));
	world_replica(fixture_svc(in), f->to, &r);
	if (fl->replica_id != id)
		fail(f, "flow entry: expected replica %u (%s), got %u", id, world_role_name(f->to),
		     fl->replica_id);
	else if (memcmp(fl->addr, r.addr, sizeof(r.addr)) || fl->port != r.port ||
		 fl->family != r.family)
		fail(f,
		     "flow entry: expected the endpoint of replica %u (port %u, family %u), got "
		     "port %u family %u",
		     id, ntohs(r.port), r.family, ntohs(fl->port), fl->family);
	if (fl->local != (f->to == R_LOCAL))
		fail(f, "flow entry: expected local=%d, got %u", f->to == R_LOCAL, fl->local);
	if (fl->seen_ns <= 1)
		fail(f, "flow entry: seen_ns not updated (%llu)", (unsigned long long)fl->seen_ns);
	free(v);
}

static void check_rnat(const struct fixture *f, const struct pkt_spec *in)
{
	struct steer_rnat_key k = {};
	struct steer_rnat v, want = {};

	world_addr_words(in->family, world_addr(f->to, in->family), k.raddr);
	world_addr_words(in->family, in->src, k.caddr);
	k.rport = htons(world_rep_port(fixture_svc(in)));
	k.cport = htons(in->sport);
	k.family = want.family = in->family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
	k.proto = in->proto;
	world_addr_words(in->family, in->dst, want.vip);
	want.vip_port = htons(in->dport);
	if (bpf_map_lookup_elem(W.rnat, &k, &v))
		fail(f, "no rnat entry for (replica, client)");
	else if (memcmp(&v, &want, sizeof(v)))
		fail(f, "rnat entry: expected VIP %s:%u family %u, got port %u family %u", in->dst,
		     in->dport, want.family, ntohs(v.vip_port), v.family);
}

static void check_counters(const struct fixture *f, const struct snapshot *a,
			   const struct snapshot *b)
{
	__u64 want[NCOUNTERS], steered, misses;

	expected_counters(f, want);
	for (size_t c = 0; c < NCOUNTERS; c++)
		if (b->xdp[c] - a->xdp[c] != want[c])
			fail(f, "counter %s: expected +%llu, got +%llu", counters[c].name,
			     (unsigned long long)want[c],
			     (unsigned long long)(b->xdp[c] - a->xdp[c]));
	steered = want[counter_index("flow_new")];
	misses = want[counter_index("miss_passed")];
	if (b->svc_steered - a->svc_steered != steered)
		fail(f, "service counter steered: expected +%llu, got +%llu",
		     (unsigned long long)steered,
		     (unsigned long long)(b->svc_steered - a->svc_steered));
	if (b->svc_misses - a->svc_misses != misses)
		fail(f, "service counter misses: expected +%llu, got +%llu",
		     (unsigned long long)misses,
		     (unsigned long long)(b->svc_misses - a->svc_misses));
	if (b->svc_errors != a->svc_errors)
		fail(f, "service counter errors moved");
	for (uint32_t id = 0; id < NREPLICAS; id++) {
		__u64 d = b->replica_steered[id] - a->replica_steered[id];
		__u64 w = f->to && id == world_id(fixture_svc(&f->in), f->to) ? steered : 0;

		if (d != w)
			fail(f, "replica %u counter steered: expected +%llu, got +%llu", id,
			     (unsigned long long)w, (unsigned long long)d);
	}
}

/* The payload length that makes the encapsulated packet the MTU long (plus
 * one, past it). */
static void fill_to_mtu(const struct fixture *f, struct pkt_spec *in)
{
	size_t ip = in->family == 6 ? 40 : 20u + in->ip_opts_len;
	size_t l4 = in->proto == IPPROTO_TCP ? 20 : 8;
	size_t outer = in->family == 6 ? 40 : 20;
	size_t want = W.mtu + (f->fill == FILL_PAST_MTU);

	in->payload_len = (uint16_t)(want - outer - ip - l4);
}

bool fixture_run(const struct fixture *f)
{
	struct pkt_spec in = f->in, after;
	uint8_t frame[PKT_MAX], want[PKT_MAX + 32], got[PKT_MAX + 32];
	size_t len, wlen, glen = 0;
	struct snapshot before, now;
	int verdict = -99, err;

	case_fails = 0;
	in.src = fixture_resolve(in.src, in.family);
	in.dst = fixture_resolve(in.dst, in.family);
	if (f->fill != FILL_SPEC)
		fill_to_mtu(f, &in);
	if (f->zero_csum) {
		rewritten(f, &in, &after);
		in.set_tail = true;
		in.tail = pkt_tail_for_zero_udp_csum(&after);
	}
	world_reset();
	if (f->table && !in.arp)
		world_fill_table(fixture_svc(&in), 0, world_entry(fixture_svc(&in), f->table));
	if (f->setup)
		f->setup(f, &in);
	len = pkt_build(&in, frame, NULL);
	memset(want, 0x5a, f->meta); /* the metadata fixture_run_xdp() puts first */
	wlen = f->meta + expected_frame(f, &in, frame, len, want + f->meta);
	snapshot(&before);
	err = f->prog == TC ? run_tc(frame, len, got, &glen, &verdict)
			    : fixture_run_xdp(frame, len, f->meta, got, &glen, &verdict);
	if (err) {
		fail(f, "bpf_prog_test_run_opts: %s", strerror(-err));
		return false;
	}
	snapshot(&now);
	if (verdict != f->verdict)
		fail(f, "expected verdict %s, got %s", verdict_name(f->prog, f->verdict),
		     verdict_name(f->prog, verdict));
	if (wlen != glen || memcmp(want, got, wlen)) {
		fail(f, "expected %s output, got other bytes",
		     f->out == SAME    ? "unchanged"
		     : f->out == ENCAP ? "encapsulated"
		     : f->out == NAT   ? "NATed"
				       : "rewritten");
		hexdiff(want, wlen, got, glen);
	}
	check_counters(f, &before, &now);
	if (f->prog == XDP && f->to)
		check_flow(f, &in);
	if (f->out == NAT)
		check_rnat(f, &in);
	return case_fails == 0;
}
