/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between steer's BPF datapath and its agent: every map key and
 * value, every enum and limit both sides use. Includes nothing but
 * linux/types.h so it compiles next to the BPF headers and in userspace.
 *
 * Byte order: addresses and ports are network order (as the kernel hands them
 * to sock_addr programs); everything else is host order.
 *
 * A layout change here, or a change of a map's type, must bump the map's
 * name suffix (_v1 -> _v2) so an old pinned map is never read with the new
 * layout (libbpf also refuses to reuse a pin of another type).
 */
#ifndef STEER_ABI_H
#define STEER_ABI_H

#include <linux/types.h>

/* Limits. The agent sizes the maps when it loads them (STEER_MAX_SERVICES,
 * STEER_MAX_REPLICAS_PER_SERVICE and STEER_MAX_REPLICAS in its environment,
 * see agent/config/limits.h); these are the defaults. STEER_MAX_SLOTS is
 * also the most replicas one service can have, which bounds the hook's
 * loops. Each can be overridden at build time. */
#ifndef STEER_MAX_SERVICES
#define STEER_MAX_SERVICES 65536
#endif
#ifndef STEER_MAX_SLOTS
#define STEER_MAX_SLOTS 1024 /* replicas per service */
#endif
#ifndef STEER_MAX_REPLICAS
#define STEER_MAX_REPLICAS 262144 /* replicas across all services */
#endif
/* Slots of the steer_slots_v1 of a pin directory made before slot ranges:
 * (service, bank, slot) at a fixed stride of this many slots per bank. */
#define STEER_LEGACY_SLOT_STRIDE 64
#ifndef STEER_MAX_REVNAT
/* steer_revnat_v1, the reverse NAT of versions before socket storage:
 * still read, never written (see bpf/lib/maps.h). */
#define STEER_MAX_REVNAT 65536
#endif
#ifndef STEER_MAX_SOCKS
#define STEER_MAX_SOCKS 65536 /* steered sockets open at once, never evicted below it */
#endif
#ifndef STEER_SOCK_PEERS
#define STEER_SOCK_PEERS 2 /* VIPs one unconnected UDP socket is shown at once */
#endif

/* Two slot banks per service: the agent fills the idle one, then flips. */
#define STEER_SLOT_BANKS 2

/* Address families as stored in maps (values of AF_INET / AF_INET6). */
enum steer_family {
	STEER_FAMILY_NONE = 0,
	STEER_FAMILY_V4 = 2,
	STEER_FAMILY_V6 = 10,
};

/* Replica states, written by the agent. Only UP receives new connections. */
enum steer_replica_state {
	STEER_REPLICA_UNUSED = 0,   /* id free; never routed to */
	STEER_REPLICA_UP = 1,	    /* healthy: receives new connections */
	STEER_REPLICA_DOWN = 2,	    /* failed its checks or was ejected */
	STEER_REPLICA_UNKNOWN = 3,  /* never seen healthy yet: no traffic */
	STEER_REPLICA_DRAINING = 4, /* operator drain: established connections carry on */
};

/* Why a replica was taken out of selection. */
enum steer_eject_reason {
	STEER_EJECT_NONE = 0,
	STEER_EJECT_LISTENER_CLOSED = 1, /* its listening socket on this host closed */
	STEER_EJECT_CONNECT_FAILED = 2,	 /* connects failed (SYN_SENT -> CLOSE); UDP: ICMP errors */
	STEER_EJECT_CHECK_FAILED = 3,	 /* active checks failed `fall` times */
	/* Not an ejection: a listener opened on a replica's address and port,
	 * so the agent checks the replica at once instead of at its next
	 * interval (a replica coming back is noticed in a millisecond). */
	STEER_EVENT_LISTENER_UP = 16,
	/* Not an ejection: a connection to a replica of service svc_id closed
	 * while the agent held connections for it, so one of them may fit now
	 * (max_conns). addr/port: that replica. */
	STEER_EVENT_SLOT_FREE = 17,
};

/* Outcome of an active health check. */
enum steer_check_result {
	STEER_CHECK_NONE = 0, /* not checked yet */
	STEER_CHECK_OK = 1,
	STEER_CHECK_REFUSED = 2,      /* connect refused or reset */
	STEER_CHECK_TIMEOUT = 3,      /* no answer within the timeout */
	STEER_CHECK_BAD_STATUS = 4,   /* HTTP status outside the expected range */
	STEER_CHECK_BAD_RESPONSE = 5, /* not an HTTP response */
	STEER_CHECK_ERROR = 6,	      /* other socket error */
};

