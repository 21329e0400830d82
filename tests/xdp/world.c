/* The XDP fixtures' world: see world.h. */
#include "world.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer_xdp.skel.h"

#define BPFFS "/sys/fs/bpf"

struct world W;

static struct steer_xdp_bpf *skel;
static char pin_dir[sizeof(BPFFS "/steer-test-XXXXXX")];
static bool mounted_bpffs;

/* XDP_FIX_<name>4 and XDP_FIX_<name>6: the role's addresses. */
static const char *const role_env[ROLES] = {
    [R_A] = "A",
    [R_B] = "B",
    [R_REDIRECT] = "REDIRECT",
    [R_LOCAL] = "LOCAL",
    [R_NONEIGH] = "NONEIGH",
    [R_NOROUTE] = "NOROUTE",
    [R_UNREACH] = "UNREACH",
};

static const char *const role_names[ROLES] = {
    [R_NONE] = "none",
    [R_A] = "A",
    [R_B] = "B",
    [R_REDIRECT] = "redirect",
    [R_LOCAL] = "local",
    [R_NONEIGH] = "no-neighbour",
    [R_NOROUTE] = "no-route",
    [R_UNREACH] = "unreachable",
    [R_OTHER_FAMILY] = "other-family",
};

void world_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xdp-fixtures: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* Everything this run created: the pins, the pin directory, the bpffs
 * mount if it made one. Runs at exit, on a signal and after an abort. */
static void world_cleanup(void)
{
	DIR *d;
	struct dirent *e;
	char path[sizeof(pin_dir) + 256];

	steer_xdp_bpf__destroy(skel);
	skel = NULL;
	for (size_t i = 0; i < sizeof(W.inner) / sizeof(W.inner[0]); i++)
		if (W.inner[i] > 0)
			close(W.inner[i]);
	memset(W.inner, 0, sizeof(W.inner));
	if (pin_dir[0]) {
		d = opendir(pin_dir);
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
			if (unlink(path))
				fprintf(stderr, "xdp-fixtures: cannot remove %s: %s\n", path,
					strerror(errno));
		}
		if (d)
			closedir(d);
		if (rmdir(pin_dir))
			fprintf(stderr, "xdp-fixtures: cannot remove %s: %s\n", pin_dir,
				strerror(errno));
		pin_dir[0] = '\0';
	}
	if (mounted_bpffs && umount2(BPFFS, MNT_DETACH))
		fprintf(stderr, "xdp-fixtures: cannot unmount %s: %s\n", BPFFS, strerror(errno));
	mounted_bpffs = false;
}

/* Not async-signal-safe, but the only thing to do on a signal is to remove
 * the pins before going: this process is single-threaded and does nothing
 * else. */
static void on_signal(int sig)
{
	world_cleanup();
	_exit(128 + sig);
}

static bool bpffs_mounted(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[512];
		const char *sep = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1 && !strcmp(mnt, BPFFS) && sep &&
		    !strncmp(sep + 3, "bpf ", 4))
			found = true;
	}
	fclose(f);
	return found;
}

static int missing;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr,
			"xdp-fixtures: %s is not set (tests/integration/test_xdp_fixtures.sh "
			"sets it)\n",
			name);
		missing++;
		return NULL;
	}
	return v;
}

static const char *env_addr(const char *name, int family)
{
	const char *v = env(name);
	unsigned char buf[16];

	if (v && inet_pton(family == 6 ? AF_INET6 : AF_INET, v, buf) != 1) {
		fprintf(stderr, "xdp-fixtures: %s='%s' is not an IPv%d address\n", name, v, family);
		missing++;
	}
	return v;
}

static const char *env_mac(const char *name)
{
	const char *v = env(name);
	unsigned int b[6];
	char end;

	if (v && sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			&end) != 6) {
		fprintf(stderr, "xdp-fixtures: %s='%s' is not a MAC (aa:bb:cc:dd:ee:ff)\n", name,
			v);
		missing++;
	}
	return v;
}

