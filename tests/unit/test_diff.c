/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for diff.c and pagemap.c: the page digest table on its own,
 * mig_diff_read() and mig_diff_compare() on hand-made streams (every kind
 * of difference, the options, the error paths), and on real QEMU streams
 * from testdata/ (run from the repository root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder.h"
#include "migstream/diff.h"
#include "pagemap.h"

#define PS 4096u
#define STREAMS "testdata/streams/"

/* ------------------------------------------------------------------ */
/* pagemap                                                             */

static struct mig_ram_block blk = { .name = "pc.ram", .length = 8 * PS };

static int feed(struct pagemap *pm, uint64_t addr, enum mig_page_kind kind,
		const uint8_t *data, uint8_t fill)
{
	struct mig_page pg = {
		.block = &blk, .addr = addr, .kind = kind, .data = data,
		.fill = fill, .offset = 0x100 + addr, .size = PS,
	};

	return pagemap_on_page(pm, &pg);
}

static void test_pagemap_zero_forms(void **state)
{
	static uint8_t zeros[PS], ones[PS];
	struct pagemap pm;
	const struct pm_block *b;

	(void)state;
	memset(ones, 1, sizeof(ones));
	pagemap_init(&pm, 1024);
	assert_int_equal(feed(&pm, 0, MIG_PAGE_DATA, zeros, 0), 0);
	assert_int_equal(feed(&pm, PS, MIG_PAGE_FILL, NULL, 0), 0);
	assert_int_equal(feed(&pm, 2 * PS, MIG_PAGE_DATA, ones, 0), 0);
	b = pagemap_find(&pm, "pc.ram");
	assert_non_null(b);
	assert_int_equal(b->npages, 8);
	/* A data page of zeros, a ZERO record and a page never sent. */
	assert_true(pagemap_digest(b, 0) == PM_ZERO);
	assert_true(pagemap_digest(b, 1) == PM_ZERO);
	assert_true(pagemap_digest(b, 7) == PM_ZERO);
	assert_true(pagemap_digest(b, 2) != PM_ZERO);
	assert_true(pagemap_digest(NULL, 2) == PM_ZERO);
	assert_null(pagemap_find(&pm, "pc.rom"));
	pagemap_release(&pm);
}

static void test_pagemap_last_write_wins(void **state)
{
	static uint8_t a[PS], b2[PS];
	struct pagemap pm;
	const struct pm_block *b;
	uint64_t first;

	(void)state;
	memset(a, 0xaa, sizeof(a));
	memset(b2, 0xbb, sizeof(b2));
	pagemap_init(&pm, 1024);
	assert_int_equal(feed(&pm, 3 * PS, MIG_PAGE_DATA, a, 0), 0);
	b = pagemap_find(&pm, "pc.ram");
	first = pagemap_digest(b, 3);
	assert_int_equal(feed(&pm, 3 * PS, MIG_PAGE_DATA, b2, 0), 0);
	assert_true(pagemap_digest(b, 3) != first);
	assert_int_equal(feed(&pm, 3 * PS, MIG_PAGE_DATA, a, 0), 0);
	assert_true(pagemap_digest(b, 3) == first);
	/* A later ZERO record zeroes a page sent before. */
	assert_int_equal(feed(&pm, 3 * PS, MIG_PAGE_FILL, NULL, 0), 0);
	assert_true(pagemap_digest(b, 3) == PM_ZERO);
	assert_int_equal(b->records, 4);
	pagemap_release(&pm);
}

static void test_pagemap_fill_byte(void **state)
{
	static uint8_t ff[PS];
	struct pagemap pm;
	const struct pm_block *b;

	(void)state;
	memset(ff, 0xff, sizeof(ff));
	pagemap_init(&pm, 1024);
	assert_int_equal(feed(&pm, 0, MIG_PAGE_FILL, NULL, 0xff), 0);
	assert_int_equal(feed(&pm, PS, MIG_PAGE_DATA, ff, 0), 0);
	b = pagemap_find(&pm, "pc.ram");
	assert_true(pagemap_digest(b, 0) != PM_ZERO);
	assert_true(pagemap_digest(b, 0) == pagemap_digest(b, 1));
	pagemap_release(&pm);
}

static void test_pagemap_unknown_kind(void **state)
{
	static uint8_t d[PS];
	struct pagemap pm;
	const struct pm_block *b;

	(void)state;
	pagemap_init(&pm, 1024);
	/* A kind added after this code (XBZRLE deltas are one). */
	assert_int_equal(feed(&pm, PS, (enum mig_page_kind)77, d, 0), 0);
	b = pagemap_find(&pm, "pc.ram");
	assert_true(pagemap_digest(b, 1) == PM_UNKNOWN);
	assert_int_equal(b->unknown, 1);
	pagemap_release(&pm);
}

static void test_pagemap_cap(void **state)
{
	struct pagemap pm;

	(void)state;
	pagemap_init(&pm, 4);	/* the block has 8 pages */
	assert_int_equal(feed(&pm, 0, MIG_PAGE_FILL, NULL, 0), -MIG_ELIMIT);
	assert_int_equal(pm.err.code, MIG_ELIMIT);
	assert_int_equal(pm.err.offset, 0x100);
	assert_non_null(strstr(pm.err.msg, "'pc.ram'"));
	pagemap_release(&pm);
}

/*
 * Memory follows the pages sent: one page at the end of a 1 TiB block
 * (testdata/bad/found/ram-huge-block.mig) makes one group of digests,
 * not a table for 2^28 pages; pages across the group edges read back.
 */
static void test_pagemap_sparse(void **state)
{
	static struct mig_ram_block huge = { .name = "pc.ram",
					     .length = UINT64_C(1) << 40 };
	static uint8_t a[PS];
	uint64_t last = (UINT64_C(1) << 28) - 1;
	struct mig_page pg = { .block = &huge, .kind = MIG_PAGE_DATA,
			       .data = a, .size = PS };
	struct pagemap pm;
	const struct pm_block *b;

	(void)state;
	memset(a, 0x5c, sizeof(a));
	pagemap_init(&pm, MIG_DIFF_PAGES_MAX);
	pg.addr = last * PS;
	assert_int_equal(pagemap_on_page(&pm, &pg), 0);
	b = pagemap_find(&pm, "pc.ram");
	assert_int_equal(b->npages, UINT64_C(1) << 28);
	assert_int_equal(b->dig.groups_used, 1);
	/* Pointers to groups up to the page: 8 bytes per 512 pages. */
	assert_true(b->dig.ngroups <= 2 * ((last >> PAGETAB_SHIFT) + 1));
	assert_true(pagemap_digest(b, last) != PM_ZERO);
	assert_true(pagemap_digest(b, last - 1) == PM_ZERO);
	assert_true(pagemap_digest(b, 0) == PM_ZERO);
	/* Both sides of a group edge. */
	pg.addr = (PAGETAB_GROUP - 1) * PS;
	assert_int_equal(pagemap_on_page(&pm, &pg), 0);
	pg.addr = PAGETAB_GROUP * PS;
	assert_int_equal(pagemap_on_page(&pm, &pg), 0);
	assert_int_equal(b->dig.groups_used, 3);
	assert_true(pagemap_digest(b, PAGETAB_GROUP - 1) ==
		    pagemap_digest(b, last));
	assert_true(pagemap_digest(b, PAGETAB_GROUP) ==
		    pagemap_digest(b, last));
	assert_true(pagemap_digest(b, PAGETAB_GROUP - 2) == PM_ZERO);
	assert_true(pagemap_digest(b, PAGETAB_GROUP + 1) == PM_ZERO);
	pagemap_release(&pm);
}

static void test_pagemap_page_size(void **state)
{
	struct pagemap pm;
	struct mig_page pg = {
		.block = &blk, .addr = 0, .kind = MIG_PAGE_FILL,
		.offset = 0x200, .size = 2 * PS,
	};

	(void)state;
	pagemap_init(&pm, 1024);
	assert_int_equal(feed(&pm, 0, MIG_PAGE_FILL, NULL, 0), 0);
	assert_int_equal(pagemap_on_page(&pm, &pg), -MIG_ERAM);
	assert_int_equal(pm.err.code, MIG_ERAM);
	assert_int_equal(pm.err.offset, 0x200);
	pagemap_release(&pm);
}

/* ------------------------------------------------------------------ */
/* Hand-made streams                                                   */

/* What one hand-made stream holds; zero means the default. */
struct spec {
	const char *machine;
	bool caps;		/* announce x-ignore-shared */
	bool no_vmdesc;
	uint32_t x;		/* dev.x */
	uint64_t reg2;		/* dev.regs[2] */
	uint8_t buf20;		/* dev.buf[20] */
	bool sub;		/* subsection dev/sub present */
	bool two_devs;		/* a second instance of dev */
	bool extra_sec;		/* section "only" */
	uint8_t page5;		/* fill of pc.ram page 5 (0: zero record) */
	bool page6_twice;	/* page 6 sent as 0x66, then as zero */
	bool skip7;		/* page 7 never sent (else a zero record) */
	uint64_t rom_len;	/* pages of pc.rom (0: 2) */
	bool truncate;		/* cut the stream in its RAM section */
};

static json_t *dev_desc(uint32_t inst, bool sub)
{
	json_t *d = json_q("{'name': 'dev', 'instance_id': 0, 'vmsd_name': 'dev',"
			   " 'version': 2, 'fields': ["
			   "{'name': 'x', 'type': 'uint32', 'size': 4},"
			   "{'name': 'regs', 'type': 'uint64', 'size': 8, 'array_len': 4},"
			   "{'name': 'buf', 'type': 'buffer', 'size': 32}]}");

	json_object_set_new(d, "instance_id", json_integer(inst));
	if (sub)
		json_object_set_new(d, "subsections", json_q(
			"[{'vmsd_name': 'dev/sub', 'version': 1, 'fields': ["
			"{'name': 'y', 'type': 'uint8', 'size': 1}]}]"));
	return d;
}

static void put_dev(struct buf *b, uint32_t id, uint32_t inst,
		    const struct spec *sp)
{
	put_full(b, id, "dev", inst, 2);
	buf_be32(b, sp->x ? sp->x : 1);
	for (int i = 0; i < 4; i++)
		buf_be64(b, i == 2 && sp->reg2 ? sp->reg2 : (uint64_t)i);
	for (int i = 0; i < 32; i++)
		buf_u8(b, i == 20 && sp->buf20 ? sp->buf20 : (uint8_t)i);
	if (sp->sub) {
		put_subsection(b, "dev/sub", 1);
		buf_u8(b, 9);
	}
	put_footer(b, id);
}

static void make_stream(struct buf *b, const struct spec *sp)
{
	static const char *const caps[] = { "x-ignore-shared" };
	uint64_t rom = sp->rom_len ? sp->rom_len : 2;
	json_t *vmdesc, *devs;

	memset(b, 0, sizeof(*b));
	put_header(b);
	put_config(b, sp->machine ? sp->machine : "pc-q35-7.2");
	if (sp->caps)
		put_cfg_caps(b, 1, caps);
	put_start(b, 2, "ram", 0, 4);
	put_ram_mem_size(b, 16 * PS + rom * PS);
	put_ram_block(b, "pc.ram", 16 * PS);
	if (sp->caps)
		buf_be64(b, 0);		/* x-ignore-shared: the address */
	put_ram_block(b, "pc.rom", rom * PS);
	if (sp->caps)
		buf_be64(b, 0xc0000);
	put_ram_eos(b);
	put_footer(b, 2);
	put_part(b, MIG_REC_PART, 2);
	for (uint64_t i = 0; i < 16; i++) {
		const char *blk_name = i ? NULL : "pc.ram";

		if (i == 5 && sp->page5)
			put_ram_page(b, i * PS, blk_name, sp->page5, PS);
		else if (i == 6 && sp->page6_twice)
			put_ram_page(b, i * PS, blk_name, 0x66, PS);
		else if (i == 7 && sp->skip7)
			continue;
		else if (i >= 8 && i < 11)
			put_ram_page(b, i * PS, blk_name, (uint8_t)(0x80 + i), PS);
		else
			put_ram_zero(b, i * PS, blk_name);
	}
	if (sp->truncate) {
		buf_be64(b, 12 * PS | T_RAM_PAGE | T_RAM_CONTINUE);
		buf_fill(b, 1, 100);	/* 100 of 4096 bytes */
		return;
	}
	for (uint64_t i = 0; i < rom; i++)
		put_ram_page(b, i * PS, i ? NULL : "pc.rom", 0x11, PS);
	put_ram_eos(b);
	put_footer(b, 2);
	put_part(b, MIG_REC_END, 2);
	if (sp->page6_twice)
		put_ram_zero(b, 6 * PS, "pc.ram");
	put_ram_eos(b);
	put_footer(b, 2);

	devs = json_array();
	put_dev(b, 3, 0, sp);
	json_array_append_new(devs, dev_desc(0, sp->sub));
	if (sp->two_devs) {
		put_dev(b, 4, 1, sp);
		json_array_append_new(devs, dev_desc(1, sp->sub));
	}
	if (sp->extra_sec) {
		put_full(b, 5, "only", 0, 1);
		buf_u8(b, 0x42);
		put_footer(b, 5);
		json_array_append_new(devs, json_q(
			"{'name': 'only', 'instance_id': 0, 'vmsd_name': 'only',"
			" 'version': 1, 'fields': ["
			"{'name': 'v', 'type': 'uint8', 'size': 1}]}"));
	}
	put_eof(b);
	vmdesc = json_object();
	json_object_set_new(vmdesc, "page_size", json_integer(PS));
	json_object_set_new(vmdesc, "devices", devs);
	if (!sp->no_vmdesc)
		put_vmdesc(b, vmdesc);
	json_decref(vmdesc);
}

static int read_side(const struct buf *b, const struct mig_diff_opts *o,
		     struct mig_diff_side **side, struct mig_error *err)
{
	struct mig_reader *r = NULL;
	int ret = mig_reader_from_mem(&r, b->p, b->len, "mem.mig", err);

	if (!ret)
		ret = mig_diff_read(r, o, side, err);
	mig_reader_free(r);
	return ret;
}

/* Builds, reads and compares two streams; returns the document. */
static json_t *run_diff(const struct spec *sa, const struct spec *sb,
			const struct mig_diff_opts *o)
{
	struct buf ba, bb;
	struct mig_diff_side *a = NULL, *b = NULL;
	struct mig_error err;
	json_t *doc = NULL;

	make_stream(&ba, sa);
	make_stream(&bb, sb);
	assert_int_equal(read_side(&ba, o, &a, &err), 0);
	assert_int_equal(read_side(&bb, o, &b, &err), 0);
	assert_int_equal(mig_diff_compare(a, b, o, &doc, &err), 0);
	assert_non_null(doc);
	mig_diff_side_free(a);
	mig_diff_side_free(b);
	buf_free(&ba);
	buf_free(&bb);
	return doc;
}

static json_t *section(const json_t *doc, const char *path)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "sections"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "section")), path))
			return (json_t *)e;
	return NULL;
}

