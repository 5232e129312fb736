/* SPDX-License-Identifier: MIT */
/*
 * RAM in full (issue 3): XBZRLE, COMPRESS_PAGE and HOOK records, the
 * block-list extras (x-ignore-shared addresses, postcopy page sizes,
 * mapped-ram headers), capabilities from the caller, the page image
 * (digests and block files), and the real QEMU streams that need them.
 * Every error is checked with its code and exact offset.  Run from the
 * repository root (the real streams are read from testdata/).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>
#include <zlib.h>

#include "builder.h"

#define PS 4096u
#define MAXSEEN 64

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* What the page callback was given, copied. */
struct seen {
	enum mig_page_kind kind;
	enum mig_page_record record;
	size_t block;
	uint64_t addr, offset, data_offset, section;
	size_t len;
	uint8_t fill;
	uint8_t data[PS];
};

struct sink {
	struct seen v[MAXSEEN];
	size_t n;
};

static int sink_page(void *ctx, const struct mig_page *pg)
{
	struct sink *k = ctx;
	struct seen *e;

	if (k->n >= MAXSEEN)
		return -MIG_ELIMIT;
	e = &k->v[k->n++];
	e->kind = pg->kind;
	e->record = pg->record;
	e->block = pg->block_index;
	e->addr = pg->addr;
	e->offset = pg->offset;
	e->data_offset = pg->data_offset;
	e->section = pg->section;
	e->len = pg->len;
	e->fill = pg->fill;
	if (pg->kind != MIG_PAGE_FILL)
		memcpy(e->data, pg->data, pg->len);
	return 0;
}

/* Header, then START of "ram" (id 1) listing pc.ram of 4 pages. */
static void start_ram(struct buf *b)
{
	put_header(b);
	put_start(b, 1, "ram", 0, 4);
	put_ram_mem_size(b, 4 * PS);
	put_ram_block(b, "pc.ram", 4 * PS);
	put_ram_eos(b);
	put_footer(b, 1);
}

static void part_begin(struct buf *b)
{
	put_part(b, MIG_REC_PART, 1);
}

static void part_end_eof(struct buf *b)
{
	put_ram_eos(b);
	put_footer(b, 1);
	put_eof(b);
}

static void put_xbzrle(struct buf *b, uint64_t addr, const char *block,
		       uint8_t enc, const void *delta, uint16_t len)
{
	put_ram_word(b, addr, T_RAM_XBZRLE | (block ? 0 : T_RAM_CONTINUE));
	if (block)
		buf_str8(b, block);
	buf_u8(b, enc);
	buf_be16(b, len);
	buf_put(b, delta, len);
}

static void put_compressed(struct buf *b, uint64_t addr, const char *block,
			   const void *z, uint32_t len)
{
	put_ram_word(b, addr, T_RAM_COMPRESS | (block ? 0 : T_RAM_CONTINUE));
	if (block)
		buf_str8(b, block);
	buf_be32(b, len);
	buf_put(b, z, len);
}

/* zlib data of @n bytes of @fill, in @out (at least compressBound(n)). */
static uLongf zpage(uint8_t *out, uint8_t fill, size_t n)
{
	uint8_t *src = malloc(n);
	uLongf len = compressBound((uLong)n);

	assert_non_null(src);
	memset(src, fill, n);
	assert_int_equal(compress2(out, &len, src, (uLong)n, 6), Z_OK);
	free(src);
	return len;
}

static int parse(const struct buf *b, struct sink *k, const char *const *caps,
		 size_t ncaps, struct mig_stream **s, struct mig_error *err)
{
	struct mig_parse_opts o = {
		.on_page = k ? sink_page : NULL,
		.ctx = k,
		.caps = caps,
		.ncaps = ncaps,
	};

	mig_error_clear(err);
	return parse_buf(b, &o, s, err);
}

/* Parses @b and asserts error @code at @off. */
static void expect_err(const struct buf *b, const char *const *caps,
		       size_t ncaps, int code, uint64_t off)
{
	struct mig_stream *s = NULL;
	struct mig_error err;
	int ret = parse(b, NULL, caps, ncaps, &s, &err);

	if (ret != -code || err.offset != off)
		fail_msg("want code %d at 0x%llx, got %d at 0x%llx: %s", code,
			 (unsigned long long)off, -ret,
			 (unsigned long long)err.offset, err.msg);
	assert_false(s->complete);
	mig_stream_free(s);
}

static void expect_ok(const struct buf *b, struct sink *k,
		      const char *const *caps, size_t ncaps,
		      struct mig_stream **s)
{
	struct mig_error err;
	int ret = parse(b, k, caps, ncaps, s, &err);

	if (ret)
		fail_msg("parse failed: %d at 0x%llx: %s", -ret,
			 (unsigned long long)err.offset, err.msg);
	assert_true((*s)->complete);
}

/* Writes @b to a pipe from a child and parses the read end. */
static int parse_pipe(const struct buf *b, const struct mig_parse_opts *o,
		      struct mig_stream **s, struct mig_error *err)
{
	struct mig_reader *r = NULL;
	int fds[2], status, ret;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t off = 0;

