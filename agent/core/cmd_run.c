/* `steer run`: check the kernel, load or adopt the pinned datapath, write the
 * config into the maps, then run the event loop (health checks, ejection
 * events, the control socket, signals) in the foreground. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>
#include <netinet/in.h>

#include <ev.h>

#include "health/checker.h"
#include "core/commands.h"
#include "config/config.h"
#include "control/control.h"
#include "maps/datapath.h"
#include "maps/events.h"
#include "miss/hold.h"
#include "lib/log.h"
#include "maps/map_fds.h"
#include "observe/metrics.h"
#include "maps/reconcile.h"
#include "maps/stats_upgrade.h"
#include "maps/sysprep.h"
#include "registry/registry.h"
#include "registry/registry_status.h"
#include "xdp/tables.h"
#include "xdp/vip_routes.h"
#include "xdp/xdp_path.h"

#define ERRLEN 512

struct agent {
	const struct steer_env *env;
	const char *config_path;  /* NULL: no file (a registry only) */
	char *file_text;	  /* the file's last valid text; "" without a file */
	struct steer_config *cfg; /* what the maps hold */
	struct map_ops ops;
	struct map_fds fds;
	struct reconcile_state rs; /* replica ids continue across reloads */
	struct checker *checker;
	struct hold *hold;
	struct datapath *dp;
	ev_timer sweep;	     /* one sweep per loop iteration, however many asked */
	ev_timer tables;     /* likewise, the XDP path's Maglev tables */
	struct xdp_path xdp; /* skel NULL: no STEER_XDP_IFACES */
	bool sweep_failed_logged;
	struct ev_loop *loop;
	ev_signal sigterm, sigint, sighup;
	ev_timer first_round;
	/* The registry (STEER_REGISTRY); store NULL: none. */
	struct registry_store *store;
	struct registry *registry;
	ev_timer registry_apply;  /* once per loop iteration, however many changes */
	ev_timer registry_status; /* the status map, also between changes */
	struct registry_applied applied;
	struct etcd_tls tls; /* STEER_REGISTRY_*_FILE, checked before the kernel is touched */
	bool running;	     /* past the first apply: registry changes are applied */
	bool stop_requested; /* a signal while waiting for the first listing */
	int status;
};

/* Load and validate the config file with the environment's defaults; its
 * text is kept for the builds with the registry. No file: no services. */
