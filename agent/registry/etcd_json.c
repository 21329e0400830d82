/*
 * etcd v3's JSON gateway (etcd_json.h): bodies built with jansson, keys and
 * values base64-encoded with libcrypto, replies read without I/O.
 *
 * What the gateway (grpc-gateway with EmitDefaults off) writes, as recorded
 * from etcd 3.4 in tests/unit/test_etcd_json.c:
 *   - int64 fields as JSON strings ("revision":"12"), and any field whose
 *     value is zero (or false, or empty) left out: no "kvs" in an empty
 *     range, no "value" for an empty value, no "TTL" in the keepalive reply
 *     of a lease that is gone, no "revision" in the header of a compaction
 *     cancel;
 *   - unary errors as {"error":"etcdserver: ...","message":"...","code":5},
 *     the watch stream's as {"error":{"grpc_code":14,"http_code":503,
 *     "message":"transport is closing","http_status":"..."}};
 *   - stream replies (watch, keepalive) each wrapped in {"result": {...}}.
 *
 * A reply is checked whole before the first callback: fn sees every pair of
 * a range or none, so a caller never reconciles half a listing.
 */
#include "registry/etcd_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define I64_STRLEN   24 /* "-9223372036854775808" and a NUL */
#define SNIPPET	     40 /* bytes of a bad reply quoted in msg */

/* --- base64 --- */

static char *b64_encode(const char *s, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

/* Standard base64 with its padding, as Go's encoding/json writes []byte:
 * a multiple of 4 characters of the alphabet, at most two '=' and only at
 * the end. EVP_DecodeBlock alone would take '=' anywhere and skip blanks. */
static bool b64_valid(const char *s, size_t n, size_t *pad)
{
	size_t body;

	if (n % 4)
		return false;
	*pad = 0;
	while (*pad < 2 && *pad < n && s[n - 1 - *pad] == '=')
		(*pad)++;
	body = n - *pad;
	for (size_t i = 0; i < body; i++)
		if (!s[i] || !strchr(B64_ALPHABET, s[i]))
			return false;
	return true;
}

/* The bytes of s (n characters, checked by b64_valid) in a malloc'd buffer
 * with a NUL after them. */
static char *b64_decode(const char *s, size_t n, size_t pad, size_t *len)
{
	char *out = malloc(n / 4 * 3 + 1);
	int got;

	if (!out)
		return NULL;
	got = n ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return NULL;
	}
	*len = (size_t)got - pad; /* DecodeBlock counts the padding as zero bytes */
	out[*len] = '\0';
	return out;
}

/* --- bodies --- */

static char *dump(json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return text;
}

static void i64_text(int64_t v, char buf[I64_STRLEN])
{
	snprintf(buf, I64_STRLEN, "%" PRId64, v);
}

/* The end of the range of keys that start with prefix: drop trailing 0xff
 * bytes and increment the last one left; nothing left (an empty or all-0xff
 * prefix) is "\0", which etcd reads as "no end". Returns its length. */
static size_t prefix_end(const char *prefix, size_t plen, char *end)
{
	while (plen && (unsigned char)prefix[plen - 1] == 0xff)
		plen--;
	if (!plen) {
		end[0] = '\0';
		return 1;
	}
	memcpy(end, prefix, plen);
	end[plen - 1] = (char)((unsigned char)end[plen - 1] + 1);
	return plen;
}

/* {"key": K, "range_end": E} of every key under prefix, in obj. An empty
 * prefix is the key "\0" (etcd refuses an empty key): every key. */
static int set_prefix(json_t *obj, const char *prefix, size_t plen)
{
	char *end = malloc(plen + 1), *k64 = NULL, *e64 = NULL;
	size_t elen;
	int err = -1;

	if (!end)
		return -1;
	elen = prefix_end(prefix, plen, end);
	k64 = plen ? b64_encode(prefix, plen) : b64_encode("", 1);
	e64 = b64_encode(end, elen);
	if (k64 && e64 && !json_object_set_new(obj, "key", json_string(k64)) &&
	    !json_object_set_new(obj, "range_end", json_string(e64)))
		err = 0;
	free(end);
	free(k64);
	free(e64);
	return err;
}

