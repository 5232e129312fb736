/* SPDX-License-Identifier: MIT */
/*
 * Per-page digests of guest RAM, one table per RAM block, filled in stream
 * order so that a later record for a page replaces an earlier one.  The
 * tables are sparse (pagetab.h): a page never sent reads as PM_ZERO, a
 * zero page, and memory follows the pages sent.  The cap on pages counts
 * the lengths of the blocks that have pages, from the block list, so it
 * also bounds the work of comparing them page by page.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "pagemap.h"

void pagemap_init(struct pagemap *pm, uint64_t max_pages)
{
	memset(pm, 0, sizeof(*pm));
	pm->max_pages = max_pages;
	mig_error_clear(&pm->err);
}

void pagemap_release(struct pagemap *pm)
{
	for (size_t i = 0; i < pm->nblocks; i++)
		pagetab_free(&pm->blocks[i].dig);
	free(pm->blocks);
	pm->blocks = NULL;
	pm->nblocks = 0;
}

const struct pm_block *pagemap_find(const struct pagemap *pm,
				    const char *name)
{
	for (size_t i = 0; i < pm->nblocks; i++)
		if (!strcmp(pm->blocks[i].name, name))
			return &pm->blocks[i];
	return NULL;
}

/* Maps a content digest away from the reserved values. */
static uint64_t encode(const struct pagemap *pm, uint64_t h)
{
	if (h == pm->zero_digest)
		return PM_ZERO;
	if (h == PM_ZERO)
		return PM_ZERO + 1;
	if (h == PM_UNKNOWN)
		return PM_UNKNOWN - 1;
	return h;
}

/* Digest of a page of @fill bytes, computed once per fill value. */
static int fill_digest(struct pagemap *pm, uint8_t fill, uint64_t *d)
{
	uint8_t *buf;

	if (!fill) {
		*d = PM_ZERO;
		return 0;
	}
	if (!pm->fill_known[fill]) {
		buf = malloc(pm->page_size);
		if (!buf)
			return -MIG_ENOMEM;
		memset(buf, fill, pm->page_size);
		pm->fill_digest[fill] = encode(pm, XXH3_64bits(buf,
							       pm->page_size));
		pm->fill_known[fill] = true;
		free(buf);
	}
	*d = pm->fill_digest[fill];
	return 0;
}

/* The table of @rb, found by name and cached by pointer. */
static struct pm_block *block_of(struct pagemap *pm,
				 const struct mig_ram_block *rb)
{
	struct pm_block *b;

	if (pm->cache_rb == rb && !strcmp(pm->blocks[pm->cache_idx].name,
					  rb->name))
		return &pm->blocks[pm->cache_idx];
	for (size_t i = 0; i < pm->nblocks; i++) {
		if (!strcmp(pm->blocks[i].name, rb->name)) {
			pm->cache_rb = rb;
			pm->cache_idx = i;
			return &pm->blocks[i];
		}
	}
	b = realloc(pm->blocks, (pm->nblocks + 1) * sizeof(*b));
	if (!b)
		return NULL;
	pm->blocks = b;
	b = &pm->blocks[pm->nblocks];
	memset(b, 0, sizeof(*b));
	memcpy(b->name, rb->name, sizeof(b->name));
	pm->cache_rb = rb;
	pm->cache_idx = pm->nblocks++;
	return b;
}

/* Takes block @b, @length bytes long, into account up to page @idx. */
static int grow(struct pagemap *pm, struct pm_block *b, uint64_t length,
		uint64_t idx, uint64_t at)
{
	uint64_t want = length / pm->page_size +
			(length % pm->page_size ? 1 : 0);

	if (want <= idx)
		want = idx + 1;
	if (want - b->npages > pm->max_pages - pm->pages)
		return mig_error_set(&pm->err, MIG_ELIMIT, at,
				     "RAM block '%s' of 0x%" PRIx64 " bytes takes the page digests past the limit of %llu pages (%llu GiB of guest RAM in %" PRIu64 "-byte pages)",
				     b->name, length,
				     (unsigned long long)pm->max_pages,
				     (unsigned long long)(pm->max_pages *
							  pm->page_size >> 30),
				     pm->page_size);
	pm->pages += want - b->npages;
	b->npages = want;
	b->length = length;
	return 0;
}

int pagemap_on_page(void *ctx, const struct mig_page *pg)
{
	struct pagemap *pm = ctx;
	struct pm_block *b;
	uint64_t idx, d, *slot;
	int ret;

	if (!pm->page_size) {
		pm->page_size = pg->size;
		pm->zero_digest = 0;
		if (pg->size) {
			uint8_t *z = calloc(1, pg->size);

			if (!z)
				return mig_error_set(&pm->err, MIG_ENOMEM,
						     pg->offset, "out of memory");
			pm->zero_digest = XXH3_64bits(z, pg->size);
			free(z);
		}
	}
	if (pg->size != pm->page_size || !pg->size)
		return mig_error_set(&pm->err, MIG_ERAM, pg->offset,
				     "page of %" PRIu64 " bytes after pages of %" PRIu64,
				     pg->size, pm->page_size);
	b = block_of(pm, pg->block);
	if (!b)
		return mig_error_set(&pm->err, MIG_ENOMEM, pg->offset,
				     "out of memory");
	idx = pg->addr / pm->page_size;
	if (idx >= b->npages) {
		ret = grow(pm, b, pg->block->length, idx, pg->offset);
		if (ret)
			return ret;
	}
	switch (pg->kind) {
	case MIG_PAGE_DATA:
		d = encode(pm, XXH3_64bits(pg->data, pm->page_size));
		break;
	case MIG_PAGE_FILL:
		if (fill_digest(pm, pg->fill, &d))
			return mig_error_set(&pm->err, MIG_ENOMEM, pg->offset,
					     "out of memory");
		break;
	default:
		/* A kind added after this code: its content is not known
		 * here, so the page can never be called equal. */
		d = PM_UNKNOWN;
		break;
	}
	slot = pagetab_slot(&b->dig, idx);
	if (!slot)
		return mig_error_set(&pm->err, MIG_ENOMEM, pg->offset,
				     "out of memory for the page digests of RAM block '%s'",
				     b->name);
	if (d == PM_UNKNOWN)
		b->unknown++;
	b->records++;
	*slot = d;
	return 0;
}