static json_t *entry_at(const json_t *doc, const char *path)
{
	const json_t *s, *d;
	size_t i, j;

	json_array_foreach(json_object_get(doc, "sections"), i, s)
		json_array_foreach(json_object_get(s, "differences"), j, d)
			if (!strcmp(json_string_value(json_object_get(d, "path")),
				    path))
				return (json_t *)d;
	return NULL;
}

static json_t *ram_block(const json_t *doc, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(doc, "ram"),
					   "blocks"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "block")), name))
			return (json_t *)e;
	return NULL;
}

static json_int_t summary(const json_t *doc, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(doc, "summary"),
						  key));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(none)";
}

static void test_same(void **state)
{
	struct spec s = { .sub = true, .page5 = 0x55 };
	json_t *doc;

	(void)state;
	doc = run_diff(&s, &s, NULL);
	assert_true(mig_diff_same(doc));
	assert_int_equal(summary(doc, "differences"), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "sections")), 0);
	assert_int_equal(json_array_size(json_object_get(
		json_object_get(doc, "ram"), "blocks")), 0);
	json_decref(doc);
}

static void test_fields(void **state)
{
	struct spec a = { 0 };
	struct spec b = { .x = 2, .reg2 = 0x663, .buf20 = 0xee, .sub = true };
	json_t *doc, *e;

	(void)state;
	doc = run_diff(&a, &b, NULL);
	assert_false(mig_diff_same(doc));
	e = entry_at(doc, "dev.x");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "changed");
	assert_string_equal(str(e, "a_text"), "0x1");
	assert_string_equal(str(e, "b_text"), "0x2");
	assert_string_equal(str(e, "type"), "uint32");
	e = entry_at(doc, "dev.regs[2]");
	assert_non_null(e);
	assert_string_equal(str(e, "b_text"), "0x663");
	assert_null(entry_at(doc, "dev.regs[1]"));
	/* A 32-byte buffer: the differing range, not the whole buffer. */
	e = entry_at(doc, "dev.buf");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "bytes");
	assert_int_equal(json_integer_value(json_object_get(e, "first")), 20);
	assert_int_equal(json_integer_value(json_object_get(e, "last")), 20);
	assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
	assert_string_equal(str(e, "a"), "14");
	assert_string_equal(str(e, "b"), "ee");
	e = entry_at(doc, "dev{dev/sub}");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "only_b");
	assert_string_equal(str(e, "what"), "subsection");
	assert_int_equal(json_integer_value(json_object_get(
		section(doc, "dev"), "count")), 4);
	assert_int_equal(summary(doc, "fields"), 4);
	assert_int_equal(summary(doc, "sections_changed"), 1);
	json_decref(doc);
}

