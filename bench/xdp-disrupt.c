/*
 * bench-xdp-disrupt: how many flows change replica when one of a service's
 * replicas leaves, on steer's XDP path. Run by bench/xdp.sh inside a netns
 * it built (see --help).
 *
 * One TCP service, R remote replicas (IPIP), its Maglev table built by the
 * agent's own builder (agent/xdp/maglev.c) at the agent's default size.
 * N distinct flows each send a SYN through the real program (xdp_steer,
 * BPF_PROG_TEST_RUN): the replica each went to is read off the
 * encapsulated packet. Then one replica leaves the way the agent removes
 * it (agent/maps/reconcile.c): the table rebuilt without it into the idle
 * bank, the service flipped to that bank, the replica's id zeroed and its
 * backend entry deleted. Counted among the flows of the other R - 1:
 *  - table: flows whose entry in the new table names another replica
 *    (computed from the two tables; also for every choice of the replica
 *    that leaves);
 *  - kept: flows that went elsewhere when their next packet (an ACK, which
 *    reads the flow table) went through the program: the flow table's
 *    promise is 0;
 *  - rehash: the same with the flow table emptied first, so the datapath
 *    re-hashes every flow: must equal `table`.
 * All of it on one CPU: the flow table is per CPU.
 *
 * Output: key=value lines (see main()). Exit 1 if the datapath disagrees
 * with the tables it was given.
 */
#include <getopt.h>

#include "bench/xdp-world.h"
#include "tests/xdp/packet.h"
#include "xdp/maglev.h"

#define VIP4	 "198.18.100.1"
#define VIP_PORT 80
#define REP_PORT 8080
#define MAX_REPS 64
#define OUT_MAX	 512

struct flow {
	struct steer_flow_key key;
	uint32_t slot;	/* steer_flow_hash(key) % m */
	uint8_t before; /* replica index of the SYN */
	uint8_t after;	/* of the ACK after the change */
	uint8_t rehash; /* of the ACK after the change, flow table emptied */
};

static uint32_t nreps = 10;
static struct endpoint eps[MAX_REPS];
static __be32 rep_addr[MAX_REPS];

static void rep_text(uint32_t i, char *buf, size_t len)
{
	snprintf(buf, len, "198.18.11.%u", 10 + i);
}

/* The table over every replica but `gone` (nreps: none gone). */
static int build_table(uint32_t gone, uint32_t m, uint32_t *table)
{
	struct maglev_backend b[MAX_REPS];
	size_t n = 0;
	int ret;

	for (uint32_t i = 0; i < nreps; i++) {
		if (i == gone)
			continue;
		b[n].ep = &eps[i];
		b[n].value = i; /* the replica id: remote, no STEER_MAGLEV_F_LOCAL */
		b[n].weight = 1;
		n++;
	}
	ret = maglev_build(b, n, m, table);
	if (ret)
		xw_err("maglev_build over %zu replicas: %s", n, strerror(-ret));
	return ret;
}

static void client_text(uint32_t i, char *buf, size_t len)
{
	snprintf(buf, len, "198.19.%u.%u", (i >> 8) & 0xff, i & 0xff);
}

/* Flow i: client 198.19.0.0/16 (the low 16 bits of i), source port from the
 * rest, so every flow is a distinct 5-tuple. */
static uint16_t client_port(uint32_t i)
{
	return (uint16_t)(10000 + (i >> 16));
}

static void flow_key(uint32_t i, struct steer_flow_key *k)
{
	char text[32];

	memset(k, 0, sizeof(*k));
	client_text(i, text, sizeof(text));
	xw_addr(4, text, k->saddr);
	xw_addr(4, VIP4, k->daddr);
	k->sport = htons(client_port(i));
	k->dport = htons(VIP_PORT);
	k->family = STEER_FAMILY_V4;
	k->proto = IPPROTO_TCP;
}

/* Flow i's packet (a SYN or an ACK) through xdp_steer: the replica index
 * the encapsulated packet is sent to; -1 if it is not encapsulated to one. */
static int send_flow(const struct xw *w, uint32_t i, bool syn)
{
	uint8_t frame[PKT_MAX], out[OUT_MAX];
	char src[32];
	uint32_t out_len, verdict;
	struct pkt_spec s = {
	    .dmac = "02:00:00:00:00:01",
	    .smac = "02:00:00:00:00:02",
	    .family = 4,
	    .src = src,
	    .dst = VIP4,
	    .proto = IPPROTO_TCP,
	    .sport = client_port(i),
	    .dport = VIP_PORT,
	    .tcp_flags = syn ? PKT_SYN : PKT_ACK,
	    .pad_to = 60,
	};
	size_t len;
	__be32 dst;

	client_text(i, src, sizeof(src));
	len = pkt_build(&s, frame, NULL);
	if (xw_run(w, w->prog, frame, len, out, sizeof(out), &out_len, 1, &verdict, NULL))
		return -1;
	/* | eth | outer IPv4, protocol 4 | inner ... | */
	if (verdict != XDP_TX || out_len < 34 || out[14 + 9] != 4)
		return -1;
	memcpy(&dst, out + 14 + 16, 4);
	for (uint32_t r = 0; r < nreps; r++)
		if (rep_addr[r] == dst)
			return (int)r;
	return -1;
}

