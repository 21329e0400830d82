/*
 * bench-xdp-cost: what one packet costs steer's XDP program (xdp_steer,
 * bpf/steer_xdp.bpf.c), from BPF_PROG_TEST_RUN with repeat, next to a
 * program that only swaps the MACs and returns XDP_TX, measured the same
 * way. Run by bench/xdp.sh inside a netns it built (see --help).
 *
 * A test run with repeat runs the program again and again on the SAME
 * buffer: whatever the first run wrote (an IPIP header in front, a NATed
 * destination) is what the second run sees, so steer's program would be
 * measured on its own output after the first packet. Each measured run is
 * therefore behind a shim, a small XDP program built here from a few
 * instructions: it puts the buffer back (bpf_xdp_adjust_head to the original
 * start, bpf_xdp_store_bytes of the original frame) and tail-calls the
 * measured program. The shim's cost is measured with the baseline behind
 * the same shim (same frame, same instructions), and taken off:
 *   ns/packet = (shim + steer) - (shim + baseline) + baseline
 * The head restore of the encapsulated cases runs only before steer, so
 * it is counted against steer: the figure errs high.
 *
 * New flows: every TCP SYN skips the flow table and is hashed into the
 * Maglev table, and the shim writes a counter into the source port and the
 * low 16 bits of the source address, so every run is also a 5-tuple the
 * flow table has never seen: each one is a real insert into the LRU (and,
 * for a local replica, into the reply-NAT table), evictions included once
 * the tables are full (a warm-up fills them first).
 *
 * Every run is checked: the verdict, the counters the program keeps
 * (exactly `repeat` flow hits or new flows, encapsulations or NATs, nothing
 * else) and the last packet (the outer destination is the replica, or the
 * NATed destination is). A run that measured something else fails the tool.
 *
 * Output, one line per case and round:
 *   case=tcp4-remote-hit round=1 repeat=1000000 verdict=XDP_TX ns_steer=92
 *   ns_shim=23 ns_base=12 flow_hits=1000000 flow_new=0 encap=1000000 nat_local=0
 * and one per round for the baseline alone (case=xdp-tx-baseline, ns_base).
 */
#include <getopt.h>
#include <stddef.h>

#include "bench/xdp-world.h"
#include "tests/xdp/packet.h"

#define VIP4	     "198.18.100.1"
#define VIP6	     "fd00:100::1"
#define CLIENT4	     "198.18.0.2"
#define CLIENT6	     "fd00:18::2"
#define VIP_PORT     8080
#define REP_PORT     9090
#define FRAME_PAD    60	 /* the shortest Ethernet frame */
#define SHIM_COUNTER 256 /* offset of the shim's counter in its map value */
#define SHIM_VALUE   (SHIM_COUNTER + 8)
#define OUT_MAX	     512
/* Runs of a new-flow case into emptied tables: fewer than their entries
 * (STEER_XDP_FLOWS, STEER_XDP_RNAT). */
#define ROOM_REPEAT 50000

/* Instructions, as the kernel's filter.h spells them. */
#define INSN(CODE, DST, SRC, OFF, IMM)                                                             \
	((struct bpf_insn){                                                                        \
	    .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM)})
#define MOV_REG(D, S)		 INSN(BPF_ALU64 | BPF_MOV | BPF_X, D, S, 0, 0)
#define MOV_IMM(D, IMM)		 INSN(BPF_ALU64 | BPF_MOV | BPF_K, D, 0, 0, IMM)
#define ALU_IMM(OP, D, IMM)	 INSN(BPF_ALU64 | (OP) | BPF_K, D, 0, 0, IMM)
#define LDX(SZ, D, S, OFF)	 INSN(BPF_LDX | (SZ) | BPF_MEM, D, S, OFF, 0)
#define STX(SZ, D, S, OFF)	 INSN(BPF_STX | (SZ) | BPF_MEM, D, S, OFF, 0)
#define ST(SZ, D, OFF, IMM)	 INSN(BPF_ST | (SZ) | BPF_MEM, D, 0, OFF, IMM)
#define JMP_IMM(OP, D, IMM, OFF) INSN(BPF_JMP | (OP) | BPF_K, D, 0, OFF, IMM)
#define JMP_REG(OP, D, S, OFF)	 INSN(BPF_JMP | (OP) | BPF_X, D, S, OFF, 0)
#define CALL(FN)		 INSN(BPF_JMP | BPF_CALL, 0, 0, 0, FN)
#define EXIT()			 INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

