/* SPDX-License-Identifier: MIT */
/*
 * The "ram" section, version 4.  A chunk is a run of records, each starting
 * with a be64 word "offset | flags" (flags below the target page size),
 * ending with EOS.  Pages are counted and handed to the page callback as
 * they pass: guest RAM is never held.  COMPRESS_PAGE records are inflated
 * into one page buffer, XBZRLE deltas are checked and passed on as they
 * are, mapped-ram blocks are read from their bitmap and page array at the
 * file offsets their headers give.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ram.h"

const char *const mig_cap_names[] = {
	"xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress",
	"events", "postcopy-ram", "x-colo", "release-ram", "block",
	"return-path", "pause-before-switchover", "multifd", "dirty-bitmaps",
	"postcopy-blocktime", "late-block-activate", "x-ignore-shared",
	"validate-uuid", "background-snapshot", "zero-copy-send",
	"postcopy-preempt", "switchover-ack", "dirty-limit", "mapped-ram",
	NULL,
};

bool mig_cap_known(const char *name)
{
	for (const char *const *p = mig_cap_names; *p; p++)
		if (!strcmp(*p, name))
			return true;
	return false;
}

int ram_take_caps(struct ram_state *st, const char *const *caps, size_t n,
		  struct mig_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!mig_cap_known(caps[i]))
			return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
					     "unknown migration capability '%s'",
					     caps[i]);
		if (!strcmp(caps[i], "x-ignore-shared"))
			st->ignore_shared = true;
		else if (!strcmp(caps[i], "postcopy-ram"))
			st->postcopy = true;
		else if (!strcmp(caps[i], "mapped-ram"))
			st->mapped_ram = true;
	}
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

void ram_postcopy_advise(struct ram_state *st, const uint8_t *data,
			 size_t len)
{
	/* Without arguments only dirty bitmaps use postcopy, not RAM. */
	if (len == 16) {
		st->postcopy = true;
		st->advised = true;
		st->advise_sizes = get_be64(data);
		st->advise_target = get_be64(data + 8);
	}
}

void ram_state_release(struct ram_state *st)
{
	free(st->page);
	st->page = NULL;
	st->page_cap = 0;
}

static long find_block(const struct mig_stream *s, const char *name)
{
	for (size_t i = 0; i < s->nram_blocks; i++)
		if (!strcmp(s->ram_blocks[i].name, name))
			return (long)i;
	return -1;
}

/* Hands a page to the caller's callback; its error stops the parse. */
static int report(struct ram_state *st, struct mig_page *pg,
		  struct mig_error *err)
{
	int ret;

	pg->err = err;
	ret = st->on_page(st->ctx, pg);
	if (ret > 0)
		ret = -ret;
	if (ret && (!err || !err->code))
		mig_error_set(err, ret, pg->offset,
			      "stopped by the page consumer: %s",
			      mig_strerror(ret));
	return ret;
}

/* The fields of a page report every record kind shares. */
static struct mig_page page_of(struct mig_reader *r,
			       const struct mig_stream *s,
			       const struct mig_record *rec, long bi,
			       uint64_t addr, uint64_t at)
{
	struct mig_page pg = {
		.block = &s->ram_blocks[bi],
		.block_index = (size_t)bi,
		.addr = addr,
		.offset = at,
		.size = s->page_size,
		.section = rec->offset,
		.input = r,
	};

	return pg;
}

/* ------------------------------------------------------------------ */
/* The block list                                                      */

/* Makes up to @want bytes visible at *@p (fewer at the end of input). */
static void peek_upto(struct mig_reader *r, size_t want, const uint8_t **p,
		      size_t *n)
{
	*n = 0;
	if (!mig_rd_peek(r, want, p, NULL))
		*n = want;
	else if (mig_rd_rest(r, want, p, n, NULL))
		*n = 0;
}

/* How a layout of the bytes after a block's length fares. */
enum fit {
	FIT_NO,			/* the bytes say otherwise */
	FIT_YES,		/* the bytes allow it */
	FIT_SHORT,		/* the input ends before they can tell */
};

/* Could a block list entry of at most @left bytes start at @p? */
static enum fit entry_fits(const uint8_t *p, size_t n, uint64_t left)
{
	size_t len;
	uint64_t blen;

