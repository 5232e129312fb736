/* SPDX-License-Identifier: MIT */
/*
 * The "ram" section, version 4.  A chunk is a run of records, each starting
 * with a be64 word "offset | flags" (flags below the target page size),
 * ending with EOS.  Pages are counted and skipped: guest RAM is never held.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ram.h"

static long find_block(const struct mig_stream *s, const char *name)
{
	for (size_t i = 0; i < s->nram_blocks; i++)
		if (!strcmp(s->ram_blocks[i].name, name))
			return (long)i;
	return -1;
}

/* The MEM_SIZE record: the list of blocks whose lengths add up to @total. */
static int read_block_list(struct mig_reader *r, struct mig_stream *s,
			   struct ram_state *st, struct mig_record *rec,
			   uint64_t total, struct mig_error *err)
{
	uint64_t left = total;

	while (left) {
		struct mig_ram_block *b;
		uint64_t at = mig_rd_offset(r);
		char name[256];
		uint64_t len, addr;
		long idx;
		int ret;

		ret = mig_rd_str8(r, name, err);
		if (!ret)
			ret = mig_rd_be64(r, &len, err);
		if (ret)
			return ret;
		if (st->ignore_shared) {
			/* The block's guest address; checked by QEMU, kept
			 * only as a count here. */
			ret = mig_rd_be64(r, &addr, err);
			if (ret)
				return ret;
		}
		if (st->mapped_ram)
			return mig_error_set(err, MIG_EUNSUP, mig_rd_offset(r),
					     "mapped-ram block headers are not supported yet");
		if (!name[0])
			return mig_error_set(err, MIG_ERAM, at,
					     "RAM block with an empty name");
		if (len > left)
			return mig_error_set(err, MIG_ERAM, at,
					     "RAM block '%s' of 0x%" PRIx64 " bytes exceeds the 0x%" PRIx64 " bytes left of the announced total 0x%" PRIx64,
					     name, len, left, total);
		if (len == 0)
			return mig_error_set(err, MIG_ERAM, at,
					     "RAM block '%s' has length 0", name);
		left -= len;
		idx = find_block(s, name);
		if (idx < 0) {
			if (s->nram_blocks >= RAM_BLOCKS_MAX)
				return mig_error_set(err, MIG_ELIMIT, at,
						     "more than %d RAM blocks",
						     RAM_BLOCKS_MAX);
			b = realloc(s->ram_blocks,
				    (s->nram_blocks + 1) * sizeof(*b));
			if (!b)
				return mig_error_set(err, MIG_ENOMEM, at,
						     "out of memory");
			s->ram_blocks = b;
			b = &s->ram_blocks[s->nram_blocks++];
			memset(b, 0, sizeof(*b));
			memcpy(b->name, name, sizeof(b->name));
		} else {
			b = &s->ram_blocks[idx];
		}
		b->length = len;
		b->offset = at;
		rec->ram.nblocks++;
	}
	return 0;
}

/* Block of a page record: named, or the previous one with CONTINUE. */
static int page_block(struct mig_reader *r, struct mig_stream *s,
		      struct ram_state *st, uint64_t at, unsigned flags,
		      uint64_t addr, struct mig_ram_block **out,
		      struct mig_error *err)
{
	struct mig_ram_block *b;

	if (flags & RAM_FLAG_CONTINUE) {
		if (st->last < 0)
			return mig_error_set(err, MIG_ERAM, at,
					     "page record continues a block, but no block was named before");
	} else {
		char name[256];
		long idx;
		int ret = mig_rd_str8(r, name, err);

		if (ret)
			return ret;
		idx = find_block(s, name);
		if (idx < 0)
			return mig_error_set(err, MIG_ERAM, at + 8,
					     "unknown RAM block '%s' (not in the block list)",
					     name);
		st->last = idx;
	}
	b = &s->ram_blocks[st->last];
	if (addr >= b->length)
		return mig_error_set(err, MIG_ERAM, at,
				     "page offset 0x%" PRIx64 " outside RAM block '%s' of 0x%" PRIx64 " bytes",
				     addr, b->name, b->length);
	*out = b;
	return 0;
}

/* Hands a page to the caller's callback; its error stops the parse. */
static int report(struct ram_state *st, const struct mig_page *pg,
		  struct mig_error *err)
{
	int ret = st->on_page(st->ctx, pg);

	if (ret > 0)
		ret = -ret;
	if (ret && (!err || !err->code))
		mig_error_set(err, ret, pg->offset,
			      "stopped by the page consumer: %s",
			      mig_strerror(ret));
	return ret;
}

int ram_read_chunk(struct mig_reader *r, struct mig_stream *s,
		   struct ram_state *st, struct mig_record *rec,
		   struct mig_error *err)
{
	const uint64_t psize = s->page_size;

	for (;;) {
		uint64_t at = mig_rd_offset(r);
		struct mig_ram_block *b;
		uint64_t word, addr;
		unsigned flags;
		uint8_t fill;
		int ret;

		ret = mig_rd_be64(r, &word, err);
		if (ret)
			return ret;
		flags = (unsigned)(word & (psize - 1));
		addr = word & ~(psize - 1);

		switch (flags & ~RAM_FLAG_CONTINUE) {
		case RAM_FLAG_MEM_SIZE:
			ret = read_block_list(r, s, st, rec, addr, err);
			break;
		case RAM_FLAG_ZERO:
			ret = page_block(r, s, st, at, flags, addr, &b, err);
			if (!ret)
				ret = mig_rd_u8(r, &fill, err);
			if (ret)
				break;
			b->zero++;
			rec->ram.zero++;
			if (st->on_page) {
				struct mig_page pg = {
					.block = b, .addr = addr,
					.kind = MIG_PAGE_FILL, .fill = fill,
					.offset = at, .size = psize,
				};

				ret = report(st, &pg, err);
			}
			break;
		case RAM_FLAG_PAGE:
			ret = page_block(r, s, st, at, flags, addr, &b, err);
			if (ret)
				break;
			if (st->on_page) {
				struct mig_page pg = {
					.block = b, .addr = addr,
					.kind = MIG_PAGE_DATA, .offset = at,
					.size = psize,
				};

				ret = mig_rd_peek(r, (size_t)psize, &pg.data, err);
				if (!ret)
					ret = report(st, &pg, err);
				if (ret)
					break;
			}
			ret = mig_rd_skip(r, psize, err);
			if (!ret) {
				b->pages++;
				rec->ram.pages++;
				rec->ram.page_bytes += psize;
			}
			break;
		case RAM_FLAG_EOS:
			if (flags & RAM_FLAG_CONTINUE || addr)
				return mig_error_set(err, MIG_ERAM, at,
						     "EOS record with offset or flags: 0x%" PRIx64,
						     word);
			return 0;
		case RAM_FLAG_MULTIFD_FLUSH:
			rec->ram.flushes++;
			break;
		case RAM_FLAG_XBZRLE:
		case RAM_FLAG_COMPRESS_PAGE:
		case RAM_FLAG_HOOK:
			return mig_error_set(err, MIG_EUNSUP, at,
					     "RAM record with flags 0x%x (%s) is not supported yet",
					     flags,
					     flags & RAM_FLAG_XBZRLE ? "xbzrle" :
					     flags & RAM_FLAG_HOOK ? "hook" :
					     "compressed page");
		default:
			/* QEMU's loader words it the same way. */
			return mig_error_set(err, MIG_ERAM, at,
					     "unknown combination of migration flags: 0x%x",
					     flags);
		}
		if (ret)
			return ret;
	}
}
