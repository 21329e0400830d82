#include "observe/status.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/addr.h"
#include "health/health.h"
#include "lib/hist.h"
#include "maps/keys.h"
#include "maps/mapops.h"

struct replica_view {
	uint32_t id;
	struct steer_replica r;
	uint64_t steered;
	struct steer_replica_status st;
	struct steer_backend b; /* zero for UDP replicas */
};

struct svc_view {
	struct steer_svc_key key;
	struct steer_svc_value val;
	char name[STEER_SVC_NAME_LEN];
	struct steer_svc_stats stats;
	struct steer_hold_stats hold;
	int nreplicas;
	struct replica_view replicas[STEER_MAX_SLOTS];
};

static int load_service(const struct map_fds *fds, struct svc_view *sv)
{
	struct steer_svc_name name = {};
	uint64_t counters[3];

	if (bpf_map_lookup_elem(fds->svc, &sv->key, &sv->val))
		return -errno;
	if (sv->val.svc_id >= STEER_MAX_SERVICES || sv->val.count > STEER_MAX_SLOTS ||
	    sv->val.bank >= STEER_SLOT_BANKS)
		return -EUCLEAN;
	if (bpf_map_lookup_elem(fds->names, &sv->val.svc_id, &name) == 0)
		memcpy(sv->name, name.name, sizeof(sv->name) - 1);
	bpf_map_lookup_elem(fds->hold_stats, &sv->val.svc_id, &sv->hold);
	if (map_percpu_sum(fds->svc_stats, sv->val.svc_id, counters, 3) == 0) {
		sv->stats.steered = counters[0];
		sv->stats.misses = counters[1];
		sv->stats.errors = counters[2];
	}
	for (uint32_t i = 0; i < sv->val.count; i++) {
		uint32_t idx = steer_slot_index(sv->val.svc_id, sv->val.bank, i);
		struct replica_view *rv = &sv->replicas[sv->nreplicas];
		struct steer_slot slot;

		if (bpf_map_lookup_elem(fds->slots, &idx, &slot) ||
		    bpf_map_lookup_elem(fds->replicas, &slot.replica_id, &rv->r))
			continue;
		rv->id = slot.replica_id;
		map_percpu_sum(fds->replica_stats, rv->id, &rv->steered, 1);
		bpf_map_lookup_elem(fds->replica_status, &rv->id, &rv->st);
		{
			struct steer_backend_key bk;
			struct endpoint ep;

			replica_decode(&rv->r, &ep);
			backend_key_encode(&ep, IPPROTO_TCP, &bk);
			if (sv->key.proto == IPPROTO_TCP)
				bpf_map_lookup_elem(fds->backends, &bk, &rv->b);
		}
		sv->nreplicas++;
	}
	return 0;
}

static const char *check_result_name(uint8_t r)
{
	static const char *const names[] = {"none",	  "ok",		  "refused", "timeout",
					    "bad-status", "bad-response", "error"};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static const char *eject_reason_name(uint8_t r)
{
	static const char *const names[] = {"none", "listener-closed", "connect-failed",
					    "check-failed"};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ISO 8601 UTC of a CLOCK_REALTIME ns value, "-" for none. */
static const char *iso_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* Attempts per served connection, as a decimal. */
static double attempts_per_served(const struct steer_hold_stats *h)
{
	return h->served ? (double)h->attempts_served / (double)h->served : 0.0;
}

static void print_hold_text(const struct steer_hold_stats *h, FILE *out)
{
	fprintf(out,
		"  hold: now=%llu held=%llu served=%llu timeouts=%llu refused_full=%llu "
		"attempts/served=%.2f hold_p50=%lluus hold_p99=%lluus first_attempt_p50=%lluus "
		"first_attempt_p99=%lluus\n",
		(unsigned long long)h->held_now, (unsigned long long)h->held_total,
		(unsigned long long)h->served, (unsigned long long)h->timeouts,
		(unsigned long long)h->refused_full, attempts_per_served(h),
		(unsigned long long)hist_percentile_us(&h->hold_us, 50),
		(unsigned long long)hist_percentile_us(&h->hold_us, 99),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 50),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 99));
}

static void print_hold_json(const struct steer_hold_stats *h, FILE *out)
{
	fprintf(out,
		",\"hold\":{\"held_now\":%llu,\"held_total\":%llu,\"served\":%llu,"
		"\"timeouts\":%llu,\"refused_full\":%llu,\"attempts_total\":%llu,"
		"\"attempts_per_served\":%.2f,\"hold_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu},"
		"\"first_attempt_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu}}",
		(unsigned long long)h->held_now, (unsigned long long)h->held_total,
		(unsigned long long)h->served, (unsigned long long)h->timeouts,
		(unsigned long long)h->refused_full, (unsigned long long)h->attempts_total,
		attempts_per_served(h), (unsigned long long)hist_percentile_us(&h->hold_us, 50),
		(unsigned long long)hist_percentile_us(&h->hold_us, 90),
		(unsigned long long)hist_percentile_us(&h->hold_us, 99),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 50),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 90),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 99));
}