static void test_instances_and_only(void **state)
{
	struct spec a = { .two_devs = true, .extra_sec = true };
	struct spec b = { .two_devs = true, .x = 7 };
	json_t *doc, *s;

	(void)state;
	doc = run_diff(&a, &b, NULL);
	/* Two instances of "dev": the instance is in every path. */
	assert_non_null(entry_at(doc, "dev[0].x"));
	assert_non_null(entry_at(doc, "dev[1].x"));
	assert_null(entry_at(doc, "dev.x"));
	s = section(doc, "only");
	assert_non_null(s);
	assert_string_equal(str(s, "status"), "only_a");
	assert_int_equal(summary(doc, "sections_only_a"), 1);
	assert_int_equal(summary(doc, "sections_changed"), 2);
	json_decref(doc);
}

static void test_ignore(void **state)
{
	const char *ign[] = { "dev.regs[2]", "dev.b*", "only" };
	struct mig_diff_opts o = { .ignore = ign, .nignore = 3 };
	struct spec a = { .extra_sec = true };
	struct spec b = { .x = 2, .reg2 = 9, .buf20 = 1 };
	json_t *doc;

	(void)state;
	doc = run_diff(&a, &b, &o);
	/* The first pattern matches itself character for character, the
	 * second as fnmatch, the third a whole section. */
	assert_non_null(entry_at(doc, "dev.x"));
	assert_null(entry_at(doc, "dev.regs[2]"));
	assert_null(entry_at(doc, "dev.buf"));
	assert_null(section(doc, "only"));
	assert_int_equal(summary(doc, "differences"), 1);
	json_decref(doc);

	/* Nothing left: the streams count as the same. */
	ign[0] = "dev";
	o.nignore = 3;
	doc = run_diff(&a, &b, &o);
	assert_true(mig_diff_same(doc));
	json_decref(doc);
}