		close(fds[0]);
		while (off < b->len) {
			ssize_t k = write(fds[1], b->p + off, b->len - off);

			if (k <= 0)
				_exit(1);
			off += (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	mig_error_clear(err);
	ret = mig_reader_from_fd(&r, fds[0], "pipe", err);
	if (!ret)
		ret = mig_stream_read(r, o, s, err);
	mig_reader_free(r);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Page records                                                        */

static void page_kinds_are_reported(void **state)
{
	static const uint8_t delta[] = { 16, 2, 0x11, 0x22 };
	struct buf b = { 0 };
	struct sink *k = calloc(1, sizeof(*k));
	struct mig_stream *s;
	uint8_t z[PS + 64];
	uLongf zl = zpage(z, 0x5a, PS);
	size_t part, at[4];
	const struct mig_record *rec;

	(void)state;
	assert_non_null(k);
	start_ram(&b);
	part = b.len;
	part_begin(&b);
	at[0] = b.len;
	put_ram_zero(&b, 0, "pc.ram");
	at[1] = b.len;
	put_ram_page(&b, PS, NULL, 0xab, PS);
	at[2] = b.len;
	put_xbzrle(&b, PS, NULL, 1, delta, sizeof(delta));
	at[3] = b.len;
	put_compressed(&b, 2 * PS, "pc.ram", z, (uint32_t)zl);
	part_end_eof(&b);
	expect_ok(&b, k, NULL, 0, &s);

	assert_int_equal(k->n, 4);
	assert_int_equal(k->v[0].kind, MIG_PAGE_FILL);
	assert_int_equal(k->v[0].record, MIG_PREC_ZERO);
	assert_int_equal(k->v[0].offset, at[0]);
	assert_int_equal(k->v[0].data_offset, at[0] + 8 + 7);
	assert_int_equal(k->v[0].section, part);
	assert_int_equal(k->v[1].kind, MIG_PAGE_DATA);
	assert_int_equal(k->v[1].record, MIG_PREC_PAGE);
	assert_int_equal(k->v[1].addr, PS);
	assert_int_equal(k->v[1].data_offset, at[1] + 8);
	assert_int_equal(k->v[1].data[PS - 1], 0xab);
	assert_int_equal(k->v[2].kind, MIG_PAGE_XBZRLE);
	assert_int_equal(k->v[2].record, MIG_PREC_XBZRLE);
	assert_int_equal(k->v[2].len, sizeof(delta));
	assert_int_equal(k->v[2].data_offset, at[2] + 8 + 3);
	assert_memory_equal(k->v[2].data, delta, sizeof(delta));
	assert_int_equal(k->v[3].kind, MIG_PAGE_DATA);
	assert_int_equal(k->v[3].record, MIG_PREC_COMPRESS);
	assert_int_equal(k->v[3].addr, 2 * PS);
	assert_int_equal(k->v[3].len, PS);
	assert_int_equal(k->v[3].data_offset, at[3] + 8 + 7);
	assert_int_equal(k->v[3].data[0], 0x5a);
	assert_int_equal(k->v[3].data[PS - 1], 0x5a);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(k->v[i].block, 0);

	rec = nth_record(s, 1);
	assert_int_equal(rec->ram.pages, 2);
	assert_int_equal(rec->ram.compressed, 1);
	assert_int_equal(rec->ram.xbzrle, 1);
	assert_int_equal(rec->ram.zero, 1);
	assert_int_equal(rec->ram.page_bytes, 2 * PS);
	assert_int_equal(s->ram_blocks[0].pages, 2);
	assert_int_equal(s->ram_blocks[0].compressed, 1);
	assert_int_equal(s->ram_blocks[0].xbzrle, 1);
	mig_stream_free(s);
	buf_free(&b);
	free(k);
}

static void hook_is_rdma_only(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_ram_word(&b, 0, T_RAM_HOOK);
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_EUNSUP, at);
	buf_free(&b);
}

static void unknown_flag_combination(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_ram_word(&b, 0, T_RAM_ZERO | T_RAM_PAGE);
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* XBZRLE                                                              */

struct xcase {
	const char *what;
	uint8_t delta[16];
	uint16_t len;
	int bad_at;		/* delta offset of the error, -1: fine */
};

static const struct xcase xcases[] = {
	{ "one run", { 0, 1, 0xee }, 3, -1 },
	{ "two-byte zero run", { 0x80, 0x01, 1, 0xee }, 4, -1 },
	{ "non-minimal empty first run", { 0x80, 0x00, 1, 0xee }, 4, -1 },
	{ "two runs", { 2, 1, 0xee, 3, 2, 0xaa, 0xbb }, 7, -1 },
	{ "empty delta", { 0 }, 0, -1 },
	{ "run length of 3 bytes", { 0x80, 0x80, 0x01, 1, 0 }, 5, 0 },
	{ "data run length of 3 bytes", { 0, 0x80, 0x80, 0x01 }, 4, 1 },
	{ "empty later zero run", { 0, 1, 0xee, 0, 1, 0xaa }, 6, 3 },
	{ "empty data run", { 4, 0, 0xee }, 3, 1 },
	{ "one byte left", { 0, 1, 0xee, 5 }, 4, 3 },
	{ "ends after a zero run", { 0, 1, 0xee, 5, 1 }, 5, 4 },
	{ "data run past the delta", { 0, 3, 0xee, 0xff }, 4, 1 },
	{ "zero run past the page", { 0x81, 0x20, 1, 0xee }, 4, 0 },
	{ "data run past the page", { 0xff, 0x1f, 2, 0xee, 0xff }, 5, 2 },
};

static void xbzrle_deltas_checked_like_qemu(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(xcases) / sizeof(*xcases); i++) {
		const struct xcase *c = &xcases[i];
		struct buf b = { 0 };
		size_t at;

		start_ram(&b);
		part_begin(&b);
		put_ram_page(&b, 0, "pc.ram", 0, PS);
		at = b.len;
		put_xbzrle(&b, 0, NULL, 1, c->delta, c->len);
		part_end_eof(&b);
		if (c->bad_at < 0) {
			struct mig_stream *s;

			expect_ok(&b, NULL, NULL, 0, &s);
			mig_stream_free(s);
		} else {
			print_message("  %s\n", c->what);
			expect_err(&b, NULL, 0, MIG_ERAM,
				   at + 8 + 3 + (size_t)c->bad_at);
		}
		buf_free(&b);
	}
}

static void xbzrle_header_checked(void **state)
{
	static const uint8_t delta[] = { 0, 1, 0xee };
	uint8_t big[PS + 1] = { 0 };
	struct buf b = { 0 };
	size_t at;

	(void)state;
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_xbzrle(&b, 0, "pc.ram", 2, delta, sizeof(delta));
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7);
	buf_free(&b);

	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_xbzrle(&b, 0, "pc.ram", 1, big, sizeof(big));
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7 + 1);
	buf_free(&b);
}