char *etcd_body_range_prefix(const char *prefix, size_t plen)
{
	json_t *root = json_object();

	if (root && set_prefix(root, prefix, plen)) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

/* progress_notify: etcd then sends a PROGRESS now and then (every 10 min
 * by default) on a quiet watch, so the revision a re-watch starts from
 * stays recent. etcd 3.4 sends those only to watchers that have caught up. */
char *etcd_body_watch_prefix(const char *prefix, size_t plen, int64_t start_rev)
{
	json_t *root = json_object(), *create = json_object();
	char rev[I64_STRLEN];

	i64_text(start_rev, rev);
	if (!root || !create || set_prefix(create, prefix, plen) ||
	    (start_rev > 0 && json_object_set_new(create, "start_revision", json_string(rev))) ||
	    json_object_set_new(create, "progress_notify", json_true()) ||
	    json_object_set(root, "create_request", create)) {
		json_decref(create);
		json_decref(root);
		return NULL;
	}
	json_decref(create);
	return dump(root);
}

char *etcd_body_put(const char *key, size_t klen, const char *value, size_t vlen, int64_t lease)
{
	char *k64 = b64_encode(key, klen), *v64 = b64_encode(value, vlen);
	char id[I64_STRLEN];
	json_t *root = NULL;

	i64_text(lease, id);
	if (k64 && v64)
		root = lease ? json_pack("{s:s, s:s, s:s}", "key", k64, "value", v64, "lease", id)
			     : json_pack("{s:s, s:s}", "key", k64, "value", v64);
	free(k64);
	free(v64);
	return dump(root);
}

char *etcd_body_lease_grant(int64_t ttl_s)
{
	char ttl[I64_STRLEN];

	i64_text(ttl_s, ttl);
	return dump(json_pack("{s:s}", "TTL", ttl));
}

char *etcd_body_lease_id(int64_t id)
{
	char text[I64_STRLEN];

	i64_text(id, text);
	return dump(json_pack("{s:s}", "ID", text));
}

/* --- replies --- */

/* etcd's error in root, if it is one, into msg. */
static bool reply_error(const json_t *root, char *msg, size_t msglen)
{
	const json_t *e = json_object_get(root, "error");
	const char *text = NULL;

	if (!e)
		return false;
	if (json_is_string(e)) {
		/* unary: "error" and "message" say the same; prefer "message" */
		text = json_string_value(json_object_get(root, "message"));
		if (!text || !*text)
			text = json_string_value(e);
	} else if (json_is_object(e)) {
		/* a stream's: {"grpc_code", "http_code", "message", "http_status"} */
		text = json_string_value(json_object_get(e, "message"));
	}
	snprintf(msg, msglen, "%s", text && *text ? text : "etcd error without a message");
	return true;
}

/* The JSON object of a reply, or NULL with msg set (not JSON, an error). */
static json_t *reply_load(const char *body, size_t len, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);

	if (!root) {
		snprintf(msg, msglen, "etcd reply is not JSON (%s at byte %d): '%.*s'", jerr.text,
			 jerr.position, (int)(len < SNIPPET ? len : SNIPPET), body);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(msg, msglen, "etcd reply is not a JSON object: '%.*s'",
			 (int)(len < SNIPPET ? len : SNIPPET), body);
	} else if (!reply_error(root, msg, msglen)) {
		return root;
	}
	json_decref(root);
	return NULL;
}

/* A stream's message, or a keepalive reply: {"result": {...}}. */
static const json_t *reply_result(const json_t *root, char *msg, size_t msglen)
{
	const json_t *res = json_object_get(root, "result");

	if (!json_is_object(res)) {
		snprintf(msg, msglen, "etcd reply has no \"result\" object");
		return NULL;
	}
	return res;
}

/* An int64 member: a JSON string of decimal digits (the gateway's form) or
 * a JSON integer; absent or null is 0 (the gateway leaves zeros out). */
static int get_i64(const json_t *obj, const char *name, int64_t *out, const char *where, char *msg,
		   size_t msglen)
{
	const json_t *v = json_object_get(obj, name);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		const char *digits = s + (*s == '-');
		char *end;
		long long n;

		errno = 0;
		n = strtoll(s, &end, 10);
		if (*digits >= '0' && *digits <= '9' && !*end && !errno &&
		    (size_t)(end - s) == json_string_length(v)) {
			*out = n;
			return 0;
		}
	}
	snprintf(msg, msglen, "etcd reply's %s%s is not a 64-bit integer", where, name);
	return -1;
}

