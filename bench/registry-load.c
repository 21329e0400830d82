/* bench-registry-load: changes to steer's etcd registry (issue 14) at a set
 * rate, through etcd's v3 JSON gateway, for the registry tests and benches.
 *
 * Usage:
 *   bench-registry-load --endpoint HOST:PORT [--prefix /steer/] --service NAME
 *       --replicas N --base ADDR [--port P] --changes C --rate R [--seed S]
 *       [--setup --vip VIP:PORT]
 *   bench-registry-load --endpoint HOST:PORT [--prefix /steer/] --many-services S
 *       --replicas-per-service K [--service NAME] [--base ADDR] [--port P]
 *       [--vip-port V]
 *
 * The keys are the agent's (agent/registry/registry_decode.h):
 *   PREFIX services/NAME            {"vip":"VIP:PORT","protocol":"tcp","health":"none"}
 *   PREFIX replicas/NAME/ADDR:PORT  {"weight":1}
 *
 * Changes (the first form): replica j (0..N-1) of NAME is ADDR+j:P (ADDR an
 * IPv4 or IPv6 address, counted up as one number; P defaults to 8080). It
 * first lists which of the N keys exist (nothing is prepared unless
 * --setup, which puts the service key with --vip and all N replicas, then
 * prints "REVISION REALTIME_NS setup KEYS"). Then it makes C changes at R
 * per second (R may be fractional), each a put of an absent replica or a
 * delete of a present one, chosen at random (--seed S, default 1) so that
 * between N/2 and N replicas exist. Change k is sent at start + k/R on
 * CLOCK_MONOTONIC (an absolute deadline: a slow reply delays the next
 * change, never the schedule); one line per change on stdout, as it is
 * made:
 *   REVISION CLOCK_REALTIME_NS put|del KEY
 * REVISION is the store's revision in the reply's header (the change's own
 * revision); the time is taken just before the request is sent, so a delay
 * measured from it to a watcher seeing REVISION is an upper bound.
 *
 * Many services (the second form, for the scale run): S services
 * (1..64000) named NAME-0000... (NAME defaults to "svc"), service s with
 * the VIP 198.19.(s/250).(s%250+1):V (V defaults to 80) and K replicas
 * (1..1000), replica j at ADDR+s*K+j:P, ADDR defaulting to 198.18.101.1
 * (1000 x 10 replicas end at 198.18.140.16). VIPs stay out of 198.18.0.0/16
 * and replicas out of the registry tests' fabric, 198.18.100.0/24. The keys
 * are put one after another on one kept-alive connection; prints
 * "REVISION REALTIME_NS setup KEYS" and, on stderr, the rate.
 *
 * On stderr at the end: the count, the time, the rate reached and the
 * slowest request. Exit 0, 1 when etcd fails a request (the message names
 * the key and etcd's reply), 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#define NSEC_PER_SEC	    1000000000LL
#define KEY_MAX		    512
#define ADDR_TEXT_MAX	    (INET6_ADDRSTRLEN + 8) /* "[v6]:65535" */
#define REPLICAS_MAX	    100000
#define CHANGES_MAX	    100000000L
#define RATE_MAX	    1000000.0
#define SERVICES_MAX	    64000 /* 198.19.(s/250).(s%250+1) stays in 198.19.0.0/16 */
#define PER_SERVICE_MAX	    1000
#define REQUEST_TIMEOUT_MS  5000L
#define REPLY_MAX	    (256u << 20) /* a longer reply is an error */
#define DEFAULT_PORT	    8080
#define DEFAULT_VIP_PORT    80
#define DEFAULT_MANY_BASE   "198.18.101.1"
#define DEFAULT_MANY_PREFIX "svc"