static void xbzrle_apply_edges(void **state)
{
	uint8_t page[PS], want[PS], delta[PS + 8];
	struct mig_error err;
	size_t n = 0;

	(void)state;
	/* A delta as long as the page: one data run of PS - 3 bytes whose
	 * length takes two bytes. */
	memset(page, 0x11, PS);
	delta[n++] = 0;
	delta[n++] = (uint8_t)(0x80 | ((PS - 3) & 0x7f));
	delta[n++] = (uint8_t)((PS - 3) >> 7);
	memset(delta + n, 0x77, PS - 3);
	n += PS - 3;
	memset(want, 0x77, PS - 3);
	memset(want + PS - 3, 0x11, 3);
	mig_error_clear(&err);
	assert_int_equal(mig_xbzrle_apply(page, PS, delta, n, 100, &err), 0);
	assert_memory_equal(page, want, PS);

	/* The largest run length, 0x3fff, overflows a 4 KiB page. */
	n = 0;
	delta[n++] = 0xff;
	delta[n++] = 0x7f;
	delta[n++] = 1;
	delta[n++] = 0;
	assert_int_equal(mig_xbzrle_check(delta, n, PS, 100, &err), -MIG_ERAM);
	assert_int_equal(err.offset, 100);
	/* ...and fits a 64 KiB page. */
	assert_int_equal(mig_xbzrle_check(delta, n, 65536, 100, NULL), 0);

	/* A run that ends exactly at the end of the page. */
	memset(page, 0, PS);
	n = 0;
	delta[n++] = 0x80 | ((PS - 1) & 0x7f);
	delta[n++] = (PS - 1) >> 7;
	delta[n++] = 1;
	delta[n++] = 0x42;
	assert_int_equal(mig_xbzrle_apply(page, PS, delta, n, 0, NULL), 0);
	assert_int_equal(page[PS - 1], 0x42);
	assert_int_equal(page[PS - 2], 0);
}

/* ------------------------------------------------------------------ */
/* COMPRESS_PAGE                                                       */

static void compressed_page_errors(void **state)
{
	static const uint8_t junk[] = { 0x78, 0x9c, 0xff, 0xff, 0x00, 0x12 };
	uint8_t z[2 * PS + 64];
	struct buf b = { 0 };
	uLongf zl;
	size_t at;

	(void)state;
	/* Length 0 and above compressBound: at the be32 length. */
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_compressed(&b, 0, "pc.ram", z, 0);
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7);
	buf_free(&b);

	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_ram_word(&b, 0, T_RAM_COMPRESS);
	buf_str8(&b, "pc.ram");
	buf_be32(&b, (uint32_t)compressBound(PS) + 1);
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7);
	buf_free(&b);

	/* Bad zlib data, less than a page, more than a page: at the data. */
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_compressed(&b, 0, "pc.ram", junk, sizeof(junk));
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7 + 4);
	buf_free(&b);

	zl = zpage(z, 1, PS / 2);
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_compressed(&b, 0, "pc.ram", z, (uint32_t)zl);
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7 + 4);
	buf_free(&b);

	zl = zpage(z, 1, 2 * PS);
	start_ram(&b);
	part_begin(&b);
	at = b.len;
	put_compressed(&b, 0, "pc.ram", z, (uint32_t)zl);
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at + 8 + 7 + 4);
	buf_free(&b);

	/* Cut short: the data ends before its length says. */
	zl = zpage(z, 1, PS);
	start_ram(&b);
	part_begin(&b);
	put_ram_word(&b, 0, T_RAM_COMPRESS);
	buf_str8(&b, "pc.ram");
	buf_be32(&b, (uint32_t)zl);
	buf_put(&b, z, zl - 1);
	expect_err(&b, NULL, 0, MIG_ETRUNC, b.len - (zl - 1));
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Capabilities and the block list                                     */

static void unknown_capability(void **state)
{
	static const char *const caps[] = { "x-ignore-shared", "no-such-cap" };
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	start_ram(&b);
	put_eof(&b);
	assert_int_equal(parse(&b, NULL, caps, 2, &s, &err), -MIG_EINVAL);
	assert_int_equal(err.code, MIG_EINVAL);
	assert_true(mig_cap_known("mapped-ram"));
	assert_false(mig_cap_known("no-such-cap"));
	mig_stream_free(s);
	buf_free(&b);
}

static void ignore_shared_addresses_from_cap(void **state)
{
	static const char *const caps[] = { "x-ignore-shared" };
	struct buf b = { 0 };
	struct mig_stream *s;
	size_t addr_at;

	(void)state;
	put_header(&b);
	put_start(&b, 1, "ram", 0, 4);
	put_ram_mem_size(&b, 5 * PS);
	put_ram_block(&b, "pc.ram", 4 * PS);
	addr_at = b.len;
	buf_be64(&b, 0);
	put_ram_block(&b, "pc.bios", PS);
	buf_be64(&b, 0xfffc0000);
	put_ram_eos(&b);
	put_footer(&b, 1);
	put_eof(&b);
	expect_ok(&b, NULL, caps, 1, &s);
	assert_int_equal(s->nram_blocks, 2);
	assert_true(s->ram_blocks[1].has_addr);
	assert_int_equal(s->ram_blocks[1].addr, 0xfffc0000);
	mig_stream_free(s);
	/* Without the capability the address is read as the next entry. */
	expect_err(&b, NULL, 0, MIG_ERAM, addr_at);
	buf_free(&b);
}

#define HUGE (2u << 20)

/* POSTCOPY_ADVISE without arguments: only dirty bitmaps use postcopy. */
#define ADVISE_EMPTY 1

/*
 * A postcopy stream: POSTCOPY_ADVISE (unless @sizes is 0; without
 * arguments for ADVISE_EMPTY), then pc.ram
 * (@huge: 2 MiB pages, its entry carrying that page size) and rom (4 KiB
 * pages, no page size); @field_first puts the huge block first.  Returns
 * the offset right after the huge block's length.
 */
static size_t postcopy_stream(struct buf *b, uint64_t sizes, bool huge,
			      bool field_first)
{
	size_t after = 0;

	put_header(b);
	if (sizes == ADVISE_EMPTY) {
		put_cmd(b, MIG_CMD_POSTCOPY_ADVISE, 0, NULL);
	} else if (sizes) {
		uint8_t adv[16];

		for (int i = 0; i < 8; i++) {
			adv[i] = (uint8_t)(sizes >> (56 - 8 * i));
			adv[8 + i] = (uint8_t)((uint64_t)PS >> (56 - 8 * i));
		}
		put_cmd(b, MIG_CMD_POSTCOPY_ADVISE, 16, adv);
	}
	put_start(b, 1, "ram", 0, 4);
	put_ram_mem_size(b, HUGE + 4 * PS);
	if (!field_first)
		put_ram_block(b, "rom", 4 * PS);
	put_ram_block(b, "pc.ram", HUGE);
	after = b->len;
	if (huge)
		buf_be64(b, HUGE);
	if (field_first)
		put_ram_block(b, "rom", 4 * PS);
	put_ram_eos(b);
	put_footer(b, 1);
	put_eof(b);
	return after;
}