	if (n < 1)
		return FIT_SHORT;
	len = p[0];
	if (!len)
		return FIT_NO;
	for (size_t i = 1; i <= len && i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return FIT_NO;
	if (n - 1 < len + 8)
		return FIT_SHORT;
	blen = get_be64(p + 1 + len);
	return blen && blen <= left ? FIT_YES : FIT_NO;
}

/* Could the RAM record after the block list start at @p? */
static enum fit record_fits(const uint8_t *p, size_t n, uint64_t psize)
{
	uint64_t word;
	unsigned flags;

	if (n < 8)
		return FIT_SHORT;
	word = get_be64(p);
	flags = (unsigned)(word & (psize - 1));
	switch (flags & ~RAM_FLAG_CONTINUE) {
	case RAM_FLAG_EOS:
	case RAM_FLAG_MULTIFD_FLUSH:
	case RAM_FLAG_HOOK:
		return word == flags ? FIT_YES : FIT_NO;
	case RAM_FLAG_ZERO:
	case RAM_FLAG_PAGE:
	case RAM_FLAG_XBZRLE:
	case RAM_FLAG_COMPRESS_PAGE:
		return FIT_YES;
	default:
		return FIT_NO;
	}
}

/* Could @ps be the page size of a huge-page block? */
static bool block_page_size_fits(const struct ram_state *st, uint64_t ps)
{
	if (ps < 1024 || ps > (1ull << 40) || (ps & (ps - 1)))
		return false;
	/* POSTCOPY_ADVISE sends the OR of every block's page size. */
	return !st->advised || (st->advise_sizes & ps);
}

/*
 * Do the bytes at @p, right after a block's length, parse with (@with) or
 * without a postcopy page size?  @left is what the announced total leaves
 * after this block: another entry follows, or the next record.
 */
static enum fit layout_fits(const struct ram_state *st, const uint8_t *p,
			    size_t n, bool with, uint64_t left,
			    uint64_t psize)
{
	size_t k = 0;

	if (with) {
		if (n < 8)
			return FIT_SHORT;
		if (!block_page_size_fits(st, get_be64(p)))
			return FIT_NO;
		k = 8;
	}
	if (st->ignore_shared) {
		if (n - k < 8)
			return FIT_SHORT;
		k += 8;
	}
	if (st->mapped_ram) {
		/* The next entry is elsewhere; the header must be right. */
		if (n - k < RAM_MAPPED_HEADER)
			return FIT_SHORT;
		return get_be32(p + k) == RAM_MAPPED_VERSION &&
		       get_be64(p + k + 4) == psize ? FIT_YES : FIT_NO;
	}
	return left ? entry_fits(p + k, n - k, left)
		    : record_fits(p + k, n - k, psize);
}

/*
 * With postcopy-ram on, a block's entry carries its page size when that
 * differs from the host's, which the stream does not say: take the layout
 * that the bytes allow, and refuse to guess when both or none do.
 */
static int read_block_page_size(struct mig_reader *r, struct ram_state *st,
				const char *name, uint64_t left,
				uint64_t psize, uint64_t *ps,
				struct mig_error *err)
{
	const size_t want = 8 + 8 + RAM_MAPPED_HEADER + 1 + 255 + 8;
	uint64_t at = mig_rd_offset(r);
	const uint8_t *p = NULL;
	size_t n;
	enum fit with, without;

	*ps = 0;
	peek_upto(r, want, &p, &n);
	with = layout_fits(st, p, n, true, left, psize);
	without = layout_fits(st, p, n, false, left, psize);
	if (with == FIT_YES && without == FIT_YES)
		return mig_error_set(err, MIG_EUNSUP, at,
				     "RAM block '%s': postcopy-ram is on and the bytes after the block's length parse both with and without a block page size (0x%" PRIx64 "); cannot tell which",
				     name, get_be64(p));
	if (with != FIT_YES && without != FIT_YES) {
		if (with == FIT_SHORT || without == FIT_SHORT)
			return mig_error_set(err, MIG_ETRUNC, at + n,
					     "truncated inside the RAM block list (after block '%s')",
					     name);
		return mig_error_set(err, MIG_ERAM, at,
				     "RAM block '%s': postcopy-ram is on, but the bytes after the block's length parse neither with nor without a block page size",
				     name);
	}
	if (without == FIT_YES)
		return 0;
	return mig_rd_be64(r, ps, err);
}

/* Page @i of a mapped-ram block: in the page array at @off, or a hole. */
static int report_mapped(struct mig_reader *r, struct mig_stream *s,
			 struct ram_state *st, struct mig_record *rec,
			 long bi, uint64_t i, bool set, uint64_t off,
			 struct mig_error *err)
{
	struct mig_page pg = page_of(r, s, rec, bi, i * s->page_size, off);
	int ret;