static int load_config(struct agent *a, struct steer_config *cfg, char *err, size_t errlen)
{
	const char *name = a->config_path ? a->config_path : "(no config file)";
	char *text = a->config_path ? config_read_text(a->config_path, err, errlen) : strdup("");

	if (!text) {
		if (!a->config_path)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (config_parse_string(text, name, cfg, err, errlen) ||
	    config_apply_env(cfg, a->env, err, errlen)) {
		free(text);
		return -1;
	}
	free(a->file_text);
	a->file_text = text;
	return 0;
}

/* What to apply: the file's config, or with a registry the file's and the
 * registry's services together (registry_store_build()). */
static int build_config(struct agent *a, struct steer_config *cfg, char *err, size_t errlen)
{
	if (!a->store)
		return 0;
	return registry_store_build(a->store, a->file_text, a->config_path, a->env, cfg, err,
				    errlen);
}

/* Sockets connected to a replica that just left are aborted (bpf/sock/
 * sweep.h). Asked for by every change that can take a replica out; run
 * once, from the loop, for all the changes of one iteration. */
static void sweep_soon(struct agent *a)
{
	if (a->loop && !ev_is_active(&a->sweep)) {
		ev_timer_set(&a->sweep, 0., 0.);
		ev_timer_start(a->loop, &a->sweep);
	}
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	char err[ERRLEN];

	(void)loop;
	(void)revents;
	if (datapath_sweep(a->dp, a->env->sock_destroy_tcp, err, sizeof(err)) == 0)
		return;
	if (!a->sweep_failed_logged)
		log_warn("%s; connected sockets keep a replica that left until they reconnect "
			 "(logged once)",
			 err);
	a->sweep_failed_logged = true;
}

/* The routable set of some service may have changed: the XDP path's
 * Maglev tables follow, once per loop iteration. */
static void tables_soon(struct agent *a)
{
	if (a->loop && a->xdp.skel && !ev_is_active(&a->tables)) {
		ev_timer_set(&a->tables, 0., 0.);
		ev_timer_start(a->loop, &a->tables);
	}
}

static void on_tables(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	char err[ERRLEN];
	int n;

	(void)loop;
	(void)revents;
	n = xdp_tables_sync(&a->ops, a->cfg->maglev_size, err, sizeof(err));
	if (n < 0)
		log_warn("%s", err);
	else if (n)
		log_info("xdp: rebuilt the Maglev tables of %d services", n);
}

/* With the XDP path: a local route for each VIP of a TCP service (the
 * miss path of remote clients); without it, none of steer's. */
static void sync_vip_routes(const struct agent *a, const struct steer_config *cfg)
{
	struct endpoint *vips = calloc((size_t)cfg->nservices + 1, sizeof(*vips));
	char err[ERRLEN];
	size_t n = 0;

	if (!vips) {
		log_warn("out of memory: the VIPs' local routes are not updated");
		return;
	}
	for (int i = 0; a->xdp.skel && i < cfg->nservices; i++)
		if (cfg->services[i].proto == IPPROTO_TCP)
			vips[n++] = cfg->services[i].vip;
	if (vip_routes_sync(vips, n, err, sizeof(err)) < 0)
		log_warn("%s; remote clients' connections that find no replica are dropped "
			 "instead of held",
			 err);
	free(vips);
}

/* IPIP leaves ports alone: a remote replica on another port than its VIP's
 * gets the XDP path's flows on the VIP's port, not on its own. */
static void warn_remote_ports(const struct agent *a, const struct steer_config *cfg)
{
	char rep[ADDR_STRLEN];

	for (int i = 0; a->xdp.skel && i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];

		for (int r = 0; r < sc->nreplicas; r++)
			if (sc->replicas[r].port != sc->vip.port &&
			    !a->ops.is_local(a->ops.ctx, &sc->replicas[r]))
				log_warn(
				    "service %s: replica %s is on another host and not on port "
				    "%u: clients through XDP reach it on port %u (IPIP keeps "
				    "the VIP's port)",
				    sc->name, endpoint_format(&sc->replicas[r], rep, sizeof(rep)),
				    sc->vip.port, sc->vip.port);
	}
}

/* Did prev already hold service sc, unchecked over UDP? */
static bool was_unchecked_udp(const struct steer_config *prev, const struct svc_config *sc)
{
	for (int i = 0; prev && i < prev->nservices; i++)
		if (!strcmp(prev->services[i].name, sc->name))
			return prev->services[i].proto == IPPROTO_UDP &&
			       prev->services[i].health.kind == HEALTH_KIND_NONE;
	return false;
}

/* A UDP service without checks keeps a dead replica in its share of the
 * datagrams (no connect fails, nothing ejects it): said once, when such a
 * service first appears (prev NULL: the first apply). */
static void warn_unchecked_udp(const struct steer_config *prev, const struct steer_config *cfg)
{
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];

		if (sc->proto != IPPROTO_UDP || sc->health.kind != HEALTH_KIND_NONE ||
		    was_unchecked_udp(prev, sc))
			continue;
		log_warn("service %s: UDP without health checks: a dead replica keeps getting its "
			 "share of the datagrams (set health = dns NAME [TYPE] or udp HEX "
			 "[expect HEX])",
			 sc->name);
	}
}

/* Write next into the maps; on success it becomes the running config. */
static int apply_config(struct agent *a, struct steer_config *next, const char *what, char *err,
			size_t errlen)
{
	struct reconcile_result res;

	if (reconcile(&a->ops, &a->rs, next, &res, err, errlen))
		return -1;
	warn_unchecked_udp(next != a->cfg ? a->cfg : NULL, next);
	if (next != a->cfg) {
		/* next takes the old config, for its owner to free. */
		struct steer_config old = *a->cfg;

		*a->cfg = *next;
		*next = old;
	}
	log_event("%s applied: services added=%d changed=%d removed=%d unchanged=%d, "
		  "replicas added=%d retired=%d",
		  what, res.added, res.changed, res.removed, res.unchanged, res.replicas_added,
		  res.replicas_retired);
	if (a->checker)
		checker_sync(a->checker, a->cfg);
	if (a->hold)
		hold_sync(a->hold, a->cfg);
	if (res.removed || res.replicas_retired)
		sweep_soon(a);
	tables_soon(a);
	sync_vip_routes(a, a->cfg);
	warn_remote_ports(a, a->cfg);
	return 0;
}

