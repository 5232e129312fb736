/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ram.c: ram_read_chunk() on hand-made RAM chunks
 * (FORMAT.md section 4), without the stream framing around them, and the
 * XBZRLE delta check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "builder.h"
#include "ram.h"

#define PS 4096u

/* What one test works on: a stream (for its blocks), the cross-chunk state
 * and the record being filled. */
struct fix {
	struct mig_stream s;
	struct ram_state st;
	struct mig_record rec;
	struct mig_error err;
	struct buf b;
	uint64_t end;		/* reader offset after the call */
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->s.page_size = PS;
	f->st.last = -1;
	mig_error_clear(&f->err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	ram_state_release(&f->st);
	free(f->s.ram_blocks);
	buf_free(&f->b);
	free(f);
	return 0;
}

/* Runs ram_read_chunk over f->b from @from, into a fresh record. */
static int run_from(struct fix *f, size_t from)
{
	struct mig_reader *r = NULL;
	int ret;

	memset(&f->rec, 0, sizeof(f->rec));
	assert_int_equal(mig_reader_from_mem(&r, f->b.p, f->b.len, "ram", NULL),
			 0);
	assert_int_equal(mig_rd_skip(r, from, NULL), 0);
	ret = ram_read_chunk(r, &f->s, &f->st, &f->rec, &f->err);
	f->end = mig_rd_offset(r);
	mig_reader_free(r);
	return ret;
}

static int run(struct fix *f)
{
	return run_from(f, 0);
}

static void assert_err(const struct fix *f, int ret, int code, uint64_t off,
		       const char *msg)
{
	assert_int_equal(ret, -code);
	assert_int_equal(f->err.code, code);
	assert_int_equal(f->err.offset, off);
	if (msg)
		assert_string_equal(f->err.msg, msg);
}

/* The usual START chunk: pc.ram of 4 pages and rom of 1 page, then EOS. */
static void put_two_blocks(struct buf *b)
{
	put_ram_mem_size(b, 5 * PS);
	put_ram_block(b, "pc.ram", 4 * PS);
	put_ram_block(b, "rom", PS);
}

/* ---- block list ---- */

static void block_list_is_parsed(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->s.nram_blocks, 2);
	assert_string_equal(f->s.ram_blocks[0].name, "pc.ram");
	assert_int_equal(f->s.ram_blocks[0].length, 4 * PS);
	assert_int_equal(f->s.ram_blocks[0].offset, 8);
	assert_string_equal(f->s.ram_blocks[1].name, "rom");
	assert_int_equal(f->s.ram_blocks[1].length, PS);
	assert_int_equal(f->s.ram_blocks[1].offset, 8 + 1 + 6 + 8);
	assert_int_equal(f->rec.ram.nblocks, 2);
	assert_int_equal(f->rec.ram.pages, 0);
	assert_int_equal(f->rec.ram.zero, 0);
}

static void block_list_with_ignore_shared_addresses(void **state)
{
	struct fix *f = *state;

	f->st.ignore_shared = true;
	put_ram_mem_size(&f->b, 3 * PS);
	put_ram_block(&f->b, "pc.bios", PS);
	buf_be64(&f->b, 0xfffc0000);		/* guest address */
	put_ram_block(&f->b, "mem", 2 * PS);
	buf_be64(&f->b, 0);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->s.nram_blocks, 2);
	assert_string_equal(f->s.ram_blocks[1].name, "mem");
	assert_int_equal(f->s.ram_blocks[1].length, 2 * PS);
	assert_int_equal(f->s.ram_blocks[1].offset, 8 + 1 + 7 + 8 + 8);
}

static void empty_block_list(void **state)
{
	struct fix *f = *state;

	put_ram_mem_size(&f->b, 0);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->s.nram_blocks, 0);
	assert_int_equal(f->end, 16);
}