static long block_named(const struct mig_stream *s, const char *name)
{
	for (size_t i = 0; i < s->nram_blocks; i++)
		if (!strcmp(s->ram_blocks[i].name, name))
			return (long)i;
	return -1;
}

static void postcopy_page_size_inferred(void **state)
{
	static const char *const caps[] = { "postcopy-ram" };
	struct mig_stream *s;
	struct buf b = { 0 };

	(void)state;
	for (int first = 0; first < 2; first++) {
		/* Advised: huge pages exist, and this entry has the field. */
		postcopy_stream(&b, PS | HUGE, true, first);
		expect_ok(&b, NULL, NULL, 0, &s);
		assert_int_equal(s->ram_blocks[block_named(s, "pc.ram")].page_size,
				 HUGE);
		assert_int_equal(s->ram_blocks[block_named(s, "rom")].page_size,
				 0);
		mig_stream_free(s);
		buf_free(&b);

		/* Advised, but no block differs: no field anywhere. */
		postcopy_stream(&b, PS, false, first);
		expect_ok(&b, NULL, NULL, 0, &s);
		assert_int_equal(s->ram_blocks[block_named(s, "pc.ram")].page_size,
				 0);
		mig_stream_free(s);
		buf_free(&b);

		/* Not advised, but --cap postcopy-ram: both ways. */
		postcopy_stream(&b, 0, true, first);
		expect_ok(&b, NULL, caps, 1, &s);
		assert_int_equal(s->ram_blocks[block_named(s, "pc.ram")].page_size,
				 HUGE);
		mig_stream_free(s);
		buf_free(&b);
		postcopy_stream(&b, 0, false, first);
		expect_ok(&b, NULL, caps, 1, &s);
		assert_int_equal(s->ram_blocks[block_named(s, "pc.ram")].page_size,
				 0);
		mig_stream_free(s);
		buf_free(&b);
	}
}