static void write_registry_status(struct agent *a)
{
	char err[ERRLEN];

	if (registry_status_write(&a->ops, a->registry, &a->applied, err, sizeof(err)))
		log_debug("%s", err);
}

/* A build from the registry reached the maps: its values are each key's
 * last good one (a refused change keeps it), at the revision seen. */
static void registry_applied(struct agent *a)
{
	struct registry_state st;

	registry_state_get(a->registry, &st);
	registry_store_applied(a->store);
	registry_applied_now(&a->applied, a->store, st.revision);
	write_registry_status(a);
}

/* SIGHUP: re-read the file into a scratch copy; a bad file changes nothing. */
static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;
	struct steer_config *next = config_new();
	char err[ERRLEN];

	(void)loop;
	(void)revents;
	if (!a->running) {
		log_warn("SIGHUP ignored: the registry's first listing has not come yet");
		config_free(next);
		return;
	}
	log_event("SIGHUP: reloading %s", a->config_path ? a->config_path : "(no config file)");
	if (!next) {
		log_err("reload refused, keeping the running config: out of memory");
		return;
	}
	if (load_config(a, next, err, sizeof(err)) || build_config(a, next, err, sizeof(err)) ||
	    apply_config(a, next, "config", err, sizeof(err)))
		log_err("reload refused, keeping the running config: %s", err);
	else if (a->store)
		registry_applied(a);
	config_free(next);
}

/* The registry's keys changed: rebuild and apply once, from the loop. */
static void on_registry_changed(void *arg)
{
	struct agent *a = arg;

	if (a->running && !ev_is_active(&a->registry_apply)) {
		ev_timer_set(&a->registry_apply, 0., 0.);
		ev_timer_start(a->loop, &a->registry_apply);
	}
}

static void on_registry_apply(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	struct steer_config *next = config_new();
	struct registry_state st;
	char err[ERRLEN], what[64];

	(void)loop;
	(void)revents;
	registry_state_get(a->registry, &st);
	snprintf(what, sizeof(what), "registry revision %lld", (long long)st.revision);
	if (!next)
		log_err("registry change refused, keeping the running config: out of memory");
	else if (build_config(a, next, err, sizeof(err)) ||
		 apply_config(a, next, what, err, sizeof(err)))
		log_err("registry change refused, keeping the running config: %s", err);
	else
		registry_applied(a);
	config_free(next);
}

static void on_registry_status(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	write_registry_status(w->data);
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;

	(void)revents;
	if (a->running)
		log_info("%s: exiting; the datapath stays pinned and working (`steer down` "
			 "removes it)",
			 strsignal(w->signum));
	else
		log_info("%s while waiting for the registry: exiting; the maps were not changed",
			 strsignal(w->signum));
	a->stop_requested = true;
	ev_break(loop, EVBREAK_ALL);
}

/* The control socket's commands. Replica changes go through the same
 * validate-then-reconcile path as a reload; nothing changes on error. */
static int on_control(void *arg, const struct control_cmd *cmd, char *reply, size_t len)
{
	struct agent *a = arg;
	struct steer_config *next;
	char addr[ADDR_STRLEN], err[ERRLEN];
	int ret;

	endpoint_format(&cmd->replica, addr, sizeof(addr));
	if (cmd->verb == CONTROL_DRAIN || cmd->verb == CONTROL_UNDRAIN) {
		ret = checker_set_draining(a->checker, cmd->service, &cmd->replica,
					   cmd->verb == CONTROL_DRAIN, err, sizeof(err));
		snprintf(reply, len, "%s",
			 ret			      ? err
			 : cmd->verb == CONTROL_DRAIN ? "drained"
						      : "undrained");
		return ret;
	}
	next = config_new();
	if (!next || config_copy(next, a->cfg)) {
		config_free(next);
		snprintf(reply, len, "out of memory");
		return -1;
	}
	if (cmd->verb == CONTROL_ADD)
		ret = config_add_replica(next, cmd->service, &cmd->replica, err, sizeof(err));
	else
		ret = config_remove_replica(next, cmd->service, &cmd->replica, err, sizeof(err));
	if (ret == 0)
		ret = apply_config(a, next, "control command", err, sizeof(err));
	if (ret)
		snprintf(reply, len, "%s", err);
	else
		snprintf(reply, len, "%s replica %s of service %s",
			 cmd->verb == CONTROL_ADD ? "added" : "removed", addr, cmd->service);
	log_info("control: replica %s %s %s: %s", cmd->verb == CONTROL_ADD ? "add" : "remove",
		 cmd->service, addr, ret ? err : "ok");
	config_free(next);
	return ret;
}