#ifndef STEER_XDP_FLOWS
/* Flows steer_xdp_flows_v1 remembers on the node, each with a value per CPU. */
#define STEER_XDP_FLOWS 65536
#endif
#ifndef STEER_XDP_RNAT
#define STEER_XDP_RNAT 65536 /* flows to local replicas whose replies are rewritten */
#endif
#ifndef STEER_DECAP_VIPS
#define STEER_DECAP_VIPS 256 /* VIPs a replica decapsulates for */
#endif
/* STEER_MAGLEV_SIZE: the Maglev table's default size, a prime (Cilium's
 * default; Katran uses 65537). The agent may build tables of another prime
 * size between STEER_MAGLEV_MIN and STEER_MAGLEV_MAX. */
#define STEER_MAGLEV_SIZE 16381
#define STEER_MAGLEV_MIN  251
#define STEER_MAGLEV_MAX  131071

/* Pinned map names (stable: bpftool users and restarts rely on them). */
#define STEER_MAP_SERVICES	  "steer_svc_v1"
#define STEER_MAP_SLOTS		  "steer_slots_v1"
#define STEER_MAP_REPLICAS	  "steer_replicas_v1"
#define STEER_MAP_SVC_STATS	  "steer_svc_stats_v1"
#define STEER_MAP_REPLICA_STATS	  "steer_replica_stats_v1"
#define STEER_MAP_REVNAT	  "steer_revnat_v1"
#define STEER_MAP_SOCKS		  "steer_socks_v1"
#define STEER_MAP_SOCK_STATS	  "steer_sock_stats_v1"
#define STEER_MAP_REPLICA_ACTIVE  "steer_replica_active_v1"
#define STEER_MAP_SVC_NAMES	  "steer_svc_names_v1"
#define STEER_MAP_BACKENDS	  "steer_backends_v1"
#define STEER_MAP_EVENTS	  "steer_events_v1"
#define STEER_MAP_REPLICA_STATUS  "steer_replica_status_v1"
#define STEER_MAP_HOLD		  "steer_hold_v2"
#define STEER_MAP_HOLD_SOCKS	  "steer_hold_socks_v2"
#define STEER_MAP_HOLD_STATS	  "steer_hold_stats_v2"
#define STEER_MAP_RELAY_STATS	  "steer_relay_stats_v2"
#define STEER_MAP_CHECK_STATS	  "steer_check_stats_v2"
#define STEER_MAP_SLOT_ATTRS	  "steer_slot_attrs_v1"
#define STEER_MAP_BANKS		  "steer_svc_banks_v1"
#define STEER_MAP_REPLICA_RELAYED "steer_replica_relayed_v1"
#define STEER_MAP_LB_STATS	  "steer_svc_lb_stats_v1"
#define STEER_MAP_MAGLEV	  "steer_maglev_v1"
#define STEER_MAP_XDP_BANKS	  "steer_xdp_banks_v1"
#define STEER_MAP_XDP_FLOWS	  "steer_xdp_flows_v1"
#define STEER_MAP_XDP_RNAT	  "steer_xdp_rnat_v1"
#define STEER_MAP_XDP_STATS	  "steer_xdp_stats_v1"
#define STEER_MAP_DECAP_VIPS	  "steer_decap_vips_v1"
#define STEER_MAP_DECAP_STATS	  "steer_decap_stats_v1"
#define STEER_MAP_REGISTRY	  "steer_registry_v1"
#define STEER_MAP_SLOT_RANGES	  "steer_slot_ranges_v1"

/* Pins of older versions the agent reads once, at an upgrade, before it
 * prunes them: the per-service stats as arrays of STEER_MAX_SERVICES
 * (same values as their _v2 hashes, which hold only services with a
 * non-zero counter). */
#define STEER_MAP_HOLD_STATS_V1	 "steer_hold_stats_v1"
#define STEER_MAP_RELAY_STATS_V1 "steer_relay_stats_v1"
#define STEER_MAP_CHECK_STATS_V1 "steer_check_stats_v1"

/* Ring buffer size for ejection events (bytes, a power of two). */
#define STEER_EVENTS_BYTES (256 * 1024)

/* Longest service name, including the NUL. */
#define STEER_SVC_NAME_LEN 64

/* Key of steer_svc_v1: one service, i.e. one VIP:port and protocol. */
struct steer_svc_key {
	__be32 addr[4]; /* VIP, network order; IPv4 uses addr[0], rest zero */
	__be16 port;	/* VIP port, network order */
	__u8 family;	/* enum steer_family */
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
};

/* Value of steer_svc_v1. Replaced whole by the agent, so a reader sees either
 * the old (bank, count) pair or the new one, never a mix. */