static void block_listed_again_is_updated_not_added(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	put_ram_mem_size(&f->b, 8 * PS);
	put_ram_block(&f->b, "pc.ram", 8 * PS);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->s.nram_blocks, 2);
	assert_int_equal(f->s.ram_blocks[0].length, 8 * PS);
	assert_int_equal(f->rec.ram.nblocks, 3);
}

static void block_exceeding_the_total(void **state)
{
	struct fix *f = *state;

	put_ram_mem_size(&f->b, 3 * PS);
	put_ram_block(&f->b, "a", 2 * PS);
	put_ram_block(&f->b, "b", 2 * PS);	/* 1 page left */
	assert_err(f, run(f), MIG_ERAM, 8 + 1 + 1 + 8,
		   "RAM block 'b' of 0x2000 bytes exceeds the 0x1000 bytes left of the announced total 0x3000");
}

static void block_of_length_zero(void **state)
{
	struct fix *f = *state;

	put_ram_mem_size(&f->b, PS);
	put_ram_block(&f->b, "z", 0);
	assert_err(f, run(f), MIG_ERAM, 8, "RAM block 'z' has length 0");
}

static void block_with_an_empty_name(void **state)
{
	struct fix *f = *state;

	put_ram_mem_size(&f->b, PS);
	put_ram_block(&f->b, "", PS);
	assert_err(f, run(f), MIG_ERAM, 8, "RAM block with an empty name");
}

static void block_list_truncated(void **state)
{
	struct fix *f = *state;

	put_ram_mem_size(&f->b, PS);
	buf_str8(&f->b, "pc.ram");
	buf_be32(&f->b, 0);			/* half a length */
	assert_err(f, run(f), MIG_ETRUNC, 8 + 7,
		   "truncated (need 8 bytes, have 4)");
}

static void too_many_blocks(void **state)
{
	struct fix *f = *state;
	char name[16];
	size_t last = 0;

	put_ram_mem_size(&f->b, (uint64_t)(RAM_BLOCKS_MAX + 1) * PS);
	for (int i = 0; i <= RAM_BLOCKS_MAX; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		last = f->b.len;
		put_ram_block(&f->b, name, PS);
	}
	put_ram_eos(&f->b);
	assert_err(f, run(f), MIG_ELIMIT, last, "more than 4096 RAM blocks");
	assert_int_equal(f->s.nram_blocks, RAM_BLOCKS_MAX);
}

/* ---- pages ---- */

static void zero_and_page_records_are_counted(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	put_ram_zero(&f->b, 0, "pc.ram");
	put_ram_zero(&f->b, PS, NULL);
	put_ram_page(&f->b, 2 * PS, NULL, 0x11, PS);
	put_ram_page(&f->b, 0, "rom", 0x22, PS);
	put_ram_zero(&f->b, 3 * PS, "pc.ram");
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->s.ram_blocks[0].zero, 3);
	assert_int_equal(f->s.ram_blocks[0].pages, 1);
	assert_int_equal(f->s.ram_blocks[1].zero, 0);
	assert_int_equal(f->s.ram_blocks[1].pages, 1);
	assert_int_equal(f->rec.ram.zero, 3);
	assert_int_equal(f->rec.ram.pages, 2);
	assert_int_equal(f->rec.ram.page_bytes, 2 * PS);
	assert_int_equal(f->rec.ram.flushes, 0);
}

static void counts_are_per_chunk_and_blocks_accumulate(void **state)
{
	struct fix *f = *state;
	size_t second;

	put_two_blocks(&f->b);
	put_ram_page(&f->b, 0, "pc.ram", 1, PS);
	put_ram_eos(&f->b);
	second = f->b.len;
	/* The next chunk continues the block named in the first one. */
	put_ram_page(&f->b, PS, NULL, 2, PS);
	put_ram_zero(&f->b, 2 * PS, NULL);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, second);
	assert_int_equal(f->rec.ram.pages, 1);
	assert_int_equal(run_from(f, second), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->rec.ram.pages, 1);
	assert_int_equal(f->rec.ram.zero, 1);
	assert_int_equal(f->rec.ram.nblocks, 0);
	assert_int_equal(f->s.ram_blocks[0].pages, 2);
	assert_int_equal(f->s.ram_blocks[0].zero, 1);
}