static void test_section_filter(void **state)
{
	const char *secs[] = { "ram" };
	struct mig_diff_opts o = { .sections = secs, .nsections = 1 };
	struct spec a = { .machine = "pc-q35-5.2" };
	struct spec b = { .x = 2, .page5 = 0x55 };
	json_t *doc;

	(void)state;
	doc = run_diff(&a, &b, &o);
	assert_int_equal(json_array_size(json_object_get(doc, "sections")), 0);
	/* Stream-level differences are left out with --section. */
	assert_int_equal(json_array_size(json_object_get(doc, "stream")), 0);
	assert_non_null(ram_block(doc, "pc.ram"));
	json_decref(doc);

	secs[0] = "d?v";
	doc = run_diff(&a, &b, &o);
	assert_non_null(entry_at(doc, "dev.x"));
	assert_true(json_is_null(json_object_get(doc, "ram")));
	json_decref(doc);
}

static void test_stream_level(void **state)
{
	struct spec a = { .machine = "pc-q35-5.2" };
	struct spec b = { .machine = "pc-q35-7.2", .caps = true,
			  .no_vmdesc = true };
	json_t *doc, *e;
	size_t i;
	int seen = 0;

	(void)state;
	doc = run_diff(&a, &b, NULL);
	json_array_foreach(json_object_get(doc, "stream"), i, e) {
		const char *item = str(e, "item");

		if (!strcmp(item, "machine")) {
			assert_string_equal(str(e, "a"), "pc-q35-5.2");
			assert_string_equal(str(e, "b"), "pc-q35-7.2");
			seen |= 1;
		} else if (!strcmp(item, "capabilities")) {
			assert_int_equal(json_array_size(json_object_get(e, "a")), 0);
			assert_int_equal(json_array_size(json_object_get(e, "b")), 1);
			seen |= 2;
		} else if (!strcmp(item, "vmdesc")) {
			assert_true(json_is_true(json_object_get(e, "a")));
			assert_true(json_is_false(json_object_get(e, "b")));
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	assert_int_equal(summary(doc, "stream"), 3);
	/* B has no vmdesc: "dev" is decoded with A's, and is equal. */
	assert_null(section(doc, "dev"));
	json_decref(doc);
}

static void test_borrowed_layout(void **state)
{
	struct spec a = { 0 };
	struct spec b = { .no_vmdesc = true, .reg2 = 5 };
	json_t *doc, *s;

	(void)state;
	doc = run_diff(&a, &b, NULL);
	s = section(doc, "dev");
	assert_non_null(s);
	assert_string_equal(str(s, "compared"), "fields");
	assert_non_null(strstr(str(s, "note"), "A's vmdesc"));
	assert_non_null(entry_at(doc, "dev.regs[2]"));
	json_decref(doc);
}

static void test_payload_bytes(void **state)
{
	struct spec a = { .no_vmdesc = true };
	struct spec b = { .no_vmdesc = true, .reg2 = 0x0102 };
	json_t *doc, *s, *e;

	(void)state;
	doc = run_diff(&a, &b, NULL);
	s = section(doc, "dev");
	assert_non_null(s);
	assert_string_equal(str(s, "compared"), "bytes");
	e = entry_at(doc, "dev");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "bytes");
	assert_string_equal(str(e, "what"), "payload");
	/* regs[2] starts at byte 20 (after x, regs[0] and regs[1]); going
	 * from 0x2 to 0x102 changes its byte 6 only. */
	assert_int_equal(json_integer_value(json_object_get(e, "first")), 26);
	assert_int_equal(json_integer_value(json_object_get(e, "last")), 26);
	json_decref(doc);
}

static void test_ram(void **state)
{
	struct spec a = { .page5 = 0x55, .skip7 = true };
	struct spec b = { .page6_twice = true, .rom_len = 3 };
	json_t *doc, *blk_j, *ranges, *r;

	(void)state;
	doc = run_diff(&a, &b, NULL);
	/* Page 5 differs; page 6 was data in B but zeroed later (last write
	 * wins); page 7 was never sent in A and zero in B: same. */
	blk_j = ram_block(doc, "pc.ram");
	assert_non_null(blk_j);
	assert_int_equal(json_integer_value(json_object_get(blk_j,
						"differing_pages")), 1);
	ranges = json_object_get(blk_j, "ranges");
	assert_int_equal(json_array_size(ranges), 1);
	r = json_array_get(ranges, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "start")), 5 * PS);
	assert_int_equal(json_integer_value(json_object_get(r, "length")), PS);
	assert_int_equal(json_integer_value(json_object_get(r, "pages")), 1);
	/* pc.rom: 2 pages in A, 3 in B, the two both have are equal. */
	blk_j = ram_block(doc, "pc.rom");
	assert_non_null(blk_j);
	assert_int_equal(json_integer_value(json_object_get(blk_j, "a_length")),
			 2 * PS);
	assert_int_equal(json_integer_value(json_object_get(blk_j, "b_length")),
			 3 * PS);
	assert_int_equal(json_integer_value(json_object_get(blk_j,
						"differing_pages")), 0);
	assert_int_equal(summary(doc, "ram_pages"), 1);
	assert_int_equal(summary(doc, "ram_blocks"), 2);
	json_decref(doc);
}