struct steer_svc_value {
	__u32 svc_id; /* index into per-service arrays, < STEER_MAX_SERVICES */
	__u16 count;  /* live slots in the active bank, <= STEER_MAX_SLOTS */
	__u8 bank;    /* active slot bank, 0 or 1 */
	__u8 flags;   /* STEER_SVC_F_*; other bits zero */
};

/* steer_svc_value.flags. Zero is a TCP service's default, p2c: two
 * distinct routable candidates, the one with fewer active connections
 * (steer_replica_active_v1) wins. UDP services always hash the socket. */
#define STEER_SVC_F_RANDOM 0x01 /* TCP: one uniform random pick (policy = random) */
/* The bank's steer_svc_banks_v1 entry and its slots' steer_slot_attrs_v1
 * entries say more than "one tier, equal weights, no limits": read them.
 * Without any of these bits the hook reads neither (the cost of the plain
 * case does not change). */
#define STEER_SVC_F_WEIGHTED 0x02 /* draws follow steer_slot_attrs.weight */
#define STEER_SVC_F_LIMITED  0x04 /* some replica has max_conns */
#define STEER_SVC_F_TIERS    0x08 /* more than one locality tier has slots */

/* Locality tiers, the passes of a pick in order: replicas on this node,
 * then in this node's zone (STEER_ZONE), then any. */
enum steer_tier {
	STEER_TIER_LOCAL = 0,
	STEER_TIER_ZONE = 1,
	STEER_TIER_ANY = 2,
	STEER_TIERS = 3,
};

/* Value of steer_slot_ranges_v1 (an array indexed by steer_bank_index()):
 * where the bank's slots are. Slot i of the bank is steer_slots_v1[base + i]
 * (and its attributes steer_slot_attrs_v1[base + i]), i < cap. Written
 * before the service value that makes the bank live, like its slots. */
struct steer_slot_range {
	__u32 base; /* index of slot 0 in steer_slots_v1 */
	__u32 cap;  /* slots of the range; the bank's count is at most this */
};

/* Value of steer_slots_v1 (an array, the banks' ranges in it). */
struct steer_slot {
	__u32 replica_id; /* index into steer_replicas_v1 */
};

/* Value of steer_slot_attrs_v1 (an array indexed like steer_slots_v1): how
 * the slot's replica takes part in a pick. Written with its bank, before
 * the flip, like the slot. */
struct steer_slot_attrs {
	__u32 weight_end; /* sum of the weights of the slots of its tier up to and
			   * including this one (a weighted draw's search key) */
	__u32 max_conns;  /* connections open at once, at most; 0 = no limit */
	__u16 weight;	  /* 1..100 */
	__u8 pad[6];	  /* zero */
};

/* Value of steer_svc_banks_v1 (an array indexed by svc_id * 2 + bank):
 * where each locality tier's slots are in the bank and their total weight.
 * Tier t holds slots [tier_end[t - 1], tier_end[t]) (tier_end[-1] = 0).
 * All zero (a bank written before this map existed): one tier, [0, count). */
struct steer_bank {
	__u16 tier_end[STEER_TIERS];	 /* slot index just past each tier */
	__u16 pad;			 /* zero */
	__u32 weight_total[STEER_TIERS]; /* sum of the weights of each tier */
	__u32 max_queued;		 /* held connections at most; 0 = no bound */
};

/* Value of steer_replica_relayed_v1 (array indexed by replica id): the
 * agent's relays to the replica (held connections it served), which the
 * kernel cannot count: they are the agent's sockets. max_conns counts them
 * with steer_replica_active_v1. Written by the agent only. */
struct steer_replica_relayed {
	__u64 relayed; /* relays open to the replica now */
};

/* How the agent's registry watch stands (steer_registry_v1.conn). */
enum steer_registry_conn {
	STEER_REGISTRY_NONE = 0,       /* no STEER_REGISTRY */
	STEER_REGISTRY_CONNECTING = 1, /* not listed yet since the agent started */
	STEER_REGISTRY_CONNECTED = 2,  /* listed and watching */
	STEER_REGISTRY_STALE = 3,      /* etcd lost: the last known set is kept */
};

/* Value of steer_registry_v1 (array of one entry): the agent's view of the
 * etcd registry, for status and metrics. Written by the agent only. */
struct steer_registry_status {
	__u64 since_ns;		/* CLOCK_REALTIME ns of the last change of conn */
	__s64 revision;		/* etcd revision the agent has seen */
	__s64 applied_revision; /* revision of the config in the maps */
	__u64 applied_ns;	/* CLOCK_REALTIME ns of that apply */
	__u32 conn;		/* enum steer_registry_conn */
	__u32 services;		/* registry services applied */
	__u32 replicas;		/* their replicas */
	__u32 skipped;		/* keys left out: bad, or clashing with the file */
	__u32 attempts;		/* failed attempts to reach etcd since the last success */
	__u8 pad[4];
	char member[64]; /* the etcd member used last, HOST:PORT, NUL-terminated */
	char error[160]; /* why the last attempt failed, "" if none */
};