static int get_revision(const json_t *root, int64_t *revision, char *msg, size_t msglen)
{
	return get_i64(json_object_get(root, "header"), "revision", revision, "header.", msg,
		       msglen);
}

/* A base64 member (absent: empty, unless required): checked, and decoded
 * into a malloc'd buffer when out is not NULL. */
static int get_bytes(const json_t *obj, const char *name, bool required, char **out, size_t *len,
		     const char *where, size_t i, char *msg, size_t msglen)
{
	const json_t *v = json_object_get(obj, name);
	const char *s = "";
	size_t n = 0, pad = 0;

	if (v || required) {
		if (!json_is_string(v) ||
		    !b64_valid(json_string_value(v), json_string_length(v), &pad) ||
		    (required && !json_string_length(v))) {
			snprintf(msg, msglen, "etcd reply's %s[%zu].%s is not %sbase64", where, i,
				 name, required ? "non-empty " : "");
			return -1;
		}
		s = json_string_value(v);
		n = json_string_length(v);
	}
	if (out && !(*out = b64_decode(s, n, pad, len))) {
		snprintf(msg, msglen, "out of memory decoding %s[%zu].%s", where, i, name);
		return -1;
	}
	return 0;
}

/* One mvccpb.KeyValue: checked only (kv NULL), or decoded into kv (its
 * key and value then malloc'd: kv_free()). */
static int kv_read(const json_t *obj, struct etcd_kv *kv, const char *where, size_t i, char *msg,
		   size_t msglen)
{
	char *key = NULL, *value = NULL;
	int64_t mod;

	if (!json_is_object(obj)) {
		snprintf(msg, msglen, "etcd reply's %s[%zu] is not an object", where, i);
		return -1;
	}
	if (get_i64(obj, "mod_revision", &mod, "kv.", msg, msglen) ||
	    get_bytes(obj, "key", true, kv ? &key : NULL, kv ? &kv->klen : NULL, where, i, msg,
		      msglen))
		return -1;
	if (get_bytes(obj, "value", false, kv ? &value : NULL, kv ? &kv->vlen : NULL, where, i, msg,
		      msglen)) {
		free(key);
		return -1;
	}
	if (kv) {
		kv->key = key;
		kv->value = value;
		kv->mod_revision = mod;
	}
	return 0;
}

static void kv_free(struct etcd_kv *kv)
{
	free((char *)kv->key);
	free((char *)kv->value);
}

int etcd_parse_range(const char *body, size_t len, etcd_kv_fn fn, void *arg, int64_t *revision,
		     char *msg, size_t msglen)
{
	json_t *root = reply_load(body, len, msg, msglen);
	const json_t *kvs;
	size_t i;
	int ret = -1;

	*revision = 0;
	if (!root)
		return -1;
	kvs = json_object_get(root, "kvs");
	if (!json_is_object(json_object_get(root, "header"))) {
		snprintf(msg, msglen, "etcd reply has no \"header\" object");
		goto out;
	}
	if (kvs && !json_is_array(kvs)) {
		snprintf(msg, msglen, "etcd reply's kvs is not an array");
		goto out;
	}
	if (get_revision(root, revision, msg, msglen))
		goto out;
	for (i = 0; i < json_array_size(kvs); i++)
		if (kv_read(json_array_get(kvs, i), NULL, "kvs", i, msg, msglen))
			goto out;
	ret = 0;
	for (i = 0; !ret && i < json_array_size(kvs); i++) {
		struct etcd_kv kv;

		if (kv_read(json_array_get(kvs, i), &kv, "kvs", i, msg, msglen)) {
			ret = -1;
			break;
		}
		ret = fn(arg, &kv);
		kv_free(&kv);
	}
out:
	json_decref(root);
	return ret;
}

/* One mvccpb.Event: its type ("PUT" left out, or "DELETE") and its kv. */
static int event_read(const json_t *obj, struct etcd_watch_event *ev, size_t i, char *msg,
		      size_t msglen)
{
	const json_t *type = json_is_object(obj) ? json_object_get(obj, "type") : NULL;
	const char *t = type ? json_string_value(type) : "PUT";
	bool is_delete = t && !strcmp(t, "DELETE");

	if (!json_is_object(obj) || !t || (!is_delete && strcmp(t, "PUT"))) {
		snprintf(msg, msglen, "etcd reply's events[%zu] is not a PUT or DELETE event", i);
		return -1;
	}
	if (kv_read(json_object_get(obj, "kv"), ev ? &ev->kv : NULL, "events", i, msg, msglen))
		return -1;
	if (ev)
		ev->is_delete = is_delete;
	return 0;
}