static void test_ram_modes(void **state)
{
	struct mig_diff_opts o = { .ram = MIG_DIFF_RAM_STAT };
	struct spec a = { .page5 = 0x55 };
	struct spec b = { 0 };
	json_t *doc, *blk_j;

	(void)state;
	doc = run_diff(&a, &b, &o);
	blk_j = ram_block(doc, "pc.ram");
	assert_non_null(blk_j);
	assert_null(json_object_get(blk_j, "ranges"));
	assert_int_equal(json_integer_value(json_object_get(blk_j,
						"range_count")), 1);
	json_decref(doc);

	o.ram = MIG_DIFF_RAM_OFF;
	doc = run_diff(&a, &b, &o);
	assert_true(json_is_null(json_object_get(doc, "ram")));
	assert_true(mig_diff_same(doc));
	json_decref(doc);

	/* --stat: counts, no lists. */
	o.ram = MIG_DIFF_RAM_RANGES;
	o.stat = true;
	b.x = 3;
	doc = run_diff(&a, &b, &o);
	assert_null(json_object_get(section(doc, "dev"), "differences"));
	assert_int_equal(json_integer_value(json_object_get(section(doc, "dev"),
							    "count")), 1);
	assert_null(json_object_get(ram_block(doc, "pc.ram"), "ranges"));
	json_decref(doc);
}

