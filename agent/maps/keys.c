#include "maps/keys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

void svc_key_encode(const struct endpoint *vip, uint8_t proto, struct steer_svc_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, vip->addr, sizeof(key->addr));
	key->port = htons(vip->port);
	key->family = vip->family;
	key->proto = proto;
}

void svc_key_decode(const struct steer_svc_key *key, struct endpoint *vip, uint8_t *proto)
{
	memset(vip, 0, sizeof(*vip));
	memcpy(vip->addr, key->addr, sizeof(vip->addr));
	vip->port = ntohs(key->port);
	vip->family = key->family;
	*proto = key->proto;
}

void replica_encode(const struct endpoint *ep, uint32_t svc_id, uint8_t state,
		    struct steer_replica *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->addr, ep->addr, sizeof(r->addr));
	r->port = htons(ep->port);
	r->family = ep->family;
	r->state = state;
	r->svc_id = svc_id;
}

void backend_key_encode(const struct endpoint *ep, uint8_t proto, struct steer_backend_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, ep->addr, sizeof(key->addr));
	key->port = htons(ep->port);
	key->family = ep->family;
	key->proto = proto;
}

void backend_key_decode(const struct steer_backend_key *key, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	memcpy(ep->addr, key->addr, sizeof(ep->addr));
	ep->port = ntohs(key->port);
	ep->family = key->family;
}

void replica_decode(const struct steer_replica *r, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	memcpy(ep->addr, r->addr, sizeof(ep->addr));
	ep->port = ntohs(r->port);
	ep->family = r->family;
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