/* Sends every flow's packet, recording where it went in the field at
 * offset `field` of struct flow. */
static int send_all(const struct xw *w, struct flow *flows, uint32_t n, bool syn, size_t field)
{
	for (uint32_t i = 0; i < n; i++) {
		int r = send_flow(w, i, syn);

		if (r < 0) {
			xw_err("flow %u (%s): not encapsulated to a replica", i,
			       syn ? "SYN" : "ACK");
			return -1;
		}
		*((uint8_t *)&flows[i] + field) = (uint8_t)r;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-xdp-disrupt --iface IFACE [--flows N] [--replicas R] [--remove I]\n"
		"                         [--flow-table ENTRIES]\n"
		"\n"
		"Flows that change replica when one of R replicas leaves (see the top of\n"
		"bench/xdp-disrupt.c). IFACE: an interface of this netns that routes\n"
		"198.18.11.0/24 to a gateway with a permanent neighbour entry, forwarding on.\n"
		"N: flows (1..1000000, default 100000); R: replicas 198.18.11.10, .11, ...\n"
		"(2..%d, default 10); I: the one that leaves (0..R-1, default 0); ENTRIES: the\n"
		"flow table's size (default: as built, STEER_XDP_FLOWS = %d).\n",
		MAX_REPS, STEER_XDP_FLOWS);
}

