/*
 * etcd's JSON gateway over libcurl's multi interface on a libev loop
 * (etcd_client.h).
 *
 * curl tells us which sockets to watch (sock_cb -> one ev_io each) and when
 * to call it back (timer_cb -> one ev_timer); on either event kick() runs
 * curl_multi_socket_action(). curl's own callbacks (write_cb) only buffer:
 * every callback of ours (on_line, done) runs in deliver(), after
 * curl_multi_socket_action() has returned, because curl refuses to be
 * called back into (add, remove a handle) from inside its callbacks. A
 * callback may so start requests, cancel others, or free the client.
 *
 * A request being delivered is "busy": cancelling it then only marks it,
 * and deliver() frees it when its callback returns.
 */
#include "registry/etcd_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#define CONNECT_TIMEOUT_MS 1000 /* at most; less when the request timeout is */
#define KEEPALIVE_IDLE_S   2	/* a quiet stream's first keepalive probe */
#define KEEPALIVE_INTVL_S  2
#define KEEPALIVE_CNT	   3 /* unanswered probes: a vanished member is seen in ~8 s */
#define BUF_MIN		   4096

struct sock {
	ev_io io;
	struct etcd_client *c;
	struct sock *next;
};

struct etcd_request {
	struct etcd_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char member[ETCD_MEMBER_MAX];
	char errbuf[CURL_ERROR_SIZE];
	etcd_line_fn on_line; /* NULL: a unary request */
	etcd_done_fn done;
	void *arg;
	char *buf; /* the reply, or a stream's lines not yet delivered */
	size_t len, cap;
	size_t lines_end;  /* a stream: buf[0, lines_end) holds whole lines */
	long http;	   /* a stream's status, once its first bytes came */
	enum etcd_err err; /* set by write_cb: TOO_BIG or NOMEM */
	bool busy;	   /* its callback is running */
	bool canceled;	   /* while busy: free it, call nothing more */
	bool queued;	   /* on c->lineq */
	struct etcd_request *prev, *next, *lineq_next;
};

struct etcd_client {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	char members[ETCD_MEMBERS_MAX][ETCD_MEMBER_MAX];
	int nmembers, cur;
	uint32_t timeout_ms;
	struct etcd_request *reqs;  /* in flight */
	struct etcd_request *lineq; /* streams with whole lines to deliver */
	struct sock *socks;
	char *ca_file, *cert_file, *key_file; /* NULL: plain http / no client cert */
	int depth;			      /* inside kick() */
	bool dying;			      /* etcd_client_free() called from a callback */
};

/* --- curl's callbacks --- */

static void kick(struct etcd_client *c, curl_socket_t fd, int action);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *k = w->data;

	(void)loop;
	kick(k->c, w->fd,
	     (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		 (revents & EV_WRITE ? CURL_CSELECT_OUT : 0));
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	kick(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_free(struct etcd_client *c, struct sock *k)
{
	struct sock **pp = &c->socks;

	ev_io_stop(c->loop, &k->io);
	while (*pp != k)
		pp = &(*pp)->next;
	*pp = k->next;
	free(k);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl waits for. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct etcd_client *c = userp;
	struct sock *k = socketp;
	int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (k)
			sock_free(c, k);
		return 0;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -1;
		k->c = c;
		ev_init(&k->io, io_cb);
		k->io.data = k;
		k->next = c->socks;
		c->socks = k;
		curl_multi_assign(c->multi, s, k);
	}
	ev_io_stop(c->loop, &k->io);
	ev_io_set(&k->io, s, events);
	ev_io_start(c->loop, &k->io);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: call curl back in ms (-1: never). */
static int timer_fn(CURLM *multi, long ms, void *userp)
{
	struct etcd_client *c = userp;

	(void)multi;
	ev_timer_stop(c->loop, &c->timer);
	if (ms >= 0) {
		ev_timer_set(&c->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->timer);
	}
	return 0;
}

/* CURLOPT_SOCKOPTFUNCTION of streams: curl 7.88 sets idle and interval,
 * not the count. */
static int sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = KEEPALIVE_CNT;

	(void)clientp;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

static bool buf_append(struct etcd_request *r, const char *data, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : BUF_MIN;
		char *buf;

		while (cap < r->len + n + 1)
			cap *= 2;
		buf = realloc(r->buf, cap);
		if (!buf)
			return false;
		r->buf = buf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return true;
}

/* CURLOPT_WRITEFUNCTION: keep the bytes; a stream's whole lines are queued
 * for deliver(). Returning less than n makes curl end the transfer. */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct etcd_request *r = userp;
	size_t n = size * nmemb;
	const char *nl;

	if (r->on_line && !r->http)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->http);
	if (!r->on_line || r->http != 200) {
		if (r->len + n > ETCD_REPLY_MAX) {
			r->err = ETCD_ERR_TOO_BIG;
			return 0;
		}
	} else {
		nl = n ? memrchr(data, '\n', n) : NULL;
		if ((nl ? (size_t)(data + n - nl - 1) : r->len - r->lines_end + n) >
		    ETCD_LINE_MAX) {
			r->err = ETCD_ERR_TOO_BIG;
			return 0;
		}
		if (nl) {
			r->lines_end = r->len + (size_t)(nl - data) + 1;
			if (!r->queued) {
				r->queued = true;
				r->lineq_next = r->c->lineq;
				r->c->lineq = r;
			}
		}
	}
	if (!buf_append(r, data, n)) {
		r->err = ETCD_ERR_NOMEM;
		return 0;
	}
	return n;
}

