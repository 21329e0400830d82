/* `steer status` output (see status_render.h): pure functions of a snapshot. */
#include "observe/status_render.h"

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "health/health.h"
#include "lib/addr.h"
#include "lib/hist.h"
#include "maps/keys.h"

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

void status_render_text(const struct status_snapshot *s, FILE *out)
{
	const struct svc_view *sv = s->services;
	int n = s->nservices;
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

int status_render_json(const struct status_snapshot *s, FILE *out)
{
	const struct svc_view *sv = s->services;
	int n = s->nservices;
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
	return 0;
}
