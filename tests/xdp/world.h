/*
 * The world the XDP fixtures run in: the network the script built (read
 * from XDP_FIX_* variables), the XDP object loaded with its maps pinned in
 * a private directory, and the base state of the maps every case starts
 * from: four services (TCP and UDP, IPv4 and IPv6), each with one replica
 * per role below, all up, and Maglev tables that name replica A only.
 */
#ifndef STEER_TESTS_XDP_WORLD_H
#define STEER_TESTS_XDP_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/steer_abi.h"

enum svc { SVC_TCP4, SVC_UDP4, SVC_TCP6, SVC_UDP6, SVCS };

#define VIP4	       "198.18.100.1"
#define VIP6	       "fd00:100::1"
#define VIP_TCP_PORT   80
#define VIP_UDP_PORT   53
#define REP_TCP_PORT   8080
#define REP_UDP_PORT   5353
#define MAGLEV_TEST_SZ 251 /* STEER_MAGLEV_MIN: small tables, quick to rewrite */

/* What a replica is in the network, so which way the datapath must send
 * a packet to it. */
enum role {
	R_NONE,		/* no replica: the packet is not steered */
	R_A,		/* remote, back out of the ingress interface (XDP_TX) */
	R_B,		/* another one the same way */
	R_REDIRECT,	/* remote, behind the other interface (XDP_REDIRECT; small MTU) */
	R_LOCAL,	/* on this node: NAT */
	R_NONEIGH,	/* remote, its next hop has no neighbour entry */
	R_NOROUTE,	/* remote, no route to it */
	R_UNREACH,	/* remote, an unreachable route */
	R_OTHER_FAMILY, /* the other family's A, in this service's table by mistake */
	ROLES,
};

#define IDS_PER_SVC 16 /* replica id = svc * IDS_PER_SVC + role */

/* One way out of the node: the interface, its MAC, the next hop's MAC, the
 * node's address on it. */
struct world_path {
	const char *iface;
	int ifindex;
	const char *mac, *gw_mac;
	const char *src[2]; /* [0] IPv4, [1] IPv6 */
};

struct world {
	struct world_path in;	    /* ingress; also the way to A, B, NONEIGH */
	struct world_path redirect; /* the way to REDIRECT */
	unsigned int mtu;	    /* of the redirect interface */
	const char *addr[ROLES][2]; /* each role's address, [0] IPv4, [1] IPv6 */
	/* the loaded object */
	int xdp_fd, tc_fd;
	int svc, replicas, backends, xdp_banks, maglev, flows, rnat, stats, svc_stats,
	    replica_stats;
	int inner[SVCS * STEER_SLOT_BANKS]; /* the Maglev tables, MAGLEV_TEST_SZ each */
	int cpu;			    /* the one CPU this process runs on */
	int ncpus;			    /* possible CPUs: per-CPU values */
};

extern struct world W;

/* Reads XDP_FIX_*, mounts bpffs if needed, loads the object with its pins
 * in a fresh /sys/fs/bpf/steer-test-XXXXXX, creates the Maglev tables.
 * Prints what failed and returns -1; the cleanup then runs at exit. */
int world_open(void);

/* Back to the base state: services, replicas, backends, tables; the flow
 * table, the rnat table and every counter empty. */
void world_reset(void);

enum svc world_svc_of(int family, uint8_t proto);
uint32_t world_id(enum svc svc, enum role role);
int world_family(enum svc svc); /* 4 or 6 */
uint8_t world_proto(enum svc svc);
uint16_t world_rep_port(enum svc svc); /* host order */
const char *world_role_name(enum role role);
/* The address text of role for family (4 or 6). */
const char *world_addr(enum role role, int family);

/* The replica of (svc, role) as the base state writes it. */
void world_replica(enum svc svc, enum role role, struct steer_replica *r);
void world_put_replica(uint32_t id, const struct steer_replica *r);
void world_get_replica(uint32_t id, struct steer_replica *r);
/* Its backend key (TCP). */
void world_backend_key(const struct steer_replica *r, struct steer_backend_key *k);

/* A Maglev entry naming role's replica of svc (local ones flagged). */
uint32_t world_entry(enum svc svc, enum role role);
void world_fill_table(enum svc svc, int bank, uint32_t entry);
void world_set_entry(enum svc svc, int bank, uint32_t idx, uint32_t entry);
/* Takes the table out of steer_maglev_v1 (the next reset puts it back). */
void world_unlink_table(enum svc svc, int bank);

/* Per-CPU values: one value of size bytes for every possible CPU. */
void *world_percpu_alloc(size_t size);
size_t world_percpu_stride(size_t size);

/* Text to map form, IPv4 in addr[0]. */
void world_addr_words(int family, const char *text, __be32 words[4]);

/* Aborts the run with a message: the fixture table or the world is wrong. */
void world_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* STEER_TESTS_XDP_WORLD_H */
