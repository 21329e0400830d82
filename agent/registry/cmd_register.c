/* `steer register`: keep one replica's key in the registry for as long as
 * this process runs. The key lives on a lease: SIGTERM or SIGINT revokes
 * it (the agents drop the replica at once), and a crash lets it expire
 * with the lease's TTL. etcd being away is waited out on the
 * STEER_REGISTRY_* backoff, each member in turn; a lease that expired
 * meanwhile is granted again and the key put again. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "config/env.h"
#include "core/commands.h"
#include "lib/log.h"
#include "registry/etcd_client.h"
#include "registry/etcd_json.h"
#include "registry/register_opts.h"
#include "registry/registry.h"

#define KEY_MAX 512

enum reg_step { STEP_GRANT, STEP_PUT, STEP_KEEPALIVE, STEP_REVOKE };

struct reg {
	struct ev_loop *loop;
	struct etcd_client *client;
	struct backoff_params backoff;
	char key[KEY_MAX], value[128];
	int64_t ttl_s;	   /* asked for */
	int64_t lease;	   /* 0: none granted */
	int64_t lease_ttl; /* granted */
	enum reg_step step;
	struct etcd_request *req;
	uint32_t failures; /* in a row */
	int nmembers, revoke_tries;
	bool registered, stopping;
	ev_timer next; /* the next step: a keepalive, or a retry */
	ev_signal sigterm, sigint;
	int status;
};

static void step(struct reg *g);

static void schedule(struct reg *g, double after_s)
{
	ev_timer_stop(g->loop, &g->next);
	ev_timer_set(&g->next, after_s, 0.);
	ev_timer_start(g->loop, &g->next);
}

/* Keepalives at a third of the TTL: two may be lost before it expires. */
static double keepalive_period(const struct reg *g)
{
	double p = (double)g->lease_ttl / 3.;

	return p < 0.2 ? 0.2 : p;
}

static void failed(struct reg *g, const char *msg)
{
	uint64_t wait_us;

	g->req = NULL;
	if (g->stopping) {
		/* Each member once, at once: the process is asked to stop. */
		if (++g->revoke_tries < g->nmembers) {
			log_warn(
			    "register: revoke of lease %lld failed (%s); trying the next member",
			    (long long)g->lease, msg);
			etcd_client_next_member(g->client);
			step(g);
			return;
		}
		log_warn("register: could not revoke lease %lld (%s): %s expires with it within "
			 "%lld s",
			 (long long)g->lease, msg, g->key, (long long)g->lease_ttl);
		g->status = 1;
		ev_break(g->loop, EVBREAK_ALL);
		return;
	}
	/* A put that failed may have outlived its lease: start over with a new
	 * one (the old one, if alive, expires with nothing on it). */
	if (g->step == STEP_PUT)
		g->step = STEP_GRANT;
	g->failures++;
	if (g->failures == 1)
		log_warn("register: %s; retrying, each member in turn", msg);
	else
		log_debug("register: attempt %u failed: %s", g->failures, msg);
	etcd_client_next_member(g->client);
	wait_us = backoff_wait_us(&g->backoff, g->failures + 1, (uint32_t)random());
	/* A lease that keeps its key must not wait past its own expiry. */
	if (g->step == STEP_KEEPALIVE && (double)wait_us / 1e6 > keepalive_period(g))
		wait_us = (uint64_t)(keepalive_period(g) * 1e6);
	schedule(g, (double)wait_us / 1e6);
}

static void on_reply(void *arg, enum etcd_err err, long http, const char *body, size_t len,
		     const char *msg)
{
	struct reg *g = arg;
	char why[256];
	int64_t ttl = 0;

	g->req = NULL;
	if (err != ETCD_OK && err != ETCD_ERR_HTTP) {
		snprintf(why, sizeof(why), "%s", msg && *msg ? msg : "failed");
		failed(g, why);
		return;
	}
	(void)http;
	switch (g->step) {
	case STEP_GRANT:
		if (etcd_parse_lease_grant(body, len, &g->lease, &g->lease_ttl, why, sizeof(why)))
			break;
		g->step = STEP_PUT;
		g->failures = 0;
		step(g);
		return;
	case STEP_PUT:
		if (etcd_parse_ok(body, len, why, sizeof(why)))
			break;
		log_event("register: %s = %s on lease %lld (TTL %lld s)%s", g->key, g->value,
			  (long long)g->lease, (long long)g->lease_ttl,
			  g->registered ? ", again" : "");
		g->registered = true;
		g->step = STEP_KEEPALIVE;
		g->failures = 0;
		schedule(g, keepalive_period(g));
		return;
	case STEP_KEEPALIVE:
		if (etcd_parse_keepalive(body, len, &ttl, why, sizeof(why)))
			break;
		g->failures = 0;
		if (ttl <= 0) {
			/* Expired while etcd was away, or revoked by someone. */
			log_warn("register: lease %lld is gone; granting a new one and putting %s "
				 "again",
				 (long long)g->lease, g->key);
			g->lease = 0;
			g->step = STEP_GRANT;
			step(g);
			return;
		}
		schedule(g, keepalive_period(g));
		return;
	case STEP_REVOKE:
		if (etcd_parse_ok(body, len, why, sizeof(why)) && !strstr(why, "lease not found"))
			break;
		log_event("register: revoked lease %lld: %s is removed", (long long)g->lease,
			  g->key);
		ev_break(g->loop, EVBREAK_ALL);
		return;
	}
	failed(g, why);
}