/* Value of steer_svc_lb_stats_v1 (per-CPU array indexed by svc_id): which
 * pass of the pick served each steered connect, and misses refused. */
struct steer_svc_lb_stats {
	__u64 pass[STEER_TIERS]; /* steered connects by enum steer_tier of the replica */
	__u64 refused_full;	 /* misses refused in the hook: max_queued held already */
};

/* Value of steer_replicas_v1 (an array indexed by replica id). */
struct steer_replica {
	__be32 addr[4]; /* replica address, network order; IPv4 uses addr[0] */
	__be16 port;	/* replica port, network order */
	__u8 family;	/* enum steer_family */
	__u8 state;	/* enum steer_replica_state */
	__u32 svc_id;	/* owning service */
};

/* Value of steer_svc_stats_v1 (per-CPU array indexed by svc_id). */
struct steer_svc_stats {
	__u64 steered; /* connects and datagrams rewritten to a replica */
	__u64 misses;  /* connects or datagrams that found no routable replica */
	__u64 errors;  /* refused because a map lookup failed (fail closed) */
};

/* Value of steer_replica_stats_v1 (per-CPU array indexed by replica id). */
struct steer_replica_stats {
	__u64 steered; /* connects and datagrams sent to this replica */
};

/* Key of steer_revnat_v1: a socket and the replica it was steered to. */
struct steer_revnat_key {
	__u64 cookie;	/* socket cookie */
	__be32 addr[4]; /* replica address, network order */
	__be16 port;	/* replica port, network order */
	__u8 family;	/* enum steer_family */
	__u8 pad[5];	/* zero */
};

/* Value of steer_revnat_v1: what getpeername()/recvfrom() show instead. */
struct steer_revnat_value {
	__be32 addr[4]; /* VIP, network order */
	__be16 port;	/* VIP port, network order */
	__u8 family;	/* enum steer_family */
	__u8 pad[1];	/* zero */
};

/* One destination a socket was steered to, and the VIP it is shown instead.
 * family 0: an empty entry. */
struct steer_sock_peer {
	__be32 addr[4];	 /* replica (or hold listener) as the socket sees it, network order */
	__be32 vip[4];	 /* VIP shown by getpeername()/recvfrom(), network order */
	__be16 port;	 /* of addr, network order */
	__be16 vip_port; /* network order */
	__u8 family;	 /* enum steer_family of addr */
	__u8 vip_family; /* enum steer_family of vip */
	__u8 pad[2];	 /* zero */
};

/* Value of steer_socks_v1 (an LRU hash keyed by socket cookie): created by
 * the connect or sendmsg hook that steers the socket, deleted when its
 * owner closes it, so it does not outlive the socket, and is not evicted
 * while fewer than STEER_MAX_SOCKS steered sockets are open.
 * A TCP socket has one peer; an unconnected UDP socket up to
 * STEER_SOCK_PEERS (the oldest entry is replaced past that). */
struct steer_sock {
	struct steer_sock_peer peer[STEER_SOCK_PEERS];
	__be32 conn_addr[4]; /* the replica connect() chose, map form (IPv4 in addr[0]) */
	__u32 conn_replica;  /* its id in steer_replicas_v1 */
	__be16 conn_port;    /* network order */
	__u8 conn_family;    /* enum steer_family; 0: not connected to a replica by steer */
	__u8 next;	     /* next entry of peer[] to replace */
	__u8 conn_proto;     /* IPPROTO_TCP: counted in steer_replica_active_v1 */
	__u8 pad[7];	     /* zero */
};

/* Value of steer_replica_active_v1 (array indexed by replica id): TCP
 * connections steered to the replica and not closed yet, from the steered
 * connect() until the socket is closed, whatever happened in between (a
 * refused connect, a reset). Updated atomically by the datapath; the agent
 * zeroes it when the id is given to another replica. */
struct steer_replica_active {
	__s64 active; /* may read below 0 for a moment after a reset; show 0 */
};

/* Value of steer_sock_stats_v1 (per-CPU array of one): the sockets that hold
 * a steer_socks_v1 entry. Open now = tracked - released, summed over CPUs. */
struct steer_sock_stats {
	__u64 tracked;	 /* sockets that got an entry (steered at least once) */
	__u64 released;	 /* of which closed by their owner (cgroup/sock_release) */
	__u64 destroyed; /* connected sockets aborted because their replica left */
};