	pg.record = MIG_PREC_MAPPED;
	pg.data_offset = off;
	if (!set) {
		pg.kind = MIG_PAGE_FILL;
		return report(st, &pg, err);
	}
	pg.kind = MIG_PAGE_DATA;
	pg.len = (size_t)s->page_size;
	ret = mig_rd_seek(r, off, err);
	if (!ret)
		ret = mig_rd_peek(r, pg.len, &pg.data, err);
	if (!ret)
		ret = report(st, &pg, err);
	return ret;
}

/*
 * A mapped-ram block (FORMAT.md 4.9): its header, then its bitmap and page
 * array at the file offsets the header gives; the block list goes on
 * after the page array.  A pipe can follow as long as every offset lies
 * ahead, which is how QEMU lays the file out.
 */
static int read_mapped(struct mig_reader *r, struct mig_stream *s,
		       struct ram_state *st, struct mig_record *rec, long bi,
		       struct mig_error *err)
{
	struct mig_ram_block *b = &s->ram_blocks[bi];
	const uint64_t psize = s->page_size;
	const uint64_t size = mig_rd_size(r);
	uint64_t at = mig_rd_offset(r);
	uint64_t ps, boff, poff, npages, bsize, end;
	uint8_t *bitmap = NULL;
	uint32_t version;
	int ret;

	ret = mig_rd_be32(r, &version, err);
	if (!ret)
		ret = mig_rd_be64(r, &ps, err);
	if (!ret)
		ret = mig_rd_be64(r, &boff, err);
	if (!ret)
		ret = mig_rd_be64(r, &poff, err);
	if (ret)
		return ret;
	if (version > RAM_MAPPED_VERSION)
		return mig_error_set(err, MIG_EUNSUP, at,
				     "RAM block '%s': mapped-ram header version %" PRIu32 " (this version reads %d)",
				     b->name, version, RAM_MAPPED_VERSION);
	if (version != RAM_MAPPED_VERSION)
		return mig_error_set(err, MIG_ERAM, at,
				     "RAM block '%s': mapped-ram header version %" PRIu32 " (QEMU writes %d)",
				     b->name, version, RAM_MAPPED_VERSION);
	if (ps != psize)
		return mig_error_set(err, MIG_ERAM, at + 4,
				     "RAM block '%s': mapped-ram page size %" PRIu64 " differs from the stream's %" PRIu64,
				     b->name, ps, psize);
	b->mapped = true;
	b->bitmap_offset = boff;
	b->pages_offset = poff;
	/* A block x-ignore-shared leaves out: no bitmap, no pages. */
	if (!boff && !poff)
		return 0;

	npages = b->length / psize;
	bsize = (npages + 63) / 64 * 8;
	if (poff % psize)
		return mig_error_set(err, MIG_ERAM, at + 20,
				     "RAM block '%s': mapped-ram pages at 0x%" PRIx64 ", not aligned to the page size %" PRIu64,
				     b->name, poff, psize);
	if (boff < at + RAM_MAPPED_HEADER)
		return mig_error_set(err, MIG_ERAM, at + 12,
				     "RAM block '%s': mapped-ram bitmap at 0x%" PRIx64 ", before the end of its header at 0x%" PRIx64,
				     b->name, boff, at + RAM_MAPPED_HEADER);
	if (poff < boff || poff - boff < bsize)
		return mig_error_set(err, MIG_ERAM, at + 20,
				     "RAM block '%s': mapped-ram pages at 0x%" PRIx64 " overlap the bitmap of %" PRIu64 " bytes at 0x%" PRIx64,
				     b->name, poff, bsize, boff);
	if (poff > UINT64_MAX - b->length)
		return mig_error_set(err, MIG_ERAM, at + 20,
				     "RAM block '%s': mapped-ram pages at 0x%" PRIx64 " end past any file",
				     b->name, poff);
	end = poff + b->length;
	if (size != MIG_NO_OFFSET && end > size)
		return mig_error_set(err, MIG_ETRUNC, at + 20,
				     "truncated: RAM block '%s': the mapped-ram page array [0x%" PRIx64 ", 0x%" PRIx64 ") ends past the end of the input at 0x%" PRIx64,
				     b->name, poff, end, size);