static void test_truncated(void **state)
{
	struct spec sp = { .truncate = true };
	struct mig_diff_side *side = NULL;
	struct mig_error err;
	struct buf b;

	(void)state;
	make_stream(&b, &sp);
	assert_int_equal(read_side(&b, NULL, &side, &err), -MIG_ETRUNC);
	assert_null(side);
	assert_int_equal(err.code, MIG_ETRUNC);
	/* The page's 4096 bytes start 100 bytes before the end. */
	assert_int_equal(err.offset, b.len - 100);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Real streams                                                        */

static json_t *diff_files(const char *pa, const char *pb,
			  const struct mig_diff_opts *o)
{
	struct mig_diff_side *a = NULL, *b = NULL;
	struct mig_reader *r = NULL;
	struct mig_error err;
	json_t *doc = NULL;

	assert_int_equal(mig_reader_open(&r, pa, &err), 0);
	assert_int_equal(mig_diff_read(r, o, &a, &err), 0);
	mig_reader_free(r);
	assert_int_equal(mig_reader_open(&r, pb, &err), 0);
	assert_int_equal(mig_diff_read(r, o, &b, &err), 0);
	mig_reader_free(r);
	assert_int_equal(mig_diff_compare(a, b, o, &doc, &err), 0);
	mig_diff_side_free(a);
	mig_diff_side_free(b);
	return doc;
}

static void test_real_self(void **state)
{
	json_t *doc;

	(void)state;
	doc = diff_files(STREAMS "qemu-7.2/v7.2_pc-q35-5.2_mix-running.mig",
			 STREAMS "qemu-7.2/v7.2_pc-q35-5.2_mix-running.mig", NULL);
	assert_true(mig_diff_same(doc));
	assert_int_equal(summary(doc, "differences"), 0);
	json_decref(doc);
}

static void expect_change(const json_t *doc, const char *path,
			  const char *a, const char *b)
{
	const json_t *e = entry_at(doc, path);

	if (!e)
		fail_msg("no difference at %s", path);
	assert_string_equal(str(e, "change"), "changed");
	if (a)
		assert_string_equal(str(e, "a_text"), a);
	if (b)
		assert_string_equal(str(e, "b_text"), b);
}

/*
 * The same machine (QEMU 7.2, pc-q35-5.2) paused at reset, and after the
 * guest ran 1.5 s in the firmware under KVM with 2 vCPUs.
 */
static void test_real_running(void **state)
{
	json_t *doc, *blk_j, *s;

	(void)state;
	doc = diff_files(STREAMS "qemu-7.2/v7.2_pc-q35-5.2_plain.mig",
			 STREAMS "qemu-7.2/v7.2_pc-q35-5.2_kvm-running.mig", NULL);
	assert_false(mig_diff_same(doc));
	/* Registers: the reset values against the firmware's. */
	expect_change(doc, "cpu[0].env.regs[2]", "0x663", "0x100000");
	expect_change(doc, "cpu[0].env.eip", "0xfff0", "0xea58d");
	expect_change(doc, "cpu[0].env.cr[0]", "0x60000010", "0x11");
	/* Timers and clock offsets. */
	expect_change(doc, "timer.cpu_clock_offset", "0", "1507199031");
	expect_change(doc, "mc146818rtc.update_timer", NULL, NULL);
	assert_string_equal(str(entry_at(doc, "mc146818rtc.update_timer"),
				"type"), "timer");
	/* The second vCPU and kvmclock exist only in the running one. */
	s = section(doc, "cpu[1]");
	assert_non_null(s);
	assert_string_equal(str(s, "status"), "only_b");
	assert_non_null(section(doc, "kvmclock"));
	/* RAM: the firmware wrote to guest memory. */
	blk_j = ram_block(doc, "pc.ram");
	assert_non_null(blk_j);
	assert_int_equal(json_integer_value(json_object_get(blk_j,
						"differing_pages")), 62);
	assert_true(json_array_size(json_object_get(blk_j, "ranges")) > 1);
	json_decref(doc);
}

/*
 * files/random-1M.bin loaded at 0x100000 with -device loader: exactly
 * that range of pc.ram differs.  The RTC differs as well, because it
 * follows the host's wall clock and the two streams were recorded a few
 * seconds apart; nothing else does.
 */
static void test_real_random(void **state)
{
	json_t *doc, *blocks, *blk_j, *r, *s;
	size_t i;

	(void)state;
	doc = diff_files(STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_random.mig",
			 STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig", NULL);
	blocks = json_object_get(json_object_get(doc, "ram"), "blocks");
	assert_int_equal(json_array_size(blocks), 1);
	blk_j = ram_block(doc, "pc.ram");
	assert_non_null(blk_j);
	assert_int_equal(json_array_size(json_object_get(blk_j, "ranges")), 1);
	r = json_array_get(json_object_get(blk_j, "ranges"), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "start")), 0x100000);
	assert_int_equal(json_integer_value(json_object_get(r, "length")), 0x100000);
	assert_int_equal(json_integer_value(json_object_get(r, "pages")), 256);
	json_array_foreach(json_object_get(doc, "sections"), i, s)
		assert_string_equal(str(s, "section"), "mc146818rtc");
	assert_int_equal(summary(doc, "stream"), 0);
	json_decref(doc);
}