static void multifd_flush_is_counted(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_FLUSH);
	put_ram_zero(&f->b, 0, "rom");
	put_ram_word(&f->b, 0, T_RAM_FLUSH);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->rec.ram.flushes, 2);
	assert_int_equal(f->rec.ram.zero, 1);
}

static void eos_ends_the_chunk(void **state)
{
	struct fix *f = *state;

	put_ram_eos(&f->b);
	buf_fill(&f->b, 0xff, 16);		/* not part of this chunk */
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, 8);
}

static void page_size_8k_splits_the_word_there(void **state)
{
	struct fix *f = *state;

	f->s.page_size = 8192;
	put_ram_mem_size(&f->b, 4 * 8192);
	put_ram_block(&f->b, "pc.ram", 4 * 8192);
	put_ram_page(&f->b, 3 * 8192, "pc.ram", 0x33, 8192);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->rec.ram.page_bytes, 8192);
}

/* ---- page errors ---- */

static void unknown_block_name(void **state)
{
	struct fix *f = *state;
	size_t at;

	put_two_blocks(&f->b);
	at = f->b.len;
	put_ram_zero(&f->b, 0, "nope");
	assert_err(f, run(f), MIG_ERAM, at + 8,
		   "unknown RAM block 'nope' (not in the block list)");
}

static void continue_without_a_previous_block(void **state)
{
	struct fix *f = *state;
	size_t at;

	put_two_blocks(&f->b);
	at = f->b.len;
	put_ram_zero(&f->b, PS, NULL);
	assert_err(f, run(f), MIG_ERAM, at,
		   "page record continues a block, but no block was named before");
}

static void page_offset_outside_the_block(void **state)
{
	struct fix *f = *state;
	size_t at;

	put_two_blocks(&f->b);
	at = f->b.len;
	put_ram_page(&f->b, PS, "rom", 0, PS);	/* rom is one page */
	assert_err(f, run(f), MIG_ERAM, at,
		   "page offset 0x1000 outside RAM block 'rom' of 0x1000 bytes");
}

static void continued_page_outside_the_block(void **state)
{
	struct fix *f = *state;
	size_t at;

	put_two_blocks(&f->b);
	put_ram_zero(&f->b, 3 * PS, "pc.ram");
	at = f->b.len;
	put_ram_zero(&f->b, 4 * PS, NULL);
	assert_err(f, run(f), MIG_ERAM, at,
		   "page offset 0x4000 outside RAM block 'pc.ram' of 0x4000 bytes");
}

static void truncated_inside_a_page(void **state)
{
	struct fix *f = *state;
	size_t data;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_PAGE);
	buf_str8(&f->b, "pc.ram");
	data = f->b.len;
	buf_fill(&f->b, 0x44, 100);
	assert_err(f, run(f), MIG_ETRUNC, data,
		   "truncated (need 4096 bytes, have 100)");
	assert_int_equal(f->rec.ram.pages, 0);
}

static void truncated_inside_a_record_word(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	buf_be32(&f->b, 0);
	assert_err(f, run(f), MIG_ETRUNC, f->b.len - 4,
		   "truncated (need 8 bytes, have 4)");
}

static void truncated_zero_fill_byte(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_ZERO);
	buf_str8(&f->b, "rom");
	assert_err(f, run(f), MIG_ETRUNC, f->b.len,
		   "truncated (need 1 byte, have 0)");
}

static void eos_with_an_offset(void **state)
{
	struct fix *f = *state;

	put_ram_word(&f->b, 0x3000, T_RAM_EOS);
	assert_err(f, run(f), MIG_ERAM, 0,
		   "EOS record with offset or flags: 0x3010");
}