static const char usage_text[] =
    "usage: bench-registry-load --endpoint HOST:PORT [--prefix /steer/] --service NAME\n"
    "           --replicas N --base ADDR [--port P] --changes C --rate R [--seed S]\n"
    "           [--setup --vip VIP:PORT]\n"
    "       bench-registry-load --endpoint HOST:PORT [--prefix /steer/] --many-services S\n"
    "           --replicas-per-service K [--service NAME] [--base ADDR] [--port P]\n"
    "           [--vip-port V]\n"
    "  changes: replica j of NAME is ADDR+j:P (P 8080); C puts/deletes at R/s keep\n"
    "           N/2..N replicas; one line each: REVISION CLOCK_REALTIME_NS put|del KEY\n"
    "  many:    services NAME-0000.. (NAME svc), VIP 198.19.(s/250).(s%250+1):V (V 80),\n"
    "           replica j of service s at ADDR+s*K+j:P (ADDR 198.18.101.1)\n";

struct opts {
	const char *endpoint;
	const char *prefix;
	const char *service;
	const char *base;
	const char *vip;
	long replicas;
	long port;
	long vip_port;
	long changes;
	double rate;
	long seed;
	bool setup;
	long many; /* services; 0: the changes form */
	long per_service;
};

/* The one connection to etcd: a curl easy handle reused for every request,
 * so libcurl keeps the connection alive. */
struct etcd {
	CURL *curl;
	struct curl_slist *headers;
	char url[256];
	size_t url_base_len; /* "http://HOST:PORT" */
	char *reply;
	size_t reply_len, reply_cap;
	long long slowest_ns;
};

static void usage(const char *why)
{
	fprintf(stderr, "bench-registry-load: %s\n%s", why, usage_text);
	exit(2);
}

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_until(long long mono_ns)
{
	struct timespec ts = {.tv_sec = mono_ns / NSEC_PER_SEC, .tv_nsec = mono_ns % NSEC_PER_SEC};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static long parse_long(const char *opt, const char *text, long min, long max)
{
	char *end, why[256];
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		snprintf(why, sizeof(why), "bad %s '%s' (accepted: %ld..%ld)", opt, text, min, max);
		usage(why);
	}
	return v;
}

/* base64 of len bytes (no newlines), into a malloc'd string; aborts when
 * out of memory (a bench tool has nothing better to do). */
static char *b64(const char *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		abort();
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
	return out;
}

/* A base64 text decoded into out (outlen >= 3/4 of its length + 1), NUL
 * terminated; its length, or -1 when it is not base64. */
static int unb64(const char *in, char *out, size_t outlen)
{
	size_t len = strlen(in);
	int n;

	if (len % 4 || len / 4 * 3 + 1 > outlen)
		return -1;
	n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding's zero bytes */
	while (len > 0 && in[len - 1] == '=') {
		len--;
		n--;
	}
	out[n] = '\0';
	return n;
}

/* base + n as "ADDR:PORT" or "[ADDR]:PORT" (base an IPv4 or IPv6 address,
 * counted up as one big-endian number). Returns -1 when base is no address
 * or base + n passes the end of the family's space. */
static int addr_nth(const char *base, unsigned long n, long port, char out[ADDR_TEXT_MAX])
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int family = strchr(base, ':') ? AF_INET6 : AF_INET;
	int len = family == AF_INET ? 4 : 16;
	unsigned long carry = n;

	if (inet_pton(family, base, a) != 1)
		return -1;
	for (int i = len - 1; i >= 0 && carry; i--) {
		carry += a[i];
		a[i] = carry & 0xff;
		carry >>= 8;
	}
	if (carry || !inet_ntop(family, a, text, sizeof(text)))
		return -1;
	snprintf(out, ADDR_TEXT_MAX, family == AF_INET ? "%s:%ld" : "[%s]:%ld", text, port);
	return 0;
}

static size_t on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd *e = arg;
	size_t n = size * nmemb;

	if (e->reply_len + n + 1 > REPLY_MAX)
		return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
	if (e->reply_len + n + 1 > e->reply_cap) {
		size_t cap = (e->reply_len + n + 1) * 2;
		char *p = realloc(e->reply, cap);

		if (!p)
			return 0;
		e->reply = p;
		e->reply_cap = cap;
	}
	memcpy(e->reply + e->reply_len, data, n);
	e->reply_len += n;
	e->reply[e->reply_len] = '\0';
	return n;
}