static void step(struct reg *g)
{
	static const char *const paths[] = {
	    [STEP_GRANT] = "/v3/lease/grant",
	    [STEP_PUT] = "/v3/kv/put",
	    [STEP_KEEPALIVE] = "/v3/lease/keepalive",
	    [STEP_REVOKE] = "/v3/lease/revoke",
	};
	char *body = NULL;

	switch (g->step) {
	case STEP_GRANT:
		body = etcd_body_lease_grant(g->ttl_s);
		break;
	case STEP_PUT:
		body = etcd_body_put(g->key, strlen(g->key), g->value, strlen(g->value), g->lease);
		break;
	case STEP_KEEPALIVE:
	case STEP_REVOKE:
		body = etcd_body_lease_id(g->lease);
		break;
	}
	g->req = body ? etcd_post(g->client, paths[g->step], body, on_reply, g) : NULL;
	free(body);
	if (!g->req)
		failed(g, "out of memory");
}

static void on_next(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	step(w->data);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct reg *g = w->data;

	(void)revents;
	if (g->stopping)
		return;
	g->stopping = true;
	ev_timer_stop(loop, &g->next);
	etcd_request_cancel(g->req);
	g->req = NULL;
	if (!g->lease) {
		log_info("%s: exiting; nothing was registered", strsignal(w->signum));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("%s: revoking lease %lld", strsignal(w->signum), (long long)g->lease);
	g->step = STEP_REVOKE;
	step(g);
}

int cmd_register(const struct steer_env *env, int argc, char **argv)
{
	struct register_opts o;
	struct etcd_tls tls;
	struct reg g = {0};
	char err[512];
	sigset_t set;

	if (register_opts_parse(argc, argv, &o, err, sizeof(err))) {
		fprintf(stderr, "steer: register: %s\n", err);
		return EXIT_INVALID;
	}
	if (!env->registry[0]) {
		fprintf(stderr, "steer: register: STEER_REGISTRY is empty (accepted: etcd:%s)\n",
			ETCD_MEMBERS_ACCEPTED);
		return EXIT_INVALID;
	}
	if (register_key(&o, env->registry_prefix, g.key, sizeof(g.key)) ||
	    register_value(&o, g.value, sizeof(g.value))) {
		fprintf(stderr, "steer: register: the key is too long\n");
		return EXIT_INVALID;
	}
	if (registry_tls_from_env(env, &tls, err, sizeof(err))) {
		fprintf(stderr, "steer: register: %s\n", err);
		return EXIT_INVALID;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	g.loop = ev_default_loop(EVFLAG_SIGNALFD);
	g.client = etcd_client_new(g.loop, env_registry_members(env), env->registry_timeout_ms, err,
				   sizeof(err));
	if (!g.client || etcd_client_set_tls(g.client, &tls, err, sizeof(err))) {
		log_err("register: %s", err);
		etcd_client_free(g.client);
		return 1;
	}
	g.backoff = env_registry_backoff(env);
	g.nmembers =
	    etcd_members_parse(env_registry_members(env), NULL, ETCD_MEMBERS_MAX, err, sizeof(err));
	g.ttl_s = register_ttl_s(&o);
	ev_init(&g.next, on_next);
	g.next.data = &g;
	ev_signal_init(&g.sigterm, on_signal, SIGTERM);
	ev_signal_init(&g.sigint, on_signal, SIGINT);
	g.sigterm.data = g.sigint.data = &g;
	ev_signal_start(g.loop, &g.sigterm);
	ev_signal_start(g.loop, &g.sigint);
	g.step = STEP_GRANT;
	step(&g);
	g.status = 0;
	ev_run(g.loop, 0);
	ev_timer_stop(g.loop, &g.next);
	ev_signal_stop(g.loop, &g.sigterm);
	ev_signal_stop(g.loop, &g.sigint);
	etcd_client_free(g.client);
	return g.status;
}