/* --- requests --- */

static void request_free(struct etcd_request *r)
{
	struct etcd_client *c = r->c;

	if (r->queued) {
		struct etcd_request **pp = &c->lineq;

		while (*pp != r)
			pp = &(*pp)->lineq_next;
		*pp = r->lineq_next;
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->buf);
	free(r);
}

/* Hand a stream's whole lines to on_line, then keep what follows them.
 * Returns false when the request is gone (on_line ended it, or it was
 * canceled, or the client freed). */
static bool deliver_lines(struct etcd_request *r, size_t end)
{
	struct etcd_client *c = r->c;
	size_t pos = 0;
	bool stop = false;

	r->busy = true;
	while (pos < end && !stop && !r->canceled && !c->dying) {
		char *line = r->buf + pos, *nl = memchr(line, '\n', end - pos);
		size_t len = nl ? (size_t)(nl - line) : end - pos;

		pos += len + (nl != NULL);
		if (len && line[len - 1] == '\r')
			len--;
		if (!len)
			continue;
		line[len] = '\0'; /* the '\n' (or '\r', or the buffer's NUL) */
		stop = r->on_line(r->arg, line, len) != 0;
	}
	r->busy = false;
	if (stop || r->canceled || c->dying) {
		if (!c->dying)
			request_free(r);
		return false;
	}
	if (pos) {
		memmove(r->buf, r->buf + pos, r->len - pos);
		r->len -= pos;
		r->lines_end -= pos < r->lines_end ? pos : r->lines_end;
		r->buf[r->len] = '\0';
	}
	return true;
}

/* A transfer curl is done with: the callback it ends with, then free. */
static void finish(struct etcd_request *r, CURLcode res)
{
	struct etcd_client *c = r->c;
	enum etcd_err err = ETCD_OK;
	char msg[CURL_ERROR_SIZE + ETCD_MEMBER_MAX + 64];
	long http = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
	if (r->err) {
		err = r->err;
		if (err == ETCD_ERR_TOO_BIG)
			snprintf(msg, sizeof(msg), "%s: %s is longer than %u bytes", r->member,
				 r->on_line ? "a stream message" : "the reply",
				 r->on_line ? ETCD_LINE_MAX : ETCD_REPLY_MAX);
		else
			snprintf(msg, sizeof(msg), "%s: out of memory for the reply", r->member);
	} else if (res != CURLE_OK) {
		err = ETCD_ERR_TRANSPORT;
		snprintf(msg, sizeof(msg), "%s: %s", r->member,
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
	} else if (http != 200) {
		err = ETCD_ERR_HTTP;
		snprintf(msg, sizeof(msg), "%s: HTTP %ld", r->member, http);
	} else if (r->on_line) {
		/* The last message may end without a newline: etcd writes the
		 * stream's error ({"error": {...}}) so when it shuts down. */
		if (!deliver_lines(r, r->len))
			return;
		err = ETCD_ERR_CLOSED;
		snprintf(msg, sizeof(msg), "%s: the stream ended", r->member);
	} else {
		msg[0] = '\0';
	}
	r->busy = true;
	r->done(r->arg, err, http, r->buf ? r->buf : "", r->on_line && http == 200 ? 0 : r->len,
		msg);
	r->busy = false;
	if (!c->dying)
		request_free(r);
}

static void client_destroy(struct etcd_client *c);

/* Our callbacks, once curl has returned: whole lines of streams first (they
 * came before their stream's end), then the transfers curl is done with. */
static void deliver(struct etcd_client *c)
{
	struct etcd_request *r;
	CURLMsg *m;
	int left;

	while (!c->dying && (r = c->lineq)) {
		c->lineq = r->lineq_next;
		r->queued = false;
		deliver_lines(r, r->lines_end);
	}
	while (!c->dying && (m = curl_multi_info_read(c->multi, &left))) {
		CURLcode res = m->data.result;
		char *priv;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		r = (struct etcd_request *)priv;
		curl_multi_remove_handle(c->multi, r->easy);
		finish(r, res);
	}
}

static void kick(struct etcd_client *c, curl_socket_t fd, int action)
{
	int running;

	c->depth++;
	curl_multi_socket_action(c->multi, fd, action, &running);
	deliver(c);
	c->depth--;
	if (!c->depth && c->dying)
		client_destroy(c);
}

static struct etcd_request *start(struct etcd_client *c, const char *path, const char *body,
				  etcd_line_fn on_line, etcd_done_fn done, void *arg)
{
	struct etcd_request *r;
	char url[ETCD_MEMBER_MAX + 256];
	uint32_t connect_ms =
	    c->timeout_ms < CONNECT_TIMEOUT_MS ? c->timeout_ms : CONNECT_TIMEOUT_MS;
	bool ok;

	if (c->dying || strlen(path) >= 256)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = c;
	r->on_line = on_line;
	r->done = done;
	r->arg = arg;
	snprintf(r->member, sizeof(r->member), "%s", c->members[c->cur]);
	snprintf(url, sizeof(url), "%s://%s%s", c->ca_file ? "https" : "http", r->member, path);
	r->easy = curl_easy_init();
	r->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (r->headers) /* no "Expect: 100-continue" round trip for a long body */
		r->headers = curl_slist_append(r->headers, "Expect:");
	/* A member cut off from the others' quorum refuses the request, and
	 * ends a watch it serves, instead of answering from its stale copy
	 * (gRPC metadata "hasleader", through the gateway's header mapping). */
	if (r->headers)
		r->headers = curl_slist_append(r->headers, "Grpc-Metadata-hasleader: true");
	if (!r->easy || !r->headers) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r);
		return NULL;
	}
	ok = !curl_easy_setopt(r->easy, CURLOPT_URL, url) &&
	     !curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, c->ca_file ? "https" : "http") &&
	     !curl_easy_setopt(r->easy, CURLOPT_PROXY, "") && /* not $http_proxy */
	     !curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L) &&
	     !curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) &&
	     !curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body) &&
	     !curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb) &&
	     !curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) &&
	     !curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r) &&
	     !curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf) &&
	     !curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	/* The system's CA store is never used: only the operator's CA. */
	if (ok && c->ca_file)
		ok = !curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file) &&
		     !curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL) &&
		     !curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L) &&
		     !curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ok && c->cert_file)
		ok = !curl_easy_setopt(r->easy, CURLOPT_SSLCERT, c->cert_file) &&
		     !curl_easy_setopt(r->easy, CURLOPT_SSLKEY, c->key_file);
	if (ok && on_line)
		ok = !curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L) &&
		     !curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S) &&
		     !curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, (long)KEEPALIVE_INTVL_S) &&
		     !curl_easy_setopt(r->easy, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	else if (ok)
		ok = !curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	if (!ok || curl_multi_add_handle(c->multi, r->easy)) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r);
		return NULL;
	}
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	return r;
}