	if (bsize > MIG_RD_WINDOW_MAX)
		return mig_error_set(err, MIG_ELIMIT, at + 12,
				     "RAM block '%s': mapped-ram bitmap of %" PRIu64 " bytes exceeds the limit of %u",
				     b->name, bsize, MIG_RD_WINDOW_MAX);
	/* The bitmap: host unsigned longs, little-endian 64-bit (x86-64). */
	bitmap = malloc(bsize ? (size_t)bsize : 1);
	if (!bitmap)
		return mig_error_set(err, MIG_ENOMEM, boff, "out of memory");
	ret = mig_rd_seek(r, boff, err);
	if (!ret)
		ret = mig_rd_bytes(r, bitmap, (size_t)bsize, err);
	for (uint64_t i = 0; !ret && i < npages; i++) {
		bool set = bitmap[i / 8] >> (i % 8) & 1;
		uint64_t pat = poff + i * psize;

		if (set) {
			b->pages++;
			rec->ram.pages++;
			rec->ram.page_bytes += psize;
		} else {
			b->zero++;
			rec->ram.zero++;
		}
		if (st->on_page)
			ret = report_mapped(r, s, st, rec, bi, i, set,
					    set ? pat : boff + i / 8, err);
	}
	free(bitmap);
	if (!ret)
		ret = mig_rd_seek(r, end, err);
	return ret;
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
		uint64_t len, addr = 0, ps = 0;
		long idx;
		int ret;