static int etcd_open(struct etcd *e, const char *endpoint)
{
	memset(e, 0, sizeof(*e));
	if (snprintf(e->url, sizeof(e->url), "http://%s", endpoint) >= (int)sizeof(e->url) - 32)
		usage("--endpoint is too long");
	e->url_base_len = strlen(e->url);
	e->curl = curl_easy_init();
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->curl || !e->headers) {
		fprintf(stderr, "bench-registry-load: cannot set up libcurl\n");
		return -1;
	}
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e->curl, CURLOPT_PROXY, ""); /* never through an http_proxy of the env */
	return 0;
}

static void etcd_close(struct etcd *e)
{
	curl_slist_free_all(e->headers);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free(e->reply);
}

/* POST body to path; the parsed reply in *out (the caller's to free).
 * Returns 0, or -1 with the reason on stderr, naming what (a key). */
static int etcd_post(struct etcd *e, const char *path, json_t *body, const char *what, json_t **out)
{
	char *text = json_dumps(body, JSON_COMPACT);
	long http = 0;
	long long t0;
	CURLcode rc;
	json_error_t jerr;

	if (!text)
		abort();
	snprintf(e->url + e->url_base_len, sizeof(e->url) - e->url_base_len, "%s", path);
	e->reply_len = 0;
	curl_easy_setopt(e->curl, CURLOPT_URL, e->url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, text);
	t0 = clock_ns(CLOCK_MONOTONIC);
	rc = curl_easy_perform(e->curl);
	t0 = clock_ns(CLOCK_MONOTONIC) - t0;
	if (t0 > e->slowest_ns)
		e->slowest_ns = t0;
	free(text);
	if (rc != CURLE_OK) {
		fprintf(stderr, "bench-registry-load: %s %s: %s\n", e->url, what,
			curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &http);
	*out = json_loadb(e->reply ? e->reply : "", e->reply_len, 0, &jerr);
	if (http != 200 || !*out) {
		fprintf(stderr, "bench-registry-load: %s %s: HTTP %ld: %.*s\n", e->url, what, http,
			(int)(e->reply_len > 500 ? 500 : e->reply_len), e->reply ? e->reply : "");
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* The store's revision in a reply's header (the gateway writes int64s as
 * strings); -1 when there is none. */
static long long header_revision(const json_t *reply)
{
	const json_t *rev = json_object_get(json_object_get(reply, "header"), "revision");

	if (json_is_string(rev))
		return strtoll(json_string_value(rev), NULL, 10);
	if (json_is_integer(rev))
		return json_integer_value(rev);
	return -1;
}

/* Put key = value; the revision it made, or -1. */
static long long etcd_put(struct etcd *e, const char *key, const char *value)
{
	char *k = b64(key, strlen(key)), *v = b64(value, strlen(value));
	json_t *body = json_pack("{s:s, s:s}", "key", k, "value", v), *reply;
	long long rev = -1;

	if (!body)
		abort();
	if (etcd_post(e, "/v3/kv/put", body, key, &reply) == 0) {
		rev = header_revision(reply);
		json_decref(reply);
	}
	json_decref(body);
	free(k);
	free(v);
	return rev;
}

/* Put a service's key: {"vip":VIP,"protocol":"tcp","health":"none"}. */
static long long put_service(struct etcd *e, const char *key, const char *vip)
{
	json_t *v = json_pack("{s:s, s:s, s:s}", "vip", vip, "protocol", "tcp", "health", "none");
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	long long rev;

	if (!text)
		abort();
	rev = etcd_put(e, key, text);
	free(text);
	json_decref(v);
	return rev;
}

/* Delete key; the revision of the delete, or -1 (also when nothing was
 * deleted: the tool's idea of the set was wrong). */
static long long etcd_del(struct etcd *e, const char *key)
{
	char *k = b64(key, strlen(key));
	json_t *body = json_pack("{s:s}", "key", k), *reply;
	long long rev = -1;

	if (!body)
		abort();
	if (etcd_post(e, "/v3/kv/deleterange", body, key, &reply) == 0) {
		const json_t *d = json_object_get(reply, "deleted");

		if (json_is_string(d) && strcmp(json_string_value(d), "1") == 0)
			rev = header_revision(reply);
		else
			fprintf(stderr, "bench-registry-load: delete %s: it was not there\n", key);
		json_decref(reply);
	}
	json_decref(body);
	free(k);
	return rev;
}

/* The keys under prefix (keys only), each to fn; 0 or -1. */
static int etcd_list(struct etcd *e, const char *prefix, void (*fn)(void *, const char *),
		     void *arg)
{
	size_t plen = strlen(prefix);
	char end[KEY_MAX], key[KEY_MAX];
	char *k, *r;
	json_t *body, *reply, *kv;
	size_t i;

	if (plen == 0 || plen >= KEY_MAX)
		return -1;
	memcpy(end, prefix, plen); /* range_end: the prefix with its last byte + 1 */
	end[plen - 1]++;
	k = b64(prefix, plen);
	r = b64(end, plen);
	body = json_pack("{s:s, s:s, s:b}", "key", k, "range_end", r, "keys_only", 1);
	if (!body)
		abort();
	free(k);
	free(r);
	if (etcd_post(e, "/v3/kv/range", body, prefix, &reply)) {
		json_decref(body);
		return -1;
	}
	json_decref(body);
	json_array_foreach(json_object_get(reply, "kvs"), i, kv)
	{
		const char *text = json_string_value(json_object_get(kv, "key"));

		if (text && unb64(text, key, sizeof(key)) >= 0)
			fn(arg, key);
	}
	json_decref(reply);
	return 0;
}

/* The changes form's state: which of the N replica keys exist. */
struct replicas {
	long n, present_n;
	char (*keys)[KEY_MAX];
	bool *present;
};

static void mark_present(void *arg, const char *key)
{
	struct replicas *rs = arg;

	for (long j = 0; j < rs->n; j++)
		if (!rs->present[j] && strcmp(rs->keys[j], key) == 0) {
			rs->present[j] = true;
			rs->present_n++;
			return;
		}
}

/* The index of the pick-th replica whose presence is want. */
static long nth_with(const struct replicas *rs, bool want, long pick)
{
	for (long j = 0; j < rs->n; j++)
		if (rs->present[j] == want && pick-- == 0)
			return j;
	abort(); /* pick < the count of such replicas */
}

static void print_setup(long long rev, long keys)
{
	printf("%lld %lld setup %ld\n", rev, clock_ns(CLOCK_REALTIME), keys);
}

static int run_changes(struct etcd *e, const struct opts *o)
{
	struct replicas rs = {.n = o->replicas};
	char prefix[KEY_MAX - ADDR_TEXT_MAX], addr[ADDR_TEXT_MAX]; /* prefix + addr fits a key */
	unsigned short xsubi[3] = {(unsigned short)o->seed, (unsigned short)(o->seed >> 16),
				   0x330e};
	long lo = o->replicas / 2, k;
	long long start, last = 0, behind_ns = 0, rev = 0;
	int rc = 1;

	rs.keys = calloc(rs.n, sizeof(*rs.keys));
	rs.present = calloc(rs.n, sizeof(*rs.present));
	if (!rs.keys || !rs.present)
		abort();
	snprintf(prefix, sizeof(prefix), "%sreplicas/%s/", o->prefix, o->service);
	for (long j = 0; j < rs.n; j++) {
		if (addr_nth(o->base, j, o->port, addr))
			usage(
			    "bad --base (accepted: an IPv4 or IPv6 address, with room for N more)");
		snprintf(rs.keys[j], KEY_MAX, "%s%s", prefix, addr);
	}

	if (o->setup) {
		char key[KEY_MAX];

		snprintf(key, sizeof(key), "%sservices/%s", o->prefix, o->service);
		if ((rev = put_service(e, key, o->vip)) < 0)
			goto out;
		for (long j = 0; j < rs.n; j++)
			if ((rev = etcd_put(e, rs.keys[j], "{\"weight\":1}")) < 0)
				goto out;
		print_setup(rev, rs.n + 1);
	}
	if (etcd_list(e, prefix, mark_present, &rs))
		goto out;

	start = clock_ns(CLOCK_MONOTONIC);
	for (k = 0; k < o->changes; k++) {
		long long due = start + (long long)((double)k * NSEC_PER_SEC / o->rate), now, sent;
		bool put;
		long j;

		if (rs.present_n >= rs.n)
			put = false;
		else if (rs.present_n <= lo)
			put = true;
		else
			put = nrand48(xsubi) & 1;
		j = nth_with(&rs, !put,
			     nrand48(xsubi) % (put ? rs.n - rs.present_n : rs.present_n));
		now = clock_ns(CLOCK_MONOTONIC);
		if (now < due)
			sleep_until(due);
		else if (now - due > behind_ns)
			behind_ns = now - due;
		last = clock_ns(CLOCK_MONOTONIC);
		sent = clock_ns(CLOCK_REALTIME);
		rev = put ? etcd_put(e, rs.keys[j], "{\"weight\":1}") : etcd_del(e, rs.keys[j]);
		if (rev < 0)
			goto out;
		rs.present[j] = put;
		rs.present_n += put ? 1 : -1;
		printf("%lld %lld %s %s\n", rev, sent, put ? "put" : "del", rs.keys[j]);
	}
	if (o->changes > 1) {
		/* the rate between the first change and the last one sent */
		double secs = (double)(last - start) / NSEC_PER_SEC;

		fprintf(
		    stderr,
		    "bench-registry-load: %ld changes, the last %.3f s after the first (%.1f/s, "
		    "asked %.1f/s), at most %.1f ms behind schedule, slowest request %.1f ms, "
		    "%ld of %ld replicas left\n",
		    o->changes, secs, (double)(o->changes - 1) / secs, o->rate, behind_ns / 1e6,
		    e->slowest_ns / 1e6, rs.present_n, rs.n);
	}
	rc = 0;
out:
	free(rs.keys);
	free(rs.present);
	return rc;
}

static int run_many(struct etcd *e, const struct opts *o)
{
	char key[KEY_MAX], vip[ADDR_TEXT_MAX], addr[ADDR_TEXT_MAX];
	const char *name = o->service ? o->service : DEFAULT_MANY_PREFIX;
	const char *base = o->base ? o->base : DEFAULT_MANY_BASE;
	long long start = clock_ns(CLOCK_MONOTONIC), rev = 0;
	long keys = 0;
	double secs;

	if (addr_nth(base, (unsigned long)o->many * o->per_service, o->port, addr))
		usage("bad --base (accepted: an IPv4 or IPv6 address, with room for S*K more)");
	for (long s = 0; s < o->many; s++) {
		snprintf(key, sizeof(key), "%sservices/%s-%04ld", o->prefix, name, s);
		snprintf(vip, sizeof(vip), "198.19.%ld.%ld:%ld", s / 250, s % 250 + 1, o->vip_port);
		if ((rev = put_service(e, key, vip)) < 0)
			return 1;
		keys++;
		for (long j = 0; j < o->per_service; j++) {
			addr_nth(base, (unsigned long)(s * o->per_service + j), o->port, addr);
			snprintf(key, sizeof(key), "%sreplicas/%s-%04ld/%s", o->prefix, name, s,
				 addr);
			if ((rev = etcd_put(e, key, "{\"weight\":1}")) < 0)
				return 1;
			keys++;
		}
	}
	print_setup(rev, keys);
	secs = (double)(clock_ns(CLOCK_MONOTONIC) - start) / NSEC_PER_SEC;
	fprintf(stderr,
		"bench-registry-load: put %ld keys (%ld services x %ld replicas) in %.3f s "
		"(%.0f puts/s), slowest %.1f ms\n",
		keys, o->many, o->per_service, secs, keys / secs, e->slowest_ns / 1e6);
	return 0;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_ENDPOINT = 256,
		O_PREFIX,
		O_SERVICE,
		O_REPLICAS,
		O_BASE,
		O_PORT,
		O_CHANGES,
		O_RATE,
		O_SEED,
		O_SETUP,
		O_VIP,
		O_VIP_PORT,
		O_MANY,
		O_PER_SERVICE,
		O_HELP,
	};
	static const struct option longopts[] = {
	    {"endpoint", required_argument, NULL, O_ENDPOINT},
	    {"prefix", required_argument, NULL, O_PREFIX},
	    {"service", required_argument, NULL, O_SERVICE},
	    {"replicas", required_argument, NULL, O_REPLICAS},
	    {"base", required_argument, NULL, O_BASE},
	    {"port", required_argument, NULL, O_PORT},
	    {"changes", required_argument, NULL, O_CHANGES},
	    {"rate", required_argument, NULL, O_RATE},
	    {"seed", required_argument, NULL, O_SEED},
	    {"setup", no_argument, NULL, O_SETUP},
	    {"vip", required_argument, NULL, O_VIP},
	    {"vip-port", required_argument, NULL, O_VIP_PORT},
	    {"many-services", required_argument, NULL, O_MANY},
	    {"replicas-per-service", required_argument, NULL, O_PER_SERVICE},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	*o = (struct opts){.prefix = "/steer/",
			   .port = DEFAULT_PORT,
			   .vip_port = DEFAULT_VIP_PORT,
			   .seed = 1,
			   .changes = -1,
			   .rate = -1};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_ENDPOINT:
			o->endpoint = optarg;
			break;
		case O_PREFIX:
			o->prefix = optarg;
			break;
		case O_SERVICE:
			o->service = optarg;
			break;
		case O_REPLICAS:
			o->replicas = parse_long("--replicas", optarg, 1, REPLICAS_MAX);
			break;
		case O_BASE:
			o->base = optarg;
			break;
		case O_PORT:
			o->port = parse_long("--port", optarg, 1, 65535);
			break;
		case O_CHANGES:
			o->changes = parse_long("--changes", optarg, 0, CHANGES_MAX);
			break;
		case O_RATE:
			errno = 0;
			o->rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->rate > 0 && o->rate <= RATE_MAX))
				usage("bad --rate (accepted: changes per second, > 0 and <= "
				      "1000000)");
			break;
		case O_SEED:
			o->seed = parse_long("--seed", optarg, 0, 0x7fffffffL);
			break;
		case O_SETUP:
			o->setup = true;
			break;
		case O_VIP:
			o->vip = optarg;
			break;
		case O_VIP_PORT:
			o->vip_port = parse_long("--vip-port", optarg, 1, 65535);
			break;
		case O_MANY:
			o->many = parse_long("--many-services", optarg, 1, SERVICES_MAX);
			break;
		case O_PER_SERVICE:
			o->per_service =
			    parse_long("--replicas-per-service", optarg, 1, PER_SERVICE_MAX);
			break;
		case O_HELP:
			fputs(usage_text, stdout);
			exit(0);
		default:
			usage("unknown option");
		}
	}
	if (optind < argc)
		usage("unexpected argument");
	if (!o->endpoint)
		usage("--endpoint HOST:PORT is required");
	if (o->prefix[0] == '\0' || strlen(o->prefix) > KEY_MAX / 2)
		usage("bad --prefix (accepted: 1..256 bytes, as the agent's, e.g. /steer/)");
	if (o->service && (o->service[0] == '\0' || strlen(o->service) > 63 ||
			   o->service[strcspn(o->service, "/")]))
		usage("bad --service (accepted: 1..63 bytes, no '/')");
	if (o->many) {
		if (!o->per_service)
			usage("--many-services needs --replicas-per-service K");
		return;
	}
	if (!o->service || !o->replicas || !o->base || o->changes < 0 || o->rate < 0)
		usage("--service, --replicas, --base, --changes and --rate are required");
	if (o->setup && !o->vip)
		usage("--setup needs --vip VIP:PORT");
	if (o->vip && strlen(o->vip) >= ADDR_TEXT_MAX)
		usage("bad --vip (accepted: ADDR:PORT or [ADDR]:PORT)");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct etcd e;
	int rc;

	parse_opts(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0); /* a test reads the lines as they come */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench-registry-load: cannot set up libcurl\n");
		return 1;
	}
	if (etcd_open(&e, o.endpoint)) {
		etcd_close(&e);
		return 1;
	}
	rc = o.many ? run_many(&e, &o) : run_changes(&e, &o);
	etcd_close(&e);
	curl_global_cleanup();
	return rc;
}