int etcd_parse_watch(const char *body, size_t len, etcd_event_fn fn, void *arg,
		     enum etcd_watch_kind *kind, int64_t *revision, int64_t *compact_revision,
		     char *msg, size_t msglen)
{
	json_t *root = reply_load(body, len, msg, msglen);
	const json_t *res, *events;
	size_t i;
	int ret = -1;

	*kind = ETCD_WATCH_PROGRESS;
	*revision = 0;
	*compact_revision = 0;
	if (!root)
		return -1;
	res = reply_result(root, msg, msglen);
	if (!res || get_revision(res, revision, msg, msglen) ||
	    get_i64(res, "compact_revision", compact_revision, "", msg, msglen))
		goto out;
	events = json_object_get(res, "events");
	if (events && !json_is_array(events)) {
		snprintf(msg, msglen, "etcd reply's events is not an array");
		goto out;
	}
	/* Canceled first: etcd refuses a create with created and canceled
	 * both set (a duplicate watch id). */
	if (json_is_true(json_object_get(res, "canceled"))) {
		const char *why = json_string_value(json_object_get(res, "cancel_reason"));

		if (*compact_revision > 0) {
			*kind = ETCD_WATCH_COMPACTED;
			snprintf(msg, msglen, "etcd compacted the store up to revision %" PRId64,
				 *compact_revision);
		} else {
			*kind = ETCD_WATCH_CANCELED;
			snprintf(msg, msglen, "etcd canceled the watch: %s",
				 why && *why ? why : "no reason given");
		}
		ret = 0;
		goto out;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		*kind = ETCD_WATCH_CREATED;
		ret = 0;
		goto out;
	}
	for (i = 0; i < json_array_size(events); i++)
		if (event_read(json_array_get(events, i), NULL, i, msg, msglen))
			goto out;
	if (json_array_size(events))
		*kind = ETCD_WATCH_EVENTS;
	ret = 0;
	for (i = 0; !ret && i < json_array_size(events); i++) {
		struct etcd_watch_event ev;

		if (event_read(json_array_get(events, i), &ev, i, msg, msglen)) {
			ret = -1;
			break;
		}
		ret = fn(arg, &ev);
		kv_free(&ev.kv);
	}
out:
	json_decref(root);
	return ret;
}

int etcd_parse_lease_grant(const char *body, size_t len, int64_t *id, int64_t *ttl_s, char *msg,
			   size_t msglen)
{
	json_t *root = reply_load(body, len, msg, msglen);
	int ret = -1;

	*id = 0;
	*ttl_s = 0;
	if (!root)
		return -1;
	if (get_i64(root, "ID", id, "", msg, msglen) ||
	    get_i64(root, "TTL", ttl_s, "", msg, msglen))
		goto out;
	if (*id <= 0 || *ttl_s <= 0) {
		snprintf(msg, msglen, "etcd granted no lease (ID %" PRId64 ", TTL %" PRId64 ")",
			 *id, *ttl_s);
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int etcd_parse_keepalive(const char *body, size_t len, int64_t *ttl_s, char *msg, size_t msglen)
{
	json_t *root = reply_load(body, len, msg, msglen);
	const json_t *res;
	int ret = -1;

	*ttl_s = 0;
	if (!root)
		return -1;
	res = reply_result(root, msg, msglen);
	if (res && !get_i64(res, "TTL", ttl_s, "result.", msg, msglen))
		ret = 0;
	if (!ret && *ttl_s < 0)
		*ttl_s = 0;
	json_decref(root);
	return ret;
}

int etcd_parse_ok(const char *body, size_t len, char *msg, size_t msglen)
{
	json_t *root = reply_load(body, len, msg, msglen);
	int ret = -1;

	if (!root)
		return -1;
	if (json_is_object(json_object_get(root, "header")))
		ret = 0;
	else
		snprintf(msg, msglen, "etcd reply has no \"header\" object");
	json_decref(root);
	return ret;
}
