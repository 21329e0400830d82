#include "maps/keys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* An endpoint in map form: address and port in network order. The caller
 * zeroes the whole key or value first, so no padding byte is left over. */
static void endpoint_to_map(const struct endpoint *ep, __be32 addr[4], __be16 *port, __u8 *family)
{
	memcpy(addr, ep->addr, 4 * sizeof(addr[0]));
	*port = htons(ep->port);
	*family = ep->family;
}

static void endpoint_from_map(const __be32 addr[4], __be16 port, __u8 family, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	memcpy(ep->addr, addr, sizeof(ep->addr));
	ep->port = ntohs(port);
	ep->family = family;
}

void svc_key_encode(const struct endpoint *vip, uint8_t proto, struct steer_svc_key *key)
{
	memset(key, 0, sizeof(*key));
	endpoint_to_map(vip, key->addr, &key->port, &key->family);
	key->proto = proto;
}

void svc_key_decode(const struct steer_svc_key *key, struct endpoint *vip, uint8_t *proto)
{
	endpoint_from_map(key->addr, key->port, key->family, vip);
	*proto = key->proto;
}

void replica_encode(const struct endpoint *ep, uint32_t svc_id, uint8_t state,
		    struct steer_replica *r)
{
	memset(r, 0, sizeof(*r));
	endpoint_to_map(ep, r->addr, &r->port, &r->family);
	r->state = state;
	r->svc_id = svc_id;
}

void replica_decode(const struct steer_replica *r, struct endpoint *ep)
{
	endpoint_from_map(r->addr, r->port, r->family, ep);
}

void backend_key_encode(const struct endpoint *ep, uint8_t proto, struct steer_backend_key *key)
{
	memset(key, 0, sizeof(*key));
	endpoint_to_map(ep, key->addr, &key->port, &key->family);
	key->proto = proto;
}

void backend_key_decode(const struct steer_backend_key *key, struct endpoint *ep)
{
	endpoint_from_map(key->addr, key->port, key->family, ep);
}

bool replica_matches(const struct steer_replica *r, const struct endpoint *ep)
{
	struct endpoint have;

	replica_decode(r, &have);
	return endpoint_equal(&have, ep);
}

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		return "other";
	}
}