/* Value of steer_svc_names_v1 (array indexed by svc_id): the config's name
 * for the service, so `steer status` and bpftool need no config file. Written
 * by the agent only; the datapath never reads it. */
struct steer_svc_name {
	char name[STEER_SVC_NAME_LEN]; /* NUL-terminated */
};

/* Key of steer_backends_v1: one replica endpoint and protocol, whichever
 * services use it. TCP replicas have an entry (written by reconcile); UDP
 * replicas only while their service has checks (written by the checker),
 * since nothing else would bring an ejected one back. */
struct steer_backend_key {
	__be32 addr[4]; /* network order; IPv4 uses addr[0], rest zero */
	__be16 port;	/* network order */
	__u8 family;	/* enum steer_family */
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
};

/* Value of steer_backends_v1. The agent creates the entry and sets `local`;
 * the datapath sets ejected_ns and counts failures; the agent clears
 * ejected_ns once active checks see the endpoint healthy again. */
struct steer_backend {
	__u64 ejected_ns;	    /* bpf_ktime_get_ns() at ejection, 0 = not ejected */
	__u64 failed_connects;	    /* connects to it that failed (UDP: ICMP errors), ever */
	__u32 consecutive_failures; /* since the last good connect (UDP: passing check) */
	__u8 reason;		    /* enum steer_eject_reason of the last ejection */
	__u8 local;		    /* 1 if the address is on this host */
	__u8 pad[2];		    /* zero */
};

/* A record in the steer_events_v1 ring buffer: the datapath ejected an
 * endpoint. addr all zero means "every local replica on this port". */
struct steer_event {
	__u64 ts_ns;	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__be32 addr[4]; /* network order */
	__be16 port;	/* network order */
	__u8 family;	/* enum steer_family */
	__u8 reason;	/* enum steer_eject_reason */
	__u32 svc_id;	/* STEER_EVENT_SLOT_FREE: the service; else zero */
};

/* Value of steer_replica_status_v1 (array indexed by replica id): the health
 * checker's view, so `steer status` can show it without the agent. Written by
 * the agent only. */
struct steer_replica_status {
	__u64 since_ns;		    /* CLOCK_REALTIME ns of the last state change */
	__u64 last_check_ns;	    /* CLOCK_REALTIME ns of the last check, 0 = none */
	__u32 last_latency_us;	    /* duration of the last check */
	__u16 consecutive_failures; /* checks failed in a row */
	__u8 last_result;	    /* enum steer_check_result */
	__u8 eject_reason;	    /* enum steer_eject_reason of the last ejection */
};

/* Log-linear histogram of microseconds: bucket 0 holds 0 us; above that,
 * two buckets per power of two (see steer_hist_bucket()). */
#define STEER_HIST_BUCKETS 64

struct steer_hist {
	__u64 count[STEER_HIST_BUCKETS]; /* samples per bucket */
};

/* Bucket of a value in microseconds: 0 -> 0; otherwise 1 + 2 * floor(log2 v)
 * + (the bit below the top bit), capped at the last bucket. */
static inline __u32 steer_hist_bucket(__u64 us)
{
	__u32 top = 63, b;

	if (!us)
		return 0;
	while (!(us >> top))
		top--;
	b = 1 + 2 * top + (top ? (__u32)((us >> (top - 1)) & 1) : 0);
	return b < STEER_HIST_BUCKETS ? b : STEER_HIST_BUCKETS - 1;
}

/* Value of steer_hold_stats_v2 (hash keyed by svc_id, no entry: all zero):
 * the miss path, as the agent saw it. Written by the agent only; read by
 * status, and by the connect hook for held_now (max_queued). */
struct steer_hold_stats {
	__u64 held_now;			    /* connections held right now */
	__u64 held_total;		    /* connections ever held */
	__u64 served;			    /* held, then relayed to a replica */
	__u64 timeouts;			    /* held until STEER_RETRY_TIMEOUT_MS, then reset */
	__u64 refused_full;		    /* refused at once: STEER_HOLD_MAX reached */
	__u64 attempts_served;		    /* attempts spent by served connections */
	__u64 attempts_total;		    /* connect attempts made */
	__u64 abandoned;		    /* held, then closed or reset by the client */
	struct steer_hist hold_us;	    /* arrival -> relaying, served ones */
	struct steer_hist first_attempt_us; /* arrival -> first attempt started */
};

/* Value of steer_relay_stats_v2 (hash keyed by svc_id, no entry: all zero):
 * the relays of held-then-served connections, as the agent saw them. A map
 * of its own, not fields of steer_hold_stats_v2, so an agent adopts a pin
 * directory that predates relays. Written by the agent only; read by status. */
