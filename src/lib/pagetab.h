/* SPDX-License-Identifier: MIT */
/*
 * Internal: a sparse table of 64-bit values indexed by guest page, for
 * the page digests of diff (pagemap.c) and of the page image
 * (ramimage.c).  Values live in groups of PAGETAB_GROUP entries that are
 * allocated, zeroed, when an entry in them is first written, so memory
 * follows the pages a stream sends, not the block lengths it announces:
 * one page at the end of a 1 TiB block costs one group and the array of
 * group pointers (8 bytes per PAGETAB_GROUP pages up to that page).
 */
#ifndef MIGSTREAM_LIB_PAGETAB_H
#define MIGSTREAM_LIB_PAGETAB_H

#include <stdint.h>

/* 512 entries: a 4 KiB group, one page of the host. */
#define PAGETAB_SHIFT 9
#define PAGETAB_GROUP (UINT64_C(1) << PAGETAB_SHIFT)

struct pagetab {
	uint64_t **group;	/* NULL entries: every value in them is 0 */
	uint64_t ngroups;	/* pointers in group */
	uint64_t groups_used;	/* groups allocated */
};

/* Entry @i, 0 when it was never written. */
static inline uint64_t pagetab_get(const struct pagetab *t, uint64_t i)
{
	uint64_t g = i >> PAGETAB_SHIFT;

	return g < t->ngroups && t->group[g]
		       ? t->group[g][i & (PAGETAB_GROUP - 1)]
		       : 0;
}

/*
 * The entry @i, to be written; its group is made (zeroed) when needed.
 * NULL when out of memory (the table is left as it was).
 */
uint64_t *pagetab_slot(struct pagetab *t, uint64_t i);

/* Frees every group; @t is then empty and may be used again. */
void pagetab_free(struct pagetab *t);

#endif
