/* Maglev table population (see maglev.h), after the NSDI 2016 paper's
 * pseudo-code with Cilium's weighted turns (pkg/maglev).
 *
 * A backend's permutation of the m entries is offset, offset + skip,
 * offset + 2 skip, ... (mod m), with offset = h1 % m and skip = h2 % (m - 1)
 * + 1: m is prime, so every skip visits every entry once. h1 and h2 hash the
 * endpoint's canonical bytes, so they are the same on every node and in every
 * version of the agent that keeps this hash: changing it moves most flows
 * that have no flow-table entry, so it must not change lightly. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/steer_abi.h"
#include "config/config.h"
#include "xdp/maglev.h"

_Static_assert(MAGLEV_WEIGHT_MAX == WEIGHT_MAX, "Maglev weights are the replicas' weight=");

/* family, the address (IPv4: 4 bytes then 12 zero bytes), the port big-endian */
#define KEY_LEN 19

/* One backend while the table fills. */
struct turn {
	const struct maglev_backend *b;
	uint8_t key[KEY_LEN]; /* the endpoint, as hashed and sorted */
	uint32_t next;	      /* the next entry of its permutation to try */
	uint32_t skip;	      /* the step of its permutation, 1..m-1 */
	uint32_t count;	      /* entries it holds */
};

bool maglev_size_valid(uint32_t m)
{
	if (m < STEER_MAGLEV_MIN || m > STEER_MAGLEV_MAX)
		return false;
	if (m % 2 == 0)
		return false; /* STEER_MAGLEV_MIN > 2 */
	for (uint32_t d = 3; d * d <= m; d += 2)
		if (m % d == 0)
			return false;
	return true;
}

/* MurmurHash3's 64-bit finaliser: every input bit reaches every output bit. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

/* The key read as little-endian 64-bit words, each mixed into the seed:
 * the same result on any host byte order. */
static uint64_t key_hash(const uint8_t *key, uint64_t seed)
{
	uint64_t h = seed;

	for (size_t i = 0; i < KEY_LEN; i += 8) {
		uint64_t w = 0;

		for (size_t j = i; j < i + 8 && j < KEY_LEN; j++)
			w |= (uint64_t)key[j] << (8 * (j - i));
		h = fmix64(h ^ w);
	}
	return h;
}

/* The canonical bytes of ep: IPv4 ignores addr[1..3], whatever they hold. */
static int key_of(const struct endpoint *ep, uint8_t *key)
{
	size_t alen;

	if (!ep || (ep->family != STEER_FAMILY_V4 && ep->family != STEER_FAMILY_V6))
		return -EINVAL;
	alen = ep->family == STEER_FAMILY_V4 ? 4 : 16;
	memset(key, 0, KEY_LEN);
	key[0] = ep->family;
	memcpy(key + 1, ep->addr, alen); /* network order: the same bytes everywhere */
	key[17] = (uint8_t)(ep->port >> 8);
	key[18] = (uint8_t)ep->port;
	return 0;
}

/* Endpoint order; value and weight only break ties between backends that
 * share an endpoint, so that even they fill the same table in any order. */
static int turn_cmp(const void *pa, const void *pb)
{
	const struct turn *a = pa, *b = pb;
	int c = memcmp(a->key, b->key, KEY_LEN);

	if (c)
		return c;
	if (a->b->value != b->b->value)
		return a->b->value < b->b->value ? -1 : 1;
	if (a->b->weight != b->b->weight)
		return a->b->weight < b->b->weight ? -1 : 1;
	return 0;
}

/* May t take a turn, now that filled entries are taken? Only while its count
 * is at or below its share of them. Some backend always may: the counts sum
 * to filled, so they cannot all be above their shares. */
static bool turn_due(const struct turn *t, uint64_t wsum, uint32_t filled)
{
	return (uint64_t)t->count * wsum <= (uint64_t)filled * t->b->weight;
}

static void fill(struct turn *turns, size_t n, uint64_t wsum, uint32_t m, uint8_t *taken,
		 uint32_t *table)
{
	uint32_t filled = 0;

	/* Each round gives every due backend its next free preferred entry;
	 * a round always fills one at least (see turn_due()). */
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			struct turn *t = &turns[i];

			if (!turn_due(t, wsum, filled))
				continue;
			/* ends: filled < m, and the permutation visits every entry */
			while (taken[t->next / 8] & (1u << (t->next % 8)))
				t->next = t->next + t->skip >= m ? t->next + t->skip - m
								 : t->next + t->skip;
			taken[t->next / 8] |= (uint8_t)(1u << (t->next % 8));
			table[t->next] = t->b->value;
			t->count++;
			filled++;
		}
	}
}

int maglev_build(const struct maglev_backend *b, size_t n, uint32_t m, uint32_t *table)
{
	struct turn *turns;
	uint8_t *taken;
	uint64_t wsum = 0;

	if (!maglev_size_valid(m))
		return -EINVAL;
	if (n == 0)
		return -ENOENT;
	turns = calloc(n, sizeof(*turns));
	taken = calloc((m + 7) / 8, 1);
	if (!turns || !taken) {
		free(turns);
		free(taken);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (b[i].weight < 1 || b[i].weight > MAGLEV_WEIGHT_MAX ||
		    key_of(b[i].ep, turns[i].key) < 0) {
			free(turns);
			free(taken);
			return -EINVAL;
		}
		turns[i].b = &b[i];
		turns[i].next = (uint32_t)(key_hash(turns[i].key, 0x5ee2a11ce0ff5e75ull) % m);
		turns[i].skip =
		    (uint32_t)(key_hash(turns[i].key, 0x736b69702b2b2b2bull) % (m - 1)) + 1;
		wsum += b[i].weight;
	}
	qsort(turns, n, sizeof(*turns), turn_cmp);
	fill(turns, n, wsum, m, taken, table);
	free(turns);
	free(taken);
	return 0;
}