struct etcd_request *etcd_post(struct etcd_client *c, const char *path, const char *body,
			       etcd_done_fn done, void *arg)
{
	return start(c, path, body, NULL, done, arg);
}

struct etcd_request *etcd_stream(struct etcd_client *c, const char *path, const char *body,
				 etcd_line_fn on_line, etcd_done_fn done, void *arg)
{
	return start(c, path, body, on_line, done, arg);
}

void etcd_request_cancel(struct etcd_request *r)
{
	if (!r)
		return;
	if (r->busy)
		r->canceled = true;
	else
		request_free(r);
}

/* --- the client --- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_res;

static void curl_init(void)
{
	curl_init_res = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int etcd_client_set_tls(struct etcd_client *c, const struct etcd_tls *tls, char *err, size_t errlen)
{
	const char *ca = tls->ca_file, *cert = tls->cert_file, *key = tls->key_file;
	char *copies[3] = {NULL, NULL, NULL};
	const char *paths[3] = {ca, cert, key};

	if ((cert && *cert) != (key && *key) || ((cert && *cert) && !(ca && *ca))) {
		snprintf(err, errlen, "a client certificate needs its key and a CA file");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (paths[i] && *paths[i] && !(copies[i] = strdup(paths[i]))) {
			free(copies[0]);
			free(copies[1]);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	c->ca_file = copies[0];
	c->cert_file = copies[1];
	c->key_file = copies[2];
	return 0;
}

struct etcd_client *etcd_client_new(struct ev_loop *loop, const char *members, uint32_t timeout_ms,
				    char *err, size_t errlen)
{
	struct etcd_client *c;

	if (!timeout_ms) {
		snprintf(err, errlen, "etcd timeout 0 ms: expected at least 1 ms");
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_res) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(curl_init_res));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->nmembers = etcd_members_parse(members, c->members, ETCD_MEMBERS_MAX, err, errlen);
	if (c->nmembers < 0) {
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->timeout_ms = timeout_ms;
	ev_init(&c->timer, timer_cb);
	c->timer.data = c;
	c->multi = curl_multi_init();
	if (!c->multi || curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_fn) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c)) {
		snprintf(err, errlen, "libcurl: cannot set up a multi handle");
		if (c->multi)
			curl_multi_cleanup(c->multi);
		free(c);
		return NULL;
	}
	return c;
}

static void client_destroy(struct etcd_client *c)
{
	while (c->reqs)
		request_free(c->reqs);
	curl_multi_cleanup(c->multi); /* closes the cached connections */
	while (c->socks)
		sock_free(c, c->socks);
	ev_timer_stop(c->loop, &c->timer);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

void etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	if (c->depth) {
		c->dying = true; /* from a callback: kick() frees it on its way out */
		return;
	}
	client_destroy(c);
}

const char *etcd_client_member(const struct etcd_client *c)
{
	return c->members[c->cur];
}

void etcd_client_next_member(struct etcd_client *c)
{
	c->cur = (c->cur + 1) % c->nmembers;
}