/* QEMU 5.2 against 7.2, same machine type: layouts moved, not state. */
static void test_real_versions(void **state)
{
	json_t *doc, *e;

	(void)state;
	doc = diff_files(STREAMS "qemu-5.2/v5.2_pc-i440fx-5.2_plain.mig",
			 STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig", NULL);
	e = entry_at(doc, "ps2kbd.common");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "renamed");
	assert_string_equal(str(e, "b_name"), "parent_obj");
	e = entry_at(doc, "pckbd.kbd.pending");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "only_a");
	e = entry_at(doc, "pckbd.kbd.pending_tmp");
	assert_non_null(e);
	assert_string_equal(str(e, "change"), "only_b");
	expect_change(doc, "cpu.env.hflags2", "0x1", "0x101");
	/* Struct arrays, described per element in both, are not reported. */
	assert_null(section(doc, "fdc"));
	json_decref(doc);

	/* 7.2 against 10.0: 10.0 leaves the index off an array's last
	 * element; still the same arrays. */
	doc = diff_files(STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig",
			 STREAMS "qemu-10.0/v10.0_pc-i440fx-5.2_plain.mig", NULL);
	assert_null(section(doc, "fdc"));
	assert_null(section(doc, "0000:00:01.1/ide"));
	assert_non_null(entry_at(doc, "hpet.num_timers_save"));
	json_decref(doc);
}

static void test_real_novmdesc(void **state)
{
	json_t *doc, *s;

	(void)state;
	doc = diff_files(STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_plain.mig",
			 STREAMS "qemu-7.2/v7.2_pc-i440fx-5.2_plain-novmdesc.mig",
			 NULL);
	assert_int_equal(summary(doc, "stream"), 1);
	s = section(doc, "mc146818rtc");
	assert_non_null(s);
	assert_string_equal(str(s, "compared"), "fields");
	assert_non_null(entry_at(doc, "mc146818rtc.base_rtc"));
	json_decref(doc);
}

/* ------------------------------------------------------------------ */
/* Renamed fields                                                      */

/* A uint8 field of section "d"; @vmsd NULL for none, @index < 0 none. */
struct fld {
	const char *name;
	const char *vmsd;
	int index;
};

/* A stream of one section "d" holding @n uint8 fields, all 7. */
static void fields_stream(struct buf *b, const struct fld *f, size_t n)
{
	json_t *fields = json_array(), *vmdesc;

	memset(b, 0, sizeof(*b));
	put_header(b);
	put_config(b, "pc-q35-7.2");
	put_full(b, 2, "d", 0, 1);
	for (size_t k = 0; k < n; k++) {
		json_t *o = json_pack("{s:s, s:s, s:i}", "name", f[k].name,
				      "type", "uint8", "size", 1);

		assert_non_null(o);
		if (f[k].vmsd)
			json_object_set_new(o, "vmsd_name",
					    json_string(f[k].vmsd));
		if (f[k].index >= 0)
			json_object_set_new(o, "index",
					    json_integer(f[k].index));
		json_array_append_new(fields, o);
		buf_u8(b, 7);
	}
	put_footer(b, 2);
	put_eof(b);
	vmdesc = json_pack("{s:i, s:[{s:s, s:i, s:s, s:i, s:o}]}",
			   "page_size", PS, "devices", "name", "d",
			   "instance_id", 0, "vmsd_name", "d", "version", 1,
			   "fields", fields);
	assert_non_null(vmdesc);
	put_vmdesc(b, vmdesc);
	json_decref(vmdesc);
}

static json_t *diff_fields(const struct fld *fa, size_t na,
			   const struct fld *fb, size_t nb)
{
	struct buf ba, bb;
	struct mig_diff_side *a = NULL, *b = NULL;
	struct mig_error err;
	json_t *doc = NULL;

	fields_stream(&ba, fa, na);
	fields_stream(&bb, fb, nb);
	assert_int_equal(read_side(&ba, NULL, &a, &err), 0);
	assert_int_equal(read_side(&bb, NULL, &b, &err), 0);
	assert_int_equal(mig_diff_compare(a, b, NULL, &doc, &err), 0);
	assert_non_null(doc);
	mig_diff_side_free(a);
	mig_diff_side_free(b);
	buf_free(&ba);
	buf_free(&bb);
	return doc;
}

static void expect_renamed(const json_t *doc, const char *path,
			   const char *b_name, const char *vmsd)
{
	const json_t *e = entry_at(doc, path);

	if (!e)
		fail_msg("no difference at %s", path);
	assert_string_equal(str(e, "change"), "renamed");
	assert_string_equal(str(e, "b_name"), b_name);
	assert_string_equal(str(e, "vmsd"), vmsd);
}

static void expect_only(const json_t *doc, const char *path,
			const char *change)
{
	const json_t *e = entry_at(doc, path);

	if (!e)
		fail_msg("no difference at %s", path);
	assert_string_equal(str(e, "change"), change);
}

/*
 * A field is paired by description name and index only when that key is
 * unique among the unpaired fields of both sides.
 */