struct steer_relay_stats {
	__u64 open;	    /* relays running now */
	__u64 started;	    /* relays ever started */
	__u64 slot_waits;   /* held connections that had a routable replica but waited:
			     * STEER_RELAY_MAX relays were open (counted once each) */
	__u64 refused_full; /* of those, reset at the retry timeout, still waiting */
	__u64 idle_closed;  /* relays reset after STEER_RELAY_IDLE_MS with no byte moved */
	__u64 failed;	    /* served, but no relay could start (fds, memory): reset */
};

/* Value of steer_check_stats_v2 (hash keyed by svc_id, no entry: all zero):
 * active checks and ejections of the service's replicas, as the agent saw
 * them. Agent-only. */
struct steer_check_stats {
	__u64 checks;		       /* active checks completed */
	__u64 check_failures;	       /* of which failed */
	__u64 ejections[4];	       /* replicas taken out, by enum steer_eject_reason */
	struct steer_hist duration_us; /* check durations */
};

/*
 * The miss path's listeners: one per address family for all TCP services.
 * steer_hold_socks_v2 (a SOCKMAP) holds the sockets themselves and
 * steer_hold_v2 describes them, both indexed by steer_hold_index().
 */
#define STEER_HOLD_FAMILIES 2 /* [0] IPv4 (127.0.0.1), [1] IPv6 ([::1]) */

/* The index of family's hold listener (enum steer_family). */
static inline __u32 steer_hold_index(__u8 family)
{
	return family == STEER_FAMILY_V6 ? 1 : 0;
}

/* Value of steer_hold_v2 (array indexed by steer_hold_index()): where the
 * agent's hold listener of the family is, and what reached it, for
 * operators and status. port 0: none. The datapath does not read it: a
 * miss goes to the socket in steer_hold_socks_v2, which exists only while
 * the agent holds it open, at that socket's own address. Written by the
 * agent only. */
struct steer_hold {
	__be32 addr[4];	 /* the agent's listener, loopback, network order */
	__be16 port;	 /* network order; 0 = none */
	__u8 family;	 /* enum steer_family */
	__u8 pad[5];	 /* zero */
	__u64 local;	 /* held connections of clients on this node (the connect hook) */
	__u64 remote;	 /* held connections sk_lookup handed over: other hosts' clients
			  * (and processes outside the cgroup) to a VIP's local route */
	__u64 untrusted; /* connections that were not a steered miss: reset at once */
};

/*
 * The XDP path (bpf/xdp/). A packet for a VIP:port arriving on an interface
 * of STEER_XDP_IFACES is steered per flow: the flow table first, else the
 * Maglev table of the service's active bank.
 */

/* A steer_maglev_v1 entry: replica id, with this bit set when the replica
 * is on this node (its packets are NATed and passed to the stack, not
 * encapsulated). */
#define STEER_MAGLEV_F_LOCAL 0x80000000u
#define STEER_MAGLEV_ID_MASK 0x7fffffffu

/* Value of steer_xdp_banks_v1 (array indexed by steer_bank_index()): the
 * bank's Maglev table. steer_maglev_v1 (an array of maps indexed the same
 * way) holds the table itself, an array of maglev_size __u32 entries.
 * Written with the bank, before the flip. maglev_size 0: no table, every
 * new flow of the service is a miss. */
struct steer_xdp_bank {
	__u32 maglev_size; /* entries in the table, a prime; 0 = none */
	__u32 signature;   /* the agent's hash of what the table was built from */
};

/* Key of steer_xdp_flows_v1 (a per-CPU LRU hash): one flow, as it arrived.
 * Zero-initialised; IPv4 uses saddr[0] and daddr[0]. */
struct steer_flow_key {
	__be32 saddr[4]; /* client, network order */
	__be32 daddr[4]; /* VIP, network order */
	__be16 sport;	 /* network order */
	__be16 dport;	 /* network order */
	__u8 family;	 /* enum steer_family */
	__u8 proto;	 /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[2];	 /* zero */
};

/* Value of steer_xdp_flows_v1: the replica the flow was given. The endpoint
 * is kept so a replica id given to another replica is not mistaken for the
 * flow's: the flow re-hashes instead. */
struct steer_flow {
	__be32 addr[4];	  /* the replica, network order */
	__u64 seen_ns;	  /* bpf_ktime_get_ns() of the flow's last packet */
	__u32 replica_id; /* index into steer_replicas_v1 */
	__be16 port;	  /* the replica's port, network order */
	__u8 family;	  /* enum steer_family */
	__u8 local;	  /* 1: NAT to a replica on this node; 0: IPIP to a remote one */
};

/* Key of steer_xdp_rnat_v1 (an LRU hash): a reply of a local replica to a
 * client, as it leaves the node before the tc program rewrites it. */