static void postcopy_wrong_guess_is_an_error(void **state)
{
	struct buf b = { 0 };
	size_t after;

	(void)state;
	/* ADVISE says every page is 4 KiB, yet a 2 MiB page size follows:
	 * neither layout parses, at the field. */
	after = postcopy_stream(&b, PS, true, true);
	expect_err(&b, NULL, 0, MIG_ERAM, after);
	buf_free(&b);
	/* Without postcopy the field is taken for the next entry: an empty
	 * name, at the field. */
	after = postcopy_stream(&b, 0, true, true);
	expect_err(&b, NULL, 0, MIG_ERAM, after);
	buf_free(&b);
	/* An empty POSTCOPY_ADVISE does not turn postcopy-ram on. */
	after = postcopy_stream(&b, ADVISE_EMPTY, true, true);
	expect_err(&b, NULL, 0, MIG_ERAM, after);
	buf_free(&b);
	/* As the last entry, the field is taken for the next record. */
	after = postcopy_stream(&b, 0, true, false);
	expect_err(&b, NULL, 0, MIG_ERAM, after);
	buf_free(&b);
	/* Truncated inside the list. */
	after = postcopy_stream(&b, PS | HUGE, true, true);
	b.len = after + 4;
	expect_err(&b, NULL, 0, MIG_ETRUNC, after + 4);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* mapped-ram                                                          */

/* Where the parts of a mapped-ram test file are. */
struct mapped {
	size_t hdr;		/* the 28-byte header */
	uint64_t boff, poff;
};

/*
 * A mapped-ram file: configuration with the capability, pc.ram of 4
 * pages whose bitmap sets pages 0 (0xaa) and 2 (0xbb), pages aligned to
 * PS, then EOS at pages_offset + length.  @version, @ps, @boff_delta and
 * @poff (0: the right one) make it wrong on purpose.
 */
static void mapped_stream(struct buf *b, struct mapped *m, uint32_t version,
			  uint64_t ps, int64_t boff_delta, uint64_t poff)
{
	static const char *const caps[] = { "mapped-ram" };

	put_header(b);
	put_config(b, "pc-i440fx-9.0");
	put_cfg_caps(b, 1, caps);
	put_start(b, 1, "ram", 0, 4);
	put_ram_mem_size(b, 4 * PS);
	put_ram_block(b, "pc.ram", 4 * PS);
	m->hdr = b->len;
	m->boff = (uint64_t)((int64_t)m->hdr + 28 + boff_delta);
	m->poff = poff ? poff : (m->hdr + 28 + 8 + PS - 1) / PS * PS;
	buf_be32(b, version);
	buf_be64(b, ps);
	buf_be64(b, m->boff);
	buf_be64(b, m->poff);
	if (b->len < m->boff)
		buf_fill(b, 0, (size_t)(m->boff - b->len));
	buf_u8(b, 0x05);	/* pages 0 and 2 */
	buf_fill(b, 0, 7);
	if (b->len < m->poff)
		buf_fill(b, 0, (size_t)(m->poff - b->len));
	buf_fill(b, 0xaa, PS);
	buf_fill(b, 0, PS);
	buf_fill(b, 0xbb, PS);
	buf_fill(b, 0, PS);
	put_ram_eos(b);
	put_footer(b, 1);
	put_eof(b);
}

static void mapped_ram_pages_at_offsets(void **state)
{
	struct sink *k = calloc(1, sizeof(*k));
	struct mig_parse_opts o = { .on_page = sink_page, .ctx = k };
	struct mig_stream *s;
	struct mig_error err;
	struct mapped m;
	struct buf b = { 0 };

	(void)state;
	assert_non_null(k);
	mapped_stream(&b, &m, 1, PS, 0, 0);
	expect_ok(&b, k, NULL, 0, &s);
	assert_true(s->ram_blocks[0].mapped);
	assert_int_equal(s->ram_blocks[0].bitmap_offset, m.boff);
	assert_int_equal(s->ram_blocks[0].pages_offset, m.poff);
	assert_int_equal(s->ram_blocks[0].pages, 2);
	assert_int_equal(s->ram_blocks[0].zero, 2);
	assert_int_equal(k->n, 4);
	assert_int_equal(k->v[0].kind, MIG_PAGE_DATA);
	assert_int_equal(k->v[0].record, MIG_PREC_MAPPED);
	assert_int_equal(k->v[0].offset, m.poff);
	assert_int_equal(k->v[0].data[0], 0xaa);
	assert_int_equal(k->v[1].kind, MIG_PAGE_FILL);
	assert_int_equal(k->v[1].offset, m.boff);
	assert_int_equal(k->v[2].addr, 2 * PS);
	assert_int_equal(k->v[2].offset, m.poff + 2 * PS);
	assert_int_equal(k->v[2].data[PS - 1], 0xbb);
	assert_int_equal(s->end, b.len);
	mig_stream_free(s);

	/* From a pipe: every offset lies ahead, so it reads forward. */
	k->n = 0;
	assert_int_equal(parse_pipe(&b, &o, &s, &err), 0);
	assert_true(s->complete);
	assert_int_equal(k->n, 4);
	assert_int_equal(k->v[2].data[0], 0xbb);
	mig_stream_free(s);
	buf_free(&b);
	free(k);
}

static void mapped_ram_header_checks(void **state)
{
	struct mapped m;
	struct buf b = { 0 };

	(void)state;
	mapped_stream(&b, &m, 2, PS, 0, 0);
	expect_err(&b, NULL, 0, MIG_EUNSUP, m.hdr);
	buf_free(&b);
	mapped_stream(&b, &m, 0, PS, 0, 0);
	expect_err(&b, NULL, 0, MIG_ERAM, m.hdr);
	buf_free(&b);
	mapped_stream(&b, &m, 1, 2 * PS, 0, 0);
	expect_err(&b, NULL, 0, MIG_ERAM, m.hdr + 4);
	buf_free(&b);
	/* Bitmap inside the header. */
	mapped_stream(&b, &m, 1, PS, -4, 0);
	expect_err(&b, NULL, 0, MIG_ERAM, m.hdr + 12);
	buf_free(&b);
	/* Pages not aligned to the page size. */
	mapped_stream(&b, &m, 1, PS, 0, PS + 8);
	expect_err(&b, NULL, 0, MIG_ERAM, m.hdr + 20);
	buf_free(&b);
	/* Pages over the bitmap. */
	mapped_stream(&b, &m, 1, PS, 0, 0);
	{
		/* Rewrite pages_offset to the bitmap's page. */
		uint64_t bad = m.boff & ~(uint64_t)(PS - 1);

		for (int i = 0; i < 8; i++)
			b.p[m.hdr + 20 + i] = (uint8_t)(bad >> (56 - 8 * i));
	}
	expect_err(&b, NULL, 0, MIG_ERAM, m.hdr + 20);
	buf_free(&b);
	/* A page array past the end of the file. */
	mapped_stream(&b, &m, 1, PS, 0, 0);
	b.len = (size_t)m.poff + 2 * PS;
	expect_err(&b, NULL, 0, MIG_ETRUNC, m.hdr + 20);
	buf_free(&b);
}

static void mapped_ram_has_no_page_records(void **state)
{
	struct mapped m;
	struct buf b = { 0 };
	size_t at;

	(void)state;
	/* A PART after the mapped-ram START, with a ZERO record in it. */
	mapped_stream(&b, &m, 1, PS, 0, 0);
	b.len -= 1;	/* the EOF */
	part_begin(&b);
	at = b.len;
	put_ram_zero(&b, 0, "pc.ram");
	part_end_eof(&b);
	expect_err(&b, NULL, 0, MIG_ERAM, at);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The page image                                                      */

static void rmtree(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Parses @b into a page image with @flags (files in @dir). */
static int image_of(const struct buf *b, unsigned flags, const char *dir,
		    bool pipe_in, struct mig_ram_image **img,
		    struct mig_stream **s, struct mig_error *err)
{
	struct mig_parse_opts o = { .on_page = mig_ram_image_on_page };
	int ret;

	mig_error_clear(err);
	assert_int_equal(mig_ram_image_new(img, flags, dir, err), 0);
	o.ctx = *img;
	ret = pipe_in ? parse_pipe(b, &o, s, err) : parse_buf(b, &o, s, err);
	if (!ret)
		ret = mig_ram_image_finish(*img, *s, err);
	return ret;
}

/*
 * pc.ram: page 0 data then ZERO (a hole again), page 1 data then two
 * XBZRLE deltas, page 2 filled with 0x33 then a delta, page 3 compressed
 * then a delta; rom: never written.  Deltas apply to content read back
 * from every kind of record.
 */
static void image_stream(struct buf *b)
{
	static const uint8_t d1[] = { 16, 2, 0x11, 0x22 };
	static const uint8_t d2[] = { 17, 1, 0x99, 100, 1, 0x44 };
	static const uint8_t d3[] = { 0, 1, 0x77 };
	uint8_t z[PS + 64];
	uLongf zl = zpage(z, 0x5a, PS);

	put_header(b);
	put_start(b, 1, "ram", 0, 4);
	put_ram_mem_size(b, 5 * PS);
	put_ram_block(b, "pc.ram", 4 * PS);
	put_ram_block(b, "/rom@etc/x", PS);
	put_ram_eos(b);
	put_footer(b, 1);
	part_begin(b);
	put_ram_page(b, 0, "pc.ram", 0xab, PS);
	put_ram_page(b, PS, NULL, 0xcd, PS);
	put_ram_zero(b, 0, NULL);
	put_xbzrle(b, PS, NULL, 1, d1, sizeof(d1));
	put_xbzrle(b, PS, NULL, 1, d2, sizeof(d2));
	put_ram_word(b, 2 * PS, T_RAM_ZERO | T_RAM_CONTINUE);
	buf_u8(b, 0x33);
	put_compressed(b, 3 * PS, NULL, z, (uint32_t)zl);
	put_xbzrle(b, 2 * PS, NULL, 1, d3, sizeof(d3));
	put_xbzrle(b, 3 * PS, NULL, 1, d3, sizeof(d3));
	part_end_eof(b);
}

static void expected_page1(uint8_t *p)
{
	memset(p, 0xcd, PS);
	p[16] = 0x11;
	p[17] = 0x99;
	p[17 + 1 + 100] = 0x44;
}

static void image_files_and_digests(void **state)
{
	char dir[] = "/tmp/migstream-test-XXXXXX";
	char path[512];
	uint8_t want[PS], got[PS];
	struct mig_ram_image *img, *img2;
	struct mig_stream *s, *s2;
	struct mig_error err;
	struct buf b = { 0 };
	uint64_t d, d2;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	image_stream(&b);
	assert_int_equal(image_of(&b, MIG_IMAGE_FILES | MIG_IMAGE_DIGESTS,
				  dir, false, &img, &s, &err), 0);
	assert_string_equal(mig_ram_image_file(img, 0), "ram/pc.ram");
	assert_string_equal(mig_ram_image_file(img, 1), "ram/_rom@etc_x");
	assert_int_equal(mig_ram_image_commit(img, false, &err), 0);

	snprintf(path, sizeof(path), "%s/ram/pc.ram", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 4 * PS);
	/* Page 0 was written, then zeroed: a hole. */
	assert_int_equal(lseek(fd, 0, SEEK_DATA), PS);
	assert_int_equal(pread(fd, got, PS, PS), PS);
	expected_page1(want);
	assert_memory_equal(got, want, PS);
	assert_int_equal(pread(fd, got, PS, 2 * PS), PS);
	memset(want, 0x33, PS);
	want[0] = 0x77;
	assert_memory_equal(got, want, PS);
	assert_int_equal(pread(fd, got, PS, 3 * PS), PS);
	memset(want, 0x5a, PS);
	want[0] = 0x77;
	assert_memory_equal(got, want, PS);
	close(fd);
	snprintf(path, sizeof(path), "%s/ram/_rom@etc_x", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, PS);

	/* Digests: of the content, "zero" for pages of zeros. */
	assert_false(mig_ram_image_digest(img, 0, 0, &d));
	assert_true(mig_ram_image_digest(img, 0, 1, &d));
	expected_page1(want);
	assert_int_equal(d, XXH3_64bits(want, PS));
	assert_true(mig_ram_image_digest(img, 0, 2, &d));
	memset(want, 0x33, PS);
	want[0] = 0x77;
	assert_int_equal(d, XXH3_64bits(want, PS));
	assert_true(mig_ram_image_digest(img, 0, 3, &d));
	memset(want, 0x5a, PS);
	want[0] = 0x77;
	assert_int_equal(d, XXH3_64bits(want, PS));
	assert_false(mig_ram_image_digest(img, 1, 0, &d));
	assert_int_equal(mig_ram_image_pages(img, 1), 1);

	/* Digests alone (deltas applied to content read back from the
	 * input and a scratch file) agree, from a file and from a pipe. */
	for (int p = 0; p < 2; p++) {
		assert_int_equal(image_of(&b, MIG_IMAGE_DIGESTS, NULL, p, &img2,
					  &s2, &err), 0);
		for (uint64_t i = 0; i < 4; i++) {
			bool a = mig_ram_image_digest(img, 0, i, &d);

			assert_int_equal(mig_ram_image_digest(img2, 0, i, &d2),
					 a);
			if (a)
				assert_int_equal(d, d2);
		}
		mig_ram_image_free(img2);
		mig_stream_free(s2);
	}

	/* A second extract does not overwrite, and leaves no temporary. */
	mig_ram_image_free(img);
	mig_stream_free(s);
	assert_int_equal(image_of(&b, MIG_IMAGE_FILES, dir, false, &img, &s,
				  &err), 0);
	assert_int_equal(mig_ram_image_commit(img, false, &err), -MIG_EIO);
	mig_ram_image_free(img);
	mig_stream_free(s);
	snprintf(path, sizeof(path), "ls -A '%s/ram' | grep -q migstream", dir);
	assert_int_not_equal(system(path), 0);
	assert_int_equal(image_of(&b, MIG_IMAGE_FILES, dir, false, &img, &s,
				  &err), 0);
	assert_int_equal(mig_ram_image_commit(img, true, &err), 0);
	mig_ram_image_free(img);
	mig_stream_free(s);
	rmtree(dir);
	buf_free(&b);
}

/* An XBZRLE delta on a page whose content went by in a pipe. */
static void image_digests_need_the_base_page(void **state)
{
	static const uint8_t d1[] = { 16, 2, 0x11, 0x22 };
	struct mig_ram_image *img;
	struct mig_stream *s;
	struct mig_error err;
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_start(&b, 1, "ram", 0, 4);
	put_ram_mem_size(&b, 1024 * PS);
	put_ram_block(&b, "pc.ram", 1024 * PS);
	put_ram_eos(&b);
	put_footer(&b, 1);
	part_begin(&b);
	for (uint64_t i = 0; i < 1024; i++)
		put_ram_page(&b, i * PS, i ? NULL : "pc.ram",
			     (uint8_t)(i + 1), PS);
	at = b.len;
	put_xbzrle(&b, 0, NULL, 1, d1, sizeof(d1));
	part_end_eof(&b);
	/* 4 MiB of pages later, the pipe window has moved on. */
	assert_int_equal(image_of(&b, MIG_IMAGE_DIGESTS, NULL, true, &img, &s,
				  &err), -MIG_EUNSUP);
	assert_int_equal(err.offset, at);
	mig_ram_image_free(img);
	mig_stream_free(s);
	/* From memory (seekable) it works. */
	assert_int_equal(image_of(&b, MIG_IMAGE_DIGESTS, NULL, false, &img, &s,
				  &err), 0);
	mig_ram_image_free(img);
	mig_stream_free(s);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Block file names                                                    */

/* A stream announcing one page for each of the @n blocks @names. */
static void blocks_stream(struct buf *b, const char *const *names, size_t n)
{
	memset(b, 0, sizeof(*b));
	put_header(b);
	put_start(b, 1, "ram", 0, 4);
	put_ram_mem_size(b, n * PS);
	for (size_t i = 0; i < n; i++)
		put_ram_block(b, names[i], PS);
	put_ram_eos(b);
	put_footer(b, 1);
	put_eof(b);
}

/* The files of blocks @names are @want (committed, then checked). */
static void expect_files(const char *const *names, const char *const *want,
			 size_t n, bool commit)
{
	char dir[] = "/tmp/migstream-test-XXXXXX";
	char path[512];
	struct mig_ram_image *img;
	struct mig_stream *s;
	struct mig_error err;
	struct buf b;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	blocks_stream(&b, names, n);
	assert_int_equal(image_of(&b, MIG_IMAGE_FILES, dir, false, &img, &s,
				  &err), 0);
	assert_int_equal(s->nram_blocks, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(mig_ram_image_file(img, i), want[i]);
	if (commit) {
		assert_int_equal(mig_ram_image_commit(img, false, &err), 0);
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, want[i]);
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(st.st_size, PS);
		}
	}
	mig_ram_image_free(img);
	mig_stream_free(s);
	rmtree(dir);
	buf_free(&b);
}

/*
 * Names that sanitise alike get "~2", "~3"... in block order, the first
 * not taken, whether taken by another collision or by a block literally
 * named so.
 */
static void image_file_name_collisions(void **state)
{
	static const char *const names[] = {
		"pc.ram", "a/b", "a_b", "a b", "a_b~2", "a_b~5", "a\\b",
		"a\tb", ".x", "_x", "/x", "a\xff" "b", "x.y", "a?b",
	};
	static const char *const want[] = {
		"ram/pc.ram", "ram/a_b", "ram/a_b~2", "ram/a_b~3",
		"ram/a_b~2~2", "ram/a_b~5", "ram/a_b~4", "ram/a_b~6",
		"ram/_x", "ram/_x~2", "ram/_x~3", "ram/a_b~7", "ram/x.y",
		"ram/a?b",
	};

	(void)state;
	expect_files(names, want, sizeof(names) / sizeof(names[0]), true);
}

/*
 * The most blocks a stream may have (4096), all named alike: each name
 * was found by rescanning every earlier name for each "~N" tried, cubic
 * in the blocks.  Each block keeps a file open until commit, so as many
 * blocks as the descriptor limit allows.
 */
static void image_file_names_many(void **state)
{
	enum { N = 4096 };
	static const char bad[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
				  "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
				  "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e"
				  "\x1f\x20\x7f\x80\x81\x82\x83\x84\x85\x86"
				  "\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90"
				  "\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a"
				  "/\\\x9b\xff";
	char (*name)[3] = calloc(N, sizeof(*name));
	char (*file)[16] = calloc(N, sizeof(*file));
	const char **names = calloc(N, sizeof(*names));
	const char **want = calloc(N, sizeof(*want));
	struct rlimit rl;
	size_t n = N;

	(void)state;
	assert_int_equal(sizeof(bad) - 1, 64);
	assert_non_null(name);
	assert_non_null(file);
	assert_non_null(names);
	assert_non_null(want);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < N + 64)
			n = rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
	}
	for (size_t i = 0; i < n; i++) {
		name[i][0] = bad[i / 64];
		name[i][1] = bad[i % 64];
		names[i] = name[i];
		if (i)
			snprintf(file[i], sizeof(file[i]), "ram/__~%zu", i + 1);
		else
			snprintf(file[i], sizeof(file[i]), "ram/__");
		want[i] = file[i];
	}
	expect_files(names, want, n, false);
	free(name);
	free(file);
	free(names);
	free(want);
}

/* ------------------------------------------------------------------ */
/* Real streams                                                        */

#define STREAMS "testdata/streams/"

/* Decompresses @gz into a temporary file; its path in @out. */
static void gunzip_to(const char *gz, char *out, size_t n)
{
	gzFile g = gzopen(gz, "rb");
	char buf[65536];
	int fd, k;

	assert_non_null(g);
	snprintf(out, n, "/tmp/migstream-test-XXXXXX");
	fd = mkstemp(out);
	assert_true(fd >= 0);
	while ((k = gzread(g, buf, sizeof(buf))) > 0)
		assert_int_equal(write(fd, buf, (size_t)k), k);
	assert_int_equal(k, 0);
	gzclose(g);
	close(fd);
}

/* Reads the file @path into a page image. */
static void image_of_file(const char *path, unsigned flags, const char *dir,
			  struct mig_ram_image **img, struct mig_stream **s)
{
	struct mig_parse_opts o = { .on_page = mig_ram_image_on_page };
	struct mig_reader *r = NULL;
	struct mig_error err;
	int ret;

	mig_error_clear(&err);
	assert_int_equal(mig_ram_image_new(img, flags, dir, &err), 0);
	o.ctx = *img;
	assert_int_equal(mig_reader_open(&r, path, &err), 0);
	ret = mig_stream_read(r, &o, s, &err);
	mig_reader_free(r);
	if (!ret)
		ret = mig_ram_image_finish(*img, *s, &err);
	if (ret)
		fail_msg("%s: offset 0x%llx: %s", path,
			 (unsigned long long)err.offset, err.msg);
}

/* Asserts that block @name has the same digests in both images. */
static void same_block(const struct mig_ram_image *a,
		       const struct mig_stream *sa,
		       const struct mig_ram_image *b,
		       const struct mig_stream *sb, const char *name)
{
	long ia = block_named(sa, name), ib = block_named(sb, name);
	uint64_t n, da, db;

	assert_true(ia >= 0 && ib >= 0);
	n = mig_ram_image_pages(a, (size_t)ia);
	assert_int_equal(n, mig_ram_image_pages(b, (size_t)ib));
	for (uint64_t i = 0; i < n; i++) {
		bool za = mig_ram_image_digest(a, (size_t)ia, i, &da);

		assert_int_equal(za,
				 mig_ram_image_digest(b, (size_t)ib, i, &db));
		if (za && da != db)
			fail_msg("%s page %llu differs", name,
				 (unsigned long long)i);
	}
}

/*
 * The compressed stream's BIOS is the BIOS of the plain stream of the
 * same QEMU and machine: COMPRESS_PAGE records inflate to the real pages.
 */
static void real_compress_stream(void **state)
{
	struct mig_ram_image *a, *b;
	struct mig_stream *sa, *sb;

	(void)state;
	image_of_file(STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_mix-running-compress.mig",
		      MIG_IMAGE_DIGESTS, NULL, &a, &sa);
	image_of_file(STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig",
		      MIG_IMAGE_DIGESTS, NULL, &b, &sb);
	assert_true(sa->ram_blocks[block_named(sa, "pc.ram")].compressed > 0);
	/* (The ACPI tables differ: the devices are not the same.) */
	same_block(a, sa, b, sb, "pc.bios");
	mig_ram_image_free(a);
	mig_ram_image_free(b);
	mig_stream_free(sa);
	mig_stream_free(sb);
}

/* The mapped-ram stream's BIOS, read at its file offsets, likewise. */
static void real_mapped_ram_stream(void **state)
{
	struct mig_ram_image *a, *b;
	struct mig_stream *sa, *sb;
	char path[64];

	(void)state;
	gunzip_to(STREAMS "qemu-10.0/v10.0_pc-i440fx-5.2_plain-mappedram.mig.gz",
		  path, sizeof(path));
	image_of_file(path, MIG_IMAGE_DIGESTS, NULL, &a, &sa);
	unlink(path);
	image_of_file(STREAMS "qemu-10.0/v10.0_pc-i440fx-5.2_plain.mig",
		      MIG_IMAGE_DIGESTS, NULL, &b, &sb);
	assert_true(sa->complete);
	assert_true(sa->ram_blocks[0].mapped);
	/* (The ACPI tables differ: the RAM size is not the same.) */
	same_block(a, sa, b, sb, "pc.bios");
	mig_ram_image_free(a);
	mig_ram_image_free(b);
	mig_stream_free(sa);
	mig_stream_free(sb);
}

/* Compares @n bytes of file @a at @off with the whole file @b. */
static void same_bytes(const char *a, uint64_t off, const char *b, size_t n)
{
	uint8_t *pa = malloc(n), *pb = malloc(n);
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);

	assert_true(pa && pb && fa >= 0 && fb >= 0);
	assert_int_equal(pread(fa, pa, n, (off_t)off), (ssize_t)n);
	assert_int_equal(pread(fb, pb, n, 0), (ssize_t)n);
	assert_memory_equal(pa, pb, n);
	close(fa);
	close(fb);
	free(pa);
	free(pb);
}

/*
 * The random stream: its sidecar loads testdata/files/random-1M.bin at
 * guest address 0x100000 with -device loader; pc.ram holds exactly it
 * there, and the digests are those of its pages.
 */
static void real_random_stream(void **state)
{
	char dir[] = "/tmp/migstream-test-XXXXXX";
	char path[512];
	struct mig_ram_image *img;
	struct mig_stream *s;
	struct mig_error err;
	uint8_t page[PS];
	long bi;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	image_of_file(STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_random.mig",
		      MIG_IMAGE_FILES | MIG_IMAGE_DIGESTS, dir, &img, &s);
	mig_error_clear(&err);
	assert_int_equal(mig_ram_image_commit(img, false, &err), 0);
	snprintf(path, sizeof(path), "%s/ram/pc.ram", dir);
	same_bytes(path, 0x100000, "testdata/files/random-1M.bin", 1 << 20);
	bi = block_named(s, "pc.ram");
	fd = open("testdata/files/random-1M.bin", O_RDONLY);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < 256; i++) {
		uint64_t d;

		assert_int_equal(pread(fd, page, PS, (off_t)(i * PS)), PS);
		assert_true(mig_ram_image_digest(img, (size_t)bi,
						 0x100 + i, &d));
		assert_int_equal(d, XXH3_64bits(page, PS));
	}
	close(fd);
	mig_ram_image_free(img);
	mig_stream_free(s);
	rmtree(dir);
}