static void env_path(struct world_path *p, const char *prefix)
{
	char name[64];

	snprintf(name, sizeof(name), "XDP_FIX_%sIFACE", prefix);
	p->iface = env(name);
	if (p->iface) {
		p->ifindex = (int)if_nametoindex(p->iface);
		if (!p->ifindex) {
			fprintf(stderr, "xdp-fixtures: %s='%s': no such interface here\n", name,
				p->iface);
			missing++;
		}
	}
	snprintf(name, sizeof(name), "XDP_FIX_%sMAC", prefix);
	p->mac = env_mac(name);
	snprintf(name, sizeof(name), "XDP_FIX_%sGW_MAC", prefix);
	p->gw_mac = env_mac(name);
	snprintf(name, sizeof(name), "XDP_FIX_%sSRC4", prefix);
	p->src[0] = env_addr(name, 4);
	snprintf(name, sizeof(name), "XDP_FIX_%sSRC6", prefix);
	p->src[1] = env_addr(name, 6);
}

static int read_env(void)
{
	char name[64];
	const char *mtu;

	env_path(&W.in, "");
	env_path(&W.redirect, "REDIRECT_");
	for (int r = 0; r < ROLES; r++) {
		if (!role_env[r])
			continue;
		snprintf(name, sizeof(name), "XDP_FIX_%s4", role_env[r]);
		W.addr[r][0] = env_addr(name, 4);
		snprintf(name, sizeof(name), "XDP_FIX_%s6", role_env[r]);
		W.addr[r][1] = env_addr(name, 6);
	}
	W.addr[R_OTHER_FAMILY][0] = W.addr[R_A][1]; /* an IPv4 service's IPv6 replica */
	W.addr[R_OTHER_FAMILY][1] = W.addr[R_A][0];
	mtu = env("XDP_FIX_MTU");
	if (mtu) {
		char *end;
		unsigned long v = strtoul(mtu, &end, 10);

		if (*end || v < 1280 || v > 9000) {
			fprintf(stderr,
				"xdp-fixtures: XDP_FIX_MTU='%s' is not an MTU (1280..9000)\n", mtu);
			missing++;
		}
		W.mtu = (unsigned int)v;
	}
	return missing ? -1 : 0;
}

/* Every case runs on the same CPU, so the per-CPU flow table entry a
 * packet creates is this CPU's. */