/* The checker learns each service's replicas from what reconcile wrote. */
static int members_kept(void *arg, const struct steer_svc_key *key, struct svc_members *out)
{
	return reconcile_members(arg, key, out);
}

static void on_replica_change(void *arg, const char *service, bool routable)
{
	struct agent *a = arg;

	tables_soon(a);
	if (!routable)
		sweep_soon(a);
	else if (a->hold)
		hold_kick(a->hold, service);
}

/* Log once when every replica has been checked: the pinned state a
 * restarted agent kept is now its own. */
static void on_datapath_event(void *arg, const struct steer_event *ev)
{
	struct agent *a = arg;

	if (ev->reason == STEER_EVENT_SLOT_FREE) {
		if (a->hold)
			hold_slot_freed(a->hold, ev->svc_id);
		return;
	}
	checker_on_event(a->checker, ev);
}

static void on_first_round(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void)revents;
	if (!checker_first_round_done(a->checker))
		return;
	ev_timer_stop(loop, w);
	log_info("first round of health checks complete");
}

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* probes and control clients may hang up */
}

static void watch_signals(struct agent *a)
{
	ev_signal_init(&a->sigterm, on_stop, SIGTERM);
	ev_signal_init(&a->sigint, on_stop, SIGINT);
	ev_signal_init(&a->sighup, on_sighup, SIGHUP);
	a->sigterm.data = a->sigint.data = a->sighup.data = a;
	ev_signal_start(a->loop, &a->sigterm);
	ev_signal_start(a->loop, &a->sigint);
	ev_signal_start(a->loop, &a->sighup);
}

/* With a registry, nothing is applied before its first listing: a config
 * without the registry's services would take them out of the datapath,
 * which meanwhile keeps steering with what it holds. Returns 0 once
 * listed, -1 on a signal or error. */
static int wait_registry(struct agent *a)
{
	const struct steer_env *env = a->env;
	struct registry_params p = {
	    .members = env_registry_members(env),
	    .prefix = env->registry_prefix,
	    .backoff = env_registry_backoff(env),
	    .timeout_ms = env->registry_timeout_ms,
	    .tls = a->tls,
	};
	char err[ERRLEN];

	a->registry =
	    registry_start(a->loop, &p, a->store, on_registry_changed, a, err, sizeof(err));
	if (!a->registry) {
		log_err("registry: %s", err);
		return -1;
	}
	ev_timer_start(a->loop, &a->registry_status);
	log_info("registry: listing %s from etcd at %s", env->registry_prefix, p.members);
	while (!registry_listed(a->registry) && !a->stop_requested)
		ev_run(a->loop, EVRUN_ONCE);
	if (a->stop_requested) {
		a->status = 0;
		return -1;
	}
	return 0;
}