struct steer_rnat_key {
	__be32 raddr[4]; /* the local replica, network order */
	__be32 caddr[4]; /* the client, network order */
	__be16 rport;	 /* the replica's port, network order */
	__be16 cport;	 /* the client's port, network order */
	__u8 family;	 /* enum steer_family */
	__u8 proto;	 /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[2];	 /* zero */
};

/* Value of steer_xdp_rnat_v1: the VIP the reply is rewritten to come from. */
struct steer_rnat {
	__be32 vip[4];	 /* network order */
	__be16 vip_port; /* network order */
	__u8 family;	 /* enum steer_family */
	__u8 pad;	 /* zero */
};

/* Value of steer_xdp_stats_v1 (a per-CPU array of one): what the XDP and
 * tc programs did with packets, for status and metrics. */
struct steer_xdp_stats {
	__u64 passed;	   /* not for a VIP:port (or not IP, TCP or UDP): untouched */
	__u64 flow_hits;   /* packets of a flow in the flow table */
	__u64 flow_new;	   /* flows given a replica by the Maglev table */
	__u64 encap;	   /* packets sent to a remote replica in IPIP */
	__u64 nat_local;   /* packets NATed to a replica on this node */
	__u64 miss_passed; /* VIP packets with no routable replica: to the stack */
	__u64 frag_passed; /* IP fragments, IPv6 extension headers: to the stack untouched */
	__u64 malformed;   /* truncated or bad headers: passed untouched */
	__u64 too_big;	   /* dropped: too big for the egress MTU once encapsulated */
	__u64 fib_failed;  /* dropped: no route or neighbour to the replica */
	__u64 errors;	   /* dropped: a map or helper failed (fail closed) */
	__u64 rnat;	   /* replies of local replicas rewritten to the VIP (tc) */
};

/* Key of steer_decap_vips_v1 (a hash on the replica host): a VIP whose
 * IPIP / IPv6-in-IPv6 packets the decap program unwraps. Only packets
 * whose inner destination is one of these are decapsulated, so the replica
 * is not a tunnel for any address. */
struct steer_decap_vip {
	__be32 addr[4]; /* network order; IPv4 uses addr[0], rest zero */
	__u8 family;	/* enum steer_family */
	__u8 pad[3];	/* zero */
};

/* Value of steer_decap_stats_v1 (per-CPU array of one). */
struct steer_decap_stats {
	__u64 decapsulated; /* packets unwrapped and passed to the stack */
	__u64 refused;	    /* tunnelled packets for another inner destination: dropped */
	__u64 passed;	    /* not tunnelled: untouched */
};

/* Index of a bank in steer_svc_banks_v1. */
static inline __u32 steer_bank_index(__u32 svc_id, __u32 bank)
{
	return svc_id * STEER_SLOT_BANKS + bank;
}

/*
 * The pick rule, shared by the connect hook (bpf/sock/lb.h) and the agent's
 * miss path (agent/maps/svc_walk.c) so the two cannot drift. A pick makes
 * up to steer_pick_steps(count) steps and step i looks at slot
 * steer_pick_slot(hint, count, i); the first replica that is routable wins:
 * one steer_replica_may_take() accepts and whose steer_backends_v1 entry, if
 * it has one, is not ejected (ejected_ns 0). The backend is looked up only
 * for a replica that passes the first test.
 *
 * The first STEER_PICK_DRAWS steps are independent draws from hint, so an
 * unroutable slot's share spreads evenly over the others (a walk forward
 * would hand it all to its neighbour and double that one's load: how
 * cascades start). After them a walk visits every slot once, so a routable
 * replica is always found if there is one. With 1 of 3 slots dead, the walk
 * decides (1/3)^4 = 1.2% of picks; it starts at a slot drawn apart from
 * the first draw, or that 1.2% would all go to the first draw's neighbour.
 */
#define STEER_PICK_DRAWS 4

static inline __u32 steer_pick_steps(__u32 count)
{
	return count > 1 ? STEER_PICK_DRAWS + count : count;
}