static void eos_with_continue(void **state)
{
	struct fix *f = *state;

	put_ram_word(&f->b, 0, T_RAM_EOS | T_RAM_CONTINUE);
	assert_err(f, run(f), MIG_ERAM, 0,
		   "EOS record with offset or flags: 0x30");
}

/* Flag words QEMU's loader rejects, with the flags it prints. */
static void unknown_flag_combinations(void **state)
{
	static const struct {
		unsigned flags;
		const char *msg;
	} cases[] = {
		{ 0x000, "unknown combination of migration flags: 0x0" },
		{ 0x001, "unknown combination of migration flags: 0x1" },
		{ 0x00a, "unknown combination of migration flags: 0xa" },
		{ 0x014, "unknown combination of migration flags: 0x14" },
		{ 0x400, "unknown combination of migration flags: 0x400" },
		{ 0x822, "unknown combination of migration flags: 0x822" },
		{ 0x020, "unknown combination of migration flags: 0x20" },
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_free(&f->b);
		mig_error_clear(&f->err);
		put_ram_eos(&f->b);		/* something before it */
		put_ram_word(&f->b, 0x1000, cases[i].flags);
		buf_fill(&f->b, 0, 16);
		/* Skip the EOS: the chunk starts at the bad word. */
		assert_err(f, run_from(f, 8), MIG_ERAM, 8, cases[i].msg);
	}
}

static void hook_is_unsupported(void **state)
{
	struct fix *f = *state;

	put_ram_word(&f->b, 0, T_RAM_HOOK);
	assert_err(f, run(f), MIG_EUNSUP, 0,
		   "RAM hook record (0x80): the source used RDMA, whose pages travel outside the stream, so a file or pipe cannot hold them");
}

/* ---- XBZRLE (FORMAT.md 4.5) ---- */

/* An XBZRLE record for @block (NULL: CONTINUE) with @len delta bytes. */
static void put_xbzrle(struct buf *b, uint64_t addr, const char *block,
		       uint8_t enc, uint16_t len, const void *delta)
{
	put_ram_word(b, addr, T_RAM_XBZRLE | (block ? 0 : T_RAM_CONTINUE));
	if (block)
		buf_str8(b, block);
	buf_u8(b, enc);
	buf_be16(b, len);
	buf_put(b, delta, len);
}

static void xbzrle_page_is_counted(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	/* 16 unchanged bytes, then 3 new ones. */
	put_xbzrle(&f->b, PS, "pc.ram", 1, 5, "\x10\x03\xaa\xbb\xcc");
	put_xbzrle(&f->b, 2 * PS, NULL, 1, 4, "\x00\x02\x01\x02");
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->rec.ram.xbzrle, 2);
	assert_int_equal(f->s.ram_blocks[0].xbzrle, 2);
	assert_int_equal(f->rec.ram.pages, 0);
	assert_int_equal(f->rec.ram.page_bytes, 0);
}

static void xbzrle_with_another_encoding(void **state)
{
	struct fix *f = *state;
	size_t hdr;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_XBZRLE);
	buf_str8(&f->b, "rom");
	hdr = f->b.len;
	buf_u8(&f->b, 2);
	buf_be16(&f->b, 2);
	buf_put(&f->b, "\x00\x01", 2);
	assert_err(f, run(f), MIG_ERAM, hdr,
		   "xbzrle page with encoding 0x02 (QEMU knows only 0x01)");
}

static void xbzrle_longer_than_a_page(void **state)
{
	struct fix *f = *state;
	size_t hdr;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_XBZRLE);
	buf_str8(&f->b, "rom");
	hdr = f->b.len;
	buf_u8(&f->b, 1);
	buf_be16(&f->b, PS + 1);
	buf_fill(&f->b, 0, PS + 1);
	assert_err(f, run(f), MIG_ERAM, hdr + 1,
		   "xbzrle delta of 4097 bytes is longer than the page of 4096 bytes");
}

