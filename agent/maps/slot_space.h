/*
 * Where each bank's slots are in steer_slots_v1 (and steer_slot_attrs_v1).
 *
 * A bank's slots are one range of the array, sized to its replicas, named
 * by the bank's steer_slot_ranges_v1 entry; the hook reads that entry, then
 * the slots. So the array holds what is used (about twice the replicas: the
 * live banks and those being written), not services x replicas per service.
 *
 * The ranges of the live banks are taken; reconcile takes a fresh range for
 * each bank it writes, and gives the old one back only after its wait for
 * readers, so a range is never rewritten while a connect may read it.
 *
 * A pin directory of a version before ranges laid the array out as
 * (service, bank, slot) with a fixed stride: adopted as it is, every bank
 * keeps that fixed place (stride mode), so the programs of the old version
 * read the same slots until the new ones replace them.
 */
#ifndef STEER_SLOT_SPACE_H
#define STEER_SLOT_SPACE_H

#include <stdint.h>

#include "bpf/steer_abi.h"

struct slot_extent {
	uint32_t base, len;
};

struct slot_space {
	uint32_t size;		  /* entries of the array */
	uint32_t stride;	  /* fixed layout: slots per bank; 0 = ranges */
	struct slot_extent *free; /* free extents, by base, never adjacent */
	uint32_t nfree, free_cap;
	uint32_t used; /* entries in taken ranges */
};

/* All free (stride 0) or the fixed layout. Returns 0 or -ENOMEM. */
int slot_space_init(struct slot_space *s, uint32_t size, uint32_t stride);
void slot_space_fini(struct slot_space *s);

/* Mark r taken (a live bank found in the maps). -EEXIST if part of it is
 * taken already or outside the array. */
int slot_space_take(struct slot_space *s, const struct steer_slot_range *r);

/* A range of n slots for bank (svc_id, bank): the first free one that fits
 * (or the bank's fixed place). n 0: {0, 0}. -ENOSPC when none fits. */
int slot_space_alloc(struct slot_space *s, uint32_t svc_id, uint32_t bank, uint32_t n,
		     struct steer_slot_range *r);

/* Give r back (no-op for {.cap = 0} and in stride mode). */
void slot_space_free(struct slot_space *s, const struct steer_slot_range *r);

/* The fixed place of (svc_id, bank) in a layout of stride slots per bank. */
static inline struct steer_slot_range slot_space_fixed(uint32_t stride, uint32_t svc_id,
						       uint32_t bank)
{
	return (struct steer_slot_range){.base = steer_bank_index(svc_id, bank) * stride,
					 .cap = stride};
}

#endif
