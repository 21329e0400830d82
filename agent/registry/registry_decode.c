#include "registry/registry_decode.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"

#define SERVICES   "services/"
#define REPLICAS   "replicas/"
#define MEMBER_MAX 40 /* longer than any key of a [service] section */

static bool starts_with(const char *s, size_t len, const char *p)
{
	return len >= strlen(p) && !memcmp(s, p, strlen(p));
}

/* Visible ASCII and spaces: nothing that could end the config line it goes
 * into (a newline would let a writer add keys of its choosing), nor start
 * a comment inside it. */
static bool text_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ';' || s[i] == '#')
			return false;
	return true;
}

enum registry_key_kind registry_key_parse(const char *prefix, const char *key, size_t keylen,
					  char name[REGISTRY_NAME_MAX],
					  char addr[REGISTRY_ADDR_MAX], char *msg, size_t msglen)
{
	size_t plen = strlen(prefix), nlen;
	const char *rest = key + plen, *slash;
	size_t rlen;
	bool replica;

	if (keylen < plen || memcmp(key, prefix, plen))
		return REGISTRY_KEY_OTHER;
	rlen = keylen - plen;
	replica = starts_with(rest, rlen, REPLICAS);
	if (!replica && !starts_with(rest, rlen, SERVICES))
		return REGISTRY_KEY_OTHER;
	rest += strlen(SERVICES); /* as long as REPLICAS */
	rlen -= strlen(SERVICES);
	slash = memchr(rest, '/', rlen);
	nlen = replica ? (slash ? (size_t)(slash - rest) : rlen) : rlen;
	if (!svc_name_valid(rest, nlen) || nlen >= REGISTRY_NAME_MAX ||
	    (replica ? !slash : slash != NULL)) {
		snprintf(msg, msglen,
			 "key '%.*s': expected %sservices/NAME or %sreplicas/NAME/ADDR:PORT "
			 "with a valid service name",
			 (int)keylen, key, prefix, prefix);
		return REGISTRY_KEY_BAD;
	}
	memcpy(name, rest, nlen);
	name[nlen] = '\0';
	if (!replica)
		return REGISTRY_KEY_SERVICE;
	rest = slash + 1;
	rlen -= nlen + 1;
	if (!rlen || rlen >= REGISTRY_ADDR_MAX || !text_ok(rest, rlen) || memchr(rest, ' ', rlen)) {
		snprintf(msg, msglen, "key '%.*s': the replica must be ADDR:PORT", (int)keylen,
			 key);
		return REGISTRY_KEY_BAD;
	}
	memcpy(addr, rest, rlen);
	addr[rlen] = '\0';
	return REGISTRY_KEY_REPLICA;
}

/* A member's value as config text: a string as it is, a number in decimal. */
static int value_text(const char *member, const json_t *v, char *out, size_t outlen, char *msg,
		      size_t msglen)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		if (!len || !text_ok(s, len)) {
			snprintf(msg, msglen,
				 "\"%s\": \"%.*s\": a value must be visible ASCII characters and "
				 "spaces, without ';' or '#'",
				 member, (int)(len > 80 ? 80 : len), s);
			return -1;
		}
		snprintf(out, outlen, "%s", s);
	} else if (json_is_integer(v)) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		snprintf(out, outlen, "%.17g", json_real_value(v));
	} else {
		snprintf(msg, msglen, "\"%s\": expected a string or a number", member);
		return -1;
	}
	return 0;
}

static json_t *load_object(const char *json, size_t len, char *msg, size_t msglen)
{
	json_error_t e;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);

	if (!root) {
		snprintf(msg, msglen, "not JSON: %s (at byte %d)", e.text, e.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(msg, msglen, "expected a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Append to out at *at; -1 with msg when it does not fit. */
static int append(char *out, size_t outlen, size_t *at, char *msg, size_t msglen, const char *fmt,
		  const char *a, const char *b)
{
	int n = snprintf(out + *at, outlen - *at, fmt, a, b);

	if (n < 0 || (size_t)n >= outlen - *at) {
		snprintf(msg, msglen, "too long (more than %zu bytes of config)", outlen);
		return -1;
	}
	*at += (size_t)n;
	return 0;
}

int registry_service_text(const char *name, const char *json, size_t len, char *out, size_t outlen,
			  char *msg, size_t msglen)
{
	json_t *root = load_object(json, len, msg, msglen), *v;
	const char *member;
	size_t at = 0;
	int ret = -1;

	if (!root)
		return -1;
	if (append(out, outlen, &at, msg, msglen, "[service %s]%s\n", name, ""))
		goto out;
	json_object_foreach(root, member, v)
	{
		char text[512];

		if (!*member || strlen(member) > MEMBER_MAX ||
		    strspn(member, "abcdefghijklmnopqrstuvwxyz_") != strlen(member)) {
			snprintf(msg, msglen, "\"%.*s\": not a key of a [service] section",
				 MEMBER_MAX, member);
			goto out;
		}
		if (!strcmp(member, "replica")) {
			snprintf(
			    msg, msglen,
			    "\"replica\": replicas are keys of their own (replicas/%s/ADDR:PORT)",
			    name);
			goto out;
		}
		if (value_text(member, v, text, sizeof(text), msg, msglen) ||
		    append(out, outlen, &at, msg, msglen, "%s = %s\n", member, text))
			goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int registry_replica_text(const char *addr, const char *json, size_t len, char *out, size_t outlen,
			  char *msg, size_t msglen)
{
	static const char *const options[] = {"weight", "max_conns", "zone"};
	json_t *root = load_object(json, len, msg, msglen), *v;
	const char *member;
	size_t at = 0;
	int ret = -1;

	if (!root)
		return -1;
	if (append(out, outlen, &at, msg, msglen, "replica = %s%s", addr, ""))
		goto out;
	json_object_foreach(root, member, v)
	{
		bool known = false;
		char text[128];

		for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
			known = known || !strcmp(member, options[i]);
		if (!known) {
			snprintf(msg, msglen,
				 "\"%.*s\": not a replica option (weight, max_conns, zone)",
				 MEMBER_MAX, member);
			goto out;
		}
		if (value_text(member, v, text, sizeof(text), msg, msglen))
			goto out;
		if (strchr(text, ' ')) {
			snprintf(msg, msglen, "\"%s\": \"%s\": no blanks in a replica option",
				 member, text);
			goto out;
		}
		if (append(out, outlen, &at, msg, msglen, " %s=%s", member, text))
			goto out;
	}
	ret = append(out, outlen, &at, msg, msglen, "\n%s%s", "", "");
out:
	json_decref(root);
	return ret;
}