static void test_renamed_pairs(void **state)
{
	static const struct fld fa[] = {
		{ "nov1", NULL, -1 },	/* no description: never paired */
		{ "p", "k2", -1 },	/* two on A's side */
		{ "old1", "k1", -1 },
		{ "same", "k4", -1 },	/* paired by name */
		{ "q", "k2", -1 },
		{ "s", "k3", -1 },	/* two on B's side */
		{ "v", "k4", -1 },
		{ "ix", "k6", 0 },	/* same index */
		{ "jx", "k7", 0 },	/* index on A's side only */
		{ "kx", "k8", -1 },	/* description only on A's side */
	};
	static const struct fld fb[] = {
		{ "u", "k3", -1 },
		{ "nov2", NULL, -1 },
		{ "w", "k4", -1 },
		{ "iy", "k6", 0 },
		{ "new1", "k1", -1 },
		{ "r", "k2", -1 },
		{ "same", "k4", -1 },
		{ "jy", "k7", -1 },
		{ "t", "k3", -1 },
		{ "ky", "k9", -1 },
	};
	json_t *doc, *d, *e;
	size_t i;
	const char *const order[] = {
		"d.nov1", "d.p", "d.old1", "d.q", "d.s", "d.v", "d.ix[0]",
		"d.jx[0]", "d.kx", "d.u", "d.nov2", "d.r", "d.jy", "d.t", "d.ky",
	};

	(void)state;
	doc = diff_fields(fa, sizeof(fa) / sizeof(fa[0]), fb, 
			  sizeof(fb) / sizeof(fb[0]));
	expect_renamed(doc, "d.old1", "new1", "k1");
	expect_renamed(doc, "d.v", "w", "k4");
	/* An indexed field's path ends in its index. */
	expect_renamed(doc, "d.ix[0]", "iy", "k6");
	expect_only(doc, "d.nov1", "only_a");
	expect_only(doc, "d.nov2", "only_b");
	expect_only(doc, "d.p", "only_a");
	expect_only(doc, "d.q", "only_a");
	expect_only(doc, "d.r", "only_b");
	expect_only(doc, "d.s", "only_a");
	expect_only(doc, "d.t", "only_b");
	expect_only(doc, "d.u", "only_b");
	expect_only(doc, "d.jx[0]", "only_a");
	expect_only(doc, "d.jy", "only_b");
	expect_only(doc, "d.kx", "only_a");
	expect_only(doc, "d.ky", "only_b");
	assert_null(entry_at(doc, "d.same"));
	/* A's slots in A's order, then B's unpaired ones in B's. */
	d = json_object_get(section(doc, "d"), "differences");
	assert_int_equal(json_array_size(d), sizeof(order) / sizeof(order[0]));
	json_array_foreach(d, i, e)
		assert_string_equal(str(e, "path"), order[i]);
	json_decref(doc);
}

/*
 * Many fields: 10000 renamed ones with keys of their own, and 10000 per
 * side sharing one key (never paired).  Pairing them one against all
 * took O(n^2) string compares.
 */
static void test_renamed_many(void **state)
{
	enum { N = 10000 };
	struct fld *fa = calloc(2 * N, sizeof(*fa));
	struct fld *fb = calloc(2 * N, sizeof(*fb));
	char (*names)[3][16] = calloc(2 * N, sizeof(*names));
	size_t counts[3] = { 0 }, i;
	json_t *doc, *e;

	(void)state;
	assert_non_null(fa);
	assert_non_null(fb);
	assert_non_null(names);
	for (i = 0; i < 2 * N; i++) {
		/* Interleaved, and B's in the other order. */
		size_t k = i / 2;

		snprintf(names[i][0], 16, "%c%zu", i % 2 ? 'c' : 'a', k);
		snprintf(names[i][1], 16, "%c%zu", i % 2 ? 'd' : 'b', k);
		snprintf(names[i][2], 16, "v%zu", k);
		fa[i] = (struct fld){ names[i][0], i % 2 ? "x" : names[i][2],
				      -1 };
		fb[2 * N - 1 - i] = (struct fld){
			names[i][1], i % 2 ? "x" : names[i][2], -1 };
	}
	doc = diff_fields(fa, 2 * N, fb, 2 * N);
	json_array_foreach(json_object_get(section(doc, "d"), "differences"),
			   i, e) {
		const char *c = str(e, "change");
		const char *p = str(e, "path");
		unsigned long k;

		if (!strcmp(c, "renamed")) {
			char want[16];

			assert_int_equal(sscanf(p, "d.a%lu", &k), 1);
			snprintf(want, sizeof(want), "b%lu", k);
			assert_string_equal(str(e, "b_name"), want);
			snprintf(want, sizeof(want), "v%lu", k);
			assert_string_equal(str(e, "vmsd"), want);
			counts[0]++;
		} else if (!strcmp(c, "only_a")) {
			assert_int_equal(sscanf(p, "d.c%lu", &k), 1);
			counts[1]++;
		} else {
			assert_string_equal(c, "only_b");
			assert_int_equal(sscanf(p, "d.d%lu", &k), 1);
			counts[2]++;
		}
	}
	assert_int_equal(counts[0], N);
	assert_int_equal(counts[1], N);
	assert_int_equal(counts[2], N);
	json_decref(doc);
	free(names);
	free(fa);
	free(fb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pagemap_zero_forms),
		cmocka_unit_test(test_pagemap_last_write_wins),
		cmocka_unit_test(test_pagemap_fill_byte),
		cmocka_unit_test(test_pagemap_unknown_kind),
		cmocka_unit_test(test_pagemap_cap),
		cmocka_unit_test(test_pagemap_sparse),
		cmocka_unit_test(test_pagemap_page_size),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_instances_and_only),
		cmocka_unit_test(test_ignore),
		cmocka_unit_test(test_section_filter),
		cmocka_unit_test(test_stream_level),
		cmocka_unit_test(test_borrowed_layout),
		cmocka_unit_test(test_payload_bytes),
		cmocka_unit_test(test_ram),
		cmocka_unit_test(test_ram_modes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_real_self),
		cmocka_unit_test(test_real_running),
		cmocka_unit_test(test_real_random),
		cmocka_unit_test(test_real_versions),
		cmocka_unit_test(test_real_novmdesc),
		cmocka_unit_test(test_renamed_pairs),
		cmocka_unit_test(test_renamed_many),
	};

	return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