static int pin_cpu(void)
{
	cpu_set_t set;

	W.cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(W.cpu, &set);
	if (W.cpu < 0 || sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "xdp-fixtures: cannot stay on CPU %d: %s\n", W.cpu,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int create_tables(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);

	for (int i = 0; i < SVCS * STEER_SLOT_BANKS; i++) {
		W.inner[i] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "steer_fix_mglv", sizeof(__u32),
					    sizeof(__u32), MAGLEV_TEST_SZ, &opts);
		if (W.inner[i] < 0) {
			fprintf(stderr, "xdp-fixtures: cannot create a Maglev table: %s\n",
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

int world_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	int err;

	if (read_env() || pin_cpu())
		return -1;
	atexit(world_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGABRT, on_signal);
	if (!bpffs_mounted()) {
		if (mount("bpf", BPFFS, "bpf", 0, NULL)) {
			fprintf(stderr, "xdp-fixtures: no bpffs at %s and cannot mount one: %s\n",
				BPFFS, strerror(errno));
			return -1;
		}
		mounted_bpffs = true;
	}
	strcpy(pin_dir, BPFFS "/steer-test-XXXXXX");
	if (!mkdtemp(pin_dir)) {
		fprintf(stderr, "xdp-fixtures: cannot create %s: %s\n", pin_dir, strerror(errno));
		pin_dir[0] = '\0';
		return -1;
	}
	opts.pin_root_path = pin_dir;
	skel = steer_xdp_bpf__open_opts(&opts);
	if (!skel) {
		fprintf(stderr, "xdp-fixtures: cannot open the XDP object: %s\n", strerror(errno));
		return -1;
	}
	err = steer_xdp_bpf__load(skel);
	if (err) {
		fprintf(stderr, "xdp-fixtures: cannot load the XDP object: %s\n", strerror(-err));
		return -1;
	}
	W.xdp_fd = bpf_program__fd(skel->progs.xdp_steer);
	W.tc_fd = bpf_program__fd(skel->progs.tc_reply_unnat);
	W.svc = bpf_map__fd(skel->maps.steer_svc_v1);
	W.replicas = bpf_map__fd(skel->maps.steer_replicas_v1);
	W.backends = bpf_map__fd(skel->maps.steer_backends_v1);
	W.xdp_banks = bpf_map__fd(skel->maps.steer_xdp_banks_v1);
	W.maglev = bpf_map__fd(skel->maps.steer_maglev_v1);
	W.flows = bpf_map__fd(skel->maps.steer_xdp_flows_v1);
	W.rnat = bpf_map__fd(skel->maps.steer_xdp_rnat_v1);
	W.stats = bpf_map__fd(skel->maps.steer_xdp_stats_v1);
	W.svc_stats = bpf_map__fd(skel->maps.steer_svc_stats_v1);
	W.replica_stats = bpf_map__fd(skel->maps.steer_replica_stats_v1);
	W.ncpus = libbpf_num_possible_cpus();
	if (W.ncpus <= 0 || W.cpu >= W.ncpus) {
		fprintf(stderr, "xdp-fixtures: %d possible CPUs, running on CPU %d\n", W.ncpus,
			W.cpu);
		return -1;
	}
	return create_tables();
}

enum svc world_svc_of(int family, uint8_t proto)
{
	return (enum svc)((family == 6 ? SVC_TCP6 : SVC_TCP4) + (proto == IPPROTO_UDP));
}

int world_family(enum svc svc)
{
	return svc >= SVC_TCP6 ? 6 : 4;
}

uint8_t world_proto(enum svc svc)
{
	return svc == SVC_UDP4 || svc == SVC_UDP6 ? IPPROTO_UDP : IPPROTO_TCP;
}

uint16_t world_rep_port(enum svc svc)
{
	return world_proto(svc) == IPPROTO_UDP ? REP_UDP_PORT : REP_TCP_PORT;
}

uint32_t world_id(enum svc svc, enum role role)
{
	return (uint32_t)svc * IDS_PER_SVC + (uint32_t)role;
}

const char *world_role_name(enum role role)
{
	return role < ROLES ? role_names[role] : "?";
}

const char *world_addr(enum role role, int family)
{
	return W.addr[role][family == 6];
}

void world_addr_words(int family, const char *text, __be32 words[4])
{
	memset(words, 0, 16);
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, text, words) != 1)
		world_die("'%s' is not an IPv%d address", text, family);
}

void world_replica(enum svc svc, enum role role, struct steer_replica *r)
{
	int family = world_family(svc);

	if (role == R_OTHER_FAMILY)
		family = family == 6 ? 4 : 6;
	memset(r, 0, sizeof(*r));
	world_addr_words(family, world_addr(role, world_family(svc)), r->addr);
	r->port = htons(world_rep_port(svc));
	r->family = family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
	r->state = STEER_REPLICA_UP;
	r->svc_id = svc;
}

void world_put_replica(uint32_t id, const struct steer_replica *r)
{
	if (bpf_map_update_elem(W.replicas, &id, r, BPF_ANY))
		world_die("cannot write replica %u: %s", id, strerror(errno));
}

void world_get_replica(uint32_t id, struct steer_replica *r)
{
	if (bpf_map_lookup_elem(W.replicas, &id, r))
		world_die("cannot read replica %u: %s", id, strerror(errno));
}

void world_backend_key(const struct steer_replica *r, struct steer_backend_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, r->addr, sizeof(k->addr));
	k->port = r->port;
	k->family = r->family;
	k->proto = IPPROTO_TCP;
}

uint32_t world_entry(enum svc svc, enum role role)
{
	return world_id(svc, role) | (role == R_LOCAL ? STEER_MAGLEV_F_LOCAL : 0);
}

void world_fill_table(enum svc svc, int bank, uint32_t entry)
{
	static __u32 keys[MAGLEV_TEST_SZ], values[MAGLEV_TEST_SZ];
	__u32 count = MAGLEV_TEST_SZ;

	for (__u32 i = 0; i < MAGLEV_TEST_SZ; i++) {
		keys[i] = i;
		values[i] = entry;
	}
	if (bpf_map_update_batch(W.inner[steer_bank_index(svc, bank)], keys, values, &count, NULL))
		world_die("cannot fill the Maglev table of service %d bank %d: %s", svc, bank,
			  strerror(errno));
}

void world_set_entry(enum svc svc, int bank, uint32_t idx, uint32_t entry)
{
	if (bpf_map_update_elem(W.inner[steer_bank_index(svc, bank)], &idx, &entry, BPF_ANY))
		world_die("cannot write entry %u of the Maglev table of service %d: %s", idx, svc,
			  strerror(errno));
}

