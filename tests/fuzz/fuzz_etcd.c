/* libFuzzer target: the etcd gateway's replies (etcd_json.c), as a member,
 * or anything that answers on its address, could send them. Every parser
 * must refuse or accept without harm, and a pair it hands over must be
 * readable to its stated lengths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/etcd_json.h"

static volatile size_t sink;

static int on_kv(void *arg, const struct etcd_kv *kv)
{
	(void)arg;
	for (size_t i = 0; i < kv->klen; i++)
		sink += (unsigned char)kv->key[i];
	for (size_t i = 0; i < kv->vlen; i++)
		sink += (unsigned char)kv->value[i];
	return 0;
}

static int on_event(void *arg, const struct etcd_watch_event *ev)
{
	return on_kv(arg, &ev->kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly sized, so ASan sees any read past the end. */
	char *body = malloc(size ? size : 1), msg[256];
	enum etcd_watch_kind kind;
	int64_t a, b;

	if (!body)
		return 0;
	memcpy(body, data, size);
	etcd_parse_range(body, size, on_kv, NULL, &a, msg, sizeof(msg));
	etcd_parse_watch(body, size, on_event, NULL, &kind, &a, &b, msg, sizeof(msg));
	etcd_parse_lease_grant(body, size, &a, &b, msg, sizeof(msg));
	etcd_parse_keepalive(body, size, &a, msg, sizeof(msg));
	etcd_parse_ok(body, size, msg, sizeof(msg));
	free(body);
	return 0;
}