		ret = mig_rd_str8(r, name, err);
		/* A NUL would cut the name short (QEMU writes none). */
		if (!ret && name[0] && strlen(name) != mig_rd_offset(r) - at - 1)
			return mig_error_set(err, MIG_ERAM, at + 1 + strlen(name),
					     "RAM block name '%s' goes on after a NUL byte",
					     name);
		if (!ret)
			ret = mig_rd_be64(r, &len, err);
		if (ret)
			return ret;
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
		if (st->postcopy) {
			ret = read_block_page_size(r, st, name, left,
						   s->page_size, &ps, err);
			if (ret)
				return ret;
		}
		if (st->ignore_shared) {
			/* The block's guest address, which QEMU checks. */
			ret = mig_rd_be64(r, &addr, err);
			if (ret)
				return ret;
		}
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
			idx = (long)s->nram_blocks++;
			b = &s->ram_blocks[idx];
			memset(b, 0, sizeof(*b));
			memcpy(b->name, name, sizeof(b->name));
		} else {
			b = &s->ram_blocks[idx];
		}
		b->length = len;
		b->offset = at;
		b->page_size = ps;
		b->has_addr = st->ignore_shared;
		b->addr = addr;
		rec->ram.nblocks++;
		if (st->mapped_ram) {
			ret = read_mapped(r, s, st, rec, idx, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Page records                                                        */

/* Block of a page record: named, or the previous one with CONTINUE. */
static int page_block(struct mig_reader *r, struct mig_stream *s,
		      struct ram_state *st, uint64_t at, unsigned flags,
		      uint64_t addr, long *out, struct mig_error *err)
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
		if (strlen(name) != mig_rd_offset(r) - at - 9)
			return mig_error_set(err, MIG_ERAM, at + 9 + strlen(name),
					     "RAM block name '%s' goes on after a NUL byte",
					     name);
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
	*out = st->last;
	return 0;
}

static int read_zero(struct mig_reader *r, struct mig_stream *s,
		     struct ram_state *st, struct mig_record *rec, long bi,
		     uint64_t addr, uint64_t at, struct mig_error *err)
{
	struct mig_page pg = page_of(r, s, rec, bi, addr, at);
	int ret;

	pg.data_offset = mig_rd_offset(r);
	ret = mig_rd_u8(r, &pg.fill, err);
	if (ret)
		return ret;
	s->ram_blocks[bi].zero++;
	rec->ram.zero++;
	if (!st->on_page)
		return 0;
	pg.kind = MIG_PAGE_FILL;
	pg.record = MIG_PREC_ZERO;
	return report(st, &pg, err);
}

static int read_page(struct mig_reader *r, struct mig_stream *s,
		     struct ram_state *st, struct mig_record *rec, long bi,
		     uint64_t addr, uint64_t at, struct mig_error *err)
{
	const uint64_t psize = s->page_size;
	int ret;

	if (st->on_page) {
		struct mig_page pg = page_of(r, s, rec, bi, addr, at);

		pg.kind = MIG_PAGE_DATA;
		pg.record = MIG_PREC_PAGE;
		pg.len = (size_t)psize;
		pg.data_offset = mig_rd_offset(r);
		ret = mig_rd_peek(r, (size_t)psize, &pg.data, err);
		if (!ret)
			ret = report(st, &pg, err);
		if (ret)
			return ret;
	}
	ret = mig_rd_skip(r, psize, err);
	if (ret)
		return ret;
	s->ram_blocks[bi].pages++;
	rec->ram.pages++;
	rec->ram.page_bytes += psize;
	return 0;
}

/* XBZRLE: u8 0x01, be16 length, the delta (FORMAT.md 4.5). */
static int read_xbzrle(struct mig_reader *r, struct mig_stream *s,
		       struct ram_state *st, struct mig_record *rec, long bi,
		       uint64_t addr, uint64_t at, struct mig_error *err)
{
	const uint64_t psize = s->page_size;
	uint64_t hat = mig_rd_offset(r);
	const uint8_t *p;
	uint8_t enc;
	uint16_t len;
	int ret;

	ret = mig_rd_u8(r, &enc, err);
	if (!ret)
		ret = mig_rd_be16(r, &len, err);
	if (ret)
		return ret;
	if (enc != 0x01)
		return mig_error_set(err, MIG_ERAM, hat,
				     "xbzrle page with encoding 0x%02x (QEMU knows only 0x01)",
				     enc);
	if (len > psize)
		return mig_error_set(err, MIG_ERAM, hat + 1,
				     "xbzrle delta of %u bytes is longer than the page of %" PRIu64 " bytes",
				     len, psize);
	ret = mig_rd_peek(r, len, &p, err);
	if (!ret)
		ret = mig_xbzrle_check(p, len, (size_t)psize, hat + 3, err);
	if (ret)
		return ret;
	if (st->on_page) {
		struct mig_page pg = page_of(r, s, rec, bi, addr, at);

		pg.kind = MIG_PAGE_XBZRLE;
		pg.record = MIG_PREC_XBZRLE;
		pg.data = p;
		pg.len = len;
		pg.data_offset = hat + 3;
		ret = report(st, &pg, err);
		if (ret)
			return ret;
	}
	ret = mig_rd_skip(r, len, err);
	if (ret)
		return ret;
	s->ram_blocks[bi].xbzrle++;
	rec->ram.xbzrle++;
	return 0;
}

/* COMPRESS_PAGE: be32 length, zlib data that inflates to one page. */
static int read_compressed(struct mig_reader *r, struct mig_stream *s,
			   struct ram_state *st, struct mig_record *rec,
			   long bi, uint64_t addr, uint64_t at,
			   struct mig_error *err)
{
	const uint64_t psize = s->page_size;
	const uLong bound = compressBound((uLong)psize);
	uint64_t lat = mig_rd_offset(r);
	const uint8_t *p;
	uLongf out;
	uint32_t len;
	int ret, zret;

	ret = mig_rd_be32(r, &len, err);
	if (ret)
		return ret;
	if (len == 0 || len > bound)
		return mig_error_set(err, MIG_ERAM, lat,
				     "compressed page of %" PRIu32 " bytes (zlib needs 1 to %lu for a page of %" PRIu64 ")",
				     len, (unsigned long)bound, psize);
	if (st->page_cap < psize) {
		uint8_t *np = realloc(st->page, (size_t)psize);

		if (!np)
			return mig_error_set(err, MIG_ENOMEM, at,
					     "out of memory");
		st->page = np;
		st->page_cap = (size_t)psize;
	}
	ret = mig_rd_peek(r, len, &p, err);
	if (ret)
		return ret;
	out = (uLongf)psize;
	zret = uncompress(st->page, &out, p, len);
	if (zret == Z_BUF_ERROR)
		return mig_error_set(err, MIG_ERAM, lat + 4,
				     "compressed page inflates to more than one page of %" PRIu64 " bytes",
				     psize);
	if (zret != Z_OK)
		return mig_error_set(err, MIG_ERAM, lat + 4,
				     "compressed page: bad zlib data (%s)",
				     zret == Z_MEM_ERROR ? "out of memory"
							 : "corrupt or incomplete");
	if (out != psize)
		return mig_error_set(err, MIG_ERAM, lat + 4,
				     "compressed page inflates to %lu bytes, not one page of %" PRIu64,
				     (unsigned long)out, psize);
	if (st->on_page) {
		struct mig_page pg = page_of(r, s, rec, bi, addr, at);

		pg.kind = MIG_PAGE_DATA;
		pg.record = MIG_PREC_COMPRESS;
		pg.data = st->page;
		pg.len = (size_t)psize;
		pg.data_offset = lat;
		ret = report(st, &pg, err);
		if (ret)
			return ret;
	}
	ret = mig_rd_skip(r, len, err);
	if (ret)
		return ret;
	s->ram_blocks[bi].pages++;
	s->ram_blocks[bi].compressed++;
	rec->ram.pages++;
	rec->ram.compressed++;
	rec->ram.page_bytes += psize;
	return 0;
}

static const char *flag_name(unsigned flag)
{
	switch (flag) {
	case RAM_FLAG_ZERO:
		return "zero";
	case RAM_FLAG_PAGE:
		return "page";
	case RAM_FLAG_XBZRLE:
		return "xbzrle";
	case RAM_FLAG_HOOK:
		return "hook";
	case RAM_FLAG_COMPRESS_PAGE:
		return "compressed page";
	case RAM_FLAG_MULTIFD_FLUSH:
		return "multifd flush";
	default:
		return "?";
	}
}

int ram_read_chunk(struct mig_reader *r, struct mig_stream *s,
		   struct ram_state *st, struct mig_record *rec,
		   struct mig_error *err)
{
	const uint64_t psize = s->page_size;

	for (;;) {
		uint64_t at = mig_rd_offset(r);
		uint64_t word, addr;
		unsigned flags, kind;
		long bi = -1;
		int ret;

		ret = mig_rd_be64(r, &word, err);
		if (ret)
			return ret;
		flags = (unsigned)(word & (psize - 1));
		addr = word & ~(psize - 1);
		kind = flags & ~RAM_FLAG_CONTINUE;

		/* Pages of a mapped-ram stream are in the block list only. */
		if (st->mapped_ram &&
		    (kind == RAM_FLAG_ZERO || kind == RAM_FLAG_PAGE ||
		     kind == RAM_FLAG_XBZRLE || kind == RAM_FLAG_HOOK ||
		     kind == RAM_FLAG_COMPRESS_PAGE ||
		     kind == RAM_FLAG_MULTIFD_FLUSH))
			return mig_error_set(err, MIG_ERAM, at,
					     "unexpected RAM flags 0x%x (%s) in a mapped-ram stream",
					     flags, flag_name(kind));

		switch (kind) {
		case RAM_FLAG_MEM_SIZE:
			ret = read_block_list(r, s, st, rec, addr, err);
			break;
		case RAM_FLAG_ZERO:
			ret = page_block(r, s, st, at, flags, addr, &bi, err);
			if (!ret)
				ret = read_zero(r, s, st, rec, bi, addr, at,
						err);
			break;
		case RAM_FLAG_PAGE:
			ret = page_block(r, s, st, at, flags, addr, &bi, err);
			if (!ret)
				ret = read_page(r, s, st, rec, bi, addr, at,
						err);
			break;
		case RAM_FLAG_XBZRLE:
			ret = page_block(r, s, st, at, flags, addr, &bi, err);
			if (!ret)
				ret = read_xbzrle(r, s, st, rec, bi, addr, at,
						  err);
			break;
		case RAM_FLAG_COMPRESS_PAGE:
			ret = page_block(r, s, st, at, flags, addr, &bi, err);
			if (!ret)
				ret = read_compressed(r, s, st, rec, bi, addr,
						      at, err);
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
		case RAM_FLAG_HOOK:
			return mig_error_set(err, MIG_EUNSUP, at,
					     "RAM hook record (0x%x): the source used RDMA, whose pages travel outside the stream, so a file or pipe cannot hold them",
					     flags);
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