size_t world_percpu_stride(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

void *world_percpu_alloc(size_t size)
{
	void *p = calloc((size_t)W.ncpus, world_percpu_stride(size));

	if (!p)
		world_die("out of memory");
	return p;
}

static void clear_hash(int fd, size_t key_size, const char *what)
{
	unsigned char key[64];

	if (key_size > sizeof(key))
		world_die("%s: key of %zu bytes", what, key_size);
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			world_die("cannot empty %s: %s", what, strerror(errno));
}

static void zero_percpu(int fd, uint32_t key, size_t size, const char *what)
{
	void *v = world_percpu_alloc(size);

	if (bpf_map_update_elem(fd, &key, v, BPF_ANY))
		world_die("cannot zero %s[%u]: %s", what, key, strerror(errno));
	free(v);
}

static void put_services(void)
{
	clear_hash(W.svc, sizeof(struct steer_svc_key), STEER_MAP_SERVICES);
	for (int s = 0; s < SVCS; s++) {
		struct steer_svc_key k = {};
		struct steer_svc_value v = {.svc_id = (__u32)s, .count = 2, .bank = 0};
		int family = world_family(s);

		world_addr_words(family, family == 6 ? VIP6 : VIP4, k.addr);
		k.port = htons(world_proto(s) == IPPROTO_UDP ? VIP_UDP_PORT : VIP_TCP_PORT);
		k.family = family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
		k.proto = world_proto(s);
		if (bpf_map_update_elem(W.svc, &k, &v, BPF_ANY))
			world_die("cannot write service %d: %s", s, strerror(errno));
	}
}

static void put_replicas(void)
{
	clear_hash(W.backends, sizeof(struct steer_backend_key), STEER_MAP_BACKENDS);
	for (int s = 0; s < SVCS; s++) {
		for (int role = 0; role < IDS_PER_SVC; role++) {
			struct steer_replica r = {};
			uint32_t id = world_id(s, role);

			if (role > R_NONE && role < ROLES)
				world_replica(s, role, &r);
			world_put_replica(id, &r);
			zero_percpu(W.replica_stats, id, sizeof(struct steer_replica_stats),
				    STEER_MAP_REPLICA_STATS);
			/* TCP endpoints have a backend entry, not ejected. */
			if (r.family && world_proto(s) == IPPROTO_TCP) {
				struct steer_backend_key k;
				struct steer_backend b = {};

				world_backend_key(&r, &k);
				if (bpf_map_update_elem(W.backends, &k, &b, BPF_ANY))
					world_die("cannot write a backend: %s", strerror(errno));
			}
		}
	}
}

/* Whether steer_maglev_v1 holds every table. Written only when not: each
 * write to a map of maps waits for an RCU grace period (the kernel makes
 * sure no program still uses the inner map it replaced). */
static bool tables_linked;

static void put_tables(void)
{
	for (int s = 0; s < SVCS; s++) {
		for (int b = 0; b < STEER_SLOT_BANKS; b++) {
			__u32 i = steer_bank_index(s, b);
			struct steer_xdp_bank xb = {.maglev_size = MAGLEV_TEST_SZ};

			if (bpf_map_update_elem(W.xdp_banks, &i, &xb, BPF_ANY) ||
			    (!tables_linked &&
			     bpf_map_update_elem(W.maglev, &i, &W.inner[i], BPF_ANY)))
				world_die("cannot write bank %u: %s", i, strerror(errno));
			world_fill_table(s, b, world_entry(s, R_A));
		}
	}
	tables_linked = true;
}

void world_unlink_table(enum svc svc, int bank)
{
	__u32 i = steer_bank_index(svc, bank);

	tables_linked = false;
	if (bpf_map_delete_elem(W.maglev, &i))
		world_die("cannot remove table %u from %s: %s", i, STEER_MAP_MAGLEV,
			  strerror(errno));
}

void world_reset(void)
{
	put_services();
	put_replicas();
	put_tables();
	clear_hash(W.flows, sizeof(struct steer_flow_key), STEER_MAP_XDP_FLOWS);
	clear_hash(W.rnat, sizeof(struct steer_rnat_key), STEER_MAP_XDP_RNAT);
	zero_percpu(W.stats, 0, sizeof(struct steer_xdp_stats), STEER_MAP_XDP_STATS);
	for (uint32_t s = 0; s < SVCS; s++)
		zero_percpu(W.svc_stats, s, sizeof(struct steer_svc_stats), STEER_MAP_SVC_STATS);
}