/*
 * A real XBZRLE stream (tests/ram/gen-xbzrle.py): the page QEMU sent as
 * 1000-odd deltas ends as the source's memory held it (pmemsave), and
 * the digests made without files agree with the files, page by page.
 */
static void real_xbzrle_stream(void **state)
{
	char dir[] = "/tmp/migstream-test-XXXXXX";
	char mig[64], path[512];
	struct mig_ram_image *a, *b;
	struct mig_stream *sa, *sb;
	struct mig_error err;
	uint8_t page[PS];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	gunzip_to("tests/ram/data/v7.2_pc-i440fx-5.2_xbzrle.mig.gz", mig,
		  sizeof(mig));
	image_of_file(mig, MIG_IMAGE_FILES, dir, &a, &sa);
	image_of_file(mig, MIG_IMAGE_DIGESTS, NULL, &b, &sb);
	unlink(mig);
	assert_true(sa->ram_blocks[0].xbzrle > 1000);
	mig_error_clear(&err);
	assert_int_equal(mig_ram_image_commit(a, false, &err), 0);
	snprintf(path, sizeof(path), "%s/ram/pc.ram", dir);
	same_bytes(path, 0x7000,
		   "tests/ram/data/v7.2_pc-i440fx-5.2_xbzrle.page7000.bin", PS);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < mig_ram_image_pages(b, 0); i++) {
		uint64_t d;
		bool nz;

		assert_int_equal(pread(fd, page, PS, (off_t)(i * PS)), PS);
		nz = mig_ram_image_digest(b, 0, i, &d);
		if (!nz) {
			uint8_t zero[PS] = { 0 };

			assert_memory_equal(page, zero, PS);
		} else {
			assert_int_equal(d, XXH3_64bits(page, PS));
		}
	}
	close(fd);
	mig_ram_image_free(a);
	mig_ram_image_free(b);
	mig_stream_free(sa);
	mig_stream_free(sb);
	rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page_kinds_are_reported),
		cmocka_unit_test(hook_is_rdma_only),
		cmocka_unit_test(unknown_flag_combination),
		cmocka_unit_test(xbzrle_deltas_checked_like_qemu),
		cmocka_unit_test(xbzrle_header_checked),
		cmocka_unit_test(xbzrle_apply_edges),
		cmocka_unit_test(compressed_page_errors),
		cmocka_unit_test(unknown_capability),
		cmocka_unit_test(ignore_shared_addresses_from_cap),
		cmocka_unit_test(postcopy_page_size_inferred),
		cmocka_unit_test(postcopy_wrong_guess_is_an_error),
		cmocka_unit_test(mapped_ram_pages_at_offsets),
		cmocka_unit_test(mapped_ram_header_checks),
		cmocka_unit_test(mapped_ram_has_no_page_records),
		cmocka_unit_test(image_files_and_digests),
		cmocka_unit_test(image_digests_need_the_base_page),
		cmocka_unit_test(real_compress_stream),
		cmocka_unit_test(real_mapped_ram_stream),
		cmocka_unit_test(real_random_stream),
		cmocka_unit_test(real_xbzrle_stream),
		cmocka_unit_test(image_file_name_collisions),
		cmocka_unit_test(image_file_names_many),
	};

	return cmocka_run_group_tests_name("ramfull", tests, NULL, NULL);
}