struct prog_buf {
	struct bpf_insn insn[64];
	int n;
	int to_abort[8]; /* jumps to patch to the final "return XDP_ABORTED" */
	int nabort;
};

static void emit(struct prog_buf *p, struct bpf_insn insn)
{
	p->insn[p->n++] = insn;
}

static void emit_map_fd(struct prog_buf *p, int reg, int fd)
{
	emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, fd));
	emit(p, INSN(0, 0, 0, 0, 0));
}

static void emit_abort_if(struct prog_buf *p, int op, int reg)
{
	p->to_abort[p->nabort++] = p->n;
	emit(p, JMP_IMM(op, reg, 0, 0));
}

static int load(struct prog_buf *p, const char *name)
{
	static char log[65536];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", p->insn, (size_t)p->n, &opts);

	if (fd >= 0)
		return fd;
	opts.log_buf = log;
	opts.log_size = sizeof(log);
	opts.log_level = 1;
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", p->insn, (size_t)p->n, &opts);
	if (fd < 0)
		xw_err("cannot load %s: %s\n%s", name, strerror(errno), log);
	return fd;
}

/* The baseline: swap the MACs, XDP_TX (XDP_PASS if shorter than Ethernet).
 * Swapping twice is the identity, so it needs no shim to be measured. */
static int load_baseline(void)
{
	struct prog_buf p = {};

	emit(&p, LDX(BPF_W, 2, 1, offsetof(struct xdp_md, data)));
	emit(&p, LDX(BPF_W, 3, 1, offsetof(struct xdp_md, data_end)));
	emit(&p, MOV_REG(4, 2));
	emit(&p, ALU_IMM(BPF_ADD, 4, 14));
	emit(&p, JMP_REG(BPF_JGT, 4, 3, 10));
	emit(&p, LDX(BPF_W, 5, 2, 0));
	emit(&p, LDX(BPF_H, 6, 2, 4));
	emit(&p, LDX(BPF_W, 7, 2, 6));
	emit(&p, LDX(BPF_H, 8, 2, 10));
	emit(&p, STX(BPF_W, 2, 7, 0));
	emit(&p, STX(BPF_H, 2, 8, 4));
	emit(&p, STX(BPF_W, 2, 5, 6));
	emit(&p, STX(BPF_H, 2, 6, 10));
	emit(&p, MOV_IMM(0, XDP_TX));
	emit(&p, EXIT());
	emit(&p, MOV_IMM(0, XDP_PASS));
	emit(&p, EXIT());
	return load(&p, "bench_xdp_tx");
}

/* A shim in front of one measured program (see the top of the file). */
struct shim {
	int prog;
	int frame_map; /* one value: the frame, then the counter */
	int jump_map;  /* prog array of one: the measured program */
};

/* vary: add one to the counter, which starts at `start`, and write it into
 * the source port (at sport_off, its low 16 bits) and the low 16 bits of the
 * source address (at saddr_off, its high 16 bits) before every run. */
