/* SPDX-License-Identifier: MIT */
/*
 * Internal: the per-page digest tables of one stream, filled by the RAM
 * page callback and read by the RAM comparison of diff.c.
 */
#ifndef MIGSTREAM_LIB_PAGEMAP_H
#define MIGSTREAM_LIB_PAGEMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "migstream/error.h"
#include "migstream/stream.h"
#include "pagetab.h"

/*
 * Digest values with a meaning of their own.  A page whose content hashes
 * to one of them is stored as the next value (PM_ZERO + 1, PM_UNKNOWN - 1):
 * two different pages then look equal only if their digests already
 * collide in all but one bit pattern.
 */
#define PM_ZERO 0ull			/* every byte 0, or never sent */
#define PM_UNKNOWN UINT64_MAX		/* a page kind this version cannot read */

struct pm_block {
	char name[256];
	uint64_t length;	/* bytes, from the block list */
	uint64_t npages;	/* pages of the block, once a page came */
	struct pagetab dig;	/* one digest per page, made as pages come */
	uint64_t records;	/* page records seen for this block */
	uint64_t unknown;	/* records of an unknown kind */
};

struct pagemap {
	struct pm_block *blocks;
	size_t nblocks;
	uint64_t page_size;	/* of the pages seen, 0 before the first */
	uint64_t zero_digest;	/* XXH3-64 of a zero page of page_size */
	uint64_t pages;		/* pages of the blocks with pages, all blocks */
	uint64_t max_pages;	/* cap on pages */
	const struct mig_ram_block *cache_rb;	/* block of the last page */
	size_t cache_idx;
	uint64_t fill_digest[256];	/* ZERO records with a non-zero fill */
	bool fill_known[256];
	struct mig_error err;	/* why the callback stopped the parse */
};

/* Initialises @pm; @max_pages caps the digest entries (0: no pages). */
void pagemap_init(struct pagemap *pm, uint64_t max_pages);
void pagemap_release(struct pagemap *pm);

/*
 * The on_page callback of struct mig_parse_opts, with @ctx a struct
 * pagemap.  Returns 0, or -MIG_ELIMIT (more pages than the cap),
 * -MIG_ERAM (pages of two sizes), -MIG_ENOMEM; the reason is in ->err.
 */
int pagemap_on_page(void *ctx, const struct mig_page *pg);

/* The table of block @name, or NULL when none of its pages was sent. */
const struct pm_block *pagemap_find(const struct pagemap *pm,
				    const char *name);

/* Digest of page @i of @b (a NULL @b, or a page never sent: PM_ZERO). */
static inline uint64_t pagemap_digest(const struct pm_block *b, uint64_t i)
{
	return b && i < b->npages ? pagetab_get(&b->dig, i) : PM_ZERO;
}

#endif