static void xbzrle_delta_with_an_empty_data_run(void **state)
{
	struct fix *f = *state;
	size_t delta;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_XBZRLE);
	buf_str8(&f->b, "rom");
	buf_u8(&f->b, 1);
	buf_be16(&f->b, 3);
	delta = f->b.len;
	buf_put(&f->b, "\x05\x00\x00", 3);	/* 5 unchanged, 0 new */
	assert_err(f, run(f), MIG_ERAM, delta + 1,
		   "xbzrle: empty data run at delta offset 1");
}

static void xbzrle_delta_cut_short(void **state)
{
	struct fix *f = *state;
	size_t delta;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_XBZRLE);
	buf_str8(&f->b, "rom");
	buf_u8(&f->b, 1);
	buf_be16(&f->b, 5);
	delta = f->b.len;
	buf_put(&f->b, "\x00\x03", 2);
	assert_err(f, run(f), MIG_ETRUNC, delta,
		   "truncated (need 5 bytes, have 2)");
}

/* ---- COMPRESS_PAGE ---- */

/* A COMPRESS_PAGE record of @n bytes of @fill, deflated with zlib. */
static void put_compressed(struct buf *b, uint64_t addr, const char *block,
			   uint8_t fill, size_t n)
{
	uint8_t *raw = malloc(n);
	uLongf clen = compressBound((uLong)n);
	uint8_t *z = malloc(clen);

	assert_non_null(raw);
	assert_non_null(z);
	memset(raw, fill, n);
	assert_int_equal(compress2(z, &clen, raw, (uLong)n, 6), Z_OK);
	put_ram_word(b, addr, T_RAM_COMPRESS | (block ? 0 : T_RAM_CONTINUE));
	if (block)
		buf_str8(b, block);
	buf_be32(b, (uint32_t)clen);
	buf_put(b, z, clen);
	free(raw);
	free(z);
}

static void compressed_page_is_inflated_and_counted(void **state)
{
	struct fix *f = *state;

	put_two_blocks(&f->b);
	put_compressed(&f->b, 0, "pc.ram", 0x5a, PS);
	put_compressed(&f->b, PS, NULL, 0x00, PS);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->rec.ram.pages, 2);
	assert_int_equal(f->rec.ram.compressed, 2);
	assert_int_equal(f->rec.ram.page_bytes, 2 * PS);
	assert_int_equal(f->s.ram_blocks[0].pages, 2);
	assert_int_equal(f->s.ram_blocks[0].compressed, 2);
}

static void compressed_page_of_length_zero(void **state)
{
	struct fix *f = *state;
	char msg[128];
	size_t lat;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_COMPRESS);
	buf_str8(&f->b, "rom");
	lat = f->b.len;
	buf_be32(&f->b, 0);
	snprintf(msg, sizeof(msg),
		 "compressed page of 0 bytes (zlib needs 1 to %lu for a page of 4096)",
		 (unsigned long)compressBound(PS));
	assert_err(f, run(f), MIG_ERAM, lat, msg);
}

static void compressed_page_with_bad_zlib_data(void **state)
{
	struct fix *f = *state;
	size_t lat;

	put_two_blocks(&f->b);
	put_ram_word(&f->b, 0, T_RAM_COMPRESS);
	buf_str8(&f->b, "rom");
	lat = f->b.len;
	buf_be32(&f->b, 6);
	buf_put(&f->b, "nozlib", 6);
	assert_err(f, run(f), MIG_ERAM, lat + 4,
		   "compressed page: bad zlib data (corrupt or incomplete)");
}