static int shim_load(struct shim *s, const uint8_t *frame, uint32_t len, bool vary, uint32_t start,
		     int sport_off, int saddr_off, int target)
{
	unsigned char value[SHIM_VALUE] = {};
	struct prog_buf p = {};
	__u32 zero = 0;

	memset(s, -1, sizeof(*s));
	if (len > SHIM_COUNTER) {
		xw_err("a frame of %u bytes is too long for the shim", len);
		return -1;
	}
	memcpy(value, frame, len);
	memcpy(value + SHIM_COUNTER, &start, sizeof(start));
	s->frame_map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_frame", 4, SHIM_VALUE, 1, NULL);
	s->jump_map = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bench_jump", 4, 4, 1, NULL);
	if (s->frame_map < 0 || s->jump_map < 0 ||
	    bpf_map_update_elem(s->frame_map, &zero, value, BPF_ANY)) {
		xw_err("cannot create the shim's maps: %s", strerror(errno));
		return -1;
	}
	emit(&p, MOV_REG(6, 1));
	/* Back to the original start: data_end never moves, so the length
	 * says how far the head did. */
	emit(&p, CALL(BPF_FUNC_xdp_get_buff_len));
	emit(&p, MOV_REG(2, 0));
	emit(&p, ALU_IMM(BPF_ADD, 2, -(int)len));
	emit(&p, JMP_IMM(BPF_JEQ, 2, 0, 3));
	emit(&p, MOV_REG(1, 6));
	emit(&p, CALL(BPF_FUNC_xdp_adjust_head));
	emit_abort_if(&p, BPF_JNE, 0);
	/* The original bytes. */
	emit(&p, ST(BPF_W, 10, -4, 0));
	emit(&p, MOV_REG(2, 10));
	emit(&p, ALU_IMM(BPF_ADD, 2, -4));
	emit_map_fd(&p, 1, s->frame_map);
	emit(&p, CALL(BPF_FUNC_map_lookup_elem));
	emit_abort_if(&p, BPF_JEQ, 0);
	emit(&p, MOV_REG(7, 0));
	if (vary) {
		emit(&p, LDX(BPF_W, 3, 7, SHIM_COUNTER));
		emit(&p, ALU_IMM(BPF_ADD, 3, 1));
		emit(&p, STX(BPF_W, 7, 3, SHIM_COUNTER));
		emit(&p, STX(BPF_H, 7, 3, sport_off));
		emit(&p, ALU_IMM(BPF_RSH, 3, 16));
		emit(&p, STX(BPF_H, 7, 3, saddr_off));
	}
	emit(&p, MOV_REG(1, 6));
	emit(&p, MOV_IMM(2, 0));
	emit(&p, MOV_REG(3, 7));
	emit(&p, MOV_IMM(4, (int)len));
	emit(&p, CALL(BPF_FUNC_xdp_store_bytes));
	emit_abort_if(&p, BPF_JNE, 0);
	emit(&p, MOV_REG(1, 6));
	emit_map_fd(&p, 2, s->jump_map);
	emit(&p, MOV_IMM(3, 0));
	emit(&p, CALL(BPF_FUNC_tail_call));
	for (int i = 0; i < p.nabort; i++)
		p.insn[p.to_abort[i]].off = (short)(p.n - p.to_abort[i] - 1);
	emit(&p, MOV_IMM(0, XDP_ABORTED));
	emit(&p, EXIT());
	s->prog = load(&p, "bench_xdp_shim");
	if (s->prog < 0)
		return -1;
	if (bpf_map_update_elem(s->jump_map, &zero, &target, BPF_ANY)) {
		xw_err("cannot put the measured program behind the shim: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct cost_case {
	const char *name;
	int family; /* 4 or 6 */
	bool local; /* NAT to a replica on this node; else IPIP to a remote one */
	bool syn;   /* a new flow each run; else a flow-table hit */
	bool room;  /* new flows into emptied tables (no eviction); else into full ones */
	/* filled by setup */
	uint8_t frame[PKT_MAX];
	uint32_t len;
	uint16_t sport;
	struct shim steer, base;
};

static struct cost_case cases[] = {
    {.name = "tcp4-remote-hit", .family = 4},
    {.name = "tcp4-remote-new", .family = 4, .syn = true},
    {.name = "tcp4-local-hit", .family = 4, .local = true},
    {.name = "tcp4-local-new", .family = 4, .local = true, .syn = true},
    {.name = "tcp6-remote-hit", .family = 6},
    {.name = "tcp6-remote-new", .family = 6, .syn = true},
    {.name = "tcp6-local-hit", .family = 6, .local = true},
    {.name = "tcp6-local-new", .family = 6, .local = true, .syn = true},
    {.name = "tcp4-remote-new-room", .family = 4, .syn = true, .room = true},
    {.name = "tcp4-local-new-room", .family = 4, .local = true, .syn = true, .room = true},
    {.name = "tcp6-remote-new-room", .family = 6, .syn = true, .room = true},
    {.name = "tcp6-local-new-room", .family = 6, .local = true, .syn = true, .room = true},
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static const char *remote_addr[2] = {"198.18.11.2", "fd00:11::2"};
static const char *local_addr[2] = {"198.18.10.1", "fd00:10::1"};

/* Replica ids: remote4 0, local4 1, remote6 2, local6 3. Service 0 is the
 * IPv4 VIP, 1 the IPv6 one; bank 0 of each names its remote replica in
 * every Maglev entry, bank 1 its local one, so the bank a case selects
 * decides where every flow goes. */
static uint32_t replica_id(int family, bool local)
{
	return (family == 6 ? 2u : 0u) + (local ? 1u : 0u);
}

static int setup_world(struct xw *w)
{
	uint32_t *table = malloc(STEER_MAGLEV_SIZE * sizeof(*table));
	int ret = -1;

	if (!table)
		return -1;
	for (int f = 0; f < 2; f++) {
		int family = f ? 6 : 4;

		for (int local = 0; local < 2; local++) {
			uint32_t id = replica_id(family, local);
			uint32_t entry = id | (local ? STEER_MAGLEV_F_LOCAL : 0);

			if (xw_put_replica(w, id, (uint32_t)f, family,
					   local ? local_addr[f] : remote_addr[f], REP_PORT))
				goto out;
			for (uint32_t i = 0; i < STEER_MAGLEV_SIZE; i++)
				table[i] = entry;
			if (xw_put_table(w, (uint32_t)f, (uint32_t)local, table, STEER_MAGLEV_SIZE))
				goto out;
		}
		if (xw_put_service(w, family, f ? VIP6 : VIP4, VIP_PORT, (uint32_t)f, 1, 0))
			goto out;
	}
	ret = 0;
out:
	free(table);
	return ret;
}

static int select_bank(struct xw *w, const struct cost_case *c)
{
	return xw_put_service(w, c->family, c->family == 6 ? VIP6 : VIP4, VIP_PORT,
			      c->family == 6 ? 1u : 0u, 1, c->local ? 1 : 0);
}

static void build_frame(struct cost_case *c, bool syn, uint8_t *out, uint32_t *len,
			struct pkt_info *info)
{
	struct pkt_spec s = {
	    .dmac = "02:00:00:00:00:01",
	    .smac = "02:00:00:00:00:02",
	    .family = c->family,
	    .src = c->family == 6 ? CLIENT6 : CLIENT4,
	    .dst = c->family == 6 ? VIP6 : VIP4,
	    .proto = IPPROTO_TCP,
	    .sport = c->sport,
	    .dport = VIP_PORT,
	    .tcp_flags = syn ? PKT_SYN : PKT_ACK | PKT_PSH,
	    .payload_len = syn ? 0 : 2, /* a request line, "x\n" */
	    .pad_to = FRAME_PAD,
	};

	*len = (uint32_t)pkt_build(&s, out, info);
}

static int setup_case(struct xw *w, struct cost_case *c, int base_prog, int index)
{
	struct pkt_info info;
	int saddr_off;

	/* Each case's tuples are its own: the counter's top byte is the case. */
	uint32_t start = (uint32_t)(index + 1) << 24;

	c->sport = (uint16_t)(40000 + index);
	build_frame(c, c->syn, c->frame, &c->len, &info);
	/* the low 16 bits of the source address */
	saddr_off = (int)info.l3 + (c->family == 6 ? 8 + 14 : 12 + 2);
	if (shim_load(&c->steer, c->frame, c->len, c->syn, start, (int)info.l4, saddr_off,
		      w->prog) ||
	    shim_load(&c->base, c->frame, c->len, c->syn, start, (int)info.l4, saddr_off,
		      base_prog))
		return -1;
	return 0;
}

/* A hit needs the flow in the flow table, on this CPU: its SYN first
 * (again before every run, since the new-flow cases evict it). */
static int prime(struct xw *w, struct cost_case *c)
{
	uint8_t syn[PKT_MAX], out[OUT_MAX];
	uint32_t len, verdict;

	build_frame(c, true, syn, &len, NULL);
	if (xw_run(w, w->prog, syn, len, out, sizeof(out), NULL, 1, &verdict, NULL))
		return -1;
	if (verdict != (c->local ? XDP_PASS : XDP_TX)) {
		xw_err("%s: the SYN that opens the flow got verdict %u", c->name, verdict);
		return -1;
	}
	return 0;
}

static const char *verdict_name(uint32_t v)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	return v < 5 ? names[v] : "?";
}

/* The last packet went where the case says. */
static int check_output(const struct cost_case *c, const uint8_t *out, uint32_t len)
{
	__be32 want[4];
	int f = c->family == 6;
	size_t alen = f ? 16 : 4;
	/* encapsulated: the outer header's destination; NATed: the packet's */
	size_t dst_off = 14 + (f ? 24 : 16);
	uint8_t proto = out[14 + (f ? 6 : 9)];

	xw_addr(c->family, c->local ? local_addr[f] : remote_addr[f], want);
	if (len < dst_off + alen || memcmp(out + dst_off, want, alen))
		goto bad;
	if (!c->local && proto != (f ? 41 : 4))
		goto bad;
	if (c->local) {
		size_t l4 = 14 + (f ? 40 : 20);

		if (proto != IPPROTO_TCP || len < l4 + 4 ||
		    ((out[l4 + 2] << 8) | out[l4 + 3]) != REP_PORT)
			goto bad;
	}
	return 0;
bad:
	xw_err("%s: the last packet (%u bytes) is not %s to %s", c->name, len,
	       c->local ? "NATed" : "encapsulated", c->local ? local_addr[f] : remote_addr[f]);
	return -1;
}

/* What the counters must have moved by in a run of `repeat` packets. */
static int check_counters(const struct cost_case *c, const struct steer_xdp_stats *d,
			  uint32_t repeat)
{
	__u64 others = d->passed + d->miss_passed + d->frag_passed + d->malformed + d->too_big +
		       d->fib_failed + d->errors + d->rnat;
	__u64 hits = c->syn ? 0 : repeat, fresh = c->syn ? repeat : 0;
	__u64 encap = c->local ? 0 : repeat, nat = c->local ? repeat : 0;

	if (d->flow_hits == hits && d->flow_new == fresh && d->encap == encap &&
	    d->nat_local == nat && others == 0)
		return 0;
	xw_err("%s: %u packets counted flow_hits=%llu flow_new=%llu encap=%llu nat_local=%llu "
	       "other=%llu; expected flow_hits=%llu flow_new=%llu encap=%llu nat_local=%llu "
	       "other=0",
	       c->name, repeat, (unsigned long long)d->flow_hits, (unsigned long long)d->flow_new,
	       (unsigned long long)d->encap, (unsigned long long)d->nat_local,
	       (unsigned long long)others, (unsigned long long)hits, (unsigned long long)fresh,
	       (unsigned long long)encap, (unsigned long long)nat);
	return -1;
}

static void stats_delta(const struct steer_xdp_stats *a, const struct steer_xdp_stats *b,
			struct steer_xdp_stats *d)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u64 *z = (__u64 *)d;

	for (size_t i = 0; i < sizeof(*d) / sizeof(__u64); i++)
		z[i] = y[i] - x[i];
}

/* One measured run of a case: steer behind its shim, then the baseline
 * behind the same shim. print: emit the row (not during the warm-up). */
static int run_case(struct xw *w, struct cost_case *c, uint32_t repeat, int round, uint32_t ns_base,
		    bool print)
{
	struct steer_xdp_stats s0, s1, d;
	uint8_t out[OUT_MAX];
	uint32_t out_len, verdict, ns_steer, ns_shim, base_verdict;

	if (c->room) {
		/* Tables with room: every insert takes a free entry. */
		if (repeat > ROOM_REPEAT)
			repeat = ROOM_REPEAT;
		if (xw_clear(w->flows, STEER_MAP_XDP_FLOWS) < 0 ||
		    xw_clear(w->rnat, STEER_MAP_XDP_RNAT) < 0)
			return -1;
	}
	if (select_bank(w, c) || (!c->syn && prime(w, c)) || xw_stats(w, &s0) ||
	    xw_run(w, c->steer.prog, c->frame, c->len, out, sizeof(out), &out_len, repeat, &verdict,
		   &ns_steer) ||
	    xw_stats(w, &s1))
		return -1;
	stats_delta(&s0, &s1, &d);
	if (verdict != (c->local ? XDP_PASS : XDP_TX)) {
		xw_err("%s: verdict %s, expected %s", c->name, verdict_name(verdict),
		       c->local ? "XDP_PASS" : "XDP_TX");
		return -1;
	}
	if (check_counters(c, &d, repeat) || check_output(c, out, out_len))
		return -1;
	if (xw_run(w, c->base.prog, c->frame, c->len, out, sizeof(out), NULL, repeat, &base_verdict,
		   &ns_shim))
		return -1;
	if (base_verdict != XDP_TX) {
		xw_err("%s: the baseline behind the shim returned %s", c->name,
		       verdict_name(base_verdict));
		return -1;
	}
	if (print)
		printf("case=%s round=%d repeat=%u verdict=%s ns_steer=%u ns_shim=%u ns_base=%u "
		       "flow_hits=%llu flow_new=%llu encap=%llu nat_local=%llu\n",
		       c->name, round, repeat, verdict_name(verdict), ns_steer, ns_shim, ns_base,
		       (unsigned long long)d.flow_hits, (unsigned long long)d.flow_new,
		       (unsigned long long)d.encap, (unsigned long long)d.nat_local);
	return 0;
}

static int run_baseline(struct xw *w, int prog, const uint8_t *frame, uint32_t len, uint32_t repeat,
			uint32_t *ns)
{
	uint8_t out[OUT_MAX];
	uint32_t verdict;

	if (xw_run(w, prog, frame, len, out, sizeof(out), NULL, repeat, &verdict, ns))
		return -1;
	if (verdict != XDP_TX) {
		xw_err("the baseline returned %s", verdict_name(verdict));
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-xdp-cost --iface IFACE [--repeat N] [--rounds R]\n"
		"\n"
		"Per-packet cost of xdp_steer under BPF_PROG_TEST_RUN, as if packets arrived\n"
		"on IFACE (an interface of this netns). The netns must route %s and %s\n"
		"through IFACE to a gateway with a permanent neighbour entry, have %s and\n"
		"%s (the local replicas, any address) and forwarding on (IPv4 and IPv6).\n"
		"N: runs per test run (1000..100000000, default 1000000); R: rounds (1..100,\n"
		"default 5). Every case is run once first, unreported, to fill the tables.\n",
		remote_addr[0], remote_addr[1], local_addr[0], local_addr[1]);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"iface", required_argument, NULL, 'i'},
	    {"repeat", required_argument, NULL, 'n'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *iface = NULL;
	uint32_t repeat = 1000000, rounds = 5, ns_base;
	struct xw w;
	int base_prog, opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			iface = optarg;
			break;
		case 'n':
			if (parse_uint("--repeat", optarg, 1000, 100000000, &repeat))
				return 2;
			break;
		case 'r':
			if (parse_uint("--rounds", optarg, 1, 100, &rounds))
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
	if (!iface || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (xw_open(&w, iface, 0) || setup_world(&w))
		goto out;
	base_prog = load_baseline();
	if (base_prog < 0)
		goto out;
	for (int i = 0; i < NCASES; i++)
		if (setup_case(&w, &cases[i], base_prog, i))
			goto out;
	/* The warm-up: the new-flow cases fill the flow and reply-NAT tables,
	 * so the rounds measure the steady state of a busy node (inserts that
	 * evict). The cases that empty the tables come after all of those. */
	for (int i = 0; i < NCASES; i++)
		if (!cases[i].room && run_case(&w, &cases[i], repeat, 0, 0, false))
			goto out;
	for (int room = 0; room < 2; room++) {
		for (uint32_t r = 1; r <= rounds; r++) {
			if (run_baseline(&w, base_prog, cases[0].frame, cases[0].len, repeat,
					 &ns_base))
				goto out;
			if (!room)
				printf("case=xdp-tx-baseline round=%u repeat=%u verdict=XDP_TX "
				       "ns_base=%u\n",
				       r, repeat, ns_base);
			/* each round starts one case later */
			for (int i = 0; i < NCASES; i++) {
				struct cost_case *c = &cases[(i + (int)r - 1) % NCASES];

				if (c->room == room &&
				    run_case(&w, c, repeat, (int)r, ns_base, true))
					goto out;
			}
			fflush(stdout);
		}
	}
	printf("cpu=%d flow_table_entries=%ld rnat_entries=%ld\n", w.cpu, xw_count(w.flows),
	       xw_count(w.rnat));
	ret = 0;
out:
	xw_close(&w);
	return ret;
}