static void print_text(const struct svc_view *sv, int n, FILE *out)
{
	char buf[ADDR_STRLEN];

	if (n == 0)
		fprintf(out, "no services\n");
	for (int i = 0; i < n; i++) {
		struct endpoint vip;
		uint8_t proto;

		svc_key_decode(&sv[i].key, &vip, &proto);
		fprintf(out,
			"service %s %s/%s id=%u replicas=%d steered=%llu misses=%llu errors=%llu\n",
			sv[i].name[0] ? sv[i].name : "?", endpoint_format(&vip, buf, sizeof(buf)),
			proto_name(proto), sv[i].val.svc_id, sv[i].nreplicas,
			(unsigned long long)sv[i].stats.steered,
			(unsigned long long)sv[i].stats.misses,
			(unsigned long long)sv[i].stats.errors);
		if (proto == IPPROTO_TCP)
			print_hold_text(&sv[i].hold, out);
		for (int r = 0; r < sv[i].nreplicas; r++) {
			const struct replica_view *rv = &sv[i].replicas[r];
			struct endpoint ep;
			char since[32];

			replica_decode(&rv->r, &ep);
			fprintf(out,
				"  replica %s id=%u state=%s since=%s check=%s/%uus fails=%u "
				"steered=%llu failed_connects=%llu ejected=%s\n",
				endpoint_format(&ep, buf, sizeof(buf)), rv->id,
				health_state_name(rv->r.state),
				iso_time(rv->st.since_ns, since, sizeof(since)),
				check_result_name(rv->st.last_result), rv->st.last_latency_us,
				rv->st.consecutive_failures, (unsigned long long)rv->steered,
				(unsigned long long)rv->b.failed_connects,
				rv->b.ejected_ns ? eject_reason_name(rv->b.reason) : "no");
		}
	}
}

/* Names are checked by the config parser, but the maps may hold anything. */
static void json_string(const char *s, FILE *out)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_json(const struct svc_view *sv, int n, FILE *out)
{
	char buf[ADDR_STRLEN];

	fprintf(out, "{\"services\":[");
	for (int i = 0; i < n; i++) {
		struct endpoint vip;
		uint8_t proto;

		svc_key_decode(&sv[i].key, &vip, &proto);
		fprintf(out, "%s{\"name\":", i ? "," : "");
		json_string(sv[i].name, out);
		fprintf(out,
			",\"vip\":\"%s\",\"protocol\":\"%s\",\"id\":%u,\"steered\":%llu,"
			"\"misses\":%llu,\"errors\":%llu,\"replicas\":[",
			endpoint_format(&vip, buf, sizeof(buf)), proto_name(proto),
			sv[i].val.svc_id, (unsigned long long)sv[i].stats.steered,
			(unsigned long long)sv[i].stats.misses,
			(unsigned long long)sv[i].stats.errors);
		for (int r = 0; r < sv[i].nreplicas; r++) {
			const struct replica_view *rv = &sv[i].replicas[r];
			struct endpoint ep;

			char since[32], checked[32];

			replica_decode(&rv->r, &ep);
			fprintf(out,
				"%s{\"address\":\"%s\",\"id\":%u,\"state\":\"%s\",\"steered\":%llu,"
				"\"since\":\"%s\",\"last_check\":\"%s\",\"last_result\":\"%s\","
				"\"last_latency_us\":%u,\"consecutive_failures\":%u,"
				"\"failed_connects\":%llu,\"ejected\":%s,\"eject_reason\":\"%s\","
				"\"ejected_ns\":%llu}",
				r ? "," : "", endpoint_format(&ep, buf, sizeof(buf)), rv->id,
				health_state_name(rv->r.state), (unsigned long long)rv->steered,
				iso_time(rv->st.since_ns, since, sizeof(since)),
				iso_time(rv->st.last_check_ns, checked, sizeof(checked)),
				check_result_name(rv->st.last_result), rv->st.last_latency_us,
				rv->st.consecutive_failures,
				(unsigned long long)rv->b.failed_connects,
				rv->b.ejected_ns ? "true" : "false",
				eject_reason_name(rv->b.ejected_ns ? rv->b.reason
								   : rv->st.eject_reason),
				(unsigned long long)rv->b.ejected_ns);
		}
		fprintf(out, "]");
		if (proto == IPPROTO_TCP)
			print_hold_json(&sv[i].hold, out);
		fprintf(out, "}");
	}
	fprintf(out, "]}\n");
}

static int by_name(const void *a, const void *b)
{
	const struct svc_view *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int status_print(const char *pin_dir, bool json, FILE *out, char *err, size_t errlen)
{
	struct svc_view *views = calloc(STEER_MAX_SERVICES, sizeof(*views));
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	struct map_fds fds;
	int n = 0, ret;

	if (!views) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = map_fds_open_pinned(&fds, pin_dir, 0);
	if (ret) {
		snprintf(err, errlen,
			 "no steer datapath pinned under %s (%s); is STEER_BPFFS right?", pin_dir,
			 strerror(-ret));
		free(views);
		return -1;
	}
	while (n < STEER_MAX_SERVICES && bpf_map_get_next_key(fds.svc, prevp, &key) == 0) {
		prev = key;
		prevp = &prev;
		views[n].key = key;
		if (load_service(&fds, &views[n]) == 0)
			n++;
		else
			memset(&views[n], 0, sizeof(views[n]));
	}
	qsort(views, (size_t)n, sizeof(*views), by_name);
	if (json)
		print_json(views, n, out);
	else
		print_text(views, n, out);
	map_fds_close(&fds);
	free(views);
	return 0;
}
