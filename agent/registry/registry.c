#include "registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "config/env.h"

#include "lib/log.h"
#include "registry/etcd_client.h"
#include "registry/etcd_json.h"

struct registry {
	struct ev_loop *loop;
	struct etcd_client *client;
	struct registry_store *store;
	char *prefix;
	struct backoff_params backoff;
	registry_changed_fn changed;
	void *arg;
	struct etcd_request *req; /* the listing or the watch in flight */
	ev_timer retry;
	bool listed; /* a listing succeeded since the start */
	bool events_changed;
	struct registry_state st;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_conn(struct registry *r, enum registry_conn conn)
{
	if (r->st.conn != conn)
		r->st.since_ns = realtime_ns();
	r->st.conn = conn;
}

static void attempt(struct registry *r);

/* An attempt failed: the next goes to the next member, at once after a
 * working connection was lost, else after the backoff's wait. */
static void failed(struct registry *r, const char *what, const char *msg)
{
	uint64_t wait_us;

	r->req = NULL;
	snprintf(r->st.error, sizeof(r->st.error), "%s: %s", what, msg);
	if (r->st.conn == REGISTRY_CONNECTED) {
		log_warn("registry: lost etcd (%s); keeping the last known services and replicas "
			 "(revision %lld) until it is back",
			 r->st.error, (long long)r->st.revision);
		set_conn(r, REGISTRY_STALE);
		r->st.attempts = 0; /* the next is attempt 1: at once */
	} else if (++r->st.attempts == 1) {
		log_warn("registry: %s; retrying, each member in turn", r->st.error);
	} else {
		log_debug("registry: attempt %u failed: %s", r->st.attempts, r->st.error);
	}
	etcd_client_next_member(r->client);
	wait_us = backoff_wait_us(&r->backoff, r->st.attempts + 1, (uint32_t)random());
	ev_timer_set(&r->retry, (double)wait_us / 1e6, 0.);
	ev_timer_start(r->loop, &r->retry);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	attempt(w->data);
}

static int on_event(void *arg, const struct etcd_watch_event *ev)
{
	struct registry *r = arg;

	if (ev->is_delete)
		r->events_changed |= registry_store_delete(r->store, ev->kv.key, ev->kv.klen);
	else
		r->events_changed |=
		    registry_store_put(r->store, ev->kv.key, ev->kv.klen, ev->kv.value, ev->kv.vlen,
				       ev->kv.mod_revision);
	return 0;
}

static void on_watch_end(void *arg, enum etcd_err err, long http, const char *body, size_t len,
			 const char *msg)
{
	struct registry *r = arg;
	char buf[160];

	(void)err;
	(void)body;
	(void)len;
	snprintf(buf, sizeof(buf), "%s%s", msg && *msg ? msg : "ended",
		 http && http != 200 ? " (HTTP error)" : "");
	failed(r, "watch", buf);
}

/* One message of the watch stream. Non-zero ends the stream. */
static int on_watch_line(void *arg, const char *line, size_t len)
{
	struct registry *r = arg;
	enum etcd_watch_kind kind;
	int64_t rev = 0, compact = 0;
	char msg[160];

	r->events_changed = false;
	if (etcd_parse_watch(line, len, on_event, r, &kind, &rev, &compact, msg, sizeof(msg))) {
		failed(r, "watch", msg);
		return 1;
	}
	if (rev > r->st.revision)
		r->st.revision = rev;
	switch (kind) {
	case ETCD_WATCH_CREATED:
		break;
	case ETCD_WATCH_EVENTS:
		if (r->events_changed)
			r->changed(r->arg);
		break;
	case ETCD_WATCH_PROGRESS:
		break;
	case ETCD_WATCH_COMPACTED:
		/* The revision after ours is gone: list again, at once. */
		log_info("registry: revision %lld was compacted (compact revision %lld); "
			 "listing again",
			 (long long)r->st.revision + 1, (long long)compact);
		attempt(r);
		return 1;
	case ETCD_WATCH_CANCELED:
		failed(r, "watch canceled", msg);
		return 1;
	}
	return 0;
}

static int on_kv(void *arg, const struct etcd_kv *kv)
{
	struct registry *r = arg;

	registry_store_put(r->store, kv->key, kv->klen, kv->value, kv->vlen, kv->mod_revision);
	return 0;
}

static void on_range(void *arg, enum etcd_err err, long http, const char *body, size_t len,
		     const char *msg)
{
	struct registry *r = arg;
	char pmsg[160], *watch;
	int64_t rev = 0;
	bool changed, first = !r->listed;

	(void)http;
	r->req = NULL;
	if (err != ETCD_OK) {
		failed(r, "list", msg && *msg ? msg : "failed");
		return;
	}
	registry_store_list_begin(r->store);
	if (etcd_parse_range(body, len, on_kv, r, &rev, pmsg, sizeof(pmsg)) < 0) {
		/* No list_end(): a reply cut short must not delete the keys
		 * it did not get to. */
		failed(r, "list", pmsg);
		return;
	}
	changed = registry_store_list_end(r->store);
	r->st.revision = rev;
	snprintf(r->st.member, sizeof(r->st.member), "%s", etcd_client_member(r->client));
	r->listed = true;
	watch = etcd_body_watch_prefix(r->prefix, strlen(r->prefix), rev + 1);
	if (watch)
		r->req = etcd_stream(r->client, "/v3/watch", watch, on_watch_line, on_watch_end, r);
	free(watch);
	if (!r->req) {
		failed(r, "watch", "out of memory");
		return;
	}
	/* Listed: the store is etcd's as of rev; the watch carries on from it. */
	log_info("registry: listed %s at revision %lld on %s; watching", r->prefix, (long long)rev,
		 r->st.member);
	set_conn(r, REGISTRY_CONNECTED);
	r->st.attempts = 0;
	r->st.error[0] = '\0';
	if (changed || first)
		r->changed(r->arg);
}

static void attempt(struct registry *r)
{
	char *body = etcd_body_range_prefix(r->prefix, strlen(r->prefix));

	r->req = body ? etcd_post(r->client, "/v3/kv/range", body, on_range, r) : NULL;
	free(body);
	if (!r->req)
		failed(r, "list", "out of memory");
}

struct registry *registry_start(struct ev_loop *loop, const struct registry_params *p,
				struct registry_store *store, registry_changed_fn changed,
				void *arg, char *err, size_t errlen)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (!r || !(r->prefix = strdup(p->prefix))) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->client = etcd_client_new(loop, p->members, p->timeout_ms, err, errlen);
	if (!r->client || etcd_client_set_tls(r->client, &p->tls, err, errlen)) {
		etcd_client_free(r->client);
		free(r->prefix);
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->store = store;
	r->backoff = p->backoff;
	r->changed = changed;
	r->arg = arg;
	ev_init(&r->retry, on_retry);
	r->retry.data = r;
	set_conn(r, REGISTRY_CONNECTING);
	attempt(r);
	return r;
}

void registry_stop(struct registry *r)
{
	if (!r)
		return;
	ev_timer_stop(r->loop, &r->retry);
	etcd_client_free(r->client); /* cancels what is in flight */
	free(r->prefix);
	free(r);
}

void registry_state_get(const struct registry *r, struct registry_state *st)
{
	*st = r->st;
	snprintf(st->member, sizeof(st->member), "%s", etcd_client_member(r->client));
}

int registry_tls_from_env(const struct steer_env *env, struct etcd_tls *tls, char *err,
			  size_t errlen)
{
	const struct {
		const char *name, *path;
	} files[] = {
	    {"STEER_REGISTRY_CA_FILE", env->registry_ca_file},
	    {"STEER_REGISTRY_CERT_FILE", env->registry_cert_file},
	    {"STEER_REGISTRY_KEY_FILE", env->registry_key_file},
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].path[0] && access(files[i].path, R_OK)) {
			snprintf(err, errlen, "%s='%s': %s (accepted: a readable PEM file)",
				 files[i].name, files[i].path, strerror(errno));
			return -1;
		}
	tls->ca_file = env->registry_ca_file[0] ? env->registry_ca_file : NULL;
	tls->cert_file = env->registry_cert_file[0] ? env->registry_cert_file : NULL;
	tls->key_file = env->registry_key_file[0] ? env->registry_key_file : NULL;
	return 0;
}

bool registry_listed(const struct registry *r)
{
	return r->listed;
}
