/* `steer run`: check the kernel, load or adopt the pinned datapath, write the
 * config into the maps, then stay in the foreground until a signal. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "datapath.h"
#include "log.h"
#include "mapops.h"
#include "reconcile.h"
#include "sysprep.h"

#define ERRLEN 512

/* Replica id allocation continues across reloads of one agent. */
static struct reconcile_state reconcile_state;

static int apply_config(const struct map_ops *ops, const struct steer_config *cfg)
{
	struct reconcile_result res;
	char err[ERRLEN];

	if (reconcile(ops, &reconcile_state, cfg, &res, err, sizeof(err))) {
		log_err("cannot apply config: %s", err);
		return -1;
	}
	log_info("config applied: services added=%d changed=%d removed=%d unchanged=%d, "
		 "replicas added=%d retired=%d",
		 res.added, res.changed, res.removed, res.unchanged, res.replicas_added,
		 res.replicas_retired);
	return 0;
}

/* SIGHUP: re-read the file into a scratch copy; a bad file changes nothing. */
static void reload(const struct map_ops *ops, const char *config_path, struct steer_config *cfg)
{
	struct steer_config *next = calloc(1, sizeof(*next));
	char err[ERRLEN];

	log_info("SIGHUP: reloading %s", config_path);
	if (!next) {
		log_err("reload refused, keeping the running config: out of memory");
		return;
	}
	if (config_load(config_path, next, err, sizeof(err))) {
		log_err("reload refused, keeping the running config: %s", err);
	} else if (apply_config(ops, next) == 0) {
		memcpy(cfg, next, sizeof(*cfg));
	}
	free(next);
}

static int wait_for_signals(const struct map_ops *ops, const char *config_path,
			    struct steer_config *cfg)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig < 0 && errno == EINTR)
			continue;
		if (sig < 0) {
			log_err("sigwaitinfo: %s", strerror(errno));
			return 1;
		}
		if (sig == SIGHUP) {
			reload(ops, config_path, cfg);
			continue;
		}
		log_info("%s: exiting; the datapath stays pinned and working (`steer down` "
			 "removes it)",
			 strsignal(sig));
		return 0;
	}
}

int cmd_run(const struct steer_env *env, const char *config_path)
{
	struct steer_config *cfg = calloc(1, sizeof(*cfg));
	struct datapath dp = {};
	struct map_fds fds = {.svc = -1};
	struct map_ops ops;
	char err[ERRLEN], cgroup[4096];
	sigset_t set;
	int cgfd = -1, status = 1;

	if (!cfg) {
		log_err("out of memory");
		return 1;
	}
	/* Validate everything before touching the kernel: nothing half-applied. */
	if (config_load(config_path, cfg, err, sizeof(err))) {
		log_err("%s", err);
		free(cfg);
		return EXIT_INVALID;
	}
	/* Signals are taken synchronously, so block them before anything can
	 * leave a half-done state behind. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (sysprep_check_btf(err, sizeof(err)))
		log_warn("%s; continuing (steer's programs use UAPI types only)", err);
	if (sysprep_pin_dir(env->bpffs, err, sizeof(err))) {
		log_err("%s", err);
		goto cleanup;
	}
	cgfd = sysprep_open_cgroup(env->cgroup, cgroup, sizeof(cgroup), err, sizeof(err));
	if (cgfd < 0) {
		log_err("%s", err);
		status = env->cgroup[0] ? EXIT_INVALID : 1;
		goto cleanup;
	}
	if (!env->cgroup[0])
		log_warn("attaching to the cgroup v2 root %s: every process on this node is "
			 "steered (set STEER_CGROUP to limit it)",
			 cgroup);

	if (datapath_load(&dp, env->bpffs, err, sizeof(err))) {
		log_err("%s", err);
		goto cleanup;
	}
	if (map_fds_open_pinned(&fds, env->bpffs, 1)) {
		log_err("cannot open the maps pinned under %s: %s", env->bpffs, strerror(errno));
		goto cleanup;
	}
	map_ops_init(&ops, &fds);
	if (apply_config(&ops, cfg))
		goto cleanup;
	if (datapath_attach(&dp, cgfd, env->bpffs, err, sizeof(err))) {
		log_err("%s", err);
		goto cleanup;
	}
	log_info("ready: %d services, cgroup %s, pins under %s (links adopted=%d attached=%d)",
		 cfg->nservices, cgroup, env->bpffs, dp.adopted, dp.attached);
	status = wait_for_signals(&ops, config_path, cfg);

cleanup:
	map_fds_close(&fds);
	datapath_close(&dp);
	if (cgfd >= 0)
		close(cgfd);
	free(cfg);
	return status;
}