static void compressed_page_smaller_than_a_page(void **state)
{
	struct fix *f = *state;
	size_t at;

	put_two_blocks(&f->b);
	at = f->b.len;
	put_compressed(&f->b, 0, "rom", 1, 100);
	assert_err(f, run(f), MIG_ERAM, at + 8 + 4 + 4,
		   "compressed page inflates to 100 bytes, not one page of 4096");
}

static void compressed_page_larger_than_a_page(void **state)
{
	struct fix *f = *state;
	size_t at;

	put_two_blocks(&f->b);
	at = f->b.len;
	put_compressed(&f->b, 0, "rom", 1, 2 * PS);
	assert_err(f, run(f), MIG_ERAM, at + 8 + 4 + 4,
		   "compressed page inflates to more than one page of 4096 bytes");
}

/* ---- mapped-ram (FORMAT.md 4.9) ---- */

/*
 * MEM_SIZE with one mapped-ram block "pc.ram" of two pages: header, the
 * bitmap (page 0 set) right after it, the page array at the next 4 KiB
 * boundary, then an EOS.  *@hdr is the header's offset.
 */
static void put_mapped_block(struct buf *b, uint32_t version, uint64_t ps,
			     size_t *hdr)
{
	uint64_t boff, poff;

	put_ram_mem_size(b, 2 * PS);
	put_ram_block(b, "pc.ram", 2 * PS);
	*hdr = b->len;
	boff = b->len + 28;
	poff = (boff + 8 + PS - 1) / PS * PS;
	buf_be32(b, version);
	buf_be64(b, ps);
	buf_be64(b, boff);
	buf_be64(b, poff);
	buf_u8(b, 0x01);			/* bitmap: page 0 only */
	buf_fill(b, 0, 7);
	buf_fill(b, 0, poff - b->len);
	buf_fill(b, 0x77, PS);			/* page 0 */
	buf_fill(b, 0, PS);			/* page 1: a hole */
	put_ram_eos(b);
}

static void mapped_ram_block_is_read_from_its_bitmap(void **state)
{
	struct fix *f = *state;
	size_t hdr;

	f->st.mapped_ram = true;
	put_mapped_block(&f->b, 1, PS, &hdr);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_true(f->s.ram_blocks[0].mapped);
	assert_int_equal(f->s.ram_blocks[0].bitmap_offset, hdr + 28);
	assert_int_equal(f->s.ram_blocks[0].pages_offset, PS);
	assert_int_equal(f->s.ram_blocks[0].pages, 1);
	assert_int_equal(f->s.ram_blocks[0].zero, 1);
	assert_int_equal(f->rec.ram.pages, 1);
	assert_int_equal(f->rec.ram.zero, 1);
}

static void mapped_ram_header_of_a_newer_version(void **state)
{
	struct fix *f = *state;
	size_t hdr;

	f->st.mapped_ram = true;
	put_mapped_block(&f->b, 2, PS, &hdr);
	assert_err(f, run(f), MIG_EUNSUP, hdr,
		   "RAM block 'pc.ram': mapped-ram header version 2 (this version reads 1)");
}

static void mapped_ram_header_of_version_zero(void **state)
{
	struct fix *f = *state;
	size_t hdr;

	f->st.mapped_ram = true;
	put_mapped_block(&f->b, 0, PS, &hdr);
	assert_err(f, run(f), MIG_ERAM, hdr,
		   "RAM block 'pc.ram': mapped-ram header version 0 (QEMU writes 1)");
}

static void mapped_ram_header_with_another_page_size(void **state)
{
	struct fix *f = *state;
	size_t hdr;

	f->st.mapped_ram = true;
	put_mapped_block(&f->b, 1, 2 * PS, &hdr);
	assert_err(f, run(f), MIG_ERAM, hdr + 4,
		   "RAM block 'pc.ram': mapped-ram page size 8192 differs from the stream's 4096");
}