/* Kernel prerequisites and the datapath; returns the cgroup fd or -1. */
static int prepare_datapath(struct agent *a, struct datapath *dp, char *cgroup, size_t cglen)
{
	const struct steer_env *env = a->env;
	char err[ERRLEN];
	int cgfd;

	if (sysprep_check_btf(err, sizeof(err)))
		log_warn("%s; continuing (steer's programs use UAPI types only)", err);
	if (sysprep_pin_dir(env->bpffs, err, sizeof(err)) || sysprep_tracefs(err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	cgfd = sysprep_open_cgroup(env->cgroup, cgroup, cglen, err, sizeof(err));
	if (cgfd < 0) {
		log_err("%s", err);
		a->status = env->cgroup[0] ? EXIT_INVALID : 1;
		return -1;
	}
	if (!env->cgroup[0])
		log_warn("attaching to the cgroup v2 root %s: every process on this node is "
			 "steered (set STEER_CGROUP to limit it)",
			 cgroup);
	if (datapath_load(dp, env->bpffs, env->passive_eject_failures, err, sizeof(err)) ||
	    (env->xdp_ifaces[0] && xdp_path_load(&a->xdp, env->bpffs, err, sizeof(err)))) {
		log_err("%s", err);
		close(cgfd);
		return -1;
	}
	return cgfd;
}

/* The XDP path on STEER_XDP_IFACES, or none: links an earlier run left on
 * interfaces no longer listed are detached. */
static int attach_xdp_path(struct agent *a, char *err, size_t errlen)
{
	const struct steer_env *env = a->env;
	int removed;

	if (!a->xdp.skel) {
		removed = xdp_path_detach_links(env->bpffs);
		if (removed)
			log_info("xdp: STEER_XDP_IFACES is empty: detached %d links", removed);
		return 0;
	}
	if (xdp_path_attach(&a->xdp, env->bpffs, env->xdp_ifaces, env->xdp_mode, err, errlen))
		return -1;
	log_info("xdp: on %s (mode %s): links adopted=%d attached=%d removed=%d", env->xdp_ifaces,
		 env->xdp_mode, a->xdp.adopted, a->xdp.attached, a->xdp.removed);
	return 0;
}

/* random() draws the retry jitter, the first check's offset and the miss
 * path's pick. Unseeded it is the same sequence in every agent, so nodes
 * that lose a service together would retry in step. */
static void seed_random(void)
{
	unsigned int seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	srandom(seed);
}

int cmd_run(const struct steer_env *env, const char *config_path)
{
	struct agent a = {.env = env, .config_path = config_path, .status = 1};
	struct control_handler handler = {.arg = &a, .apply = on_control};
	struct control_server *control = NULL;
	struct metrics *metrics = NULL;
	struct events *events = NULL;
	struct datapath dp = {};
	char err[ERRLEN], cgroup[4096];
	gid_t control_gid = 0;
	int cgfd = -1;

	seed_random();
	map_fds_init(&a.fds);
	a.cfg = config_new();
	if (!a.cfg) {
		log_err("out of memory");
		return 1;
	}
	/* Validate everything before touching the kernel: nothing half-applied. */
	if (load_config(&a, a.cfg, err, sizeof(err))) {
		log_err("%s", err);
		config_free(a.cfg);
		return EXIT_INVALID;
	}
	if (env->registry[0] && registry_tls_from_env(env, &a.tls, err, sizeof(err))) {
		log_err("%s", err);
		free(a.file_text);
		config_free(a.cfg);
		return EXIT_INVALID;
	}
	if (env->registry[0] && !(a.store = registry_store_new(env->registry_prefix))) {
		log_err("out of memory");
		free(a.file_text);
		config_free(a.cfg);
		return 1;
	}
	if (env->control_group[0]) {
		struct group *g = getgrnam(env->control_group);

		if (!g) {
			log_err("STEER_CONTROL_GROUP='%s': no such group (accepted: a group in "
				"/etc/group, or empty for root only)",
				env->control_group);
			registry_store_free(a.store);
			free(a.file_text);
			config_free(a.cfg);
			return EXIT_INVALID;
		}
		control_gid = g->gr_gid;
	}
	block_signals();

	cgfd = prepare_datapath(&a, &dp, cgroup, sizeof(cgroup));
	if (cgfd < 0)
		goto cleanup;
	if (map_fds_open_pinned(&a.fds, env->bpffs, 1)) {
		log_err("cannot open the maps pinned under %s: %s", env->bpffs, strerror(errno));
		goto cleanup;
	}
	/* An upgrade: the counters of an older version's stats arrays, before
	 * reconcile zeroes the ids it gives to new services and before the
	 * arrays are pruned. A failure costs counters only, never the run. */
	stats_upgrade_from_v1(env->bpffs, &a.fds);
	map_ops_init(&a.ops, &a.fds);
	a.loop = ev_default_loop(EVFLAG_SIGNALFD);
	ev_init(&a.sweep, on_sweep);
	a.sweep.data = &a;
	ev_init(&a.tables, on_tables);
	a.tables.data = &a;
	/* Now, once: a watcher stopped and started again would unblock its
	 * signal in between, and threads started then (libcurl's, the metrics
	 * server's) would take it and die of it. */
	watch_signals(&a);
	if (a.store) {
		/* The status map says "connecting" while the agent waits. */
		ev_timer_init(&a.registry_status, on_registry_status, 0., 0.25);
		a.registry_status.data = &a;
		if (wait_registry(&a))
			goto cleanup;
		if (build_config(&a, a.cfg, err, sizeof(err))) {
			log_err("cannot build the config from the file and the registry: %s", err);
			goto cleanup;
		}
	}
	a.rs.legacy_stride = dp.legacy_slot_stride;
	if (apply_config(&a, a.cfg, "config", err, sizeof(err))) {
		log_err("cannot apply config: %s", err);
		goto cleanup;
	}
	if (a.store) {
		registry_applied(&a);
		ev_init(&a.registry_apply, on_registry_apply);
		a.registry_apply.data = &a;
	} else {
		/* Readers must not show a registry an earlier agent had. */
		registry_status_write(&a.ops, NULL, NULL, err, sizeof(err));
	}
	a.running = true;
	if (datapath_attach(&dp, cgfd, env->bpffs, err, sizeof(err)) ||
	    attach_xdp_path(&a, err, sizeof(err))) {
		log_err("%s", err);
		goto cleanup;
	}
	/* The programs that read the fixed slot layout are gone. */
	a.rs.legacy_stride = 0;
	datapath_prune_old_maps(env->bpffs);

	a.dp = &dp;
	a.checker = checker_new(a.loop, &a.ops);
	if (!a.checker) {
		log_err("out of memory");
		goto cleanup;
	}
	checker_members_from(a.checker, members_kept, &a.rs);
	checker_sync(a.checker, a.cfg);
	a.hold = hold_new(a.loop, &a.ops,
			  &(struct hold_limits){.hold_max = env->hold_max,
						.relay_max = env->relay_max,
						.relay_idle_ms = env->relay_idle_ms});
	if (!a.hold) {
		log_err("out of memory");
		goto cleanup;
	}
	checker_on_change(a.checker, on_replica_change, &a);
	checker_start_audit(a.checker, env->health_interval_ms);
	hold_sync(a.hold, a.cfg);
	events = events_open(a.loop, a.fds.events, on_datapath_event, &a);
	if (!events) {
		log_err("cannot read ejection events: %s", strerror(errno));
		goto cleanup;
	}
	control = control_listen(a.loop, env->control_socket, &handler, err, sizeof(err));
	if (!control) {
		log_err("%s", err);
		goto cleanup;
	}
	if (env->control_group[0] && control_admit_group(control, control_gid, err, sizeof(err))) {
		log_err("%s", err);
		goto cleanup;
	}
	if (env->metrics_addr[0]) {
		metrics = metrics_start(env->metrics_addr, env->bpffs, err, sizeof(err));
		if (!metrics) {
			log_err("%s", err);
			goto cleanup;
		}
		log_info("metrics on http://%s/metrics", env->metrics_addr);
	}
	ev_timer_init(&a.first_round, on_first_round, 0.01, 0.01);
	a.first_round.data = &a;
	ev_timer_start(a.loop, &a.first_round);
	/* Replicas removed from the config while no agent ran: their
	 * connected sockets are swept once, now. */
	if (dp.adopted)
		sweep_soon(&a);

	log_info("ready: %d services, cgroup %s, pins under %s, control %s (links adopted=%d "
		 "attached=%d)",
		 a.cfg->nservices, cgroup, env->bpffs, env->control_socket, dp.adopted,
		 dp.attached);
	ev_run(a.loop, 0);
	a.status = 0;

cleanup:
	if (a.loop) {
		ev_timer_stop(a.loop, &a.sweep);
		ev_timer_stop(a.loop, &a.tables);
		if (a.store) {
			ev_timer_stop(a.loop, &a.registry_apply);
			ev_timer_stop(a.loop, &a.registry_status);
		}
	}
	registry_stop(a.registry);
	registry_store_free(a.store);
	free(a.file_text);
	metrics_stop(metrics);
	control_close(control);
	events_close(events);
	hold_free(a.hold); /* first: misses fail fast once we are gone */
	checker_free(a.checker);
	map_fds_close(&a.fds);
	datapath_close(&dp);
	xdp_path_close(&a.xdp);
	if (cgfd >= 0)
		close(cgfd);
	reconcile_state_forget(&a.rs);
	config_free(a.cfg);
	return a.status;
}