/* A 32-bit mix (lowbias32): draws from one hint look independent. */
static inline __u32 steer_pick_mix(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline __u32 steer_pick_slot(__u32 hint, __u32 count, __u32 i)
{
	__u32 start;

	if (count <= 1)
		return 0;
	if (i < STEER_PICK_DRAWS)
		return i ? steer_pick_mix(hint + i * 0x9e3779b9u) % count : hint % count;
	i -= STEER_PICK_DRAWS;
	start = steer_pick_mix(hint ^ 0x85ebca6bu) % count;
	return start + i < count ? start + i : start + i - count;
}

/* UP in the agent's view, and of the VIP's family. */
static inline int steer_replica_may_take(const struct steer_replica *r, __u8 family)
{
	return r->state == STEER_REPLICA_UP && r->family == family;
}

/* The flow hash Maglev indexes with: every word of the key, mixed. The
 * same function in the datapath and in the agent's tools and tests. */
static inline __u32 steer_flow_hash(const struct steer_flow_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = 0x9e3779b9u;

	for (int i = 0; i < (int)(sizeof(*k) / 4); i++)
		h = steer_pick_mix(h ^ w[i]) + 0x85ebca6bu;
	return h;
}

/* steer_slots_v1's default size: every replica in a live bank and in a
 * bank being written, and one service's more (agent/config/limits.c). */
#define STEER_MAX_SLOT_ENTRIES (2 * STEER_MAX_REPLICAS + STEER_MAX_SLOTS)

_Static_assert(sizeof(struct steer_xdp_bank) == 8, "steer_xdp_bank layout changed");
_Static_assert(sizeof(struct steer_flow_key) == 40, "steer_flow_key layout changed");
_Static_assert(sizeof(struct steer_flow) == 32, "steer_flow layout changed");
_Static_assert(sizeof(struct steer_rnat_key) == 40, "steer_rnat_key layout changed");
_Static_assert(sizeof(struct steer_rnat) == 20, "steer_rnat layout changed");
_Static_assert(sizeof(struct steer_xdp_stats) == 96, "steer_xdp_stats layout changed");
_Static_assert(sizeof(struct steer_decap_vip) == 20, "steer_decap_vip layout changed");
_Static_assert(sizeof(struct steer_decap_stats) == 24, "steer_decap_stats layout changed");
_Static_assert(sizeof(struct steer_svc_key) == 20, "steer_svc_key layout changed");
_Static_assert(sizeof(struct steer_svc_value) == 8, "steer_svc_value layout changed");
_Static_assert(sizeof(struct steer_slot) == 4, "steer_slot layout changed");
_Static_assert(sizeof(struct steer_slot_range) == 8, "steer_slot_range layout changed");
_Static_assert(sizeof(struct steer_slot_attrs) == 16, "steer_slot_attrs layout changed");
_Static_assert(sizeof(struct steer_bank) == 24, "steer_bank layout changed");
_Static_assert(sizeof(struct steer_replica_relayed) == 8, "steer_replica_relayed layout changed");
_Static_assert(sizeof(struct steer_svc_lb_stats) == 32, "steer_svc_lb_stats layout changed");
_Static_assert(sizeof(struct steer_replica) == 24, "steer_replica layout changed");
_Static_assert(sizeof(struct steer_svc_stats) == 24, "steer_svc_stats layout changed");
_Static_assert(sizeof(struct steer_replica_stats) == 8, "steer_replica_stats layout changed");
_Static_assert(sizeof(struct steer_revnat_key) == 32, "steer_revnat_key layout changed");
_Static_assert(sizeof(struct steer_revnat_value) == 20, "steer_revnat_value layout changed");
_Static_assert(sizeof(struct steer_sock_peer) == 40, "steer_sock_peer layout changed");
_Static_assert(sizeof(struct steer_sock) == 40 * STEER_SOCK_PEERS + 32,
	       "steer_sock layout changed");
_Static_assert(sizeof(struct steer_replica_active) == 8, "steer_replica_active layout changed");
_Static_assert(sizeof(struct steer_sock_stats) == 24, "steer_sock_stats layout changed");
_Static_assert(sizeof(struct steer_svc_name) == 64, "steer_svc_name layout changed");
_Static_assert(sizeof(struct steer_backend_key) == 20, "steer_backend_key layout changed");
_Static_assert(sizeof(struct steer_backend) == 24, "steer_backend layout changed");
_Static_assert(sizeof(struct steer_event) == 32, "steer_event layout changed");
_Static_assert(sizeof(struct steer_replica_status) == 24, "steer_replica_status layout changed");
_Static_assert(sizeof(struct steer_hist) == 8 * STEER_HIST_BUCKETS, "steer_hist layout changed");
_Static_assert(sizeof(struct steer_hold_stats) == 64 + 2 * sizeof(struct steer_hist),
	       "steer_hold_stats layout changed");
_Static_assert(sizeof(struct steer_hold) == 48, "steer_hold layout changed");
_Static_assert(sizeof(struct steer_relay_stats) == 48, "steer_relay_stats layout changed");
_Static_assert(sizeof(struct steer_check_stats) == 48 + sizeof(struct steer_hist),
	       "steer_check_stats layout changed");
_Static_assert(sizeof(struct steer_registry_status) == 280, "steer_registry_status layout changed");

#endif /* STEER_ABI_H */