static int parse_uint(const char *opt, const char *v, unsigned long lo, unsigned long hi,
		      uint32_t *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || !*v || n < lo || n > hi) {
		xw_err("%s '%s': expected an integer in %lu..%lu", opt, v, lo, hi);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* Of the flows not on `gone`, how many the table after its leaving moves. */
static uint32_t table_moves(const struct flow *flows, uint32_t n, const uint32_t *before,
			    const uint32_t *after, uint32_t gone, uint32_t *others)
{
	uint32_t moved = 0;

	*others = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t b = before[flows[i].slot];

		if (b == gone)
			continue;
		(*others)++;
		moved += after[flows[i].slot] != b;
	}
	return moved;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"iface", required_argument, NULL, 'i'},
	    {"flows", required_argument, NULL, 'n'},
	    {"replicas", required_argument, NULL, 'r'},
	    {"remove", required_argument, NULL, 'x'},
	    {"flow-table", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const uint32_t m = STEER_MAGLEV_SIZE;
	const char *iface = NULL;
	uint32_t nflows = 100000, gone = 0, table_entries = 0, others = 0, count[MAX_REPS] = {};
	uint32_t *before = NULL, *after = NULL, *alt = NULL;
	struct flow *flows = NULL;
	struct steer_xdp_stats s0, s1;
	struct xw w = {};
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			iface = optarg;
			break;
		case 'n':
			if (parse_uint("--flows", optarg, 1, 1000000, &nflows))
				return 2;
			break;
		case 'r':
			if (parse_uint("--replicas", optarg, 2, MAX_REPS, &nreps))
				return 2;
			break;
		case 'x':
			if (parse_uint("--remove", optarg, 0, MAX_REPS - 1, &gone))
				return 2;
			break;
		case 'f':
			if (parse_uint("--flow-table", optarg, 1024, 16777216, &table_entries))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!iface || optind != argc || gone >= nreps) {
		if (iface && gone >= nreps)
			xw_err("--remove %u: expected 0..%u (--replicas %u)", gone, nreps - 1,
			       nreps);
		usage(stderr);
		return 2;
	}
	before = malloc(m * sizeof(*before));
	after = malloc(m * sizeof(*after));
	alt = malloc(m * sizeof(*alt));
	flows = calloc(nflows, sizeof(*flows));
	if (!before || !after || !alt || !flows) {
		xw_err("out of memory");
		goto out;
	}
	if (xw_open(&w, iface, table_entries))
		goto out;
	for (uint32_t i = 0; i < nreps; i++) {
		char text[32];

		rep_text(i, text, sizeof(text));
		eps[i].family = STEER_FAMILY_V4;
		xw_addr(4, text, eps[i].addr);
		eps[i].port = REP_PORT;
		rep_addr[i] = eps[i].addr[0];
		if (xw_put_replica(&w, i, 0, 4, text, REP_PORT))
			goto out;
	}
	if (build_table(nreps, m, before) || xw_put_table(&w, 0, 0, before, m) ||
	    xw_put_service(&w, 4, VIP4, VIP_PORT, 0, (uint16_t)nreps, 0))
		goto out;
	printf("flows=%u replicas=%u maglev_size=%u removed=%u flow_table=%u cpu=%d\n", nflows,
	       nreps, m, gone, bpf_map__max_entries(w.skel->maps.steer_xdp_flows_v1), w.cpu);

	/* Every flow's SYN, with the table of all R replicas. */
	for (uint32_t i = 0; i < nflows; i++) {
		flow_key(i, &flows[i].key);
		flows[i].slot = steer_flow_hash(&flows[i].key) % m;
	}
	if (send_all(&w, flows, nflows, true, offsetof(struct flow, before)))
		goto out;
	uint32_t mismatch = 0, lo = UINT32_MAX, hi = 0;

	for (uint32_t i = 0; i < nflows; i++) {
		count[flows[i].before]++;
		mismatch += flows[i].before != before[flows[i].slot];
	}
	for (uint32_t r = 0; r < nreps; r++) {
		lo = count[r] < lo ? count[r] : lo;
		hi = count[r] > hi ? count[r] : hi;
	}
	printf("balance_min=%u balance_max=%u datapath_vs_table=%u flow_table_entries=%ld\n", lo,
	       hi, mismatch, xw_count(w.flows));
	if (mismatch) {
		xw_err("%u flows' SYNs did not go where the Maglev table says", mismatch);
		goto out;
	}

	/* The table alone: entries and flows of the others that move. */
	uint32_t entries_moved = 0, entries_others = 0;

	if (build_table(gone, m, after))
		goto out;
	for (uint32_t e = 0; e < m; e++) {
		if (before[e] == gone)
			continue;
		entries_others++;
		entries_moved += after[e] != before[e];
	}
	uint32_t table_moved = table_moves(flows, nflows, before, after, gone, &others);

	printf("table_entries_moved=%u table_entries_others=%u table_flows_moved=%u "
	       "flows_others=%u\n",
	       entries_moved, entries_others, table_moved, others);
	/* The same for every replica that could leave. */
	double sum = 0, worst = 0;

	for (uint32_t g = 0; g < nreps; g++) {
		uint32_t o, mv;

		if (build_table(g, m, alt))
			goto out;
		mv = table_moves(flows, nflows, before, alt, g, &o);
		sum += o ? (double)mv / o : 0;
		worst = o && (double)mv / o > worst ? (double)mv / o : worst;
	}
	printf("table_any_removal_mean_pct=%.3f table_any_removal_max_pct=%.3f\n",
	       100 * sum / nreps, 100 * worst);

	/* The change, as the agent makes it: the idle bank, the flip, then
	 * the replica retired. */
	if (xw_put_table(&w, 0, 1, after, m) ||
	    xw_put_service(&w, 4, VIP4, VIP_PORT, 0, (uint16_t)(nreps - 1), 1) ||
	    xw_retire_replica(&w, gone))
		goto out;

	/* With the flow table. */
	if (xw_stats(&w, &s0) || send_all(&w, flows, nflows, false, offsetof(struct flow, after)) ||
	    xw_stats(&w, &s1))
		goto out;
	uint32_t kept_moved = 0, gone_flows = 0, gone_stuck = 0, gone_wrong = 0;

	for (uint32_t i = 0; i < nflows; i++) {
		const struct flow *f = &flows[i];

		if (f->before == gone) {
			gone_flows++;
			gone_stuck += f->after == gone;
			gone_wrong += f->after != after[f->slot];
		} else {
			kept_moved += f->after != f->before;
		}
	}
	printf("kept_moved=%u flows_others=%u gone_flows=%u gone_to_gone=%u gone_not_as_table=%u "
	       "flow_hits=%llu flow_new=%llu\n",
	       kept_moved, others, gone_flows, gone_stuck, gone_wrong,
	       (unsigned long long)(s1.flow_hits - s0.flow_hits),
	       (unsigned long long)(s1.flow_new - s0.flow_new));

	/* Without it: every flow re-hashed through the new table. */
	if (xw_clear(w.flows, STEER_MAP_XDP_FLOWS) < 0 ||
	    send_all(&w, flows, nflows, false, offsetof(struct flow, rehash)))
		goto out;
	uint32_t rehash_moved = 0, rehash_wrong = 0;

	for (uint32_t i = 0; i < nflows; i++) {
		const struct flow *f = &flows[i];

		rehash_wrong += f->rehash != after[f->slot];
		if (f->before != gone)
			rehash_moved += f->rehash != f->before;
	}
	printf("rehash_moved=%u flows_others=%u rehash_not_as_table=%u\n", rehash_moved, others,
	       rehash_wrong);
	if (gone_stuck || gone_wrong || rehash_wrong) {
		xw_err("the datapath did not follow the new table: %u flows still on the removed "
		       "replica, %u re-hashed elsewhere than the table says",
		       gone_stuck, gone_wrong + rehash_wrong);
		goto out;
	}
	ret = 0;
out:
	xw_close(&w);
	free(before);
	free(after);
	free(alt);
	free(flows);
	return ret;
}
