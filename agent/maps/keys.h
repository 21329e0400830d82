/* Encoding of config objects into map keys and values (pure, no I/O). */
#ifndef STEER_KEYS_H
#define STEER_KEYS_H

#include <stdbool.h>

#include "lib/addr.h"
#include "bpf/steer_abi.h"

/* The steer_svc_v1 key of a VIP and protocol; every padding byte zero. */
void svc_key_encode(const struct endpoint *vip, uint8_t proto, struct steer_svc_key *key);

/* The endpoint and protocol a service key stands for. */
void svc_key_decode(const struct steer_svc_key *key, struct endpoint *vip, uint8_t *proto);

/* The steer_replicas_v1 value of a replica of service svc_id in state. */
void replica_encode(const struct endpoint *ep, uint32_t svc_id, uint8_t state,
		    struct steer_replica *r);

/* The steer_backends_v1 key of a replica endpoint. */
void backend_key_encode(const struct endpoint *ep, uint8_t proto, struct steer_backend_key *key);
void backend_key_decode(const struct steer_backend_key *key, struct endpoint *ep);

/* The endpoint a replica value stands for. */
void replica_decode(const struct steer_replica *r, struct endpoint *ep);

/* Does replica r stand for endpoint ep? */
bool replica_matches(const struct steer_replica *r, const struct endpoint *ep);

/* "tcp", "udp", or "other". */
const char *proto_name(uint8_t proto);

#endif