static void page_record_in_a_mapped_ram_stream(void **state)
{
	struct fix *f = *state;
	size_t hdr, at;

	f->st.mapped_ram = true;
	put_mapped_block(&f->b, 1, PS, &hdr);
	f->b.len -= 8;				/* drop the EOS */
	at = f->b.len;
	put_ram_page(&f->b, 0, "pc.ram", 0, PS);
	assert_err(f, run(f), MIG_ERAM, at,
		   "unexpected RAM flags 0x8 (page) in a mapped-ram stream");
}

/* ---- postcopy-ram: block page sizes (FORMAT.md 4.3) ---- */

static void postcopy_block_with_its_page_size(void **state)
{
	struct fix *f = *state;

	f->st.postcopy = true;
	put_ram_mem_size(&f->b, 2 * PS);
	put_ram_block(&f->b, "pc.ram", 2 * PS);
	buf_be64(&f->b, 2u << 20);		/* huge pages */
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->s.ram_blocks[0].page_size, 2u << 20);
}

static void postcopy_block_without_a_page_size(void **state)
{
	struct fix *f = *state;

	f->st.postcopy = true;
	put_two_blocks(&f->b);
	put_ram_eos(&f->b);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->end, f->b.len);
	assert_int_equal(f->s.ram_blocks[0].page_size, 0);
	assert_int_equal(f->s.ram_blocks[1].page_size, 0);
}

static void postcopy_block_list_that_parses_neither_way(void **state)
{
	struct fix *f = *state;

	f->st.postcopy = true;
	put_ram_mem_size(&f->b, PS);
	put_ram_block(&f->b, "pc.ram", PS);
	buf_be64(&f->b, 0x1234567);		/* no page size, no record */
	buf_fill(&f->b, 0x99, 400);	/* more than it looks ahead */
	assert_err(f, run(f), MIG_ERAM, 8 + 7 + 8,
		   "RAM block 'pc.ram': postcopy-ram is on, but the bytes after the block's length parse neither with nor without a block page size");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(block_list_is_parsed),
		T(block_list_with_ignore_shared_addresses),
		T(empty_block_list),
		T(block_listed_again_is_updated_not_added),
		T(block_exceeding_the_total),
		T(block_of_length_zero),
		T(block_with_an_empty_name),
		T(block_list_truncated),
		T(too_many_blocks),
		T(zero_and_page_records_are_counted),
		T(counts_are_per_chunk_and_blocks_accumulate),
		T(multifd_flush_is_counted),
		T(eos_ends_the_chunk),
		T(page_size_8k_splits_the_word_there),
		T(unknown_block_name),
		T(continue_without_a_previous_block),
		T(page_offset_outside_the_block),
		T(continued_page_outside_the_block),
		T(truncated_inside_a_page),
		T(truncated_inside_a_record_word),
		T(truncated_zero_fill_byte),
		T(eos_with_an_offset),
		T(eos_with_continue),
		T(unknown_flag_combinations),
		T(hook_is_unsupported),
		T(xbzrle_page_is_counted),
		T(xbzrle_with_another_encoding),
		T(xbzrle_longer_than_a_page),
		T(xbzrle_delta_with_an_empty_data_run),
		T(xbzrle_delta_cut_short),
		T(compressed_page_is_inflated_and_counted),
		T(compressed_page_of_length_zero),
		T(compressed_page_with_bad_zlib_data),
		T(compressed_page_smaller_than_a_page),
		T(compressed_page_larger_than_a_page),
		T(mapped_ram_block_is_read_from_its_bitmap),
		T(mapped_ram_header_of_a_newer_version),
		T(mapped_ram_header_of_version_zero),
		T(mapped_ram_header_with_another_page_size),
		T(page_record_in_a_mapped_ram_stream),
		T(postcopy_block_with_its_page_size),
		T(postcopy_block_without_a_page_size),
		T(postcopy_block_list_that_parses_neither_way),
	};
#undef T

	return cmocka_run_group_tests_name("ram", tests, NULL, NULL);
}
