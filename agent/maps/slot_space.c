#include "maps/slot_space.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int slot_space_init(struct slot_space *s, uint32_t size, uint32_t stride)
{
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->stride = stride;
	if (stride)
		return 0;
	s->free = malloc(16 * sizeof(*s->free));
	if (!s->free)
		return -ENOMEM;
	s->free_cap = 16;
	if (size) {
		s->free[0] = (struct slot_extent){0, size};
		s->nfree = 1;
	}
	return 0;
}

void slot_space_fini(struct slot_space *s)
{
	free(s->free);
	memset(s, 0, sizeof(*s));
}

/* Index of the first free extent whose end is past base. */
static uint32_t extent_after(const struct slot_space *s, uint32_t base)
{
	uint32_t lo = 0, hi = s->nfree;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->free[mid].base + s->free[mid].len <= base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int extent_insert(struct slot_space *s, uint32_t at, struct slot_extent e)
{
	if (s->nfree == s->free_cap) {
		struct slot_extent *f = realloc(s->free, 2 * s->free_cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		s->free = f;
		s->free_cap *= 2;
	}
	memmove(&s->free[at + 1], &s->free[at], (s->nfree - at) * sizeof(*s->free));
	s->free[at] = e;
	s->nfree++;
	return 0;
}

static void extent_remove(struct slot_space *s, uint32_t at)
{
	memmove(&s->free[at], &s->free[at + 1], (s->nfree - at - 1) * sizeof(*s->free));
	s->nfree--;
}

int slot_space_take(struct slot_space *s, const struct steer_slot_range *r)
{
	struct slot_extent *e;
	uint32_t at, end = r->base + r->cap;

	if (!r->cap)
		return 0;
	if (end < r->base || end > s->size)
		return -EEXIST;
	if (s->stride) {
		s->used += r->cap;
		return 0;
	}
	at = extent_after(s, r->base);
	if (at == s->nfree || s->free[at].base > r->base ||
	    s->free[at].base + s->free[at].len < end)
		return -EEXIST;
	e = &s->free[at];
	if (e->base == r->base) {
		e->base += r->cap;
		e->len -= r->cap;
		if (!e->len)
			extent_remove(s, at);
	} else if (e->base + e->len == end) {
		e->len -= r->cap;
	} else {
		struct slot_extent tail = {end, e->base + e->len - end};

		e->len = r->base - e->base;
		if (extent_insert(s, at + 1, tail))
			return -ENOMEM;
	}
	s->used += r->cap;
	return 0;
}

int slot_space_alloc(struct slot_space *s, uint32_t svc_id, uint32_t bank, uint32_t n,
		     struct steer_slot_range *r)
{
	*r = (struct steer_slot_range){0, 0};
	if (!n)
		return 0;
	if (s->stride) {
		if (n > s->stride ||
		    (uint64_t)steer_bank_index(svc_id, bank) * s->stride + s->stride > s->size)
			return -ENOSPC;
		*r = slot_space_fixed(s->stride, svc_id, bank);
		return 0;
	}
	for (uint32_t i = 0; i < s->nfree; i++) {
		if (s->free[i].len < n)
			continue;
		*r = (struct steer_slot_range){s->free[i].base, n};
		s->free[i].base += n;
		s->free[i].len -= n;
		if (!s->free[i].len)
			extent_remove(s, i);
		s->used += n;
		return 0;
	}
	return -ENOSPC;
}

void slot_space_free(struct slot_space *s, const struct steer_slot_range *r)
{
	uint32_t at, end = r->base + r->cap;
	bool merge_prev, merge_next;

	if (!r->cap)
		return;
	s->used -= r->cap < s->used ? r->cap : s->used;
	if (s->stride)
		return;
	at = extent_after(s, r->base);
	merge_prev = at > 0 && s->free[at - 1].base + s->free[at - 1].len == r->base;
	merge_next = at < s->nfree && s->free[at].base == end;
	if (merge_prev && merge_next) {
		s->free[at - 1].len += r->cap + s->free[at].len;
		extent_remove(s, at);
	} else if (merge_prev) {
		s->free[at - 1].len += r->cap;
	} else if (merge_next) {
		s->free[at].base = r->base;
		s->free[at].len += r->cap;
	} else if (extent_insert(s, at, (struct slot_extent){r->base, r->cap})) {
		/* Out of memory: the range stays unused until the next rebuild
		 * from the maps (a restart), never handed out twice. */
	}
}
